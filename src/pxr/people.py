"""What a policy says about people: roles with authority limits, and how cases
are answered (deadline, team, country and sector, the ADR bodies).

``[[roles]]`` name who may grant how much per case; ``[cases]`` sets the
answer deadline, the team that gets hand-overs and when the sweeper warns the team.
The legal defaults and the ADR bodies shipped here come from the facts in
``docs/cases.md`` (only what a source confirmed); a host extends or overrides
the bodies with ``[cases] adr_file``.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from pxr._durations import parse_duration
from pxr.errors import PolicyError, ValidationError
from pxr.money import Money, Rates, parse_money

__all__ = [
    "LEGAL_DEADLINES",
    "SECTORS",
    "AdrBody",
    "CaseSettings",
    "LegalDeadline",
    "Role",
    "load_adr_bodies",
    "parse_cases",
    "parse_roles",
]

#: The sectors an ADR body or a legal deadline is kept for.
SECTORS = ("general", "air")


@attrs.frozen
class Role:
    """A role a person acts in, and what it may grant per case without approval."""

    name: str
    may_grant: Money

    def allows(self, amount: Money, rates: Rates) -> bool:
        """Whether ``amount`` (in any currency the rates know) is within this role's authority."""
        return rates.exact(amount, self.may_grant.currency) <= Fraction(self.may_grant.amount)


@attrs.frozen
class LegalDeadline:
    """How long a trader has, by law, to answer a complaint, and whether
    silence counts as accepting it."""

    within: dt.timedelta
    silence_accepts: bool
    source: str


#: Confirmed statutory answer deadlines per (country, sector). Only what the
#: facts file confirms: Poland's art. 7a of the Consumer Rights Act (14 days,
#: silence is acceptance) and the airlines' 30 days in the ULC notice.
LEGAL_DEADLINES: Mapping[tuple[str, str], LegalDeadline] = {
    ("PL", "general"): LegalDeadline(
        dt.timedelta(days=14), True, "PL Consumer Rights Act art. 7a (from 2023)"
    ),
    ("PL", "air"): LegalDeadline(
        dt.timedelta(days=30), False, "PL ULC: airlines answer in 30 days"
    ),
}


@attrs.frozen
class AdrBody:
    """An alternative dispute resolution body, as Directive 2013/11/EU Art. 13
    asks a trader to name it: its name and website."""

    country: str
    sector: str
    name: str
    website: str


@attrs.frozen
class CaseSettings:
    """The policy's ``[cases]`` table.

    ``answer_within`` is the policy's deadline (the law's, where shorter,
    wins); ``warn_before`` how long before the deadline the sweeper hands
    a case over; ``adr_participates`` whether the host takes part in ADR.
    """

    answer_within: dt.timedelta | None = None
    warn_before: dt.timedelta = dt.timedelta(days=2)
    team: str = "care"
    country: str | None = None
    sector: str = "general"
    adr_participates: bool = False
    adr_bodies: Mapping[tuple[str, str], AdrBody] = attrs.field(
        factory=lambda: load_adr_bodies(Path(__file__).with_name("adr.toml"))
    )

    def deadline(self) -> LegalDeadline | None:
        """The answer deadline: the shorter of the policy's and the law's."""
        legal = LEGAL_DEADLINES.get((self.country or "", self.sector))
        if self.answer_within is None:
            return legal
        if legal is not None and legal.within <= self.answer_within:
            return legal
        return LegalDeadline(
            self.answer_within, legal.silence_accepts if legal else False, "policy"
        )

    def adr_body(self) -> AdrBody | None:
        """The ADR body for the host's country and sector, if one is known."""
        return self.adr_bodies.get((self.country or "", self.sector))


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(where, "expected a table")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}.{key}", "required, a non-empty string")
    return value.strip()


