"""An in-memory ledger: the same contract as SQLite, kept in dictionaries.

Transactions keep an undo log, so a step that fails half-way leaves nothing
behind, exactly as a rolled-back database transaction would. One lock, held
by a thread from the start of its outermost transaction to its end, makes
the ledger safe to share between threads (writers take turns, as in SQLite).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from decimal import Decimal
from functools import partial, wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs

from pxr.consent import ConsentRecord, ConsentState
from pxr.ledger import (
    Case,
    CaseEvent,
    CaseStatus,
    CodeTaken,
    CompensationRecord,
    DeliveryAttempt,
    Erased,
    OutboxEntry,
    OutboxStatus,
    SuppressionRecord,
    is_pseudonym,
    new_case_id,
    new_pseudonym,
)
from pxr.ledger._base import LedgerBase
from pxr.model import Breach, Severity
from pxr.money import Money

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

    def __init__(self, *, erasure_key: bytes | str | None = None) -> None:
        super().__init__(erasure_key=erasure_key)
        self._lock = threading.RLock()
        self._tombstones: dict[str, dt.datetime] = {}
        self._own_key: bytes | None = None
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
        self._cases: dict[str, Case] = {}
        self._case_events: list[CaseEvent] = []
        self._case_once: set[tuple[str, str, str]] = set()
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
    def _confirm(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        old = self._breaches.get((threshold, subject))
        if old is None or old.resolved_at is not None or not old.forecast:
            return False
        new = attrs.evolve(old, severity=severity, updated_at=at, confirmed_at=at, forecast=False)
        self._replace(old, new)
        return True

    @_locked
    def _breaches_since(self, customer: str, threshold: str, since: dt.datetime) -> int:
        return sum(
            1
            for b in self._breaches.values()
            if b.customer == customer
            and b.threshold == threshold
            and not b.forecast
            and b.opened_at >= since
        )

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
    def resolve(
        self,
        subject: str,
        threshold: str | None,
        at: dt.datetime,
        *,
        opened_by: dt.datetime | None = None,
    ) -> list[Breach] | None:
        """Close the subject's open breaches, once per resolution."""
        with self.transaction():
            if not self.record_event("resolved", threshold or "", subject, at):
                return None
            closed = []
            for breach in list(self._breaches.values()):
                if (
                    breach.subject != subject
                    or breach.resolved_at is not None
                    or breach.opened_at > (opened_by or at)
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

    def _update(self, entry_id: int, change: Callable[[OutboxEntry], OutboxEntry]) -> bool:
        """Change an entry; ``False`` (and no change) if its customer was erased."""
        key = self._by_id[entry_id]
        old = self._outbox[key]
        if old.status == OutboxStatus.ERASED:
            return False
        self._outbox[key] = change(old)
        self._log(lambda: self._outbox.__setitem__(key, old))
        return True

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
        changed = self._update(entry_id, lambda e: attrs.evolve(e, status=status, last_error=error))
        self._log_attempt(attempt, erased=not changed)

    @_locked
    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Back to pending until ``send_at``."""
        changed = self._update(
            entry_id,
            lambda e: attrs.evolve(
                e, status=OutboxStatus.PENDING, send_at=send_at, last_error=attempt.detail
            ),
        )
        self._log_attempt(attempt, erased=not changed)

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
        changed = self._update(
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
        self._log_attempt(attempt, erased=not changed)

    def _log_attempt(self, attempt: DeliveryAttempt, *, erased: bool = False) -> None:
        if erased:
            # Erased while this send was under way: keep that it happened only.
            attempt = attrs.evolve(attempt, title=None, text=None, detail=None)
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

    # ------------------------------------------------------------ cases

    def _keep_case_event(self, event: CaseEvent) -> None:
        self._case_events.append(event)
        self._log(partial(self._case_events.pop, -1))

    @_locked
    def open_case(self, case: Case, who: str) -> bool:
        """Open a case once, with its ``opened`` event."""
        if case.id in self._cases:
            return False
        self._cases[case.id] = case
        self._log(lambda: self._cases.pop(case.id))
        self._keep_case_event(CaseEvent(case.id, "opened", who, case.opened_at, case.origin))
        return True

    @_locked
    def move_case(
        self,
        case: str,
        expected: Collection[CaseStatus],
        status: CaseStatus,
        event: CaseEvent,
        *,
        offer: tuple[Money, str, str] | None = None,
    ) -> bool:
        """Move a case on, only from the states the step expects."""
        old = self._cases.get(case)
        if old is None or old.status not in expected:
            return False
        new = attrs.evolve(old, status=status, updated_at=event.at)
        if offer is not None:
            money, kind, by = offer
            new = attrs.evolve(new, offer=money, offer_kind=kind, offered_by=by)
        self._cases[case] = new
        self._log(lambda: self._cases.__setitem__(case, old))
        self._keep_case_event(event)
        return True

    @_locked
    def note_case(self, event: CaseEvent) -> bool:
        """Keep an event once per case, kind and note."""
        key = (event.case, event.kind, event.note or "")
        if key in self._case_once:
            return False
        self._case_once.add(key)
        self._log(lambda: self._case_once.discard(key))
        self._keep_case_event(event)
        return True

    @_locked
    def case(self, case: str) -> Case | None:
        """One case by id."""
        return self._cases.get(case)

    @_locked
    def cases(
        self,
        statuses: Collection[CaseStatus] | None = None,
        *,
        due_by: dt.datetime | None = None,
    ) -> list[Case]:
        """Cases by due time."""
        found = [
            c
            for c in self._cases.values()
            if (statuses is None or c.status in statuses) and (due_by is None or c.due_at <= due_by)
        ]
        return sorted(found, key=lambda c: (c.due_at, c.id))

    @_locked
    def case_events(self, case: str | None = None) -> list[CaseEvent]:
        """Case events in the order kept."""
        return [e for e in self._case_events if case is None or e.case == case]

    # ------------------------------------------------------------ erasure

    @_locked
    def erase_customer(self, customer: str, *, at: dt.datetime | None = None) -> Erased:
        """Empty the customer's personal data, replace their id everywhere,
        leave a tombstone."""
        alias = new_pseudonym()
        digest = self._tombstone(customer, create=True)
        assert digest is not None  # noqa: S101 - create=True always gives one
        if self._undo:
            self._log(self._restorer())
        erased_ids = set()
        for key, entry in list(self._outbox.items()):
            if entry.customer == customer:
                status = entry.status if entry.status in _FINISHED else OutboxStatus.ERASED
                content = entry.content
                if content is not None:
                    kept = tuple(
                        attrs.evolve(c, code=None, note=None) for c in content.compensations
                    )
                    content = attrs.evolve(content, compensations=kept)
                self._outbox[key] = attrs.evolve(
                    entry,
                    customer=alias,
                    to="",
                    fallbacks=(),
                    status=status,
                    rendered=None,
                    content=content,
                    last_error=None,
                )
                erased_ids.add(entry.id)
        attempts = sum(1 for a in self._attempts if a.entry_id in erased_ids)
        self._attempts[:] = [
            attrs.evolve(a, text=None, title=None, detail=None) if a.entry_id in erased_ids else a
            for a in self._attempts
        ]
        self._sent_to[alias] = self._sent_to.pop(customer, [])
        breaches = 0
        for breach_key, breach in list(self._breaches.items()):
            if breach.customer == customer:
                self._breaches[breach_key] = attrs.evolve(breach, customer=alias)
                breaches += 1
        compensations = 0
        for comp_key, record in list(self._compensations.items()):
            if record.customer == customer:
                if record.compensation.code is not None:
                    self._codes.discard(record.compensation.code)
                self._compensations[comp_key] = attrs.evolve(
                    record,
                    customer=alias,
                    compensation=attrs.evolve(record.compensation, code=None, note=None),
                )
                compensations += 1
        for index in self._by_breach.values():
            index[:] = [
                self._compensations[(r.threshold, r.subject, r.severity, r.compensation.kind)]
                for r in index
            ]
        self._by_customer[alias] = [
            self._compensations[(r.threshold, r.subject, r.severity, r.compensation.kind)]
            for r in self._by_customer.pop(customer, [])
        ]
        suppressions = sum(1 for s in self._suppressions if s.customer == customer)
        self._suppressions[:] = [
            attrs.evolve(s, customer=alias) if s.customer == customer else s
            for s in self._suppressions
        ]
        named = sum(1 for (_, c, _, _) in self._events if c == customer)
        events = {(k, alias if c == customer else c, s, at): None for (k, c, s, at) in self._events}
        self._events.clear()
        self._events.update(events)
        cases, consents = self._erase_cases_and_consent(customer, alias)
        erased = Erased(
            pseudonym=alias,
            breaches=breaches,
            compensations=compensations,
            messages=len(erased_ids),
            attempts=attempts,
            suppressions=suppressions,
            events=named,
            cases=cases,
            consent=consents,
            before=digest in self._tombstones,
            scrubbed=True,
        )
        if erased.found or erased.before:
            when = at or dt.datetime.now(dt.UTC)
            self._tombstones[digest] = max(when, self._tombstones.get(digest, when))
        return erased if erased.found else attrs.evolve(erased, pseudonym=None)

    def _erase_cases_and_consent(self, customer: str, alias: str) -> tuple[int, int]:
        """Give the customer's cases new ids and the pseudonym, forget their
        refused addresses; return how many cases and consent records changed."""
        consent = self._consent.pop(customer, {})
        if consent:
            self._consent[alias] = {
                channel: attrs.evolve(record, customer=alias, address="")
                for channel, record in consent.items()
            }
        cases = 0
        for case_id, case in list(self._cases.items()):
            if case.customer == customer:
                cases += 1
                # A case id is derived from the customer id: draw a new one.
                new = new_case_id()
                del self._cases[case_id]
                self._cases[new] = attrs.evolve(case, id=new, customer=alias)
                self._case_events[:] = [
                    attrs.evolve(e, case=new) if e.case == case_id else e for e in self._case_events
                ]
                once = {(new if c == case_id else c, k, n) for c, k, n in self._case_once}
                self._case_once.clear()
                self._case_once.update(once)
        return cases, len(consent)

    def _restorer(self) -> Callable[[], None]:
        """An undo step that puts every structure back as it is now, in place
        (other undo steps hold references to them)."""
        dicts: list[tuple[dict[Any, Any], dict[Any, Any]]] = [
            (d, dict(d))
            for d in (
                self._outbox,
                self._sent_to,
                self._breaches,
                self._compensations,
                self._by_customer,
                self._events,
                self._tombstones,
                self._cases,
                self._consent,
            )
        ]
        every: list[list[Any]] = [
            self._attempts,
            self._suppressions,
            self._case_events,
            *self._by_breach.values(),
        ]
        lists = [(x, list(x)) for x in every]
        sets: list[tuple[set[Any], set[Any]]] = [
            (self._codes, set(self._codes)),
            (self._case_once, set(self._case_once)),
        ]

        def restore() -> None:
            for current, saved in dicts:
                current.clear()
                current.update(saved)
            for items, kept in lists:
                items[:] = kept
            for members, held in sets:
                members.clear()
                members.update(held)

        return restore

    @_locked
    def is_erased(self, customer: str, at: dt.datetime) -> bool:
        """Whether a tombstone for ``customer`` dates from ``at`` or later."""
        digest = self._tombstone(customer)
        erased_at = self._tombstones.get(digest) if digest is not None else None
        return erased_at is not None and erased_at >= at

    @_locked
    def inactive_customers(self, before: dt.datetime) -> list[str]:
        """Customers whose latest activity of any kind is older than ``before``."""
        last: dict[str, dt.datetime] = {}

        def seen(customer: str, at: dt.datetime) -> None:
            if customer not in last or at > last[customer]:
                last[customer] = at

        for breach in self._breaches.values():
            seen(breach.customer, breach.resolved_at or breach.updated_at)
            seen(breach.customer, breach.updated_at)
        for record in self._compensations.values():
            seen(record.customer, record.created_at)
        for entry in self._outbox.values():
            seen(entry.customer, entry.send_at)
        for attempt in self._attempts:
            seen(self._outbox[self._by_id[attempt.entry_id]].customer, attempt.at)
        for suppression in self._suppressions:
            seen(suppression.customer, suppression.at)
        for kind, customer, _, at in self._events:
            if kind != "resolved":
                seen(customer, at)
        return sorted(c for c, at in last.items() if at < before and not is_pseudonym(c))

    def _stored_erasure_key(self, create: bool) -> bytes | None:
        """A key for this process's life (the ledger lives no longer)."""
        if self._own_key is None and create:
            self._own_key = secrets.token_bytes(32)
        return self._own_key

    def close(self) -> None:
        """Nothing to release."""
