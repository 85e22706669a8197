"""``pxr`` under hostile conditions, run as real processes where it matters (issue 16).

Bad lines cost one line; Ctrl-C, a closed pipe, a full disk, a read-only or
locked ledger each end with one line on stderr and a documented exit status.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pxr.cli import EXIT_INTERRUPTED, EXIT_REJECTED, EXIT_RESOURCE, main
from pxr.errors import LedgerError
from pxr.ledger.sqlite import SQLiteLedger

from .conftest import EXAMPLES

POLICY = str(EXAMPLES / "parcel" / "policy.toml")
STORE = ("--json", "--store")
TABLES = ("breaches", "compensations", "outbox", "suppressions", "events")


def many_events(path: Path, signals: int) -> Path:
    """A customer, then ``signals`` late parcels of hers (each a breach, a refund, a message)."""
    lines = [
        json.dumps(
            {
                "type": "customer",
                "id": "c-anna",
                "locale": "pl-PL",
                "timezone": "Europe/Warsaw",
                "email": "anna@example.pl",
            }
        )
    ]
    for i in range(signals):
        lines.append(
            json.dumps(
                {
                    "type": "signal",
                    "customer": "c-anna",
                    "subject": f"PL-{i}",
                    "metric": "delivery_delay",
                    "value": 30,
                    "at": f"2026-03-{2 + i % 27:02d}T10:{i % 60:02d}:00+01:00",
                    "context": {"order_total": "100.00", "currency": "PLN"},
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pxr(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "pxr", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def rows(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables that record decisions, sorted: two ledgers compare equal."""
    with sqlite3.connect(store) as db:
        return {
            table: sorted(
                tuple(r)
                for r in db.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            )
            for table in TABLES
        }


def counts(store: Path) -> dict[str, int]:
    return {table: len(found) for table, found in rows(store).items()}


# ------------------------------------------------------------ one bad line


def test_a_bad_line_is_reported_on_stderr_and_costs_only_that_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clean = many_events(tmp_path / "clean.jsonl", 20)
    lines = clean.read_text(encoding="utf-8").splitlines()
    bad = [
        *lines[:5],
        '{"type": "signal", "context": ' + "[" * 100_000 + "]" * 100_000 + "}",
        *lines[5:10],
        lines[10].replace("2026-03", "9999-12"),
        *lines[10:],
    ]
    dirty = tmp_path / "dirty.jsonl"
    dirty.write_text("\n".join(bad) + "\n", encoding="utf-8")
    assert main(["simulate", POLICY, str(clean), "--store", str(tmp_path / "clean.db")]) == 0
    capsys.readouterr()
    status = main(["simulate", POLICY, str(dirty), "--store", str(tmp_path / "dirty.db")])
    out, err = capsys.readouterr()
    assert status == EXIT_REJECTED
    assert err.splitlines() == [
        f"pxr: {dirty}:6: not valid JSON: nested too deeply",
        f"pxr: {dirty}:12: signal.at: expected a time from 1970 up to the year 9000, got year 9999",
    ]
    assert "rejected: 2" in out
    assert rows(tmp_path / "dirty.db") == rows(tmp_path / "clean.db")


def test_json_keeps_its_error_record_on_stdout_and_reports_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"type": "signal", "value": 1' + "0" * 5000 + "}\n", encoding="utf-8")
    assert main(["simulate", POLICY, str(events), "--json"]) == EXIT_REJECTED
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == [
        {"action": "error", "line": 1, "error": "not valid JSON: a number too long or not finite"}
    ]
    assert err == f"pxr: {events}:1: not valid JSON: a number too long or not finite\n"


def test_a_personal_value_in_a_bad_line_is_masked_on_stderr_and_in_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 17: a phone number typed into the time zone column is not echoed."""
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps({"type": "customer", "id": "c", "timezone": "+48512345678"}) + "\n",
        encoding="utf-8",
    )
    assert main(["simulate", POLICY, str(events), "--json"]) == EXIT_REJECTED
    out, err = capsys.readouterr()
    assert "customer.timezone: unknown time zone" in err
    assert "customer.timezone: unknown time zone" in out
    assert "512345" not in out + err


def test_an_internal_error_costs_one_line_and_names_no_value(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in pxr surfaces as an internal error naming the line, not a traceback."""
    from pxr.engine import Recovery  # noqa: PLC0415

    handle = Recovery.handle

    def buggy(self: Recovery, event: Any) -> Any:
        if getattr(getattr(event, "signal", None), "subject", None) == "PL-3":
            raise TypeError("secret +48512345678")
        return handle(self, event)

    monkeypatch.setattr(Recovery, "handle", buggy)
    events = many_events(tmp_path / "e.jsonl", 6)
    assert main(["simulate", POLICY, str(events)]) == EXIT_REJECTED
    out, err = capsys.readouterr()
    assert err.startswith(f"pxr: {events}:5: internal error (TypeError at test_cli_signals.py:")
    assert "please report it" in err
    assert "+48512345678" not in err
    assert "parcel-late          major          5" in out


# ------------------------------------------------------------- processes


