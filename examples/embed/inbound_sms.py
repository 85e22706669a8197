"""Replies to your SMS: STOP opts a customer out, START opts them in again.

Point your Twilio number's "A message comes in" webhook at
``https://your.host/webhooks/sms``. Twilio posts the reply as form fields
(``From``, ``To``, ``Body``…) signed with your auth token; a request without
the right ``X-Twilio-Signature`` is refused, since anyone can post to a
public URL. pxr records the opt-out in its ledger: no message is queued on
SMS for that customer again, and those waiting move to their next channel.
"""

import hmac
import os

from flask import Flask, abort, request

from pxr import Recovery, SQLiteLedger, load_policy
from pxr.consent import handle_reply, twilio_signature

app = Flask(__name__)

#: Stands in for your own customer table: who has which phone number.
YOUR_CUSTOMERS = {"+48512345678": "c-anna", "+31612345678": "c-sanne"}

recovery = Recovery(
    load_policy(os.environ.get("PXR_POLICY", "examples/parcel/policy.toml")),
    SQLiteLedger(os.environ.get("PXR_LEDGER", "pxr-ledger.db")),
)
AUTH_TOKEN = os.environ["TWILIO_AUTH_TOKEN"]
#: The URL exactly as configured at Twilio (behind a proxy it differs from what
#: the app sees); the signature covers it.
PUBLIC_URL = os.environ.get("PXR_SMS_WEBHOOK_URL")

#: An empty TwiML answer: Twilio sends its own confirmation of STOP and START.
NO_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@app.post("/webhooks/sms")
def inbound_sms():  # type: ignore[no-untyped-def]
    form = request.form.to_dict()
    expected = twilio_signature(AUTH_TOKEN, PUBLIC_URL or request.url, form)
    if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    handle_reply(recovery, form, YOUR_CUSTOMERS.get)
    return NO_REPLY, 200, {"Content-Type": "text/xml"}
