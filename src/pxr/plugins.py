"""The plugin manager: built-ins and installed plugins, loaded on first use.

Installed packages expose plugins through the ``pxr`` entry-point group::

    [project.entry-points.pxr]
    webhook = "pxr_webhook"

A plugin that fails to import, or whose ``register`` hook raises, is
reported in :attr:`Plugins.broken` with its name and skipped; pxr keeps
running with the rest.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from typing import Any

import attrs
import pluggy

from pxr import hookspecs
from pxr.errors import PxrError
from pxr.registry import Registry

__all__ = ["PluginInfo", "Plugins", "get_plugins"]

log = logging.getLogger("pxr.plugins")

_REGISTER_HOOKS = {
    "register_channels": "channel",
    "register_notifiers": "transport",
    "register_catalogs": "catalog",
    "register_threshold_kinds": "threshold kind",
    "register_compensation_kinds": "compensation kind",
}


@attrs.frozen
class PluginInfo:
    """One plugin: its name, where it came from, and what it provides."""

    name: str
    origin: str
    provides: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()
    error: str | None = None


class Plugins:
    """A pluggy manager with pxr's hooks, and the registry the plugins filled."""

    def __init__(self, *, load_entry_points: bool = True, load_builtins: bool = True) -> None:
        self.manager = pluggy.PluginManager("pxr")
        self.manager.add_hookspecs(hookspecs)
        self.origins: dict[str, str] = {}
        self._broken: dict[str, str] = {}
        if load_builtins:
            from pxr import builtins  # noqa: PLC0415

            self.add(builtins, name="pxr", origin="pxr (built-in)")
        if load_entry_points:
            self._load_entry_points()
        self._registry: Registry | None = None

    def _load_entry_points(self) -> None:
        for point in entry_points(group="pxr"):
            dist = point.dist
            origin = f"{dist.name} {dist.version}" if dist else point.value
            try:
                plugin = point.load()
            except Exception as error:  # noqa: BLE001 - any import error is reported, not fatal
                self._report(point.name, f"cannot be loaded: {type(error).__name__}: {error}")
                continue
            self.add(plugin, name=point.name, origin=origin)

    def add(self, plugin: object, *, name: str | None = None, origin: str = "registered") -> str:
        """Register a plugin object or module; returns its name. Resets the registry."""
        registered = self.manager.register(plugin, name=name)
        if registered is None:
            raise PxrError(f"plugin {name!r} is already registered")
        self.origins[registered] = origin
        self._registry = None
        return registered

    def _report(self, name: str, problem: str) -> None:
        self._broken[name] = problem
        log.warning("pxr plugin %r %s", name, problem)

    @property
    def broken(self) -> dict[str, str]:
        """Plugins that failed, by name, with what went wrong (registries built first)."""
        _ = self.registry
        return dict(self._broken)

    @property
    def registry(self) -> Registry:
        """The channels, transports, catalogs and kinds the plugins registered."""
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        adders: dict[str, Callable[..., None]] = {
            "register_channels": registry.add_channel,
            "register_notifiers": registry.add_notifier,
            "register_catalogs": registry.add_catalog,
            "register_threshold_kinds": registry.add_threshold_kind,
            "register_compensation_kinds": registry.add_compensation_kind,
        }
        for hook, add in adders.items():
            for impl in self.impls(hook):
                name = impl.plugin_name
                if name in self._broken:
                    continue

                def register(
                    *args: Any, _add: Callable[..., None] = add, _name: str = name
                ) -> None:
                    _add(*args, origin=_name)

                before = registry.snapshot()
                try:
                    impl.function(register=register)
                except Exception as error:  # noqa: BLE001 - a broken plugin must not stop pxr
                    registry.restore(before)  # nothing of a failed registration stays
                    self._report(name, f"failed in {hook}: {type(error).__name__}: {error}")
        return registry

    def impls(self, hook: str) -> list[pluggy.HookImpl]:
        """The plugins implementing ``hook``, in registration order."""
        return list(getattr(self.manager.hook, hook).get_hookimpls())

    def call(self, hook: str, **kwargs: Any) -> None:
        """Call a lifecycle hook on every plugin; a failing plugin is reported and skipped."""
        for impl in self.impls(hook):
            self.call_one(impl, hook, **kwargs)

    def call_one(self, impl: pluggy.HookImpl, hook: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation; ``None`` (and a report) if it raises."""
        try:
            return impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop pxr
            # Never the arguments: they carry customers' personal data.
            self._report(impl.plugin_name, f"failed in {hook}: {type(error).__name__}")
            return None

    def describe(self) -> list[PluginInfo]:
        """What ``pxr plugins`` prints: every plugin, what it provides, and any error."""
        registry = self.registry
        provided: dict[str, list[str]] = {}
        for (what, thing), origin in registry.origins.items():
            provided.setdefault(origin, []).append(f"{what} {thing}")
        out = []
        for name, plugin in self.manager.list_name_plugin():
            hooks = tuple(
                sorted(
                    h.name
                    for h in self.manager.get_hookcallers(plugin) or ()
                    if h.name not in _REGISTER_HOOKS
                )
            )
            out.append(
                PluginInfo(
                    name=name,
                    origin=self.origins.get(name, "registered"),
                    provides=tuple(sorted(provided.get(name, ()))),
                    hooks=hooks,
                    error=self._broken.get(name),
                )
            )
        for name, problem in self._broken.items():
            if not any(info.name == name for info in out):
                out.append(PluginInfo(name=name, origin="entry point", error=problem))
        return out


@cache
def get_plugins() -> Plugins:
    """The process-wide plugins: built-ins and installed entry points, loaded once."""
    return Plugins()


def module_plugin(name: str, **hooks: Callable[..., Any]) -> types.SimpleNamespace:
    """A small plugin object from functions, for tests and one-off host hooks."""
    return types.SimpleNamespace(
        __name__=name, **{k: hookspecs.hookimpl(v) for k, v in hooks.items()}
    )
