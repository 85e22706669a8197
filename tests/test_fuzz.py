"""Fuzzing the boundary: hostile policies, events lines and API arguments never crash pxr.

Each test says which errors may come out (only :mod:`pxr.errors` ones). The
default run is small and fast; ``scripts/fuzz.py`` (which ``.ci/run`` calls)
sets ``PXR_FUZZ_EXAMPLES`` for a deeper run. Every crash a run ever found is
a case in ``tests/test_bad_input.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxr import Customer, MemoryLedger, Recovery, Signal
from pxr.cli import main
from pxr.errors import EventError, PolicyError, PxrError, ValidationError
from pxr.events import read_events
from pxr.policy import loads_policy

from .fuzz_strategies import (
    FLIGHT_EVENTS,
    FLIGHT_POLICY,
    PARCEL_EVENTS,
    PARCEL_POLICY,
    api_values,
    events_lines,
    policy_texts,
)

EXAMPLES = int(os.environ.get("PXR_FUZZ_EXAMPLES", "40"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
POLICIES = {"parcel": loads_policy(PARCEL_POLICY), "flight": loads_policy(FLIGHT_POLICY)}
EVENTS = {"parcel": PARCEL_EVENTS, "flight": FLIGHT_EVENTS}


@fuzz
@given(policy_texts())
def test_a_mutated_policy_loads_or_raises_a_policy_error(text: str) -> None:
    error: PolicyError | None = None
    try:
        loads_policy(text, name="p.toml")
    except PolicyError as caught:
        error = caught
    assert error is None or error.path == "p.toml"


@fuzz
@given(st.sampled_from(sorted(EVENTS)), st.data())
def test_a_mutated_policy_that_loads_runs_its_events_with_only_pxr_errors(
    example: str, data: st.DataObject
) -> None:
    """A value that passes loading must not crash the engine later (rendering, compensation)."""
    text = data.draw(policy_texts(PARCEL_POLICY if example == "parcel" else FLIGHT_POLICY))
    try:
        policy = loads_policy(text)
    except PolicyError:
        return
    recovery = Recovery(policy, MemoryLedger())
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "events.jsonl"
        path.write_text("\n".join(EVENTS[example]) + "\n", encoding="utf-8")
        for _, item in read_events(path):
            assert not isinstance(item, EventError)
            with contextlib.suppress(PxrError):
                recovery.handle(item)


@fuzz
@given(st.sampled_from(sorted(EVENTS)), events_lines(), st.integers(min_value=0, max_value=30))
def test_a_hostile_events_line_costs_that_line_and_nothing_else(
    example: str, line: str, position: int
) -> None:
    """The reader yields an error for the line or an event; the engine raises only PxrError."""
    lines = list(EVENTS[example])
    lines.insert(min(position, len(lines)), line)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "events.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        results = list(read_events(path))
    assert len(results) == len(lines)
    recovery = Recovery(POLICIES[example], MemoryLedger())
    for _, item in results:
        if isinstance(item, EventError):
            continue
        with contextlib.suppress(PxrError):
            recovery.handle(item)


SIGNAL_FIELDS: dict[str, Any] = {
    "customer": "c-anna",
    "subject": "PL-1",
    "metric": "delivery_delay",
    "value": 26,
    "at": dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC),
    "context": {"order_total": "249.00", "currency": "PLN"},
}


def _times() -> st.SearchStrategy[object]:
    zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=14)), None])
    return st.one_of(
        api_values,
        st.builds(
            lambda moment, zone: moment.replace(tzinfo=zone),
            st.datetimes(),
            zones,
        ),
    )


@fuzz
@given(st.sampled_from(sorted(SIGNAL_FIELDS)), st.one_of(api_values, _times()))
def test_signal_and_observe_raise_only_validation_errors(field: str, value: object) -> None:
    try:
        signal = Signal(**{**SIGNAL_FIELDS, field: value})
    except ValidationError:
        return
    recovery = Recovery(POLICIES["parcel"], customers=[Customer(id="c-anna")])
    with contextlib.suppress(PxrError):
        recovery.observe(signal)


CUSTOMER_FIELDS = ("id", "locale", "timezone", "name", "phone", "email", "channels", "opt_out")


@fuzz
@given(st.sampled_from(CUSTOMER_FIELDS), api_values)
def test_customer_raises_only_validation_errors(field: str, value: object) -> None:
    fields: dict[str, Any] = {"id": "c-anna", field: value}
    try:
        customer = Customer(**fields)
    except ValidationError as error:
        text = str(error)
    else:
        # The id is shown in a repr on purpose (it is how the host names the customer).
        text = repr(attrs.evolve(customer, id="c-anna"))
    assert "512345" not in text  # a phone number is never echoed
    assert "anna.k" not in text  # nor an e-mail address


@fuzz
@given(_times())
def test_the_engines_timed_calls_raise_only_pxr_errors(at: object) -> None:
    recovery = Recovery(POLICIES["parcel"], customers=[Customer(id="c-anna")])
    with contextlib.suppress(PxrError):
        recovery.resolve("PL-1", at)  # type: ignore[arg-type]
    with contextlib.suppress(PxrError):
        recovery.complaint("c-anna", "PL-1", at)  # type: ignore[arg-type]


#: Random by design (a voucher's code, and the message text that quotes it).
_RANDOM_COLUMNS = {"code", "body"}


def _ledger_rows(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every recorded decision, without the columns that are random by design."""
    found = {}
    with sqlite3.connect(store) as db:
        for table in ("breaches", "compensations", "outbox", "suppressions", "events"):
            cursor = db.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            names = [c[0] for c in cursor.description]
            keep = [i for i, name in enumerate(names) if name not in _RANDOM_COLUMNS]
            found[table] = sorted(
                tuple(_without_codes(row[i]) if names[i] == "content" else row[i] for i in keep)
                for row in cursor
            )
    return found


