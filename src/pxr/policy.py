"""The policy: thresholds, compensation and delivery settings, from a TOML file.

Errors name the file and the key (``thresholds[2].above.major: expected a
number``); TOML syntax errors keep tomllib's line and column.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from pxr._durations import check_unit, parse_duration
from pxr.compensation import CompensationPolicy, NamesAmounts
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
    "Limits",
    "Policy",
    "QuietHours",
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
        """``at`` if outside quiet hours, else the next ``end`` in the customer's zone."""
        local = at.astimezone(zone)
        if not self.contains(local.time()):
            return at
        day = local.date() if local.time() < self.end else local.date() + dt.timedelta(days=1)
        wake = dt.datetime.combine(day, self.end, tzinfo=zone)
        return wake.astimezone(at.tzinfo)


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


@attrs.frozen
class Policy:
    """Everything the engine needs to decide; immutable once loaded."""

    rules: tuple[Rule, ...]
    locale: str = "en"
    currency: str = "EUR"
    channels: tuple[str, ...] = ("sms", "email", "messenger")
    survey_quiet_days: int = 14
    quiet_hours: QuietHours | None = None
    limits: Limits = Limits()
    delivery: Delivery = Delivery()
    stages: tuple[Stage, ...] = ()
    #: Send SMS in GSM-7 where a plain transliteration exists (cheaper, less polished).
    sms_transliterate: bool = False
    #: What one unit of other currencies is worth in ``currency`` (``[recovery] rates``).
    rates: Rates = attrs.field(
        default=attrs.Factory(lambda self: Rates(self.currency), takes_self=True)
    )
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
        raise ValidationError(where, f"expected {what}, got {value!r}")
    return value


def _number(value: object, where: str) -> float | int | Decimal:
    return _expect(value, (int, float), where, "a number")  # type: ignore[no-any-return]


def _time(value: object, where: str) -> dt.time:
    text = _expect(value, str, where, 'a time such as "21:00"')
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValidationError(where, f'expected a time such as "21:00", got {text!r}') from None


def tiered_threshold(config: Mapping[str, Any], where: str) -> Threshold:
    """The built-in ``tiered`` kind: ``above = {…}`` or ``below = {…}``."""
    has_above, has_below = "above" in config, "below" in config
    if has_above == has_below:
        raise ValidationError(where, "give exactly one of 'above' or 'below'")
    direction: Literal["above", "below"] = "above" if has_above else "below"
    table = _expect(config[direction], dict, f"{where}.{direction}", "a table of severities")
    tiers = {}
    for key, bound in table.items():
        severity = Severity.parse(key, f"{where}.{direction}.{key}")
        tiers[severity] = _number(bound, f"{where}.{direction}.{key}")
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
    out["currency"] = check_currency(table.get("currency", "EUR"), "recovery.currency")
    out["rates"] = Rates.parse(table.get("rates", {}), out["currency"])
    if "channels" in table:
        channels = _expect(table["channels"], list, "recovery.channels", "a list of channel names")
        for i, name in enumerate(channels):
            lookup("channel", registry.channels, name, f"recovery.channels[{i}]")
        out["channels"] = tuple(channels)
    if "survey_quiet_days" in table:
        days = _expect(table["survey_quiet_days"], int, "recovery.survey_quiet_days", "whole days")
        if days < 0:
            raise ValidationError("recovery.survey_quiet_days", "must not be negative")
        out["survey_quiet_days"] = days
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
        if per_day is not None and (
            _expect(per_day, int, "recovery.limits.messages_per_day", "a whole number") < 1
        ):
            raise ValidationError("recovery.limits.messages_per_day", "must be at least 1")
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
    if "delivery" in table:
        out["delivery"] = _delivery(
            _expect(table["delivery"], dict, "recovery.delivery", "a table")
        )
    return out


def _delivery(table: Mapping[str, Any]) -> Delivery:
    where = "recovery.delivery"
    _unknown(table, {"max_attempts", "retry_backoff", "group_window", "resend_uncertain"}, where)
    defaults = Delivery()
    attempts = _expect(
        table.get("max_attempts", defaults.max_attempts),
        int,
        f"{where}.max_attempts",
        "a whole number",
    )
    if attempts < 1:
        raise ValidationError(f"{where}.max_attempts", "must be at least 1")
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
    spec = _expect(raw, dict, where, '{ kind = "…", … }')
    factory = lookup(
        "compensation kind", registry.compensation_kinds, spec.get("kind"), f"{where}.kind"
    )
    return factory(spec, where, currency)


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
    if stage is not None and stages and stage not in stages:
        raise ValidationError(f"{where}.stage", f"{stage!r} is not one of the [[stages]]")
    threshold = lookup("threshold kind", registry.threshold_kinds, kind, f"{where}.kind")(
        config, where
    )
    compensation: dict[Severity, tuple[CompensationPolicy, ...]] = {}
    table = _expect(config.get("compensation", {}), dict, f"{where}.compensation", "a table")
    for key, raw in table.items():
        at = f"{where}.compensation.{key}"
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
    if topic not in TOPICS:
        raise ValidationError(
            f"{where}.topic", f"expected one of {', '.join(TOPICS)}, got {topic!r}"
        )
    return Rule(threshold, compensation, holdout, topic)


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
        stages.append(Stage(name, stage.get("description")))
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(name, "", f"not valid TOML: {error}") from None
    try:
        return parse_policy(data, registry, base)
    except ValidationError as error:
        raise PolicyError(name, error.where, error.problem) from None


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
