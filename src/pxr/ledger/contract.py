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

import pytest

from pxr.consent import ConsentRecord, ConsentState
from pxr.ledger import (
    BreachChange,
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
        alias = ledger.erase_customer("c-anna")
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
        alias = ledger.erase_customer("c-anna")
        (record,) = ledger.consents()
        assert (record.customer, record.address, record.state) == (
            alias,
            "",
            ConsentState.REFUSED,
        )
        assert ledger.consent_of("c-anna") == {}