def _country(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        raise ValidationError(
            where, f"expected a two-letter country code such as 'PL', got {value!r}"
        )
    return value.upper()


def _sector(value: object, where: str) -> str:
    if value not in SECTORS:
        raise ValidationError(where, f"expected one of {', '.join(SECTORS)}, got {value!r}")
    return str(value)


def parse_adr_bodies(data: Mapping[str, Any], name: str) -> dict[tuple[str, str], AdrBody]:
    """The ``[[bodies]]`` of an ADR data file, by (country, sector)."""
    found: dict[tuple[str, str], AdrBody] = {}
    bodies = data.get("bodies", [])
    if not isinstance(bodies, list):
        raise ValidationError("bodies", "expected [[bodies]]")
    for i, raw in enumerate(bodies):
        where = f"bodies[{i}]"
        table = _table(raw, where)
        extra = sorted(set(table) - {"country", "sector", "name", "website"})
        if extra:
            raise ValidationError(where, f"unknown key {extra[0]!r}")
        website = _text(table, "website", where)
        if not website.startswith("https://"):
            raise ValidationError(f"{where}.website", f"expected an https:// address in {name}")
        body = AdrBody(
            country=_country(table.get("country"), f"{where}.country"),
            sector=_sector(table.get("sector", "general"), f"{where}.sector"),
            name=_text(table, "name", where),
            website=website,
        )
        found[body.country, body.sector] = body
    return found


def load_adr_bodies(path: str | os.PathLike[str]) -> dict[tuple[str, str], AdrBody]:
    """Read an ADR data file. Raises :class:`~pxr.errors.PolicyError` naming file and key."""
    name = os.fspath(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(name, "", f"cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(name, "", f"not valid TOML: {error}") from None
    try:
        return parse_adr_bodies(data, name)
    except ValidationError as error:
        raise PolicyError(name, error.where, error.problem) from None


def parse_roles(raw: object, currency: str) -> tuple[Role, ...]:
    """The policy's ``[[roles]]``."""
    if not isinstance(raw, list):
        raise ValidationError("roles", "expected [[roles]]")
    roles: list[Role] = []
    for i, item in enumerate(raw):
        where = f"roles[{i}]"
        table = _table(item, where)
        extra = sorted(set(table) - {"name", "may_grant"})
        if extra:
            raise ValidationError(where, f"unknown key {extra[0]!r}; expected name, may_grant")
        name = _text(table, "name", where)
        if any(r.name == name for r in roles):
            raise ValidationError(f"{where}.name", f"role {name!r} is declared twice")
        if "may_grant" not in table:
            raise ValidationError(f"{where}.may_grant", 'required, an amount such as "50 PLN"')
        roles.append(Role(name, parse_money(table["may_grant"], currency, f"{where}.may_grant")))
    return tuple(roles)


_CASE_KEYS = {
    "answer_within",
    "warn_before",
    "team",
    "country",
    "sector",
    "adr_participates",
    "adr_file",
}


def parse_cases(raw: object, base: Path | None = None) -> CaseSettings:
    """The policy's ``[cases]`` table; ``adr_file`` is read relative to ``base``."""
    table = _table(raw, "cases")
    extra = sorted(set(table) - _CASE_KEYS)
    if extra:
        raise ValidationError(
            "cases", f"unknown key {extra[0]!r}; expected one of {sorted(_CASE_KEYS)}"
        )
    out: dict[str, Any] = {}
    for key in ("answer_within", "warn_before"):
        if key in table:
            if not isinstance(table[key], str):
                raise ValidationError(f"cases.{key}", 'expected a duration such as "14d"')
            out[key] = parse_duration(table[key], f"cases.{key}")
    if "team" in table:
        out["team"] = _text(table, "team", "cases")
    if "country" in table:
        out["country"] = _country(table["country"], "cases.country")
    if "sector" in table:
        out["sector"] = _sector(table["sector"], "cases.sector")
    if "adr_participates" in table:
        if not isinstance(table["adr_participates"], bool):
            raise ValidationError("cases.adr_participates", "expected true or false")
        out["adr_participates"] = table["adr_participates"]
    settings = CaseSettings(**out)
    if "adr_file" in table:
        path = Path(_text(table, "adr_file", "cases"))
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            extra_bodies = load_adr_bodies(path)
        except PolicyError as error:
            raise ValidationError("cases.adr_file", str(error)) from None
        settings = attrs.evolve(settings, adr_bodies={**settings.adr_bodies, **extra_bodies})
    return settings