@pytest.mark.parametrize(
    "toml",
    [
        "[recovery]\nlocale = " + "[" * 5000 + "]" * 5000 + "\n",
        "[recovery]\nsurvey_quiet_days = " + "9" * 5000 + "\n",
        "[recovery]\nsurvey_quiet_days = 9223372036854775807\n",
    ],
    ids=["deep", "4300-digits", "c-int"],
)
def test_pxr_check_on_a_hostile_policy_is_one_line_and_status_2(tmp_path: Path, toml: str) -> None:
    """The command as a user runs it: one line on stderr, never a traceback."""
    policy = tmp_path / "p.toml"
    policy.write_text(toml, encoding="utf-8")
    with pxr("check", str(policy)) as run:
        out, err = run.communicate()
    assert run.returncode == 2
    assert out == ""
    assert err.startswith(f"pxr: {policy}: ")
    assert len(err.splitlines()) == 1


def test_ctrl_c_exits_130_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    """SIGINT while the run is blocked writing to a full pipe: it is mid-run for sure."""
    events = many_events(tmp_path / "e.jsonl", 1000)
    store = tmp_path / "l.db"
    run = pxr("simulate", POLICY, str(events), "--json", "--store", str(store))
    assert run.stdout is not None
    assert run.stdout.readline()  # running, and soon blocked on the unread pipe
    run.send_signal(signal.SIGINT)
    _, err = run.communicate()
    assert run.returncode == EXIT_INTERRUPTED
    assert err == "pxr: interrupted; batches committed before are kept, re-run to finish\n"
    # Re-running finishes the work: the ledger equals an uninterrupted run's.
    assert main(["simulate", POLICY, str(events), "--store", str(store)]) == 0
    assert main(["simulate", POLICY, str(events), "--store", str(tmp_path / "whole.db")]) == 0
    assert rows(store) == rows(tmp_path / "whole.db")


def test_a_closed_pipe_is_not_a_silent_success(tmp_path: Path) -> None:
    """``pxr simulate … | head -1``: exit non-zero and say so; a re-run completes the ledger."""
    events = many_events(tmp_path / "e.jsonl", 1000)
    store = tmp_path / "l.db"
    run = pxr("simulate", POLICY, str(events), "--json", "--store", str(store))
    assert run.stdout is not None
    assert run.stderr is not None
    assert run.stdout.readline()
    run.stdout.close()  # what head does after its line
    err = run.stderr.read()
    run.stderr.close()
    assert run.wait() == EXIT_RESOURCE
    assert err == (
        "pxr: output closed before the run finished; batches committed before are kept\n"
    )
    assert main(["simulate", POLICY, str(events), "--store", str(store)]) == 0
    assert main(["simulate", POLICY, str(events), "--store", str(tmp_path / "whole.db")]) == 0
    assert rows(store) == rows(tmp_path / "whole.db")


def test_four_processes_on_one_store_all_finish(tmp_path: Path) -> None:
    events = many_events(tmp_path / "e.jsonl", 1500)
    store = tmp_path / "shared.db"
    # Output to files: a process blocked on a full, unread pipe would hold the lock.
    outputs = [(tmp_path / f"out{i}.txt").open("w") for i in range(4)]
    runs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "pxr", "simulate", POLICY, str(events), *STORE, str(store)],
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        )
        for output in outputs
    ]
    errors = [run.communicate()[1] for run in runs]
    for output in outputs:
        output.close()
    assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
    assert main(["simulate", POLICY, str(events), "--store", str(tmp_path / "one.db")]) == 0
    assert counts(store) == counts(tmp_path / "one.db")


def test_a_lock_held_by_another_process_is_waited_for(tmp_path: Path) -> None:
    store = tmp_path / "l.db"
    SQLiteLedger(store).close()
    holder = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.5)\n"
            "db.execute('COMMIT')\n",
            str(store),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    events = many_events(tmp_path / "e.jsonl", 10)
    run = pxr("simulate", POLICY, str(events), "--store", str(store))
    _, err = run.communicate()
    holder.communicate()
    assert run.returncode == 0, err
    assert counts(store)["breaches"] == 10


# ---------------------------------------------------- resources (in-process)


def test_a_store_locked_past_the_timeout_is_a_ledger_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "l.db"
    SQLiteLedger(store).close()
    monkeypatch.setattr(SQLiteLedger, "busy_timeout", 0.05)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerError, match=r"stayed locked by another process for 0\.05 s"):
            SQLiteLedger(store)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_store_locked_at_open_ends_with_one_line_and_status_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "l.db"
    SQLiteLedger(store).close()
    monkeypatch.setattr(SQLiteLedger, "busy_timeout", 0.05)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        events = many_events(tmp_path / "e.jsonl", 5)
        assert main(["simulate", POLICY, str(events), "--store", str(store)]) == EXIT_RESOURCE
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert err == (
        f"pxr: ledger {str(store)!r} stayed locked by another process for 0.05 s"
        " (3 attempts); try again later\n"
    )


