"""An in-memory ledger: the same contract as SQLite, kept in dictionaries.

Transactions keep an undo log, so a step that fails half-way leaves nothing
behind, exactly as a rolled-back database transaction would.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import partial

import attrs

from pxr.ledger import (
    CodeTaken,
    CompensationRecord,
    DeliveryAttempt,
    OutboxEntry,
    SuppressionRecord,
    pseudonym,
)
from pxr.model import Breach, Message, Severity

__all__ = ["MemoryLedger"]


class MemoryLedger:
    """A ledger that lives as long as the process. Not shared between processes."""

    def __init__(self) -> None:
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
        self._undo: list[Callable[[], object]] | None = None

    def __repr__(self) -> str:
        return f"MemoryLedger(breaches={len(self._breaches)}, outbox={len(self._outbox)})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Undo every write made inside if the block raises."""
        outer = self._undo
        undo: list[Callable[[], object]] = []
        self._undo = undo
        try:
            yield
        except BaseException:
            for step in reversed(undo):
                step()
            raise
        finally:
            self._undo = outer
        if outer is not None:
            outer.extend(undo)

    def _log(self, step: Callable[[], object]) -> None:
        if self._undo is not None:
            self._undo.append(step)

    def get_breach(self, threshold: str, subject: str) -> Breach | None:
        """The breach with this identity, open or resolved."""
        return self._breaches.get((threshold, subject))

    def insert_breach(self, breach: Breach) -> bool:
        """Open ``breach`` unless its identity exists."""
        key = breach.key
        if key in self._breaches:
            return False
        self._breaches[key] = breach
        self._log(lambda: self._breaches.pop(key))
        return True

    def _replace(self, old: Breach, new: Breach) -> None:
        self._breaches[old.key] = new
        self._log(lambda: self._breaches.__setitem__(old.key, old))

    def escalate_breach(
        self, threshold: str, subject: str, severity: Severity, at: dt.datetime
    ) -> bool:
        """Raise an open breach to ``severity`` if it was lower."""
        old = self._breaches.get((threshold, subject))
        if old is None or old.resolved_at is not None or old.severity >= severity:
            return False
        self._replace(old, attrs.evolve(old, severity=severity, updated_at=at))
        return True

    def resolve_breaches(
        self, subject: str, threshold: str | None, at: dt.datetime
    ) -> list[Breach]:
        """Close the subject's open breaches."""
        closed = []
        for breach in list(self._breaches.values()):
            if breach.subject != subject or breach.resolved_at is not None or breach.opened_at > at:
                continue
            if threshold is not None and breach.threshold != threshold:
                continue
            new = attrs.evolve(breach, resolved_at=at, updated_at=at)
            self._replace(breach, new)
            closed.append(new)
        return closed

    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order opened."""
        return iter(list(self._breaches.values()))

    def insert_compensation(self, record: CompensationRecord) -> bool:
        """Record a compensation once per tier; voucher codes are unique."""
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

    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        return iter(list(self._compensations.values()))

    def paid_for_breach(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        """Paid so far for one breach, per (currency, statutory)."""
        totals: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
        for record in self._by_breach.get((threshold, subject), ()):
            amount = record.compensation.amount
            if amount:
                totals[amount.currency, record.compensation.statutory] += amount.amount
        return dict(totals)

    def spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        """Non-statutory compensation for ``customer`` since ``since``."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for record in self._by_customer.get(customer, ()):
            amount = record.compensation.amount
            if record.created_at >= since and amount and not record.compensation.statutory:
                totals[amount.currency] += amount.amount
        return dict(totals)

    def enqueue(self, entry: OutboxEntry) -> bool:
        """Queue a message once per key."""
        if entry.key in self._outbox:
            return False
        stored = attrs.evolve(entry, id=len(self._outbox) + 1)
        self._outbox[entry.key] = stored
        self._by_id[len(self._outbox)] = entry.key
        sent_to = self._sent_to[entry.customer]
        sent_to.append(entry.key)
        self._log(lambda: self._outbox.pop(entry.key))
        self._log(sent_to.pop)
        return True

    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        return iter(list(self._outbox.values()))

    def _entries_of(self, customer: str) -> Iterator[OutboxEntry]:
        return (self._outbox[key] for key in self._sent_to.get(customer, ()))

    def _update(self, entry_id: int, change: Callable[[OutboxEntry], OutboxEntry]) -> None:
        key = self._by_id[entry_id]
        old = self._outbox[key]
        self._outbox[key] = change(old)
        self._log(lambda: self._outbox.__setitem__(key, old))

    def due(
        self, now: dt.datetime, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Pending entries due by ``now``, and those whose sender's lease ran out."""
        found = [
            e
            for e in self._outbox.values()
            if (
                (e.status == "pending" and e.message.send_at <= now)
                or (
                    e.status == "sending" and e.id is not None and self._leases.get(e.id, now) < now
                )
            )
            and (channels is None or e.message.channel in channels)
        ]
        found.sort(key=lambda e: (e.message.send_at, e.id or 0))
        return found[:limit]

    def claim(self, entry_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take an entry for sending, unless another sender holds a live lease."""
        entry = self._outbox[self._by_id[entry_id]]
        lease = self._leases.get(entry_id)
        if entry.status == "sending" and lease is not None and lease >= now:
            return False
        if entry.status not in ("pending", "sending"):
            return False
        self._update(entry_id, lambda e: attrs.evolve(e, status="sending", attempts=e.attempts + 1))
        self._leases[entry_id] = until
        return True

    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: str) -> None:
        """Finish as sent or dead."""
        error = attempt.detail if status == "dead" else None
        self._update(entry_id, lambda e: attrs.evolve(e, status=status, last_error=error))
        self._log_attempt(attempt)

    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Back to pending until ``send_at``."""
        self._update(
            entry_id,
            lambda e: attrs.evolve(
                e,
                status="pending",
                message=attrs.evolve(e.message, send_at=send_at),
                last_error=attempt.detail,
            ),
        )
        self._log_attempt(attempt)

    def reroute(
        self,
        entry_id: int,
        attempt: DeliveryAttempt,
        message: Message,
        fallbacks: tuple[Message, ...],
    ) -> None:
        """On to the next channel."""
        self._update(
            entry_id,
            lambda e: attrs.evolve(
                e,
                status="pending",
                attempts=0,
                message=message,
                fallbacks=fallbacks,
                last_error=attempt.detail,
            ),
        )
        self._log_attempt(attempt)

    def _log_attempt(self, attempt: DeliveryAttempt) -> None:
        self._attempts.append(attempt)
        self._log(partial(self._attempts.pop, -1))

    def attempts(self, entry_id: int | None = None) -> list[DeliveryAttempt]:
        """The attempt log."""
        return [a for a in self._attempts if entry_id is None or a.entry_id == entry_id]

    def messages_since(self, customer: str, since: dt.datetime) -> int:
        """Messages queued for ``customer`` since ``since``."""
        return sum(1 for e in self._entries_of(customer) if e.created_at >= since)

    def first_message_at(self, customer: str, subject: str) -> dt.datetime | None:
        """The earliest ``send_at`` of a message about ``subject``."""
        times = [e.message.send_at for e in self._entries_of(customer) if e.subject == subject]
        return min(times, default=None)

    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last got a compensation or a message about a breach."""
        times = [r.created_at for r in self._by_customer.get(customer, ())]
        times += [e.created_at for e in self._entries_of(customer)]
        return max(times, default=None)

    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        self._suppressions.append(record)
        self._log(partial(self._suppressions.pop, -1))

    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a complaint, contact or outcome once."""
        key = (kind, customer, subject, at)
        if key in self._events:
            return False
        self._events[key] = None
        self._log(lambda: self._events.pop(key))
        return True

    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """Every recorded event of ``kind``."""
        return [(c, s, at) for (k, c, s, at) in self._events if k == kind]

    def suppressions(self) -> Sequence[SuppressionRecord]:
        """Everything a rule stopped."""
        return list(self._suppressions)

    def erase_customer(self, customer: str) -> str:
        """Empty the customer's addresses and texts; replace their id everywhere."""
        alias = pseudonym(customer)
        for key, entry in list(self._outbox.items()):
            if entry.customer == customer:
                status = entry.status if entry.status in ("sent", "dead") else "erased"
                message = attrs.evolve(entry.message, to="", title=None, text="")
                self._outbox[key] = attrs.evolve(
                    entry, customer=alias, message=message, fallbacks=(), status=status
                )
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
        return alias

    def close(self) -> None:
        """Nothing to release."""
