"""The example helpdesk plugin (examples/pxr-helpdesk) against a helpdesk on loopback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pxr import Case, CaseStatus, MemoryLedger, Plugins, Recovery, Signal
from pxr.testing import RecordingNotifier
from tests.conftest import ANNA, PARCEL, at, policy_from
from tests.servers import basic_auth, fake_provider

SOURCE = Path(__file__).parent.parent / "examples" / "pxr-helpdesk" / "src" / "pxr_helpdesk"
CASES = '\n[cases]\ncountry = "PL"\nteam = "care"\n'


@pytest.fixture(scope="module")
def helpdesk() -> ModuleType:
    """The plugin as shipped (not installed by the project's set-up)."""
    spec = importlib.util.spec_from_file_location("pxr_helpdesk", SOURCE / "__init__.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pxr_helpdesk"] = module
    spec.loader.exec_module(module)
    return module


def recovery_with(plugin: object) -> Recovery:
    plugins = Plugins(load_entry_points=False)
    plugins.add(plugin, name="helpdesk", origin="test")
    return Recovery(
        policy_from(PARCEL + CASES),
        MemoryLedger(),
        plugins=plugins,
        customers=[ANNA],
        notifiers={"sms": RecordingNotifier("sms")},
    )


def test_a_complaint_after_our_notice_opens_one_ticket(helpdesk: ModuleType) -> None:
    with fake_provider((201, {"ticket": {"id": 35436}})) as desk:
        recovery = recovery_with(helpdesk.HelpdeskTickets(desk.url, "care@shop.example", "t0k3n"))
        recovery.observe(Signal("c-anna", "PL-1001", "delivery_delay", 2, at(2)))
        recovery.dispatch_pending(at(2, 11))  # we told her first
        recovery.complaint("c-anna", "PL-1001", at(3))
        recovery.complaint("c-anna", "PL-1001", at(3))
    (request,) = desk.requests
    assert request.path == "/api/v2/tickets.json"
    assert basic_auth(request) == ("care@shop.example/token", "t0k3n")
    ticket = request.json()["ticket"]
    case = recovery.ledger.cases()[0]
    assert ticket["external_id"] == case.id
    assert ticket["group_name"] == "care"
    assert ticket["due_at"] == case.due_at.isoformat()
    assert "deems the complaint accepted" in ticket["comment"]["body"]
    assert "anna@example.pl" not in request.body.decode(), "no contact details in the ticket"


def test_a_refused_ticket_is_reported_and_the_case_stays(helpdesk: ModuleType) -> None:
    with fake_provider((422, {"error": "RecordInvalid"})) as desk:
        recovery = recovery_with(helpdesk.HelpdeskTickets(desk.url, "care@shop.example", "t0k3n"))
        recovery.observe(Signal("c-anna", "PL-1001", "delivery_delay", 2, at(2)))
        recovery.dispatch_pending(at(2, 11))
        recovery.complaint("c-anna", "PL-1001", at(3))
    assert recovery.plugins.broken["helpdesk"] == "failed in case_handed_over: HelpdeskError"
    assert len(recovery.ledger.cases()) == 1, "the case is in the work queue all the same"


def test_the_installed_plugin_says_which_settings_are_missing(
    helpdesk: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PXR_HELPDESK_TOKEN", raising=False)
    monkeypatch.setenv("PXR_HELPDESK_URL", "https://desk.example")
    monkeypatch.setenv("PXR_HELPDESK_EMAIL", "care@shop.example")
    case = Case(
        id="K-1",
        customer="c-anna",
        subject="PL-1001",
        origin="complaint",
        status=CaseStatus.OPEN,
        opened_at=at(2),
        due_at=at(16),
        updated_at=at(2),
    )
    with pytest.raises(helpdesk.HelpdeskError, match="PXR_HELPDESK_TOKEN"):
        helpdesk.case_handed_over(case, "complaint")
