"""Sending SMS through a Twilio-compatible Messages API.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json``,
form-encoded, HTTP Basic auth, ``To`` in E.164 and ``From`` or
``MessagingServiceSid``. Error bodies (``{"code": 21211, …}``) are mapped to
permanent (this number will not work: try the next channel) or transient;
a request whose answer was lost is uncertain. Twilio's Messages API takes
no idempotency key, so a message's key is not sent. One HTTP connection is
kept alive between sends until :meth:`TwilioSms.close`.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

from pxr.channels import Closing, DeliveryResult
from pxr.channels import _settings as s
from pxr.channels._http import HttpClient
from pxr.errors import ValidationError
from pxr.model import Message

__all__ = ["PERMANENT_CODES", "TwilioSms", "twilio_notifier"]

#: Twilio error codes that mean "this recipient cannot get this SMS".
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21214,  # 'To' number cannot be reached
        21408,  # permission to send to this region is not enabled
        21610,  # the recipient replied STOP
        21612,  # cannot route to this number
        21614,  # 'To' is not a valid mobile number
        21635,  # 'To' cannot be a landline
    }
)


@attrs.frozen
class TwilioSms(Closing):
    """A Twilio (or compatible) SMS transport. The token never appears in a repr.

    Keeps its HTTP connection alive between sends: close it at the end of a
    dispatch run (``close()`` or ``with``).
    """

    account_sid: str
    auth_token: str = attrs.field(repr=False)
    sender: str | None = None
    messaging_service_sid: str | None = None
    base_url: str = "https://api.twilio.com"
    status_callback: str | None = None
    timeout: float = 10.0
    channel: str = "sms"
    http: HttpClient = attrs.field(init=False, repr=False, eq=False)

    @http.default
    def _http(self) -> HttpClient:
        return HttpClient(self.timeout)

    def close(self) -> None:
        """Close the kept-alive connection."""
        self.http.close()

    def __attrs_post_init__(self) -> None:
        if (self.sender is None) == (self.messaging_service_sid is None):
            raise ValidationError("sms", "give exactly one of 'from' or 'messaging_service_sid'")

    def send(self, message: Message) -> DeliveryResult:
        """Post the message; map Twilio's answer to sent, transient, permanent or uncertain."""
        form = {"To": message.to, "Body": message.text}
        if self.sender is not None:
            form["From"] = self.sender
        if self.messaging_service_sid is not None:
            form["MessagingServiceSid"] = self.messaging_service_sid
        if self.status_callback is not None:
            form["StatusCallback"] = self.status_callback
        token = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        reply = self.http.post(
            f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{urllib.parse.quote(self.account_sid)}/Messages.json",
            urllib.parse.urlencode(form).encode(),
            {
                "Authorization": f"Basic {token}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        if 200 <= reply.status < 300:
            sid = reply.body.get("sid")
            return DeliveryResult.sent(str(sid) if sid else None)
        if reply.uncertain:
            return DeliveryResult.uncertain(reply.problem or f"Twilio HTTP {reply.status}")
        if reply.transient:
            return DeliveryResult.transient(reply.problem or f"Twilio HTTP {reply.status}")
        code = reply.body.get("code")
        if reply.status in (401, 403):
            # Our credentials, not the customer's number: retry once someone fixes them.
            return DeliveryResult.transient(f"Twilio refused the credentials (HTTP {reply.status})")
        if code in PERMANENT_CODES:
            return DeliveryResult.permanent(f"Twilio error {code}")
        # Any other 4xx is about this request (body too long, bad sender…):
        # sending it again will not help, another channel may.
        return DeliveryResult.permanent(f"Twilio HTTP {reply.status}, error {code}")


def twilio_notifier(settings: Mapping[str, Any]) -> TwilioSms:
    """``[sms] transport = "twilio"``: ``account_sid``, ``auth_token_env``, ``from`` …"""
    where = "sms"
    s.reject_unknown(
        settings,
        {
            "account_sid",
            "auth_token",
            "auth_token_env",
            "from",
            "messaging_service_sid",
            "base_url",
            "status_callback",
            "timeout",
        },
        where,
    )
    return TwilioSms(
        account_sid=s.text(settings, "account_sid", where),
        auth_token=s.secret(settings, "auth_token", where),
        sender=s.optional(settings, "from", where),
        messaging_service_sid=s.optional(settings, "messaging_service_sid", where),
        base_url=s.text(settings, "base_url", where, "https://api.twilio.com"),
        status_callback=s.optional(settings, "status_callback", where),
        timeout=s.number(settings, "timeout", where, 10.0),
    )
