"""One ``Recovery`` shared by many threads, and several writers on one SQLite file.

The Flask recipe is served by a real threaded HTTP server (what ``flask run``
does) and driven by concurrent clients over loopback; the budget race uses
two connections (two ``SQLiteLedger`` objects) on one file, as two processes
would.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import sqlite3
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from pxr import Customer, Recovery, Signal, SQLiteLedger
from pxr.model import Breach
from pxr.plugins import Plugins, module_plugin

from .conftest import EXAMPLES, PARCEL, at, policy_from
from .test_cookbook import load

CLIENTS = 8
POSTS_PER_CLIENT = 40


def post(port: int, body: bytes) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/webhooks/carrier", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, None


def test_the_flask_recipe_under_a_threaded_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No 500 for valid input, a clear 4xx for bad input, and every action a
    response reported is in the ledger afterwards."""
    monkeypatch.setenv("PXR_POLICY", str(EXAMPLES / "parcel" / "policy.toml"))
    monkeypatch.setenv("PXR_LEDGER", str(tmp_path / "ledger.db"))
    recipe = load(EXAMPLES / "embed" / "flask_app.py")
    server = make_server("127.0.0.1", 0, recipe.app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    results: list[tuple[str, int, Any]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(number)
        for i in range(POSTS_PER_CLIENT):
            customer = rng.choice(["c-anna", "c-sanne"])
            event = {
                "customer_id": customer,
                "order_id": f"O-{rng.randrange(60)}",  # clients collide on orders on purpose
                "delay_hours": rng.choice([2, 26, 30, 200]),
                "reported_at": (at() + dt.timedelta(minutes=i)).isoformat(),
                "order_total": "100.00",
                "currency": "PLN",
            }
            kind = rng.choice(["good", "good", "good", "missing", "naive", "not json"])
            if kind == "missing":
                del event["order_id"]
            elif kind == "naive":
                event["reported_at"] = "2026-03-03T09:00:00"
            body = b"{not json" if kind == "not json" else json.dumps(event).encode()
            status, data = post(server.port, body)
            with lock:
                results.append((kind, status, data))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
        serving.join()
    assert len(results) == CLIENTS * POSTS_PER_CLIENT
    statuses = Counter((kind, status) for kind, status, _ in results)
    assert {status for (kind, status) in statuses if kind == "good"} == {200}, statuses
    assert {status for (kind, status) in statuses if kind in ("missing", "not json")} == {400}
    assert {status for (kind, status) in statuses if kind == "naive"} == {422}
    reported = [action for kind, _, data in results if kind == "good" for action in data]
    assert reported, "the workload opened breaches"
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        breaches = {(b.threshold, b.subject) for b in ledger.breaches()}
        paid = {
            (r.threshold, r.subject, str(r.severity), r.compensation.kind)
            for r in ledger.compensations()
        }
        queued = Counter(e.subject for e in ledger.outbox())
    finally:
        ledger.close()
    for action in reported:
        key = (action["threshold"], action["subject"])
        match action["action"]:
            case "breach" | "escalation":
                assert key in breaches
            case "compensation":
                assert (*key, action["severity"], action["kind"]) in paid
    messages = Counter(a["subject"] for a in reported if a["action"] == "message")
    assert messages == queued, "every message a response reported is queued, once"
    opened = Counter(a["subject"] for a in reported if a["action"] == "breach")
    assert all(count == 1 for count in opened.values()), "no breach was reported twice"


BUDGET = PARCEL.replace(
    'currency = "PLN"',
    'currency = "PLN"\nlimits = { compensation_per_30_days = "100.00" }',
).replace(
    'compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }',
    'compensation.major = { kind = "refund", percent = 30, of = "order_total" }',
)

ANNA = Customer(id="c-anna", locale="pl-PL", timezone="Europe/Warsaw", phone="+48512345678")


@pytest.mark.parametrize("round_", range(5))
def test_two_connections_racing_for_one_budget_never_exceed_it(tmp_path: Path, round_: int) -> None:
    """Each order would be refunded 30.00 PLN; the budget is 100.00 PLN a month.
    Two writers, each with its own connection, race over ten orders: at most
    three refunds go out, whatever the interleaving."""
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        ledger = SQLiteLedger(path)
        recovery = Recovery(policy_from(BUDGET), ledger, customers=[ANNA])
        barrier.wait()
        try:
            for i in range(offset, 10, 2):
                recovery.observe(
                    Signal(
                        customer="c-anna",
                        subject=f"PL-{i}",
                        metric="delivery_delay",
                        value=30,
                        at=at(2, 10, i),
                        context={"order_total": "100.00"},
                    )
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            ledger.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite3.connect(path) as db:
        amounts = [Decimal(a) for (a,) in db.execute("SELECT amount FROM compensations")]
        breaches = db.execute("SELECT COUNT(*) FROM breaches").fetchone()[0]
        suppressed = db.execute(
            "SELECT COUNT(*) FROM suppressions WHERE kind = 'budget'"
        ).fetchone()[0]
    assert breaches == 10
    assert sum(amounts) <= Decimal(100)
    assert amounts == [Decimal("30.00")] * 3
    assert suppressed == 7


def test_hooks_see_their_breach_from_another_connection(tmp_path: Path) -> None:
    """``breach_opened`` runs after the commit: a second connection already sees
    the breach, also when the caller (here as ``pxr simulate`` does) holds the
    transaction around several signals."""
    path = tmp_path / "ledger.db"
    seen: list[bool] = []

    def breach_opened(breach: Breach) -> None:
        with sqlite3.connect(path) as other:
            found = other.execute(
                "SELECT COUNT(*) FROM breaches WHERE subject = ?", (breach.subject,)
            ).fetchone()[0]
        seen.append(found == 1)

    plugins = Plugins(load_entry_points=False)
    plugins.add(module_plugin("observer", breach_opened=breach_opened))
    ledger = SQLiteLedger(path)
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA], plugins=plugins)
    with ledger.transaction():
        for n in range(6):
            recovery.observe(
                Signal(
                    customer="c-anna",
                    subject=f"PL-{n}",
                    metric="delivery_delay",
                    value=2,
                    at=at(),
                )
            )
        assert seen == [], "no hook runs while the caller's transaction is open"
    assert seen == [True] * 6

    def fails() -> None:
        with ledger.transaction():
            recovery.observe(
                Signal(customer="c-anna", subject="PL-X", metric="delivery_delay", value=2, at=at())
            )
            raise RuntimeError("the host's own work failed")

    with pytest.raises(RuntimeError):
        fails()
    assert len(seen) == 6, "no hook for work that rolled back"
    ledger.close()
