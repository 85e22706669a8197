"""Shared fixtures: policies from TOML text, customers, and both ledgers."""

from __future__ import annotations

import datetime as dt
import secrets
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pxr import Customer, MemoryLedger, Policy, Recovery, SQLiteLedger, open_ledger
from pxr.ledger import Ledger
from pxr.policy import parse_policy

# No wall-clock limits in tests: Hypothesis's per-example deadline fails a
# correct test on a busy machine.
settings.register_profile("pxr", deadline=None)
settings.load_profile("pxr")

WARSAW = dt.timezone(dt.timedelta(hours=1))
EXAMPLES = Path(__file__).parent.parent / "examples"


def at(day: int = 2, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A time in March 2026, Warsaw winter time."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=WARSAW)


def policy_from(text: str) -> Policy:
    """A policy from TOML text (dedented)."""
    return parse_policy(tomllib.loads(textwrap.dedent(text)))


PARCEL = """
[recovery]
currency = "PLN"
channels = ["sms", "email"]

[[thresholds]]
name = "parcel-late"
stage = "delivery"
metric = "delivery_delay"
unit = "hours"
above = { minor = 1, major = 24, critical = 168 }
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
compensation.critical = { kind = "voucher", percent = 20, valid_days = 90 }
"""

ANNA = Customer(
    id="c-anna",
    locale="pl-PL",
    timezone="Europe/Warsaw",
    phone="+48512345678",
    email="anna@example.pl",
)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """Each ledger implementation in turn: the contract is the same."""
    store: Ledger
    if request.param == "postgres":
        from pxr.ledger.postgres import PostgresLedger  # noqa: PLC0415

        store = PostgresLedger(request.getfixturevalue("postgres_url"))
        store.clear()
    else:
        store = MemoryLedger() if request.param == "memory" else SQLiteLedger(tmp_path / "l.db")
    yield store
    store.close()


@pytest.fixture
def make_recovery(ledger: Ledger) -> Callable[..., Recovery]:
    """A Recovery over the parametrized ledger, with Anna known."""

    def make(text: str = PARCEL, *customers: Customer) -> Recovery:
        return Recovery(policy_from(text), ledger, customers=customers or (ANNA,))

    return make


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session (see :mod:`tests.pg`)."""
    from . import pg  # noqa: PLC0415

    yield from pg.database()


@pytest.fixture
def schema(postgres_url: str) -> Iterator[Callable[[str], str]]:
    """Ledger URLs, each on a fresh schema of the test database (dropped afterwards);
    for the stress tests (tests/test_stress.py, tests/test_crashes.py)."""
    import psycopg  # noqa: PLC0415 - only where PostgreSQL is there to test

    from . import pg  # noqa: PLC0415

    made: list[str] = []

    def new(name: str) -> str:
        schema = f"{name}_{secrets.token_hex(3)}"
        made.append(schema)
        url = pg.schema_url(postgres_url, schema)
        open_ledger(url).close()
        return url

    yield new
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for schema in made:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
