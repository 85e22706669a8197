"""The PostgreSQL ledger: the public contract, its schema and migrations, and
writers in separate processes racing for one customer."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import secrets
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

if os.environ.get("PXR_REQUIRE_POSTGRES") != "1":
    pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs pxr[postgres]")

import psycopg

from pxr import LedgerError, Recovery, Signal, open_ledger
from pxr.cli import main
from pxr.ledger import BreachChange, Decision, Ledger, OutboxEntry
from pxr.ledger.postgres import PostgresLedger
from pxr.ledger.urls import redact
from pxr.model import Breach, Content, Purpose, Severity
from pxr.testing import RecordingNotifier
from pxr.testing.contracts import LedgerContract

from . import pg
from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from

PARCEL_FILES = (
    str(EXAMPLES / "parcel" / "policy.toml"),
    str(EXAMPLES / "parcel" / "events.jsonl"),
)


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresLedger]:
    """A PostgreSQL ledger with empty tables."""
    ledger = PostgresLedger(postgres_url)
    ledger.clear()
    yield ledger
    ledger.close()


class TestPostgresLedger(LedgerContract):
    """The public contract, on PostgreSQL."""

    @pytest.fixture
    def ledger(self, store: PostgresLedger) -> Ledger:
        return store


def waiting_for_a_lock(url: str) -> int:
    """How many backends of ``url``'s database wait for a lock right now."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_until_blocked(url: str, thread: threading.Thread) -> None:
    """Return once ``thread`` has finished or is waiting for a lock in the database."""
    while thread.is_alive() and not waiting_for_a_lock(url):
        time.sleep(0.01)


def breach(subject: str = "S", customer: str = "c") -> Breach:
    return Breach(
        threshold="t",
        subject=subject,
        customer=customer,
        severity=Severity.MINOR,
        opened_at=at(),
        updated_at=at(),
    )


def test_a_loaded_customer_is_locked_until_the_transaction_ends(
    store: PostgresLedger, postgres_url: str
) -> None:
    """A second writer loading the same customer waits for the first to commit,
    then sees what it wrote: a snapshot stays true until commit."""
    seen: list[Any] = []

    def second() -> None:
        with store.transaction():
            seen.append(store.load("c", [("t", "S")]).breaches)

    with store.transaction():
        store.load("c", [("t", "S")])
        other = threading.Thread(target=second)
        other.start()
        wait_until_blocked(postgres_url, other)
        assert seen == []
        store.apply(Decision("c", (BreachChange(breach()),)))
    other.join()
    assert seen == [{("t", "S"): breach()}]


def test_writers_for_different_customers_do_not_wait_for_each_other(
    store: PostgresLedger,
) -> None:
    seen: list[Any] = []

    def second() -> None:
        with store.transaction():
            seen.append(store.load("d", [("t", "S")]).breaches)

    with store.transaction():
        store.load("c", [("t", "S")])
        other = threading.Thread(target=second)
        other.start()
        other.join()  # would never return if customer "d" waited for "c"
    assert seen == [{}]


def entry(key: str = "k") -> OutboxEntry:
    return OutboxEntry(
        key=key,
        customer="c",
        subject="S",
        threshold="t",
        severity=Severity.MINOR,
        created_at=at(),
        channel="sms",
        to="+48512345678",
        locale="pl-PL",
        timezone="Europe/Warsaw",
        send_at=at(),
        content=Content(purpose=Purpose.NOTICE, subject="S"),
    )


def test_a_claim_skips_an_entry_another_sender_is_claiming(
    store: PostgresLedger, postgres_url: str
) -> None:
    """FOR UPDATE SKIP LOCKED: the second sender gets ``False`` at once instead
    of queuing behind the first one's open transaction."""
    store.enqueue(entry())
    (due,) = store.due(at(3), 10)
    assert due.id is not None
    answers: list[bool] = []
    second = PostgresLedger(postgres_url)
    try:
        with store.transaction():
            assert store.claim(due.id, at(3), at(4))
            other = threading.Thread(
                target=lambda: answers.append(second.claim(due.id or 0, at(3), at(4)))
            )
            other.start()
            wait_until_blocked(postgres_url, other)
            blocked = other.is_alive()
        other.join()
    finally:
        second.close()
    assert not blocked
    assert answers == [False]


def test_the_password_stays_out_of_reprs_and_errors() -> None:
    url = "postgresql://pxr:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(LedgerError) as caught:
        PostgresLedger(url)
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
    assert redact(url) == "postgresql://pxr:***@127.0.0.1:1/nowhere"
    assert redact("host=h password=s3cret dbname=d") == "host=h password=*** dbname=d"


