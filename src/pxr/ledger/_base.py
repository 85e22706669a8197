"""What every shipped ledger shares: per-thread transactions, after-commit
callbacks, and applying a :class:`~pxr.ledger.Decision` through a handful of
conditional writes.

An implementation supplies the storage primitives (``_begin``, ``_commit``,
``_rollback``, ``_insert_breach``…); this base supplies the rules that must
not drift between ledgers: the order of writes, what counts as a conflict,
how a voucher-code clash is retried, and when hooks run.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal

import attrs

from pxr.compensation import new_voucher_code
from pxr.consent import ConsentRecord
from pxr.errors import LedgerError
from pxr.ledger import (
    ERASURE_KEY_ENV,
    Applied,
    BreachChange,
    CodeTaken,
    CompensationRecord,
    Decision,
    DecisionItem,
    OutboxEntry,
    Snapshot,
    SuppressionRecord,
    tombstone,
)
from pxr.model import Breach, Severity

__all__ = ["LedgerBase"]

#: How many fresh voucher codes to draw before giving up.
_CODE_ATTEMPTS = 8


class _Conflict(Exception):
    """Raised inside :meth:`LedgerBase.apply` to roll its writes back."""


class _ThreadState(threading.local):
    """One thread's view of the ledger: its transaction depth, the callbacks
    waiting for each open level, and the customers whose state it loaded
    under the write lock in the current outermost transaction."""

    def __init__(self) -> None:
        self.depth = 0
        self.frames: list[list[Callable[[], object]]] = []
        self.locked: set[str] = set()


class LedgerBase:
    """Transactions, after-commit callbacks, ``load`` and ``apply`` on top of
    an implementation's primitives."""

    def __init__(self, *, erasure_key: bytes | str | None = None) -> None:
        self._thread = _ThreadState()
        if erasure_key is None:
            erasure_key = os.environ.get(ERASURE_KEY_ENV) or None
        if isinstance(erasure_key, str):
            erasure_key = erasure_key.encode("utf-8")
        if erasure_key is not None and len(erasure_key) < 16:
            raise LedgerError(f"an erasure key needs at least 16 bytes ({ERASURE_KEY_ENV})")
        self.__erasure_key = erasure_key

    # ------------------------------------------------------------ tombstones

    def _stored_erasure_key(self, create: bool) -> bytes | None:
        """The key kept in the store itself, for a host that gave none (weaker:
        see the privacy page); made on first erasure, ``None`` before."""
        raise NotImplementedError

    def _tombstone(self, customer: str, *, create: bool = False) -> str | None:
        """The keyed hash an erasure of ``customer`` leaves behind; ``None`` if
        no key exists yet (so nothing was ever erased)."""
        key = self.__erasure_key
        if key is None:
            key = self._stored_erasure_key(create)
            if key is None:
                return None
            if not create:
                # Only a key read back is known to be committed; one made in a
                # transaction that may still roll back is looked up again.
                self.__erasure_key = key
        return tombstone(key, customer)

    # ------------------------------------------------------------ transactions

    def _begin(self, depth: int) -> None:
        raise NotImplementedError

    def _commit(self, depth: int) -> None:
        raise NotImplementedError

    def _rollback(self, depth: int) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all.

        Nested blocks are savepoints; each thread has its own transaction.
        Callbacks registered with :meth:`after_commit` run once the
        outermost block commits, and are dropped with a block that fails.
        """
        state = self._thread
        depth = state.depth
        self._begin(depth)
        state.depth = depth + 1
        state.frames.append([])
        try:
            yield
        except BaseException:
            state.depth = depth
            state.frames.pop()
            if depth == 0:
                state.locked.clear()
            self._rollback(depth)
            raise
        state.depth = depth
        frame = state.frames.pop()
        if depth:
            self._commit(depth)
            state.frames[-1].extend(frame)
            return
        state.locked.clear()
        self._commit(depth)
        for callback in frame:
            callback()

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once this thread's outermost transaction commits
        (at once outside a transaction)."""
        state = self._thread
        if state.depth == 0:
            callback()
        else:
            state.frames[-1].append(callback)

    @property
    def in_transaction(self) -> bool:
        """Whether this thread is inside :meth:`transaction`."""
        return self._thread.depth > 0

    # ------------------------------------------------------------ primitives

    def _lock_customer(self, customer: str) -> None:
        """Hold ``customer``'s state against other writers until the transaction
        ends. A ledger whose transactions already exclude other writers has
        nothing to do."""

    def _get_breach(self, threshold: str, subject: str) -> Breach | None:
        raise NotImplementedError

    def _paid(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        raise NotImplementedError

    def _spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        raise NotImplementedError

    def _messages_since(self, customer: str, since: dt.datetime) -> int:
        raise NotImplementedError

    def _insert_breach(self, breach: Breach) -> bool:
        raise NotImplementedError

    def _confirm(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        """Mark an open forecast breach as seen in an actual value, at ``severity``."""
        raise NotImplementedError

    def _breaches_since(self, customer: str, threshold: str, since: dt.datetime) -> int:
        """How many actual (not forecast-only) breaches of ``threshold`` the
        customer has had opened since ``since``."""
        raise NotImplementedError

    def _escalate(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        raise NotImplementedError

    def _insert_compensation(self, record: CompensationRecord) -> bool:
        raise NotImplementedError

    def _insert_compensation_retrying(self, record: CompensationRecord) -> bool:
        """Insert, where a clash on the voucher code rolls back only that insert."""
        return self._insert_compensation(record)

    def record_suppression(self, record: SuppressionRecord) -> None:
        raise NotImplementedError

    def enqueue(self, entry: OutboxEntry) -> bool:
        raise NotImplementedError

    def consent_of(self, customer: str) -> dict[str, ConsentRecord]:
        raise NotImplementedError

    # ------------------------------------------------------------ load and apply

    def load(
        self,
        customer: str,
        breaches: Sequence[tuple[str, str]],
        *,
        spent_since: dt.datetime | None = None,
        messages_since: dt.datetime | None = None,
        repeats_since: Mapping[str, dt.datetime] | None = None,
    ) -> Snapshot:
        """The state a decision about ``customer`` needs.

        Inside a transaction the customer's state is locked against other
        writers until it ends, so a decision applied in the same transaction
        needs no second look.
        """
        state = self._thread
        if state.depth:
            self._lock_customer(customer)
            state.locked.add(customer)
        found = {}
        paid = {}
        for key in breaches:
            breach = self._get_breach(*key)
            if breach is not None:
                found[key] = breach
                paid[key] = self._paid(*key)
        return Snapshot(
            breaches=found,
            paid=paid,
            spent=None if spent_since is None else self._spent_since(customer, spent_since),
            messages=None
            if messages_since is None
            else self._messages_since(customer, messages_since),
            repeats=None if repeats_since is None else self._repeats(customer, repeats_since),
            consent=self.consent_of(customer),
        )

    def _repeats(self, customer: str, since: Mapping[str, dt.datetime]) -> dict[str, int]:
        return {name: self._breaches_since(customer, name, at) for name, at in since.items()}

    def apply(self, decision: Decision) -> Applied:
        """Write ``decision`` at once, or nothing if what it relied on changed."""
        changes = sum(isinstance(item, BreachChange) for item in decision.items)
        if self._thread.depth and changes <= 1:
            # A single breach change is written first: if it conflicts nothing
            # else has been written, so the caller's transaction needs no savepoint.
            return self._apply_checked(decision)
        try:
            with self.transaction():
                return self._apply_checked(decision)
        except _Conflict:
            return Applied(conflict=True)

    def _apply_checked(self, decision: Decision) -> Applied:
        customer = decision.customer
        if customer not in self._thread.locked:
            self._lock_customer(customer)
            if not self._still_holds(decision):
                return Applied(conflict=True)
        # Breach changes first: they are the writes that can conflict.
        order = sorted(
            range(len(decision.items)),
            key=lambda n: not isinstance(decision.items[n], BreachChange),
        )
        won: list[tuple[int, DecisionItem]] = []
        for position, n in enumerate(order):
            item = decision.items[n]
            if isinstance(item, BreachChange):
                if not self._change(item):
                    if position == 0:
                        return Applied(conflict=True)
                    raise _Conflict
                won.append((n, item))
            elif isinstance(item, CompensationRecord):
                stored = self._issue(item)
                if stored is not None:
                    won.append((n, stored))
            elif isinstance(item, SuppressionRecord):
                self.record_suppression(item)
                won.append((n, item))
            elif self.enqueue(item):
                won.append((n, item))
        return Applied(won=tuple(item for _, item in sorted(won, key=lambda pair: pair[0])))

    def _still_holds(self, decision: Decision) -> bool:
        """Whether the budget, message and repeat-failure windows the decision saw are unchanged."""
        if decision.spent_since is not None and decision.spent is not None:
            budgeted = any(
                isinstance(item, CompensationRecord)
                and item.compensation.amount is not None
                and not item.compensation.statutory
                for item in decision.items
            )
            current = self._spent_since(decision.customer, decision.spent_since)
            if budgeted and current != dict(decision.spent):
                return False
        if decision.messages_since is not None and decision.messages is not None:
            queues = any(isinstance(item, OutboxEntry) for item in decision.items)
            current_count = self._messages_since(decision.customer, decision.messages_since)
            if queues and current_count != decision.messages:
                return False
        if decision.repeats_since is not None and decision.repeats is not None:
            opens = any(
                isinstance(item, BreachChange)
                and (item.previous is None or item.confirms)
                and item.breach.threshold in decision.repeats_since
                for item in decision.items
            )
            if opens and self._repeats(decision.customer, decision.repeats_since) != dict(
                decision.repeats
            ):
                return False
        return True

    def _change(self, change: BreachChange) -> bool:
        breach = change.breach
        if change.confirms:
            return self._confirm(
                breach.threshold, breach.subject, breach.severity, breach.updated_at
            )
        if change.previous is None:
            return self._insert_breach(breach)
        return self._escalate(breach.threshold, breach.subject, breach.severity, breach.updated_at)

    def _issue(self, record: CompensationRecord) -> CompensationRecord | None:
        """Write one compensation, drawing a fresh voucher code on a clash.

        Returns what was stored, or ``None`` if this tier's kind was paid before.
        """
        for _ in range(_CODE_ATTEMPTS):
            try:
                inserted = self._insert_compensation_retrying(record)
            except CodeTaken:
                fresh = attrs.evolve(record.compensation, code=new_voucher_code())
                record = attrs.evolve(record, compensation=fresh)
                continue
            return record if inserted else None
        raise LedgerError("could not draw an unused voucher code")
