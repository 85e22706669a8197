"""The answers the seeds ask for, computed from the ledger.

Only 1 in 26 unhappy customers complains, so a company must know where
experiences break, whether it reached the customer first, how fast, at what
cost, and whether recovery keeps customers. :func:`compute_metrics` reads a
ledger and answers each question; ``pxr metrics`` prints the answers.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from pxr.cases import CaseStats, case_stats
from pxr.ledger import (
    CaseStore,
    CompensationRecord,
    DeliveryAttempt,
    LedgerReader,
    OutboxEntry,
    SuppressionRecord,
)
from pxr.model import Breach, Reason

__all__ = [
    "ChannelStats",
    "Comparison",
    "Deliveries",
    "FirstContact",
    "FollowUps",
    "Metrics",
    "OutcomeRate",
    "compute_metrics",
    "delivered_first_contacts",
    "deliveries",
    "difference_interval",
    "first_contacts",
    "format_metrics",
    "reason_key",
]

#: The stage name shown for thresholds that name none.
NO_STAGE = "(no stage)"

#: The suppression reason the engine records for a held-out compensation.
HOLDOUT_REASON = str(Reason.CONTROL_GROUP)

#: Fewer customers than this in either group, or fewer than 5 with and 5
#: without the outcome, and the comparison says it cannot conclude.
MIN_GROUP = 30


@attrs.frozen
class ChannelStats:
    """What happened on one channel."""

    queued: int = 0
    sent: int = 0
    dead: int = 0
    transient_failures: int = 0
    moved_on: int = 0  # permanent failures: moved to the customer's next channel
    segments: int = 0  # SMS segments of messages sent


@attrs.frozen
class FollowUps:
    """Human follow-ups (``contact`` compensations): planned, done, how fast."""

    planned: int
    done: int
    on_time: int
    median_hours_to_contact: float | None


@attrs.frozen
class OutcomeRate:
    """How many customers of a group had an outcome."""

    customers: int
    with_outcome: int

    @property
    def rate(self) -> float:
        """The share with the outcome (0 for an empty group)."""
        return self.with_outcome / self.customers if self.customers else 0.0


@attrs.frozen
class Comparison:
    """Treated vs control (holdout) customers of one threshold, for one outcome."""

    threshold: str
    outcome: str
    treated: OutcomeRate
    control: OutcomeRate
    difference: float  # treated rate minus control rate
    interval: tuple[float, float] | None  # 95 % interval for the difference
    verdict: str


@attrs.frozen
class FirstContact:
    """One breach: when it opened, when we first messaged, when they first complained."""

    opened_at: dt.datetime
    message_at: dt.datetime | None
    complaint_at: dt.datetime | None

    @property
    def counted(self) -> bool:
        """Whether it counts for the first-contact rate: a message or a complaint happened."""
        return self.message_at is not None or self.complaint_at is not None

    @property
    def we_were_first(self) -> bool:
        """Our message went out before any complaint."""
        return self.message_at is not None and (
            self.complaint_at is None or self.message_at <= self.complaint_at
        )


@attrs.frozen
class Metrics:
    """Everything ``pxr metrics`` reports."""

    breaches: Mapping[tuple[str, str, str], int]  # (stage, threshold, severity) -> count
    first_contacts: Sequence[FirstContact]
    channels: Mapping[str, ChannelStats]
    cost_by_currency: Mapping[str, Decimal]
    cost_by_kind: Mapping[tuple[str, str], Decimal]  # (kind, currency) -> amount
    compensations_by_kind: Mapping[tuple[str, str], int]  # (kind, currency or "") -> count
    suppressed: Mapping[str, int]
    follow_ups: FollowUps
    comparisons: Sequence[Comparison]
    #: Complaints about subjects pxr never flagged: the problems monitoring missed.
    #: Never "first" — they count in a row of their own.
    unflagged_complaints: int = 0
    #: Complaints and hand-overs worked by people (:mod:`pxr.cases`).
    cases: CaseStats = attrs.field(factory=CaseStats)

    @property
    def first_contact(self) -> tuple[int, int]:
        """(breaches where we were first, breaches with a message or a complaint)."""
        counted = [c for c in self.first_contacts if c.counted]
        return sum(c.we_were_first for c in counted), len(counted)

    @property
    def seconds_to_first_message(self) -> list[float]:
        """For each breach with a message: seconds from opening to the first message."""
        return [
            max(0.0, (c.message_at - c.opened_at).total_seconds())
            for c in self.first_contacts
            if c.message_at is not None
        ]

    @property
    def first_contact_rate(self) -> float | None:
        """Breaches where our message went out before any complaint, over those
        that had a message or a complaint."""
        first, total = self.first_contact
        return first / total if total else None

    def time_to_first_message(self) -> tuple[float | None, float | None]:
        """Median and 90th percentile, in seconds, from breach to first message."""
        values = sorted(self.seconds_to_first_message)
        if not values:
            return None, None
        return statistics.median(values), _percentile(values, 0.9)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        median, p90 = self.time_to_first_message()
        return {
            "breaches": [
                {"stage": s, "threshold": t, "severity": v, "count": n}
                for (s, t, v), n in sorted(self.breaches.items())
            ],
            "first_contact": {
                "first": self.first_contact[0],
                "total": self.first_contact[1],
                "rate": self.first_contact_rate,
                "complaints_never_flagged": self.unflagged_complaints,
            },
            "time_to_first_message_seconds": {"median": median, "p90": p90},
            "channels": {
                name: attrs.asdict(stats) for name, stats in sorted(self.channels.items())
            },
            "cost": {
                "by_currency": {c: str(a) for c, a in sorted(self.cost_by_currency.items())},
                "by_kind": [
                    {"kind": k, "currency": c, "amount": str(a)}
                    for (k, c), a in sorted(self.cost_by_kind.items())
                ],
                "count_by_kind": [
                    {"kind": k, "currency": c or None, "count": n}
                    for (k, c), n in sorted(self.compensations_by_kind.items())
                ],
            },
            "suppressed": dict(sorted(self.suppressed.items())),
            "follow_ups": attrs.asdict(self.follow_ups),
            "cases": attrs.asdict(self.cases),
            "control_groups": [
                {
                    "threshold": c.threshold,
                    "outcome": c.outcome,
                    "treated": {"customers": c.treated.customers, "with": c.treated.with_outcome},
                    "control": {"customers": c.control.customers, "with": c.control.with_outcome},
                    "difference": c.difference,
                    "interval": list(c.interval) if c.interval else None,
                    "verdict": c.verdict,
                }
                for c in self.comparisons
            ],
        }


def _percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values``."""
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def difference_interval(
    treated: OutcomeRate, control: OutcomeRate, z: float = 1.959964
) -> tuple[float, float] | None:
    """Newcombe's 95 % interval for a difference of two proportions (Wilson scores).

    Better than the textbook Wald interval for small groups and rates near 0
    or 1 — exactly the case of a 5 % holdout. ``None`` for an empty group.
    """
    if not treated.customers or not control.customers:
        return None
    l1, u1 = _wilson(treated.with_outcome, treated.customers, z)
    l2, u2 = _wilson(control.with_outcome, control.customers, z)
    p1, p2 = treated.rate, control.rate
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (low, high)


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _verdict(
    treated: OutcomeRate, control: OutcomeRate, interval: tuple[float, float] | None
) -> str:
    small = [
        group
        for group in (treated, control)
        if group.customers < MIN_GROUP
        or group.with_outcome < 5
        or group.customers - group.with_outcome < 5
    ]
    if small or interval is None:
        return (
            "too few customers to conclude anything: each group needs at least"
            f" {MIN_GROUP}, with 5 or more with and without the outcome"
        )
    low, high = interval
    if low > 0:
        return "more common among customers who got compensation"
    if high < 0:
        return "less common among customers who got compensation"
    return "no clear difference: the interval includes zero"


