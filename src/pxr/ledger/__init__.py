"""The ledger: the durable record of breaches, compensations and messages.

The ledger is the only thing in pxr that stores state, and it makes every
step idempotent: uniqueness lives in the store (primary keys and unique
constraints), never in Python dictionaries of the engine.

It plays four roles, each a narrow protocol, for four audiences (the
engine and the dispatcher both read and write consent, :class:`ConsentStore`):

* :class:`RecoveryStore` — what the engine needs: :meth:`~RecoveryStore.load`
  the state a signal needs, then :meth:`~RecoveryStore.apply` a
  :class:`Decision` in one atomic write that says what won. Budgets and
  message limits are checked inside that write, so they hold with several
  writers on any ledger. Hooks registered with
  :meth:`~RecoveryStore.after_commit` run once the outermost transaction
  commits, never for work that rolled back.
* :class:`OutboxStore` — what the dispatcher drains.
* :class:`LedgerReader` — what metrics, the journey and the report read.
* :class:`Erasure` — a customer's right to be forgotten.

:class:`Ledger` is all four. Three implementations ship:
:class:`~pxr.ledger.memory.MemoryLedger` (tests, simulations),
:class:`~pxr.ledger.sqlite.SQLiteLedger` (the default; one file, WAL) and
:class:`~pxr.ledger.postgres.PostgresLedger` (many hosts; ``pxr[postgres]``);
the SQL ones share their SQL, kept in :mod:`pxr.ledger._sql` with a small
dialect seam. :func:`open_ledger` opens one from a URL or a path. Every
implementation is safe to share between the threads of a process; the SQL
ones between processes too. :class:`pxr.testing.LedgerContract` is the suite
any ledger must pass.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from pxr.consent import ConsentRecord
from pxr.errors import LedgerError
from pxr.ledger.urls import LedgerFactory, migrate_ledger, open_ledger
from pxr.model import Breach, Compensation, Content, Message, Reason, Severity

__all__ = [
    "Applied",
    "BreachChange",
    "CodeTaken",
    "CompensationRecord",
    "ConsentStore",
    "Decision",
    "DecisionItem",
    "DeliveryAttempt",
    "Erasure",
    "Ledger",
    "LedgerFactory",
    "LedgerReader",
    "OutboxEntry",
    "OutboxStatus",
    "OutboxStore",
    "RecoveryStore",
    "Snapshot",
    "SuppressionRecord",
    "migrate_ledger",
    "new_pseudonym",
    "open_ledger",
]


def new_pseudonym() -> str:
    """A fresh stand-in for an erased customer's id: random, so it cannot be
    reversed by hashing a list of candidate ids."""
    return "erased-" + secrets.token_hex(8)


class CodeTaken(LedgerError):
    """A voucher code is already in the ledger; the caller draws another."""


class OutboxStatus(enum.StrEnum):
    """Where a message is in its life."""

    PENDING = "pending"  #: waiting for its time (or for a retry)
    SENDING = "sending"  #: claimed by a dispatcher, under a lease
    SENT = "sent"  #: a provider accepted it
    DEAD = "dead"  #: every channel failed
    UNCERTAIN = "uncertain"  #: sent once, its answer lost, not resent (at most once)
    CANCELLED = "cancelled"  #: stopped before sending (``last_error`` says why)
    ERASED = "erased"  #: its customer was erased before it went out


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
    """A message waiting in, or sent from, the outbox. ``key`` makes it unique.

    It holds what to say (``content``) and where (``channel``, ``to``), not
    words: the dispatcher renders it in ``locale`` and ``timezone`` when it
    sends. ``fallbacks`` are the customer's next ``(channel, address)``
    pairs, rendered only if used. ``rendered`` is set only for entries an
    older pxr queued as finished text.
    """

    key: str
    customer: str
    subject: str
    threshold: str | None
    severity: Severity | None
    created_at: dt.datetime
    channel: str
    to: str = attrs.field(repr=False)
    locale: str
    timezone: str
    send_at: dt.datetime
    content: Content | None = None
    status: OutboxStatus = attrs.field(default=OutboxStatus.PENDING, converter=OutboxStatus)
    attempts: int = 0
    id: int | None = None
    fallbacks: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    last_error: str | None = None
    rendered: Message | None = attrs.field(default=None, repr=False)

    @property
    def purpose(self) -> str:
        """``notice``, ``escalation`` or ``resolution``."""
        if self.content is not None:
            return str(self.content.purpose)
        return self.rendered.purpose if self.rendered is not None else "notice"


@attrs.frozen
class DeliveryAttempt:
    """One attempt to send an outbox entry, as kept in the ledger.

    ``text`` and ``title`` are exactly what went to the provider (the audit
    trail); ``segments`` counts SMS segments.
    """

    entry_id: int
    attempt: int
    channel: str
    status: str
    at: dt.datetime
    detail: str | None = None
    provider_id: str | None = None
    title: str | None = attrs.field(default=None, repr=False)
    text: str | None = attrs.field(default=None, repr=False)
    segments: int | None = None


@attrs.frozen
class SuppressionRecord:
    """Something a rule stopped, kept for metrics. ``kind`` is the typed reason,
    ``reason`` the sentence that explains this case."""

    customer: str
    subject: str
    threshold: str | None
    severity: Severity | None
    what: str
    reason: str
    at: dt.datetime
    kind: Reason | None = None


@attrs.frozen
class Snapshot:
    """What a decision about one customer needs to know, loaded in one go.

    ``breaches`` holds the requested breaches that exist; ``paid`` what each
    has paid per (currency, statutory); ``spent`` the customer's
    non-statutory compensation since the window asked for, per currency
    (``None`` if not asked); ``messages`` their messages since the window
    asked for (``None`` if not asked); ``consent`` their consent records by
    channel (see :mod:`pxr.consent`).
    """

    breaches: Mapping[tuple[str, str], Breach] = attrs.field(factory=dict)
    paid: Mapping[tuple[str, str], Mapping[tuple[str, bool], Decimal]] = attrs.field(factory=dict)
    spent: Mapping[str, Decimal] | None = None
    messages: int | None = None
    consent: Mapping[str, ConsentRecord] = attrs.field(factory=dict)


@attrs.frozen
class BreachChange:
    """A breach opened (``previous`` is ``None``) or raised from ``previous``."""

    breach: Breach
    previous: Severity | None = None


DecisionItem = BreachChange | CompensationRecord | SuppressionRecord | OutboxEntry


@attrs.frozen
class Decision:
    """Everything one signal changes, in the order it happened, to be written at once.

    The decision was made on a :class:`Snapshot`; ``spent_since`` and
    ``messages_since`` say which windows it relied on (with the values
    seen), so :meth:`RecoveryStore.apply` can check them inside the write.
    """

    customer: str
    items: tuple[DecisionItem, ...]
    spent_since: dt.datetime | None = None
    spent: Mapping[str, Decimal] | None = None
    messages_since: dt.datetime | None = None
    messages: int | None = None


@attrs.frozen
class Applied:
    """What :meth:`RecoveryStore.apply` wrote.

    ``conflict`` means another writer changed what the decision relied on
    (opened or raised the same breach, spent the same budget, used the same
    message allowance) and nothing was written: load again and decide again.
    Otherwise ``won`` lists the items written, in order, as stored (a
    voucher code redrawn on a clash); an item missing from it was there
    already (a tier paid before, a message queued before).
    """

    conflict: bool = False
    won: tuple[DecisionItem, ...] = ()


@runtime_checkable
class ConsentStore(Protocol):
    """Consent per customer and channel (see :mod:`pxr.consent`): the engine
    records opt-outs, the dispatcher a provider's refusals, and both read it."""

    def record_consent(self, record: ConsentRecord) -> bool:
        """Keep ``record`` as the customer's latest word on its channel.

        ``False`` (and nothing written) if a newer record is there, or the
        record is a refusal and the customer opted out of the channel.
        """
        ...

    def consent_of(self, customer: str) -> dict[str, ConsentRecord]:
        """``customer``'s consent records, by channel."""
        ...


