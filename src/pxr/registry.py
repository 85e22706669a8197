"""What is available by name: threshold kinds, compensation kinds, channels.

A :class:`Registry` is filled by ``register`` callbacks, so pxr's built-ins
and plugins arrive the same way; registering a name twice is an error, not
a silent override.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from pxr.channels import Channel
from pxr.compensation import Apology, CompensationFactory, Contact, Gift, Refund, Voucher
from pxr.errors import PxrError
from pxr.statutory import EU261
from pxr.thresholds import Threshold

__all__ = ["Registry", "ThresholdFactory", "builtin_registry"]

#: Builds a threshold from its policy table: ``(config, where, name, metric) -> Threshold``.
ThresholdFactory = Callable[[Mapping[str, Any], str], Threshold]


class DuplicateName(PxrError):
    """Two registrations claimed the same name."""


@attrs.define
class Registry:
    """Named threshold kinds, compensation kinds and channels, with their origin."""

    compensation_kinds: dict[str, CompensationFactory] = attrs.field(factory=dict)
    threshold_kinds: dict[str, ThresholdFactory] = attrs.field(factory=dict)
    channels: dict[str, Channel] = attrs.field(factory=dict)
    origins: dict[tuple[str, str], str] = attrs.field(factory=dict)

    def _claim(self, what: str, name: str, origin: str) -> None:
        if (what, name) in self.origins:
            raise DuplicateName(
                f"{what} {name!r} from {origin} is already registered by {self.origins[what, name]}"
            )
        self.origins[what, name] = origin

    def add_compensation_kind(
        self, name: str, factory: CompensationFactory, origin: str = "pxr"
    ) -> None:
        """Make ``kind = name`` usable in a policy file."""
        self._claim("compensation kind", name, origin)
        self.compensation_kinds[name] = factory

    def add_threshold_kind(self, name: str, factory: ThresholdFactory, origin: str = "pxr") -> None:
        """Make ``kind = name`` usable in a ``[[thresholds]]`` table."""
        self._claim("threshold kind", name, origin)
        self.threshold_kinds[name] = factory

    def add_channel(self, channel: Channel, origin: str = "pxr") -> None:
        """Make a channel usable in ``channels = [...]``."""
        self._claim("channel", channel.name, origin)
        self.channels[channel.name] = channel


def builtin_registry() -> Registry:
    """A registry holding only pxr's own kinds and channels."""
    from pxr.channels.builtin import Console, Email, Messenger, Sms  # noqa: PLC0415
    from pxr.policy import tiered_threshold  # noqa: PLC0415

    registry = Registry()
    kinds: dict[str, CompensationFactory] = {
        "apology": Apology.from_config,
        "refund": Refund.from_config,
        "voucher": Voucher.from_config,
        "gift": Gift.from_config,
        "contact": Contact.from_config,
        "eu261": EU261.from_config,
    }
    for name, factory in kinds.items():
        registry.add_compensation_kind(name, factory)
    registry.add_threshold_kind("tiered", tiered_threshold)
    for channel in (Sms(), Email(), Messenger(), Console()):
        registry.add_channel(channel)
    return registry
