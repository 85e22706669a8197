"""The HTML report: self-contained, escaped, and rendered by a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pxr import MemoryLedger, Recovery, Signal
from pxr.cli import main
from pxr.report import render_report

from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from

QUARTER = EXAMPLES / "quarter"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    store, page = str(folder / "ledger.db"), folder / "report.html"
    assert (
        main(
            [
                "simulate",
                str(QUARTER / "policy.toml"),
                str(QUARTER / "events.jsonl"),
                "--store",
                store,
                "--json",
            ]
        )
        == 0
    )
    assert (
        main(
            ["report", "--store", store, "--policy", str(QUARTER / "policy.toml"), "-o", str(page)]
        )
        == 0
    )
    return page


def test_the_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    assert not re.search(r"\b(src|href)=", page)
    assert page.count("<svg") >= 6


def test_the_report_answers_the_questions(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for heading in (
        "breaches per journey stage",
        "time from breach to first message",
        "First-contact rate per week",
        "compensation per week",
        "Control group vs compensated",
        "follow-ups",
    ):
        assert heading in page
    assert "parcel-late: repurchase" in page


def test_values_from_signals_are_escaped() -> None:
    ledger = MemoryLedger()
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(
        Signal(
            customer="c-anna",
            subject="<script>alert(1)</script>",
            metric="delivery_delay",
            value=30,
            at=at(),
            context={"order_total": "10.00"},
        )
    )
    page = render_report(ledger, policy_from(PARCEL.replace('"delivery"', '"<b>delivery</b>"', 1)))
    assert "<script>" not in page
    assert "&lt;b&gt;delivery&lt;/b&gt;" in page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(*args: str, user_data: Path) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    assert browser is not None
    return subprocess.run(  # noqa: S603 - a fixed browser binary on a local file
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={user_data}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


needs_browser = pytest.mark.skipif(
    chromium() is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (CI installs it: see .ci/run)",
)


@needs_browser
def test_a_real_browser_renders_every_chart(report: Path, tmp_path: Path) -> None:
    result = run_chromium("--dump-dom", report.as_uri(), user_data=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count("<svg") >= 6
    assert dom.count("<rect") > 30
    assert '<path d="M' in dom  # the first-contact line was drawn


@needs_browser
def test_a_real_browser_takes_a_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = run_chromium(
        "--window-size=1100,2400",
        f"--screenshot={shot}",
        report.as_uri(),
        user_data=tmp_path / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a page with charts, not a blank one
