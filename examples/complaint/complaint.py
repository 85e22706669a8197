"""A complaint, end to end: from the complaint to the offer, the approval, the
customer's answer and, when it fails, the referral to an ADR body.

Runs examples/complaint/events.jsonl through its policy, then acts as the
care team would from an admin screen, with :mod:`pxr.cases`.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from pxr import EventError, MemoryLedger, Money, Recovery, load_policy
from pxr.cases import answer, approve, case_id, offer, refer, sweep, tasks
from pxr.events import read_events

HERE = Path(__file__).parent
WARSAW = dt.timezone(dt.timedelta(hours=1))


def when(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=WARSAW)


def main() -> dict[str, object]:
    recovery = Recovery(load_policy(HERE / "policy.toml"), MemoryLedger())
    for _, event in read_events(HERE / "events.jsonl"):
        if isinstance(event, EventError):
            raise event
        recovery.handle(event)
    anna, tom, ivan = (
        case_id("c-anna", "PL-1001"),
        case_id("c-tom", "PL-2002"),
        case_id("c-ivan", "PL-3003"),
    )
    # An agent may grant 50 PLN: Anna's voucher is issued at once, and she is told.
    offer(
        recovery,
        anna,
        Money(Decimal("40.00"), "PLN"),
        kind="voucher",
        by="ola",
        role="agent",
        at=when(5),
    )
    # Tom's refund is above it: it waits for a supervisor.
    offer(
        recovery,
        tom,
        Money(Decimal("120.00"), "PLN"),
        kind="refund",
        by="ola",
        role="agent",
        at=when(5),
    )
    waiting = [task.id for task in tasks(recovery.ledger, when(5), approvals=True)]
    approve(recovery, tom, by="piotr", role="supervisor", at=when(5, 11))
    # Tom says no: the case ends unresolved, and he is told where to turn.
    answer(recovery, tom, accepted=False, at=when(6))
    refer(recovery, tom, by="piotr", at=when(6, 11))
    # Nobody answered Ivan: the sweeper hands his case over three days before
    # the deadline, and once it passes, Polish law deems his complaint accepted.
    warned = sweep(recovery, when(15)).warned
    accepted = sweep(recovery, when(19)).deemed_accepted
    referral = [e for e in recovery.ledger.outbox() if e.purpose == "referral"]
    email = recovery.renderer.render(referral, recovery.customer("c-tom"))
    return {
        "waiting for approval": waiting,
        "warned": warned,
        "deemed accepted": accepted,
        "cases": {c.id: str(c.status) for c in recovery.ledger.cases()},
        "referral": email.text,
        "ivan": ivan,
    }


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value}")
