"""A support queue that is too long: apologise for the wait, and say it exactly."""

import datetime as dt

from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy

POLICY = loads_policy("""
[recovery]
currency = "GBP"
channels = ["email"]

[[thresholds]]
name = "support-wait"
topic = "wait"
metric = "queue_wait"
unit = "minutes"
above = { minor = 15, major = 45 }
compensation.major = { kind = "voucher", amount = "10.00", valid_days = 60 }
""")


def main() -> str:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(Customer(id="c-9", locale="en-GB", name="Tom", email="tom@example.co.uk"))
    actions = recovery.observe(
        Signal(
            customer="c-9",
            subject="T-77",
            metric="queue_wait",
            value=dt.timedelta(minutes=52),  # a duration is fine too
            at=dt.datetime(2026, 3, 4, 16, 20, tzinfo=dt.UTC),
        )
    )
    (message,) = [a.to_dict() for a in actions if a.action == "message"]
    print(message["title"])
    print(message["text"])
    return str(message["text"])


if __name__ == "__main__":
    main()
