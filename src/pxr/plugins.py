"""The plugin manager: built-ins and installed plugins, loaded on first use.

Installed packages expose plugins through the ``pxr`` entry-point group::

    [project.entry-points.pxr]
    webhook = "pxr_webhook"

Hooks are called through pluggy itself, so ``tryfirst``, ``trylast``,
``wrapper=True``, old-style ``hookwrapper=True`` and ``firstresult`` mean
what pluggy documents. A plugin that fails to import, whose ``register``
hook raises, or whose lifecycle hook raises is reported in
:attr:`Plugins.broken` with its name; pxr keeps running with the rest.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import Callable, Generator
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
    "register_ledgers": "ledger",
}

# Hooks pxr calls one plugin at a time, not as one pluggy call: each
# register_* call gets a callback that knows the plugin (for its origin and
# to undo a failed registration), and each before_send sees the message the
# previous plugin amended. A wrapper has nothing to wrap there, so one is
# refused when the plugin is added instead of being silently skipped.
_ONE_AT_A_TIME = frozenset({*_REGISTER_HOOKS, "before_send"})

_Teardown = Generator[None, Any, Any]


@attrs.frozen
class PluginInfo:
    """One plugin: its name, where it came from, and what it provides."""

    name: str
    origin: str
    provides: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()
    error: str | None = None


class _Guard:
    """What pluggy holds in a plugin's place: the plugin's hooks, each isolated.

    Why a stand-in and not ``try``/``except`` around the pluggy call (or one
    pxr wrapper around it, which sees the exception at the same moment):
    pluggy stops a call at the first exception, so the plugins after a broken
    one would never run. Each implementation is therefore wrapped in a function
    that reports its own failure and gives pluggy what a plugin that did
    nothing would give (``None``, or the result unchanged for a wrapper).
    Everything else — the order, the wrappers, ``firstresult``, the checks
    against the hookspecs — is pluggy's own. (Replacing ``HookImpl.function``
    after registering would do the same, but pluggy declares it ``Final``.)
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<pxr plugin {self._name!r}>"


