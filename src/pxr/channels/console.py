"""The console transport: prints messages instead of sending them."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from pxr._privacy import mask_address
from pxr.channels import DeliveryResult
from pxr.channels import _settings as s
from pxr.model import Message

__all__ = ["ConsoleNotifier", "console_notifier"]


class ConsoleNotifier:
    """Prints each message with its address masked; always "sent"."""

    def __init__(self, stream: TextIO | None = None, channel: str = "console") -> None:
        self._stream = stream
        self.channel = channel

    def send(self, message: Message) -> DeliveryResult:
        """Print the message."""
        stream = self._stream or sys.stdout
        title = f"{message.title}\n" if message.title else ""
        stream.write(f"[{message.channel} → {mask_address(message.to)}] {title}{message.text}\n")
        return DeliveryResult.sent()


def console_notifier(settings: Mapping[str, Any]) -> ConsoleNotifier:
    """``transport = "console"``: print instead of sending (for trials)."""
    s.reject_unknown(settings, {"channel"}, "console")
    return ConsoleNotifier(channel=str(settings.get("channel", "console")))