def test_a_database_without_a_ledger_is_an_error_when_not_creating(postgres_url: str) -> None:
    empty = pg.schema_url(postgres_url, "empty")
    with pytest.raises(LedgerError, match="holds no pxr ledger"):
        PostgresLedger(empty, create=False)


def test_a_ledger_from_a_newer_pxr_is_refused(postgres_url: str) -> None:
    newer = pg.schema_url(postgres_url, "newer")
    PostgresLedger(newer).close()
    with psycopg.connect(newer, autocommit=True) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="schema 99, written by a newer pxr"):
        PostgresLedger(newer)


class NextLedger(PostgresLedger):
    """What a later pxr with schema 3 would be: one more column."""

    schema_version = 3
    migrations = {3: "ALTER TABLE breaches ADD COLUMN note TEXT"}  # noqa: RUF012


def test_an_older_schema_is_migrated_only_when_asked(postgres_url: str) -> None:
    url = pg.schema_url(postgres_url, "older")
    old = PostgresLedger(url)
    old.apply(Decision("c", (BreachChange(breach()),)))
    old.close()
    with pytest.raises(LedgerError, match="schema 2; this pxr needs schema 3: run `pxr migrate"):
        NextLedger(url)
    migrated = NextLedger(url, migrate=True)
    assert migrated.found_version == 2
    assert list(migrated.breaches()) == [breach()]
    migrated.close()
    assert NextLedger(url).found_version == 3


def test_dropped_connections_are_replaced(postgres_url: str) -> None:
    """The server restarted, or the network dropped the pool's connections:
    a call may fail on each dead one, and the pool then opens fresh ones."""
    ledger = PostgresLedger(f"{postgres_url}?application_name=pxr_dropped", pool_size=3)
    try:
        ledger.clear()
        ledger.apply(Decision("c", (BreachChange(breach()),)))
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'pxr_dropped'"
            )
        failures = 0
        found = None
        for _ in range(4):
            try:
                found = list(ledger.breaches())
                break
            except psycopg.OperationalError:
                failures += 1
        assert found == [breach()]
        assert failures <= 3
    finally:
        ledger.close()


def test_a_thread_gives_its_connection_back(store: PostgresLedger) -> None:
    """A web server's thread per request holds nothing once its work is done,
    so a pool of one serves any number of threads, one after another."""
    ledger = PostgresLedger(store.url, pool_size=1, timeout=60)
    try:
        for n in range(5):
            worker = threading.Thread(
                target=lambda n=n: ledger.apply(Decision("c", (BreachChange(breach(f"S{n}")),)))
            )
            worker.start()
            worker.join()
        assert len(list(ledger.breaches())) == 5
    finally:
        ledger.close()


# ------------------------------------------------------------ processes racing

RACE = PARCEL.replace(
    'currency = "PLN"',
    'currency = "PLN"\nlimits = { compensation_per_30_days = "100.00", messages_per_day = 3 }',
).replace(
    'compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }',
    'compensation.major = { kind = "refund", percent = 30, of = "order_total" }',
)
SUBJECTS = [f"PL-{n}" for n in range(12)]


def signals(offset: int) -> list[Signal]:
    """Every order late, then later very late, starting at a different order per writer."""
    order = SUBJECTS[offset:] + SUBJECTS[:offset]
    return [
        Signal(
            customer="c-anna",
            subject=subject,
            metric="delivery_delay",
            value=hours,
            at=at(2, 10 + step),
            context={"order_total": "100.00"},
        )
        for step, hours in enumerate((30, 200))
        for subject in order
    ]


def race(url: str, offset: int, start: Any) -> None:
    """One writer process: its own ledger and pool, the same customer as the others."""
    ledger = PostgresLedger(url, pool_size=2)
    try:
        recovery = Recovery(policy_from(RACE), ledger, customers=[ANNA])
        start.wait()
        for signal in signals(offset):
            recovery.observe(signal)
    finally:
        ledger.close()


