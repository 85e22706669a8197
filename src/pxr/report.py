"""``pxr report``: one self-contained HTML file a CX manager can open anywhere.

No network, no CDN, no script: the charts are inline SVG drawn here, the
styles inline CSS. Every value from the ledger is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from pxr.journey import journey
from pxr.ledger import Ledger
from pxr.metrics import Metrics, compute_metrics, weekly
from pxr.policy import Policy

__all__ = ["bar_chart", "line_chart", "render_report"]

_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1f2933; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; }
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
    width, height, left, bottom = 640, 260, 48, 60
    top = max((max(values, default=0) for _, values in series), default=0) or 1
    group = (width - left - 10) / max(len(labels), 1)
    bar = group * 0.7 / max(len(series), 1)
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart">',
        _axis(left, width, height - bottom),
        f'<text x="4" y="14">{_e(_fmt(top))}{_e(unit)}</text>',
    ]
    colours = [_BLUE, _GREY, "#f0b429", "#3ebd93"]
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
            )
        parts.append(
            f'<text x="{left + i * group + group / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{_e(label[:18])}</text>'
        )
    for j, (name, _) in enumerate(series if len(series) > 1 else ()):
        parts.append(
            f'<rect x="{left + j * 130}" y="{height - 22}" width="10" height="10" '
            f'fill="{colours[j % len(colours)]}"/><text x="{left + j * 130 + 14}" '
            f'y="{height - 13}">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """A line chart of shares (0–100 %) as inline SVG; gaps where a value is None."""
    width, height, left, bottom = 640, 220, 48, 40
    step = (width - left - 20) / max(len(labels) - 1, 1)
    points = [
        (left + i * step, height - bottom - (height - bottom - 20) * v)
        for i, v in enumerate(values)
        if v is not None
    ]
    path = " ".join(f"{'M' if k == 0 else 'L'}{x:.1f},{y:.1f}" for k, (x, y) in enumerate(points))
    parts = [
        f'<svg role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="chart">',
        _axis(left, width, height - bottom),
        '<text x="4" y="24">100%</text>',
        f'<text x="4" y="{height - bottom}">0%</text>',
        f'<path d="{path}" fill="none" stroke="{_BLUE}" stroke-width="2.5"/>',
    ]
    for x, y in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_BLUE}"/>')
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{_e(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


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
    return f"{seconds / 3600:.1f} h"


_BUCKETS = (
    (60, "< 1 min"),
    (900, "1–15 min"),
    (3600, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (24 * 3600, "4–24 h"),
    (float("inf"), "> 24 h"),
)


def _first_contact_by_week(m: Metrics) -> tuple[list[str], list[float | None]]:
    weeks: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    for contact in m.first_contacts:
        if not contact.counted:
            continue
        day = contact.opened_at.date()
        week = weeks[day - dt.timedelta(days=day.weekday())]
        week[0] += contact.we_were_first
        week[1] += 1
    ordered = sorted(weeks.items())
    return [f"{w:%d %b}" for w, _ in ordered], [f / t if t else None for _, (f, t) in ordered]


def render_report(ledger: Ledger, policy: Policy | None = None, title: str = "pxr report") -> str:
    """The whole report as an HTML string."""
    m: Metrics = compute_metrics(ledger)
    sections = [f"<h1>{_e(title)}</h1>", _cards(m)]

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

    buckets = [0.0] * len(_BUCKETS)
    for seconds in m.seconds_to_first_message:
        index = next(i for i, (limit, _) in enumerate(_BUCKETS) if seconds < limit)
        buckets[index] += 1
    median, p90 = m.time_to_first_message()
    sections.append("<h2>How fast we told them: time from breach to first message</h2>")
    sections.append(
        f'<p class="note">Median {_e(_duration(median))}, 90th percentile {_e(_duration(p90))}.'
        " Quiet hours move messages to the morning.</p>"
    )
    sections.append(
        bar_chart("Time to first message", [b for _, b in _BUCKETS], [("messages", buckets)])
    )

    weeks, rates = _first_contact_by_week(m)
    sections.append("<h2>Were we first? First-contact rate per week</h2>")
    sections.append(
        '<p class="note">Breaches where our message went out before any complaint, over breaches'
        " that had a message or a complaint.</p>"
    )
    sections.append(line_chart("First-contact rate per week", weeks, rates))

    sections.append("<h2>What it cost: compensation per week</h2>")
    by_currency: dict[str, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for record in ledger.compensations():
        amount = record.compensation.amount
        if amount is not None:
            by_currency[amount.currency].append((record.created_at, amount.amount))
    for currency, points in sorted(by_currency.items()):
        totals = weekly(points)
        sections.append(
            bar_chart(
                f"Compensation per week in {currency}",
                [f"{w:%d %b}" for w, _ in totals],
                [(currency, [float(a) for _, a in totals])],
                f" {currency}",
            )
        )
    sections.append(_cost_table(m))
    sections.append(_control(m))
    sections.append(_follow_ups(m))
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _cards(m: Metrics) -> str:
    rate = m.first_contact_rate
    median, _ = m.time_to_first_message()
    cards = [
        ("breaches", str(sum(m.breaches.values()))),
        ("we were first", f"{rate:.0%}" if rate is not None else "–"),
        ("median time to tell them", _duration(median)),
        ("messages queued", str(sum(c.queued for c in m.channels.values()))),
        ("SMS segments sent", str(sum(c.segments for c in m.channels.values()))),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card">{_e(label)}<b>{_e(value)}</b></div>' for label, value in cards
        )
        + "</div>"
    )


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
