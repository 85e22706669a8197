"""Plugins: hooks, entry points, broken plugins, and the example package."""

from __future__ import annotations

import ast
import inspect
import json
import logging
import re
import subprocess
import sys
import textwrap
import tomllib
import types
from collections.abc import Callable, Generator, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pluggy
import pytest

import pxr
from pxr import (
    Breach,
    Case,
    Compensation,
    Customer,
    MemoryLedger,
    Money,
    PxrError,
    Recovery,
    Severity,
    Signal,
    hookimpl,
    hookspecs,
)
from pxr.channels import Channel, Notifier
from pxr.compensation import CompensationFactory, CompensationRequest
from pxr.hookspecs import hookspec
from pxr.model import Message, MessageQueued
from pxr.plugins import Plugins, module_plugin
from pxr.policy import parse_policy
from pxr.testing import RecordingNotifier, message_for
from pxr.testing.contracts import ChannelContract, NotifierContract

from .conftest import ANNA, PARCEL, at
from .servers import FakeProvider, fake_provider

pxr_webhook = pytest.importorskip(
    "pxr_webhook",
    reason="the example plugin is installed by the README's test command: "
    "pip install -e examples/pxr-webhook",
)


def plugins_with(*extra: object) -> Plugins:
    """Built-ins plus ``extra``, without whatever else is installed."""
    plugins = Plugins(load_entry_points=False)
    for plugin in extra:
        plugins.add(plugin, name=getattr(plugin, "__name__", None), origin="test")
    return plugins


def late(subject: str = "A", **context: Any) -> Signal:
    return Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=26,
        at=at(),
        context={"order_total": "100.00", **context},
    )


class Recorder:
    """A plugin that records every lifecycle hook."""

    __name__ = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def breach_opened(self, breach: Any) -> None:
        self.calls.append(("breach_opened", breach.subject))

    @hookimpl
    def breach_escalated(self, breach: Any, previous: Any) -> None:
        self.calls.append(("breach_escalated", (breach.subject, str(previous))))

    @hookimpl
    def breach_resolved(self, breach: Any) -> None:
        self.calls.append(("breach_resolved", breach.subject))

    @hookimpl
    def compensation_issued(self, breach: Any, compensation: Compensation) -> None:
        self.calls.append(("compensation_issued", compensation.kind))

    @hookimpl
    def hand_over(self, breach: Any, compensation: Compensation, customer: Customer) -> None:
        self.calls.append(("hand_over", (compensation.team, compensation.priority, customer.id)))

    @hookimpl
    def case_handed_over(self, case: Case, reason: str) -> None:
        self.calls.append(("case_handed_over", (case.team, reason, case.customer)))

    @hookimpl
    def delivery_result(self, entry: Any, result: Any) -> None:
        self.calls.append(("delivery_result", result.status.value))


def recovery_with(plugins: Plugins, text: str = PARCEL) -> Recovery:
    policy = parse_policy(tomllib.loads(text), plugins.registry)
    return Recovery(policy, MemoryLedger(), plugins=plugins, customers=[ANNA])


def test_lifecycle_hooks_run_after_the_step_commits() -> None:
    recorder = Recorder()
    recovery = recovery_with(
        plugins_with(recorder),
        PARCEL.replace(
            'compensation.minor = { kind = "apology" }',
            'compensation.minor = { kind = "refund", percent = 5 }',
        ),
    )
    recovery.observe(attrs.evolve(late(), value=2))
    recovery.observe(late())
    recovery.resolve("A", at(4))
    assert recorder.calls == [
        ("breach_opened", "A"),
        ("compensation_issued", "refund"),
        ("breach_escalated", ("A", "minor")),
        ("compensation_issued", "refund"),
        ("breach_resolved", "A"),
    ]


def test_no_hook_for_a_step_that_was_rolled_back() -> None:
    recorder = Recorder()
    recovery = recovery_with(plugins_with(recorder))
    bad = attrs.evolve(late("X"), context={})  # the refund has no order_total
    recovery.observe_many([late("A"), bad, late("B")], on_error=lambda s, e: None)
    assert [c for c in recorder.calls if c[0] == "breach_opened"] == [
        ("breach_opened", "A"),
        ("breach_opened", "B"),
    ]