def test_processes_racing_for_one_customer_never_duplicate_or_overspend(
    store: PostgresLedger, postgres_url: str
) -> None:
    """Four processes, each with its own pool, feed the same signals for one
    customer: every breach opened once, every tier paid once, every message
    queued once, the 100.00 PLN budget and the 3 messages a day held."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [
        context.Process(target=race, args=(postgres_url, offset, start)) for offset in (0, 3, 6, 9)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]

    breaches = list(store.breaches())
    assert sorted(b.subject for b in breaches) == sorted(SUBJECTS)
    assert {b.severity for b in breaches} == {Severity.CRITICAL}
    paid = [
        (r.subject, r.severity, r.compensation.kind, r.compensation.amount)
        for r in store.compensations()
    ]
    assert len(paid) == len({item[:3] for item in paid})
    money = [item[3].amount for item in paid if item[3] is not None]
    assert sum(money, Decimal(0)) <= Decimal("100.00")
    # Not a lucky under-spend: the budget is used until one more would break it.
    assert sum(money, Decimal(0)) > Decimal("100.00") - Decimal("30.00")
    outbox = list(store.outbox())
    assert len(outbox) == len({e.key for e in outbox})
    # Three a day go out on the day; the rest are held a day, never dropped.
    per_day: dict[dt.date, int] = {}
    for queued in outbox:
        if queued.send_at < queued.created_at + dt.timedelta(days=1):
            day = queued.created_at.date()
            per_day[day] = per_day.get(day, 0) + 1
    assert max(per_day.values(), default=0) == 3
    assert len(outbox) > 3, "over the limit, messages are deferred, not dropped"


def test_two_dispatchers_send_each_message_once(store: PostgresLedger, postgres_url: str) -> None:
    """Two dispatchers, each with its own ledger, drain one outbox together."""
    for n in range(40):
        store.enqueue(
            OutboxEntry(
                key=f"k{n}",
                customer=f"c{n}",
                subject="S",
                threshold="t",
                severity=Severity.MINOR,
                created_at=at(),
                channel="console",
                to=f"c{n}",
                locale="en",
                timezone="UTC",
                send_at=at(),
                content=Content(purpose=Purpose.NOTICE, subject="S"),
            )
        )
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    start = threading.Barrier(2)

    def dispatcher(notifier: RecordingNotifier) -> None:
        ledger = PostgresLedger(postgres_url, pool_size=1)
        try:
            recovery = Recovery(policy_from(PARCEL), ledger, notifiers={"console": notifier})
            start.wait()
            recovery.dispatch_pending(at(3))
        finally:
            ledger.close()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in notifiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [m.to for n in notifiers for m in n.sent]
    assert sorted(sent) == sorted(f"c{n}" for n in range(40))
    assert {e.status for e in store.outbox()} == {"sent"}


# ------------------------------------------------------------ URLs and the command line


def test_a_postgres_url_opens_a_postgres_ledger(postgres_url: str) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://")):
        ledger = open_ledger(url, create=False)
        assert isinstance(ledger, PostgresLedger)
        ledger.close()


def test_simulate_and_metrics_on_a_postgres_url(
    store: PostgresLedger, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *PARCEL_FILES, "--store", postgres_url]) == 0
    capsys.readouterr()
    assert main(["metrics", "--json", "--store", postgres_url]) == 0
    assert '"breaches"' in capsys.readouterr().out
    assert list(store.breaches())


def test_reading_commands_refuse_a_database_without_a_ledger(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.schema_url(postgres_url, "nothing")
    assert main(["metrics", "--store", url]) == 2
    assert "holds no pxr ledger" in capsys.readouterr().err


def test_pxr_migrate_on_a_current_postgres_ledger(
    store: PostgresLedger, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", postgres_url]) == 0
    assert capsys.readouterr().out == f"{postgres_url}: ledger schema 2, current\n"


def test_pxr_migrate_creates_the_ledger_in_an_empty_database(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = pg.schema_url(postgres_url, "fresh")
    assert main(["migrate", url]) == 0
    assert capsys.readouterr().out == f"{url}: ledger schema 2, created\n"
    PostgresLedger(url, create=False).close()


def test_a_role_that_may_only_read_can_open_the_ledger(
    store: PostgresLedger, postgres_url: str
) -> None:
    """``pxr metrics`` for an analyst's role: opening creates and locks nothing it may not."""
    store.apply(Decision("c", (BreachChange(breach()),)))
    role = f"pxr_reader_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        try:
            reader = PostgresLedger(pg.url(role, postgres_url.rsplit("/", 1)[1]), create=False)
            assert list(reader.breaches()) == [breach()]
            reader.close()
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_pxr_erase_on_a_url_never_prints_its_password(
    store: PostgresLedger, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server trusts loopback, so the password is ignored, but it must not be shown."""
    with_password = postgres_url.replace("@", ":s3cret@", 1)
    assert main(["simulate", *PARCEL_FILES, "--store", with_password]) == 0
    capsys.readouterr()
    assert main(["erase", "c-anna", "--store", with_password]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert ":***@" in out


def test_dispatchers_share_the_database_clock(store: PostgresLedger) -> None:
    """Leases and due times are compared on the server's clock, whatever each
    host's clock says."""
    with psycopg.connect(store.url) as check:
        server = check.execute("SELECT clock_timestamp()").fetchone()
    assert server is not None
    assert abs(store.now() - server[0]) < dt.timedelta(seconds=5)
    assert store.now().tzinfo is not None
