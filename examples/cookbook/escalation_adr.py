"""Escalation: when a delay becomes critical, a person with authority takes over;
when a customer still disputes it, the case goes to an ADR body.

Both are ``contact`` tasks with a different team; the host's ``hand_over``
hook routes them (here: to a list standing in for a ticket system).
"""

import datetime as dt
from typing import Any

import pxr
from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy
from pxr.plugins import Plugins

POLICY = loads_policy("""
[recovery]
currency = "PLN"

[[thresholds]]
name = "parcel-late"
topic = "delivery"
metric = "delivery_delay"
unit = "days"
above = { major = 2, critical = 7 }
compensation.major = { kind = "refund", percent = 10 }
compensation.critical = [
  { kind = "voucher", percent = 20, valid_days = 90 },
  { kind = "contact", within = "4h", team = "duty-manager", priority = 1 },
]

[[thresholds]]
name = "dispute"
metric = "dispute_days_open"
unit = "days"
above = { critical = 30 }
compensation.critical = { kind = "contact", within = "2d", team = "adr:consumer-arbitration", priority = 1 }
""")


class Tickets:
    def __init__(self) -> None:
        self.opened: list[tuple[str, str]] = []

    @pxr.hookimpl
    def hand_over(self, breach: Any, compensation: Any, customer: Any) -> None:
        self.opened.append((compensation.team, breach.subject))


def main() -> list[tuple[str, str]]:
    tickets = Tickets()
    plugins = Plugins()
    plugins.add(tickets, name="tickets")
    recovery = Recovery(POLICY, MemoryLedger(), plugins=plugins)
    recovery.add_customer(Customer(id="c-1", locale="pl", phone="+48512345678"))
    when = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    order = {"order_total": "400.00"}
    recovery.observe(
        Signal(
            customer="c-1", subject="PL-9", metric="delivery_delay", value=3, at=when, context=order
        )
    )
    recovery.observe(
        Signal(
            customer="c-1",
            subject="PL-9",
            metric="delivery_delay",
            value=8,
            at=when + dt.timedelta(days=5),
            context=order,
        )
    )
    recovery.observe(
        Signal(
            customer="c-1",
            subject="PL-9",
            metric="dispute_days_open",
            value=31,
            at=when + dt.timedelta(days=40),
        )
    )
    print(tickets.opened)
    return tickets.opened


if __name__ == "__main__":
    main()
