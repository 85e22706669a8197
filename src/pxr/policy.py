"""The policy: thresholds, compensation and delivery settings, from a TOML file.

Errors name the file and the key (``thresholds[2].above.major: expected a
number``); TOML syntax errors keep tomllib's line and column.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from pxr._bounds import (
    MAX_DURATION,
    MAX_POLICY_BYTES,
    check_number,
    check_tree,
    key_name,
    shown,
)
from pxr._durations import check_unit, parse_duration
from pxr.compensation import BySegment, CompensationPolicy, NamesAmounts
from pxr.errors import PolicyError, ValidationError
from pxr.messages import TOPICS
from pxr.model import Severity, normalize_locale
from pxr.money import Money, Rates, check_currency, parse_money
from pxr.people import CaseSettings, Role, parse_cases, parse_roles
from pxr.registry import lookup
from pxr.thresholds import Threshold, Tiered

if TYPE_CHECKING:
    from pxr.registry import Registry

__all__ = [
    "Delivery",
    "Forecasts",
    "Limits",
    "Policy",
    "QuietHours",
    "Repeat",
    "Rule",
    "Stage",
    "check_amounts",
    "load_policy",
    "loads_policy",
    "tiered_threshold",
]


@attrs.frozen
class QuietHours:
    """Local hours when no message is sent; a message due inside waits for ``end``."""

    start: dt.time
    end: dt.time

    def contains(self, local: dt.time) -> bool:
        """Whether a local time falls inside (the window may wrap midnight)."""
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, at: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        """``at`` if outside quiet hours, else the next ``end`` in the customer's zone.

        Right across daylight-saving changes: in the hour that repeats when
        clocks go back, the wake-up is never before ``at``; when ``end`` falls
        in the hour skipped when clocks go forward, it is ``end`` read with the
        offset before the change (02:30 becomes 03:30 summer time).
        """
        local = at.astimezone(zone)
        if not self.contains(local.time()):
            return at
        instant = at.astimezone(dt.UTC)  # compared in UTC: wall times repeat
        day = local.date() if local.time() < self.end else local.date() + dt.timedelta(days=1)
        for when in (day, day + dt.timedelta(days=1)):
            for fold in (0, 1):
                wake = dt.datetime.combine(when, self.end, tzinfo=zone).replace(fold=fold)
                real = wake.astimezone(dt.UTC)
                if real > instant and not self.contains(real.astimezone(zone).time()):
                    return real.astimezone(at.tzinfo)
        return at  # pragma: no cover - a day always has a moment outside quiet hours


@attrs.frozen
class Limits:
    """Per-customer caps. ``None`` means no cap."""

    messages_per_day: int | None = None
    compensation_per_30_days: Money | None = None


@attrs.frozen
class Delivery:
    """How the dispatcher sends: retries for transient failures, and grouping."""

    max_attempts: int = 5
    retry_backoff: dt.timedelta = dt.timedelta(minutes=1)
    group_window: dt.timedelta = dt.timedelta(minutes=10)
    #: Channels on which a send whose outcome is unknown (the request went out,
    #: the answer was lost) is sent again: at least once. Elsewhere it is not
    #: resent (at most once) and the message ends ``uncertain``.
    resend_uncertain: frozenset[str] = frozenset()


@attrs.frozen
class Stage:
    """One stage of the customer journey, in order."""

    name: str
    description: str | None = None


@attrs.frozen
class Forecasts:
    """How a threshold acts on forecast signals (``forecast = …`` in the policy).

    ``notice``: send a heads-up when a forecast crosses (else the breach is
    only recorded, for the lead time); ``all_clear``: send a short "all good
    after all" when a forecast breach is resolved without an actual crossing.
    """

    notice: bool = True
    all_clear: bool = False


@attrs.frozen
class Repeat:
    """``repeat = { count, within_days, severity }``: the ``count``-th actual
    breach of the threshold for one customer within ``within`` is at least
    ``severity``."""

    count: int
    within: dt.timedelta
    severity: Severity


@attrs.frozen
class Rule:
    """A threshold with the compensations for each severity it can reach.

    A severity may give several compensations (EU 261 money *and* a meal),
    each of a different kind.
    """

    threshold: Threshold
    compensation: Mapping[Severity, tuple[CompensationPolicy, ...]] = attrs.field(factory=dict)
    holdout: float = 0.0
    #: What went wrong, for the words of the message: delivery, flight, wait, survey, generic.
    topic: str = "generic"
    #: Whether and how forecasts count (``None``: forecasts are ignored).
    forecast: Forecasts | None = None
    #: A severity for repeat failures (``None``: each breach stands alone).
    repeat: Repeat | None = None


@attrs.frozen
class Policy:
    """Everything the engine needs to decide; immutable once loaded."""

    rules: tuple[Rule, ...]
    locale: str = "en"
    currency: str = "EUR"
    #: The time zone of customers who have none: quiet hours and dates use it.
    timezone: str = "UTC"
    channels: tuple[str, ...] = ("sms", "email", "messenger")
    survey_quiet_days: int = 14
    quiet_hours: QuietHours | None = None
    #: How far producers' clocks may disagree: a resolution stamped up to this
    #: long before the signal that opened a breach still resolves it.
    clock_skew: dt.timedelta = dt.timedelta(minutes=1)
    limits: Limits = Limits()
    delivery: Delivery = Delivery()
    stages: tuple[Stage, ...] = ()
    #: Send SMS in GSM-7 where a plain transliteration exists (cheaper, less polished).
    sms_transliterate: bool = False
    #: What one unit of other currencies is worth in ``currency`` (``[recovery] rates``).
    rates: Rates = attrs.field(
        default=attrs.Factory(lambda self: Rates(self.currency), takes_self=True)
    )
    #: How long personal data is kept after a customer's last activity
    #: (``[recovery] retention``); ``None`` keeps it until erased.
    retention: dt.timedelta | None = None
    #: Who may grant how much per case (``[[roles]]``, see :mod:`pxr.cases`).
    roles: tuple[Role, ...] = ()
    #: How cases are answered (``[cases]``).
    cases: CaseSettings = attrs.field(factory=CaseSettings)

    def __attrs_post_init__(self) -> None:
        if self.rates.currency != self.currency:
            raise ValidationError(
                "recovery.rates",
                f"rates are in {self.rates.currency}, the policy's currency is {self.currency}",
            )
        check_amounts(self)

    def rule(self, threshold: str) -> Rule | None:
        """The rule whose threshold has this name."""
        return next((r for r in self.rules if r.threshold.name == threshold), None)

    @property
    def currencies(self) -> frozenset[str]:
        """The currencies the policy declares: its own and those in its rates."""
        return self.rates.currencies

    def with_rates(self, rates: Rates | Mapping[str, str | Decimal]) -> Policy:
        """This policy with the host's rates in place of ``[recovery] rates``
        (``{"EUR": "4.31"}``: one euro is 4.31 of the policy's currency).

        Raises :class:`~pxr.errors.ValidationError` if an amount the policy
        names then has no rate to its currency.
        """
        if not isinstance(rates, Rates):
            rates = Rates(self.currency, rates)
        return attrs.evolve(self, rates=rates)


def check_amounts(policy: Policy) -> None:
    """Refuse a policy with an amount (a value, a cap, the budget) that cannot
    be converted to its currency, and so to every currency it declares.

    Raises :class:`~pxr.errors.ValidationError` naming the key.
    """
    named: list[tuple[str, Money]] = []
    budget = policy.limits.compensation_per_30_days
    if budget is not None:
        named.append(("recovery.limits.compensation_per_30_days", budget))
    for i, rule in enumerate(policy.rules):
        for severity, policies in rule.compensation.items():
            for j, compensation in enumerate(policies):
                if isinstance(compensation, NamesAmounts):
                    at = f"thresholds[{i}].compensation.{severity}"
                    at += f"[{j}]" if len(policies) > 1 else ""
                    named += [(f"{at}.{key}", m) for key, m in compensation.amounts().items()]
    for where, money in named:
        if not policy.rates.can_convert(money.currency, policy.currency):
            raise ValidationError(
                where,
                f"{money} cannot be converted to {policy.currency}, the policy's currency:"
                f" give [recovery] rates a {money.currency} rate"
                f" (what one {money.currency} is worth in {policy.currency})",
            )


# ------------------------------------------------------------------ loading


def _expect(value: object, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind) or (
        isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
    ):
        raise ValidationError(where, f"expected {what}, got {shown(value, personal=False)}")
    return value


def _number(value: object, where: str) -> float | int | Decimal:
    return check_number(_expect(value, (int, float), where, "a number"), where)


def _whole(value: object, where: str, low: int, high: int) -> int:
    number: int = _expect(value, int, where, "a whole number")
    if not low <= number <= high:
        raise ValidationError(where, f"expected a whole number from {low} to {high:,}")
    return number


def _time(value: object, where: str) -> dt.time:
    text = _expect(value, str, where, 'a time such as "21:00"')
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            where, f'expected a time such as "21:00", got {shown(text, personal=False)}'
        ) from None


def tiered_threshold(config: Mapping[str, Any], where: str) -> Threshold:
    """The built-in ``tiered`` kind: ``above = {…}`` or ``below = {…}``."""
    has_above, has_below = "above" in config, "below" in config
    if has_above == has_below:
        raise ValidationError(where, "give exactly one of 'above' or 'below'")
    direction: Literal["above", "below"] = "above" if has_above else "below"
    table = _expect(config[direction], dict, f"{where}.{direction}", "a table of severities")
    tiers = {}
    for key, bound in table.items():
        severity = Severity.parse(key, f"{where}.{direction}.{key_name(key)}")
        tiers[severity] = _number(bound, f"{where}.{direction}.{key_name(key)}")
    unit = check_unit(config.get("unit"), f"{where}.unit")
    try:
        return Tiered(
            name=config["name"],
            metric=config["metric"],
            direction=direction,
            tiers=tiers,
            unit=unit,
            stage=config.get("stage"),
        )
    except ValidationError as error:
        raise error.within(where) from None


_RECOVERY_KEYS = {
    "locale",
    "currency",
    "channels",
    "survey_quiet_days",
    "quiet_hours",
    "limits",
    "delivery",
    "sms",
    "rates",
    "clock_skew",
    "timezone",
    "retention",
}
#: Keys every threshold table may have, whatever its kind.
_THRESHOLD_KEYS = {
    "name",
    "kind",
    "stage",
    "metric",
    "unit",
    "compensation",
    "holdout",
    "description",
    "topic",
    "forecast",
    "repeat",
}
#: Keys the built-in kind adds; a plugin's kind checks its own.
_TIERED_KEYS = {"above", "below"}


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ValidationError(where, f"unknown key {extra[0]!r}; expected one of {sorted(allowed)}")


def _recovery(table: Mapping[str, Any], registry: Registry) -> dict[str, Any]:
    _unknown(table, _RECOVERY_KEYS, "recovery")
    out: dict[str, Any] = {}
    if "locale" in table:
        out["locale"] = normalize_locale(table["locale"], "recovery.locale")
    if "timezone" in table:
        zone = _expect(
            table["timezone"], str, "recovery.timezone", 'a zone such as "Europe/Warsaw"'
        )
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise ValidationError("recovery.timezone", f"unknown time zone {shown(zone)}") from None
        out["timezone"] = zone
    out["currency"] = check_currency(table.get("currency", "EUR"), "recovery.currency")
    out["rates"] = Rates.parse(table.get("rates", {}), out["currency"])
    if "channels" in table:
        channels = _expect(table["channels"], list, "recovery.channels", "a list of channel names")
        for i, name in enumerate(channels):
            lookup("channel", registry.channels, name, f"recovery.channels[{i}]")
        out["channels"] = tuple(channels)
    if "survey_quiet_days" in table:
        out["survey_quiet_days"] = _whole(
            table["survey_quiet_days"], "recovery.survey_quiet_days", 0, MAX_DURATION.days
        )
    if "clock_skew" in table:
        text = _expect(table["clock_skew"], str, "recovery.clock_skew", 'a duration such as "5m"')
        out["clock_skew"] = parse_duration(text, "recovery.clock_skew")
    if "quiet_hours" in table:
        quiet = _expect(table["quiet_hours"], dict, "recovery.quiet_hours", "{ start, end }")
        _unknown(quiet, {"start", "end"}, "recovery.quiet_hours")
        if "start" not in quiet or "end" not in quiet:
            raise ValidationError("recovery.quiet_hours", "needs both 'start' and 'end'")
        out["quiet_hours"] = QuietHours(
            _time(quiet["start"], "recovery.quiet_hours.start"),
            _time(quiet["end"], "recovery.quiet_hours.end"),
        )
    if "limits" in table:
        limits = _expect(table["limits"], dict, "recovery.limits", "a table")
        _unknown(limits, {"messages_per_day", "compensation_per_30_days"}, "recovery.limits")
        per_day = limits.get("messages_per_day")
        if per_day is not None:
            _whole(per_day, "recovery.limits.messages_per_day", 1, 1_000_000)
        budget = limits.get("compensation_per_30_days")
        out["limits"] = Limits(
            messages_per_day=per_day,
            compensation_per_30_days=parse_money(
                budget, out["currency"], "recovery.limits.compensation_per_30_days"
            )
            if budget is not None
            else None,
        )
    if "sms" in table:
        sms = _expect(table["sms"], dict, "recovery.sms", "{ transliterate = true }")
        _unknown(sms, {"transliterate"}, "recovery.sms")
        out["sms_transliterate"] = _expect(
            sms.get("transliterate", False), bool, "recovery.sms.transliterate", "true or false"
        )
    if "retention" in table:
        text = _expect(table["retention"], str, "recovery.retention", 'a duration such as "365d"')
        retention = parse_duration(text, "recovery.retention")
        if not retention:
            raise ValidationError("recovery.retention", "must be longer than zero")
        out["retention"] = retention
    if "delivery" in table:
        out["delivery"] = _delivery(
            _expect(table["delivery"], dict, "recovery.delivery", "a table")
        )
    return out


def _delivery(table: Mapping[str, Any]) -> Delivery:
    where = "recovery.delivery"
    _unknown(table, {"max_attempts", "retry_backoff", "group_window", "resend_uncertain"}, where)
    defaults = Delivery()
    attempts = _whole(
        table.get("max_attempts", defaults.max_attempts), f"{where}.max_attempts", 1, 1000
    )
    durations = {}
    for key in ("retry_backoff", "group_window"):
        if key in table:
            text = _expect(table[key], str, f"{where}.{key}", 'a duration such as "10m"')
            durations[key] = parse_duration(text, f"{where}.{key}")
    resend = _expect(
        table.get("resend_uncertain", []),
        list,
        f"{where}.resend_uncertain",
        'a list of channel names such as ["sms"]',
    )
    if not all(isinstance(name, str) for name in resend):
        raise ValidationError(f"{where}.resend_uncertain", "expected channel names (strings)")
    return Delivery(max_attempts=attempts, resend_uncertain=frozenset(resend), **durations)


def _compensation(raw: object, where: str, currency: str, registry: Registry) -> CompensationPolicy:
    spec = dict(_expect(raw, dict, where, '{ kind = "…", … }'))
    factory = lookup(
        "compensation kind", registry.compensation_kinds, spec.get("kind"), f"{where}.kind"
    )
    overrides = spec.pop("segments", None)
    base = factory(spec, where, currency)
    if overrides is None:
        return base
    table = _expect(overrides, dict, f"{where}.segments", "{ gold = { percent = 20 } }")
    if base.statutory:
        raise ValidationError(f"{where}.segments", "what the law owes is the same for everyone")
    by: dict[str, CompensationPolicy] = {}
    for name, override in table.items():
        at = f"{where}.segments.{name}"
        keys = _expect(override, dict, at, "a table of keys to override")
        if keys.get("kind", spec["kind"]) != spec["kind"]:
            raise ValidationError(f"{at}.kind", "a segment changes amounts, not the kind")
        by[name] = factory({**spec, **keys}, at, currency)
    return BySegment(base, by)


def _rule(
    config: Mapping[str, Any], where: str, currency: str, registry: Registry, stages: set[str]
) -> Rule:
    kind = config.get("kind", "tiered")
    if kind == "tiered":
        _unknown(config, _THRESHOLD_KEYS | _TIERED_KEYS, where)
    for key in ("name", "metric"):
        if not isinstance(config.get(key), str) or not config[key].strip():
            raise ValidationError(f"{where}.{key}", "required, a non-empty string")
    stage = config.get("stage")
    if stage is not None and not isinstance(stage, str):
        raise ValidationError(
            f"{where}.stage", f"expected a stage name, got {shown(stage, personal=False)}"
        )
    if stage is not None and stages and stage not in stages:
        raise ValidationError(
            f"{where}.stage", f"{shown(stage, personal=False)} is not one of the [[stages]]"
        )
    threshold = lookup("threshold kind", registry.threshold_kinds, kind, f"{where}.kind")(
        config, where
    )
    compensation: dict[Severity, tuple[CompensationPolicy, ...]] = {}
    table = _expect(config.get("compensation", {}), dict, f"{where}.compensation", "a table")
    for key, raw in table.items():
        at = f"{where}.compensation.{key_name(key)}"
        severity = Severity.parse(key, at)
        specs = raw if isinstance(raw, list) else [raw]
        policies: list[CompensationPolicy] = []
        for i, spec in enumerate(specs):
            spec_at = f"{at}[{i}]" if isinstance(raw, list) else at
            policy = _compensation(spec, spec_at, currency, registry)
            if any(p.kind == policy.kind for p in policies):
                raise ValidationError(spec_at, f"kind {policy.kind!r} is given twice for {key}")
            policies.append(policy)
        compensation[severity] = tuple(policies)
    holdout = config.get("holdout", 0)
    holdout = float(_number(holdout, f"{where}.holdout"))
    if not 0 <= holdout < 1:
        raise ValidationError(f"{where}.holdout", f"expected a share in [0, 1), got {holdout}")
    if holdout and any(p.statutory for ps in compensation.values() for p in ps):
        raise ValidationError(
            f"{where}.holdout",
            "a control group is refused for statutory compensation (the law owes every passenger)",
        )
    topic = config.get("topic", "generic")
    if not isinstance(topic, str) or topic not in TOPICS:
        raise ValidationError(
            f"{where}.topic",
            f"expected one of {', '.join(TOPICS)}, got {shown(topic, personal=False)}",
        )
    return Rule(
        threshold,
        compensation,
        holdout,
        topic,
        _forecasts(config.get("forecast", False), f"{where}.forecast"),
        _repeat(config.get("repeat"), f"{where}.repeat"),
    )


def _forecasts(raw: object, where: str) -> Forecasts | None:
    """``forecast = true`` or ``forecast = { notice = true, all_clear = true }``."""
    if isinstance(raw, bool):
        return Forecasts() if raw else None
    table = _expect(raw, dict, where, "true, false or { notice = …, all_clear = … }")
    _unknown(table, {"notice", "all_clear"}, where)
    return Forecasts(
        notice=_expect(table.get("notice", True), bool, f"{where}.notice", "true or false"),
        all_clear=_expect(
            table.get("all_clear", False), bool, f"{where}.all_clear", "true or false"
        ),
    )


def _repeat(raw: object, where: str) -> Repeat | None:
    """``repeat = { count = 3, within_days = 90, severity = "critical" }``."""
    if raw is None:
        return None
    table = _expect(raw, dict, where, '{ count = 3, within_days = 90, severity = "critical" }')
    _unknown(table, {"count", "within_days", "severity"}, where)
    for key in ("count", "within_days", "severity"):
        if key not in table:
            raise ValidationError(f"{where}.{key}", "required")
    count = _expect(table["count"], int, f"{where}.count", "a whole number")
    if count < 2:
        raise ValidationError(f"{where}.count", f"must be at least 2, got {count}")
    days = _expect(table["within_days"], int, f"{where}.within_days", "whole days")
    if days < 1:
        raise ValidationError(f"{where}.within_days", f"must be at least 1, got {days}")
    severity = Severity.parse(table["severity"], f"{where}.severity")
    return Repeat(count, dt.timedelta(days=days), severity)


def parse_policy(
    data: Mapping[str, Any], registry: Registry | None = None, base: Path | None = None
) -> Policy:
    """A :class:`Policy` from already-parsed TOML data. Raises ValidationError.

    ``base`` is the policy file's folder, for files it names (``cases.adr_file``).
    """
    from pxr.plugins import get_plugins  # noqa: PLC0415

    registry = registry or get_plugins().registry
    _unknown(data, {"recovery", "stages", "thresholds", "roles", "cases"}, "")
    recovery = _recovery(_expect(data.get("recovery", {}), dict, "recovery", "a table"), registry)
    stages: list[Stage] = []
    for i, raw in enumerate(_expect(data.get("stages", []), list, "stages", "[[stages]]")):
        where = f"stages[{i}]"
        stage = _expect(raw, dict, where, "a table")
        _unknown(stage, {"name", "description"}, where)
        name = _expect(stage.get("name"), str, f"{where}.name", "a name")
        if any(s.name == name for s in stages):
            raise ValidationError(f"{where}.name", f"stage {name!r} is declared twice")
        description = stage.get("description")
        if description is not None:
            _expect(description, str, f"{where}.description", "a text")
        stages.append(Stage(name, description))
    rules: list[Rule] = []
    thresholds = _expect(data.get("thresholds", []), list, "thresholds", "[[thresholds]]")
    for i, raw in enumerate(thresholds):
        where = f"thresholds[{i}]"
        config = _expect(raw, dict, where, "a table")
        rule = _rule(config, where, recovery["currency"], registry, {s.name for s in stages})
        if any(r.threshold.name == rule.threshold.name for r in rules):
            raise ValidationError(
                f"{where}.name", f"threshold {rule.threshold.name!r} is declared twice"
            )
        rules.append(rule)
    people: dict[str, Any] = {}
    if "roles" in data:
        people["roles"] = parse_roles(data["roles"], recovery["currency"])
    if "cases" in data:
        people["cases"] = parse_cases(data["cases"], base)
    policy = Policy(rules=tuple(rules), stages=tuple(stages), **recovery, **people)
    for i, role in enumerate(policy.roles):
        if not policy.rates.can_convert(role.may_grant.currency, policy.currency):
            raise ValidationError(
                f"roles[{i}].may_grant",
                f"no rate for {role.may_grant.currency}: give [recovery] rates one",
            )
    return policy


def loads_policy(
    text: str, registry: Registry | None = None, name: str = "<policy>", base: Path | None = None
) -> Policy:
    """A policy from TOML text. Raises :class:`~pxr.errors.PolicyError` naming the key."""
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(name, "", f"larger than {MAX_POLICY_BYTES:,} characters")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(name, "", f"not valid TOML: {error}") from None
    except RecursionError:
        raise PolicyError(name, "", "not valid TOML: nested too deeply") from None
    except ValueError:
        # int() refuses more than 4300 digits; tomllib lets that through.
        raise PolicyError(name, "", "not valid TOML: a number too long") from None
    try:
        check_tree(data, "")
        return parse_policy(data, registry, base)
    except ValidationError as error:
        raise PolicyError(name, error.where, error.problem) from None
    except Exception as error:
        # A bug (in pxr or a plugin's kind) still names the file, never a bare traceback.
        raise PolicyError(
            name,
            "",
            f"internal error ({type(error).__name__}) reading the policy; please report it",
        ) from error


def load_policy(path: str | os.PathLike[str], registry: Registry | None = None) -> Policy:
    """Read a policy file. Raises :class:`~pxr.errors.PolicyError` naming file and key."""
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(name, "", f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(name, "", "not UTF-8 text") from None
    return loads_policy(text, registry, name, Path(path).parent)
