"""Close the loop: a survey answer of 0-3 becomes a prioritized follow-up task.

A low score *with* a comment is priority 1, without one priority 2. The
``hand_over`` hook hands the task to the helpdesk; ``contacted`` records
that a person called. No survey goes to a customer we just recovered.
"""

import datetime as dt
from typing import Any

import pxr
from pxr import Customer, MemoryLedger, Recovery, Signal, loads_policy
from pxr.plugins import Plugins

POLICY = loads_policy("""
[recovery]
currency = "EUR"
survey_quiet_days = 14

[[thresholds]]
name = "survey-low"
topic = "survey"
metric = "survey_score"
below = { major = 3 }
compensation.major = { kind = "contact", within = "24h", team = "care" }
""")


class Helpdesk:
    """The host's side: open a ticket for every follow-up pxr asks for."""

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []

    @pxr.hookimpl
    def hand_over(self, breach: Any, compensation: Any, customer: Any) -> None:
        self.tickets.append(
            {
                "customer": customer.id,
                "about": breach.subject,
                "team": compensation.team,
                "priority": compensation.priority,
                "due": compensation.due_at.isoformat(),
            }
        )


def main() -> list[dict[str, Any]]:
    helpdesk = Helpdesk()
    plugins = Plugins()
    plugins.add(helpdesk, name="helpdesk")
    recovery = Recovery(POLICY, MemoryLedger(), plugins=plugins)
    recovery.add_customer(Customer(id="c-5", locale="bg-BG", email="ivan@example.bg"))
    when = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)
    recovery.observe(
        Signal(
            customer="c-5",
            subject="S-501",
            metric="survey_score",
            value=2,
            at=when,
            context={"comment": "The courier left it in the rain."},
        )
    )
    recovery.contacted("c-5", "S-501", when + dt.timedelta(hours=5))
    print(helpdesk.tickets)
    print("survey allowed next week?", recovery.may_survey("c-5", when + dt.timedelta(days=7)))
    return helpdesk.tickets


if __name__ == "__main__":
    main()
