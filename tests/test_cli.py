"""``pxr simulate`` and ``pxr check``, run as a user runs them."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pxr.cli import main

from .conftest import EXAMPLES

PARCEL = (str(EXAMPLES / "parcel" / "policy.toml"), str(EXAMPLES / "parcel" / "events.jsonl"))
FLIGHT = (str(EXAMPLES / "flight" / "policy.toml"), str(EXAMPLES / "flight" / "events.jsonl"))

COMMON = {"action", "customer", "subject", "threshold", "severity", "at"}
ACTIONS = {
    "breach",
    "escalation",
    "compensation",
    "message",
    "suppressed",
    "resolved",
    "error",
    "complaint",
}


def simulate_json(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[dict[str, Any]]]:
    status = main(["simulate", *args, "--json"])
    out = capsys.readouterr().out
    return status, [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("example", [PARCEL, FLIGHT], ids=["parcel", "flight"])
def test_examples_follow_the_json_contract(
    capsys: pytest.CaptureFixture[str], example: tuple[str, str]
) -> None:
    status, records = simulate_json(capsys, *example)
    assert status == 0
    assert {r["action"] for r in records} >= {"breach", "compensation", "message"}
    for record in records:
        assert record["action"] in ACTIONS
        assert next(iter(record)) == "action"
        if record["action"] != "error":
            assert set(record) >= COMMON
        if record["action"] == "compensation":
            assert {"kind", "amount", "currency", "code"} <= set(record)
            if record["amount"] is not None:
                assert record["amount"].count(".") == 1
                assert len(record["amount"].split(".")[1]) == 2
        if record["action"] == "message":
            assert {"channel", "to", "locale", "title", "text", "send_at"} <= set(record)
            if record["channel"] == "sms":
                assert record["to"].startswith("+")
                assert record["encoding"] in {"GSM-7", "UCS-2"}
                assert record["segments"] >= 1
            else:
                assert "encoding" not in record
            assert (record["title"] is None) == (record["channel"] != "email")


def test_flight_example_pays_eu261_bands(capsys: pytest.CaptureFixture[str]) -> None:
    _, records = simulate_json(capsys, *FLIGHT)
    paid = {
        r["subject"]: r["amount"]
        for r in records
        if r["action"] == "compensation" and r["kind"] == "eu261"
    }
    # 1170 km: 250; 1790 km intra-EU: 400; 6840 km rerouted, 3 h 35 min ≤ 4 h: 600 halved;
    # extraordinary circumstances: nothing.
    assert paid == {"K7QX2Z": "250.00", "B4RT9M": "400.00", "N2WP6D": "300.00"}


def test_replaying_into_the_same_store_adds_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = str(tmp_path / "ledger.db")
    status, first = simulate_json(capsys, *PARCEL, "--store", store)
    assert status == 0
    assert first
    counts = _row_counts(store)
    for _ in range(2):
        status, again = simulate_json(capsys, *PARCEL, "--store", store)
        assert status == 0
        assert again == []
        assert _row_counts(store) == counts


def _row_counts(store: str) -> dict[str, int]:
    with sqlite3.connect(store) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("breaches", "compensations", "outbox", "suppressions", "events")
        }


def test_bad_lines_are_reported_and_the_rest_processed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    lines = Path(PARCEL[1]).read_text(encoding="utf-8").splitlines()
    lines.insert(5, "{not json")
    lines.insert(
        6,
        '{"type": "signal", "customer": "c-anna", "subject": "X", "metric": "m",'
        ' "value": 1, "at": "2026-03-02T10:15:00"}',
    )
    lines.insert(7, '{"type": "parcel"}')
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, records = simulate_json(capsys, PARCEL[0], str(events))
    assert status == 1
    errors = [r for r in records if r["action"] == "error"]
    assert [e["line"] for e in errors] == [6, 7, 8]
    assert "not valid JSON" in errors[0]["error"]
    assert errors[1]["error"] == "signal.at: a naive datetime is ambiguous; give it a time zone"
    assert errors[2]["error"].startswith("type: expected one of customer, signal")
    assert sum(r["action"] == "breach" for r in records) == 6


def test_unusable_policy_exits_2_with_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('[recovery]\ncurrency = "XYZ"\n', encoding="utf-8")
    assert main(["simulate", str(policy), PARCEL[1]]) == 2
    assert "recovery.currency: unknown currency 'XYZ'" in capsys.readouterr().err


def test_missing_events_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", PARCEL[0], "/nonexistent/events.jsonl"]) == 2
    assert "no such events file" in capsys.readouterr().err


def test_bad_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 2
    assert main(["frobnicate"]) == 2


def test_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", *PARCEL]) == 0
    out = capsys.readouterr().out
    assert "Summary" in out
    assert "parcel-late          major          2" in out
    assert "total PLN" in out
    assert "SMS segments" in out
    # Addresses are masked in the human-readable output.
    assert "+48512345678" not in out
    assert "+48******678" in out


def test_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", PARCEL[0]]) == 0
    assert "ok — 3 thresholds, 3 stages" in capsys.readouterr().out


def test_the_installed_command_runs() -> None:
    """The console script, as the README runs it."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pxr", "simulate", *FLIGHT, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert all(json.loads(line) for line in result.stdout.splitlines())


class Terminal(io.StringIO):
    """stderr as a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    from pxr.cli import _Progress  # noqa: PLC0415

    events = tmp_path / "e.jsonl"
    events.write_text("{}\n" * 40, encoding="utf-8")
    terminal = Terminal()
    bar = _Progress(str(events), terminal)
    bar.update(10)
    bar.close()
    assert "[#######" in terminal.getvalue()
    assert "25.0%" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r")  # the line is cleared afterwards
    piped = io.StringIO()
    quiet = _Progress(str(events), piped)
    quiet.update(10)
    quiet.close()
    assert piped.getvalue() == ""
