"""``pxr report``: one self-contained HTML file a CX manager can open anywhere.

No network, no CDN, no script: the charts are inline SVG drawn here, the
styles inline CSS. Every value from the ledger is escaped.

Read at a glance: the header says which period and which policy; every bar
carries its value; weekly charts share one continuous axis (a week with
nothing shows as zero); "were we first" and "how fast" count only messages a
provider accepted, so a ledger where nothing was sent says so instead of
claiming a first contact.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pxr.journey import journey
from pxr.ledger import CompensationRecord, Ledger
from pxr.metrics import (
    Deliveries,
    FirstContact,
    Metrics,
    compute_metrics,
    delivered_first_contacts,
    deliveries,
    weekly,
)
from pxr.money import Money
from pxr.policy import Policy
from pxr.proof import Proof, compute_proof

__all__ = ["bar_chart", "line_chart", "render_report", "week_range"]

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
  padding: 0 1rem; color: #1f2933; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; }
.meta { color: #52606d; margin-top: 0; }
svg.chart { width: 100%; height: auto; max-width: 72rem; }
svg text.v { font-size: 11px; fill: #102a43; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 1px solid #d9e2ec; border-radius: 8px; padding: .8rem 1.1rem; min-width: 11rem; }
.card b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; margin-top: .5rem; }
td, th { padding: .25rem .8rem; border-bottom: 1px solid #e4e7eb; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #52606d; font-size: .9rem; }
svg text { font: 12px system-ui, sans-serif; fill: #334e68; }
"""

