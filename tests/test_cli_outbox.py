"""``pxr dispatch`` (once and as a service) and ``pxr outbox``, run as a user would."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pxr.cli import main

from .conftest import EXAMPLES

PARCEL = (str(EXAMPLES / "parcel" / "policy.toml"), str(EXAMPLES / "parcel" / "events.jsonl"))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        status = main(list(argv))
    finally:
        sys.stdout, sys.stderr = old
    return status, out.getvalue(), err.getvalue()


def simulated(tmp_path: Path) -> str:
    store = str(tmp_path / "ledger.db")
    assert run("simulate", *PARCEL, "--store", store)[0] == 0
    return store


def console_transports(tmp_path: Path, *channels: str) -> str:
    path = tmp_path / "transports.toml"
    path.write_text("".join(f'[{c}]\ntransport = "console"\n' for c in channels))
    return str(path)


def test_dispatch_refuses_a_store_that_is_not_there(tmp_path: Path) -> None:
    transports = console_transports(tmp_path, "sms")
    typo = tmp_path / "typo.db"
    status, _out, err = run("dispatch", "--store", str(typo), "--transports", transports)
    assert status == 2
    assert "no such ledger" in err
    assert not typo.exists(), "a typo must not leave an empty ledger behind"


def test_dispatch_names_the_channels_it_cannot_send_on(tmp_path: Path) -> None:
    store = simulated(tmp_path)
    transports = console_transports(tmp_path, "sms")
    status, out, _ = run(
        "dispatch", "--store", store, "--transports", transports, "--now", "2026-12-31T00:00:00Z"
    )
    assert status == 0
    assert out.splitlines()[-1].startswith("waiting for a transport: ")
    assert "on email" in out.splitlines()[-1]


def test_dispatch_checks_its_numbers(tmp_path: Path) -> None:
    store = simulated(tmp_path)
    transports = console_transports(tmp_path, "sms")
    status, _, err = run("dispatch", "--store", store, "--transports", transports, "--limit", "-1")
    assert status == 2
    assert "expected a whole number from 1 to 1,000,000" in err


def test_the_outbox_lists_by_status_and_requeues_dead_messages(tmp_path: Path) -> None:
    store = simulated(tmp_path)
    status, out, _ = run("outbox", "--store", store, "--json")
    assert status == 0
    entries = [json.loads(line) for line in out.splitlines()]
    assert entries
    assert {e["status"] for e in entries} == {"pending"}
    assert all("*" in e["to"] for e in entries), "addresses are masked"
    assert run("outbox", "--store", store, "--dead")[1] == ""
    first = entries[0]["id"]
    status, _, err = run("outbox", "retry", str(first), "--store", store)
    assert status == 1
    assert f"{first}: no dead, uncertain or cancelled message" in err
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE outbox SET status = 'dead', last_error = 'SMTP 550' WHERE id = ?", (first,)
        )
    status, out, _ = run("outbox", "--store", store, "--dead")
    assert status == 0
    assert "SMTP 550" in out
    status, out, _ = run("outbox", "retry", str(first), "--store", store)
    assert (status, out) == (0, f"{first}: queued again\n")
    assert run("outbox", "--store", store, "--dead")[1] == ""


def test_dispatch_as_a_service_drains_and_stops_on_sigterm(tmp_path: Path) -> None:
    store = simulated(tmp_path)
    transports = console_transports(tmp_path, "sms", "email", "messenger")
    service = subprocess.Popen(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "pxr.cli",
            "dispatch",
            "--store",
            store,
            "--transports",
            transports,
            "--policy",
            PARCEL[0],
            "--watch",
            "--interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline_polls = 600  # a bound on the loop, not a time limit on the test
        for _ in range(deadline_polls):
            _status, out, _ = run("outbox", "--store", store, "--pending")
            if out == "":
                break
            time.sleep(0.1)
        service.send_signal(signal.SIGTERM)
        _stdout, stderr = service.communicate(timeout=120)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "pxr dispatch: sent" in stderr
    assert stderr.rstrip().endswith("pxr dispatch: stopped")
    assert run("outbox", "--store", store, "--pending")[1] == ""
    sent = [json.loads(line) for line in run("outbox", "--store", store, "--json")[1].splitlines()]
    assert {e["status"] for e in sent} <= {"sent", "cancelled"}


def test_every_command_says_what_it_does_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pxr.cli import _EXAMPLES  # noqa: PLC0415

    for command in _EXAMPLES:
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"example: pxr {command}" in text or f"examples: pxr {command}" in text, command
        assert text.split("\n\n")[1].strip().endswith("."), command  # the description


def test_a_batch_the_database_rolled_back_is_run_again_and_printed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends one of two deadlocked transactions: ``pxr simulate``
    runs that batch again, and prints what it did once."""
    import pxr.ledger.sqlite  # noqa: PLC0415
    from pxr.errors import LedgerConflict  # noqa: PLC0415
    from pxr.ledger import Applied, Decision  # noqa: PLC0415

    class Contended(pxr.ledger.sqlite.SQLiteLedger):
        conflicts = 1

        def apply(self, decision: Decision) -> Applied:
            if Contended.conflicts:
                Contended.conflicts -= 1
                raise LedgerConflict("deadlock detected (40P01)")
            return super().apply(decision)

    monkeypatch.setattr(pxr.ledger.sqlite, "SQLiteLedger", Contended)
    status, out, err = run("simulate", *PARCEL, "--json", "--store", str(tmp_path / "l.db"))
    assert (status, err) == (0, "")
    assert Contended.conflicts == 0, "the first batch was rolled back once"
    monkeypatch.undo()
    clean, again, _ = run("simulate", *PARCEL, "--json", "--store", str(tmp_path / "c.db"))
    assert clean == 0

    def kinds(text: str) -> list[str]:
        return [json.loads(line)["action"] for line in text.splitlines()]

    assert kinds(out) == kinds(again), "the same actions, each printed once"