def _compare(
    suppressions: Sequence[SuppressionRecord],
    compensations: Sequence[CompensationRecord],
    outcome_events: Sequence[tuple[str, str, dt.datetime]],
) -> list[Comparison]:
    """Per threshold: customers who got compensation vs customers held out of it.

    Only breaches that reached a compensated tier count: a held-out customer
    whose breach stayed at "apology only" was never denied anything.
    """
    groups: dict[str, dict[str, bool]] = defaultdict(dict)  # threshold -> customer -> held out
    for record in suppressions:
        held = record.what == "compensation" and _reason(record) == Reason.CONTROL_GROUP
        if held and record.threshold is not None:
            groups[record.threshold][record.customer] = True
    for comp in compensations:
        if comp.compensation.kind != "apology":
            groups[comp.threshold].setdefault(comp.customer, False)
    outcomes: dict[str, set[str]] = defaultdict(set)  # outcome -> customers
    for customer, outcome, _ in outcome_events:
        outcomes[outcome].add(customer)
    comparisons = []
    for threshold, members in sorted(groups.items()):
        if not any(members.values()):
            continue  # no control group for this threshold
        control = {c for c, held in members.items() if held}
        treated = set(members) - control
        for outcome, who in sorted(outcomes.items()):
            t = OutcomeRate(len(treated), len(treated & who))
            c = OutcomeRate(len(control), len(control & who))
            interval = difference_interval(t, c)
            comparisons.append(
                Comparison(
                    threshold, outcome, t, c, t.rate - c.rate, interval, _verdict(t, c, interval)
                )
            )
    return comparisons


