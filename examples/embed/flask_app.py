"""pxr inside a Flask app: the carrier's webhook reports a delay, pxr decides.

One ``Recovery`` per process, shared by the server's threads; each request is
one ledger transaction of its own. Customers come from your database through
``customers=``: pxr keeps no copy of its own. Sending is left to
``pxr dispatch`` (cron) or the Celery task in ``celery_tasks.py``, so a slow SMS
provider never slows the webhook.
"""

import datetime as dt
import os
from typing import Any

from flask import Flask, abort, jsonify, request

from pxr import Customer, PxrError, Recovery, Signal, SQLiteLedger, load_policy

app = Flask(__name__)

#: Stands in for your own customer table.
YOUR_CUSTOMERS = {
    "c-sanne": {"locale": "nl-NL", "timezone": "Europe/Amsterdam", "phone": "+31612345678"},
    "c-anna": {"locale": "pl-PL", "timezone": "Europe/Warsaw", "phone": "+48512345678"},
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


recovery = Recovery(
    load_policy(os.environ.get("PXR_POLICY", "examples/parcel/policy.toml")),
    SQLiteLedger(os.environ.get("PXR_LEDGER", "pxr-ledger.db")),
    customers=customer_from_your_database,
)


def signal_from(event: Any) -> Signal:
    """The carrier's JSON as a signal; a missing field is the caller's mistake (400)."""
    if not isinstance(event, dict):
        abort(400, description="expected a JSON object")
    try:
        return Signal(
            customer=event["customer_id"],
            subject=event["order_id"],
            metric="delivery_delay",
            value=event["delay_hours"],
            at=dt.datetime.fromisoformat(event["reported_at"]),
            context={"order_total": event["order_total"], "currency": event["currency"]},
        )
    except KeyError as missing:
        abort(400, description=f"missing field {missing}")
    except (TypeError, ValueError) as error:  # pxr's ValidationError is a ValueError too
        abort(422, description=str(error))


@app.post("/webhooks/carrier")
def carrier_webhook():  # type: ignore[no-untyped-def]
    signal = signal_from(request.get_json(silent=True))
    try:
        actions = recovery.observe(signal)
    except PxrError as error:
        abort(422, description=str(error))
    return jsonify([action.to_dict() for action in actions])


@app.get("/customers/<customer_id>/may-survey")
def may_survey(customer_id: str):  # type: ignore[no-untyped-def]
    """Ask before sending a survey: never right after a recovery."""
    return jsonify(allowed=recovery.may_survey(customer_id, dt.datetime.now(dt.UTC)))
