"""The ``pxr`` command: ``simulate``, ``check``, ``dispatch``, ``journey``, ``metrics``,
``report``, ``plugins``, ``catalogs`` and ``tasks``.

Exit status: 0 all good; 1 some input lines were rejected (each reported on
stderr, the rest processed); 2 the policy, a file or the command line is
unusable; 3 the run could not finish for want of a resource (disk full, a
read-only or locked ledger, output closed early: batches committed before
are kept, and re-running the same file completes the work); 70 an internal
error (a bug: please report it); 130 interrupted (Ctrl-C). Every failure is
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, TextIO

from pxr import __version__, cases
from pxr._durations import parse_duration
from pxr._privacy import mask_address
from pxr._tasks_cli import add_tasks_parser
from pxr.dispatch import DispatchReport
from pxr.engine import Recovery
from pxr.errors import (
    EventError,
    LedgerBusyError,
    LedgerConflict,
    LedgerError,
    PolicyError,
    PxrError,
    ValidationError,
)
from pxr.events import read_events
from pxr.i18n import coverage
from pxr.journey import format_journey, journey
from pxr.ledger import Ledger, OutboxStatus, migrate_ledger, open_ledger
from pxr.ledger.memory import MemoryLedger
from pxr.ledger.urls import ENVIRONMENT, redact
from pxr.metrics import compute_metrics, format_metrics, reason_key
from pxr.model import (
    Action,
    BreachEscalated,
    BreachOpened,
    BreachResolved,
    CompensationIssued,
    ComplaintRecorded,
    ForecastConfirmed,
    MessageQueued,
    Suppressed,
    check_aware,
)
from pxr.money import Money, parse_money
from pxr.plugins import get_plugins
from pxr.policy import Policy, load_policy
from pxr.proof import compute_proof, format_proof
from pxr.report import render_report
from pxr.transports import check_transports, load_transports

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, EXIT_RESOURCE = 0, 1, 2, 3
EXIT_INTERNAL, EXIT_INTERRUPTED = 70, 130
_EXIT_STATUSES = """\
exit status:
  0    all good
  1    some events lines were rejected (each reported on stderr; the rest processed)
  2    the policy, a file or the command line is unusable (also a ledger on a
       read-only file, directory or filesystem)
  3    stopped for want of a resource: disk full, a read-only or locked ledger,
       output closed early (committed batches are kept; re-run to finish)
  70   internal error in pxr (a bug: please report it)
  130  interrupted (Ctrl-C); committed batches are kept; re-run to finish