def _earliest(
    pairs: Iterable[tuple[tuple[str, str], dt.datetime]],
) -> dict[tuple[str, str], dt.datetime]:
    earliest: dict[tuple[str, str], dt.datetime] = {}
    for key, at in pairs:
        if key not in earliest or at < earliest[key]:
            earliest[key] = at
    return earliest


def first_contacts(
    breaches: Sequence[Breach],
    outbox: Sequence[OutboxEntry],
    complaint_events: Sequence[tuple[str, str, dt.datetime]],
) -> list[FirstContact]:
    """Every breach with its first message and first complaint (by customer and subject)."""
    messages = _earliest(((e.customer, e.subject), e.send_at) for e in outbox)
    complaints = _earliest(((c, s), at) for c, s, at in complaint_events)
    return [
        FirstContact(
            b.opened_at,
            messages.get((b.customer, b.subject)),
            complaints.get((b.customer, b.subject)),
        )
        for b in breaches
    ]


def delivered_first_contacts(
    breaches: Sequence[Breach],
    outbox: Sequence[OutboxEntry],
    attempts: Sequence[DeliveryAttempt],
    complaint_events: Sequence[tuple[str, str, dt.datetime]],
) -> list[FirstContact]:
    """Like :func:`first_contacts`, but a message counts from the time a provider
    accepted it (its ``sent`` attempt), and a message never sent does not count."""
    accepted: dict[int, dt.datetime] = {}
    for attempt in attempts:
        if attempt.status == "sent" and (
            attempt.entry_id not in accepted or attempt.at < accepted[attempt.entry_id]
        ):
            accepted[attempt.entry_id] = attempt.at
    messages = _earliest(
        ((e.customer, e.subject), accepted[e.id])
        for e in outbox
        if e.id is not None and e.id in accepted
    )
    complaints = _earliest(((c, s), at) for c, s, at in complaint_events)
    return [
        FirstContact(
            b.opened_at,
            messages.get((b.customer, b.subject)),
            complaints.get((b.customer, b.subject)),
        )
        for b in breaches
    ]


@attrs.frozen
class Deliveries:
    """Where one channel's messages are now, and how its attempts ended.

    Messages (by the channel they are on now): ``sent``, ``waiting`` (pending
    or being sent, retries included), ``dead``, and ``other`` (any other
    status). Attempts: ``failed`` (transient), ``refused`` (permanent) and
    ``uncertain`` (the answer was lost after sending).
    """

    sent: int = 0
    waiting: int = 0
    dead: int = 0
    other: int = 0
    failed: int = 0
    refused: int = 0
    uncertain: int = 0

    @property
    def messages(self) -> int:
        """Every message on this channel, whatever its status."""
        return self.sent + self.waiting + self.dead + self.other