def test_escalate_hands_a_follow_up_task_to_the_host() -> None:
    recorder = Recorder()
    text = """
    [[thresholds]]
    name = "survey-low"
    metric = "survey_score"
    below = { major = 3 }
    compensation.major = { kind = "contact", within = "24h", team = "care" }
    """
    recovery = recovery_with(plugins_with(recorder), text)
    recovery.observe(
        Signal(
            customer="c-anna",
            subject="S1",
            metric="survey_score",
            value=1,
            at=at(),
            context={"comment": "Nobody called back."},
        )
    )
    assert ("hand_over", ("care", 1, "c-anna")) in recorder.calls


def test_a_follow_up_and_a_critical_breach_hand_the_case_over_once_each() -> None:
    recorder = Recorder()
    text = """
    [[thresholds]]
    name = "survey-low"
    metric = "survey_score"
    below = { major = 3, critical = 2 }
    compensation.major = { kind = "contact", within = "24h", team = "care" }
    """
    recovery = recovery_with(plugins_with(recorder), text)
    signal = Signal(customer="c-anna", subject="S1", metric="survey_score", value=2.5, at=at())
    recovery.observe(signal)
    recovery.observe(signal)
    recovery.observe(attrs.evolve(signal, value=1))
    recovery.observe(attrs.evolve(signal, value=1))
    handed = [c for c in recorder.calls if c[0] == "case_handed_over"]
    assert handed == [
        ("case_handed_over", ("care", "contact", "c-anna")),
        ("case_handed_over", ("care", "critical", "c-anna")),
    ]


def test_a_failing_plugin_is_reported_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        __name__ = "broken"

        @hookimpl
        def breach_opened(self, breach: Any) -> None:
            raise RuntimeError(f"boom for {breach.customer}")

    caplog.set_level(logging.WARNING, logger="pxr")
    recorder = Recorder()
    plugins = plugins_with(Broken(), recorder)
    recovery = recovery_with(plugins)
    actions = recovery.observe(late())
    assert any(isinstance(a, MessageQueued) for a in actions)
    assert ("breach_opened", "A") in recorder.calls
    assert plugins.broken["broken"] == "failed in breach_opened: RuntimeError"
    assert "broken" in caplog.text
    assert "c-anna" not in caplog.text  # the arguments (personal data) are never logged


def test_a_plugin_whose_register_hook_raises_is_skipped_by_name() -> None:
    class Bad:
        __name__ = "bad-channels"

        @hookimpl
        def register_channels(self, register: Callable[[Channel], None]) -> None:
            raise ImportError("no module named 'slack_sdk'")

    plugins = plugins_with(Bad())
    assert "sms" in plugins.registry.channels
    assert plugins.broken["bad-channels"].startswith("failed in register_channels: ImportError")
    (info,) = [i for i in plugins.describe() if i.name == "bad-channels"]
    assert info.error is not None


def test_a_name_clash_is_an_error_against_the_second_plugin() -> None:
    class Clash:
        __name__ = "clash"

        @hookimpl
        def register_channels(self, register: Callable[[Channel], None]) -> None:
            register(pxr_webhook.WebhookChannel(name="sms"))

    plugins = plugins_with(Clash())
    assert "already registered by plugin 'pxr'" in plugins.broken["clash"]
    assert type(plugins.registry.channels["sms"]).__name__ == "Sms"


@attrs.frozen
class Cake:
    """A custom compensation kind: a cake, worth ``value``."""

    value: Money
    kind: str = "cake"
    statutory: bool = False

    def compensate(self, request: CompensationRequest) -> Compensation:
        return Compensation(kind=self.kind, amount=self.value, item="a cake")


class Bakery:
    __name__ = "bakery"

    @hookimpl
    def register_compensation_kinds(
        self, register: Callable[[str, CompensationFactory], None]
    ) -> None:
        def factory(config: Mapping[str, Any], where: str, currency: str) -> Cake:
            return Cake(Money(Decimal(str(config.get("value", "30"))), currency))

        register("cake", factory)


def test_a_plugin_compensation_kind_is_usable_by_name_in_a_policy() -> None:
    text = PARCEL.replace('kind = "apology"', 'kind = "cake", value = "35.00"')
    recovery = recovery_with(plugins_with(Bakery()), text)
    actions = recovery.observe(attrs.evolve(late(), value=2))
    (issued,) = [a for a in actions if a.action == "compensation"]
    assert issued.to_dict()["kind"] == "cake"
    assert issued.to_dict()["amount"] == "35.00"