"""
_BATCH = 500
#: How often a batch the database rolled back for another writer is run again.
_CONFLICT_ATTEMPTS = 10


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
        case BreachOpened(forecast=True):
            who = f"(customer {action.customer})"
            return f"{head}  {action.threshold} → {action.severity} forecast {who}"
        case BreachOpened() | BreachEscalated():
            return f"{head}  {action.threshold} → {action.severity} (customer {action.customer})"
        case ForecastConfirmed(lead_time=lead):
            hours = lead.total_seconds() / 3600
            return (
                f"{head}  {action.threshold} → {action.severity}, forecast {hours:.1f} h earlier"
                f" (customer {action.customer})"
            )
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
                f"{head}  {m.channel} → {mask_address(m.to)}"
                f" [{m.locale}, {action.timezone}{sms}{when}]{title}\n{body}"
            )
        case Suppressed():
            return f"{head}  {action.what}: {action.reason}"
        case BreachResolved():
            return f"{head}  {action.threshold} (customer {action.customer})"
        case ComplaintRecorded(we_were_first=first):
            return f"{head}  customer {action.customer}; we were first: {'yes' if first else 'no'}"
    return f"{head}  {json.dumps(action.to_dict(), ensure_ascii=False, default=str)}"


def _open_ledger(store: str | None) -> Ledger:
    named = store or os.environ.get(ENVIRONMENT)
    return open_ledger(named) if named else MemoryLedger()


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
        return EXIT_RESOURCE if isinstance(error, LedgerBusyError) else EXIT_UNUSABLE
    try:
        errors = _run(args, Recovery(policy, ledger), ledger, out, err)
    except OSError as error:
        # BrokenPipeError and a full disk are OSErrors too, but about the output
        # or the ledger, not the events file: main() reports those.
        if isinstance(error, BrokenPipeError) or error.errno == errno.ENOSPC:
            raise
        err.write(f"pxr: {args.events}: cannot read: {error}\n")
        return EXIT_UNUSABLE
    except UnicodeDecodeError as error:
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
    # never printed what the ledger does not hold, and a batch the database
    # rolled back to let another writer through is run again, printed once.
    def report(done: list[tuple[int, Action | str]]) -> None:
        pending: list[str] = []
        for number, outcome in done:
            if isinstance(outcome, str):
                # The report goes to stderr, like a policy error; --json keeps its record.
                summary.errors += 1
                message = " ".join(outcome.splitlines())  # one error, one line
                err.write(f"pxr: {args.events}:{number}: {message}\n")
                if args.json:
                    record = {"action": "error", "line": number, "error": message}
                    pending.append(json.dumps(record, ensure_ascii=False))
                continue
            summary.add(outcome)
            pending.append(
                json.dumps(outcome.to_dict(), ensure_ascii=False)
                if args.json
                else _describe(outcome)
            )
        if pending:
            out.write("\n".join(pending) + "\n")

    events = read_events(args.events)
    try:
        while batch := list(islice(events, _BATCH)):
            for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
                try:
                    done = _run_batch(recovery, ledger, batch)
                    break
                except LedgerConflict:
                    if attempt == _CONFLICT_ATTEMPTS:
                        raise
                    # Writers that collided once would collide again in step:
                    # wait a random, growing moment before running it again.
                    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311
            summary.lines += len(batch)
            report(done)
            progress.update(summary.lines)
    finally:
        progress.close()
    if not args.json:
        summary.write(out, time.perf_counter() - started)
    return summary.errors


def _run_batch(
    recovery: Recovery, ledger: Ledger, batch: list[tuple[int, Any]]
) -> list[tuple[int, Action | str]]:
    """One batch in one transaction: each line's actions, or why it was rejected."""
    done: list[tuple[int, Action | str]] = []
    with ledger.transaction():
        for number, item in batch:
            if isinstance(item, EventError):
                done.append((number, item.problem))
                continue
            try:
                actions = recovery.handle(item)
            except LedgerConflict:
                raise
            except PxrError as error:
                done.append((number, str(error)))
                continue
            except (sqlite3.Error, OSError):
                raise
            except Exception as error:  # noqa: BLE001 - a bug in pxr costs one line
                done.append((number, _internal(error)))
                continue
            done.extend((number, action) for action in actions)
    return done


def _internal(error: BaseException) -> str:
    """An internal error in one line: its type and where in pxr, never its text.

    The text of an unexpected exception may quote personal data; the place is
    enough for a bug report.
    """
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"internal error ({type(error).__name__}{place}); please report it"


def _resource(error: BaseException) -> str:
    """A failed resource in one line: what it means for the run, then what the system said."""
    # SQLite rolls back by itself on a full disk; the ledger's own ROLLBACK then
    # fails ("no transaction is active") and hides the cause, which is the context.
    while isinstance(error.__context__, sqlite3.Error | OSError):
        error = error.__context__
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "the disk is full"
    text = str(error).lower()
    if isinstance(error, sqlite3.Error):
        if "full" in text:
            return f"the disk is full (the ledger says: {error})"
        if "readonly" in text or "read-only" in text:
            return f"the ledger cannot be written (read-only file or directory): {error}"
        if "locked" in text or "busy" in text:
            return f"the ledger stayed locked by another process: {error}"
        return f"the ledger failed: {error}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return str(error)


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
    if args.watch and args.now:
        err.write("pxr: --now and --watch do not go together: a service sends as time goes by\n")
        return EXIT_UNUSABLE
    try:
        policy = load_policy(args.policy) if args.policy else Policy(rules=())
        notifiers = load_transports(args.transports, plugins.registry)
        now = _parse_now(args.now) if args.now else None
    except (PolicyError, ValidationError) as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        recovery = Recovery(policy, ledger, plugins=plugins, notifiers=notifiers)
        if args.watch:
            return _watch(recovery, args, err)
        report = recovery.dispatch_pending(now, limit=args.limit)
        out.write(_dispatch_line(report) + "\n")
        waiting = _waiting_without_transport(recovery, now)
        if waiting:
            out.write(f"waiting for a transport: {waiting}\n")
    finally:
        ledger.close()
    return EXIT_OK


