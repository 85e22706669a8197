"""An in-memory ledger: the same contract as SQLite, kept in dictionaries.

Transactions keep an undo log, so a step that fails half-way leaves nothing
behind, exactly as a rolled-back database transaction would. One lock, held
by a thread from the start of its outermost transaction to its end, makes
the ledger safe to share between threads (writers take turns, as in SQLite).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from decimal import Decimal
from functools import partial, wraps
from typing import Concatenate, ParamSpec, TypeVar

import attrs

from pxr.consent import ConsentRecord, ConsentState
from pxr.ledger import (
    CodeTaken,
    CompensationRecord,
    DeliveryAttempt,
    OutboxEntry,
    OutboxStatus,
    SuppressionRecord,
    new_pseudonym,
)
from pxr.ledger._base import LedgerBase
from pxr.model import Breach, Severity

__all__ = ["MemoryLedger"]

#: Statuses an erasure keeps: the message's story is over.
_FINISHED = frozenset(
    {OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.UNCERTAIN, OutboxStatus.CANCELLED}
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _locked(
    method: Callable[Concatenate[MemoryLedger, _P], _R],
) -> Callable[Concatenate[MemoryLedger, _P], _R]:
    @wraps(method)
    def locked(self: MemoryLedger, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class MemoryLedger(LedgerBase):
    """A ledger that lives as long as the process. Not shared between processes."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._breaches: dict[tuple[str, str], Breach] = {}
        self._compensations: dict[tuple[str, str, Severity, str], CompensationRecord] = {}
        self._codes: set[str] = set()
        self._outbox: dict[str, OutboxEntry] = {}
        # Indexes, as a database would keep them: per breach and per customer.
        self._by_breach: dict[tuple[str, str], list[CompensationRecord]] = defaultdict(list)
        self._by_customer: dict[str, list[CompensationRecord]] = defaultdict(list)
        self._sent_to: dict[str, list[str]] = defaultdict(list)
        self._suppressions: list[SuppressionRecord] = []
        self._attempts: list[DeliveryAttempt] = []
        self._by_id: dict[int, str] = {}
        self._leases: dict[int, dt.datetime] = {}
        self._events: dict[tuple[str, str, str, dt.datetime], None] = {}
        self._consent: dict[str, dict[str, ConsentRecord]] = defaultdict(dict)
        self._undo: list[list[Callable[[], object]]] = []

    def __repr__(self) -> str:
        return f"MemoryLedger(breaches={len(self._breaches)}, outbox={len(self._outbox)})"

    # ------------------------------------------------------------ transactions

    def _begin(self, depth: int) -> None:
        if depth == 0:
            self._lock.acquire()
        self._undo.append([])

    def _commit(self, depth: int) -> None:
        undo = self._undo.pop()
        if depth:
            self._undo[-1].extend(undo)
        else:
            self._lock.release()

    def _rollback(self, depth: int) -> None:
        for step in reversed(self._undo.pop()):
            step()
        if depth == 0:
            self._lock.release()

    def _log(self, step: Callable[[], object]) -> None:
        if self._undo:
            self._undo[-1].append(step)

    # ------------------------------------------------------------ primitives

    @_locked
    def _get_breach(self, threshold: str, subject: str) -> Breach | None:
        return self._breaches.get((threshold, subject))

    @_locked
    def _insert_breach(self, breach: Breach) -> bool:
        key = breach.key
        if key in self._breaches:
            return False
        self._breaches[key] = breach
        self._log(lambda: self._breaches.pop(key))
        return True

    def _replace(self, old: Breach, new: Breach) -> None:
        self._breaches[old.key] = new
        self._log(lambda: self._breaches.__setitem__(old.key, old))

    @_locked
    def _escalate(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        old = self._breaches.get((threshold, subject))
        if old is None or old.resolved_at is not None or old.severity >= severity:
            return False
        self._replace(old, attrs.evolve(old, severity=severity, updated_at=at))
        return True

    @_locked
    def _insert_compensation(self, record: CompensationRecord) -> bool:
        key = (record.threshold, record.subject, record.severity, record.compensation.kind)
        if key in self._compensations:
            return False
        code = record.compensation.code
        if code is not None:
            if code in self._codes:
                raise CodeTaken("voucher code already issued")
            self._codes.add(code)
            self._log(lambda: self._codes.discard(code))
        self._compensations[key] = record
        by_breach = self._by_breach[record.threshold, record.subject]
        by_customer = self._by_customer[record.customer]
        by_breach.append(record)
        by_customer.append(record)
        self._log(lambda: self._compensations.pop(key))
        self._log(by_breach.pop)
        self._log(by_customer.pop)
        return True

    @_locked
    def _paid(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        totals: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
        for record in self._by_breach.get((threshold, subject), ()):
            amount = record.compensation.amount
            if amount:
                totals[amount.currency, record.compensation.statutory] += amount.amount
        return dict(totals)

    @_locked
    def _spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for record in self._by_customer.get(customer, ()):
            amount = record.compensation.amount
            if record.created_at >= since and amount and not record.compensation.statutory:
                totals[amount.currency] += amount.amount
        return dict(totals)

    @_locked
    def _messages_since(self, customer: str, since: dt.datetime) -> int:
        return sum(1 for e in self._entries_of(customer) if e.created_at >= since)

    # ------------------------------------------------------------ recovery store

    @_locked
    def resolve(self, subject: str, threshold: str | None, at: dt.datetime) -> list[Breach] | None:
        """Close the subject's open breaches, once per resolution."""
        with self.transaction():
            if not self.record_event("resolved", threshold or "", subject, at):
                return None
            closed = []
            for breach in list(self._breaches.values()):
                if (
                    breach.subject != subject
                    or breach.resolved_at is not None
                    or breach.opened_at > at
                ):
                    continue
                if threshold is not None and breach.threshold != threshold:
                    continue
                new = attrs.evolve(breach, resolved_at=at, updated_at=at)
                self._replace(breach, new)
                closed.append(new)
            return sorted(closed, key=lambda b: (b.opened_at, b.threshold))

    @_locked
    def enqueue(self, entry: OutboxEntry) -> bool:
        """Queue a message once per key."""
        if entry.key in self._outbox:
            return False
        number = len(self._outbox) + 1
        self._outbox[entry.key] = attrs.evolve(entry, id=number)
        self._by_id[number] = entry.key
        sent_to = self._sent_to[entry.customer]
        sent_to.append(entry.key)
        self._log(lambda: self._outbox.pop(entry.key))
        self._log(lambda: self._by_id.pop(number))
        self._log(sent_to.pop)
        return True

    @_locked
    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        self._suppressions.append(record)
        self._log(partial(self._suppressions.pop, -1))

    @_locked
    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a complaint, contact or outcome once."""
        key = (kind, customer, subject, at)
        if key in self._events:
            return False
        self._events[key] = None
        self._log(lambda: self._events.pop(key))
        return True

    @_locked
    def record_consent(self, record: ConsentRecord) -> bool:
        """Keep the customer's latest word on a channel (never over a newer one)."""
        by_channel = self._consent[record.customer]
        old = by_channel.get(record.channel)
        if old is not None and (
            old.at > record.at
            or (old.state is ConsentState.OPTED_OUT and record.state is ConsentState.REFUSED)
        ):
            return False
        by_channel[record.channel] = record
        if old is None:
            self._log(lambda: by_channel.pop(record.channel))
        else:
            self._log(lambda: by_channel.__setitem__(record.channel, old))
        return True

    @_locked
    def consent_of(self, customer: str) -> dict[str, ConsentRecord]:
        """The customer's consent records, by channel."""
        return dict(self._consent.get(customer, {}))

    @_locked
    def consents(self) -> list[ConsentRecord]:
        """Every consent record, by customer and channel."""
        return sorted(
            (r for by_channel in self._consent.values() for r in by_channel.values()),
            key=lambda r: (r.customer, r.channel),
        )

    def _entries_of(self, customer: str) -> Iterator[OutboxEntry]:
        return (self._outbox[key] for key in self._sent_to.get(customer, ()))

    @_locked
    def first_contact_at(self, customer: str, subject: str) -> dt.datetime | None:
        """When a provider first accepted a message about ``subject``."""
        ids = {e.id for e in self._entries_of(customer) if e.subject == subject}
        times = [a.at for a in self._attempts if a.entry_id in ids and a.status == "sent"]
        return min(times, default=None)

    @_locked
    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last got a compensation or a message about a breach."""
        times = [r.created_at for r in self._by_customer.get(customer, ())]
        times += [e.created_at for e in self._entries_of(customer)]
        return max(times, default=None)

    # ------------------------------------------------------------ outbox

    def _update(self, entry_id: int, change: Callable[[OutboxEntry], OutboxEntry]) -> None:
        key = self._by_id[entry_id]
        old = self._outbox[key]
        self._outbox[key] = change(old)
        self._log(lambda: self._outbox.__setitem__(key, old))

    @_locked
    def due(
        self, now: dt.datetime, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Pending entries due by ``now``, and those whose sender's lease ran out."""
        found = [
            e
            for e in self._outbox.values()
            if (
                (e.status == OutboxStatus.PENDING and e.send_at <= now)
                or (
                    e.status == OutboxStatus.SENDING
                    and e.id is not None
                    and self._leases.get(e.id, now) < now
                )
            )
            and (channels is None or e.channel in channels)
        ]
        found.sort(key=lambda e: (e.send_at, e.id or 0))
        return found[:limit]

    @_locked
    def claim(self, entry_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take an entry for sending, unless another sender holds a live lease."""
        entry = self._outbox[self._by_id[entry_id]]
        lease = self._leases.get(entry_id)
        if entry.status == OutboxStatus.SENDING and lease is not None and lease >= now:
            return False
        if entry.status not in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            return False
        self._update(
            entry_id,
            lambda e: attrs.evolve(e, status=OutboxStatus.SENDING, attempts=e.attempts + 1),
        )
        self._leases[entry_id] = until
        return True

    @_locked
    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: OutboxStatus) -> None:
        """Finish as sent, dead or cancelled."""
        error = None if status == OutboxStatus.SENT else attempt.detail
        self._update(entry_id, lambda e: attrs.evolve(e, status=status, last_error=error))
        self._log_attempt(attempt)

    @_locked
    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Back to pending until ``send_at``."""
        self._update(
            entry_id,
            lambda e: attrs.evolve(
                e, status=OutboxStatus.PENDING, send_at=send_at, last_error=attempt.detail
            ),
        )
        self._log_attempt(attempt)

    def now(self) -> dt.datetime:
        """This machine's clock: a memory ledger lives in one process."""
        return dt.datetime.now(dt.UTC)

    @_locked
    def superseded(self, entry_ids: Collection[int]) -> set[int]:
        """Entries overtaken by a later message about the same breach, already sent."""
        out = set()
        for entry_id in entry_ids:
            entry = self._outbox[self._by_id[entry_id]]
            for key in self._sent_to.get(entry.customer, ()):
                later = self._outbox[key]
                if (
                    later.id is not None
                    and later.id > entry_id
                    and later.status == OutboxStatus.SENT
                    and (later.threshold, later.subject) == (entry.threshold, entry.subject)
                ):
                    out.add(entry_id)
                    break
        return out

    @_locked
    def requeue(self, entry_id: int, now: dt.datetime) -> bool:
        """Dead, uncertain or cancelled: pending again from ``now``."""
        entry = self._outbox[self._by_id[entry_id]]
        if entry.status not in (OutboxStatus.DEAD, OutboxStatus.UNCERTAIN, OutboxStatus.CANCELLED):
            return False
        self._update(
            entry_id,
            lambda e: attrs.evolve(e, status=OutboxStatus.PENDING, attempts=0, send_at=now),
        )
        self._leases.pop(entry_id, None)
        return True

    @_locked
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
        """On to the next channel."""
        self._update(
            entry_id,
            lambda e: attrs.evolve(
                e,
                status=OutboxStatus.PENDING,
                attempts=0,
                channel=channel,
                to=to,
                fallbacks=fallbacks,
                send_at=send_at,
                last_error=attempt.detail,
                rendered=None,
            ),
        )
        self._log_attempt(attempt)

    def _log_attempt(self, attempt: DeliveryAttempt) -> None:
        self._attempts.append(attempt)
        self._log(partial(self._attempts.pop, -1))

    # ------------------------------------------------------------ reader

    @_locked
    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order opened."""
        return iter(list(self._breaches.values()))

    @_locked
    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        return iter(list(self._compensations.values()))

    @_locked
    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        return iter(list(self._outbox.values()))

    @_locked
    def attempts(self, entry_id: int | None = None) -> list[DeliveryAttempt]:
        """The attempt log."""
        return [a for a in self._attempts if entry_id is None or a.entry_id == entry_id]

    @_locked
    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """Every recorded event of ``kind``."""
        return [(c, s, at) for (k, c, s, at) in self._events if k == kind]

    @_locked
    def suppressions(self) -> Sequence[SuppressionRecord]:
        """Everything a rule stopped."""
        return list(self._suppressions)

    # ------------------------------------------------------------ erasure

    @_locked
    def erase_customer(self, customer: str) -> str:
        """Empty the customer's addresses and texts; replace their id everywhere."""
        alias = new_pseudonym()
        for key, entry in list(self._outbox.items()):
            if entry.customer == customer:
                status = entry.status if entry.status in _FINISHED else OutboxStatus.ERASED
                self._outbox[key] = attrs.evolve(
                    entry,
                    customer=alias,
                    to="",
                    fallbacks=(),
                    status=status,
                    rendered=None,
                )
        self._attempts = [
            attrs.evolve(a, text=None, title=None)
            if self._outbox[self._by_id[a.entry_id]].customer == alias
            else a
            for a in self._attempts
        ]
        self._sent_to[alias] = self._sent_to.pop(customer, [])
        for breach_key, breach in list(self._breaches.items()):
            if breach.customer == customer:
                self._breaches[breach_key] = attrs.evolve(breach, customer=alias)
        for comp_key, record in list(self._compensations.items()):
            if record.customer == customer:
                self._compensations[comp_key] = attrs.evolve(record, customer=alias)
        for index in self._by_breach.values():
            index[:] = [
                self._compensations[(r.threshold, r.subject, r.severity, r.compensation.kind)]
                for r in index
            ]
        self._by_customer[alias] = [
            attrs.evolve(r, customer=alias) for r in self._by_customer.pop(customer, [])
        ]
        self._suppressions = [
            attrs.evolve(s, customer=alias) if s.customer == customer else s
            for s in self._suppressions
        ]
        self._events = {
            (k, alias if c == customer else c, s, at): None for (k, c, s, at) in self._events
        }
        self._consent[alias] = {
            channel: attrs.evolve(record, customer=alias, address="")
            for channel, record in self._consent.pop(customer, {}).items()
        }
        return alias

    def close(self) -> None:
        """Nothing to release."""
