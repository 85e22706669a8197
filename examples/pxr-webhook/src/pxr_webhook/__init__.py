"""An example pxr plugin: deliver messages to a webhook (a chat or helpdesk)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import attrs

import pxr
from pxr import (
    AddressRefused,
    Channel,
    Customer,
    DeliveryResult,
    Message,
    NotifierFactory,
    ValidationError,
)

__all__ = ["WebhookChannel", "WebhookNotifier"]


@attrs.frozen
class WebhookChannel:
    """Reaches a customer through ``contacts["webhook"]``."""

    name: str = "webhook"

    def address_for(self, customer: Customer) -> str | None:
        """The customer's id on the chat or helpdesk, if they have one."""
        address = customer.contacts.get(self.name)
        if address is None:
            return None
        if any(ch.isspace() for ch in address) or len(address) > 200:
            raise AddressRefused(self.name, "a webhook address has no spaces and is short")
        return address

    def shape(self, message: Message) -> Message:
        """Chat messages keep their title as a heading; nothing to change."""
        return message


@attrs.frozen
class WebhookNotifier:
    """Posts each message as JSON to ``url`` with a bearer ``token``."""

    url: str
    token: str = attrs.field(repr=False)
    timeout: float = 10.0
    channel: str = "webhook"

    def send(self, message: Message) -> DeliveryResult:
        """POST the message; 404/410 is permanent, 429/5xx and silence transient."""
        body = json.dumps(
            {
                "to": message.to,
                "title": message.title,
                "text": message.text,
                "locale": message.locale,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own setting
            self.url,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return DeliveryResult.sent(response.headers.get("X-Request-Id"))
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return DeliveryResult.permanent(f"webhook: recipient unknown (HTTP {error.code})")
            if error.code == 429 or error.code >= 500:
                return DeliveryResult.transient(f"webhook: HTTP {error.code}")
            return DeliveryResult.permanent(f"webhook: HTTP {error.code}")
        except OSError as error:
            return DeliveryResult.transient(f"webhook: no answer ({type(error).__name__})")


def webhook_notifier(settings: Mapping[str, Any]) -> WebhookNotifier:
    """``[webhook] transport = "webhook"``: ``url`` and ``token_env`` (or ``token``)."""
    url = settings.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValidationError("webhook.url", "required, an http(s) URL")
    token = settings.get("token")
    if token is None:
        env = settings.get("token_env")
        token = os.environ.get(env) if isinstance(env, str) else None
        if not token:
            raise ValidationError(
                "webhook.token_env", "required: the environment variable holding the token"
            )
    return WebhookNotifier(url=url, token=str(token))


@pxr.hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """The webhook channel."""
    register(WebhookChannel())


@pxr.hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    """The webhook transport."""
    register("webhook", webhook_notifier)
