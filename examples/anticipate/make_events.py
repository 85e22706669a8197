"""Write events.jsonl: a seeded quarter for the anticipate-and-prove example.

    python examples/anticipate/make_events.py

420 customers order in the quarter; 280 of them have a late parcel, and
for half of those the carrier's forecast came first. Some forecasts do not
come true (the parcel arrives on time after all). A dozen customers have
three late parcels. One in five is gold. Every customer — also the 140 who
never had a problem — gets an outcome: recovered customers come back more
often than the control group, and a little more often than those who never
had a problem (the recovery paradox the report should show, or say plainly
it cannot yet).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from pxr.engine import in_holdout

HERE = Path(__file__).parent
START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
#: Chance of coming back: recovered, control group, never had a problem.
REPURCHASE = {"recovered": 0.78, "control": 0.45, "never": 0.60}


def _customer(n: int, rng: random.Random) -> dict[str, object]:
    customer: dict[str, object] = {
        "type": "customer",
        "id": f"c{n:04d}",
        "locale": "pl-PL" if n % 2 else "en-GB",
        "timezone": "Europe/Warsaw",
        "phone": f"+4851{n:07d}",
    }
    if rng.random() < 0.2:
        customer["segment"] = "gold"
        customer["lifetime_value"] = f"{rng.randrange(3000, 9000)}.00 PLN"
    return customer


def _signal(
    customer: str, order: str, hours: int, at: dt.datetime, **extra: object
) -> dict[str, object]:
    return {
        "type": "signal",
        "customer": customer,
        "subject": order,
        "metric": "delivery_delay",
        "value": hours,
        "at": at.isoformat(),
        "context": {"order_total": "320.00", "currency": "PLN"},
        **extra,
    }


def _late_parcel(
    customer: str, order: str, at: dt.datetime, rng: random.Random
) -> list[dict[str, object]]:
    """A late parcel, forecast first half of the time; some forecasts are wrong."""
    hours = rng.choice([6, 26, 30, 50])
    lines = []
    if rng.random() < 0.5:
        forecast_at = at - dt.timedelta(hours=rng.choice([6, 12, 20]))
        lines.append(_signal(customer, order, hours, forecast_at, forecast=True, confidence=0.8))
        if rng.random() < 0.2:  # the carrier caught up: the parcel is on time after all
            lines.append({"type": "resolved", "subject": order, "at": at.isoformat()})
            return lines
    lines.append(_signal(customer, order, hours, at))
    lines.append(
        {"type": "resolved", "subject": order, "at": (at + dt.timedelta(days=1)).isoformat()}
    )
    return lines


def main(
    customers: int = 420, failing: int = 280, seed: int = 11, path: Path = HERE / "events.jsonl"
) -> None:
    rng = random.Random(seed)  # noqa: S311 - a seeded sample, not a secret
    lines: list[dict[str, object]] = []
    for n in range(customers):
        customer = f"c{n:04d}"
        lines.append(_customer(n, rng))
        if n >= failing:
            group = "never"
        else:
            parcels = 3 if n < 12 else 1
            first = START
            for k in range(parcels):
                at = START + dt.timedelta(
                    days=rng.randrange(5, 80) if parcels == 1 else 5 + 25 * k,
                    hours=rng.randrange(10),
                )
                lines.extend(_late_parcel(customer, f"O{n:04d}-{k}", at, rng))
                first = at if k == 0 else first
            group = "control" if in_holdout(customer, "parcel-late", 0.25) else "recovered"
            if rng.random() < 0.1:
                lines.append(
                    {
                        "type": "complaint",
                        "customer": customer,
                        "subject": f"O{n:04d}-0",
                        # Most write after our message; some before it could reach them.
                        "at": (first + dt.timedelta(hours=rng.choice([-2, 3, 8]))).isoformat(),
                    }
                )
        outcome = "repurchase" if rng.random() < REPURCHASE[group] else "churn"
        lines.append(
            {
                "type": "outcome",
                "customer": customer,
                "outcome": outcome,
                "at": (START + dt.timedelta(days=88)).isoformat(),
            }
        )
    lines.sort(key=lambda line: (str(line.get("at", "")), line["type"] != "customer"))
    with path.open("w", encoding="utf-8") as stream:
        for line in lines:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
