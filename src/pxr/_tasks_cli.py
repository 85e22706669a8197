"""``pxr tasks``: the care team's work queue on a ledger file.

``pxr tasks`` lists open cases and follow-ups by due time; ``sweep``,
``done``, ``offer``, ``approve``, ``decline``, ``answer`` and ``refer`` act on them
through :mod:`pxr.cases`. Kept apart from :mod:`pxr.cli` so the command's
parser and handlers live in one place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TextIO

from pxr import cases
from pxr.customers import InMemoryDirectory
from pxr.engine import Recovery
from pxr.errors import EventError, LedgerError, PolicyError, PxrError, ValidationError
from pxr.events import CustomerEvent, read_events
from pxr.ledger import Case, Ledger, open_ledger
from pxr.model import check_aware
from pxr.money import parse_money
from pxr.policy import Policy, load_policy

__all__ = ["add_tasks_parser"]

EXIT_OK, EXIT_UNUSABLE = 0, 2

_Handler = Callable[[argparse.Namespace, Ledger, dt.datetime, TextIO], int]


def _now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        return check_aware(dt.datetime.fromisoformat(text), "--now")
    except ValueError:
        raise ValidationError("--now", f"expected an ISO 8601 time, got {text!r}") from None


def _recovery(args: argparse.Namespace, ledger: Ledger) -> Recovery:
    """An engine for the ledger, with the policy and the customers of an events file."""
    if not args.policy:
        raise ValidationError("--policy", "this action needs the policy file (roles, [cases])")
    policy: Policy = load_policy(args.policy)
    directory = InMemoryDirectory(())
    if args.customers:
        for number, item in read_events(args.customers):
            if isinstance(item, EventError):
                raise ValidationError(f"{args.customers}:{number}", item.problem)
            if isinstance(item, CustomerEvent):
                directory.add(item.customer)
    return Recovery(policy, ledger, customers=directory)


def _show(case: Case, now: dt.datetime, out: TextIO) -> int:
    due = case.due_at.astimezone(now.tzinfo)
    out.write(f"{case.id}  {case.status}  due {due.isoformat()}\n")
    return EXIT_OK


def _list(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    found = cases.tasks(ledger, now, team=args.team, overdue=args.overdue, approvals=args.approvals)
    if args.json:
        for task in found:
            out.write(json.dumps(task.as_dict(), ensure_ascii=False) + "\n")
        return EXIT_OK
    if not found:
        out.write("nothing to do\n")
    for task in found:
        late = "  OVERDUE" if task.overdue else ""
        note = f"  ({task.note})" if task.note else ""
        due = task.due.astimezone(now.tzinfo)
        out.write(
            f"{due.isoformat()}  {task.id}  {task.kind:<9}  {task.status:<17}"
            f"  {task.team or '-'}  {task.subject}{late}{note}\n"
        )
    return EXIT_OK


def _sweep(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    report = cases.sweep(_recovery(args, ledger), now)
    out.write(
        f"warned {len(report.warned)}, deemed accepted {len(report.deemed_accepted)},"
        f" referred {len(report.referred)}\n"
    )
    return EXIT_OK


def _done(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    task = cases.done(ledger, args.id, by=args.by, at=now, note=args.note)
    out.write(f"{task.id}  {task.status}\n")
    return EXIT_OK


def _offer(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    recovery = _recovery(args, ledger)
    amount = parse_money(args.amount, recovery.policy.currency, "AMOUNT")
    case = cases.offer(
        recovery, args.id, amount, kind=args.kind, by=args.by, role=args.role, at=now
    )
    return _show(case, now, out)


def _approve(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    case = cases.approve(_recovery(args, ledger), args.id, by=args.by, role=args.role, at=now)
    return _show(case, now, out)


def _decline(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    policy = _recovery(args, ledger).policy
    case = cases.decline(
        ledger, policy, args.id, by=args.by, role=args.role, at=now, note=args.note
    )
    return _show(case, now, out)


def _answer(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    accepted = args.answer == "accepted"
    return _show(
        cases.answer(_recovery(args, ledger), args.id, accepted=accepted, at=now), now, out
    )


def _refer(args: argparse.Namespace, ledger: Ledger, now: dt.datetime, out: TextIO) -> int:
    return _show(cases.refer(_recovery(args, ledger), args.id, by=args.by, at=now), now, out)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    handler: _Handler = getattr(args, "handler", _list)
    try:
        now = _now(args.now)
        ledger = open_ledger(args.store, create=False)
    except (ValidationError, LedgerError) as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    try:
        return handler(args, ledger, now, out)
    except (PolicyError, PxrError) as error:
        err.write(f"pxr: tasks: {error}\n")
        return EXIT_UNUSABLE
    finally:
        ledger.close()


def _common(parser: argparse.ArgumentParser, default: Any) -> None:
    """Options every ``tasks`` action takes, before or after the action's name."""
    parser.add_argument(
        "--store",
        metavar="URL",
        default=default,
        help="a ledger URL or SQLite file; default $PXR_LEDGER",
    )
    parser.add_argument("--now", metavar="TIME", default=default, help="an ISO 8601 time")
    parser.add_argument("--policy", metavar="FILE", default=default, help="the policy file")
    parser.add_argument(
        "--customers",
        metavar="EVENTS",
        default=default,
        help="an events file whose customer lines say how to reach customers",
    )


