"""The HTML report: self-contained, escaped, and rendered by a real browser."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pxr import MemoryLedger, Recovery, Signal
from pxr.cli import main
from pxr.ledger.sqlite import SQLiteLedger
from pxr.report import render_report, week_range

from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from
from .png import Picture, read_png

QUARTER = EXAMPLES / "quarter"
BLUE, GREY = (0x2F, 0x6F, 0xDE), (0x9F, 0xB3, 0xC8)  # the report's "sent" and "waiting"


def dispatch_as_time_goes_by(store: str, folder: Path) -> None:
    """Send the outbox through the console transport, each message in the hour
    it falls due, as a dispatcher running all quarter would."""
    transports = folder / "transports.toml"
    transports.write_text('[sms]\ntransport = "console"\n[email]\ntransport = "console"\n')
    ledger = SQLiteLedger(store)
    hours = sorted(
        {
            (e.send_at + dt.timedelta(minutes=59)).replace(minute=0, second=0)
            for e in ledger.outbox()
        }
    )
    ledger.close()
    policy = str(QUARTER / "policy.toml")
    with contextlib.redirect_stdout(io.StringIO()):
        for hour in hours:
            args = ["--store", store, "--transports", str(transports), "--policy", policy]
            assert main(["dispatch", *args, "--now", hour.isoformat()]) == 0


@pytest.fixture(scope="module")
def sent_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quarter, simulated and then dispatched: every message went out."""
    folder = tmp_path_factory.mktemp("sent")
    store, page = str(folder / "ledger.db"), folder / "report.html"
    with contextlib.redirect_stdout(io.StringIO()):
        simulated = main(
            [
                *("simulate", str(QUARTER / "policy.toml"), str(QUARTER / "events.jsonl")),
                *("--store", store, "--json"),
            ]
        )
    assert simulated == 0
    dispatch_as_time_goes_by(store, folder)
    args = ["--store", store, "--policy", str(QUARTER / "policy.toml"), "-o", str(page)]
    assert main(["report", *args]) == 0
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quarter, simulated only: messages queued, nothing sent."""
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


def cards(page: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="card">([^<]+)<b>([^<]*)</b></div>', page))


def test_the_header_says_which_period_and_which_policy(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "Period: <b>05 Jan 2026 – 31 Mar 2026</b>" in page
    assert "Policy: <b>policy.toml</b>" in page


def test_a_ledger_where_nothing_was_sent_claims_no_first_contact(report: Path) -> None:
    """Messages queued but never sent: no "we were first" and no "0 s to tell
    them"; the report says why."""
    page = report.read_text(encoding="utf-8")
    assert cards(page) == {
        "breaches": "236",
        "messages sent": "0 of 400",
        "we were first": "–",
        "median time to tell them": "–",
        "SMS segments sent": "0",
    }
    assert "No message has been sent yet" in page


def test_the_first_contact_cards_count_sent_messages(sent_report: Path) -> None:
    shown = cards(sent_report.read_text(encoding="utf-8"))
    assert shown["messages sent"] == "400 of 400"
    assert shown["we were first"].endswith("%")
    assert shown["median time to tell them"] != "–"


def test_the_deliveries_section_counts_per_channel(report: Path, sent_report: Path) -> None:
    def row(page: str, channel: str) -> list[str]:
        found = re.search(rf"<tr><td>{channel}</td>((?:<td class=n>\d+</td>)+)</tr>", page)
        assert found is not None
        return re.findall(r"\d+", found.group(1))

    # messages, sent, waiting, dead, other, failed, refused, uncertain
    unsent = report.read_text(encoding="utf-8")
    assert row(unsent, "sms") == ["320", "0", "320", "0", "0", "0", "0", "0"]
    assert row(sent_report.read_text(encoding="utf-8"), "sms") == [
        "320", "320", "0", "0", "0", "0", "0", "0"
    ]  # fmt: skip


def test_weekly_charts_share_one_continuous_axis(report: Path) -> None:
    """Every week of the period is on the axis, those with nothing as zero."""
    page = report.read_text(encoding="utf-8")
    weeks = week_range(dt.date(2026, 1, 5), dt.date(2026, 3, 31))
    charts = re.findall(
        r'<svg role="img" aria-label="Compensation per week in (\w+)".*?</svg>', page
    )
    assert len(charts) >= 3
    for currency in charts:
        chart = re.search(
            rf'aria-label="Compensation per week in {currency}".*?</svg>', page
        ).group(0)  # type: ignore[union-attr]
        titles = re.findall(
            rf"<title>{currency} (\d\d \w\w\w): ([\d,.]+) {currency}</title>", chart
        )
        assert [label for label, _ in titles] == [f"{w:%d %b}" for w in weeks]
    assert "<title>EUR 30 Mar: 0 EUR</title>" in page  # an empty week, shown as zero


def test_every_bar_carries_its_value(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    bars = re.findall(
        r"<title>[^<]*: ([\d,.]+)[^<]*</title></rect><text class=\"v\"[^>]*>([^<]+)<", page
    )
    assert len(bars) == page.count("</title></rect>") > 50
    assert all(value == label for value, label in bars)


def test_week_range_skips_no_week() -> None:
    weeks = week_range(dt.date(2026, 1, 7), dt.date(2026, 2, 2))
    assert weeks == [dt.date(2026, 1, 5) + dt.timedelta(weeks=n) for n in range(5)]


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


def screenshot(page: Path, folder: Path) -> Picture:
    shot = folder / "report.png"
    result = run_chromium(
        "--window-size=1280,3200",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page.as_uri(),
        user_data=folder / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return read_png(shot.read_bytes())


def bands(picture: Picture) -> list[tuple[int, int, str]]:
    """Runs of rows drawn with a wide stretch of the bars' blue or grey:
    (first row, last row, colour), top to bottom. Legend squares and text
    are too narrow to count."""
    found: list[tuple[int, int, str]] = []
    for y in range(picture.height):
        colour = next(
            (
                name
                for name, rgb in (("blue", BLUE), ("grey", GREY))
                if picture.count_in_row(y, rgb) >= 30
            ),
            None,
        )
        if colour is None:
            continue
        if found and found[-1][1] == y - 1 and found[-1][2] == colour:
            found[-1] = (found[-1][0], y, colour)
        else:
            found.append((y, y, colour))
    return [band for band in found if band[1] - band[0] >= 4]


@needs_browser
def test_a_screenshot_shows_the_charts_in_order(sent_report: Path, tmp_path: Path) -> None:
    """Read from the pixels: not blank; the first chart (deliveries) shows
    blue "sent" bars; bar charts follow one another down the page."""
    picture = screenshot(sent_report, tmp_path)
    assert picture.pixel(0, 0) == (255, 255, 255)
    found = bands(picture)
    assert found[0][2] == "blue"
    assert len(found) >= 6  # deliveries, stages, time to tell, three currencies…


@needs_browser
def test_a_screenshot_of_a_ledger_where_nothing_was_sent(report: Path, tmp_path: Path) -> None:
    """The first chart a reader sees is grey ("waiting"), not blue ("sent"):
    at a glance, nothing went out; the stage chart below is still drawn."""
    picture = screenshot(report, tmp_path)
    found = bands(picture)
    assert found[0][2] == "grey"
    assert [colour for *_, colour in found].count("blue") >= 4
