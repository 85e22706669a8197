"""The ledger contract, run against both implementations."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from pxr import LedgerError, Money, Severity, SQLiteLedger
from pxr.ledger import CodeTaken, CompensationRecord, Ledger, OutboxEntry
from pxr.model import Breach, Compensation, Message

from .conftest import at


def breach(subject: str = "S", severity: Severity = Severity.MINOR) -> Breach:
    return Breach(
        threshold="t",
        subject=subject,
        customer="c",
        severity=severity,
        opened_at=at(),
        updated_at=at(),
    )


def record(code: str | None = None, severity: Severity = Severity.MINOR) -> CompensationRecord:
    return CompensationRecord(
        threshold="t",
        subject="S",
        severity=severity,
        customer="c",
        compensation=Compensation(kind="voucher", amount=Money(Decimal(10), "PLN"), code=code),
        created_at=at(),
    )


def entry(key: str = "k", when: dt.datetime | None = None) -> OutboxEntry:
    when = when or at()
    return OutboxEntry(
        key=key,
        customer="c",
        subject="S",
        threshold="t",
        severity=Severity.MINOR,
        created_at=when,
        message=Message(
            channel="sms", to="+48512345678", locale="pl", text="x", send_at=when, purpose="notice"
        ),
    )


def test_insert_breach_once(ledger: Ledger) -> None:
    assert ledger.insert_breach(breach())
    assert not ledger.insert_breach(breach(severity=Severity.MAJOR))
    assert ledger.get_breach("t", "S") == breach()


def test_escalate_only_upwards_and_only_while_open(ledger: Ledger) -> None:
    ledger.insert_breach(breach())
    assert not ledger.escalate_breach("t", "S", Severity.MINOR, at(3))
    assert ledger.escalate_breach("t", "S", Severity.MAJOR, at(3))
    found = ledger.get_breach("t", "S")
    assert found is not None
    assert found.severity is Severity.MAJOR
    assert found.updated_at == at(3)
    assert [b.subject for b in ledger.resolve_breaches("S", None, at(4))] == ["S"]
    assert not ledger.escalate_breach("t", "S", Severity.CRITICAL, at(5))
    assert ledger.resolve_breaches("S", None, at(6)) == []


def test_compensation_once_per_tier_and_kind(ledger: Ledger) -> None:
    assert ledger.insert_compensation(record("AAAAA-BBBBB"))
    assert not ledger.insert_compensation(record("CCCCC-DDDDD"))
    assert ledger.paid_for_breach("t", "S") == {("PLN", False): Decimal(10)}


def test_voucher_codes_are_unique_in_the_ledger(ledger: Ledger) -> None:
    ledger.insert_compensation(record("AAAAA-BBBBB"))
    with pytest.raises(CodeTaken):
        ledger.insert_compensation(record("AAAAA-BBBBB", Severity.MAJOR))


def test_outbox_key_is_unique(ledger: Ledger) -> None:
    assert ledger.enqueue(entry())
    assert not ledger.enqueue(entry())
    assert [e.key for e in ledger.outbox()] == ["k"]
    assert ledger.messages_since("c", at(1)) == 1
    assert ledger.messages_since("c", at(3)) == 0


def test_transaction_rolls_back_everything_on_error(ledger: Ledger) -> None:
    def crash_mid_step() -> None:
        with ledger.transaction():
            ledger.insert_breach(breach())
            ledger.insert_compensation(record("AAAAA-BBBBB"))
            ledger.enqueue(entry())
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        crash_mid_step()
    assert list(ledger.breaches()) == []
    assert list(ledger.compensations()) == []
    assert list(ledger.outbox()) == []


def test_nested_transaction_rolls_back_only_itself(ledger: Ledger) -> None:
    def crash_inner() -> None:
        with ledger.transaction():
            ledger.insert_breach(breach("B"))
            raise RuntimeError("crash")

    with ledger.transaction():
        ledger.insert_breach(breach("A"))
        with pytest.raises(RuntimeError, match="crash"):
            crash_inner()
        ledger.insert_breach(breach("C"))
    assert [b.subject for b in ledger.breaches()] == ["A", "C"]


def test_times_round_trip_as_aware_datetimes(ledger: Ledger) -> None:
    ledger.insert_breach(breach())
    found = ledger.get_breach("t", "S")
    assert found is not None
    assert found.opened_at == at()
    assert found.opened_at.tzinfo is not None


def test_events_are_recorded_once(ledger: Ledger) -> None:
    assert ledger.record_event("complaint", "c", "S", at())
    assert not ledger.record_event("complaint", "c", "S", at())
    assert ledger.events("complaint") == [("c", "S", at())]


def test_sqlite_ledger_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    with first.transaction():
        first.insert_breach(breach())
    first.close()
    second = SQLiteLedger(path)
    assert second.get_breach("t", "S") == breach()
    assert not second.insert_breach(breach())
    second.close()


def test_sqlite_ledger_uses_wal(tmp_path: Path) -> None:
    SQLiteLedger(tmp_path / "l.db").close()
    with sqlite3.connect(tmp_path / "l.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_refuses_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a database" * 100)
    with pytest.raises(LedgerError, match="not a usable pxr ledger"):
        SQLiteLedger(path)


def test_sqlite_refuses_another_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="schema 99"):
        SQLiteLedger(path)


def test_two_connections_to_one_file_never_double_insert(tmp_path: Path) -> None:
    """What a second process sees: the database, not the first one's dictionaries."""
    path = tmp_path / "shared.db"
    one, two = SQLiteLedger(path), SQLiteLedger(path)
    with one.transaction():
        assert one.insert_breach(breach())
    with two.transaction():
        assert not two.insert_breach(breach())
        assert two.escalate_breach("t", "S", Severity.MAJOR, at(3))
    with one.transaction():
        assert not one.escalate_breach("t", "S", Severity.MAJOR, at(3))
    one.close()
    two.close()


def test_erasing_a_customer_keeps_counts_and_drops_personal_data(ledger: Ledger) -> None:
    from pxr import Recovery  # noqa: PLC0415
    from pxr.ledger import pseudonym  # noqa: PLC0415
    from pxr.metrics import compute_metrics  # noqa: PLC0415

    from .conftest import ANNA, PARCEL, policy_from  # noqa: PLC0415
    from .test_engine import late  # noqa: PLC0415

    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late(26))
    recovery.complaint("c-anna", "PL-1", at(3))
    before = compute_metrics(ledger)
    alias = ledger.erase_customer("c-anna")
    assert alias == pseudonym("c-anna")
    assert alias.startswith("erased-")
    (entry,) = ledger.outbox()
    assert (entry.customer, entry.message.to, entry.message.text, entry.status) == (
        alias,
        "",
        "",
        "erased",
    )
    assert entry.fallbacks == ()
    assert {b.customer for b in ledger.breaches()} == {alias}
    assert {r.customer for r in ledger.compensations()} == {alias}
    assert ledger.events("complaint")[0][0] == alias
    assert ledger.due(at(10), 10) == []  # never sent
    after = compute_metrics(ledger)
    assert after.breaches == before.breaches
    assert after.cost_by_currency == before.cost_by_currency
    assert after.first_contact == before.first_contact