@runtime_checkable
class RecoveryStore(ConsentStore, Protocol):
    """What the engine needs: load, then apply in one write."""

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all. Nestable, per thread."""
        ...

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the outermost transaction of this thread commits.

        Outside a transaction it runs at once. Dropped if the block that
        registered it rolls back.
        """
        ...

    def load(
        self,
        customer: str,
        breaches: Sequence[tuple[str, str]],
        *,
        spent_since: dt.datetime | None = None,
        messages_since: dt.datetime | None = None,
    ) -> Snapshot:
        """The state a decision about ``customer`` needs (see :class:`Snapshot`)."""
        ...

    def apply(self, decision: Decision) -> Applied:
        """Write ``decision`` atomically, or nothing if it conflicts (see :class:`Applied`)."""
        ...

    def resolve(self, subject: str, threshold: str | None, at: dt.datetime) -> list[Breach] | None:
        """Close the subject's open breaches opened at or before ``at``; return them.

        The resolution is recorded once: ``None`` if it was recorded before.
        """
        ...

    def enqueue(self, entry: OutboxEntry) -> bool:
        """Put a message in the outbox once; ``False`` if its key is there already."""
        ...

    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        ...

    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a ``complaint``, ``contacted`` or outcome once; ``False`` if already kept."""
        ...

    def first_contact_at(self, customer: str, subject: str) -> dt.datetime | None:
        """When a provider first accepted a message to ``customer`` about
        ``subject``; ``None`` if none went out (a planned message is no contact)."""
        ...

    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last received a compensation or a message, if ever."""
        ...