def _dispatch_line(report: DispatchReport) -> str:
    return (
        f"sent {report.sent}, retried {report.retried}, rerouted {report.rerouted},"
        f" dead {report.dead}, uncertain {report.uncertain}, cancelled {report.cancelled},"
        f" skipped {report.skipped}"
    )


def _waiting_without_transport(recovery: Recovery, now: dt.datetime | None) -> str:
    """Due messages on channels this dispatcher has no transport for, per channel."""
    when = now or recovery.ledger.now()
    counts = Counter(
        e.channel for e in recovery.ledger.due(when, 10**9) if e.channel not in recovery.notifiers
    )
    return ", ".join(f"{count} on {channel}" for channel, count in sorted(counts.items()))


def _watch(recovery: Recovery, args: argparse.Namespace, err: TextIO) -> int:
    """Dispatch every ``--interval`` seconds until SIGTERM or SIGINT; a run under
    way when the signal comes is finished first, so no lease is left behind."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        err.write(f"pxr dispatch: watching {args.store} every {args.interval:g} s\n")
        err.flush()
        while not stop.is_set():
            report = recovery.dispatch_pending(limit=args.limit)
            if report != DispatchReport():
                err.write(f"pxr dispatch: {_dispatch_line(report)}\n")
                err.flush()
            # The sweeper is the dispatcher's sibling: deadlines near or past.
            swept = cases.sweep(recovery, recovery.ledger.now())
            if swept.warned or swept.deemed_accepted or swept.referred:
                err.write(
                    f"pxr dispatch: cases: {len(swept.warned)} handed over near their"
                    f" deadline, {len(swept.deemed_accepted)} deemed accepted,"
                    f" {len(swept.referred)} referred\n"
                )
                err.flush()
            stop.wait(args.interval)
        err.write("pxr dispatch: stopped\n")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _outbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        if args.action == "retry":
            if not args.ids:
                err.write("pxr: outbox retry needs the ids of the messages to send again\n")
                return EXIT_UNUSABLE
            now = ledger.now()
            missing = [n for n in args.ids if not ledger.requeue(n, now)]
            for number in args.ids:
                if number not in missing:
                    out.write(f"{number}: queued again\n")
            for number in missing:
                err.write(f"pxr: {number}: no dead, uncertain or cancelled message with that id\n")
            return EXIT_REJECTED if missing else EXIT_OK
        wanted = set(args.status or ())
        if args.dead:
            wanted.add(str(OutboxStatus.DEAD))
        if args.pending:
            wanted.update((str(OutboxStatus.PENDING), str(OutboxStatus.SENDING)))
        entries = [e for e in ledger.outbox() if not wanted or e.status in wanted]
    finally:
        ledger.close()
    for entry in entries[: args.limit]:
        record = {
            "id": entry.id,
            "status": str(entry.status),
            "channel": entry.channel,
            "to": mask_address(entry.to),
            "customer": entry.customer,
            "subject": entry.subject,
            "purpose": entry.purpose,
            "send_at": entry.send_at.isoformat(),
            "attempts": entry.attempts,
            "last_error": entry.last_error,
        }
        if args.json:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            error = f"  ({entry.last_error})" if entry.last_error else ""
            out.write(
                f"{entry.id:>6} {entry.status:<10} {entry.send_at:%Y-%m-%d %H:%M}"
                f" {entry.channel:<10} {entry.subject:<14} {entry.purpose:<11}"
                f" {entry.attempts} attempt(s){error}\n"
            )
    return EXIT_OK


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds, more than 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 86400, got {text}")
    return value


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


def _open_existing(store: str | None, err: TextIO) -> Ledger | None:
    try:
        return open_ledger(store, create=False)
    except LedgerError as error:
        err.write(f"pxr: {error}\n")
        return None


def _journey(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    store = args.store or os.environ.get(ENVIRONMENT)
    ledger = _open_existing(store, err) if store else None
    if store and ledger is None:
        return EXIT_UNUSABLE
    try:
        out.write(format_journey(journey(policy, ledger), with_ledger=ledger is not None))
    finally:
        if ledger is not None:
            ledger.close()
    return EXIT_OK


def _proof_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customer-value",
        metavar="AMOUNT",
        help='what one kept customer is worth ("300.00 PLN"), to set value kept against cost',
    )
    parser.add_argument(
        "--retained",
        metavar="OUTCOME",
        default="repurchase",
        help="the outcome that means a customer stayed (default: repurchase)",
    )


def _proof_inputs(
    args: argparse.Namespace, err: TextIO
) -> tuple[Policy | None, Money | None] | None:
    """The policy (for its rates) and the value of a kept customer, if given."""
    policy = None
    if args.policy:
        try:
            policy = load_policy(args.policy)
        except PolicyError as error:
            err.write(f"pxr: {error}\n")
            return None
    value = None
    if args.customer_value:
        currency = policy.currency if policy is not None else "EUR"
        try:
            value = parse_money(args.customer_value, currency, "--customer-value")
        except ValidationError as error:
            err.write(f"pxr: {error}\n")
            return None
    return policy, value


def _metrics(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = _proof_inputs(args, err)
    if inputs is None:
        return EXIT_UNUSABLE
    policy, value = inputs
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        metrics = compute_metrics(ledger)
        proof = compute_proof(
            ledger,
            rates=policy.rates if policy is not None else None,
            customer_value=value,
            retained=args.retained,
        )
    finally:
        ledger.close()
    if args.json:
        data = {**metrics.to_dict(), "proof": proof.to_dict()}
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_metrics(metrics))
        out.write(format_proof(proof))
    return EXIT_OK


def _report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = _proof_inputs(args, err)
    if inputs is None:
        return EXIT_UNUSABLE
    policy, value = inputs
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    try:
        page = render_report(
            ledger,
            policy,
            policy_name=os.path.basename(args.policy or ""),
            customer_value=value,
            retained=args.retained,
        )
    finally:
        ledger.close()
    with open(args.output, "w", encoding="utf-8") as stream:
        stream.write(page)
    out.write(f"wrote {args.output}\n")
    return EXIT_OK


def _erase(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # Never echo the id: it may be an e-mail address, and an audit trail of
    # erasures must not become a list of the people erased.
    older_than = args.older_than
    if args.customer and (older_than or args.policy):
        err.write("pxr: give a customer or --older-than/--policy, not both\n")
        return EXIT_UNUSABLE
    if not args.customer:
        try:
            if older_than is None and args.policy:
                older_than = load_policy(args.policy).retention
                if older_than is None:
                    err.write(f"pxr: {args.policy}: [recovery] retention is not set\n")
                    return EXIT_UNUSABLE
            elif older_than is not None:
                older_than = parse_duration(older_than, "--older-than")
        except PxrError as error:
            err.write(f"pxr: {error}\n")
            return EXIT_UNUSABLE
        if older_than is None:
            err.write("pxr: give a customer id, --older-than DURATION or --policy FILE\n")
            return EXIT_UNUSABLE
    ledger = _open_existing(args.store, err)
    if ledger is None:
        return EXIT_UNUSABLE
    cutoff = dt.datetime.now(dt.UTC) - (older_than or dt.timedelta())
    where = redact(ledger_name(args.store))
    try:
        if args.customer:
            results = [ledger.erase_customer(args.customer)]
        else:
            results = [ledger.erase_customer(c) for c in ledger.inactive_customers(cutoff)]
    finally:
        ledger.close()
    for erased in results:
        if args.json:
            record: dict[str, object] = {"erased": erased.found, "pseudonym": erased.pseudonym}
            record.update(erased.counts(), before=erased.before, scrubbed=erased.scrubbed)
            out.write(json.dumps(record) + "\n")
        elif erased.found:
            counts = ", ".join(f"{n} {kind}" for kind, n in erased.counts().items() if n)
            out.write(f"erased {counts}; the customer is now {erased.pseudonym} in {where}\n")
        elif erased.before:
            out.write(f"erased before; nothing named the customer in {where} any more\n")
        if not erased.scrubbed and not args.json:
            out.write(
                "  the freed bytes are not all overwritten yet (a reader kept the WAL busy):"
                " run `pxr erase` again once it is done\n"
            )
    if args.customer and not results[0].found and not results[0].before:
        err.write(f"pxr: {where}: no record of that customer; nothing erased\n")
        return EXIT_REJECTED
    if not args.customer and not args.json:
        out.write(
            f"erased {len(results)} customers with no activity since {cutoff:%Y-%m-%d %H:%M} UTC\n"
        )
    return EXIT_OK


def _add_outbox(commands: Any) -> None:
    """``pxr outbox``: list by status, or retry."""
    outbox = commands.add_parser(
        "outbox",
        help="list the outbox's messages by status, or send dead ones again",
        description="List the outbox (newest last), or queue dead, uncertain or cancelled"
        " messages again.",
        epilog="examples: pxr outbox --store ledger.db --dead;"
        " pxr outbox retry 17 18 --store ledger.db",
    )
    outbox.add_argument(
        "action", nargs="?", choices=["list", "retry"], default="list", help="list or retry"
    )
    outbox.add_argument("ids", nargs="*", type=int, metavar="ID", help="messages to retry")
    outbox.add_argument("--store", metavar="URL", help=_STORE_HELP)
    outbox.add_argument(
        "--status",
        action="append",
        choices=[str(s) for s in OutboxStatus],
        help="only messages in this status (repeatable)",
    )
    outbox.add_argument("--dead", action="store_true", help="only dead messages")
    outbox.add_argument("--pending", action="store_true", help="only messages not yet sent")
    outbox.add_argument("--json", action="store_true", help="one JSON object per message")
    outbox.add_argument("--limit", type=_positive, default=10**9, help="at most this many")
    outbox.set_defaults(run=_outbox)


def _limit(text: str) -> int:
    """A ``--limit``: a whole number the ledger's queries can hold."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if not 1 <= number <= 1_000_000:
        raise argparse.ArgumentTypeError("expected a whole number from 1 to 1,000,000")
    return number