class _LockedAfterOpen(SQLiteLedger):
    """A real ledger that another connection starts writing to right after it opens."""

    busy_timeout = 0.05

    def __init__(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.holder = sqlite3.connect(path, isolation_level=None)
        self.holder.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        self.holder.execute("ROLLBACK")
        self.holder.close()
        super().close()


def test_a_store_locked_mid_run_ends_with_one_line_and_status_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pxr.ledger.sqlite  # noqa: PLC0415

    monkeypatch.setattr(pxr.ledger.sqlite, "SQLiteLedger", _LockedAfterOpen)
    events = many_events(tmp_path / "e.jsonl", 5)
    status = main(["simulate", POLICY, str(events), "--store", str(tmp_path / "l.db")])
    assert status == EXIT_RESOURCE
    err = capsys.readouterr().err
    assert err == "pxr: the ledger stayed locked by another process: database is locked\n"


class _Limited(SQLiteLedger):
    """A real SQLite ledger whose every connection, once the schema is made,
    runs ``PRAGMA`` ``LIMIT``."""

    LIMIT = ""

    def __init__(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        self._limited = False
        super().__init__(path, **kwargs)
        self._limited = True
        self._connection().execute(f"PRAGMA {self.LIMIT}")

    def _connect(self) -> Any:
        connection = super()._connect()
        if self._limited:
            connection.execute(f"PRAGMA {self.LIMIT}")
        return connection


class _SmallDisk(_Limited):
    """A real SQLite ledger whose file cannot grow past a few pages: a full disk."""

    LIMIT = "max_page_count=40"


class _ReadOnly(_Limited):
    """A real SQLite ledger that refuses writes, as a read-only file does."""

    LIMIT = "query_only=ON"


@pytest.mark.parametrize(
    ("ledger", "message"),
    [
        (_SmallDisk, "pxr: the disk is full (the ledger says: database or disk is full)\n"),
        (
            _ReadOnly,
            "pxr: the ledger cannot be written (read-only file or directory):"
            " attempt to write a readonly database\n",
        ),
    ],
)
def test_a_ledger_that_cannot_be_written_ends_with_one_line_and_status_3(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ledger: type[SQLiteLedger],
    message: str,
) -> None:
    import pxr.ledger.sqlite  # noqa: PLC0415

    monkeypatch.setattr(pxr.ledger.sqlite, "SQLiteLedger", ledger)
    events = many_events(tmp_path / "e.jsonl", 2000)
    status = main(["simulate", POLICY, str(events), "--json", "--store", str(tmp_path / "l.db")])
    assert status == EXIT_RESOURCE
    assert capsys.readouterr().err == message


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB filesystem (tmpfs), where the system allows mounting one."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the max_page_count test covers a full disk")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)  # noqa: S603, S607


def test_a_store_on_a_read_only_filesystem_is_one_line_and_status_2(
    tmp_path: Path, small_disk: Path
) -> None:
    store = small_disk / "l.db"
    SQLiteLedger(store).close()
    subprocess.run(  # noqa: S603
        ["mount", "-o", "remount,ro", str(small_disk)],  # noqa: S607
        check=True,
    )
    events = many_events(tmp_path / "e.jsonl", 5)
    with pxr("simulate", POLICY, str(events), "--store", str(store)) as run:
        _, err = run.communicate()
    assert run.returncode == 2
    # SQLite words it by the first write it tries: the WAL's index or a table.
    assert err in {
        f"pxr: ledger {str(store)!r} cannot be written (a read-only file, directory or"
        f" filesystem): {reason}\n"
        for reason in ("unable to open database file", "attempt to write a readonly database")
    }


def test_a_full_disk_ends_with_one_line_and_status_3(tmp_path: Path, small_disk: Path) -> None:
    events = many_events(tmp_path / "e.jsonl", 1000)
    with pxr("simulate", POLICY, str(events), "--store", str(small_disk / "l.db")) as run:
        _, err = run.communicate()
    assert run.returncode == EXIT_RESOURCE
    assert err == "pxr: the disk is full (the ledger says: database or disk is full)\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_store_file_ends_with_one_line(tmp_path: Path) -> None:
    store = tmp_path / "l.db"
    SQLiteLedger(store).close()
    store.chmod(0o444)
    run = pxr("simulate", POLICY, str(many_events(tmp_path / "e.jsonl", 5)), "--store", str(store))
    _, err = run.communicate()
    assert run.returncode == 2
    assert err.startswith(f"pxr: ledger {str(store)!r} cannot be written")
    assert len(err.splitlines()) == 1


def test_help_documents_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "3 ", "70 ", "130 "):
        assert f"\n  {status}" in out


@pytest.mark.parametrize("limit", ["9" * 5000, "99999999999999999999", "0", "-1", "lots"])
def test_dispatch_refuses_a_limit_out_of_range_as_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, limit: str
) -> None:
    store = tmp_path / "l.db"
    SQLiteLedger(store).close()
    transports = tmp_path / "t.toml"
    transports.write_text("", encoding="utf-8")
    argv = ["dispatch", "--store", str(store), "--transports", str(transports), "--limit", limit]
    assert main(argv) == 2
    assert "--limit" in capsys.readouterr().err
