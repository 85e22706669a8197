"""What recovery buys, from the ledger: the recovery paradox, cost against
value kept, the silent unhappy customers, and the lead time of forecasts.

Each answer keeps the counts behind it and, where it compares groups, a 95 %
interval (Newcombe's, :func:`pxr.metrics.difference_interval`). Small
groups say "not enough data" instead of a verdict.

Groups of customers, from what the ledger holds:

* **recovered** — had an actual breach and got a message or a compensation
  beyond an apology, and were never held out;
* **control** — held out of a compensation (a threshold's ``holdout``);
* **never failed** — have an ``outcome`` event but no breach at all (the
  host records outcomes for them too, or this group is empty).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from pxr.ledger import CompensationRecord, LedgerReader, OutboxEntry, SuppressionRecord
from pxr.metrics import MIN_GROUP, OutcomeRate, difference_interval
from pxr.model import Breach, Purpose, Reason
from pxr.money import Money, Rates, total_in

__all__ = [
    "NOT_ENOUGH_DATA",
    "Forecasts",
    "Groups",
    "Paradox",
    "Proof",
    "Silent",
    "ValueKept",
    "compute_proof",
    "format_proof",
]

#: What a comparison says when a group is too small to conclude anything.
NOT_ENOUGH_DATA = (
    f"not enough data: each group needs at least {MIN_GROUP} customers,"
    " with 5 or more with and without the outcome"
)


@attrs.frozen
class Groups:
    """The customers of each group (ids, pseudonymous after erasure)."""

    recovered: frozenset[str]
    control: frozenset[str]
    never_failed: frozenset[str]


@attrs.frozen
class Paradox:
    """One outcome for the three groups, and recovered minus never-failed."""

    outcome: str
    recovered: OutcomeRate
    control: OutcomeRate
    never_failed: OutcomeRate
    difference: float
    interval: tuple[float, float] | None
    verdict: str


@attrs.frozen
class ValueKept:
    """Recovery's cost set against the value of the customers it kept.

    ``retained_value`` is every recovered customer with the outcome times the
    host's value of one customer (what was kept, whatever kept it);
    ``extra_retained`` is (recovered rate − control rate) × recovered
    customers, with its interval, and ``value`` that times the value of one
    customer (what recovery itself kept). ``None`` figures: no control group,
    or no rates.
    """

    outcome: str
    per_customer: Money
    cost: Money | None
    recovered: OutcomeRate
    control: OutcomeRate
    extra_retained: float | None
    extra_interval: tuple[float, float] | None
    value: Money | None
    value_interval: tuple[Money, Money] | None
    verdict: str

    @property
    def retained_value(self) -> Money:
        """Recovered customers with the outcome, times the value of one."""
        amount = self.per_customer.amount * self.recovered.with_outcome
        return Money(amount, self.per_customer.currency)


@attrs.frozen
class Silent:
    """Breaches nobody complained about: the unhappy customers who stay quiet."""

    breaches: int
    complained: int
    we_were_first: int

    @property
    def silent(self) -> int:
        """Breaches without a complaint."""
        return self.breaches - self.complained

    @property
    def first_share(self) -> float | None:
        """Breaches where our message came before any complaint, over all breaches."""
        return self.we_were_first / self.breaches if self.breaches else None


@attrs.frozen
class Forecasts:
    """What forecasts did: came true (with the lead time they gave), did not, still open."""

    confirmed: int
    not_come_true: int
    open: int
    lead_times: tuple[dt.timedelta, ...]

    @property
    def median_lead_time(self) -> dt.timedelta | None:
        """The median lead time of forecasts that came true."""
        if not self.lead_times:
            return None
        return dt.timedelta(seconds=statistics.median(t.total_seconds() for t in self.lead_times))

    @property
    def total_lead_time(self) -> dt.timedelta:
        """The time gained, summed over every forecast that came true."""
        return sum(self.lead_times, dt.timedelta())


@attrs.frozen
class Proof:
    """Every answer of this module, computed from one ledger."""

    groups: Groups
    paradox: Sequence[Paradox]
    cost_by_currency: Mapping[str, Decimal]
    cost: Money | None
    value_kept: ValueKept | None
    silent: Silent
    forecasts: Forecasts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "groups": {
                "recovered": len(self.groups.recovered),
                "control": len(self.groups.control),
                "never_failed": len(self.groups.never_failed),
            },
            "paradox": [_paradox_dict(p) for p in self.paradox],
            "cost": {
                "by_currency": {c: str(a) for c, a in sorted(self.cost_by_currency.items())},
                "total": str(self.cost) if self.cost is not None else None,
            },
            "value_kept": _value_dict(self.value_kept) if self.value_kept else None,
            "silent": {
                "breaches": self.silent.breaches,
                "complained": self.silent.complained,
                "silent": self.silent.silent,
                "we_were_first": self.silent.we_were_first,
                "first_share": self.silent.first_share,
            },
            "forecasts": {
                "confirmed": self.forecasts.confirmed,
                "not_come_true": self.forecasts.not_come_true,
                "open": self.forecasts.open,
                "median_lead_time_seconds": _seconds(self.forecasts.median_lead_time),
                "total_lead_time_seconds": self.forecasts.total_lead_time.total_seconds(),
            },
        }


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _rate_dict(rate: OutcomeRate) -> dict[str, Any]:
    return {"customers": rate.customers, "with": rate.with_outcome, "rate": rate.rate}


def _paradox_dict(p: Paradox) -> dict[str, Any]:
    return {
        "outcome": p.outcome,
        "recovered": _rate_dict(p.recovered),
        "control": _rate_dict(p.control),
        "never_failed": _rate_dict(p.never_failed),
        "difference": p.difference,
        "interval": list(p.interval) if p.interval else None,
        "verdict": p.verdict,
    }


def _value_dict(v: ValueKept) -> dict[str, Any]:
    return {
        "outcome": v.outcome,
        "per_customer": str(v.per_customer),
        "cost": str(v.cost) if v.cost is not None else None,
        "recovered": _rate_dict(v.recovered),
        "control": _rate_dict(v.control),
        "retained_value": str(v.retained_value),
        "extra_retained": v.extra_retained,
        "extra_interval": list(v.extra_interval) if v.extra_interval else None,
        "value": str(v.value) if v.value is not None else None,
        "value_interval": [str(m) for m in v.value_interval] if v.value_interval else None,
        "verdict": v.verdict,
    }


# ------------------------------------------------------------------ groups


def groups(
    breaches: Sequence[Breach],
    compensations: Sequence[CompensationRecord],
    outbox: Sequence[OutboxEntry],
    suppressions: Sequence[SuppressionRecord],
    outcome_events: Sequence[tuple[str, str, dt.datetime]],
) -> Groups:
    """Recovered, control and never-failed customers (see the module's docstring)."""
    failed = {b.customer for b in breaches if not b.forecast}
    ever = {b.customer for b in breaches}
    control = {
        s.customer
        for s in suppressions
        if s.what == "compensation" and s.kind == Reason.CONTROL_GROUP
    }
    reached = {c.customer for c in compensations if c.compensation.kind != "apology"}
    reached |= {
        e.customer
        for e in outbox
        if e.purpose not in {Purpose.FORECAST, Purpose.ALL_CLEAR, Purpose.RESOLUTION}
    }
    observed = {customer for customer, _, _ in outcome_events}
    return Groups(
        recovered=frozenset((failed & reached) - control),
        control=frozenset(control & failed),
        never_failed=frozenset(observed - ever),
    )


def _rate(members: frozenset[str], who: set[str]) -> OutcomeRate:
    return OutcomeRate(len(members), len(members & who))


def _small(*rates: OutcomeRate) -> bool:
    return any(
        r.customers < MIN_GROUP or r.with_outcome < 5 or r.customers - r.with_outcome < 5
        for r in rates
    )


def _paradox_verdict(
    outcome: str, a: OutcomeRate, b: OutcomeRate, interval: tuple[float, float] | None
) -> str:
    if interval is None or _small(a, b):
        return NOT_ENOUGH_DATA
    low, high = interval
    if low > 0:
        return f"recovered customers {outcome} more often than those who never had a problem"
    if high < 0:
        return f"recovered customers {outcome} less often than those who never had a problem"
    return "no clear difference: the interval includes zero"


def paradox(found: Groups, outcome_events: Sequence[tuple[str, str, dt.datetime]]) -> list[Paradox]:
    """Per outcome: its rate among recovered, control and never-failed customers."""
    by_outcome: dict[str, set[str]] = {}
    for customer, outcome, _ in outcome_events:
        by_outcome.setdefault(outcome, set()).add(customer)
    answers = []
    for outcome, who in sorted(by_outcome.items()):
        recovered = _rate(found.recovered, who)
        never = _rate(found.never_failed, who)
        interval = difference_interval(recovered, never)
        answers.append(
            Paradox(
                outcome,
                recovered,
                _rate(found.control, who),
                never,
                recovered.rate - never.rate,
                interval,
                _paradox_verdict(outcome, recovered, never, interval),
            )
        )
    return answers


# ------------------------------------------------------------------ money


def cost_by_currency(compensations: Sequence[CompensationRecord]) -> dict[str, Decimal]:
    """What compensation cost, per currency."""
    totals: dict[str, Decimal] = {}
    for record in compensations:
        amount = record.compensation.amount
        if amount is not None:
            totals[amount.currency] = totals.get(amount.currency, Decimal(0)) + amount.amount
    return totals


def cost_in(costs: Mapping[str, Decimal], rates: Rates | None) -> Money | None:
    """The total cost in the rates' currency; ``None`` without rates or one it cannot convert."""
    if rates is None:
        return None
    money = [Money(amount, currency) for currency, amount in costs.items()]
    if not all(rates.can_convert(m.currency, rates.currency) for m in money):
        return None
    return total_in(money, rates.currency, rates)


def value_kept(
    found: Groups,
    outcome_events: Sequence[tuple[str, str, dt.datetime]],
    *,
    outcome: str,
    per_customer: Money,
    cost: Money | None,
) -> ValueKept:
    """The customers recovery kept beyond the control group's rate, and their value."""
    who = {customer for customer, name, _ in outcome_events if name == outcome}
    recovered = _rate(found.recovered, who)
    control = _rate(found.control, who)
    interval = difference_interval(recovered, control)
    if interval is None:
        return ValueKept(
            outcome, per_customer, cost, recovered, control, None, None, None, None, NOT_ENOUGH_DATA
        )
    n = recovered.customers
    extra = (recovered.rate - control.rate) * n
    low, high = interval[0] * n, interval[1] * n

    def worth(customers: float) -> Money:
        return Money(per_customer.amount * Decimal(repr(customers)), per_customer.currency)

    verdict = NOT_ENOUGH_DATA if _small(recovered, control) else _value_verdict(low, high)
    return ValueKept(
        outcome,
        per_customer,
        cost,
        recovered,
        control,
        extra,
        (low, high),
        worth(extra),
        (worth(low), worth(high)),
        verdict,
    )


def _value_verdict(low: float, high: float) -> str:
    if low > 0:
        return "recovery kept customers the control group lost"
    if high < 0:
        return "recovered customers stayed less often than the control group"
    return "no clear difference: the interval includes zero"


# ------------------------------------------------------------------ silence and forecasts


def silent(
    breaches: Sequence[Breach],
    outbox: Sequence[OutboxEntry],
    complaint_events: Sequence[tuple[str, str, dt.datetime]],
) -> Silent:
    """Actual breaches, those with a complaint, and those where our message came first."""
    actual = [b for b in breaches if not b.forecast]
    complaints: dict[tuple[str, str], dt.datetime] = {}
    for customer, subject, at in complaint_events:
        key = (customer, subject)
        complaints[key] = min(at, complaints.get(key, at))
    told: dict[tuple[str, str], dt.datetime] = {}
    for entry in outbox:
        key = (entry.customer, entry.subject)
        told[key] = min(entry.send_at, told.get(key, entry.send_at))
    complained = first = 0
    for breach in actual:
        key = (breach.customer, breach.subject)
        complaint = complaints.get(key)
        message = told.get(key)
        complained += complaint is not None
        first += message is not None and (complaint is None or message <= complaint)
    return Silent(len(actual), complained, first)


def forecasts(breaches: Sequence[Breach]) -> Forecasts:
    """Forecast breaches: confirmed (with lead times), resolved without coming true, open."""
    lead = tuple(b.lead_time for b in breaches if b.lead_time is not None)
    missed = sum(1 for b in breaches if b.forecast and b.resolved_at is not None)
    pending = sum(1 for b in breaches if b.forecast and b.resolved_at is None)
    return Forecasts(len(lead), missed, pending, lead)


# ------------------------------------------------------------------ all of it


def compute_proof(
    ledger: LedgerReader,
    *,
    rates: Rates | None = None,
    customer_value: Money | None = None,
    retained: str = "repurchase",
) -> Proof:
    """Every answer, from one read of the ledger.

    ``rates`` (the policy's) give the cost in one currency;
    ``customer_value`` (what one kept customer is worth to the host) and
    ``retained`` (the outcome that means "stayed") give the value kept.
    """
    breaches = list(ledger.breaches())
    compensations = list(ledger.compensations())
    outbox = list(ledger.outbox())
    outcomes = ledger.events("outcome")
    found = groups(breaches, compensations, outbox, ledger.suppressions(), outcomes)
    costs = cost_by_currency(compensations)
    total = cost_in(costs, rates)
    kept = None
    if customer_value is not None:
        kept = value_kept(
            found, outcomes, outcome=retained, per_customer=customer_value, cost=total
        )
    return Proof(
        groups=found,
        paradox=paradox(found, outcomes),
        cost_by_currency=costs,
        cost=total,
        value_kept=kept,
        silent=silent(breaches, outbox, ledger.events("complaint")),
        forecasts=forecasts(breaches),
    )


def _hours(value: dt.timedelta) -> str:
    return f"{value.total_seconds() / 3600:.1f} h"


def _interval(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "no interval"
    return f"95 % interval {interval[0]:+.1%} to {interval[1]:+.1%}"


def _share(rate: OutcomeRate) -> str:
    return f"{rate.with_outcome}/{rate.customers}"


def format_proof(p: Proof) -> str:
    """The proof as text, after the metrics."""
    g = p.groups
    lines = [
        f"Customers: {len(g.recovered)} recovered, {len(g.control)} in a control group,"
        f" {len(g.never_failed)} never had a breach"
    ]
    for x in p.paradox:
        lines.append(
            f"Recovery paradox, {x.outcome}: recovered {_share(x.recovered)}, control"
            f" {_share(x.control)}, never failed {_share(x.never_failed)};"
            f" recovered − never failed {x.difference:+.1%} ({_interval(x.interval)})"
            f" — {x.verdict}"
        )
    if p.cost is not None:
        lines.append(f"Recovery cost in {p.cost.currency}: {p.cost}")
    v = p.value_kept
    if v is not None:
        lines.append(
            f"Retained after recovery ({v.outcome}): {v.recovered.with_outcome} of"
            f" {v.recovered.customers} customers, worth {v.retained_value}"
        )
        if v.value is not None and v.value_interval is not None and v.extra_retained is not None:
            low, high = v.value_interval
            lines.append(
                f"Value kept ({v.outcome}, {v.per_customer} a customer): {v.extra_retained:+.1f}"
                f" customers beyond the control group's rate, worth {v.value}"
                f" ({low} to {high}); cost {v.cost if v.cost is not None else 'n/a'} — {v.verdict}"
            )
        else:
            lines.append(f"Value kept ({v.outcome}): {v.verdict}")
    s = p.silent
    lines.append(
        f"Silent unhappy customers: {s.silent} of {s.breaches} breaches had no complaint;"
        f" we were first on {s.we_were_first}"
        + (f" ({s.first_share:.0%})" if s.first_share is not None else "")
    )
    f = p.forecasts
    median = f.median_lead_time
    lines.append(
        f"Forecasts: {f.confirmed} came true, {f.not_come_true} did not, {f.open} open"
        + (
            f"; median lead time {_hours(median)}, {_hours(f.total_lead_time)} gained in all"
            if median is not None
            else ""
        )
    )
    return "\n".join(lines) + "\n"