def _isolated(
    function: Callable[..., Any], opts: pluggy.HookimplOpts, fail: Callable[[Exception], None]
) -> Callable[..., Any]:
    """``function`` wrapped so that an exception is reported through ``fail``, not raised.

    pluggy reads the argument names through ``__wrapped__`` (set by
    :func:`functools.update_wrapper`), so the stand-in asks for exactly the
    arguments the plugin's function asks for.
    """
    guard: Callable[..., Any]
    if opts.get("hookwrapper") and inspect.isgeneratorfunction(function):
        guard = _isolated_old_style_wrapper(function, fail)
    elif opts.get("wrapper") and inspect.isgeneratorfunction(function):
        guard = _isolated_wrapper(function, fail)
    else:  # pluggy refuses a wrapper that is not a generator function, as it should

        def guard(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - a broken plugin must not stop pxr
                fail(error)
                return None

    functools.update_wrapper(guard, function)
    return hookspecs.hookimpl(
        guard,
        wrapper=bool(opts.get("wrapper")),
        hookwrapper=bool(opts.get("hookwrapper")),
        optionalhook=bool(opts.get("optionalhook")),
        tryfirst=bool(opts.get("tryfirst")),
        trylast=bool(opts.get("trylast")),
        specname=opts.get("specname"),
    )


def _isolated_wrapper(
    function: Callable[..., _Teardown], fail: Callable[[Exception], None]
) -> Callable[..., _Teardown]:
    """A ``wrapper=True`` implementation whose own failures leave the call's result alone."""

    def guard(*args: Any, **kwargs: Any) -> _Teardown:
        try:
            teardown = function(*args, **kwargs)
            next(teardown)
        except Exception as error:  # noqa: BLE001 - StopIteration too: it did not yield
            fail(error)
            return (yield)
        inner: BaseException | None = None
        result: Any = None
        try:
            result = yield
        except BaseException as raised:  # noqa: BLE001 - handed to the plugin, as pluggy does
            inner = raised
        try:
            if inner is None:
                teardown.send(result)
            else:
                teardown.throw(inner)
        except StopIteration as stop:
            return stop.value
        except Exception as error:
            if error is inner:
                raise  # the wrapper let the inner failure through: not its own failure
            fail(error)
        else:
            teardown.close()
            fail(RuntimeError("the wrapper yielded twice"))
        if inner is not None:
            raise inner
        return result

    return guard


def _isolated_old_style_wrapper(
    function: Callable[..., _Teardown], fail: Callable[[Exception], None]
) -> Callable[..., _Teardown]:
    """A ``hookwrapper=True`` implementation whose own failures leave the outcome alone."""

    def guard(*args: Any, **kwargs: Any) -> _Teardown:
        try:
            teardown = function(*args, **kwargs)
            next(teardown)
        except Exception as error:  # noqa: BLE001 - StopIteration too: it did not yield
            fail(error)
            yield
            return
        outcome = yield
        try:
            teardown.send(outcome)
        except StopIteration:
            pass
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop pxr
            fail(error)
        else:
            teardown.close()
            fail(RuntimeError("the hookwrapper yielded twice"))

    return guard


class Plugins:
    """A pluggy manager with pxr's hooks, and the registry the plugins filled.

    Add plugins with :meth:`add`, not ``manager.register``: only a plugin
    added here is isolated, so that its failure cannot stop the others.
    """

    def __init__(self, *, load_entry_points: bool = True, load_builtins: bool = True) -> None:
        self.manager = pluggy.PluginManager("pxr")
        self.manager.add_hookspecs(hookspecs)
        self.origins: dict[str, str] = {}
        self._plugins: dict[str, object] = {}
        self._originals: dict[Callable[..., Any], Callable[..., Any]] = {}
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
            try:
                self.add(plugin, name=point.name, origin=origin)
            except (PxrError, pluggy.PluginValidationError) as error:
                self._report(point.name, f"cannot be registered: {error}")

    def add(self, plugin: object, *, name: str | None = None, origin: str = "registered") -> str:
        """Register a plugin object or module; returns its name. Resets the registry.

        Raises :class:`~pxr.errors.PxrError` for a name or a plugin already
        registered, or a wrapper on a hook pxr calls one plugin at a time, and
        :class:`pluggy.PluginValidationError` for an implementation that does
        not match its hookspec.
        """
        name = name or self.manager.get_canonical_name(plugin)
        if name in self._plugins or self.manager.has_plugin(name):
            raise PxrError(f"plugin {name!r} is already registered")
        if any(known is plugin for known in self._plugins.values()):
            raise PxrError(f"plugin {name!r} is already registered under another name")
        self.manager.register(self._guard(plugin, name), name=name)
        self._plugins[name] = plugin
        self.origins[name] = origin
        self._registry = None
        return name

    def _guard(self, plugin: object, name: str) -> _Guard:
        guard = _Guard(name)
        for attr in dir(plugin):
            opts = self.manager.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook = opts.get("specname") or attr
            if hook in _ONE_AT_A_TIME and (opts.get("wrapper") or opts.get("hookwrapper")):
                raise PxrError(
                    f"plugin {name!r}: {hook} cannot be a wrapper; "
                    "pxr calls it one plugin at a time"
                )
            function = getattr(plugin, attr)

            def fail(error: Exception, _hook: str = hook) -> None:
                # Never the message or the arguments: they carry customers' personal data.
                self._report(name, f"failed in {_hook}: {type(error).__name__}")

            isolated = _isolated(function, opts, fail)
            self._originals[isolated] = function
            setattr(guard, attr, isolated)
        return guard

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
            "register_ledgers": registry.add_ledger,
        }
        for hook, add in adders.items():
            for impl in self._in_registration_order(hook):
                name = impl.plugin_name
                if name in self._broken:
                    continue

                def register(
                    *args: Any, _add: Callable[..., None] = add, _name: str = name
                ) -> None:
                    _add(*args, origin=_name)

                before = registry.snapshot()
                try:
                    # The plugin's own function: what it registered is undone
                    # if it raises, and the message (no personal data here) shown.
                    self._originals.get(impl.function, impl.function)(register=register)
                except Exception as error:  # noqa: BLE001 - a broken plugin must not stop pxr
                    registry.restore(before)  # nothing of a failed registration stays
                    self._report(name, f"failed in {hook}: {type(error).__name__}: {error}")
        return registry

    def _in_registration_order(self, hook: str) -> list[pluggy.HookImpl]:
        """``tryfirst``, then the rest, then ``trylast``; each group in registration order.

        Registration order (the built-ins first) and not pluggy's latest-first,
        so that a plugin registering a name pxr already has is the one
        reported, and a later catalog is merged over an earlier one.
        """
        order = {name: index for index, name in enumerate(self._plugins)}
        impls = getattr(self.manager.hook, hook).get_hookimpls()
        return sorted(
            impls,
            key=lambda impl: (
                0 if impl.tryfirst else 2 if impl.trylast else 1,
                order.get(impl.plugin_name, len(order)),
            ),
        )

    def impls(self, hook: str) -> list[pluggy.HookImpl]:
        """The plugins implementing ``hook`` (wrappers aside), in the order pluggy calls them.

        ``tryfirst`` first, ``trylast`` last, and otherwise the plugin
        registered last first. Each implementation is isolated: calling it
        with :meth:`call_one` reports a failure instead of raising.
        """
        impls = getattr(self.manager.hook, hook).get_hookimpls()
        return [impl for impl in reversed(impls) if not (impl.wrapper or impl.hookwrapper)]

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` through pluggy; a failing plugin is reported and the others still run.

        Returns what pluggy returns: the list of non-``None`` results, or the
        first one for a ``firstresult`` hook.
        """
        return getattr(self.manager.hook, hook)(**kwargs)

    def call_one(self, impl: pluggy.HookImpl, hook: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation; ``None`` (and a report) if it raises."""
        function = impl.function
        if function not in self._originals:  # registered past add(): isolate it here
            function = _isolated(
                function,
                impl.opts,
                lambda error: self._report(
                    impl.plugin_name, f"failed in {hook}: {type(error).__name__}"
                ),
            )
        return function(**{k: kwargs[k] for k in impl.argnames})

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