def test_before_send_can_amend_and_veto() -> None:
    class Signature:
        __name__ = "signature"

        @hookimpl
        def before_send(self, message: Message, customer: Customer) -> Message:
            return attrs.evolve(message, text=message.text + " — Anna from Care")

    class Veto:
        __name__ = "do-not-disturb"

        @hookimpl
        def before_send(self, message: Message, customer: Customer) -> str | None:
            return "customer is in hospital" if message.purpose == "resolution" else None

    recovery = recovery_with(plugins_with(Signature(), Veto()))
    sms = RecordingNotifier("sms")
    recovery.notifiers["sms"] = sms
    recovery.observe(late())
    recovery.resolve("A", at(4))
    report = recovery.dispatch_pending(at(5))
    assert (report.sent, report.cancelled) == (1, 1)
    (sent,) = sms.sent
    assert sent.text.endswith("— Anna from Care")
    assert sent.segments is not None  # reshaped after the amendment
    attempts = recovery.ledger.attempts()
    assert attempts[0].text == sent.text, "the ledger keeps exactly what was sent"
    (_, vetoed) = recovery.ledger.outbox()
    assert (vetoed.status, vetoed.last_error) == (
        "cancelled",
        "vetoed by do-not-disturb: customer is in hospital",
    )


def test_a_plugin_threshold_kind_is_usable_by_name_in_a_policy() -> None:
    """register_threshold_kinds: a 'between' kind, built from its own table."""

    @attrs.frozen
    class Between:
        name: str
        metric: str
        low: float
        high: float
        stage: str | None = None
        unit: str | None = None

        def evaluate(self, value: Any) -> Any:
            from pxr import Severity  # noqa: PLC0415

            return Severity.MAJOR if not self.low <= float(value) <= self.high else None

    class Band:
        __name__ = "band"

        @hookimpl
        def register_threshold_kinds(self, register: Callable[[str, Any], None]) -> None:
            register(
                "between",
                lambda table, where: Between(table["name"], table["metric"], *table["range"]),
            )

    text = """
    [[thresholds]]
    name = "fridge"
    kind = "between"
    metric = "temperature"
    range = [2, 8]
    compensation.major = { kind = "apology" }
    """
    plugins = plugins_with(Band())
    policy = parse_policy(tomllib.loads(textwrap.dedent(text)), plugins.registry)
    recovery = Recovery(policy, MemoryLedger(), plugins=plugins, customers=[ANNA])
    reading = Signal(customer="c-anna", subject="fridge-7", metric="temperature", value=12, at=at())
    assert [a.action for a in recovery.observe(reading)] == ["breach", "compensation", "message"]
    assert recovery.observe(attrs.evolve(reading, subject="fridge-8", value=5)) == ()


def test_register_catalogs_adds_a_domain_after_pxr_own(tmp_path: Path) -> None:
    class Brand:
        __name__ = "brand"

        @hookimpl
        def register_catalogs(self, register: Callable[[str, Path], None]) -> None:
            register("acme", tmp_path)

    plugins = plugins_with(Brand())
    assert [domain for domain, _ in plugins.registry.catalogs] == ["pxr", "acme"]
    (info,) = [i for i in plugins.describe() if i.name == "brand"]
    assert info.provides == ("catalog acme",)


def test_register_notifiers_makes_a_transport_usable_in_a_transports_file(tmp_path: Path) -> None:
    from pxr.testing import RecordingNotifier  # noqa: PLC0415
    from pxr.transports import load_transports  # noqa: PLC0415

    class Carrier:
        __name__ = "carrier"

        @hookimpl
        def register_notifiers(self, register: Callable[[str, Any], None]) -> None:
            register("recording", lambda settings: RecordingNotifier(str(settings["channel"])))

    transports = tmp_path / "transports.toml"
    transports.write_text('[sms]\ntransport = "recording"\nchannel = "sms"\n', encoding="utf-8")
    notifiers = load_transports(transports, plugins_with(Carrier()).registry)
    assert isinstance(notifiers["sms"], RecordingNotifier)


