"""pxr in Celery: observe signals in a task, drain the outbox on a schedule.

Each worker process builds its own ``Recovery`` on the shared ledger (``PXR_LEDGER``:
a SQLite file, or ``postgresql://…`` for workers on several hosts); customers
come from your database (``customers=``), never from the task's caller; the
outbox's leases make it safe for several workers to dispatch at once.
"""

import datetime as dt
import os
from typing import Any

from celery import Celery

from pxr import Customer, Recovery, Signal, load_policy, open_ledger
from pxr.transports import load_transports

app = Celery(
    "recovery",
    broker=os.environ.get("CELERY_BROKER_URL", "memory://"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://"),
)
app.conf.beat_schedule = {"dispatch": {"task": "celery_tasks.dispatch", "schedule": 60.0}}

#: Stands in for your own customer table.
YOUR_CUSTOMERS = {
    "c-anna": {"locale": "pl-PL", "timezone": "Europe/Warsaw", "phone": "+48512345678"},
    "c-ivan": {"locale": "bg-BG", "timezone": "Europe/Sofia", "email": "ivan@example.bg"},
}


def customer_from_your_database(customer_id: str) -> Customer | None:
    """Your app knows its customers; pxr only needs these fields (``None``: unknown)."""
    row = YOUR_CUSTOMERS.get(customer_id)
    if row is None:
        return None
    return Customer(
        id=customer_id,
        locale=row["locale"],
        timezone=row["timezone"],
        phone=row.get("phone"),
        email=row.get("email"),
    )


_recovery: Recovery | None = None


def recovery() -> Recovery:
    """One Recovery per worker process, created on first use."""
    global _recovery  # noqa: PLW0603 - a per-process singleton, as Celery workers need
    if _recovery is None:
        # A ledger URL: postgresql://… shared by workers on several hosts, or a
        # SQLite file (the default) for workers on one host.
        ledger = open_ledger(os.environ.get("PXR_LEDGER", "pxr-ledger.db"))
        policy = load_policy(os.environ.get("PXR_POLICY", "policy.toml"))
        _recovery = Recovery(policy, ledger, customers=customer_from_your_database)
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
