"""The ``pxr`` command: ``simulate``, ``check``, ``dispatch``, ``journey``, ``metrics``,
``report``, ``plugins``, ``catalogs`` and ``tasks``.

Exit status: 0 all good; 1 some input lines were rejected (each reported,
the rest processed); 2 the policy or the command line is unusable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from pxr import __version__
from pxr._privacy import mask_address
from pxr._tasks_cli import add_tasks_parser
from pxr.engine import Recovery
from pxr.errors import EventError, LedgerError, PolicyError, PxrError, ValidationError
from pxr.events import read_events
from pxr.i18n import coverage
from pxr.journey import format_journey, journey
from pxr.ledger import Ledger
from pxr.ledger.memory import MemoryLedger
from pxr.ledger.sqlite import SQLiteLedger
from pxr.metrics import compute_metrics, format_metrics, reason_key
from pxr.model import (
    Action,
    BreachEscalated,
    BreachOpened,
    BreachResolved,
    CompensationIssued,
    ComplaintRecorded,
    MessageQueued,
    Suppressed,
    check_aware,
)
from pxr.plugins import get_plugins
from pxr.policy import Policy, load_policy
from pxr.report import render_report
from pxr.transports import check_transports, load_transports

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2
_BATCH = 500


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, path: str, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total = 0
        if self.enabled:
            with open(path, "rb") as lines:
                self.total = sum(1 for _ in lines)
        self.last = 0.0

    def update(self, lines: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1 or not self.total:
            return
        self.last = now
        share = min(lines / self.total, 1.0)
        bar = "#" * int(share * 30)
        self.stream.write(f"\r[{bar:<30}] {share:6.1%}  {lines:,} lines")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


class _Summary:
    def __init__(self) -> None:
        self.breaches: Counter[tuple[str, str]] = Counter()
        self.escalations: Counter[tuple[str, str]] = Counter()
        self.money: dict[str, Decimal] = defaultdict(Decimal)
        self.kinds: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()
        self.segments = 0
        self.suppressed: Counter[str] = Counter()
        self.errors = 0
        self.lines = 0

    def add(self, action: Action) -> None:
        match action:
            case BreachOpened():
                self.breaches[str(action.threshold), str(action.severity)] += 1
            case BreachEscalated():
                self.escalations[str(action.threshold), str(action.severity)] += 1
            case CompensationIssued(compensation=c):
                self.kinds[c.kind] += 1
                if c.amount is not None:
                    self.money[c.amount.currency] += c.amount.amount
            case MessageQueued(message=m):
                self.channels[m.channel] += 1
                self.segments += m.segments or 0
            case Suppressed():
                self.suppressed[reason_key(action.reason)] += 1

    def write(self, out: TextIO, seconds: float) -> None:
        out.write("\nSummary\n")
        out.write(
            f"  events read: {self.lines:,}, rejected: {self.errors:,}, time: {seconds:.2f} s\n"
        )
        self._table(out, "breaches (threshold, severity)", self.breaches)
        self._table(out, "escalations (threshold, new severity)", self.escalations)
        out.write("  compensation:\n")
        for kind, count in sorted(self.kinds.items()):
            out.write(f"    {kind:<28} {count:>6}\n")
        for currency, total in sorted(self.money.items()):
            out.write(f"    total {currency:<22} {total:>12}\n")
        out.write("  messages (channel):\n")
        for channel, count in sorted(self.channels.items()):
            out.write(f"    {channel:<28} {count:>6}\n")
        if self.segments:
            out.write(f"    SMS segments                 {self.segments:>6}\n")
        if self.suppressed:
            out.write("  suppressed (reason):\n")
            for reason, count in sorted(self.suppressed.items()):
                out.write(f"    {reason:<48} {count:>6}\n")

    @staticmethod
    def _table(out: TextIO, title: str, counts: Counter[tuple[str, str]]) -> None:
        out.write(f"  {title}:\n")
        if not counts:
            out.write("    none\n")
        for (threshold, severity), count in sorted(counts.items()):
            out.write(f"    {threshold:<20} {severity:<9} {count:>6}\n")


def _describe(action: Action) -> str:
    """One readable block for a person watching a simulation. Addresses masked."""
    head = f"{action.at:%Y-%m-%d %H:%M} {action.action:<12} {action.subject}"
    match action:
        case BreachOpened() | BreachEscalated():
            return f"{head}  {action.threshold} → {action.severity} (customer {action.customer})"
        case CompensationIssued(compensation=c):
            amount = f" {c.amount}" if c.amount else ""
            extra = f" {c.item}" if c.item else ""
            extra += f" team {c.team}, priority {c.priority}" if c.kind == "contact" else ""
            return f"{head}  {c.kind}{amount}{extra}"
        case MessageQueued(message=m):
            sms = f", {m.encoding}, {m.segments} segment(s)" if m.encoding else ""
            when = f", at {m.send_at:%Y-%m-%d %H:%M}" if m.send_at != action.at else ""
            body = "\n".join(f"      {line}" if line else "" for line in m.text.splitlines())
            title = f"\n      {m.title}\n" if m.title else ""
            return (
                f"{head}  {m.channel} → {mask_address(m.to)} [{m.locale}{sms}{when}]{title}\n{body}"
            )
        case Suppressed():
            return f"{head}  {action.what}: {action.reason}"
        case BreachResolved():
            return f"{head}  {action.threshold} (customer {action.customer})"
        case ComplaintRecorded(we_were_first=first):
            return f"{head}  customer {action.customer}; we were first: {'yes' if first else 'no'}"
    return f"{head}  {json.dumps(action.to_dict(), ensure_ascii=False, default=str)}"


def _open_ledger(store: str | None) -> Ledger:
    return SQLiteLedger(store) if store else MemoryLedger()


def _simulate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        policy: Policy = load_policy(args.policy)
    except PolicyError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    if not os.path.isfile(args.events):
        err.write(f"pxr: {args.events}: no such events file\n")
        return EXIT_UNUSABLE
    try:
        ledger = _open_ledger(args.store)
    except LedgerError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    try:
        errors = _run(args, Recovery(policy, ledger), ledger, out, err)
    except BrokenPipeError:
        raise
    except (OSError, UnicodeDecodeError) as error:
        err.write(f"pxr: {args.events}: cannot read: {error}\n")
        return EXIT_UNUSABLE
    finally:
        ledger.close()
    return EXIT_REJECTED if errors else EXIT_OK


def _run(
    args: argparse.Namespace, recovery: Recovery, ledger: Ledger, out: TextIO, err: TextIO
) -> int:
    """Feed the events file to ``recovery``, one transaction per batch; return the errors."""
    summary = _Summary()
    progress = _Progress(args.events, err)
    started = time.perf_counter()

    # A batch's output is held until the batch commits: a run killed half-way
    # never printed what the ledger does not hold.
    pending: list[str] = []

    def emit(action: Action) -> None:
        pending.append(
            json.dumps(action.to_dict(), ensure_ascii=False) if args.json else _describe(action)
        )

    def reject(number: int, message: str) -> None:
        summary.errors += 1
        record = {"action": "error", "line": number, "error": message}
        pending.append(json.dumps(record) if args.json else f"line {number}: {message}")

    events = read_events(args.events)
    try:
        more = True
        while more:
            more = False
            with ledger.transaction():
                for batch, (number, item) in enumerate(events, start=1):
                    summary.lines += 1
                    if isinstance(item, EventError):
                        reject(number, item.problem)
                        continue
                    try:
                        actions = recovery.handle(item)
                    except PxrError as error:
                        reject(number, str(error))
                        continue
                    for action in actions:
                        summary.add(action)
                        emit(action)
                    if batch == _BATCH:
                        more = True
                        break
            if pending:
                out.write("\n".join(pending) + "\n")
                pending.clear()
            progress.update(summary.lines)
    finally:
        progress.close()
    if not args.json:
        summary.write(out, time.perf_counter() - started)
    return summary.errors


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.policy is None and args.transports is None:
        err.write("pxr: check: give a POLICY file, --transports FILE, or both\n")
        return EXIT_UNUSABLE
    try:
        policy = load_policy(args.policy) if args.policy is not None else None
        transports = (
            check_transports(args.transports, get_plugins().registry)
            if args.transports is not None
            else None
        )
    except PolicyError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    if policy is not None:
        out.write(
            f"{args.policy}: ok — {len(policy.rules)} thresholds, {len(policy.stages)} stages,"
            f" locale {policy.locale}, currency {policy.currency}"
            f"{_rates_note(policy)}\n"
        )
    if transports is not None:
        listed = ", ".join(f"{channel} via {kind}" for channel, kind in transports.items())
        out.write(f"{args.transports}: ok — {listed or 'no channels'}\n")
    return EXIT_OK


def _rates_note(policy: Policy) -> str:
    """``", rates for EUR, RON"``: the other currencies the policy declares."""
    others = sorted(policy.currencies - {policy.currency})
    return f", rates for {', '.join(others)}" if others else ""


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plugins = get_plugins()
    try:
        policy = load_policy(args.policy) if args.policy else Policy(rules=())
        notifiers = load_transports(args.transports, plugins.registry)
        now = _parse_now(args.now)
        ledger = SQLiteLedger(args.store)
    except (PolicyError, ValidationError, LedgerError) as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    try:
        recovery = Recovery(policy, ledger, plugins=plugins, notifiers=notifiers)
        report = recovery.dispatch_pending(now, limit=args.limit)
    finally:
        ledger.close()
    out.write(
        f"sent {report.sent}, retried {report.retried}, rerouted {report.rerouted},"
        f" dead {report.dead}, cancelled {report.cancelled}, skipped {report.skipped}\n"
    )
    return EXIT_OK


def _parse_now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        return check_aware(dt.datetime.fromisoformat(text), "--now")
    except ValueError:
        raise ValidationError("--now", f"expected an ISO 8601 time, got {text!r}") from None


def _plugins(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plugins = get_plugins()
    for info in plugins.describe():
        out.write(f"{info.name}  ({info.origin})\n")
        for thing in info.provides:
            out.write(f"    {thing}\n")
        if info.hooks:
            out.write(f"    hooks: {', '.join(info.hooks)}\n")
        if info.error:
            out.write(f"    BROKEN: {info.error}\n")
    return EXIT_OK


def _catalogs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    registry = get_plugins().registry
    out.write(f"{'domain':<12} {'locale':<8} {'translated':>10} {'coverage':>9}\n")
    for domain, locale, translated, total in coverage(registry.catalogs):
        share = translated / total if total else 1.0
        out.write(f"{domain:<12} {locale:<8} {translated:>4} / {total:<3} {share:>9.0%}\n")
    return EXIT_OK


def _open_existing(store: str, err: TextIO) -> SQLiteLedger | None:
    if not os.path.isfile(store):
        err.write(f"pxr: {store}: no such ledger file\n")
        return None
    try:
        return SQLiteLedger(store)
    except LedgerError as error:
        err.write(f"pxr: {error}\n")
        return None


def _journey(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    ledger = _open_existing(args.store, err) if args.store else None
    if args.store and ledger is None:
        return EXIT_UNUSABLE
    try:
        out.write(format_journey(journey(policy, ledger), with_ledger=ledger is not None))
    finally:
        if ledger is not None:
            ledger.close()
    return EXIT_OK


def _metrics(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        metrics = compute_metrics(ledger)
    finally:
        ledger.close()
    if args.json:
        out.write(json.dumps(metrics.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_metrics(metrics))
    return EXIT_OK


def _report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    policy = None
    if args.policy:
        try:
            policy = load_policy(args.policy)
        except PolicyError as error:
            err.write(f"pxr: {error}\n")
            return EXIT_UNUSABLE
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        page = render_report(ledger, policy, policy_name=os.path.basename(args.policy or ""))
    finally:
        ledger.close()
    with open(args.output, "w", encoding="utf-8") as stream:
        stream.write(page)
    out.write(f"wrote {args.output}\n")
    return EXIT_OK


def _erase(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        alias = ledger.erase_customer(args.customer)
    finally:
        ledger.close()
    out.write(f"erased; the customer is now {alias} in {args.store}\n")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pxr", description="Proactive Experience Recovery: tell the customer first."
    )
    parser.add_argument("--version", action="version", version=f"pxr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = commands.add_parser(
        "simulate", help="run an events file through a policy and show what pxr would do"
    )
    simulate.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    simulate.add_argument("events", metavar="EVENTS", help="the events file (JSON Lines)")
    simulate.add_argument("--json", action="store_true", help="one JSON object per action")
    simulate.add_argument(
        "--store", metavar="FILE", help="a SQLite ledger file to use (kept between runs)"
    )
    simulate.set_defaults(run=_simulate)

    check = commands.add_parser("check", help="validate a policy file, a transports file")
    check.add_argument("policy", metavar="POLICY", nargs="?", help="the policy file (TOML)")
    check.add_argument(
        "--transports", metavar="FILE", help="a transports file (TOML) to validate; sends nothing"
    )
    check.set_defaults(run=_check)

    dispatch = commands.add_parser("dispatch", help="send what is due in a ledger's outbox")
    dispatch.add_argument("--store", metavar="FILE", required=True, help="the SQLite ledger")
    dispatch.add_argument(
        "--transports", metavar="FILE", required=True, help="the transports file (TOML)"
    )
    dispatch.add_argument(
        "--policy", metavar="FILE", help="the policy (for retry and grouping settings)"
    )
    dispatch.add_argument("--now", metavar="TIME", help="send what is due by this ISO 8601 time")
    dispatch.add_argument("--limit", type=int, default=500, help="at most this many messages")
    dispatch.set_defaults(run=_dispatch)

    plugins = commands.add_parser("plugins", help="list plugins and what they provide")
    plugins.set_defaults(run=_plugins)

    catalogs = commands.add_parser("catalogs", help="message catalog coverage per locale")
    catalogs.set_defaults(run=_catalogs)

    journey_ = commands.add_parser(
        "journey", help="the journey's stages, their thresholds, and where breaches came from"
    )
    journey_.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    journey_.add_argument("--store", metavar="FILE", help="a ledger, to count breaches and cost")
    journey_.set_defaults(run=_journey)

    metrics = commands.add_parser("metrics", help="first-contact rate, speed, cost, follow-ups")
    metrics.add_argument("--store", metavar="FILE", required=True, help="the SQLite ledger")
    metrics.add_argument("--json", action="store_true", help="one JSON object")
    metrics.set_defaults(run=_metrics)

    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("--store", metavar="FILE", required=True, help="the SQLite ledger")
    report.add_argument("--policy", metavar="FILE", help="the policy, for the journey's stages")
    report.add_argument("-o", "--output", metavar="FILE", default="report.html")
    report.set_defaults(run=_report)

    erase = commands.add_parser("erase", help="erase a customer's personal data from a ledger")
    erase.add_argument("customer", metavar="CUSTOMER", help="the customer's id")
    erase.add_argument("--store", metavar="FILE", required=True, help="the SQLite ledger")
    erase.set_defaults(run=_erase)

    # ``pxr tasks``: the care team's work queue (pxr._tasks_cli).
    add_tasks_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pxr`` command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_UNUSABLE if exit_.code not in (0, None) else EXIT_OK
    try:
        status: int = args.run(args, sys.stdout, sys.stderr)
    except BrokenPipeError:
        # The reader went away (``pxr simulate … | head``): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
