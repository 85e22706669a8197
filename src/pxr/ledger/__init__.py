"""The ledger: the durable record of breaches, compensations and messages.

The ledger is the only thing in pxr that stores state, and it makes every
step idempotent: uniqueness lives in the store (primary keys and unique
constraints), never in Python dictionaries of the engine.

It plays six roles, each a narrow protocol (the engine and the dispatcher both
read and write consent, :class:`ConsentStore`):

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
* :class:`CaseStore` — the cases people work on (:mod:`pxr.cases`).
* :class:`ConsentStore` — refused addresses and opt-outs (:mod:`pxr.consent`).

:class:`Ledger` is all six. Three implementations ship:
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
import hashlib
import hmac
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
from pxr.money import Money

__all__ = [
    "ERASURE_KEY_ENV",
    "Applied",
    "BreachChange",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "CaseStore",
    "CodeTaken",
    "CompensationRecord",
    "ConsentStore",
    "Decision",
    "DecisionItem",
    "DeliveryAttempt",
    "Erased",
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
    "is_pseudonym",
    "migrate_ledger",
    "new_case_id",
    "new_pseudonym",
    "open_ledger",
    "tombstone",
]

#: What every pseudonym starts with (see :func:`new_pseudonym`).
_PSEUDONYM_PREFIX = "erased-"
#: The environment variable that holds the erasure key a host keeps.
ERASURE_KEY_ENV = "PXR_ERASURE_KEY"


def new_pseudonym() -> str:
    """A fresh stand-in for an erased customer's id: random, so it cannot be
    reversed by hashing a list of candidate ids."""
    return _PSEUDONYM_PREFIX + secrets.token_hex(8)


def is_pseudonym(customer: str) -> bool:
    """Whether ``customer`` is a pseudonym an erasure put in place of an id."""
    return customer.startswith(_PSEUDONYM_PREFIX)


def tombstone(key: bytes, customer: str) -> str:
    """What the ledger keeps of an erased id: HMAC-SHA256 under the host's ``key``.

    Without the key nobody can test a list of candidate ids against it; with
    it the ledger can tell a replayed event of an erased customer.
    """
    return hmac.new(key, customer.encode("utf-8"), hashlib.sha256).hexdigest()


@attrs.frozen
class Erased:
    """What :meth:`Erasure.erase_customer` did: rows changed per kind.

    ``pseudonym`` replaced the id (``None`` if nothing named the customer).
    ``before`` is true when a tombstone showed the id had been erased
    before. ``scrubbed`` is true when the freed bytes were overwritten and
    the write-ahead log emptied too; false when another connection kept
    the log busy, when the call ran inside a transaction (the scrub then
    runs after the commit), or on a database that needs a ``VACUUM``.
    It holds no personal data: it is meant for audit trails.
    """

    pseudonym: str | None
    breaches: int = 0
    compensations: int = 0
    messages: int = 0
    attempts: int = 0
    suppressions: int = 0
    events: int = 0
    cases: int = 0
    consent: int = 0
    before: bool = False
    scrubbed: bool = False

    @property
    def found(self) -> bool:
        """Whether any row named the customer."""
        return any(self.counts().values())

    def counts(self) -> dict[str, int]:
        """Rows changed per kind, in a fixed order."""
        return {
            "breaches": self.breaches,
            "compensations": self.compensations,
            "messages": self.messages,
            "attempts": self.attempts,
            "suppressions": self.suppressions,
            "events": self.events,
            "cases": self.cases,
            "consent": self.consent,
        }


def new_case_id() -> str:
    """A fresh id for an erased customer's case: drawn, where a live case's id
    is derived from the customer id and the subject."""
    return "K-" + secrets.token_hex(5).upper()


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


def _status(value: str) -> OutboxStatus:
    # Enum look-ups cost microseconds; most values are members already.
    return value if type(value) is OutboxStatus else OutboxStatus(value)


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
    status: OutboxStatus = attrs.field(default=OutboxStatus.PENDING, converter=_status)
    attempts: int = 0
    id: int | None = None
    fallbacks: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    last_error: str | None = None
    rendered: Message | None = attrs.field(default=None, repr=False)

    @property
    def purpose(self) -> str:
        """``notice``, ``escalation``, ``resolution``, ``offer`` or ``referral``."""
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
    asked for (``None`` if not asked); ``repeats`` how many actual
    breaches of each threshold asked for the customer has had since its
    window began (``None`` if none asked); ``consent`` their consent records by
    channel (see :mod:`pxr.consent`).
    """

    breaches: Mapping[tuple[str, str], Breach] = attrs.field(factory=dict)
    paid: Mapping[tuple[str, str], Mapping[tuple[str, bool], Decimal]] = attrs.field(factory=dict)
    spent: Mapping[str, Decimal] | None = None
    messages: int | None = None
    repeats: Mapping[str, int] | None = None
    consent: Mapping[str, ConsentRecord] = attrs.field(factory=dict)


@attrs.frozen
class BreachChange:
    """A breach opened (``previous`` is ``None``) or raised from ``previous``;
    with ``confirms``, a breach opened from a forecast that an actual value
    has now crossed (``previous`` is the forecast's severity)."""

    breach: Breach
    previous: Severity | None = None
    confirms: bool = False


DecisionItem = BreachChange | CompensationRecord | SuppressionRecord | OutboxEntry