def _without_codes(content: str | None) -> str | None:
    """A message's content with its voucher codes (random by design) left out."""
    if content is None:
        return None
    data = json.loads(content)
    for compensation in data["compensations"]:
        compensation["code"] = None
    return json.dumps(data, sort_keys=True)


@settings(fuzz, max_examples=max(EXAMPLES // 4, 5))
@given(events_lines(), st.integers(min_value=0, max_value=20))
def test_the_cli_reports_a_hostile_line_and_the_ledger_equals_a_run_without_it(
    line: str, position: int
) -> None:
    """No traceback, exit 0 or 1, each error one line on stderr; no half-written ledger."""
    lines = list(PARCEL_EVENTS)
    position = min(position, len(lines))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        dirty, clean = root / "dirty.jsonl", root / "clean.jsonl"
        dirty.write_text(
            "\n".join([*lines[:position], line, *lines[position:]]) + "\n", encoding="utf-8"
        )
        clean.write_text("\n".join(lines) + "\n", encoding="utf-8")
        policy = root / "policy.toml"
        policy.write_text(PARCEL_POLICY, encoding="utf-8")
        err = root / "err.txt"
        dirty_run = ["simulate", str(policy), str(dirty), "--json", "--store", str(root / "d.db")]
        status = _run_main(dirty_run, err)
        assert status in (0, 1)
        report = err.read_text(encoding="utf-8")
        assert "Traceback" not in report
        assert all(text.startswith(f"pxr: {dirty}:") for text in report.splitlines())
        if status == 1:
            # The hostile line was rejected as a whole: the ledger is the clean run's.
            clean_run = ["simulate", str(policy), str(clean), "--store", str(root / "c.db")]
            assert _run_main(clean_run, root / "clean-err.txt") == 0
            assert _ledger_rows(root / "d.db") == _ledger_rows(root / "c.db")


def _run_main(argv: list[str], err: Path) -> int:
    """``main(argv)`` with stdout discarded and stderr written to ``err``."""
    with (
        err.open("w", encoding="utf-8") as stream,
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(stream),
    ):
        return main(argv)