def test_register_ledgers_makes_a_scheme_usable_as_a_ledger_url() -> None:
    """A plugin's ``mem://`` opens its ledger wherever a ledger URL is taken."""
    opened: list[tuple[str, bool]] = []

    class Store:
        __name__ = "store"

        @hookimpl
        def register_ledgers(self, register: Callable[[str, Any], None]) -> None:
            def factory(url: str, *, create: bool) -> pxr.Ledger:
                opened.append((url, create))
                return pxr.MemoryLedger()

            register("mem", factory)

    plugins = plugins_with(Store())
    ledger = pxr.open_ledger("MEM://one", create=False, plugins=plugins)
    assert isinstance(ledger, pxr.MemoryLedger)
    assert opened == [("MEM://one", False)]
    (info,) = [i for i in plugins.describe() if i.name == "store"]
    assert info.provides == ("ledger mem",)


def test_a_plugin_cannot_take_over_a_built_in_ledger_scheme() -> None:
    class Impostor:
        __name__ = "impostor"

        @hookimpl
        def register_ledgers(self, register: Callable[[str, Any], None]) -> None:
            register("postgresql", lambda url, *, create: pxr.MemoryLedger())

    plugins = plugins_with(Impostor())
    assert "ledger 'postgresql' is already registered" in plugins.broken["impostor"]
    assert plugins.registry.origins["ledger", "postgresql"] == "pxr"


def test_delivery_result_reaches_plugins() -> None:
    recorder = Recorder()
    from pxr.testing import RecordingNotifier  # noqa: PLC0415

    recovery = recovery_with(plugins_with(recorder))
    recovery.notifiers["sms"] = RecordingNotifier("sms")
    recovery.observe(late())
    recovery.dispatch_pending(at(3))
    assert ("delivery_result", "sent") in recorder.calls


# ------------------------------------------------------------------ calling hooks through pluggy

RESOLVED = Breach(
    threshold="parcel-late",
    subject="A",
    customer="c-anna",
    severity=Severity.MINOR,
    opened_at=at(),
    updated_at=at(4),
    resolved_at=at(4),
)


def ordered(
    name: str, calls: list[str], *, tryfirst: bool = False, trylast: bool = False
) -> types.SimpleNamespace:
    """A ``breach_resolved`` plugin that writes its name to ``calls``."""

    def breach_resolved(breach: Breach) -> None:
        calls.append(name)

    return types.SimpleNamespace(
        __name__=name, breach_resolved=hookimpl(tryfirst=tryfirst, trylast=trylast)(breach_resolved)
    )


class Picking:
    """A test-only firstresult hookspec, added to the manager beside pxr's."""

    @hookspec(firstresult=True)
    def pick_channel(self, customer: str) -> str | None:
        """The first plugin with an answer picks the channel."""


def test_tryfirst_runs_before_plain_before_trylast() -> None:
    """Registered in the opposite order, so registration order alone would fail this."""
    calls: list[str] = []
    plugins = plugins_with(
        ordered("last", calls, trylast=True),
        ordered("plain", calls),
        ordered("first", calls, tryfirst=True),
    )
    plugins.call("breach_resolved", breach=RESOLVED)
    assert calls == ["first", "plain", "last"]


def test_plain_implementations_run_latest_registered_first() -> None:
    """pluggy's documented LIFO order, as ``pm.hook`` would call them."""
    calls: list[str] = []
    plugins = plugins_with(ordered("one", calls), ordered("two", calls))
    plugins.call("breach_resolved", breach=RESOLVED)
    direct: list[str] = []
    manager = pluggy.PluginManager("pxr")
    manager.add_hookspecs(hookspecs)
    manager.register(ordered("one", direct), name="one")
    manager.register(ordered("two", direct), name="two")
    manager.hook.breach_resolved(breach=RESOLVED)
    assert calls == direct == ["two", "one"]


def test_a_wrapper_body_runs_before_and_after_the_others() -> None:
    calls: list[str] = []

    class Timing:
        __name__ = "timing"

        @hookimpl(wrapper=True)
        def breach_resolved(self, breach: Breach) -> Generator[None, object, object]:
            calls.append(f"before {breach.subject}")
            result = yield
            calls.append(f"after {result!r}")
            return result

    plugins = plugins_with(Timing(), ordered("plain", calls))
    plugins.call("breach_resolved", breach=RESOLVED)
    assert calls == ["before A", "plain", "after []"]


