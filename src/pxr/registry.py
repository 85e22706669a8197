"""What is available by name: channels, transports, catalogs, threshold and
compensation kinds, ledger kinds — each with the plugin it came from.

A :class:`Registry` is filled through the ``register_*`` hooks (see
:mod:`pxr.hookspecs`), so pxr's built-ins and third-party plugins arrive the
same way. Registering a name twice is an error, not a silent override.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

from pxr.channels import Channel, NotifierFactory
from pxr.compensation import CompensationFactory
from pxr.errors import PxrError, UnknownKindError
from pxr.ledger.urls import LedgerFactory
from pxr.thresholds import Threshold

__all__ = ["DuplicateName", "Registry", "ThresholdFactory", "lookup"]

T = TypeVar("T")

#: Builds a threshold from its policy table: ``(table, where) -> Threshold``.
ThresholdFactory = Callable[[Mapping[str, Any], str], Threshold]


def lookup(what: str, known: Mapping[str, T], name: object, where: str) -> T:
    """``known[name]``, or an :class:`UnknownKindError` at ``where`` listing the known names."""
    found = known.get(name) if isinstance(name, str) else None
    if found is None:
        names = ", ".join(sorted(known)) or "none"
        raise UnknownKindError(where, f"unknown {what} {name!r}; known: {names}")
    return found


class DuplicateName(PxrError):
    """Two plugins registered the same name."""


@attrs.define
class Registry:
    """Named things provided by plugins, and which plugin provided each."""

    compensation_kinds: dict[str, CompensationFactory] = attrs.field(factory=dict)
    threshold_kinds: dict[str, ThresholdFactory] = attrs.field(factory=dict)
    channels: dict[str, Channel] = attrs.field(factory=dict)
    notifiers: dict[str, NotifierFactory] = attrs.field(factory=dict)
    catalogs: list[tuple[str, Path]] = attrs.field(factory=list)
    origins: dict[tuple[str, str], str] = attrs.field(factory=dict)
    ledgers: dict[str, LedgerFactory] = attrs.field(factory=dict)

    def snapshot(self) -> Registry:
        """A copy to :meth:`restore` if a plugin's registration fails half-way."""
        return Registry(
            dict(self.compensation_kinds),
            dict(self.threshold_kinds),
            dict(self.channels),
            dict(self.notifiers),
            list(self.catalogs),
            dict(self.origins),
            dict(self.ledgers),
        )

    def restore(self, snapshot: Registry) -> None:
        """Go back to ``snapshot``."""
        self.compensation_kinds = snapshot.compensation_kinds
        self.threshold_kinds = snapshot.threshold_kinds
        self.channels = snapshot.channels
        self.notifiers = snapshot.notifiers
        self.catalogs = snapshot.catalogs
        self.origins = snapshot.origins
        self.ledgers = snapshot.ledgers

    def _claim(self, what: str, name: str, origin: str) -> None:
        if (what, name) in self.origins:
            raise DuplicateName(
                f"{what} {name!r} is already registered by plugin {self.origins[what, name]!r}"
            )
        self.origins[what, name] = origin

    def add_compensation_kind(
        self, name: str, factory: CompensationFactory, origin: str = "pxr"
    ) -> None:
        """Make ``kind = name`` usable in a compensation table."""
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

    def add_notifier(self, name: str, factory: NotifierFactory, origin: str = "pxr") -> None:
        """Make ``transport = name`` usable in a transports file."""
        self._claim("transport", name, origin)
        self.notifiers[name] = factory

    def add_ledger(self, scheme: str, factory: LedgerFactory, origin: str = "pxr") -> None:
        """Make ``scheme://…`` usable as a ledger URL."""
        self._claim("ledger", scheme.lower(), origin)
        self.ledgers[scheme.lower()] = factory

    def add_catalog(self, domain: str, locale_dir: Path, origin: str = "pxr") -> None:
        """Add a gettext catalog domain; later ones override earlier ones."""
        self._claim("catalog", domain, origin)
        self.catalogs.append((domain, Path(locale_dir)))
