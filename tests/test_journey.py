from __future__ import annotations

from pathlib import Path

import pytest

from pxr import MemoryLedger, Recovery, Signal, load_policy
from pxr.cli import main
from pxr.journey import NO_STAGE, format_journey, journey

from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from


def test_stages_in_order_with_their_thresholds() -> None:
    rows = journey(load_policy(EXAMPLES / "parcel" / "policy.toml"))
    assert [(r.name, r.thresholds) for r in rows] == [
        ("checkout", ()),
        ("delivery", ("parcel-late",)),
        ("aftercare", ("support-wait", "survey-low")),
    ]
    text = format_journey(rows, with_ledger=False)
    assert text.startswith("1. checkout — from basket to payment\n     watching: nothing yet")


def test_breaches_and_cost_per_stage() -> None:
    ledger = MemoryLedger()
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    for subject in ("A", "B"):
        recovery.observe(
            Signal(
                customer="c-anna",
                subject=subject,
                metric="delivery_delay",
                value=30,
                at=at(),
                context={"order_total": "100.00"},
            )
        )
    (delivery,) = journey(policy_from(PARCEL), ledger)
    assert delivery.breaches == 2
    assert [(c, str(a)) for c, a in delivery.cost] == [("PLN", "20.00")]


def test_thresholds_without_a_stage_come_last() -> None:
    text = PARCEL.replace('stage = "delivery"\n', "")
    assert [r.name for r in journey(policy_from(text))] == [NO_STAGE]


def test_pxr_journey_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(EXAMPLES / "parcel" / "policy.toml")
    store = str(tmp_path / "ledger.db")
    main(
        ["simulate", policy, str(EXAMPLES / "parcel" / "events.jsonl"), "--store", store, "--json"]
    )
    capsys.readouterr()
    assert main(["journey", policy, "--store", store]) == 0
    out = capsys.readouterr().out
    assert "2. delivery — from dispatch to the doorstep" in out
    assert "breaches: 4   compensation: 14.99 EUR, 24.90 PLN, 84.00 RON" in out