@runtime_checkable
class OutboxStore(ConsentStore, Protocol):
    """What the dispatcher needs: due entries, claims with leases, outcomes."""

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all."""
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

    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: OutboxStatus) -> None:
        """Finish an entry (``sent``, ``dead`` or ``cancelled``) and log the attempt."""
        ...

    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Put an entry back as pending until ``send_at`` and log the attempt."""
        ...

    def now(self) -> dt.datetime:
        """The ledger's clock: leases and due times of several dispatchers on
        several hosts are compared on one clock, the database's where it has one."""
        ...

    def superseded(self, entry_ids: Collection[int]) -> set[int]:
        """Those of ``entry_ids`` a later message about the same breach has
        already overtaken (it was sent): saying them now would be stale."""
        ...

    def requeue(self, entry_id: int, now: dt.datetime) -> bool:
        """Send a dead, uncertain or cancelled entry again from ``now`` (attempts
        start again); ``False`` if it is not in one of those states."""
        ...

    def reroute(
        self,
        entry_id: int,
        attempt: DeliveryAttempt,
        *,
        channel: str,
        to: str,
        fallbacks: tuple[tuple[str, str], ...],
        send_at: dt.datetime,
    ) -> None:
        """Move an entry to its next channel (attempts start again) and log the attempt."""
        ...


@runtime_checkable
class LedgerReader(Protocol):
    """What metrics, the journey and the report read."""

    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order they were opened."""
        ...

    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        ...

    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        ...

    def attempts(self, entry_id: int | None = None) -> list[DeliveryAttempt]:
        """The attempt log, of one entry or of all, oldest first."""
        ...

    def suppressions(self) -> Sequence[SuppressionRecord]:
        """Everything a rule stopped, in order."""
        ...

    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """``(customer, subject, at)`` of every recorded event of ``kind``, in order."""
        ...

    def consents(self) -> list[ConsentRecord]:
        """Every customer's consent records, by customer and channel."""
        ...


@runtime_checkable
class Erasure(Protocol):
    """A customer's right to be forgotten."""

    def erase_customer(self, customer: str) -> str:
        """Erase a customer's personal data; return the pseudonym that replaces their id.

        Addresses and message texts are emptied (unsent messages are never
        sent; refused addresses are forgotten), and the customer id is
        replaced everywhere by a random pseudonym, so counts and amounts stay
        right for metrics.
        """
        ...


@runtime_checkable
class Ledger(RecoveryStore, OutboxStore, LedgerReader, Erasure, Protocol):
    """Every role: what :class:`~pxr.Recovery` and the ``pxr`` command use."""

    def close(self) -> None:
        """Release the store."""
        ...
