"""Erasure that holds up to an audit: no byte left, remembered, reported, on a schedule.

The byte-level tests run the parcel example for real (a SQLite file, the
events file, a dispatch whose texts are kept on the attempts), erase with
other connections open, and search the raw bytes of the database file and
its WAL for every personal value of the customers erased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxr import MemoryLedger, Recovery, SQLiteLedger
from pxr.cli import main
from pxr.errors import EventError, ValidationError
from pxr.events import read_events
from pxr.ledger import (
    ERASURE_KEY_ENV,
    BreachChange,
    Decision,
    Ledger,
    OutboxEntry,
    Snapshot,
    SuppressionRecord,
    is_pseudonym,
    tombstone,
)
from pxr.metrics import compute_metrics
from pxr.model import Breach, Content, Message, Purpose, Severity, Signal
from pxr.policy import load_policy
from pxr.testing import RecordingNotifier

from .conftest import ANNA, EXAMPLES, policy_from
from .conftest import PARCEL as CONFTEST_PARCEL

PARCEL = EXAMPLES / "parcel"
#: After every event of the example, so everything due has gone out.
LATER = dt.datetime(2026, 4, 30, tzinfo=dt.UTC)
#: What the example's customers file says of the two erased (as typed, and as stored).
PERSONAL = {
    "c-anna": ["c-anna", "Anna", "+48512345678", "512 345 678", "anna@example.pl"],
    "c-ivan": ["c-ivan", "Иван", "+359888123456", "0888 123 456", "ivan@example.bg"],
}


@pytest.fixture(autouse=True)
def _no_host_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ERASURE_KEY_ENV, raising=False)


def run_parcel(ledger: SQLiteLedger) -> list[Message]:
    """The parcel example through Recovery, then a dispatch; the messages sent."""
    notifiers = {name: RecordingNotifier(name) for name in ("sms", "email", "messenger")}
    recovery = Recovery(load_policy(PARCEL / "policy.toml"), ledger, notifiers=notifiers)
    replay(recovery)
    report = recovery.dispatch_pending(LATER)
    assert report.sent, "the example sends messages"
    return [m for n in notifiers.values() for m in n.sent]


def replay(recovery: Recovery) -> None:
    for _, event in read_events(PARCEL / "events.jsonl"):
        assert not isinstance(event, EventError)
        recovery.handle(event)


def personal_values(customer: str, sent: list[Message], ledger: SQLiteLedger) -> set[str]:
    """Everything that names ``customer``: ids, addresses, name, voucher codes,
    and every 16-character piece of a text sent to them that no text to
    anyone else has."""
    mine = [m for m in sent if m.to in PERSONAL[customer]]
    assert mine, f"the example sends {customer} something"
    others = "\n".join(f"{m.title or ''}\n{m.text}" for m in sent if m not in mine)
    values = set(PERSONAL[customer])
    values |= {
        r.compensation.code
        for r in ledger.compensations()
        if r.customer == customer and r.compensation.code
    }
    for message in mine:
        for text in (message.text, message.title or ""):
            values.add(text)
            pieces = {text[i : i + 16] for i in range(0, max(len(text) - 15, 0), 4)}
            values |= {p for p in pieces if p not in others}
    return {v for v in values if v}


def found_in(path: Path, values: set[str]) -> dict[str, list[str]]:
    """Which values are in the raw bytes of the database and its WAL, in UTF-8."""
    found: dict[str, list[str]] = {}
    for file in (path, Path(f"{path}-wal")):
        data = file.read_bytes() if file.exists() else b""
        hits = sorted(v for v in values if v.encode("utf-8") in data)
        if hits:
            found[file.name] = hits
    return found


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Path, SQLiteLedger, list[Message]]]:
    """The parcel example run into a SQLite file; the application's ledger stays open."""
    path = tmp_path / "pxr.db"
    ledger = SQLiteLedger(path)
    sent = run_parcel(ledger)
    yield path, ledger, sent
    ledger.close()


