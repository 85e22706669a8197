"""A carrier's new ETA says the parcel will be late: tell the customer first.

The forecast crosses the threshold, so the customer gets a heads-up (and no
compensation yet). When the parcel really is a day late, the refund follows
in an update: the heads-up was the first word, so there is no second one.
"""

import datetime as dt

from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy

POLICY = loads_policy("""
[recovery]
currency = "PLN"
channels = ["sms"]

[[thresholds]]
name = "parcel-late"
topic = "delivery"
metric = "delivery_delay"
unit = "hours"
above = { minor = 1, major = 24 }
forecast = { notice = true, all_clear = true }
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
""")

MORNING = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)


def late(hours: int, at: dt.datetime, *, forecast: bool = False) -> Signal:
    return Signal(
        customer="c-42",
        subject="PL-1001",
        metric="delivery_delay",
        value=hours,
        at=at,
        context={"order_total": "249.00", "currency": "PLN"},
        forecast=forecast,
        confidence=0.8 if forecast else None,
    )


def main() -> list[tuple[str, str]]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(Customer(id="c-42", locale="en", phone="+48512345678"))
    recovery.observe(late(26, MORNING, forecast=True))  # the carrier's new ETA
    recovery.observe(late(26, MORNING + dt.timedelta(hours=30)))  # it really is late
    for entry in recovery.ledger.outbox():
        print(entry.purpose, recovery.renderer.render((entry,), recovery.customer("c-42")).text)
    (breach,) = recovery.ledger.breaches()
    print("lead time:", breach.lead_time)
    return [
        (entry.purpose, recovery.renderer.render((entry,), recovery.customer("c-42")).text)
        for entry in recovery.ledger.outbox()
    ]


if __name__ == "__main__":
    main()
