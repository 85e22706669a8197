"""A hotel: a noisy room or a late check-in earns an upgrade or a gift.

A guest-experience score from the front desk (0 = fine, higher = worse)
feeds the threshold; the gift has a value so it counts against the guest's
compensation budget.
"""

import datetime as dt

from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy

POLICY = loads_policy("""
[recovery]
currency = "EUR"
channels = ["email"]
limits = { compensation_per_30_days = "150.00" }

[[thresholds]]
name = "room-problem"
metric = "room_issue_score"
above = { minor = 1, major = 3 }
compensation.minor = { kind = "gift", item = { en = "a bottle of wine in your room", ro = "o sticlă de vin în cameră" }, value = "25.00" }
compensation.major = { kind = "gift", item = { en = "an upgrade to a suite tonight", ro = "o cameră superioară în noaptea aceasta" }, value = "120.00" }
""")


def main() -> list[str]:
    recovery = Recovery(POLICY, MemoryLedger())
    recovery.add_customer(
        Customer(id="g-7", locale="ro-RO", timezone="Europe/Bucharest", email="ioana@example.ro")
    )
    when = dt.datetime(2026, 7, 1, 17, 0, tzinfo=dt.UTC)
    first = recovery.observe(
        Signal(customer="g-7", subject="room-412", metric="room_issue_score", value=2, at=when)
    )
    worse = recovery.observe(
        Signal(
            customer="g-7",
            subject="room-412",
            metric="room_issue_score",
            value=4,
            at=when + dt.timedelta(hours=1),
        )
    )
    gifts = [a.to_dict()["item"] for a in [*first, *worse] if a.action == "compensation"]
    print(gifts)
    return gifts


if __name__ == "__main__":
    main()