def deliveries(
    outbox: Iterable[OutboxEntry], attempts: Iterable[DeliveryAttempt]
) -> dict[str, Deliveries]:
    """Per channel: messages by status and attempts by outcome (see :class:`Deliveries`)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in outbox:
        status = entry.status
        kind = {"pending": "waiting", "sending": "waiting"}.get(status, status)
        counts[entry.channel][kind if kind in ("sent", "waiting", "dead") else "other"] += 1
    outcome = {"transient": "failed", "permanent": "refused", "uncertain": "uncertain"}
    for attempt in attempts:
        if attempt.status in outcome:
            counts[attempt.channel][outcome[attempt.status]] += 1
    return {name: Deliveries(**tally) for name, tally in sorted(counts.items())}


def _channels(
    outbox: Sequence[OutboxEntry], attempts: Sequence[DeliveryAttempt]
) -> dict[str, ChannelStats]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    first_channel: dict[int, str] = {}
    for attempt in attempts:
        first_channel.setdefault(attempt.entry_id, attempt.channel)
        outcome = {"sent": "sent", "transient": "transient_failures", "permanent": "moved_on"}
        counts[attempt.channel][outcome.get(attempt.status, attempt.status)] += 1
        if attempt.status == "sent" and attempt.segments:
            # The segments the provider took: a grouped SMS counts once.
            counts[attempt.channel]["segments"] += attempt.segments
    for entry in outbox:
        # Counted where it was first routed; a fallback shows as "moved_on" there.
        routed = first_channel.get(entry.id or 0, entry.channel)
        counts[routed]["queued"] += 1
        if entry.status == "dead":
            counts[entry.channel]["dead"] += 1
    fields = set(attrs.fields_dict(ChannelStats))
    return {
        name: ChannelStats(**{k: v for k, v in tally.items() if k in fields})
        for name, tally in counts.items()
    }


def _follow_ups(
    compensations: Sequence[CompensationRecord],
    contacted_events: Sequence[tuple[str, str, dt.datetime]],
) -> FollowUps:
    tasks = [r for r in compensations if r.compensation.kind == "contact"]
    contacted = _earliest(((c, s), at) for c, s, at in contacted_events)
    done = on_time = 0
    hours: list[float] = []
    for task in tasks:
        reached = contacted.get((task.customer, task.subject))
        if reached is None:
            continue
        done += 1
        hours.append((reached - task.created_at).total_seconds() / 3600)
        due = task.compensation.due_at
        if due is None or reached <= due:
            on_time += 1
    return FollowUps(len(tasks), done, on_time, statistics.median(hours) if hours else None)


def compute_metrics(ledger: LedgerReader) -> Metrics:
    """Read each table of the ledger once, and answer every question from it."""
    # A forecast that has not come true is no failure (yet): see pxr.proof for forecasts.
    breaches = [b for b in ledger.breaches() if not b.forecast]
    compensations = list(ledger.compensations())
    outbox = list(ledger.outbox())
    suppressions = ledger.suppressions()
    attempts = ledger.attempts()
    complaints = ledger.events("complaint")
    flagged = {(b.customer, b.subject) for b in breaches}
    by_stage: Counter[tuple[str, str, str]] = Counter(
        (b.stage or NO_STAGE, b.threshold, str(b.severity)) for b in breaches
    )
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    by_kind: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    kinds: Counter[tuple[str, str]] = Counter()
    for record in compensations:
        amount = record.compensation.amount
        kinds[record.compensation.kind, amount.currency if amount else ""] += 1
        if amount is not None:
            by_currency[amount.currency] += amount.amount
            by_kind[record.compensation.kind, amount.currency] += amount.amount
    return Metrics(
        breaches=dict(by_stage),
        first_contacts=delivered_first_contacts(breaches, outbox, attempts, complaints),
        unflagged_complaints=sum(
            (customer, subject) not in flagged for customer, subject, _ in complaints
        ),
        channels=_channels(outbox, attempts),
        cost_by_currency=dict(by_currency),
        cost_by_kind=dict(by_kind),
        compensations_by_kind=dict(kinds),
        suppressed=dict(Counter(str(_reason(s)) for s in suppressions)),
        follow_ups=_follow_ups(compensations, ledger.events("contacted")),
        comparisons=_compare(suppressions, compensations, ledger.events("outcome")),
        cases=case_stats(ledger) if isinstance(ledger, CaseStore) else CaseStats(),
    )


def reason_key(reason: str) -> str:
    """A reason without its per-case detail, for counting (``rate limit: 3 …``)."""
    return reason.split(" (", maxsplit=1)[0]


def _reason(record: SuppressionRecord) -> Reason | str:
    """The typed reason (ledgers written by pxr 0.1 kept only the sentence)."""
    if record.kind is not None:
        return record.kind
    if record.reason.startswith(HOLDOUT_REASON):
        return Reason.CONTROL_GROUP
    return reason_key(record.reason)


def weekly(points: Iterable[tuple[dt.datetime, Decimal]]) -> list[tuple[dt.date, Decimal]]:
    """Sum amounts per ISO week (Monday first)."""
    weeks: dict[dt.date, Decimal] = defaultdict(Decimal)
    for at, amount in points:
        day = at.date()
        weeks[day - dt.timedelta(days=day.weekday())] += amount
    return sorted(weeks.items())


def format_metrics(m: Metrics) -> str:
    """The metrics as text a CX manager reads top to bottom."""
    lines = ["Breaches (stage, threshold, severity)"]
    for (stage, threshold, severity), count in sorted(m.breaches.items()):
        lines.append(f"  {stage:<14} {threshold:<20} {severity:<9} {count:>6}")
    rate = m.first_contact_rate
    first, total = m.first_contact
    lines.append(
        f"We were first: {first} of {total}"
        + (f" ({rate:.0%})" if rate is not None else "")
        + " — our message before any complaint"
    )
    median, p90 = m.time_to_first_message()
    if median is not None and p90 is not None:
        lines.append(
            f"Time to first message: median {median / 60:.0f} min,"
            f" 90th percentile {p90 / 60:.0f} min"
        )
    lines.append(
        "Deliveries (channel: queued, sent, failed for good, moved on, retried, SMS segments)"
    )
    for name, stats in sorted(m.channels.items()):
        lines.append(
            f"  {name:<10} {stats.queued:>5} {stats.sent:>5} {stats.dead:>5} {stats.moved_on:>5}"
            f" {stats.transient_failures:>5} {stats.segments:>6}"
        )
    lines.append("Compensation cost")
    for (kind, currency), amount in sorted(m.cost_by_kind.items()):
        lines.append(f"  {kind:<12} {amount:>12} {currency}")
    for currency, amount in sorted(m.cost_by_currency.items()):
        lines.append(f"  {'total':<12} {amount:>12} {currency}")
    f = m.follow_ups
    lines.append(f"Follow-ups: {f.done} done of {f.planned} planned, {f.on_time} on time")
    k = m.cases
    if k.opened:
        wait = f", median wait {k.approval_hours:.1f} h" if k.approval_hours is not None else ""
        lines.append(
            f"Cases: {k.opened} opened ({k.missed} about problems monitoring missed),"
            f" {k.answered_in_time} answered in time, {k.deemed_accepted} deemed accepted,"
            f" {k.referred} referred to ADR, {k.open_now} still open;"
            f" {k.approvals} approvals{wait}"
        )
    if m.suppressed:
        lines.append("Suppressed")
        for reason, count in sorted(m.suppressed.items()):
            lines.append(f"  {reason:<50} {count:>5}")
    for c in m.comparisons:
        lines.append(
            f"Control group, {c.threshold}, {c.outcome}: compensated"
            f" {c.treated.with_outcome}/{c.treated.customers}, control"
            f" {c.control.with_outcome}/{c.control.customers} — {c.verdict}"
        )
    return "\n".join(lines) + "\n"
