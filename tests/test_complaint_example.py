"""examples/complaint: a complaint end to end, as the cookbook page shows it,
through the Python API and through ``pxr simulate`` and ``pxr tasks``."""

from __future__ import annotations

import json
import runpy
import threading
from pathlib import Path

import pytest

from pxr import SQLiteLedger
from pxr.cli import main
from pxr.ledger import CaseStatus

EXAMPLE = Path(__file__).parent.parent / "examples" / "complaint"
POLICY = str(EXAMPLE / "policy.toml")
EVENTS = str(EXAMPLE / "events.jsonl")
ANNA, TOM, IVAN = "K-B5C8BD6385", "K-4ABEDF49AD", "K-27616E5F6A"


def test_the_python_recipe_runs_the_story() -> None:
    story = runpy.run_path(str(EXAMPLE / "complaint.py"))["main"]()
    assert story["waiting for approval"] == [TOM]
    assert story["cases"] == {ANNA: "offered", TOM: "referred", IVAN: "accepted"}
    assert story["warned"] == (IVAN,)
    assert "https://polubowne.uokik.gov.pl" in str(story["referral"])


def pxr(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def acting(store: Path, now: str) -> list[str]:
    return ["--store", str(store), "--policy", POLICY, "--customers", EVENTS, "--now", now]


def test_the_commands_of_the_cookbook_page_run_the_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "complaint.db"
    pxr(capsys, "simulate", POLICY, EVENTS, "--store", str(store))
    listed = pxr(capsys, "tasks", "--store", str(store), "--now", "2026-03-05T09:00:00+01:00")
    assert [line.split()[1] for line in listed.splitlines()] == [ANNA, TOM, IVAN]
    now = "2026-03-05T09:10:00+01:00"
    offered = ["tasks", "offer", ANNA, "40.00", "--kind", "voucher", "--by", "ola"]
    assert "offered" in pxr(capsys, *offered, "--role", "agent", *acting(store, now))
    waits = ["tasks", "offer", TOM, "120.00", "--by", "ola", "--role", "agent"]
    assert "awaiting approval" in pxr(capsys, *waits, *acting(store, now))
    queue = pxr(capsys, "tasks", "--approvals", "--json", "--store", str(store), "--now", now)
    assert [json.loads(line)["id"] for line in queue.splitlines()] == [TOM]
    later = "2026-03-05T11:00:00+01:00"
    assert main(["tasks", "approve", TOM, "--by", "ola", "--role", "agent", *acting(store, later)])
    capsys.readouterr()
    approve = ["tasks", "approve", TOM, "--by", "piotr", "--role", "supervisor"]
    assert "offered" in pxr(capsys, *approve, *acting(store, later))
    pxr(capsys, "tasks", "answer", TOM, "rejected", *acting(store, "2026-03-06T10:00:00+01:00"))
    refer = ["tasks", "refer", TOM, "--by", "piotr"]
    assert "referred" in pxr(capsys, *refer, *acting(store, "2026-03-06T11:00:00+01:00"))
    swept = pxr(capsys, "tasks", "sweep", *acting(store, "2026-03-15T09:00:00+01:00"))
    assert swept == "warned 1, deemed accepted 0, referred 0\n"
    overdue = ["tasks", "--overdue", "--store", str(store), "--now", "2026-03-19T09:00:00+01:00"]
    assert [line.split()[1] for line in pxr(capsys, *overdue).splitlines()] == [IVAN]
    pxr(capsys, "tasks", "sweep", *acting(store, "2026-03-19T09:00:00+01:00"))
    ledger = SQLiteLedger(store)
    try:
        statuses = {c.id: c.status for c in ledger.cases()}
        assert statuses == {
            ANNA: CaseStatus.OFFERED,
            TOM: CaseStatus.REFERRED,
            IVAN: CaseStatus.ACCEPTED,
        }
        assert sorted(r.compensation.kind for r in ledger.compensations()) == [
            "apology",
            "refund",
            "voucher",
        ]
        purposes = [e.purpose for e in ledger.outbox()]
        assert purposes == ["notice", "offer", "offer", "referral"]
    finally:
        ledger.close()
    counted = json.loads(pxr(capsys, "metrics", "--store", str(store), "--json"))["cases"]
    assert counted == {
        "opened": 3,
        "missed": 2,
        "open_now": 1,
        "answered_in_time": 2,
        "referred": 1,
        "deemed_accepted": 1,
        "approvals": 1,
        "approval_hours": pytest.approx(1 + 50 / 60),
    }
    page = tmp_path / "report.html"
    pxr(capsys, "report", "--store", str(store), "-o", str(page))
    assert "People in the loop" in page.read_text(encoding="utf-8")


def test_replaying_the_story_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "complaint.db"
    now = "2026-03-05T09:10:00+01:00"
    offered = ["tasks", "offer", ANNA, "40.00", "--kind", "voucher", "--by", "ola"]
    for _ in range(2):
        pxr(capsys, "simulate", POLICY, EVENTS, "--store", str(store))
        pxr(capsys, *offered, "--role", "agent", *acting(store, now))
        pxr(capsys, "tasks", "sweep", *acting(store, "2026-03-15T09:00:00+01:00"))
    ledger = SQLiteLedger(store)
    try:
        assert len(ledger.cases()) == 3
        assert len(list(ledger.compensations())) == 2
        assert len(list(ledger.outbox())) == 2
        assert [e.kind for e in ledger.case_events(IVAN)].count("deadline near") == 1
    finally:
        ledger.close()


def test_workers_sweeping_at_once_hand_over_once(tmp_path: Path) -> None:
    store = tmp_path / "complaint.db"
    assert main(["simulate", POLICY, EVENTS, "--store", str(store)]) == 0
    start = threading.Barrier(4)
    statuses: list[int] = []

    def work() -> None:
        start.wait()
        statuses.append(main(["tasks", "sweep", *acting(store, "2026-03-15T09:00:00+01:00")]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [0, 0, 0, 0]
    ledger = SQLiteLedger(store)
    try:
        kinds = [e.kind for e in ledger.case_events()]
        assert kinds.count("deadline near") == 3
        # The three deadlines. (Tom's complaint came after our notice was queued,
        # but a simulation sends nothing: we were not first, so no hand-over for it.)
        assert kinds.count("handed over") == 3
    finally:
        ledger.close()


def test_tasks_errors_say_what_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "complaint.db"
    assert main(["tasks", "--store", str(store)]) == 2
    assert "no such ledger file" in capsys.readouterr().err
    pxr(capsys, "simulate", POLICY, EVENTS, "--store", str(store))
    offered = ["tasks", "offer", "K-NOPE", "10", "--by", "ola", "--role", "agent"]
    assert main([*offered, *acting(store, "2026-03-05T09:00:00+01:00")]) == 2
    assert "no case 'K-NOPE'" in capsys.readouterr().err
    no_policy = [
        "tasks",
        "approve",
        ANNA,
        "--by",
        "p",
        "--role",
        "supervisor",
        "--store",
        str(store),
    ]
    assert main(no_policy) == 2
    assert "--policy" in capsys.readouterr().err
    assert main(["tasks", "--store", str(store), "--now", "yesterday"]) == 2
    assert "ISO 8601" in capsys.readouterr().err
