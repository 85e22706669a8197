"""Deciding, with nothing but values: a signal, the rules it crossed, the
customer, and a :class:`~pxr.ledger.Snapshot` of what the ledger knows
become a :class:`~pxr.ledger.Decision`.

Nothing here reads or writes a store, renders text or calls a plugin, so a
decision is as fast as the arithmetic in it and a test can check every rule
with plain values. The engine loads the snapshot, calls :func:`decide`, and
hands the decision to the ledger in one write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, MutableMapping, Sequence
from decimal import Decimal

import attrs

from pxr.channels import Channel
from pxr.compensation import CompensationRequest
from pxr.consent import ConsentRecord
from pxr.delivery import Unreachable, route, send_time
from pxr.ledger import (
    BreachChange,
    CompensationRecord,
    Decision,
    DecisionItem,
    OutboxEntry,
    Snapshot,
    SuppressionRecord,
)
from pxr.model import Breach, Compensation, Content, Customer, Purpose, Reason, Severity, Signal
from pxr.money import Money, budget_allows, total_in
from pxr.policy import Policy, Rule
from pxr.thresholds import as_duration

__all__ = ["BUDGET_WINDOW", "MESSAGE_WINDOW", "decide", "in_holdout", "message_items"]

#: The window of ``limits.compensation_per_30_days``.
BUDGET_WINDOW = dt.timedelta(days=30)
#: The window of ``limits.messages_per_day``.
MESSAGE_WINDOW = dt.timedelta(days=1)


def in_holdout(customer: str, threshold: str, share: float) -> bool:
    """Whether ``customer`` is in the control group of ``threshold``.

    Stable across runs and processes: a hash of the pair, not a random draw.
    """
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{threshold}\x1f{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def message_key(breach: Breach, purpose: Purpose, severity: Severity | None) -> str:
    """What makes a message unique: one per breach, purpose and severity."""
    return "\x1f".join((breach.threshold, breach.subject, purpose, str(severity or "")))


@attrs.define
class _Tally:
    """What this decision has spent and queued so far, on top of the snapshot."""

    spent: MutableMapping[str, Decimal]
    messages: int


def decide(
    hits: Sequence[tuple[Rule, Severity]],
    signal: Signal,
    customer: Customer,
    snapshot: Snapshot,
    *,
    policy: Policy,
    channels: Mapping[str, Channel],
) -> Decision:
    """What crossing ``hits`` changes: breaches, compensations, suppressions, messages."""
    tally = _Tally(dict(snapshot.spent or {}), snapshot.messages or 0)
    items: list[DecisionItem] = []
    for rule, reached in hits:
        key = (rule.threshold.name, signal.subject)
        existing = snapshot.breaches.get(key)
        if signal.forecast:
            items.extend(
                _foreseen(
                    rule,
                    reached,
                    signal,
                    existing=existing,
                    customer=customer,
                    policy=policy,
                    channels=channels,
                    tally=tally,
                )
            )
            continue
        severity = _repeated(rule, reached, snapshot)
        purpose = Purpose.NOTICE
        told = False  # a forecast notice already went out
        paid: Mapping[tuple[str, bool], Decimal] = {}
        if existing is None:
            breach = _new_breach(rule, signal, customer, severity)
            items.append(BreachChange(breach))
        elif existing.resolved_at is not None:
            continue
        elif existing.forecast:
            # The forecast came true: its notice was the first word, so the
            # customer hears again only about what the actual severity gives.
            breach = attrs.evolve(
                existing,
                severity=severity,
                updated_at=signal.at,
                confirmed_at=signal.at,
                forecast=False,
            )
            items.append(BreachChange(breach, previous=existing.severity, confirms=True))
            told = rule.forecast is not None and rule.forecast.notice
            if told:
                purpose = Purpose.CONFIRMATION
        elif severity <= existing.severity:
            continue
        else:
            breach = attrs.evolve(existing, severity=severity, updated_at=signal.at)
            items.append(BreachChange(breach, previous=existing.severity))
            purpose = Purpose.ESCALATION
            paid = snapshot.paid.get(key, {})
        compensations = _compensate(
            rule,
            breach,
            signal,
            customer=customer,
            policy=policy,
            paid=paid,
            tally=tally,
            items=items,
        )
        if told and not any(c.kind != "apology" for c in compensations):
            continue  # told already, and nothing new to offer
        items.extend(
            message_items(
                purpose,
                breach,
                customer,
                signal.at,
                policy=policy,
                channels=channels,
                tally=tally,
                topic=rule.topic,
                delay=as_duration(signal.value, rule.threshold.unit),
                compensations=compensations,
                consent=snapshot.consent,
            )
        )
    windows = {
        rule.threshold.name: signal.at - rule.repeat.within
        for rule, _ in hits
        if rule.repeat is not None
    }
    return Decision(
        customer=customer.id,
        items=tuple(items),
        spent_since=None if snapshot.spent is None else signal.at - BUDGET_WINDOW,
        spent=snapshot.spent,
        messages_since=None if snapshot.messages is None else signal.at - MESSAGE_WINDOW,
        messages=snapshot.messages,
        repeats_since=windows if snapshot.repeats is not None and windows else None,
        repeats=snapshot.repeats if windows else None,
    )


def _repeated(rule: Rule, severity: Severity, snapshot: Snapshot) -> Severity:
    """``severity``, raised to the rule's repeat severity if this breach is
    the ``count``-th (or later) within the window."""
    repeat = rule.repeat
    if repeat is None or snapshot.repeats is None:
        return severity
    before = snapshot.repeats.get(rule.threshold.name, 0)
    if before + 1 >= repeat.count:
        return max(severity, repeat.severity)
    return severity


def _foreseen(
    rule: Rule,
    severity: Severity,
    signal: Signal,
    *,
    existing: Breach | None,
    customer: Customer,
    policy: Policy,
    channels: Mapping[str, Channel],
    tally: _Tally,
) -> list[DecisionItem]:
    """A forecast crossing: a breach marked ``forecast`` and a heads-up, no
    compensation. Nothing if the rule ignores forecasts or the subject's
    breach is known already (forecast or actual)."""
    if rule.forecast is None or existing is not None:
        return []
    breach = _new_breach(rule, signal, customer, severity, forecast=True)
    items: list[DecisionItem] = [BreachChange(breach)]
    if rule.forecast.notice:
        items.extend(
            message_items(
                Purpose.FORECAST,
                breach,
                customer,
                signal.at,
                policy=policy,
                channels=channels,
                tally=tally,
                topic=rule.topic,
                delay=as_duration(signal.value, rule.threshold.unit),
            )
        )
    return items


def _new_breach(
    rule: Rule, signal: Signal, customer: Customer, severity: Severity, *, forecast: bool = False
) -> Breach:
    """The breach a signal opens: identity, stage and control group in one place."""
    return Breach(
        threshold=rule.threshold.name,
        subject=signal.subject,
        customer=customer.id,
        severity=severity,
        opened_at=signal.at,
        updated_at=signal.at,
        stage=rule.threshold.stage,
        holdout=in_holdout(customer.id, rule.threshold.name, rule.holdout),
        forecast=forecast,
    )


def _suppression(
    breach: Breach, at: dt.datetime, what: str, kind: Reason, reason: str
) -> SuppressionRecord:
    return SuppressionRecord(
        customer=breach.customer,
        subject=breach.subject,
        threshold=breach.threshold,
        severity=breach.severity if breach.resolved_at is None else None,
        what=what,
        reason=reason,
        at=at,
        kind=kind,
    )


def _compensate(
    rule: Rule,
    breach: Breach,
    signal: Signal,
    *,
    customer: Customer,
    policy: Policy,
    paid: Mapping[tuple[str, bool], Decimal],
    tally: _Tally,
    items: list[DecisionItem],
) -> list[Compensation]:
    """The tier's compensations, topping up what the breach already paid.

    What lower tiers paid (per currency, statutory and not counted apart)
    is credited against this tier, so a breach never pays more in total
    than its highest tier is worth.
    """
    policies = rule.compensation.get(breach.severity, ())
    if not policies:
        return []
    request = CompensationRequest(
        breach,
        signal,
        policy.currency,
        rule.threshold.unit,
        customer.locale,
        policy.rates,
        customer.segment,
    )
    # The control group keeps what the law owes and the apology; nothing else.
    withheld = [p for p in policies if breach.holdout and not p.statutory and p.kind != "apology"]
    decided = [p.compensate(request) for p in policies if p not in withheld]
    if withheld:
        items.append(
            _suppression(
                breach,
                signal.at,
                "compensation",
                Reason.CONTROL_GROUP,
                f"{Reason.CONTROL_GROUP}: apology only",
            )
        )
    credit = dict(paid)
    issued: list[Compensation] = []
    for offered in decided:
        if offered is None:
            continue
        compensation = offered
        if offered.amount is not None:
            due = _top_up(
                breach,
                signal,
                offered,
                offered.amount,
                policy,
                credit=credit,
                tally=tally,
                items=items,
            )
            if due is None:
                continue
            if due != offered.amount:
                compensation = attrs.evolve(offered, amount=due)
        items.append(
            CompensationRecord(
                threshold=breach.threshold,
                subject=breach.subject,
                severity=breach.severity,
                customer=customer.id,
                compensation=compensation,
                created_at=signal.at,
            )
        )
        issued.append(compensation)
    return issued


def _top_up(
    breach: Breach,
    signal: Signal,
    compensation: Compensation,
    amount: Money,
    policy: Policy,
    *,
    credit: dict[tuple[str, bool], Decimal],
    tally: _Tally,
    items: list[DecisionItem],
) -> Money | None:
    """The part of ``amount`` not yet paid, if the budget allows; or ``None``."""
    currency = amount.currency
    key = (currency, compensation.statutory)
    due = amount.amount - credit.get(key, Decimal(0))
    credit[key] = max(Decimal(0), -due)
    if due <= 0:
        items.append(
            _suppression(
                breach,
                signal.at,
                "compensation",
                Reason.ALREADY_COMPENSATED,
                f"{compensation.kind}: already compensated for this breach",
            )
        )
        return None
    budget = policy.limits.compensation_per_30_days
    if not compensation.statutory and budget is not None:
        # Whatever the currencies given so far, at the policy's rates.
        spent = [Money(amount, code) for code, amount in tally.spent.items()]
        if not budget_allows(spent, Money(due, currency), budget, policy.rates):
            given = total_in(spent, budget.currency, policy.rates)
            items.append(
                _suppression(
                    breach,
                    signal.at,
                    "compensation",
                    Reason.BUDGET,
                    f"budget: {budget} per 30 days, {given} already given",
                )
            )
            return None
    if not compensation.statutory:
        tally.spent[currency] = tally.spent.get(currency, Decimal(0)) + due
    return Money(due, currency)


def message_items(
    purpose: Purpose,
    breach: Breach,
    customer: Customer,
    at: dt.datetime,
    *,
    policy: Policy,
    channels: Mapping[str, Channel],
    tally: _Tally | None = None,
    topic: str = "generic",
    delay: dt.timedelta | None = None,
    compensations: Sequence[Compensation] = (),
    consent: Mapping[str, ConsentRecord] | None = None,
) -> list[DecisionItem]:
    """The message to queue about ``breach`` — or why none can be.

    The message is kept as :class:`~pxr.model.Content`: words are chosen when
    it is sent. ``tally`` counts messages already decided for the customer
    (against ``limits.messages_per_day``); one over the limit is deferred by
    a day, not dropped, so a customer who was paid is always told.
    ``consent`` (the snapshot's) rules out the channels the customer opted
    out of and the addresses providers refused.
    """
    found = route(customer, policy, channels, consent)
    if isinstance(found, Unreachable):
        return [_suppression(breach, at, "message", Reason.UNREACHABLE, found.reason)]
    send_at = send_time(customer, at, policy)
    cap = policy.limits.messages_per_day
    if cap is not None and tally is not None:
        if tally.messages >= cap:
            # Over the daily limit: told a day later, never dropped (the
            # dispatcher joins it with whatever else is due for them then).
            send_at = send_time(customer, at + MESSAGE_WINDOW, policy)
        tally.messages += 1
    severity = None if purpose in (Purpose.RESOLUTION, Purpose.ALL_CLEAR) else breach.severity
    return [
        OutboxEntry(
            key=message_key(breach, purpose, severity),
            customer=customer.id,
            subject=breach.subject,
            threshold=breach.threshold,
            severity=severity,
            created_at=at,
            channel=found.channel.name,
            to=found.address,
            locale=customer.locale,
            timezone=customer.timezone or policy.timezone,
            send_at=send_at,
            content=Content(
                purpose=purpose,
                subject=breach.subject,
                topic=topic,
                delay=delay,
                compensations=tuple(compensations),
            ),
            fallbacks=tuple((channel.name, address) for channel, address in found.fallbacks),
        )
    ]


def tally_for(snapshot: Snapshot) -> _Tally:
    """A running count starting from what ``snapshot`` saw (for a lone message)."""
    return _Tally(dict(snapshot.spent or {}), snapshot.messages or 0)
