"""Sending through the Facebook Messenger Send API.

``POST {base_url}/{version}/{page_id}/messages`` with ``recipient.id`` (the
PSID), ``messaging_type`` and — outside the 24-hour window — a message
``tag``. pxr's messages are updates about something that already happened,
so the default is ``MESSAGE_TAG`` with ``POST_PURCHASE_UPDATE`` (a shop);
an airline sets ``tag = "CONFIRMED_EVENT_UPDATE"``, an account-level notice
``ACCOUNT_UPDATE``. Tags may not carry promotional content: keep vouchers
framed as compensation, not offers.

The page token travels in the URL's query, as the Send API documents, so
URLs are only ever logged masked. The Send API takes no idempotency key. One
HTTP connection is kept alive between sends until
:meth:`MessengerSendApi.close`.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import attrs

from pxr.channels import Closing, DeliveryResult
from pxr.channels import _settings as s
from pxr.channels._http import HttpClient
from pxr.errors import ValidationError
from pxr.model import Message

__all__ = ["TAGS", "MessengerSendApi", "messenger_notifier"]

TAGS = frozenset(
    {"POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}
)
_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})

#: (code, subcode or None) that mean "this person cannot be messaged by us now".
_UNREACHABLE = {
    (551, None),  # "This person isn't available right now" (often a block)
    (551, 1545041),
    (100, 2018001),  # no matching user
    (10, 2018278),  # outside the allowed window
    (200, None),  # "This person isn't receiving messages from you right now"
}
_TRANSIENT_CODES = {1, 2, 4, 17, 32, 613}  # temporary issues and rate limits


@attrs.frozen
class MessengerSendApi(Closing):
    """A Messenger transport for one Facebook page. The token never appears in a repr.

    Keeps its HTTP connection alive between sends: close it at the end of a
    dispatch run (``close()`` or ``with``).
    """

    page_id: str
    access_token: str = attrs.field(repr=False)
    tag: str = "POST_PURCHASE_UPDATE"
    messaging_type: str = "MESSAGE_TAG"
    base_url: str = "https://graph.facebook.com"
    version: str = "v25.0"
    timeout: float = 10.0
    channel: str = "messenger"
    http: HttpClient = attrs.field(init=False, repr=False, eq=False)

    @http.default
    def _http(self) -> HttpClient:
        return HttpClient(self.timeout)

    def close(self) -> None:
        """Close the kept-alive connection."""
        self.http.close()

    def __attrs_post_init__(self) -> None:
        if self.messaging_type not in _TYPES:
            raise ValidationError("messenger.messaging_type", f"expected one of {sorted(_TYPES)}")
        if self.messaging_type == "MESSAGE_TAG" and self.tag not in TAGS:
            raise ValidationError("messenger.tag", f"expected one of {sorted(TAGS)}")

    def send(self, message: Message) -> DeliveryResult:
        """Post the message; map the Graph API's error to transient or permanent; a lost
        answer is uncertain."""
        body: dict[str, Any] = {
            "recipient": {"id": message.to},
            "messaging_type": self.messaging_type,
            "message": {"text": message.text},
        }
        if self.messaging_type == "MESSAGE_TAG":
            body["tag"] = self.tag
        query = urllib.parse.urlencode({"access_token": self.access_token})
        reply = self.http.post(
            f"{self.base_url.rstrip('/')}/{self.version}/{urllib.parse.quote(self.page_id)}"
            f"/messages?{query}",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        if 200 <= reply.status < 300:
            mid = reply.body.get("message_id")
            return DeliveryResult.sent(str(mid) if mid else None)
        if reply.uncertain:
            return DeliveryResult.uncertain(reply.problem or f"Messenger HTTP {reply.status}")
        error = reply.body.get("error")
        error = error if isinstance(error, dict) else {}
        code, subcode = error.get("code"), error.get("error_subcode")
        label = f"Messenger error {code}" + (f"/{subcode}" if subcode else "")
        if (code, subcode) in _UNREACHABLE or (code, None) in _UNREACHABLE:
            return DeliveryResult.permanent(label)
        if reply.transient or code in _TRANSIENT_CODES or code == 190:
            # 190: our page token expired — retry once someone renews it.
            return DeliveryResult.transient(reply.problem or label)
        return DeliveryResult.permanent(label)


def messenger_notifier(settings: Mapping[str, Any]) -> MessengerSendApi:
    """``[messenger] transport = "messenger"``: ``page_id``, ``access_token_env``, ``tag`` …"""
    where = "messenger"
    s.reject_unknown(
        settings,
        {
            "page_id",
            "access_token",
            "access_token_env",
            "tag",
            "messaging_type",
            "base_url",
            "version",
            "timeout",
        },
        where,
    )
    return MessengerSendApi(
        page_id=s.text(settings, "page_id", where),
        access_token=s.secret(settings, "access_token", where),
        tag=s.text(settings, "tag", where, "POST_PURCHASE_UPDATE"),
        messaging_type=s.text(settings, "messaging_type", where, "MESSAGE_TAG"),
        base_url=s.text(settings, "base_url", where, "https://graph.facebook.com"),
        version=s.text(settings, "version", where, "v25.0"),
        timeout=s.number(settings, "timeout", where, 10.0),
    )