@pytest.mark.parametrize("others_open", [False, True], ids=["alone", "others-open"])
def test_no_byte_of_an_erased_customer_is_left_in_the_file_or_its_wal(
    store: tuple[Path, SQLiteLedger, list[Message]], others_open: bool
) -> None:
    path, app, sent = store
    values = {c: personal_values(c, sent, app) for c in PERSONAL}
    assert all(found_in(path, v) for v in values.values()), "the search can find them"
    reader = sqlite3.connect(path)
    if others_open:
        # The application's ledger has been writing; a plain reader has read.
        assert reader.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] > 0
        assert len(list(app.outbox())) > 0
    else:
        app.close()
        reader.close()
    eraser = SQLiteLedger(path)
    erased = [eraser.erase_customer(c) for c in PERSONAL]
    assert all(e.found and e.scrubbed for e in erased)
    try:
        for customer, personal in values.items():
            assert found_in(path, personal) == {}, customer
    finally:
        eraser.close()
        reader.close()
    for customer, personal in values.items():
        assert found_in(path, personal) == {}, f"{customer}, once every connection closed"


def test_the_other_customers_are_still_in_the_file(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    """The search is not blind: what was not erased is still found."""
    path, app, _ = store
    app.erase_customer("c-anna")
    assert found_in(path, {"c-tom", "tom@example.co.uk"}) != {}


def test_an_erasure_inside_the_hosts_transaction_scrubs_after_the_commit(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    path, app, sent = store
    values = personal_values("c-anna", sent, app)
    with app.transaction():
        erased = app.erase_customer("c-anna")
        assert not erased.scrubbed, "not yet: the pages are still the transaction's"
    assert Path(f"{path}-wal").stat().st_size == 0
    assert found_in(path, values) == {}


def test_a_reader_in_the_middle_of_a_read_is_reported_not_hidden(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    path, app, sent = store
    values = personal_values("c-anna", sent, app)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM outbox").fetchone()
    eraser = SQLiteLedger(path, busy_timeout=0.05)
    try:
        erased = eraser.erase_customer("c-anna")
        assert erased.found
        assert not erased.scrubbed, "the reader's snapshot still needs the old pages"
        reader.execute("COMMIT")
        again = eraser.erase_customer("c-anna")
        assert (again.found, again.before, again.scrubbed) == (False, True, True)
        assert found_in(path, values) == {}
    finally:
        reader.close()
        eraser.close()


# ---------------------------------------------------------------- remembered


def test_replaying_the_events_after_an_erasure_brings_nobody_back(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    _, app, _ = store
    app.erase_customer("c-anna")
    app.erase_customer("c-ivan")
    before = compute_metrics(app)
    events = {kind: list(app.events(kind)) for kind in ("complaint", "contacted", "outcome")}
    replay(Recovery(load_policy(PARCEL / "policy.toml"), app))
    assert compute_metrics(app) == before, "no event counted twice"
    assert {k: list(app.events(k)) for k in events} == events
    named = {b.customer for b in app.breaches()} | {e.customer for e in app.outbox()}
    named |= {r.customer for r in app.compensations()} | {s.customer for s in app.suppressions()}
    assert not named & set(PERSONAL)


def test_a_replayed_signal_complaint_contact_and_outcome_are_refused(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    _, app, _ = store
    recovery = Recovery(load_policy(PARCEL / "policy.toml"), app)
    app.erase_customer("c-anna", at=LATER)
    old = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    signal = Signal("c-anna", "PL-9", "delivery_delay", 200, old, context={"order_total": "9"})
    assert not recovery.observe(signal), "refused before the customer is even looked up"
    assert not recovery.complaint("c-anna", "PL-9", old)
    assert recovery.contacted("c-anna", "PL-9", old) is False
    assert recovery.outcome("c-anna", "churn", old) is False


def test_a_returning_customer_is_served_again_after_the_erasure(
    store: tuple[Path, SQLiteLedger, list[Message]],
) -> None:
    _, app, _ = store
    recovery = Recovery(load_policy(PARCEL / "policy.toml"), app)
    replay(recovery)  # the customers, in the directory again
    app.erase_customer("c-anna", at=LATER)
    new = LATER + dt.timedelta(days=30)
    assert recovery.outcome("c-anna", "repurchase", new) is True


def test_a_tombstone_is_a_keyed_hash_never_a_bare_one(tmp_path: Path) -> None:
    key = b"k" * 32
    with_key = SQLiteLedger(tmp_path / "keyed.db", erasure_key=key)
    without = SQLiteLedger(tmp_path / "own.db")
    try:
        for ledger in (with_key, without):
            ledger.record_event("complaint", "c-anna", "S", LATER)
            ledger.erase_customer("c-anna")
    finally:
        with_key.close()
        without.close()
    keyed = sqlite3.connect(tmp_path / "keyed.db")
    own = sqlite3.connect(tmp_path / "own.db")
    try:
        (digest,) = keyed.execute("SELECT digest FROM tombstones").fetchone()
        assert digest == hmac.new(key, b"c-anna", hashlib.sha256).hexdigest()
        assert digest != hashlib.sha256(b"c-anna").hexdigest()
        no_key = "SELECT value FROM meta WHERE key = 'erasure_key'"
        assert keyed.execute(no_key).fetchone() is None, "the host's key stays with the host"
        (own_key,) = own.execute(no_key).fetchone()
        (own_digest,) = own.execute("SELECT digest FROM tombstones").fetchone()
        assert own_digest == tombstone(bytes.fromhex(own_key), "c-anna") != digest
    finally:
        keyed.close()
        own.close()


def test_the_hosts_key_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ERASURE_KEY_ENV, "a secret of the host, long enough")
    ledger = SQLiteLedger(tmp_path / "env.db")
    try:
        ledger.record_event("complaint", "c-anna", "S", LATER)
        ledger.erase_customer("c-anna")
        (digest,) = ledger._rows("SELECT digest FROM tombstones")[0]
    finally:
        ledger.close()
    assert digest == tombstone(b"a secret of the host, long enough", "c-anna")


def test_a_short_erasure_key_is_refused(tmp_path: Path) -> None:
    from pxr.errors import LedgerError  # noqa: PLC0415

    with pytest.raises(LedgerError, match="16 bytes"):
        SQLiteLedger(tmp_path / "short.db", erasure_key=b"short")


def test_a_ledger_of_schema_1_gets_the_tombstones_table(tmp_path: Path) -> None:
    import shutil  # noqa: PLC0415

    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "fixtures" / "ledger-v1.db", path)
    ledger = SQLiteLedger(path)
    try:
        erased = ledger.erase_customer("c-anna")
        assert erased.found
        assert ledger.is_erased("c-anna", LATER - dt.timedelta(days=1))
    finally:
        ledger.close()


# ---------------------------------------------------------------- the command


def pxr(*argv: str) -> tuple[int, str, str]:
    """Run ``pxr`` in this process; its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    import contextlib  # noqa: PLC0415

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def closed_store(store: tuple[Path, SQLiteLedger, list[Message]]) -> Path:
    path, app, _ = store
    app.close()
    return path


def test_erasing_an_unknown_id_says_so_and_fails(closed_store: Path) -> None:
    status, out, err = pxr("erase", "c-nobody", "--store", str(closed_store))
    assert status == 1
    assert out == ""
    assert "no record of that customer; nothing erased" in err
    assert "c-nobody" not in err, "the id is not echoed"


def test_erasing_reports_what_it_removed(closed_store: Path) -> None:
    status, out, _ = pxr("erase", "c-anna", "--store", str(closed_store))
    assert status == 0
    assert out.startswith("erased 1 breaches, 2 compensations, ")
    assert "c-anna" not in out


def test_erasing_twice_says_it_was_erased_before(closed_store: Path) -> None:
    pxr("erase", "c-anna", "--store", str(closed_store))
    status, out, _ = pxr("erase", "c-anna", "--store", str(closed_store))
    assert status == 0
    assert out.startswith("erased before;")


def test_erase_json_is_an_audit_record_without_the_id(closed_store: Path) -> None:
    status, out, _ = pxr("erase", "c-ivan", "--store", str(closed_store), "--json")
    assert status == 0
    record = json.loads(out)
    assert record["erased"] is True
    assert is_pseudonym(record["pseudonym"])
    assert record["events"] == 1, "Ivan's complaint"
    assert record["scrubbed"] is True
    assert "c-ivan" not in out


def test_erase_json_for_an_unknown_id(closed_store: Path) -> None:
    status, out, _ = pxr("erase", "c-nobody", "--store", str(closed_store), "--json")
    assert status == 1
    assert json.loads(out)["erased"] is False


def test_erase_older_than_erases_everyone_inactive(closed_store: Path) -> None:
    status, out, _ = pxr("erase", "--older-than", "30d", "--store", str(closed_store))
    assert status == 0
    assert "erased 5 customers with no activity since" in out
    ledger = SQLiteLedger(closed_store)
    try:
        assert all(is_pseudonym(b.customer) for b in ledger.breaches())
        assert ledger.inactive_customers(dt.datetime.now(dt.UTC)) == []
    finally:
        ledger.close()


def test_erase_older_than_keeps_the_recently_active(closed_store: Path) -> None:
    """Everything in the example is from 2026; ninety-eight years keeps them all."""
    status, out, _ = pxr("erase", "--older-than", "36000d", "--store", str(closed_store))
    assert status == 0
    assert "erased 0 customers" in out


def test_erase_applies_the_policys_retention(closed_store: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    text = (PARCEL / "policy.toml").read_text(encoding="utf-8")
    policy.write_text(text.replace("[recovery]\n", '[recovery]\nretention = "30d"\n', 1))
    status, out, _ = pxr("erase", "--policy", str(policy), "--store", str(closed_store), "--json")
    assert status == 0
    assert len(out.splitlines()) == 5


def test_erase_by_policy_needs_its_retention(closed_store: Path) -> None:
    policy = str(PARCEL / "policy.toml")
    status, _, err = pxr("erase", "--policy", policy, "--store", str(closed_store))
    assert status == 2
    assert "[recovery] retention is not set" in err


def test_erase_needs_a_customer_or_a_period(closed_store: Path) -> None:
    status, _, err = pxr("erase", "--store", str(closed_store))
    assert status == 2
    assert "give a customer id" in err


def test_erase_refuses_a_bad_period(closed_store: Path) -> None:
    status, _, err = pxr("erase", "--older-than", "soon", "--store", str(closed_store))
    assert status == 2
    assert "--older-than" in err


# ---------------------------------------------------------------- policy


def test_the_policy_reads_a_retention_period() -> None:
    policy = policy_from('[recovery]\nretention = "365d"\n')
    assert policy.retention == dt.timedelta(days=365)


def test_no_retention_keeps_data_until_erased() -> None:
    assert policy_from("[recovery]\n").retention is None


@pytest.mark.parametrize("value", ['"0d"', "365", '"a year"'])
def test_a_retention_that_is_not_a_period_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match=r"recovery\.retention"):
        policy_from(f"[recovery]\nretention = {value}\n")


def test_every_threads_connection_overwrites_what_it_frees(tmp_path: Path) -> None:
    """Not left to how SQLite was compiled: each connection turns it on."""
    import threading  # noqa: PLC0415

    ledger = SQLiteLedger(tmp_path / "threads.db")
    seen: list[int] = []
    try:
        worker = threading.Thread(
            target=lambda: seen.append(ledger._one("PRAGMA secure_delete")[0])
        )
        worker.start()
        worker.join()
        assert seen == [1]
        assert ledger._one("PRAGMA secure_delete")[0] == 1
    finally:
        ledger.close()


# ---------------------------------------------------------------- a property

_PEOPLE = ("c-anna", "c-ivan", "c-ola")
_HAPPENINGS = st.lists(
    st.tuples(
        st.sampled_from(_PEOPLE),
        st.integers(0, 3),
        st.sampled_from(["breach", "complaint", "outcome", "suppressed"]),
    ),
    max_size=12,
)


def _fill(ledger: Ledger, happenings: list[tuple[str, int, str]]) -> None:
    start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    for n, (customer, subject, kind) in enumerate(happenings):
        at = start + dt.timedelta(hours=n)
        subject_id = f"{customer}/{subject}"
        if kind == "breach":
            breach = Breach("t", subject_id, customer, Severity.MINOR, opened_at=at, updated_at=at)
            entry = OutboxEntry(
                key=f"k{n}",
                customer=customer,
                subject=subject_id,
                threshold="t",
                severity=Severity.MINOR,
                created_at=at,
                channel="sms",
                to="+48512345678",
                locale="pl",
                timezone="UTC",
                send_at=at,
                content=Content(purpose=Purpose.NOTICE, subject=subject_id),
            )
            ledger.apply(Decision(customer, (BreachChange(breach), entry)))
        elif kind == "suppressed":
            ledger.record_suppression(
                SuppressionRecord(customer, subject_id, "t", None, "message", "budget", at)
            )
        else:
            ledger.record_event(kind, customer, subject_id, at)


def _rows(ledger: Ledger) -> list[tuple[str, str]]:
    """(table, customer) of every row a reader sees."""
    rows = [("breaches", b.customer) for b in ledger.breaches()]
    rows += [("messages", e.customer) for e in ledger.outbox()]
    rows += [("suppressions", s.customer) for s in ledger.suppressions()]
    rows += [("events", e[0]) for k in ("complaint", "outcome") for e in ledger.events(k)]
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(happenings=_HAPPENINGS, who=st.sampled_from(_PEOPLE), kind=st.sampled_from(["m", "s"]))
def test_an_erasure_counts_exactly_the_rows_it_changed_and_no_one_elses(
    happenings: list[tuple[str, int, str]], who: str, kind: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger: Ledger = MemoryLedger() if kind == "m" else SQLiteLedger(Path(folder) / "p.db")
        try:
            _fill(ledger, happenings)
            before = _rows(ledger)
            erased = ledger.erase_customer(who)
            after = _rows(ledger)
        finally:
            ledger.close()
    mine = [table for table, customer in before if customer == who]
    assert erased.found == bool(mine)
    for table in ("breaches", "messages", "suppressions", "events"):
        assert erased.counts()[table] == mine.count(table)
    assert [r for r in after if r[1] == who] == []
    assert [r for r in after if r[1] != erased.pseudonym] == [r for r in before if r[1] != who]


class _ErasedMeanwhile(MemoryLedger):
    """Erases the customer just before the engine holds them, as another
    process could between the engine's first look and its write."""

    def load(self, customer: str, *args: Any, **kwargs: Any) -> Snapshot:
        if not self.is_erased(customer, LATER - dt.timedelta(days=1)):
            self.record_event("contacted", customer, "X", LATER - dt.timedelta(days=90))
            self.erase_customer(customer, at=LATER)
        return super().load(customer, *args, **kwargs)


def test_an_erasure_between_the_first_look_and_the_write_still_counts() -> None:
    ledger = _ErasedMeanwhile()
    recovery = Recovery(policy_from(CONFTEST_PARCEL), ledger, customers=[ANNA])
    old = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    signal = Signal("c-anna", "PL-9", "delivery_delay", 30, old, context={"order_total": "90"})
    assert not recovery.observe(signal)
    assert list(ledger.breaches()) == []


def test_an_event_erased_meanwhile_is_refused_too() -> None:
    ledger = _ErasedMeanwhile()
    recovery = Recovery(policy_from(CONFTEST_PARCEL), ledger, customers=[ANNA])
    old = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    assert not recovery.complaint("c-anna", "PL-9", old)
    assert ledger.events("complaint") == []


def test_a_key_made_in_an_erasure_that_rolled_back_is_not_used_later(tmp_path: Path) -> None:
    path = tmp_path / "rollback.db"
    ledger = SQLiteLedger(path)
    try:
        ledger.record_event("complaint", "c-anna", "S", LATER)
        with pytest.raises(RuntimeError), ledger.transaction():  # noqa: PT012
            ledger.erase_customer("c-anna")
            raise RuntimeError("rolled back")
        ledger.erase_customer("c-anna")
    finally:
        ledger.close()
    other = SQLiteLedger(path)
    try:
        assert other.is_erased("c-anna", LATER - dt.timedelta(days=1)), "the key in the file"
    finally:
        other.close()
