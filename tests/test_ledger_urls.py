"""Ledger URLs: what each names, PXR_LEDGER, refusing to create for readers,
``pxr migrate``, and ``--store URL`` on the commands."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from pxr import LedgerError, SQLiteLedger, open_ledger
from pxr.cli import main
from pxr.ledger import BreachChange, Decision, migrate_ledger
from pxr.ledger.sqlite import SCHEMA_VERSION
from pxr.ledger.urls import redact, scheme_of
from pxr.model import Breach, Severity

from .conftest import EXAMPLES, at

FIXTURES = Path(__file__).parent / "fixtures"
PARCEL = (str(EXAMPLES / "parcel" / "policy.toml"), str(EXAMPLES / "parcel" / "events.jsonl"))


def opened() -> Decision:
    breach = Breach(
        threshold="t",
        subject="S",
        customer="c",
        severity=Severity.MINOR,
        opened_at=at(),
        updated_at=at(),
    )
    return Decision("c", (BreachChange(breach),))


def test_a_plain_path_is_a_sqlite_file(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "plain.db")
    assert isinstance(ledger, SQLiteLedger)
    assert ledger.path == str(tmp_path / "plain.db")
    ledger.close()


def test_a_sqlite_url_with_three_slashes_is_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ledger = open_ledger("sqlite:///relative.db")
    assert isinstance(ledger, SQLiteLedger)
    assert ledger.path == "relative.db"
    ledger.close()
    assert (tmp_path / "relative.db").is_file()


def test_a_sqlite_url_with_four_slashes_is_absolute(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path}/absolute%20name.db")
    assert isinstance(ledger, SQLiteLedger)
    assert ledger.path == f"{tmp_path}/absolute name.db"
    ledger.close()


def test_sqlite_memory_url_is_a_throwaway_database() -> None:
    ledger = open_ledger("sqlite:///:memory:", create=False)
    assert isinstance(ledger, SQLiteLedger)
    assert ledger.path == ":memory:"
    ledger.close()


def test_a_sqlite_url_without_a_path_is_an_error() -> None:
    with pytest.raises(LedgerError, match=r"a SQLite URL is sqlite:///relative\.db"):
        open_ledger("sqlite://host/x.db")


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(LedgerError, match="unknown ledger scheme 'mysql'; known: postgres,"):
        open_ledger("mysql://pxr:secret@db/pxr")


def test_a_missing_file_is_an_error_when_not_creating(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(LedgerError, match=re.escape(f"{missing}: no such ledger file")):
        open_ledger(f"sqlite:///{missing}", create=False)
    assert not missing.exists()


def test_pxr_ledger_names_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PXR_LEDGER", f"sqlite:///{tmp_path}/env.db")
    ledger = open_ledger()
    assert isinstance(ledger, SQLiteLedger)
    assert ledger.path == f"{tmp_path}/env.db"
    ledger.close()


def test_no_ledger_named_anywhere_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PXR_LEDGER", raising=False)
    with pytest.raises(LedgerError, match="give a ledger URL or a path, or set PXR_LEDGER"):
        open_ledger()


def test_postgres_and_postgresql_are_one_scheme() -> None:
    assert scheme_of("postgres://h/db") == "postgres"
    assert scheme_of("PostgreSQL://h/db") == "postgresql"
    assert scheme_of("/var/lib/pxr/ledger.db") is None
    assert scheme_of("C:ledger.db") is None


def test_passwords_are_masked_in_urls_and_key_value_strings() -> None:
    assert redact("postgresql://pxr:s3cr@t@db:5432/pxr") == "postgresql://pxr:***@t@db:5432/pxr"
    assert redact("postgresql://pxr@db/pxr?password=s3cret&sslmode=require") == (
        "postgresql://pxr@db/pxr?password=***&sslmode=require"
    )
    assert redact("host=db password='a b' dbname=pxr") == "host=db password=*** dbname=pxr"


# ------------------------------------------------------------ migrations


def test_migrate_brings_a_pxr_0_1_sqlite_ledger_forward(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    assert migrate_ledger(f"sqlite:///{path}") == (1, SCHEMA_VERSION)
    assert migrate_ledger(str(path)) == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_migrate_refuses_a_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no such ledger file"):
        migrate_ledger(tmp_path / "missing.db")


# ------------------------------------------------------------ the command line


def test_pxr_migrate_says_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    assert main(["migrate", f"sqlite:///{path}"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{path}: ledger schema 1 migrated to 2\n"
    assert main(["migrate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ledger schema 2, current\n"


def test_pxr_migrate_of_a_newer_ledger_says_upgrade_pxr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new.db"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    assert main(["migrate", str(path)]) == 2
    assert "written by a newer pxr" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["metrics", "report", "erase", "journey"])
def test_reading_commands_never_create_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    missing = tmp_path / "missing.db"
    args = {
        "metrics": ["metrics"],
        "report": ["report", "-o", str(tmp_path / "r.html")],
        "erase": ["erase", "c-anna"],
        "journey": ["journey", PARCEL[0]],
    }[command]
    assert main([*args, "--store", f"sqlite:///{missing}"]) == 2
    assert f"{missing}: no such ledger file" in capsys.readouterr().err
    assert not missing.exists()


def test_dispatch_never_creates_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transports = tmp_path / "transports.toml"
    transports.write_text('[sms]\ntransport = "console"\n', encoding="utf-8")
    missing = tmp_path / "missing.db"
    assert main(["dispatch", "--store", str(missing), "--transports", str(transports)]) == 2
    assert f"{missing}: no such ledger file" in capsys.readouterr().err
    assert not missing.exists()


def test_simulate_then_metrics_through_pxr_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """PXR_LEDGER stands in for --store on every command."""
    monkeypatch.setenv("PXR_LEDGER", f"sqlite:///{tmp_path}/env.db")
    assert main(["simulate", *PARCEL]) == 0
    capsys.readouterr()
    assert main(["metrics", "--json"]) == 0
    assert '"breaches"' in capsys.readouterr().out
    stored = SQLiteLedger(tmp_path / "env.db")
    assert list(stored.breaches())
    stored.close()


def test_simulate_without_any_ledger_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PXR_LEDGER", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", *PARCEL]) == 0
    assert list(tmp_path.iterdir()) == []


def test_the_documented_ledger_url_example_opens_pxr_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/reference/ledger.md's example: examples/embed/ledger_url.py."""
    spec = importlib.util.spec_from_file_location(
        "ledger_url", EXAMPLES / "embed" / "ledger_url.py"
    )
    assert spec is not None
    assert spec.loader is not None
    ledger_url = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ledger_url)
    monkeypatch.setenv("PXR_LEDGER", f"sqlite:///{tmp_path}/app.db")
    recovery = ledger_url.make_recovery(PARCEL[0])
    assert isinstance(recovery.ledger, SQLiteLedger)
    assert recovery.ledger.path == f"{tmp_path}/app.db"
    recovery.ledger.close()
