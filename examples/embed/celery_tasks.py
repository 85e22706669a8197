"""pxr in Celery: observe signals in a task, drain the outbox on a schedule.

Each worker process builds its own ``Recovery`` on the shared ledger; the
outbox's leases make it safe for several workers to dispatch at once.
"""

import datetime as dt
import os
from typing import Any

from celery import Celery

from pxr import Recovery, Signal, SQLiteLedger, load_policy
from pxr.transports import load_transports

app = Celery("recovery", broker=os.environ.get("CELERY_BROKER_URL", "memory://"))
app.conf.beat_schedule = {"dispatch": {"task": "celery_tasks.dispatch", "schedule": 60.0}}

_recovery: Recovery | None = None


def recovery() -> Recovery:
    """One Recovery per worker process, created on first use."""
    global _recovery  # noqa: PLW0603 - a per-process singleton, as Celery workers need
    if _recovery is None:
        ledger = SQLiteLedger(os.environ.get("PXR_LEDGER", "pxr-ledger.db"))
        _recovery = Recovery(load_policy(os.environ.get("PXR_POLICY", "policy.toml")), ledger)
        transports = os.environ.get("PXR_TRANSPORTS")
        if transports:
            _recovery.notifiers.update(load_transports(transports, _recovery.plugins.registry))
    return _recovery


@app.task(name="celery_tasks.observe")
def observe(signal: dict[str, Any]) -> list[dict[str, Any]]:
    """A signal, as JSON from the producer, in; the actions out."""
    actions = recovery().observe(
        Signal(
            customer=signal["customer"],
            subject=signal["subject"],
            metric=signal["metric"],
            value=signal["value"],
            at=dt.datetime.fromisoformat(signal["at"]),
            context=signal.get("context", {}),
        )
    )
    return [action.to_dict() for action in actions]


@app.task(name="celery_tasks.dispatch")
def dispatch() -> dict[str, int]:
    """Send what is due (quiet hours over, retries due)."""
    report = recovery().dispatch_pending()
    return {"sent": report.sent, "retried": report.retried, "dead": report.dead}