def test_an_old_style_hookwrapper_sees_the_outcome() -> None:
    seen: list[object] = []

    class Legacy:
        __name__ = "legacy"

        @hookimpl(hookwrapper=True)
        def pick_channel(self, customer: str) -> Generator[None, pluggy.Result[str], None]:
            outcome = yield
            seen.append(outcome.get_result())
            outcome.force_result("email")

    plugins = plugins_with()
    plugins.manager.add_hookspecs(Picking)
    plugins.add(Legacy(), name="legacy")
    plugins.add(module_plugin("sms-first", pick_channel=lambda customer: "sms"))
    assert plugins.call("pick_channel", customer="c-anna") == "email"
    assert seen == ["sms"]


def test_firstresult_stops_at_the_first_non_none() -> None:
    calls: list[str] = []

    def answer(name: str, value: str | None) -> Callable[[str], str | None]:
        def pick_channel(customer: str) -> str | None:
            calls.append(name)
            return value

        return pick_channel

    plugins = plugins_with()
    plugins.manager.add_hookspecs(Picking)
    plugins.add(module_plugin("never-asked", pick_channel=answer("never-asked", "email")))
    plugins.add(module_plugin("answers", pick_channel=answer("answers", "sms")))
    plugins.add(module_plugin("no-opinion", pick_channel=answer("no-opinion", None)))
    assert plugins.call("pick_channel", customer="c-anna") == "sms"
    assert calls == ["no-opinion", "answers"]


def test_a_raising_plugin_is_reported_by_name_and_the_others_still_run() -> None:
    calls: list[str] = []

    def explode(breach: Breach) -> None:
        raise ValueError(f"no ticket for {breach.customer}")

    plugins = plugins_with(
        ordered("before", calls, tryfirst=True),
        module_plugin("exploding", breach_resolved=explode),
        ordered("after", calls, trylast=True),
    )
    plugins.call("breach_resolved", breach=RESOLVED)
    assert calls == ["before", "after"]
    assert plugins.broken == {"exploding": "failed in breach_resolved: ValueError"}


