"""The third late parcel in 90 days is not the first: treat it as critical.

Two parcels an hour late each earn an apology. The third, just as late,
opens as critical and earns the critical tier's voucher.
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
above = { minor = 1, major = 24, critical = 168 }
repeat = { count = 3, within_days = 90, severity = "critical" }
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
compensation.critical = { kind = "voucher", percent = 20, valid_days = 90 }
""")


def main() -> list[tuple[str, str, list[str]]]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(Customer(id="c-42", locale="en", phone="+48512345678"))
    seen = []
    for n, days in enumerate((0, 17, 38), start=1):
        actions = recovery.observe(
            Signal(
                customer="c-42",
                subject=f"PL-100{n}",
                metric="delivery_delay",
                value=2,  # two hours late, each time
                at=dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC) + dt.timedelta(days=days),
                context={"order_total": "249.00", "currency": "PLN"},
            )
        )
        kinds = [a.compensation.kind for a in actions if a.action == "compensation"]  # type: ignore[attr-defined]
        seen.append((f"PL-100{n}", str(actions[0].severity), kinds))
        print(seen[-1])
    return seen


if __name__ == "__main__":
    main()