_BLUE, _GREY = "#2f6fde", "#9fb3c8"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str = "",
    *,
    colour_by_label: bool = False,
) -> str:
    """A grouped bar chart as inline SVG (one colour per series, or per label)."""
    width, height, left, bottom = 960, 280, 56, 60
    top = max((max(values, default=0) for _, values in series), default=0) or 1
    group = (width - left - 10) / max(len(labels), 1)
    bar = group * 0.7 / max(len(series), 1)
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart">',
        _axis(left, width, height - bottom),
        f'<text x="4" y="14">{_e(unit.strip())}</text>',
    ]
    colours = [_BLUE, _GREY, "#f0b429", "#3ebd93"]
    every = _label_step(len(labels))
    # Narrow bars get smaller value labels, so that neighbours do not overlap.
    small = ' style="font-size:9px"' if bar < 26 else ""
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.15
        for j, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = (height - bottom - 20) * value / top
            x = x0 + j * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar * 0.92:.1f}" '
                f'height="{h:.1f}" fill="{colours[(i if colour_by_label else j) % len(colours)]}">'
                f"<title>{_e(name)} {_e(label)}: {_e(_fmt(value))}{_e(unit)}</title></rect>"
                f'<text class="v" x="{x + bar * 0.46:.1f}" y="{height - bottom - h - 4:.1f}" '
                f'text-anchor="middle"{small}>{_e(_fmt(value))}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * group + group / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{_e(label[:18])}</text>'
            )
    if not labels:
        parts.append(f'<text x="{left + 10}" y="{height / 2:.0f}">nothing to show yet</text>')
    for j, (name, _) in enumerate(series if len(series) > 1 else ()):
        parts.append(
            f'<rect x="{left + j * 130}" y="{height - 22}" width="10" height="10" '
            f'fill="{colours[j % len(colours)]}"/><text x="{left + j * 130 + 14}" '
            f'y="{height - 13}">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A line chart of shares (0–100 %) as inline SVG, each point labelled;
    the line breaks where a value is None (a week with nothing to count)."""
    width, height, left, bottom = 960, 240, 56, 40
    step = (width - left - 30) / max(len(labels) - 1, 1)
    points: list[tuple[int, float, float, float]] = []
    path_parts: list[str] = []
    previous: float | None = None
    for i, v in enumerate(values):
        if v is None:
            previous = None
            continue
        x, y = left + i * step, height - bottom - (height - bottom - 30) * v
        path_parts.append(f"{'M' if previous is None else 'L'}{x:.1f},{y:.1f}")
        points.append((i, x, y, v))
        previous = v
    path = " ".join(path_parts)
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart">',
        _axis(left, width, height - bottom),
        '<text x="4" y="34">100%</text>',
        f'<text x="4" y="{height - bottom}">0%</text>',
        f'<path d="{path}" fill="none" stroke="{_BLUE}" stroke-width="2.5"/>',
    ]
    every = _label_step(len(labels))
    for i, x, y, v in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_BLUE}"/>')
        if i % every == 0:
            parts.append(
                f'<text class="v" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{v:.0%}</text>'
            )
    if not points:
        parts.append(f'<text x="{left + 10}" y="{height / 2:.0f}">nothing to show yet</text>')
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{_e(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _label_step(count: int) -> int:
    """Show every n-th axis label so that at most 16 are drawn (they would overlap)."""
    return max(1, math.ceil(count / 16))


def _axis(left: int, right: int, y: int) -> str:
    return f'<line x1="{left}" y1="{y}" x2="{right}" y2="{y}" stroke="#829ab1"/>'


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


_BUCKETS = (
    (60, "< 1 min"),
    (900, "1–15 min"),
    (3600, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (24 * 3600, "4–24 h"),
    (float("inf"), "> 24 h"),
)


def _monday(at: dt.datetime | dt.date) -> dt.date:
    day = at.date() if isinstance(at, dt.datetime) else at
    return day - dt.timedelta(days=day.weekday())


def week_range(first: dt.datetime | dt.date, last: dt.datetime | dt.date) -> list[dt.date]:
    """Every Monday from ``first``'s week to ``last``'s, none skipped."""
    start, end = _monday(first), _monday(last)
    return [start + dt.timedelta(weeks=n) for n in range((end - start).days // 7 + 1)]


def _first_contact_by_week(
    contacts: Sequence[FirstContact], weeks: Sequence[dt.date]
) -> list[float | None]:
    tally: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for contact in contacts:
        if contact.counted:
            week = tally[_monday(contact.opened_at)]
            week[0] += contact.we_were_first
            week[1] += 1
    return [tally[w][0] / tally[w][1] if tally[w][1] else None for w in weeks]


def _rate(contacts: Sequence[FirstContact]) -> float | None:
    counted = [c for c in contacts if c.counted]
    return sum(c.we_were_first for c in counted) / len(counted) if counted else None


def _seconds_to_tell(contacts: Sequence[FirstContact]) -> list[float]:
    return [
        max(0.0, (c.message_at - c.opened_at).total_seconds())
        for c in contacts
        if c.message_at is not None
    ]


def render_report(
    ledger: Ledger,
    policy: Policy | None = None,
    title: str = "pxr report",
    *,
    policy_name: str | None = None,
    generated_at: dt.datetime | None = None,
    customer_value: Money | None = None,
    retained: str = "repurchase",
) -> str:
    """The whole report as an HTML string.

    ``policy_name`` (the policy file's name) is shown in the header;
    ``generated_at`` defaults to now. ``customer_value`` (what one kept
    customer is worth) and ``retained`` (the outcome that means "stayed")
    set the value kept against the cost, at the policy's rates.
    """
    m: Metrics = compute_metrics(ledger)
    outbox = list(ledger.outbox())
    attempts = ledger.attempts()
    breaches = [b for b in ledger.breaches() if not b.forecast]  # failures, not predictions
    compensations = list(ledger.compensations())
    contacts = delivered_first_contacts(breaches, outbox, attempts, ledger.events("complaint"))
    by_channel = deliveries(outbox, attempts)
    moments = [
        *(b.opened_at for b in breaches),
        *(r.created_at for r in compensations),
        *(e.created_at for e in outbox),
        *(a.at for a in attempts),
    ]
    weeks = week_range(min(moments), max(moments)) if moments else []
    week_labels = [f"{w:%d %b}" for w in weeks]

    sections = [
        f"<h1>{_e(title)}</h1>",
        _header(moments, policy_name, generated_at),
        _cards(m, contacts, by_channel),
        _deliveries(by_channel),
    ]

    if policy is not None:
        rows = journey(policy, ledger)
        labels, counts = [r.name for r in rows], [float(r.breaches) for r in rows]
    else:
        per_stage: dict[str, int] = defaultdict(int)
        for (stage, _, _), n in m.breaches.items():
            per_stage[stage] += n
        labels, counts = list(per_stage), [float(n) for n in per_stage.values()]
    sections.append("<h2>Where experiences break: breaches per journey stage</h2>")
    sections.append(bar_chart("Breaches per journey stage", labels, [("breaches", counts)]))

    seconds = sorted(_seconds_to_tell(contacts))
    buckets = [0.0] * len(_BUCKETS)
    for value in seconds:
        index = next(i for i, (limit, _) in enumerate(_BUCKETS) if value < limit)
        buckets[index] += 1
    sections.append("<h2>How fast we told them: time from breach to first message sent</h2>")
    if seconds:
        p90 = seconds[min(len(seconds) - 1, math.ceil(0.9 * len(seconds)) - 1)]
        sections.append(
            f'<p class="note">Median {_e(_duration(statistics.median(seconds)))}, 90th'
            f" percentile {_e(_duration(p90))}, counted to the time a provider accepted the"
            " message. Quiet hours move messages to the morning.</p>"
        )
    else:
        sections.append(f'<p class="note">{_NOTHING_SENT}</p>')
    sections.append(
        bar_chart("Time to first message sent", [b for _, b in _BUCKETS], [("messages", buckets)])
    )

    sections.append("<h2>Were we first? First-contact rate per week</h2>")
    sections.append(
        '<p class="note">Breaches where a message we sent reached the provider before any'
        " complaint, over breaches that had a sent message or a complaint. No point: nothing to"
        " count that week.</p>"
    )
    sections.append(
        line_chart(
            "First-contact rate per week", week_labels, _first_contact_by_week(contacts, weeks)
        )
    )

    sections.extend(_cost_per_week(compensations, weeks, week_labels))
    sections.append(_cost_table(m))
    sections.append(_control(m))
    proof = compute_proof(
        ledger,
        rates=policy.rates if policy is not None else None,
        customer_value=customer_value,
        retained=retained,
    )
    sections.extend(f(proof) for f in (_paradox, _value_kept, _silent, _forecasts))
    sections.append(_follow_ups(m))
    sections.append(_cases(m))
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _cost_per_week(
    compensations: Sequence[CompensationRecord], weeks: Sequence[dt.date], labels: Sequence[str]
) -> list[str]:
    """One bar chart of compensation per week for each currency paid in."""
    out = ["<h2>What it cost: compensation per week</h2>"]
    by_currency: dict[str, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for record in compensations:
        amount = record.compensation.amount
        if amount is not None:
            by_currency[amount.currency].append((record.created_at, amount.amount))
    if not by_currency:
        out.append('<p class="note">No compensation with an amount yet.</p>')
    for currency, points in sorted(by_currency.items()):
        totals = dict(weekly(points))
        out.append(
            bar_chart(
                f"Compensation per week in {currency}",
                labels,
                [(currency, [float(totals.get(w, 0)) for w in weeks])],
                f" {currency}",
            )
        )
    return out


_NOTHING_SENT = (
    "No message has been sent yet: messages wait in the outbox until"
    " <code>pxr dispatch</code> sends them."
)


def _header(
    moments: Sequence[dt.datetime], policy_name: str | None, generated_at: dt.datetime | None
) -> str:
    period = f"{min(moments):%d %b %Y} – {max(moments):%d %b %Y}" if moments else "no activity yet"
    generated = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return (
        f'<p class="meta">Period: <b>{_e(period)}</b> · Policy: <b>{_e(policy_name or "not given")}'
        f"</b> · Generated {_e(f'{generated:%Y-%m-%d %H:%M}')} UTC</p>"
    )


def _cards(
    m: Metrics, contacts: Sequence[FirstContact], by_channel: Mapping[str, Deliveries]
) -> str:
    sent = sum(d.sent for d in by_channel.values())
    queued = sum(d.messages for d in by_channel.values())
    rate = _rate(contacts)
    seconds = _seconds_to_tell(contacts)
    cards = [
        ("breaches", str(sum(m.breaches.values()))),
        ("messages sent", f"{sent} of {queued}"),
        ("we were first", f"{rate:.0%}" if rate is not None and sent else "–"),
        ("median time to tell them", _duration(statistics.median(seconds)) if seconds else "–"),
        ("SMS segments sent", str(sum(c.segments for c in m.channels.values()))),
    ]
    out = (
        '<div class="cards">'
        + "".join(
            f'<div class="card">{_e(label)}<b>{_e(value)}</b></div>' for label, value in cards
        )
        + "</div>"
    )
    if not sent:
        out += f'<p class="note">{_NOTHING_SENT} "We were first" counts sent messages only.</p>'
    return out


def _deliveries(by_channel: Mapping[str, Deliveries]) -> str:
    out = ["<h2>Did the messages go out? Deliveries per channel</h2>"]
    if not by_channel:
        out.append('<p class="note">No message was queued.</p>')
        return "".join(out)
    names = list(by_channel)
    out.append(
        bar_chart(
            "Messages per channel by status",
            names,
            [
                ("sent", [float(by_channel[n].sent) for n in names]),
                ("waiting", [float(by_channel[n].waiting) for n in names]),
                ("dead", [float(by_channel[n].dead) for n in names]),
            ],
        )
    )
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td class=n>{d.messages}</td><td class=n>{d.sent}</td>"
        f"<td class=n>{d.waiting}</td><td class=n>{d.dead}</td><td class=n>{d.other}</td>"
        f"<td class=n>{d.failed}</td><td class=n>{d.refused}</td><td class=n>{d.uncertain}</td>"
        "</tr>"
        for name, d in by_channel.items()
    )
    out.append(
        "<table><tr><th>channel</th><th>messages</th><th>sent</th><th>waiting</th><th>dead</th>"
        "<th>other</th><th>failed attempts</th><th>refused</th><th>uncertain</th></tr>"
        f"{rows}</table>"
        '<p class="note">Messages by where they are now (waiting includes retries); attempts that'
        " failed for now, were refused for good, or went out with their answer lost.</p>"
    )
    return "".join(out)


def _cost_table(m: Metrics) -> str:
    rows = "".join(
        f"<tr><td>{_e(kind)}</td><td class=n>{count}</td>"
        f"<td class=n>{_e(m.cost_by_kind.get((kind, currency), ''))} {_e(currency)}</td></tr>"
        for (kind, currency), count in sorted(m.compensations_by_kind.items())
    )
    return f"<table><tr><th>kind</th><th>count</th><th>amount</th></tr>{rows}</table>"


def _control(m: Metrics) -> str:
    out = ["<h2>Does compensation keep customers? Control group vs compensated</h2>"]
    if not m.comparisons:
        out.append(
            '<p class="note">No threshold has a control group yet. Set <code>holdout = 0.05</code>'
            " on a threshold to keep 5 % of its customers to the apology alone.</p>"
        )
        return "".join(out)
    for c in m.comparisons:
        out.append(f"<h3>{_e(c.threshold)}: {_e(c.outcome)}</h3>")
        out.append(
            bar_chart(
                f"{c.threshold} {c.outcome}",
                ["compensated", "control"],
                [(c.outcome, [100 * c.treated.rate, 100 * c.control.rate])],
                " %",
                colour_by_label=True,
            )
        )
        interval = (
            f"{100 * c.interval[0]:+.1f} to {100 * c.interval[1]:+.1f} points"
            if c.interval
            else "–"
        )
        out.append(
            f'<p class="note">{c.treated.with_outcome} of {c.treated.customers} compensated'
            f" customers, {c.control.with_outcome} of {c.control.customers} in the control group;"
            f" difference {100 * c.difference:+.1f} points (95 % interval {_e(interval)}):"
            f" <b>{_e(c.verdict)}</b>.</p>"
        )
    return "".join(out)


def _points(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "–"
    return f"{100 * interval[0]:+.1f} to {100 * interval[1]:+.1f} points"


def _paradox(p: Proof) -> str:
    out = [
        "<h2>The recovery paradox: recovered customers against those who never had a problem</h2>"
    ]
    if not p.paradox:
        out.append(
            '<p class="note">No outcomes yet. Record <code>outcome</code> events for every'
            " customer, also those who never had a breach, to compare them.</p>"
        )
        return "".join(out)
    for x in p.paradox:
        out.append(f"<h3>{_e(x.outcome)}</h3>")
        out.append(
            bar_chart(
                f"paradox {x.outcome}",
                ["recovered", "control", "never failed"],
                [(x.outcome, [100 * r.rate for r in (x.recovered, x.control, x.never_failed)])],
                " %",
                colour_by_label=True,
            )
        )
        out.append(
            f'<p class="note">{x.recovered.with_outcome} of {x.recovered.customers} recovered,'
            f" {x.control.with_outcome} of {x.control.customers} in the control group,"
            f" {x.never_failed.with_outcome} of {x.never_failed.customers} who never had a"
            f" breach; recovered minus never failed {100 * x.difference:+.1f} points (95 %"
            f" interval {_e(_points(x.interval))}): <b>{_e(x.verdict)}</b>.</p>"
        )
    return "".join(out)


def _value_kept(p: Proof) -> str:
    out = ["<h2>What recovery cost and what it kept</h2><table>"]
    for currency, amount in sorted(p.cost_by_currency.items()):
        out.append(f"<tr><td>cost in {_e(currency)}</td><td class=n>{_e(amount)}</td></tr>")
    if p.cost is not None:
        out.append(
            f"<tr><td>cost, all in {_e(p.cost.currency)}</td><td class=n>{_e(p.cost)}</td></tr>"
        )
    v = p.value_kept
    if v is not None:
        out.append(
            f"<tr><td>recovered customers retained ({_e(v.outcome)})</td>"
            f"<td class=n>{v.recovered.with_outcome} of {v.recovered.customers},"
            f" worth {_e(v.retained_value)}</td></tr>"
        )
    if v is not None and v.value is not None and v.value_interval is not None:
        low, high = v.value_interval
        out.append(
            f"<tr><td>customers kept beyond the control group ({_e(v.outcome)})</td>"
            f"<td class=n>{v.extra_retained:+.1f}</td></tr>"
            f"<tr><td>value kept at {_e(v.per_customer)} a customer</td>"
            f"<td class=n>{_e(v.value)} ({_e(low)} to {_e(high)})</td></tr>"
        )
    out.append("</table>")
    if v is None:
        out.append(
            '<p class="note">Give <code>--customer-value</code> (what one kept customer is'
            " worth) to set the value kept against the cost.</p>"
        )
    else:
        out.append(
            f'<p class="note">{v.recovered.with_outcome} of {v.recovered.customers} recovered'
            f" and {v.control.with_outcome} of {v.control.customers} control customers had"
            f" <code>{_e(v.outcome)}</code>: <b>{_e(v.verdict)}</b>.</p>"
        )
    return "".join(out)


def _silent(p: Proof) -> str:
    s = p.silent
    share = f"{s.first_share:.0%}" if s.first_share is not None else "–"
    return (
        "<h2>The customers who stay quiet</h2>"
        f"<table><tr><td>breaches</td><td class=n>{s.breaches}</td></tr>"
        f"<tr><td>with a complaint</td><td class=n>{s.complained}</td></tr>"
        f"<tr><td>silent: no complaint</td><td class=n>{s.silent}</td></tr>"
        f"<tr><td>we were first</td><td class=n>{s.we_were_first} ({_e(share)})</td></tr></table>"
        '<p class="note">Only about 1 in 26 unhappy customers complains: the silent ones'
        " are the breaches nobody told us about.</p>"
    )


def _forecasts(p: Proof) -> str:
    f = p.forecasts
    median = _duration(f.median_lead_time.total_seconds()) if f.median_lead_time else "–"
    return (
        "<h2>Telling them before it happens: forecasts</h2>"
        f"<table><tr><td>forecasts that came true</td><td class=n>{f.confirmed}</td></tr>"
        f"<tr><td>forecasts that did not</td><td class=n>{f.not_come_true}</td></tr>"
        f"<tr><td>still open</td><td class=n>{f.open}</td></tr>"
        f"<tr><td>median lead time</td><td class=n>{_e(median)}</td></tr>"
        f"<tr><td>lead time gained in all</td>"
        f"<td class=n>{_e(_duration(f.total_lead_time.total_seconds()))}</td></tr></table>"
    )


def _follow_ups(m: Metrics) -> str:
    f = m.follow_ups
    hours = f"{f.median_hours_to_contact:.1f} h" if f.median_hours_to_contact is not None else "–"
    return (
        "<h2>Closing the loop: follow-ups</h2>"
        f"<table><tr><td>planned</td><td class=n>{f.planned}</td></tr>"
        f"<tr><td>done</td><td class=n>{f.done}</td></tr>"
        f"<tr><td>on time</td><td class=n>{f.on_time}</td></tr>"
        f"<tr><td>median time to contact</td><td class=n>{_e(hours)}</td></tr></table>"
    )


def _cases(m: Metrics) -> str:
    k = m.cases
    wait = f"{k.approval_hours:.1f} h" if k.approval_hours is not None else "–"
    rows = [
        ("opened", k.opened),
        ("about problems monitoring missed", k.missed),
        ("answered within the deadline", k.answered_in_time),
        ("deemed accepted (no answer in time)", k.deemed_accepted),
        ("referred to an ADR body", k.referred),
        ("still open", k.open_now),
        ("offers approved above an agent's authority", k.approvals),
    ]
    cells = "".join(f"<tr><td>{_e(label)}</td><td class=n>{n}</td></tr>" for label, n in rows)
    return (
        "<h2>People in the loop: complaints and hand-overs</h2>"
        f"<table>{cells}<tr><td>median wait for approval</td><td class=n>{_e(wait)}</td></tr>"
        "</table>"
    )
