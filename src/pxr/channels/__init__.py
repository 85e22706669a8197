"""Channels: how a message reaches a customer.

A *channel* knows which of a customer's contact points it uses and how a
message must be shaped for it (an SMS counts its segments). A *notifier*
actually sends. The engine needs only channels to decide and queue; a
dispatcher needs notifiers to send.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from pxr.errors import PxrError
from pxr.model import Customer, Message

__all__ = [
    "AddressRefused",
    "Channel",
    "DeliveryResult",
    "DeliveryStatus",
    "Notifier",
    "NotifierFactory",
]


class AddressRefused(PxrError):
    """The customer has no usable address on this channel; ``reason`` says why.

    The reason never contains the address itself.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: {reason}")


@runtime_checkable
class Channel(Protocol):
    """One way of reaching a customer (``sms``, ``email``, ``messenger``…).

    A channel may also have a ``form`` attribute naming the message form it
    takes: ``"short"`` (SMS-like), ``"email"`` (with a subject line) or
    ``"chat"`` (the default).
    """

    @property
    def name(self) -> str: ...

    def address_for(self, customer: Customer) -> str | None:
        """The customer's address here, normalized; ``None`` if they have none.

        Raises :class:`AddressRefused` when they have one that cannot be used.
        """
        ...

    def shape(self, message: Message) -> Message:
        """Adjust a rendered message for this channel (encoding, length, title)."""
        ...


class DeliveryStatus(enum.Enum):
    """What happened to one attempt to send."""

    SENT = "sent"
    TRANSIENT = "transient"  # try again later
    PERMANENT = "permanent"  # this address will not work: try the next channel


@attrs.frozen
class DeliveryResult:
    """The outcome of one send. ``detail`` must not contain secrets or addresses."""

    status: DeliveryStatus
    provider_id: str | None = None
    detail: str | None = None

    @classmethod
    def sent(cls, provider_id: str | None = None) -> DeliveryResult:
        """Accepted by the provider."""
        return cls(DeliveryStatus.SENT, provider_id)

    @classmethod
    def transient(cls, detail: str) -> DeliveryResult:
        """Failed for now: try again later."""
        return cls(DeliveryStatus.TRANSIENT, detail=detail)

    @classmethod
    def permanent(cls, detail: str) -> DeliveryResult:
        """This address will not work: try the customer's next channel."""
        return cls(DeliveryStatus.PERMANENT, detail=detail)


@runtime_checkable
class Notifier(Protocol):
    """Sends one shaped message to one address."""

    @property
    def channel(self) -> str: ...

    def send(self, message: Message) -> DeliveryResult:
        """Send ``message``; never raise for a delivery failure, report it."""
        ...


#: Builds a notifier from its table in a transports file; raises
#: :class:`~pxr.errors.ValidationError` for a bad setting.
NotifierFactory = Callable[[Mapping[str, Any]], Notifier]