def ledger_name(store: str | None) -> str:
    """What ``--store`` named, or ``PXR_LEDGER`` in its place."""
    return store or os.environ.get(ENVIRONMENT, "")


def _migrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        found, now = migrate_ledger(args.store)
    except LedgerError as error:
        err.write(f"pxr: {error}\n")
        return EXIT_UNUSABLE
    where = redact(ledger_name(args.store))
    if now is None:
        out.write(f"{where}: migrated\n")
    elif found is None:
        out.write(f"{where}: ledger schema {now}, created\n")
    elif found == now:
        out.write(f"{where}: ledger schema {now}, current\n")
    else:
        out.write(f"{where}: ledger schema {found} migrated to {now}\n")
    return EXIT_OK


_STORE_HELP = "a ledger URL (sqlite:///file.db, postgresql://…) or SQLite file; default $PXR_LEDGER"


def _add_erase(commands: Any) -> None:
    """``pxr erase``: one customer, or everyone past retention."""
    erase = commands.add_parser(
        "erase", help="erase a customer's personal data, or everyone's past retention"
    )
    erase.add_argument("customer", metavar="CUSTOMER", nargs="?", help="the customer's id")
    erase.add_argument("--store", metavar="URL", help=_STORE_HELP)
    erase.add_argument(
        "--older-than",
        metavar="DURATION",
        help='erase every customer with no activity for this long ("365d")',
    )
    erase.add_argument(
        "--policy", metavar="FILE", help="erase past the policy's [recovery] retention"
    )
    erase.add_argument("--json", action="store_true", help="one JSON object per erasure")
    erase.set_defaults(run=_erase)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pxr",
        description="Proactive Experience Recovery: tell the customer first.",
        epilog=_EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        "--store",
        metavar="URL",
        help="a ledger URL or SQLite file to keep (default $PXR_LEDGER, else in memory)",
    )
    simulate.set_defaults(run=_simulate)

    check = commands.add_parser("check", help="validate a policy file, a transports file")
    check.add_argument("policy", metavar="POLICY", nargs="?", help="the policy file (TOML)")
    check.add_argument(
        "--transports", metavar="FILE", help="a transports file (TOML) to validate; sends nothing"
    )
    check.set_defaults(run=_check)

    dispatch = commands.add_parser("dispatch", help="send what is due in a ledger's outbox")
    dispatch.add_argument("--store", metavar="URL", help=_STORE_HELP)
    dispatch.add_argument(
        "--transports", metavar="FILE", required=True, help="the transports file (TOML)"
    )
    dispatch.add_argument(
        "--policy", metavar="FILE", help="the policy (for retry and grouping settings)"
    )
    dispatch.add_argument("--now", metavar="TIME", help="send what is due by this ISO 8601 time")
    dispatch.add_argument(
        "--limit",
        type=_limit,
        default=500,
        help="at most this many messages a run (1 to 1,000,000)",
    )
    dispatch.add_argument(
        "--watch",
        action="store_true",
        help="keep running: dispatch every --interval seconds until SIGTERM or Ctrl-C",
    )
    dispatch.add_argument(
        "--interval", type=_seconds, default=30.0, help="seconds between runs with --watch"
    )
    dispatch.set_defaults(run=_dispatch)

    _add_outbox(commands)

    plugins = commands.add_parser("plugins", help="list plugins and what they provide")
    plugins.set_defaults(run=_plugins)

    catalogs = commands.add_parser("catalogs", help="message catalog coverage per locale")
    catalogs.set_defaults(run=_catalogs)

    journey_ = commands.add_parser(
        "journey", help="the journey's stages, their thresholds, and where breaches came from"
    )
    journey_.add_argument("policy", metavar="POLICY", help="the policy file (TOML)")
    journey_.add_argument(
        "--store", metavar="URL", help="a ledger, to count breaches and cost (or $PXR_LEDGER)"
    )
    journey_.set_defaults(run=_journey)

    metrics = commands.add_parser("metrics", help="first-contact rate, speed, cost, follow-ups")
    metrics.add_argument("--store", metavar="URL", help=_STORE_HELP)
    metrics.add_argument("--json", action="store_true", help="one JSON object")
    metrics.add_argument("--policy", metavar="FILE", help="the policy, for its currency and rates")
    _proof_arguments(metrics)
    metrics.set_defaults(run=_metrics)

    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("--store", metavar="URL", help=_STORE_HELP)
    report.add_argument("--policy", metavar="FILE", help="the policy, for the journey's stages")
    report.add_argument("-o", "--output", metavar="FILE", default="report.html")
    _proof_arguments(report)
    report.set_defaults(run=_report)

    _add_erase(commands)

    migrate = commands.add_parser(
        "migrate", help="bring a ledger's schema up to this pxr's (PostgreSQL: before upgrading)"
    )
    migrate.add_argument("store", metavar="URL", nargs="?", help=_STORE_HELP)
    migrate.set_defaults(run=_migrate)

    # ``pxr tasks``: the care team's work queue (pxr._tasks_cli).
    add_tasks_parser(commands)
    _describe_commands(commands)
    return parser