def add_tasks_parser(commands: Any) -> None:
    """Add ``pxr tasks`` and its actions to the ``pxr`` command's subparsers."""
    tasks = commands.add_parser("tasks", help="the work queue: cases and follow-ups by due time")
    _common(tasks, None)
    tasks.add_argument("--json", action="store_true", help="one JSON object per task")
    tasks.add_argument("--team", metavar="TEAM", help="only this team's tasks")
    tasks.add_argument("--overdue", action="store_true", help="only what is past due")
    tasks.add_argument("--approvals", action="store_true", help="only offers awaiting approval")
    tasks.set_defaults(run=_run)
    actions = tasks.add_subparsers(dest="action", metavar="ACTION")
    # A child's default would overwrite what was given before the action's name.
    hidden = argparse.SUPPRESS

    sweep = actions.add_parser("sweep", help="hand over what nears its deadline; end what missed")
    _common(sweep, hidden)
    sweep.set_defaults(handler=_sweep)

    done = actions.add_parser("done", help="close a case, or record a follow-up as done")
    done.add_argument("id", metavar="ID")
    done.add_argument("--by", required=True, metavar="NAME", help="who closes it")
    done.add_argument("--note", help="why, in a few words")
    _common(done, hidden)
    done.set_defaults(handler=_done)

    offer = actions.add_parser("offer", help="offer a refund or voucher on a case")
    offer.add_argument("id", metavar="ID")
    offer.add_argument("amount", metavar="AMOUNT", help='"40.00" or "40.00 PLN"')
    offer.add_argument("--kind", choices=cases.OFFER_KINDS, default="refund")
    offer.add_argument("--by", required=True, metavar="NAME", help="who offers it")
    offer.add_argument("--role", required=True, metavar="ROLE", help="a [[roles]] name")
    _common(offer, hidden)
    offer.set_defaults(handler=_offer)

    approve = actions.add_parser("approve", help="approve an offer awaiting approval")
    approve.add_argument("id", metavar="ID")
    approve.add_argument("--by", required=True, metavar="NAME", help="who approves it")
    approve.add_argument("--role", required=True, metavar="ROLE", help="a [[roles]] name")
    _common(approve, hidden)
    approve.set_defaults(handler=_approve)

    decline = actions.add_parser("decline", help="decline an offer awaiting approval")
    decline.add_argument("id", metavar="ID")
    decline.add_argument("--by", required=True, metavar="NAME", help="who declines it")
    decline.add_argument("--role", required=True, metavar="ROLE", help="a [[roles]] name")
    decline.add_argument("--note", required=True, help="why, for the person who offered it")
    _common(decline, hidden)
    decline.set_defaults(handler=_decline)

    answer = actions.add_parser("answer", help="record the customer's answer to an offer")
    answer.add_argument("id", metavar="ID")
    answer.add_argument("answer", choices=("accepted", "rejected"))
    _common(answer, hidden)
    answer.set_defaults(handler=_answer)

    refer = actions.add_parser("refer", help="end a case unresolved: e-mail the ADR body")
    refer.add_argument("id", metavar="ID")
    refer.add_argument("--by", required=True, metavar="NAME", help="who ends it")
    _common(refer, hidden)
    refer.set_defaults(handler=_refer)
