"""Helpers for testing pxr and pxr plugins.

* :class:`RecordingNotifier` — a notifier that keeps what it was asked to
  send, and answers from a script (sent, transient, permanent).
* :func:`message_for` — a plain message to send in a test.

These need nothing but pxr: importing this module does not import pytest,
so a host can use them in any test runner, or in a staging process.

The contract suites, :class:`~pxr.testing.contracts.ChannelContract` and
:class:`~pxr.testing.contracts.NotifierContract`, live in
:mod:`pxr.testing.contracts` and need pytest. They can also be imported
from here, as before: ``from pxr.testing import NotifierContract`` imports
pytest at that moment, not when ``pxr.testing`` is imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pxr.channels import DeliveryResult, DeliveryStatus
from pxr.model import Message

if TYPE_CHECKING:
    from pxr.testing.contracts import ChannelContract as ChannelContract
    from pxr.testing.contracts import NotifierContract as NotifierContract

# The contract suites are reached through __getattr__ below, not listed here,
# so that ``from pxr.testing import *`` does not need pytest.
__all__ = ["RecordingNotifier", "message_for"]


class RecordingNotifier:
    """Keeps every message it is given; answers from ``script``, then "sent".

    ``script`` is a list of :class:`~pxr.channels.DeliveryResult` (or
    :class:`~pxr.channels.DeliveryStatus`) answered in order.
    """

    def __init__(
        self, channel: str = "console", script: Iterable[DeliveryResult | DeliveryStatus] = ()
    ) -> None:
        self.channel = channel
        self.sent: list[Message] = []
        self._script = [
            item if isinstance(item, DeliveryResult) else DeliveryResult(item) for item in script
        ]

    def __repr__(self) -> str:
        return f"RecordingNotifier({self.channel!r}, sent={len(self.sent)})"

    def send(self, message: Message) -> DeliveryResult:
        """Record ``message`` and give the next scripted answer."""
        self.sent.append(message)
        if self._script:
            return self._script.pop(0)
        return DeliveryResult.sent(f"recorded-{len(self.sent)}")


def message_for(channel: str, to: str, text: str = "We are sorry: your order is late.") -> Message:
    """A plain message for a contract test."""
    return Message(
        channel=channel,
        to=to,
        locale="en",
        title="We are sorry",
        text=text,
        send_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
        purpose="notice",
    )


_CONTRACTS = frozenset({"ChannelContract", "LedgerContract", "NotifierContract"})


def __getattr__(name: str) -> Any:
    """The contract suites, imported (with pytest) only when asked for."""
    if name in _CONTRACTS:
        try:
            from pxr.testing import contracts  # noqa: PLC0415 - pytest only when asked for
        except ImportError as error:
            raise ImportError(
                f"pxr.testing.{name} is a pytest suite and needs pytest: pip install pytest"
            ) from error
        return getattr(contracts, name)
    raise AttributeError(f"module 'pxr.testing' has no attribute {name!r}")
