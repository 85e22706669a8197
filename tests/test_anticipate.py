"""The anticipate-and-prove example as shipped, and the cookbook recipes for it."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pxr.cli import main
from pxr.ledger.sqlite import SQLiteLedger
from pxr.model import Breach, Severity

from .conftest import EXAMPLES

ANTICIPATE = EXAMPLES / "anticipate"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def recipe(name: str) -> Any:
    return load(EXAMPLES / "cookbook" / f"{name}.py", name).main()


# ------------------------------------------------------------------ recipes


def test_forecast_heads_up_comes_first_and_the_refund_follows() -> None:
    assert recipe("forecast_heads_up") == [
        (
            "forecast",
            "Heads-up: order PL-1001 will probably be 1 day and 2 hours late. We're on it."
            " No need to do anything.",
        ),
        (
            "confirmation",
            "Order PL-1001: now 1 day and 2 hours late. We're very sorry. We've refunded"
            " PLN24.90. No need to do anything.",
        ),
    ]


def test_the_third_late_parcel_is_critical() -> None:
    assert recipe("repeat_failures") == [
        ("PL-1001", "minor", ["apology"]),
        ("PL-1002", "minor", ["apology"]),
        ("PL-1003", "critical", ["voucher"]),
    ]


def test_a_gold_customer_gets_twice_the_refund() -> None:
    assert recipe("gold_segment") == {"c-1": "19.90 PLN", "c-2": "39.80 PLN"}


# ------------------------------------------------------------------ the example


def test_the_shipped_events_are_what_make_events_writes(tmp_path: Path) -> None:
    make = load(ANTICIPATE / "make_events.py", "anticipate_make_events")
    make.main(path=tmp_path / "events.jsonl")
    shipped = (ANTICIPATE / "events.jsonl").read_text(encoding="utf-8")
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8") == shipped


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("anticipate") / "ledger.db")
    policy, events = str(ANTICIPATE / "policy.toml"), str(ANTICIPATE / "events.jsonl")
    assert main(["simulate", policy, events, "--store", path, "--json"]) == 0
    return path


def test_a_forecast_that_came_true_gave_one_first_message(store: str) -> None:
    ledger = SQLiteLedger(store)
    try:
        confirmed = {b.subject for b in ledger.breaches() if b.lead_time is not None}
        purposes: dict[str, Counter[str]] = {}
        for entry in ledger.outbox():
            purposes.setdefault(entry.subject, Counter())[entry.purpose] += 1
    finally:
        ledger.close()
    assert len(confirmed) > 50
    for subject in confirmed:
        assert purposes[subject]["forecast"] == 1, subject
        assert purposes[subject]["notice"] == 0, subject


def test_the_third_late_parcel_in_the_window_is_critical(store: str) -> None:
    """Customers with three actual late parcels: the third is critical, however late."""
    ledger = SQLiteLedger(store)
    try:
        actual: dict[str, list[Breach]] = {}
        for breach in ledger.breaches():
            if not breach.forecast:
                actual.setdefault(breach.customer, []).append(breach)
    finally:
        ledger.close()
    thirds = [sorted(b, key=lambda x: x.opened_at)[2] for b in actual.values() if len(b) == 3]
    assert len(thirds) >= 5
    assert {b.severity for b in thirds} == {Severity.CRITICAL}
    seconds = [sorted(b, key=lambda x: x.opened_at)[1] for b in actual.values() if len(b) == 3]
    assert Severity.CRITICAL not in {b.severity for b in seconds}


def test_the_report_shows_paradox_control_and_value_with_intervals(
    store: str, tmp_path: Path
) -> None:
    output = tmp_path / "report.html"
    args = ["report", "--store", store, "--policy", str(ANTICIPATE / "policy.toml")]
    assert main([*args, "--customer-value", "450 PLN", "-o", str(output)]) == 0
    page = output.read_text(encoding="utf-8")
    assert "The recovery paradox" in page
    assert "recovered customers repurchase more often than those who never had a problem" in page
    assert "Control group vs compensated" in page
    assert "more common among customers who got compensation" in page
    assert "value kept at 450.00 PLN a customer" in page
    assert "recovery kept customers the control group lost" in page
    assert page.count("95 % interval") >= 3
    assert "forecasts that came true" in page


def test_the_cookbook_page_shows_what_pxr_metrics_prints(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (EXAMPLES.parent / "docs" / "cookbook" / "proving-recovery.md").read_text("utf-8")
    shown = page.split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    policy = str(ANTICIPATE / "policy.toml")
    assert (
        main(["metrics", "--store", store, "--policy", policy, "--customer-value", "450 PLN"]) == 0
    )
    printed = capsys.readouterr().out.splitlines()
    for line in shown:
        if not line.startswith(("$", "…")):
            assert line in printed, line


def test_simulate_says_which_breaches_were_forecast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy, events = str(ANTICIPATE / "policy.toml"), str(ANTICIPATE / "events.jsonl")
    assert main(["simulate", policy, events, "--store", str(tmp_path / "l.db")]) == 0
    out = capsys.readouterr().out
    assert "breach       O0011-0  parcel-late → minor forecast (customer c0011)" in out
    assert ", forecast 6.0 h earlier (customer c0002)" in out
