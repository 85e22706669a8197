"""Channels: how a message reaches a customer.

A *channel* knows which of a customer's contact points it uses and how a
message must be shaped for it (an SMS counts its segments). A *notifier*
actually sends. The engine needs only channels to decide and queue; a
dispatcher needs notifiers to send.

A send has four outcomes (:class:`DeliveryStatus`): *sent*; *transient*
(failed, and the request surely did not take effect: try again);
*permanent* (refused: this address will not work); and *uncertain* (the
request went out but its answer was lost — a timeout or a reset after
sending — so the provider may or may not have accepted it). A message that
cannot be sent at all, whatever the provider, raises
:class:`MessageUnsendable`: the dispatcher fails that message alone.

pxr's own notifiers hold connections open between sends (one SMTP session
per server, HTTP keep-alive), so a dispatcher run uses them as context
managers, or calls :func:`close_notifiers` at its end.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, Self, runtime_checkable

import attrs

from pxr.errors import PxrError
from pxr.model import Customer, Message

__all__ = [
    "AddressRefused",
    "Channel",
    "Closing",
    "DeliveryResult",
    "DeliveryStatus",
    "MessageUnsendable",
    "Notifier",
    "NotifierFactory",
    "close_notifiers",
    "send",
]


class AddressRefused(PxrError):
    """The customer has no usable address on this channel; ``reason`` says why.

    The reason never contains the address itself.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: {reason}")


class MessageUnsendable(PxrError):
    """This message cannot be sent by any provider (a CR or LF in an address,
    an address the transport cannot encode): fail it alone, do not retry.

    ``reason`` names the field and the problem, never the value.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: cannot send this message: {reason}")


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
    UNCERTAIN = "uncertain"  # the request went out, its answer was lost: it may have been sent


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

    @classmethod
    def uncertain(cls, detail: str) -> DeliveryResult:
        """The request went out and no answer came back: it may have been sent.

        Sending again may deliver twice; the policy decides whether to.
        """
        return cls(DeliveryStatus.UNCERTAIN, detail=detail)


@runtime_checkable
class Notifier(Protocol):
    """Sends one shaped message to one address."""

    @property
    def channel(self) -> str: ...

    def send(self, message: Message) -> DeliveryResult:
        """Send ``message``; never raise for a delivery failure, report it.

        A notifier may also take a keyword ``key`` (the message's stable
        key, the same on every attempt) to pass to the provider as an
        idempotency key; call notifiers through :func:`send` to pass it
        only to those that take it. Raises :class:`MessageUnsendable` for a
        message no provider could take.
        """
        ...


def _takes_key(notifier: Notifier) -> bool:
    # Asked once per send: the answer depends only on the notifier's class.
    return _send_takes_key(type(notifier))


@functools.lru_cache(maxsize=256)
def _send_takes_key(kind: type) -> bool:
    method = getattr(kind, "send", None)
    if method is None:  # pragma: no cover - not a notifier
        return False
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False
    return "key" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def send(notifier: Notifier, message: Message, key: str | None = None) -> DeliveryResult:
    """``notifier.send(message)``, with ``key=key`` when the notifier takes a key."""
    if key is not None and _takes_key(notifier):
        result: DeliveryResult = notifier.send(message, key=key)  # type: ignore[call-arg]
        return result
    return notifier.send(message)


class Closing:
    """Makes a class with a ``close()`` method a context manager."""

    __slots__ = ()

    def close(self) -> None:
        """Release connections; the object may still be used (it reconnects)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.close()


def close_notifiers(notifiers: Iterable[Notifier]) -> None:
    """Close every notifier that has a ``close()``; plugins' notifiers may not."""
    for notifier in notifiers:
        close = getattr(notifier, "close", None)
        if callable(close):
            close()


#: Builds a notifier from its table in a transports file; raises
#: :class:`~pxr.errors.ValidationError` for a bad setting.
NotifierFactory = Callable[[Mapping[str, Any]], Notifier]
