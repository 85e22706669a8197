"""A gold customer gets a bigger gesture, within the policy's caps.

The host says which segment a customer is in; the policy's ``segments``
table overrides the compensation's keys for that segment only.
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
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00", segments = { gold = { percent = 20 } } }
""")


def main() -> dict[str, str]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(Customer(id="c-1", locale="en", phone="+48512345678"))
    recovery.add_customer(
        Customer(
            id="c-2",
            locale="en",
            phone="+48512345679",
            segment="gold",
            lifetime_value="4800.00 PLN",
        )
    )
    refunds = {}
    for customer in ("c-1", "c-2"):
        for action in recovery.observe(
            Signal(
                customer=customer,
                subject=f"PL-{customer}",
                metric="delivery_delay",
                value=26,
                at=dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC),
                context={"order_total": "199.00", "currency": "PLN"},
            )
        ):
            if action.action == "compensation":
                refunds[customer] = str(action.compensation.amount)  # type: ignore[attr-defined]
    print(refunds)
    return refunds


if __name__ == "__main__":
    main()
