"""The ledger contract: the tests every ledger must pass, for any implementation.

Subclass :class:`LedgerContract` in your test suite and give it a ``ledger``
fixture that yields a fresh, empty ledger (and closes it afterwards); pytest
then runs every test below against it::

    import pytest
    from pxr.testing import LedgerContract

    class TestMyLedger(LedgerContract):
        @pytest.fixture
        def ledger(self, tmp_path):
            store = MyLedger(tmp_path / "ledger")
            yield store
            store.close()

pxr runs it on its own memory, SQLite and PostgreSQL ledgers. Needs pytest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from decimal import Decimal

import attrs
import pytest

from pxr.consent import ConsentRecord, ConsentState
from pxr.ledger import (
    BreachChange,
    Case,
    CaseEvent,
    CaseStatus,
    CompensationRecord,
    Decision,
    DeliveryAttempt,
    Ledger,
    OutboxEntry,
    OutboxStatus,
    SuppressionRecord,
)
from pxr.model import Breach, Compensation, Content, Purpose, Reason, Severity
from pxr.money import Money

__all__ = ["LedgerContract"]

_ZONE = dt.timezone(dt.timedelta(hours=1))


def _at(day: int = 2, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=_ZONE)


def _breach(subject: str = "S", severity: Severity = Severity.MINOR, customer: str = "c") -> Breach:
    return Breach(
        threshold="t",
        subject=subject,
        customer=customer,
        severity=severity,
        opened_at=_at(),
        updated_at=_at(),
    )


def _record(
    code: str | None = None,
    severity: Severity = Severity.MINOR,
    subject: str = "S",
    amount: str = "10",
    customer: str = "c",
) -> CompensationRecord:
    return CompensationRecord(
        threshold="t",
        subject=subject,
        severity=severity,
        customer=customer,
        compensation=Compensation(kind="voucher", amount=Money(Decimal(amount), "PLN"), code=code),
        created_at=_at(),
    )


def _entry(key: str = "k", when: dt.datetime | None = None, customer: str = "c") -> OutboxEntry:
    when = when or _at()
    return OutboxEntry(
        key=key,
        customer=customer,
        subject="S",
        threshold="t",
        severity=Severity.MINOR,
        created_at=when,
        channel="sms",
        to="+48512345678",
        locale="pl_PL",
        timezone="Europe/Warsaw",
        send_at=when,
        content=Content(purpose=Purpose.NOTICE, subject="S", delay=dt.timedelta(hours=26)),
        fallbacks=(("email", "anna@example.pl"),),
    )


def _case(case_id: str = "K-1", customer: str = "c", due_day: int = 16) -> Case:
    return Case(
        id=case_id,
        customer=customer,
        subject="S",
        origin="complaint",
        status=CaseStatus.OPEN,
        opened_at=_at(),
        due_at=_at(due_day),
        updated_at=_at(),
        team="care",
        silence_accepts=True,
        missed=True,
    )


def _consent(
    state: ConsentState, when: dt.datetime, address: str = "", customer: str = "c"
) -> ConsentRecord:
    return ConsentRecord(
        customer=customer, channel="sms", state=state, at=when, source="test", address=address
    )


def _opened(*more: object, subject: str = "S", customer: str = "c") -> Decision:
    items = (BreachChange(_breach(subject, customer=customer)), *more)
    return Decision(customer=customer, items=items)  # type: ignore[arg-type]


class LedgerContract:
    """Every ledger role, checked through its protocol alone."""

    # ------------------------------------------------------------ load and apply

    def test_an_empty_ledger_loads_nothing(self, ledger: Ledger) -> None:
        snapshot = ledger.load("c", [("t", "S")], spent_since=_at(1), messages_since=_at(1))
        assert snapshot.breaches == {}
        assert snapshot.paid == {}
        assert snapshot.spent == {}
        assert snapshot.messages == 0

    def test_a_breach_is_opened_once(self, ledger: Ledger) -> None:
        applied = ledger.apply(_opened())
        assert not applied.conflict
        assert applied.won == (BreachChange(_breach()),)
        again = ledger.apply(_opened())
        assert again.conflict, "a second writer opening the same breach must learn it lost"
        assert ledger.load("c", [("t", "S")]).breaches == {("t", "S"): _breach()}

    def test_a_conflict_writes_nothing(self, ledger: Ledger) -> None:
        ledger.apply(_opened())
        lost = ledger.apply(_opened(_record("AAAAA-BBBBB"), _entry()))
        assert lost.conflict
        assert list(ledger.compensations()) == []
        assert list(ledger.outbox()) == []

    def test_escalation_goes_only_upwards_and_only_while_open(self, ledger: Ledger) -> None:
        ledger.apply(_opened())
        major = _breach(severity=Severity.MAJOR)
        raised = Decision("c", (BreachChange(major, previous=Severity.MINOR),))
        assert not ledger.apply(raised).conflict
        assert ledger.apply(raised).conflict, "raising to the same severity again is a conflict"
        assert [b.subject for b in ledger.resolve("S", None, _at(4)) or []] == ["S"]
        critical = _breach(severity=Severity.CRITICAL)
        assert ledger.apply(Decision("c", (BreachChange(critical, Severity.MAJOR),))).conflict
        found = ledger.load("c", [("t", "S")]).breaches[("t", "S")]
        assert (found.severity, found.resolved_at) == (Severity.MAJOR, _at(4))

    def test_a_resolution_is_recorded_once(self, ledger: Ledger) -> None:
        ledger.apply(_opened())
        assert ledger.resolve("S", None, _at(4)) is not None
        assert ledger.resolve("S", None, _at(4)) is None
        assert ledger.resolve("S", "t", _at(5)) == []

    def test_a_compensation_is_paid_once_per_tier_and_kind(self, ledger: Ledger) -> None:
        ledger.apply(_opened(_record("AAAAA-BBBBB")))
        raised = BreachChange(_breach(severity=Severity.MAJOR), previous=Severity.MINOR)
        applied = ledger.apply(Decision("c", (raised, _record("CCCCC-DDDDD"))))
        assert applied.won == (raised,), "the minor tier's voucher was paid already"
        assert ledger.load("c", [("t", "S")]).paid == {("t", "S"): {("PLN", False): Decimal(10)}}

    def test_a_voucher_code_clash_draws_a_new_code(self, ledger: Ledger) -> None:
        ledger.apply(_opened(_record("AAAAA-BBBBB")))
        applied = ledger.apply(_opened(_record("AAAAA-BBBBB", subject="T"), subject="T"))
        (_, stored) = applied.won
        assert isinstance(stored, CompensationRecord)
        assert stored.compensation.code not in (None, "AAAAA-BBBBB")
        codes = {r.compensation.code for r in ledger.compensations()}
        assert codes == {"AAAAA-BBBBB", stored.compensation.code}

    def test_load_counts_spend_and_messages_in_their_windows(self, ledger: Ledger) -> None:
        ledger.apply(_opened(_record("AAAAA-BBBBB", amount="12.50"), _entry()))
        snapshot = ledger.load("c", [], spent_since=_at(1), messages_since=_at(1))
        assert (snapshot.spent, snapshot.messages) == ({"PLN": Decimal("12.50")}, 1)
        later = ledger.load("c", [], spent_since=_at(3), messages_since=_at(3))
        assert (later.spent, later.messages) == ({}, 0)
        other = ledger.load("someone-else", [], spent_since=_at(1), messages_since=_at(1))
        assert (other.spent, other.messages) == ({}, 0)

    def test_a_decision_on_a_stale_budget_is_a_conflict(self, ledger: Ledger) -> None:
        """Outside the transaction that loaded it, ``apply`` checks the budget it relied on."""
        ledger.apply(_opened(_record("AAAAA-BBBBB")))
        stale = Decision(
            customer="c",
            items=(BreachChange(_breach("T")), _record("CCCCC-DDDDD", subject="T")),
            spent_since=_at(1),
            spent={},
        )
        assert ledger.apply(stale).conflict
        fresh = Decision(
            customer="c",
            items=stale.items,
            spent_since=_at(1),
            spent={"PLN": Decimal(10)},
        )
        assert not ledger.apply(fresh).conflict

    def test_a_decision_on_a_stale_message_count_is_a_conflict(self, ledger: Ledger) -> None:
        ledger.apply(_opened(_entry("k1")))
        stale = Decision(
            customer="c",
            items=(BreachChange(_breach("T")), _entry("k2")),
            messages_since=_at(1),
            messages=0,
        )
        assert ledger.apply(stale).conflict
        assert [e.key for e in ledger.outbox()] == ["k1"]

    def test_a_forecast_breach_is_kept_as_a_forecast(self, ledger: Ledger) -> None:
        foreseen = attrs.evolve(_breach(), forecast=True)
        ledger.apply(Decision("c", (BreachChange(foreseen),)))
        assert ledger.load("c", [("t", "S")]).breaches == {("t", "S"): foreseen}
        assert list(ledger.breaches()) == [foreseen]

    def test_a_forecast_is_confirmed_once_at_the_actual_severity(self, ledger: Ledger) -> None:
        ledger.apply(Decision("c", (BreachChange(attrs.evolve(_breach(), forecast=True)),)))
        actual = attrs.evolve(
            _breach(severity=Severity.MAJOR), updated_at=_at(3), confirmed_at=_at(3)
        )
        confirm = Decision("c", (BreachChange(actual, Severity.MINOR, confirms=True),))
        assert not ledger.apply(confirm).conflict
        assert ledger.apply(confirm).conflict, "a forecast is confirmed only once"
        found = ledger.load("c", [("t", "S")]).breaches[("t", "S")]
        assert (found.forecast, found.severity, found.confirmed_at) == (
            False,
            Severity.MAJOR,
            _at(3),
        )

    def test_only_a_forecast_can_be_confirmed(self, ledger: Ledger) -> None:
        ledger.apply(_opened())
        actual = attrs.evolve(_breach(severity=Severity.MAJOR), confirmed_at=_at(3))
        assert ledger.apply(Decision("c", (BreachChange(actual, Severity.MINOR, True),))).conflict

    def test_load_counts_actual_breaches_of_a_threshold_in_the_window(self, ledger: Ledger) -> None:
        ledger.apply(_opened(subject="A"))
        ledger.apply(_opened(subject="B"))
        foreseen = attrs.evolve(_breach("F"), forecast=True)
        ledger.apply(Decision("c", (BreachChange(foreseen),)))
        other = attrs.evolve(_breach("O"), threshold="other")
        ledger.apply(Decision("c", (BreachChange(other),)))
        assert ledger.load("c", [], repeats_since={"t": _at(1)}).repeats == {"t": 2}
        assert ledger.load("c", [], repeats_since={"t": _at(3)}).repeats == {"t": 0}
        assert ledger.load("d", [], repeats_since={"t": _at(1)}).repeats == {"t": 0}
        assert ledger.load("c", []).repeats is None

    def test_a_decision_on_a_stale_repeat_count_is_a_conflict(self, ledger: Ledger) -> None:
        """Outside the transaction that loaded it, ``apply`` checks the count it relied on."""
        ledger.apply(_opened(subject="A"))
        stale = Decision(
            customer="c",
            items=(BreachChange(_breach("B")),),
            repeats_since={"t": _at(1)},
            repeats={"t": 0},
        )
        assert ledger.apply(stale).conflict
        fresh = attrs.evolve(stale, repeats={"t": 1})
        assert not ledger.apply(fresh).conflict

    def test_suppressions_keep_their_typed_reason(self, ledger: Ledger) -> None:
        record = SuppressionRecord(
            customer="c",
            subject="S",
            threshold="t",
            severity=Severity.MINOR,
            what="message",
            reason="rate limit: 3 messages per day",
            at=_at(),
            kind=Reason.RATE_LIMIT,
        )
        ledger.apply(_opened(record))
        assert list(ledger.suppressions()) == [record]

    # ------------------------------------------------------------ transactions

    def test_a_transaction_rolls_back_everything_on_error(self, ledger: Ledger) -> None:
        def crash_mid_step() -> None:
            with ledger.transaction():
                ledger.apply(_opened(_record("AAAAA-BBBBB"), _entry()))
                raise RuntimeError("crash")

        with pytest.raises(RuntimeError, match="crash"):
            crash_mid_step()
        assert list(ledger.breaches()) == []
        assert list(ledger.compensations()) == []
        assert list(ledger.outbox()) == []

    def test_a_nested_transaction_rolls_back_only_itself(self, ledger: Ledger) -> None:
        def crash_inner() -> None:
            with ledger.transaction():
                ledger.apply(_opened(subject="B"))
                raise RuntimeError("crash")

        with ledger.transaction():
            ledger.apply(_opened(subject="A"))
            with pytest.raises(RuntimeError, match="crash"):
                crash_inner()
            ledger.apply(_opened(subject="C"))
        assert sorted(b.subject for b in ledger.breaches()) == ["A", "C"]

    def test_after_commit_callbacks_wait_for_the_outermost_commit(self, ledger: Ledger) -> None:
        calls: list[str] = []
        with ledger.transaction():
            ledger.after_commit(lambda: calls.append("outer"))
            with ledger.transaction():
                ledger.after_commit(lambda: calls.append("inner"))
            assert calls == [], "nothing runs before the outermost commit"
        assert calls == ["outer", "inner"]
        ledger.after_commit(lambda: calls.append("now"))
        assert calls[-1] == "now", "outside a transaction a callback runs at once"

    def test_after_commit_callbacks_are_dropped_with_their_rollback(self, ledger: Ledger) -> None:
        calls: list[str] = []

        def inner_fails() -> None:
            with ledger.transaction():
                ledger.after_commit(lambda: calls.append("inner"))
                raise RuntimeError("crash")

        with ledger.transaction():
            ledger.after_commit(lambda: calls.append("outer"))
            with pytest.raises(RuntimeError):
                inner_fails()
        assert calls == ["outer"]

        def outer_fails() -> None:
            with ledger.transaction():
                ledger.after_commit(lambda: calls.append("never"))
                raise RuntimeError("crash")

        with pytest.raises(RuntimeError):
            outer_fails()
        assert calls == ["outer"]

    def test_each_thread_has_its_own_transaction(self, ledger: Ledger) -> None:
        """A thread's rollback never undoes another thread's committed work."""
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(20):
                    subject = f"S{n}-{i}"
                    try:
                        with ledger.transaction():
                            ledger.apply(_opened(_entry(subject), subject=subject))
                            if i % 3 == 0:
                                raise RuntimeError("rolled back")
                    except RuntimeError:
                        pass
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        kept = {b.subject for b in ledger.breaches()}
        expected = {f"S{n}-{i}" for n in range(6) for i in range(20) if i % 3}
        assert kept == expected
        assert {e.key for e in ledger.outbox()} == expected

    def test_threads_racing_for_one_breach_open_it_once(self, ledger: Ledger) -> None:
        results: list[bool] = []
        lock = threading.Lock()
        barrier = threading.Barrier(8)

        def race() -> None:
            barrier.wait()
            applied = ledger.apply(_opened(_record(), _entry()))
            with lock:
                results.append(not applied.conflict)

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(True) == 1
        assert len(list(ledger.compensations())) == 1
        assert len(list(ledger.outbox())) == 1

    # ------------------------------------------------------------ outbox

    def test_the_outbox_keeps_what_to_say_not_words(self, ledger: Ledger) -> None:
        assert ledger.enqueue(_entry())
        assert not ledger.enqueue(_entry())
        (stored,) = ledger.outbox()
        assert stored.id is not None
        assert stored.content == _entry().content
        assert (stored.locale, stored.timezone, stored.fallbacks) == (
            "pl_PL",
            "Europe/Warsaw",
            (("email", "anna@example.pl"),),
        )
        assert stored.send_at == _at()
        assert stored.send_at.tzinfo is not None

    def test_due_entries_come_oldest_first_and_only_when_due(self, ledger: Ledger) -> None:
        ledger.enqueue(_entry("late", _at(2, 12)))
        ledger.enqueue(_entry("early", _at(2, 9)))
        ledger.enqueue(_entry("future", _at(9)))
        assert [e.key for e in ledger.due(_at(3), 10)] == ["early", "late"]
        assert [e.key for e in ledger.due(_at(3), 1)] == ["early"]
        assert ledger.due(_at(3), 10, channels={"email"}) == []

    def test_a_claim_is_exclusive_until_its_lease_runs_out(self, ledger: Ledger) -> None:
        ledger.enqueue(_entry())
        (entry,) = ledger.due(_at(3), 10)
        assert entry.id is not None
        with ledger.transaction():
            assert ledger.claim(entry.id, _at(3), _at(3, 11))
        assert not ledger.claim(entry.id, _at(3, 10), _at(3, 12))
        assert ledger.due(_at(3, 10), 10) == []
        assert [e.key for e in ledger.due(_at(3, 12), 10)] == ["k"], "the lease ran out"
        assert ledger.claim(entry.id, _at(3, 12), _at(3, 13))

    def test_outcomes_are_logged_with_the_text_sent(self, ledger: Ledger) -> None:
        ledger.enqueue(_entry())
        (entry,) = ledger.due(_at(3), 10)
        assert entry.id is not None
        ledger.claim(entry.id, _at(3), _at(3, 11))
        failed = DeliveryAttempt(entry.id, 1, "sms", "transient", _at(3), detail="503")
        ledger.retry_later(entry.id, failed, _at(3, 12))
        assert ledger.due(_at(3, 11), 10) == []
        ledger.claim(entry.id, _at(3, 12), _at(3, 13))
        moved = DeliveryAttempt(entry.id, 2, "sms", "permanent", _at(3, 12), detail="landline")
        ledger.reroute(
            entry.id,
            moved,
            channel="email",
            to="anna@example.pl",
            fallbacks=(),
            send_at=_at(3, 12),
        )
        (rerouted,) = ledger.due(_at(3, 12), 10)
        assert (rerouted.channel, rerouted.attempts, rerouted.fallbacks) == ("email", 0, ())
        ledger.claim(entry.id, _at(3, 12), _at(3, 13))
        sent = DeliveryAttempt(
            entry.id, 1, "email", "sent", _at(3, 12), provider_id="p-1", text="Dzień dobry"
        )
        ledger.settle(entry.id, sent, OutboxStatus.SENT)
        (final,) = ledger.outbox()
        assert final.status == OutboxStatus.SENT
        assert [a.status for a in ledger.attempts(entry.id)] == ["transient", "permanent", "sent"]
        assert ledger.attempts()[-1].text == "Dzień dobry"

    def test_a_message_overtaken_by_a_later_one_already_sent_is_superseded(
        self, ledger: Ledger
    ) -> None:
        ledger.enqueue(_entry("notice"))
        ledger.enqueue(_entry("resolution", _at(2, 11)))
        first, second = ledger.due(_at(3), 10)
        assert first.id is not None
        assert second.id is not None
        assert ledger.superseded([first.id, second.id]) == set()
        ledger.claim(second.id, _at(3), _at(3, 1))
        sent = DeliveryAttempt(second.id, 1, "sms", "sent", _at(3))
        ledger.settle(second.id, sent, OutboxStatus.SENT)
        assert ledger.superseded([first.id, second.id]) == {first.id}

    def test_a_dead_message_can_be_requeued(self, ledger: Ledger) -> None:
        ledger.enqueue(_entry())
        (entry,) = ledger.due(_at(3), 10)
        assert entry.id is not None
        assert not ledger.requeue(entry.id, _at(4)), "a pending message is not requeued"
        ledger.claim(entry.id, _at(3), _at(3, 11))
        dead = DeliveryAttempt(entry.id, 1, "sms", "transient", _at(3), detail="503")
        ledger.settle(entry.id, dead, OutboxStatus.DEAD)
        assert ledger.due(_at(5), 10) == []
        assert ledger.requeue(entry.id, _at(4))
        (again,) = ledger.due(_at(5), 10)
        assert (again.status, again.attempts, again.send_at) == ("pending", 0, _at(4))

    def test_the_ledger_clock_is_aware(self, ledger: Ledger) -> None:
        before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        clock = ledger.now()
        assert clock.tzinfo is not None
        assert clock > before

    # ------------------------------------------------------------ reader and erasure

    def test_events_are_recorded_once_in_order(self, ledger: Ledger) -> None:
        assert ledger.record_event("complaint", "c", "S", _at(3))
        assert ledger.record_event("complaint", "c", "R", _at(2))
        assert not ledger.record_event("complaint", "c", "S", _at(3))
        assert ledger.events("complaint") == [("c", "S", _at(3)), ("c", "R", _at(2))]

    def test_times_come_back_aware_and_equal(self, ledger: Ledger) -> None:
        ledger.apply(_opened(_record("AAAAA-BBBBB")))
        (breach,) = ledger.breaches()
        (record,) = ledger.compensations()
        assert breach.opened_at == _at()
        assert breach.opened_at.tzinfo is not None
        assert record.created_at == _at()

    def test_erasure_replaces_the_id_with_a_random_pseudonym(self, ledger: Ledger) -> None:
        anna = "c-anna"
        ledger.apply(
            _opened(_record("AAAAA-BBBBB", customer=anna), _entry(customer=anna), customer=anna)
        )
        ledger.record_event("complaint", "c-anna", "S", _at(3))
        alias = ledger.erase_customer("c-anna").pseudonym
        assert alias is not None
        assert alias.startswith("erased-")
        assert "c-anna" not in alias
        (entry,) = ledger.outbox()
        assert (entry.customer, entry.to, entry.fallbacks, entry.status) == (
            alias,
            "",
            (),
            OutboxStatus.ERASED,
        )
        assert {b.customer for b in ledger.breaches()} == {alias}
        assert {r.customer for r in ledger.compensations()} == {alias}
        assert ledger.events("complaint")[0][0] == alias
        assert ledger.due(_at(10), 10) == [], "an erased customer's message never goes out"
        digest = hashlib.sha256(b"c-anna").hexdigest()
        assert digest[:16] not in alias, "a pseudonym is drawn, not derived from the id"

    def _anna_with_everything(self, ledger: Ledger) -> None:
        """Anna: a breach, a voucher, a message sent (with its text), a
        suppression and a complaint; Piotr: a breach of his own."""
        voucher = Compensation(
            kind="voucher", amount=Money(Decimal("10"), "PLN"), code="ANNA1-CODE1", note="rain"
        )
        content = Content(purpose=Purpose.NOTICE, subject="S", compensations=(voucher,))
        entry = attrs.evolve(_entry(customer="c-anna"), content=content)
        record = attrs.evolve(_record(customer="c-anna"), compensation=voucher)
        stopped = SuppressionRecord(
            "c-anna", "S", "t", Severity.MINOR, "message", "rate limit", _at(), Reason.RATE_LIMIT
        )
        ledger.apply(_opened(record, entry, stopped, customer="c-anna"))
        ledger.apply(_opened(subject="P", customer="c-piotr"))
        ledger.record_event("complaint", "c-anna", "S", _at(3))
        (queued,) = ledger.due(_at(3), 10)
        assert queued.id is not None
        ledger.claim(queued.id, _at(3), _at(4))
        sent = DeliveryAttempt(
            queued.id, 1, "sms", "sent", _at(3), detail="to +48512345678", text="Anno, ANNA1-CODE1"
        )
        ledger.settle(queued.id, sent, OutboxStatus.SENT)

    def test_erasure_counts_what_it_changed_per_kind(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        erased = ledger.erase_customer("c-anna")
        assert erased.found
        assert not erased.before
        assert erased.counts() == {
            "breaches": 1,
            "compensations": 1,
            "messages": 1,
            "attempts": 1,
            "suppressions": 1,
            "events": 1,
            "cases": 0,
            "consent": 0,
        }

    def test_erasure_empties_texts_codes_notes_and_details(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        ledger.erase_customer("c-anna")
        (attempt,) = ledger.attempts()
        assert (attempt.text, attempt.title, attempt.detail) == (None, None, None)
        assert attempt.status == "sent", "what happened stays for metrics"
        (record,) = ledger.compensations()
        assert (record.compensation.code, record.compensation.note) == (None, None)
        assert record.compensation.amount == Money(Decimal("10"), "PLN")
        (entry,) = ledger.outbox()
        assert entry.content is not None
        assert [c.code for c in entry.content.compensations] == [None]
        assert entry.status == OutboxStatus.SENT, "a message sent stays sent"

    def test_a_send_under_way_when_the_customer_is_erased_leaves_no_trace(
        self, ledger: Ledger
    ) -> None:
        ledger.apply(_opened(_entry(customer="c-anna"), customer="c-anna"))
        (entry,) = ledger.due(_at(3), 10)
        assert entry.id is not None
        assert ledger.claim(entry.id, _at(3), _at(4))
        ledger.erase_customer("c-anna")
        failed = DeliveryAttempt(entry.id, 1, "sms", "transient", _at(3), detail="+48512345678")
        ledger.reroute(
            entry.id, failed, channel="email", to="anna@example.pl", fallbacks=(), send_at=_at(3)
        )
        sent = DeliveryAttempt(entry.id, 2, "email", "sent", _at(3), text="Dzień dobry, Anno")
        ledger.settle(entry.id, sent, OutboxStatus.SENT)
        (after,) = ledger.outbox()
        assert (after.status, after.to, after.channel) == (OutboxStatus.ERASED, "", "sms")
        assert [(a.status, a.text, a.detail) for a in ledger.attempts()] == [
            ("transient", None, None),
            ("sent", None, None),
        ]

    def test_an_erasure_rolled_back_leaves_everything_as_it_was(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)

        def everything() -> object:
            return (
                list(ledger.breaches()),
                list(ledger.compensations()),
                list(ledger.outbox()),
                ledger.attempts(),
                list(ledger.suppressions()),
                list(ledger.events("complaint")),
            )

        def erase_then_fail() -> None:
            with ledger.transaction():
                ledger.erase_customer("c-anna")
                raise RuntimeError("rolled back")

        before = everything()
        with pytest.raises(RuntimeError):
            erase_then_fail()
        assert everything() == before
        assert not ledger.is_erased("c-anna", _at(1))
        assert ledger.erase_customer("c-anna").found

    def test_erasure_leaves_other_customers_alone(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        ledger.erase_customer("c-anna")
        assert "c-piotr" in {b.customer for b in ledger.breaches()}
        assert ledger.erase_customer("c-piotr").breaches == 1

    def test_erasing_an_unknown_id_finds_nothing_and_leaves_no_tombstone(
        self, ledger: Ledger
    ) -> None:
        self._anna_with_everything(ledger)
        erased = ledger.erase_customer("c-nobody")
        assert not erased.found
        assert erased.pseudonym is None
        assert not ledger.is_erased("c-nobody", _at(1))
        assert {b.customer for b in ledger.breaches()} == {"c-anna", "c-piotr"}

    def test_an_erasure_is_remembered_as_of_its_time(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        ledger.erase_customer("c-anna", at=_at(5))
        assert ledger.is_erased("c-anna", _at(3)), "an event from before the erasure"
        assert ledger.is_erased("c-anna", _at(5))
        assert not ledger.is_erased("c-anna", _at(6)), "a returning customer's new event"
        assert not ledger.is_erased("c-piotr", _at(3))

    def test_erasing_again_says_it_was_erased_before(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        ledger.erase_customer("c-anna", at=_at(5))
        again = ledger.erase_customer("c-anna", at=_at(4))
        assert (again.found, again.before) == (False, True)
        assert ledger.is_erased("c-anna", _at(5)), "a later erasure time is kept"

    def test_inactive_customers_are_those_last_seen_before_the_cutoff(self, ledger: Ledger) -> None:
        self._anna_with_everything(ledger)
        ledger.apply(_opened(subject="Q", customer="c-ola"))
        ledger.record_event("outcome", "c-ola", "repurchase", _at(20))
        assert ledger.inactive_customers(_at(2)) == []
        assert ledger.inactive_customers(_at(4)) == ["c-anna", "c-piotr"]
        ledger.erase_customer("c-piotr")
        assert ledger.inactive_customers(_at(4)) == ["c-anna"], "pseudonyms are not listed"
        assert ledger.inactive_customers(_at(21)) == ["c-anna", "c-ola"]

    # ------------------------------------------------------------ cases

    def test_a_case_is_opened_once_with_its_event(self, ledger: Ledger) -> None:
        assert ledger.open_case(_case(), "pxr")
        assert not ledger.open_case(_case(), "pxr")
        assert ledger.case("K-1") == _case()
        assert ledger.case("K-2") is None
        assert ledger.case_events("K-1") == [CaseEvent("K-1", "opened", "pxr", _at(), "complaint")]

    def test_a_case_moves_only_from_the_expected_states(self, ledger: Ledger) -> None:
        ledger.open_case(_case(), "pxr")
        offer = (Money(Decimal("40.00"), "PLN"), "voucher", "anna")
        made = CaseEvent("K-1", "offered", "anna", _at(3), "agent")
        assert ledger.move_case("K-1", {CaseStatus.OPEN}, CaseStatus.OFFERED, made, offer=offer)
        again = CaseEvent("K-1", "offered", "ben", _at(4))
        assert not ledger.move_case("K-1", {CaseStatus.OPEN}, CaseStatus.OFFERED, again)
        assert not ledger.move_case("K-9", {CaseStatus.OPEN}, CaseStatus.OFFERED, again)
        case = ledger.case("K-1")
        assert case is not None
        assert (case.status, case.offer, case.offer_kind, case.offered_by, case.updated_at) == (
            CaseStatus.OFFERED,
            Money(Decimal("40.00"), "PLN"),
            "voucher",
            "anna",
            _at(3),
        )
        assert [e.kind for e in ledger.case_events("K-1")] == ["opened", "offered"]

    def test_threads_racing_to_move_a_case_move_it_once(self, ledger: Ledger) -> None:
        ledger.open_case(_case(), "pxr")
        wins: list[bool] = []
        start = threading.Barrier(6)

        def race(n: int) -> None:
            start.wait()
            with ledger.transaction():
                wins.append(
                    ledger.move_case(
                        "K-1",
                        {CaseStatus.OPEN},
                        CaseStatus.CLOSED,
                        CaseEvent("K-1", "closed", f"agent-{n}", _at(3)),
                    )
                )

        threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * 5 + [True]
        assert [e.kind for e in ledger.case_events("K-1")] == ["opened", "closed"]

    def test_a_note_is_kept_once_per_case_kind_and_note(self, ledger: Ledger) -> None:
        ledger.open_case(_case(), "pxr")
        assert ledger.note_case(CaseEvent("K-1", "deadline near", "pxr", _at(13)))
        assert not ledger.note_case(CaseEvent("K-1", "deadline near", "pxr", _at(14)))
        assert ledger.note_case(CaseEvent("K-1", "handed over", "pxr", _at(14), "rejected"))
        assert not ledger.note_case(CaseEvent("K-1", "handed over", "pxr", _at(15), "rejected"))
        assert ledger.note_case(CaseEvent("K-1", "handed over", "pxr", _at(15), "deadline"))
        kinds = [(e.kind, e.at) for e in ledger.case_events()]
        assert kinds == [
            ("opened", _at()),
            ("deadline near", _at(13)),
            ("handed over", _at(14)),
            ("handed over", _at(15)),
        ]

    def test_a_rolled_back_case_leaves_nothing(self, ledger: Ledger) -> None:
        def crash() -> None:
            with ledger.transaction():
                ledger.open_case(_case(), "pxr")
                ledger.note_case(CaseEvent("K-1", "deadline near", "pxr", _at(13)))
                raise RuntimeError("crash")

        with pytest.raises(RuntimeError):
            crash()
        assert ledger.case("K-1") is None
        assert ledger.case_events() == []
        assert ledger.open_case(_case(), "pxr")
        assert ledger.note_case(CaseEvent("K-1", "deadline near", "pxr", _at(13))), "the note too"

    def test_cases_come_by_due_time_and_filter_by_status(self, ledger: Ledger) -> None:
        ledger.open_case(_case("K-late", due_day=20), "pxr")
        ledger.open_case(_case("K-soon", due_day=5), "pxr")
        ledger.move_case(
            "K-late",
            {CaseStatus.OPEN},
            CaseStatus.CLOSED,
            CaseEvent("K-late", "closed", "a", _at(3)),
        )
        assert [c.id for c in ledger.cases()] == ["K-soon", "K-late"]
        assert [c.id for c in ledger.cases({CaseStatus.OPEN})] == ["K-soon"]
        assert ledger.cases(set()) == []
        assert [c.id for c in ledger.cases(due_by=_at(5))] == ["K-soon"]
        assert [c.id for c in ledger.cases(due_by=_at(4, 23))] == []

    def test_erasure_replaces_the_id_in_cases_and_draws_a_new_case_id(self, ledger: Ledger) -> None:
        """A case id is derived from the customer id: erasure must not keep it."""
        ledger.open_case(_case(customer="c-anna"), "pxr")
        ledger.note_case(CaseEvent("K-1", "deadline near", "pxr", _at(13)))
        alias = ledger.erase_customer("c-anna").pseudonym
        assert ledger.case("K-1") is None
        (case,) = ledger.cases()
        assert case.customer == alias
        assert case.id.startswith("K-")
        assert [e.case for e in ledger.case_events()] == [case.id, case.id]
        assert not ledger.note_case(CaseEvent(case.id, "deadline near", "pxr", _at(14)))

    def test_consent_keeps_the_latest_word_per_channel(self, ledger: Ledger) -> None:
        refused = _consent(ConsentState.REFUSED, _at(3), "+48512345678")
        assert ledger.record_consent(_consent(ConsentState.ALLOWED, _at(2)))
        assert ledger.record_consent(refused)
        assert not ledger.record_consent(_consent(ConsentState.ALLOWED, _at(2, 11)))
        assert ledger.consent_of("c") == {"sms": refused}
        assert ledger.consent_of("someone else") == {}

    def test_a_refusal_never_replaces_an_opt_out(self, ledger: Ledger) -> None:
        opted_out = _consent(ConsentState.OPTED_OUT, _at(2))
        ledger.record_consent(opted_out)
        assert not ledger.record_consent(_consent(ConsentState.REFUSED, _at(3), "+48512345678"))
        assert ledger.record_consent(_consent(ConsentState.ALLOWED, _at(4)))
        assert ledger.consent_of("c")["sms"].state is ConsentState.ALLOWED

    def test_load_brings_the_customers_consent(self, ledger: Ledger) -> None:
        record = _consent(ConsentState.OPTED_OUT, _at(2))
        ledger.record_consent(record)
        with ledger.transaction():
            assert ledger.load("c", []).consent == {"sms": record}

    def test_consent_rolls_back_with_its_transaction(self, ledger: Ledger) -> None:
        def opt_out_then_fail() -> None:
            with ledger.transaction():
                ledger.record_consent(_consent(ConsentState.OPTED_OUT, _at(2)))
                raise RuntimeError

        with pytest.raises(RuntimeError):
            opt_out_then_fail()
        assert ledger.consents() == []

    def test_erasure_forgets_refused_addresses(self, ledger: Ledger) -> None:
        ledger.record_consent(_consent(ConsentState.REFUSED, _at(2), "+48512345678", "c-anna"))
        alias = ledger.erase_customer("c-anna").pseudonym
        (record,) = ledger.consents()
        assert (record.customer, record.address, record.state) == (
            alias,
            "",
            ConsentState.REFUSED,
        )
        assert ledger.consent_of("c-anna") == {}
