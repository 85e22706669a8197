"""Parcel delay with an automatic 10 % refund: the customer does nothing."""

import datetime as dt

from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy

POLICY = loads_policy("""
[recovery]
currency = "PLN"
channels = ["sms", "email"]

[[thresholds]]
name = "parcel-late"
topic = "delivery"
metric = "delivery_delay"
unit = "hours"
above = { minor = 1, major = 24 }
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
""")


def main() -> list[str]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(
        Customer(id="c-42", locale="pl-PL", timezone="Europe/Warsaw", phone="512 345 678")
    )
    actions = recovery.observe(
        Signal(
            customer="c-42",
            subject="PL-1001",
            metric="delivery_delay",
            value=26,  # hours, as the threshold's unit says
            at=dt.datetime(2026, 3, 3, 10, 15, tzinfo=dt.UTC),
            context={"order_total": "249.00", "currency": "PLN"},
        )
    )
    for action in actions:
        print(action.to_dict())
    return [action.action for action in actions]


if __name__ == "__main__":
    main()
