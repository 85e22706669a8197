"""pxr inside a Flask app: the carrier's webhook reports a delay, pxr decides.

One ``Recovery`` per process, one SQLite ledger per app; each request is one
ledger transaction. Sending is left to ``pxr dispatch`` (cron) or the Celery
task in ``celery_tasks.py``, so a slow SMS provider never slows the webhook.
"""

import datetime as dt
import os

from flask import Flask, abort, jsonify, request

from pxr import Customer, PxrError, Recovery, Signal, SQLiteLedger, load_policy

app = Flask(__name__)
recovery = Recovery(
    load_policy(os.environ.get("PXR_POLICY", "examples/parcel/policy.toml")),
    SQLiteLedger(os.environ.get("PXR_LEDGER", "pxr-ledger.db")),
)


def customer_from_your_database(customer_id: str) -> Customer:
    """Your app knows its customers; pxr only needs these fields."""
    return Customer(
        id=customer_id, locale="nl-NL", timezone="Europe/Amsterdam", phone="+31612345678"
    )


@app.post("/webhooks/carrier")
def carrier_webhook():  # type: ignore[no-untyped-def]
    event = request.get_json(force=True)
    recovery.add_customer(customer_from_your_database(event["customer_id"]))
    try:
        actions = recovery.observe(
            Signal(
                customer=event["customer_id"],
                subject=event["order_id"],
                metric="delivery_delay",
                value=event["delay_hours"],
                at=dt.datetime.fromisoformat(event["reported_at"]),
                context={"order_total": event["order_total"], "currency": event["currency"]},
            )
        )
    except PxrError as error:
        abort(422, description=str(error))
    return jsonify([action.to_dict() for action in actions])


@app.get("/customers/<customer_id>/may-survey")
def may_survey(customer_id: str):  # type: ignore[no-untyped-def]
    """Ask before sending a survey: never right after a recovery."""
    return jsonify(allowed=recovery.may_survey(customer_id, dt.datetime.now(dt.UTC)))