def test_a_raising_plugin_leaves_a_firstresult_call_to_the_next() -> None:
    def explode(customer: str) -> str:
        raise KeyError(customer)

    plugins = plugins_with()
    plugins.manager.add_hookspecs(Picking)
    plugins.add(module_plugin("fallback", pick_channel=lambda customer: "email"))
    plugins.add(module_plugin("exploding", pick_channel=explode))
    assert plugins.call("pick_channel", customer="c-anna") == "email"
    assert plugins.broken == {"exploding": "failed in pick_channel: KeyError"}


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_raising_wrapper_is_reported_and_the_call_completes(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    class Faulty:
        __name__ = "faulty"

        @hookimpl(wrapper=True)
        def breach_resolved(self, breach: Breach) -> Generator[None, object, object]:
            if where == "before":
                raise RuntimeError(f"cannot trace {breach.customer}")
            result = yield
            raise RuntimeError(f"cannot trace {breach.customer}: {result!r}")

    plugins = plugins_with(Faulty(), ordered("plain", calls))
    assert plugins.call("breach_resolved", breach=RESOLVED) == []
    assert calls == ["plain"]
    assert plugins.broken == {"faulty": "failed in breach_resolved: RuntimeError"}
    assert "c-anna" not in caplog.text


def test_a_raising_old_style_hookwrapper_is_reported_and_the_call_completes() -> None:
    class Faulty:
        __name__ = "faulty"

        @hookimpl(hookwrapper=True)
        def pick_channel(self, customer: str) -> Generator[None, pluggy.Result[str], None]:
            yield
            raise RuntimeError(customer)

    plugins = plugins_with()
    plugins.manager.add_hookspecs(Picking)
    plugins.add(Faulty(), name="faulty")
    plugins.add(module_plugin("sms-first", pick_channel=lambda customer: "sms"))
    assert plugins.call("pick_channel", customer="c-anna") == "sms"
    assert plugins.broken == {"faulty": "failed in pick_channel: RuntimeError"}


def install(site: Path, name: str, code: str) -> None:
    """A real installed distribution in ``site``, exposing module ``name`` as a pxr plugin."""
    (site / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[pxr]\n{name} = {name}\n", encoding="utf-8")


def test_an_installed_plugin_that_cannot_be_added_is_reported_and_pxr_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        tmp_path,
        "wrapping_plugin",
        """
        import pxr

        @pxr.hookimpl(wrapper=True)
        def before_send(message, customer):
            return (yield)
        """,
    )
    install(tmp_path, "missing_dependency", "import a_module_nobody_has\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = Plugins()
    assert plugins.broken["wrapping_plugin"] == (
        "cannot be registered: plugin 'wrapping_plugin': before_send cannot be a wrapper; "
        "pxr calls it one plugin at a time"
    )
    assert plugins.broken["missing_dependency"].startswith("cannot be loaded: ModuleNotFoundError")
    assert "sms" in plugins.registry.channels


def test_a_wrapper_that_is_not_a_generator_is_refused_by_pluggy() -> None:
    class NotAGenerator:
        __name__ = "not-a-generator"

        @hookimpl(wrapper=True)
        def breach_opened(self, breach: Breach) -> None:
            pass

    plugins = plugins_with()
    with pytest.raises(pluggy.PluginValidationError, match="not a generator function"):
        plugins.add(NotAGenerator())


def test_call_one_isolates_a_plugin_registered_on_the_manager_directly() -> None:
    def explode(message: Message, customer: Customer) -> None:
        raise RuntimeError(customer.id)

    plugins = plugins_with()
    plugins.manager.register(module_plugin("direct", before_send=explode), name="direct")
    (impl,) = plugins.impls("before_send")
    assert plugins.call_one(impl, "before_send", message=None, customer=ANNA) is None
    assert plugins.broken == {"direct": "failed in before_send: RuntimeError"}


def test_before_send_runs_in_pluggy_order() -> None:
    """tryfirst, plain, trylast: each sees the message the one before amended."""

    def sign(word: str, *, tryfirst: bool = False, trylast: bool = False) -> object:
        class Sign:
            __name__ = word

            @hookimpl(tryfirst=tryfirst, trylast=trylast)
            def before_send(self, message: Message, customer: Customer) -> Message:
                return attrs.evolve(message, text=f"{message.text} {word}")

        return Sign()

    plugins = plugins_with(sign("last", trylast=True), sign("plain"), sign("first", tryfirst=True))
    recovery = recovery_with(plugins)
    sms = RecordingNotifier("sms")
    recovery.notifiers["sms"] = sms
    recovery.observe(late())
    recovery.dispatch_pending(at(5))
    (sent,) = sms.sent
    assert sent.text.endswith(" first plain last")


def test_a_wrapper_of_a_hook_called_one_plugin_at_a_time_is_refused() -> None:
    class Wrapping:
        __name__ = "wrapping"

        @hookimpl(wrapper=True)
        def before_send(self, message: Message, customer: Customer) -> Generator[None, Any, Any]:
            return (yield)

    plugins = plugins_with()
    with pytest.raises(PxrError, match="'wrapping': before_send cannot be a wrapper"):
        plugins.add(Wrapping())
    assert "wrapping" not in dict(plugins.manager.list_name_plugin())


def test_a_trylast_registration_comes_after_the_others() -> None:
    """register_* hooks run in registration order, except where tryfirst/trylast say."""

    def pager(origin: str, *, trylast: bool = False) -> object:
        class Pager:
            __name__ = origin

            @hookimpl(trylast=trylast)
            def register_channels(self, register: Callable[[Channel], None]) -> None:
                register(pxr_webhook.WebhookChannel(name="pager"))

        return Pager()

    plugins = plugins_with(pager("early-but-last", trylast=True), pager("later"))
    assert plugins.registry.origins[("channel", "pager")] == "later"
    assert "already registered by plugin 'later'" in plugins.broken["early-but-last"]


def test_a_plugin_registered_twice_is_an_error() -> None:
    recorder = Recorder()
    plugins = plugins_with(recorder)
    with pytest.raises(PxrError, match="already registered under another name"):
        plugins.add(recorder, name="again")
    with pytest.raises(PxrError, match="'recorder' is already registered"):
        plugins.add(Recorder())


def test_every_hook_is_documented_and_tested() -> None:
    """A hook with no docstring, or no test here that uses it, fails this test."""
    source = Path(__file__).read_text(encoding="utf-8")
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "pxr_spec")]
    assert len(hooks) >= 12  # the pxr_spec look-up found the hooks (the lead may add more)
    for name in hooks:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"
        assert f"def {name}(" in source, f"{name} has no test"


