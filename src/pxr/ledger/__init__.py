"""The ledger: the durable record of breaches, compensations and messages.

The ledger is the only thing in pxr that stores state, and it makes every
step idempotent: uniqueness lives in the store (primary keys and unique
constraints), never in Python dictionaries of the engine. A step is written
inside one :meth:`Ledger.transaction`, so a crash leaves either all of it or
none of it.

Two implementations ship: :class:`~pxr.ledger.memory.MemoryLedger` (tests,
simulations) and :class:`~pxr.ledger.sqlite.SQLiteLedger` (the default; one
file, WAL). The protocol assumes nothing about running in one process: every
"insert if absent" and "raise severity if lower" is a single conditional
write whose result says whether *this* caller won, as a shared PostgreSQL
ledger will need.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from pxr.errors import LedgerError
from pxr.model import Breach, Compensation, Message, Severity

__all__ = [
    "CodeTaken",
    "CompensationRecord",
    "DeliveryAttempt",
    "Ledger",
    "OutboxEntry",
    "SuppressionRecord",
    "pseudonym",
]


def pseudonym(customer: str) -> str:
    """The stable stand-in for an erased customer's id."""
    return "erased-" + hashlib.sha256(customer.encode()).hexdigest()[:16]


class CodeTaken(LedgerError):
    """A voucher code is already in the ledger; the caller draws another."""


@attrs.frozen
class CompensationRecord:
    """A compensation as the ledger keeps it: one per (threshold, subject, severity, kind)."""

    threshold: str
    subject: str
    severity: Severity
    customer: str
    compensation: Compensation
    created_at: dt.datetime


@attrs.frozen
class OutboxEntry:
    """A message waiting in, or sent from, the outbox. ``key`` makes it unique."""

    key: str
    customer: str
    subject: str
    threshold: str | None
    severity: Severity | None
    message: Message
    created_at: dt.datetime
    status: str = "pending"  # pending | sending | sent | dead | erased
    attempts: int = 0
    id: int | None = None
    #: The same news rendered for the customer's next channels, in order, to
    #: send if this channel fails for good.
    fallbacks: tuple[Message, ...] = attrs.field(default=(), repr=False)
    last_error: str | None = None


@attrs.frozen
class DeliveryAttempt:
    """One attempt to send an outbox entry, as kept in the ledger."""

    entry_id: int
    attempt: int
    channel: str
    status: str
    at: dt.datetime
    detail: str | None = None
    provider_id: str | None = None


@attrs.frozen
class SuppressionRecord:
    """Something a rule stopped, kept for metrics."""

    customer: str
    subject: str
    threshold: str | None
    severity: Severity | None
    what: str
    reason: str
    at: dt.datetime


@runtime_checkable
class Ledger(Protocol):
    """What the engine needs from a store. See the module docstring."""

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all. Nestable."""
        ...

    def get_breach(self, threshold: str, subject: str) -> Breach | None:
        """The breach with this identity, open or resolved."""
        ...

    def insert_breach(self, breach: Breach) -> bool:
        """Open ``breach``; ``False`` if one with its identity exists already."""
        ...

    def escalate_breach(
        self, threshold: str, subject: str, severity: Severity, at: dt.datetime
    ) -> bool:
        """Raise an open breach to ``severity``; ``False`` if it was not lower."""
        ...

    def resolve_breaches(
        self, subject: str, threshold: str | None, at: dt.datetime
    ) -> list[Breach]:
        """Close the subject's open breaches opened at or before ``at`` (of one
        threshold, or all); return those closed."""
        ...

    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order they were opened."""
        ...

    def insert_compensation(self, record: CompensationRecord) -> bool:
        """Record a compensation once; ``False`` if this tier paid this kind already.

        Raises :class:`CodeTaken` if the voucher code is in use.
        """
        ...

    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        ...

    def paid_for_breach(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        """What the breach has paid so far, per (currency, statutory)."""
        ...

    def spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        """Non-statutory compensation issued to ``customer`` since ``since``, per currency."""
        ...

    def enqueue(self, entry: OutboxEntry) -> bool:
        """Put a message in the outbox once; ``False`` if its key is there already."""
        ...

    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        ...

    def due(
        self, now: dt.datetime, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Entries to send: pending and due by ``now``, or claimed by a sender
        whose lease ran out (it crashed), oldest first; only on ``channels`` if given."""
        ...

    def claim(self, entry_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take an entry for sending until ``until``; ``False`` if another sender has it."""
        ...

    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: str) -> None:
        """Finish an entry as ``sent`` or ``dead`` and log the attempt."""
        ...

    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Put an entry back as pending until ``send_at`` and log the attempt."""
        ...

    def reroute(
        self,
        entry_id: int,
        attempt: DeliveryAttempt,
        message: Message,
        fallbacks: tuple[Message, ...],
    ) -> None:
        """Move an entry to its next channel (attempts start again) and log the attempt."""
        ...

    def attempts(self, entry_id: int | None = None) -> list[DeliveryAttempt]:
        """The attempt log, of one entry or of all, oldest first."""
        ...

    def messages_since(self, customer: str, since: dt.datetime) -> int:
        """How many messages were queued for ``customer`` since ``since``."""
        ...

    def first_message_at(self, customer: str, subject: str) -> dt.datetime | None:
        """When the first message about ``subject`` was due to go out, if any."""
        ...

    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last received a compensation or a message, if ever."""
        ...

    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        ...

    def suppressions(self) -> Sequence[SuppressionRecord]:
        """Everything a rule stopped, in order."""
        ...

    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a ``complaint``, ``contacted`` or outcome once; ``False`` if already kept."""
        ...

    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """``(customer, subject, at)`` of every recorded event of ``kind``."""
        ...

    def erase_customer(self, customer: str) -> str:
        """Erase a customer's personal data; return the pseudonym that replaces their id.

        Addresses and message texts are emptied (unsent messages are never
        sent), and the customer id is replaced everywhere by
        :func:`pseudonym`, so counts and amounts stay right for metrics.
        """
        ...

    def close(self) -> None:
        """Release the store."""
        ...
