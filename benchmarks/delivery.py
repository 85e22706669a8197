"""Rendering and sending: messages/s through a no-op transport, next to apprise.

pxr renders each message when it sends it (the outbox keeps what to say, not
words), so this is the cost of the dispatcher: claim, render in the
customer's language and zone, shape for the channel, send, record the
attempt with the text sent. apprise's ``notify()`` to a no-op plugin is the
peer: a notification library sending a pre-written body.

    pip install -e '.[bench]'
    python benchmarks/delivery.py --messages 5000 --runs 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from run import make_policy, make_workload, minutes

from pxr import DeliveryResult, MemoryLedger, Message, Recovery, SQLiteLedger


class NoOp:
    """A transport that accepts everything at once."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def send(self, message: Message) -> DeliveryResult:
        return DeliveryResult.sent()


def pxr_rate(count: int, store: str | None, seed: int) -> float:
    customers, signals = make_workload(count * 40, count * 10, seed)
    breaching = [s for s in signals if minutes(s) >= 100][:count]
    ledger = SQLiteLedger(store) if store else MemoryLedger()
    notifiers: dict[str, Any] = {name: NoOp(name) for name in ("sms", "email", "messenger")}
    recovery = Recovery(make_policy(), ledger, customers=customers, notifiers=notifiers)
    recovery.observe_many(breaching)
    later = max(s.at for s in breaching) + dt.timedelta(days=2)
    started = time.perf_counter()
    report = recovery.dispatch_pending(later, limit=10**9)
    seconds = time.perf_counter() - started
    ledger.close()
    return report.sent / seconds


def apprise_rate(count: int) -> float | None:
    try:
        import apprise  # noqa: PLC0415
        from apprise.decorators import notify  # noqa: PLC0415
    except ImportError:
        return None

    @notify(on="pxrnoop")  # type: ignore[untyped-decorator,no-untyped-call,unused-ignore]
    def noop(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
        return True

    sender = apprise.Apprise()
    sender.add("pxrnoop://")
    started = time.perf_counter()
    for n in range(count):
        sender.notify(body=f"Message number {n}: your order is late.", title="Sorry")
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {"pxr, memory ledger": [], "pxr, SQLite ledger": []}
    peer: list[float] = []
    for run in range(args.runs):
        rows["pxr, memory ledger"].append(pxr_rate(args.messages, None, args.seed + run))
        path = Path(f"/tmp/pxr-delivery-{run}.db")  # noqa: S108 - a benchmark scratch file
        path.unlink(missing_ok=True)
        rows["pxr, SQLite ledger"].append(pxr_rate(args.messages, str(path), args.seed + run))
        path.unlink(missing_ok=True)
        rate = apprise_rate(args.messages)
        if rate is not None:
            peer.append(rate)
    print(f"{args.messages:,} messages, median of {args.runs} runs\n")
    print(f"{'path':<28} {'messages/s':>12} {'vs apprise':>11}")
    base = statistics.median(peer) if peer else None
    if base is not None:
        print(f"{'apprise notify(), no-op':<28} {base:>12,.0f} {1.0:>10.2f}x")
    for name, rates in rows.items():
        rate = statistics.median(rates)
        versus = f"{rate / base:>10.2f}x" if base else "  (no apprise)"
        print(f"{name:<28} {rate:>12,.0f} {versus}")


if __name__ == "__main__":
    main()