def test_every_type_a_hook_names_is_importable_from_pxr() -> None:
    """What a plugin annotates a hook with, builds, or raises comes from ``import pxr``."""
    named: set[str] = set()
    for name in dir(hookspecs):
        spec = getattr(hookspecs, name)
        if not hasattr(spec, "pxr_spec"):
            continue
        signature = inspect.signature(spec)
        annotations = [p.annotation for p in signature.parameters.values()]
        for annotation in [*annotations, signature.return_annotation]:
            named |= set(re.findall(r"\b[A-Z]\w*", str(annotation)))
    named -= {"Any", "Callable", "None", "Path"}  # typing and pathlib
    built_or_raised = {
        "AddressRefused",  # Channel.address_for
        "CompensationPolicy",  # what a CompensationFactory builds
        "CompensationRequest",  # what CompensationPolicy.compute is given
        "DeliveryStatus",  # DeliveryResult.status
        "Notifier",  # what a NotifierFactory builds
        "Threshold",  # what a ThresholdFactory builds
        "ValidationError",  # a factory's bad setting
    }
    assert "Channel" in named
    assert named | built_or_raised <= set(pxr.__all__)


def test_the_example_plugin_imports_only_from_pxr() -> None:
    """The plugin guide's example needs no import from pxr's submodules."""
    source = Path(pxr_webhook.__file__).read_text(encoding="utf-8")
    modules = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pxr")
    }
    assert modules == {"pxr"}


# ------------------------------------------------------------------ the example package


def test_the_installed_example_plugin_is_listed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pxr", "plugins"], capture_output=True, text=True, check=True
    )
    assert "webhook  (pxr-webhook 0.1.0)" in result.stdout
    assert "    channel webhook" in result.stdout
    assert "    transport webhook" in result.stdout


class TestWebhookChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> Channel:
        return pxr_webhook.WebhookChannel()  # type: ignore[no-any-return]

    @pytest.fixture
    def reachable(self) -> Customer:
        return Customer(id="c", contacts={"webhook": "U024BE7LH"})

    @pytest.fixture
    def unreachable(self) -> Customer:
        return Customer(id="c", contacts={"webhook": "anna kowalska"})


WEBHOOK_TOKEN = "webhook-bearer-token-123"


@pytest.fixture
def hook_server() -> Iterator[FakeProvider]:
    with fake_provider((200, {"ok": True})) as provider:
        yield provider


class TestWebhookNotifier(NotifierContract):
    @pytest.fixture
    def notifier(self, hook_server: FakeProvider) -> Notifier:
        return pxr_webhook.WebhookNotifier(f"{hook_server.url}/hook", WEBHOOK_TOKEN)  # type: ignore[no-any-return]

    @pytest.fixture
    def outage_notifier(self) -> Notifier:
        return pxr_webhook.WebhookNotifier("http://127.0.0.1:9/hook", WEBHOOK_TOKEN, timeout=2)  # type: ignore[no-any-return]

    @pytest.fixture
    def good_message(self) -> Message:
        return message_for("webhook", "U024BE7LH")

    @pytest.fixture
    def refused_message(self, hook_server: FakeProvider) -> Message:
        hook_server.script.append((404, {"error": "no such user"}))
        return message_for("webhook", "U000GONE")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [WEBHOOK_TOKEN]


def test_the_example_plugin_end_to_end(hook_server: FakeProvider) -> None:
    """Installed through its entry point, routed by preference, sent over real HTTP."""
    plugins = Plugins()  # built-ins and installed entry points, as in production
    text = PARCEL.replace('channels = ["sms", "email"]', 'channels = ["webhook", "email"]')
    policy = parse_policy(tomllib.loads(text), plugins.registry)
    notifier = plugins.registry.notifiers["webhook"](
        {"url": f"{hook_server.url}/hook", "token": WEBHOOK_TOKEN}
    )
    customer = attrs.evolve(ANNA, contacts={"webhook": "U024BE7LH"})
    recovery = Recovery(
        policy,
        MemoryLedger(),
        plugins=plugins,
        customers=[customer],
        notifiers={"webhook": notifier},
    )
    recovery.observe(late())
    assert recovery.dispatch_pending(at(3)).sent == 1
    (request,) = hook_server.requests
    assert request.headers["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    body = json.loads(request.body)
    assert body["to"] == "U024BE7LH"
    assert body["locale"] == "pl_PL"