@attrs.frozen
class Decision:
    """Everything one signal changes, in the order it happened, to be written at once.

    The decision was made on a :class:`Snapshot`; ``spent_since`` and
    ``messages_since`` say which windows it relied on (with the values
    seen), so :meth:`RecoveryStore.apply` can check them inside the write;
    ``repeats_since`` the repeat-failure windows per threshold that raised
    or could have raised a severity, with the counts seen in ``repeats``.
    """

    customer: str
    items: tuple[DecisionItem, ...]
    spent_since: dt.datetime | None = None
    spent: Mapping[str, Decimal] | None = None
    messages_since: dt.datetime | None = None
    messages: int | None = None
    repeats_since: Mapping[str, dt.datetime] | None = None
    repeats: Mapping[str, int] | None = None


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
        repeats_since: Mapping[str, dt.datetime] | None = None,
    ) -> Snapshot:
        """The state a decision about ``customer`` needs (see :class:`Snapshot`).

        ``repeats_since`` maps threshold names to the start of their
        repeat-failure window.
        """
        ...

    def apply(self, decision: Decision) -> Applied:
        """Write ``decision`` atomically, or nothing if it conflicts (see :class:`Applied`)."""
        ...

    def resolve(
        self,
        subject: str,
        threshold: str | None,
        at: dt.datetime,
        *,
        opened_by: dt.datetime | None = None,
    ) -> list[Breach] | None:
        """Close the subject's open breaches opened at or before ``opened_by``
        (``at`` if not given: later when producers' clocks may disagree); return them.

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
    """A customer's right to be forgotten, and a retention period."""

    def erase_customer(self, customer: str, *, at: dt.datetime | None = None) -> Erased:
        """Erase a customer's personal data; say what was changed (see :class:`Erased`).

        Addresses, message texts, error details, notes and voucher codes are
        emptied (unsent messages are never sent; refused addresses are
        forgotten), and the customer id is replaced everywhere by a random
        pseudonym, so counts and amounts stay right for metrics. A tombstone
        (:func:`tombstone`) remembers the erasure as of ``at`` (now by
        default). An id that no row names changes nothing and leaves no
        tombstone.
        """
        ...

    def is_erased(self, customer: str, at: dt.datetime) -> bool:
        """Whether ``customer`` was erased at or after ``at``: an event of theirs
        from before then is one the erasure removed, and must not come back."""
        ...

    def inactive_customers(self, before: dt.datetime) -> list[str]:
        """Ids (not pseudonyms) whose last recorded activity is older than ``before``."""
        ...


class CaseStatus(enum.StrEnum):
    """Where a case is in its life: open, an offer (waiting for approval, or
    made), the customer's answer, and the end (closed, or referred to ADR)."""

    OPEN = "open"  #: opened; nobody has offered anything yet
    AWAITING_APPROVAL = "awaiting approval"  #: an offer above its author's authority
    OFFERED = "offered"  #: an offer issued to the customer
    ACCEPTED = "accepted"  #: the customer accepted (or the law deems the complaint accepted)
    REJECTED = "rejected"  #: the customer rejected the offer
    CLOSED = "closed"  #: resolved and done
    REFERRED = "referred"  #: ended unresolved; the customer was told the ADR body


@attrs.frozen
class Case:
    """A complaint or a hand-over that people work on, with its answer deadline.

    ``id`` is stable for a (customer, subject) pair, so opening it again is a
    no-op. ``origin`` says what opened it (``complaint``, ``survey``,
    ``hand over``…); ``missed`` that pxr had never flagged the subject;
    ``silence_accepts`` that the law deems the complaint accepted if the
    deadline passes unanswered. ``offer`` is the compensation offered (or
    waiting for approval) with ``offer_kind``, by ``offered_by``.
    """

    id: str
    customer: str
    subject: str
    origin: str
    status: CaseStatus = attrs.field(converter=CaseStatus)
    opened_at: dt.datetime
    due_at: dt.datetime
    updated_at: dt.datetime
    team: str | None = None
    silence_accepts: bool = False
    missed: bool = False
    offer: Money | None = None
    offer_kind: str | None = None
    offered_by: str | None = None


@attrs.frozen
class CaseEvent:
    """One thing that happened to a case: ``kind`` (a status it moved to, or
    ``opened``, ``escalated``, ``handed over``…), ``who`` did it and when."""

    case: str
    kind: str
    who: str
    at: dt.datetime
    note: str | None = None


@runtime_checkable
class CaseStore(Protocol):
    """The cases people work on: opened once, moved only from the states a
    step expects (so two people acting at once cannot both win), each step
    kept as a :class:`CaseEvent`."""

    def open_case(self, case: Case, who: str) -> bool:
        """Open ``case`` once (an ``opened`` event by ``who``); ``False`` if its id exists."""
        ...

    def move_case(
        self,
        case: str,
        expected: Collection[CaseStatus],
        status: CaseStatus,
        event: CaseEvent,
        *,
        offer: tuple[Money, str, str] | None = None,
    ) -> bool:
        """Move ``case`` to ``status`` if it is in one of ``expected``, and keep
        ``event``; ``offer`` (amount, kind, by whom) replaces the case's offer.
        ``False`` (nothing written) if the case is not in an expected state."""
        ...

    def note_case(self, event: CaseEvent) -> bool:
        """Keep ``event`` once per (case, kind, note); ``False`` if it was kept before."""
        ...

    def case(self, case: str) -> Case | None:
        """The case with id ``case``, if any."""
        ...

    def cases(
        self,
        statuses: Collection[CaseStatus] | None = None,
        *,
        due_by: dt.datetime | None = None,
    ) -> list[Case]:
        """Cases (in ``statuses``, due by ``due_by``, if given), by due time then id."""
        ...

    def case_events(self, case: str | None = None) -> list[CaseEvent]:
        """The events of one case, or of all, in the order kept."""
        ...


@runtime_checkable
class Ledger(RecoveryStore, OutboxStore, LedgerReader, Erasure, CaseStore, Protocol):
    """Every role: what :class:`~pxr.Recovery` and the ``pxr`` command use."""

    def close(self) -> None:
        """Release the store."""
        ...
