"""Write events.jsonl: a seeded quarter of deliveries for the report example.

    python examples/quarter/generate.py

Customers in five countries; about one parcel in six is late; some customers
complain, some answer a survey, and every customer's later behaviour is
recorded as an outcome. Compensated customers come back a little more often
than the control group — the kind of effect the report should make visible,
or say plainly it cannot yet.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from pxr.engine import in_holdout

HERE = Path(__file__).parent
PEOPLE = [
    ("pl-PL", "Europe/Warsaw", "+4851{:07d}", "PLN"),
    ("bg-BG", "Europe/Sofia", "+35988{:07d}", "EUR"),
    ("nl-NL", "Europe/Amsterdam", "+3161{:07d}", "EUR"),
    ("ro-RO", "Europe/Bucharest", "+4072{:07d}", "RON"),
    ("en-GB", "Europe/London", "+44770{:06d}", "GBP"),
]


def main(customers: int = 400, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
    lines: list[dict[str, object]] = []
    for n in range(customers):
        locale, zone, phone, currency = PEOPLE[n % len(PEOPLE)]
        customer = f"c{n:04d}"
        lines.append(
            {
                "type": "customer",
                "id": customer,
                "locale": locale,
                "timezone": zone,
                "phone": phone.format(n),
                "email": f"{customer}@example.com",
            }
        )
        day = start + dt.timedelta(days=rng.randrange(84), hours=rng.randrange(12))
        order = f"O{n:05d}"
        total = f"{rng.randrange(40, 600)}.{rng.randrange(100):02d}"
        delay = rng.choice([0, 0, 0, 0, 0, 1, 2, 6, 26, 30, 50, 130])
        if rng.random() < 0.08:
            lines.append(
                {
                    "type": "signal",
                    "customer": customer,
                    "subject": f"P{n:05d}",
                    "metric": "payment_attempts",
                    "value": rng.randrange(3, 6),
                    "at": day.isoformat(),
                }
            )
        lines.append(
            {
                "type": "signal",
                "customer": customer,
                "subject": order,
                "metric": "delivery_delay",
                "value": delay,
                "at": day.isoformat(),
                "context": {"order_total": total, "currency": currency},
            }
        )
        late = delay >= 4
        if late and rng.random() < 0.12:
            # Some customers write in anyway; a few before our message could reach them.
            minutes = rng.choice([-30, 20, 90, 600])
            lines.append(
                {
                    "type": "complaint",
                    "customer": customer,
                    "subject": order,
                    "at": (day + dt.timedelta(minutes=minutes)).isoformat(),
                }
            )
        if rng.random() < 0.25:
            score = rng.choice([1, 2, 3, 4, 5, 5, 4] if late else [3, 4, 5, 5, 5])
            survey_at = day + dt.timedelta(days=3)
            event: dict[str, object] = {
                "type": "signal",
                "customer": customer,
                "subject": f"S{n:05d}",
                "metric": "survey_score",
                "value": score,
                "at": survey_at.isoformat(),
            }
            if score <= 3 and rng.random() < 0.6:
                event["context"] = {"comment": "The courier never rang the bell."}
            lines.append(event)
            if score <= 3 and rng.random() < 0.8:
                lines.append(
                    {
                        "type": "contacted",
                        "customer": customer,
                        "subject": f"S{n:05d}",
                        "at": (
                            survey_at + dt.timedelta(hours=rng.choice([2, 6, 20, 30]))
                        ).isoformat(),
                    }
                )
        if late:
            lines.append(
                {
                    "type": "resolved",
                    "subject": order,
                    "at": (day + dt.timedelta(hours=delay + 2)).isoformat(),
                }
            )
        comeback = 0.6 if not late else 0.55
        if delay >= 24:
            # A refund or voucher brings customers back; the control group,
            # chosen by pxr's own stable hash, gets the apology alone.
            held_out = in_holdout(customer, "parcel-late", 0.2)
            comeback = 0.42 if held_out else 0.68
        outcome = "repurchase" if rng.random() < comeback else "churn"
        lines.append(
            {
                "type": "outcome",
                "customer": customer,
                "outcome": outcome,
                "at": (day + dt.timedelta(days=30)).isoformat(),
            }
        )
    lines.sort(key=lambda e: (e["type"] != "customer", str(e.get("at", ""))))
    with (HERE / "events.jsonl").open("w", encoding="utf-8") as stream:
        for line in lines:
            stream.write(json.dumps({"type": line.pop("type"), **line}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