#: One example per command, shown at the end of its ``--help``.
_EXAMPLES = {
    "simulate": "pxr simulate examples/parcel/policy.toml examples/parcel/events.jsonl"
    " --store parcel.db --json",
    "check": "pxr check examples/parcel/policy.toml --transports transports.toml",
    "dispatch": "pxr dispatch --store parcel.db --transports transports.toml --watch",
    "outbox": "pxr outbox --store parcel.db --dead",
    "plugins": "pxr plugins",
    "catalogs": "pxr catalogs",
    "journey": "pxr journey examples/parcel/policy.toml --store parcel.db",
    "metrics": "pxr metrics --store parcel.db --json",
    "report": "pxr report --store parcel.db --policy examples/parcel/policy.toml -o report.html",
    "erase": "pxr erase c-anna --store parcel.db --json",
    "migrate": "pxr migrate postgresql://pxr@db.example/pxr",
    "tasks": "pxr tasks --store parcel.db --overdue",
}


def _describe_commands(commands: Any) -> None:
    """Every command's ``--help`` says what it does and shows an example."""
    for action in commands._choices_actions:
        sub = commands.choices[action.dest]
        if not sub.description:
            sub.description = (action.help or "").capitalize() + "."
        example = _EXAMPLES.get(action.dest)
        if example and not sub.epilog:
            sub.epilog = f"example: {example}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pxr`` command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_UNUSABLE if exit_.code not in (0, None) else EXIT_OK
    try:
        status: int = args.run(args, sys.stdout, sys.stderr)
        sys.stdout.flush()
    except KeyboardInterrupt:
        _fail("interrupted; batches committed before are kept, re-run to finish")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``pxr simulate … | head``). The batch being
        # written was rolled back, so the run is not done: say so, non-zero.
        # Later writes to stdout (at exit) go nowhere instead of failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _fail("output closed before the run finished; batches committed before are kept")
        return EXIT_RESOURCE
    except (sqlite3.Error, OSError, LedgerError) as error:
        _fail(_resource(error))
        return EXIT_RESOURCE
    except Exception as error:  # noqa: BLE001 - one line, never a traceback
        _fail(_internal(error))
        return EXIT_INTERNAL
    return status


def _fail(message: str) -> None:
    try:
        sys.stderr.write(f"pxr: {message}\n")
        sys.stderr.flush()
    except OSError:  # stderr itself is gone: the exit status still tells
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
