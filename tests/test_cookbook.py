"""Every cookbook recipe in examples/ runs, and does what its page says."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import EXAMPLES

ROOT = EXAMPLES.parent


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def recipe(name: str) -> Any:
    return load(EXAMPLES / "cookbook" / f"{name}.py").main()


def test_parcel_refund() -> None:
    assert recipe("parcel_refund") == ["breach", "compensation", "message"]


def test_flight_eu261_pays_600_and_a_meal() -> None:
    assert recipe("flight_eu261") == {"eu261": "600.00", "gift": "15.00"}


def test_hotel_gifts_in_the_guest_language() -> None:
    assert recipe("hotel_gift") == [
        "o sticlă de vin în cameră",
        "o cameră superioară în noaptea aceasta",
    ]


def test_support_queue_says_the_wait_exactly() -> None:
    assert "52 minutes" in recipe("support_queue")


def test_survey_follow_up_is_prioritized_and_handed_over() -> None:
    (ticket,) = recipe("survey_followup")
    assert (ticket["team"], ticket["priority"], ticket["due"]) == (
        "care",
        1,
        "2026-03-06T09:00:00+00:00",
    )


def test_escalation_to_a_person_then_an_adr_body() -> None:
    assert recipe("escalation_adr") == [
        ("duty-manager", "PL-9"),
        ("adr:consumer-arbitration", "PL-9"),
    ]


def test_quickstart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples" / "parcel").mkdir(parents=True)
    (tmp_path / "examples" / "parcel" / "policy.toml").write_bytes(
        (EXAMPLES / "parcel" / "policy.toml").read_bytes()
    )
    load(EXAMPLES / "embed" / "quickstart.py")
    assert "'action': 'breach'" in capsys.readouterr().out
    assert (tmp_path / "pxr-ledger.db").exists()


def test_flask_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PXR_POLICY", str(EXAMPLES / "parcel" / "policy.toml"))
    monkeypatch.setenv("PXR_LEDGER", str(tmp_path / "ledger.db"))
    client = load(EXAMPLES / "embed" / "flask_app.py").app.test_client()
    event = {
        "customer_id": "c-sanne",
        "order_id": "NL-3001",
        "delay_hours": 26,
        "reported_at": "2026-03-03T09:00:00+01:00",
        "order_total": "59.95",
        "currency": "EUR",
    }
    first = client.post("/webhooks/carrier", json=event)
    assert first.status_code == 200
    assert [a["action"] for a in first.get_json()] == ["breach", "compensation", "message"]
    assert client.post("/webhooks/carrier", json=event).get_json() == []  # a retry adds nothing
    bad = client.post("/webhooks/carrier", json={**event, "reported_at": "2026-03-03T09:00:00"})
    assert bad.status_code == 422
    missing = {k: v for k, v in event.items() if k != "order_id"}
    assert client.post("/webhooks/carrier", json=missing).status_code == 400
    assert client.post("/webhooks/carrier", data="not json").status_code == 400
    stranger = client.post("/webhooks/carrier", json={**event, "customer_id": "c-nobody"})
    assert stranger.status_code == 422
    assert b"unknown customer" in stranger.data
    assert client.get("/customers/c-sanne/may-survey").get_json() == {"allowed": True}


def test_celery_tasks_run_in_a_real_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe as shipped: the worker finds the customer in the recipe's own directory."""
    from celery.contrib.testing.worker import start_worker  # noqa: PLC0415

    from pxr.testing import RecordingNotifier  # noqa: PLC0415

    monkeypatch.setenv("PXR_POLICY", str(EXAMPLES / "parcel" / "policy.toml"))
    monkeypatch.setenv("PXR_LEDGER", str(tmp_path / "ledger.db"))
    tasks = load(EXAMPLES / "embed" / "celery_tasks.py")
    sms = RecordingNotifier("sms")
    tasks.recovery().notifiers["sms"] = sms
    noon_yesterday = dt.datetime.combine(
        dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC
    )  # outside quiet hours, and already due
    signal = {
        "customer": "c-anna",
        "subject": "PL-1",
        "metric": "delivery_delay",
        "value": 30,
        "at": noon_yesterday.isoformat(),
        "context": {"order_total": "100.00"},
    }
    root_level = logging.getLogger().level
    monkeypatch.setattr(logging.getLogger(), "level", root_level)  # the worker sets its own
    with start_worker(tasks.app, pool="threads", concurrency=2, perform_ping_check=False):
        actions = tasks.observe.delay(signal).get(timeout=60)
        assert [a["action"] for a in actions] == ["breach", "compensation", "message"]
        assert tasks.observe.delay(signal).get(timeout=60) == []  # a redelivery adds nothing
        assert tasks.dispatch.delay().get(timeout=60) == {"sent": 1, "retried": 0, "dead": 0}
    assert sms.sent[0].to == "+48512345678"
    assert "PL-1" in sms.sent[0].text
    assert os.path.exists(tmp_path / "ledger.db")
