"""Flight delay: EU 261 compensation, and a meal voucher after 3 hours (as KLM does)."""

import datetime as dt

from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy

POLICY = loads_policy("""
[recovery]
currency = "EUR"
channels = ["messenger", "sms", "email"]

[[thresholds]]
name = "flight-late"
topic = "flight"
metric = "arrival_delay"
unit = "minutes"
above = { major = 180 }
compensation.major = [
  { kind = "eu261" },   # reads distance_km, intra_eu, rerouted, extraordinary
  { kind = "gift", value = "15.00", item = { en = "a meal voucher in your app", nl = "een maaltijdbon in je app" } },
]
""")


def main() -> dict[str, str | None]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(Customer(id="p-1", locale="nl-NL", messenger="2718281828459045"))
    actions = recovery.observe(
        Signal(
            customer="p-1",
            subject="N2WP6D",  # the booking reference: one breach per passenger
            metric="arrival_delay",
            value=215,
            at=dt.datetime(2026, 5, 11, 7, 10, tzinfo=dt.UTC),
            context={"distance_km": 6840, "intra_eu": False, "rerouted": False},
        )
    )
    paid = {}
    for action in actions:
        record = action.to_dict()
        if record["action"] == "compensation":
            paid[record["kind"]] = record["amount"]
        if record["action"] == "message":
            print(record["text"])
    return paid


if __name__ == "__main__":
    main()
