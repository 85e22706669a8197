"""The ledger contract on every shipped ledger, and what only SQLite files do."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pxr import LedgerError, MemoryLedger, Severity, SQLiteLedger
from pxr.ledger import BreachChange, Decision, Ledger
from pxr.ledger.sqlite import SCHEMA_VERSION
from pxr.model import Breach
from pxr.testing.contracts import LedgerContract

from .conftest import at

FIXTURES = Path(__file__).parent / "fixtures"


def breach(subject: str = "S", severity: Severity = Severity.MINOR) -> Breach:
    return Breach(
        threshold="t",
        subject=subject,
        customer="c",
        severity=severity,
        opened_at=at(),
        updated_at=at(),
    )


def opened(subject: str = "S") -> Decision:
    return Decision("c", (BreachChange(breach(subject)),))


class TestMemoryLedger(LedgerContract):
    """The public contract, on the in-memory ledger."""

    @pytest.fixture
    def ledger(self) -> Iterator[Ledger]:
        store = MemoryLedger()
        yield store
        store.close()


class TestSQLiteLedger(LedgerContract):
    """The public contract, on a SQLite file."""

    @pytest.fixture
    def ledger(self, tmp_path: Path) -> Iterator[Ledger]:
        store = SQLiteLedger(tmp_path / "ledger.db")
        yield store
        store.close()


class TestSQLiteInMemory(LedgerContract):
    """The public contract, on a throwaway SQLite database shared by threads."""

    @pytest.fixture
    def ledger(self) -> Iterator[Ledger]:
        store = SQLiteLedger(":memory:")
        yield store
        store.close()


def test_sqlite_ledger_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    first.apply(opened())
    first.close()
    second = SQLiteLedger(path)
    assert second.load("c", [("t", "S")]).breaches == {("t", "S"): breach()}
    assert second.apply(opened()).conflict
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
    with pytest.raises(LedgerError, match="schema 99, written by a newer pxr"):
        SQLiteLedger(path)


def test_two_connections_to_one_file_never_double_insert(tmp_path: Path) -> None:
    """What a second process sees: the database, not the first one's dictionaries."""
    path = tmp_path / "shared.db"
    one, two = SQLiteLedger(path), SQLiteLedger(path)
    assert not one.apply(opened()).conflict
    assert two.apply(opened()).conflict
    raised = Decision("c", (BreachChange(breach(severity=Severity.MAJOR), Severity.MINOR),))
    assert not two.apply(raised).conflict
    assert one.apply(raised).conflict
    one.close()
    two.close()


def test_erasing_a_customer_keeps_counts_and_drops_personal_data(ledger: Ledger) -> None:
    from pxr import Recovery  # noqa: PLC0415
    from pxr.metrics import compute_metrics  # noqa: PLC0415

    from .conftest import ANNA, PARCEL, policy_from  # noqa: PLC0415
    from .test_engine import late  # noqa: PLC0415

    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late(26))
    recovery.complaint("c-anna", "PL-1", at(3))
    before = compute_metrics(ledger)
    alias = ledger.erase_customer("c-anna").pseudonym
    assert alias is not None
    assert alias.startswith("erased-")
    (entry,) = ledger.outbox()
    assert (entry.customer, entry.to, entry.status) == (alias, "", "erased")
    assert entry.fallbacks == ()
    after = compute_metrics(ledger)
    assert after.breaches == before.breaches
    assert after.cost_by_currency == before.cost_by_currency
    assert after.first_contact == before.first_contact


def test_a_ledger_written_by_pxr_0_1_is_migrated_when_opened(tmp_path: Path) -> None:
    """tests/fixtures/ledger-v1.db was written by pxr 0.1 from examples/parcel."""
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    with sqlite3.connect(path) as db:
        old_texts = [row[0] for row in db.execute("SELECT body FROM outbox ORDER BY id")]
        old_breaches = db.execute("SELECT COUNT(*) FROM breaches").fetchone()[0]
    ledger = SQLiteLedger(path)
    try:
        entries = list(ledger.outbox())
        assert [e.rendered.text for e in entries if e.rendered] == old_texts
        assert all(e.content is None for e in entries)
        assert len(list(ledger.breaches())) == old_breaches == 6
        # The migrated ledger takes new work.
        assert not ledger.apply(opened(subject="NEW")).conflict
    finally:
        ledger.close()
    with sqlite3.connect(path) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)
    SQLiteLedger(path).close()  # opening it again changes nothing


def test_a_v1_message_still_goes_out_with_its_words(tmp_path: Path) -> None:
    from pxr import Recovery  # noqa: PLC0415
    from pxr.testing import RecordingNotifier  # noqa: PLC0415

    from .conftest import PARCEL, policy_from  # noqa: PLC0415

    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    ledger = SQLiteLedger(path)
    sms = RecordingNotifier("sms")
    recovery = Recovery(policy_from(PARCEL), ledger, notifiers={"sms": sms})
    with sqlite3.connect(path) as db:
        texts = {row[0] for row in db.execute("SELECT body FROM outbox WHERE channel = 'sms'")}
    report = recovery.dispatch_pending(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    ledger.close()
    assert report.sent >= 1
    assert sms.sent
    assert all(any(t in m.text for t in texts) for m in sms.sent)
