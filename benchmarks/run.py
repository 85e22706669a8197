"""Throughput of ``Recovery`` against a hand-written loop, on a seeded workload.

    python benchmarks/run.py                 # the full workload, 5 runs each
    python benchmarks/run.py --signals 20000 --runs 1   # a quick look

The workload: 200,000 signals over 50,000 subjects, 20 thresholds on 20
metrics, about 5 % of signals crossing a threshold. Every figure is the
median of ``--runs`` runs. This is a measurement, never a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

from pxr import Customer, MemoryLedger, Recovery, Signal, SQLiteLedger
from pxr.channels.builtin import mobile_e164
from pxr.ledger import BreachChange, CompensationRecord, Decision, Ledger, OutboxEntry
from pxr.policy import Policy, parse_policy
from pxr.thresholds import Tiered

THRESHOLDS = 20
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def make_policy() -> Policy:
    """20 tiered thresholds, one per metric, each with apology / refund / voucher."""
    thresholds = [
        {
            "name": f"t{i}",
            "metric": f"m{i}",
            "unit": "minutes",
            "above": {"minor": 100, "major": 150, "critical": 190},
            "compensation": {
                "minor": {"kind": "apology"},
                "major": {"kind": "refund", "percent": 10, "of": "order_total"},
                "critical": {"kind": "voucher", "percent": 20},
            },
        }
        for i in range(THRESHOLDS)
    ]
    return parse_policy(
        {"recovery": {"currency": "PLN", "channels": ["sms", "email"]}, "thresholds": thresholds}
    )


def make_workload(signals: int, subjects: int, seed: int) -> tuple[list[Customer], list[Signal]]:
    """Seeded signals; values are mostly under 100 (fine), about 5 % at or above."""
    rng = random.Random(seed)
    customers = [
        Customer(
            id=f"c{i}",
            locale=rng.choice(["pl-PL", "bg-BG", "nl-NL", "ro-RO", "en-GB"]),
            timezone="Europe/Warsaw",
            phone=f"+4851{i:07d}",
            email=f"c{i}@example.com",
        )
        for i in range(subjects // 5)
    ]
    context = {"order_total": "249.00", "currency": "PLN"}
    out = []
    for n in range(signals):
        subject = rng.randrange(subjects)
        breaching = rng.random() < 0.05
        value = rng.uniform(100, 200) if breaching else rng.uniform(0, 99)
        out.append(
            Signal(
                customer=f"c{subject % len(customers)}",
                subject=f"s{subject}",
                metric=f"m{subject % THRESHOLDS}",
                value=value,
                at=START + dt.timedelta(seconds=n),
                context=context,
            )
        )
    return customers, out


def minutes(signal: Signal) -> float:
    """The workload's values are plain minutes."""
    value = signal.value
    return value.total_seconds() / 60 if isinstance(value, dt.timedelta) else float(value)


def hand_written(policy: Policy, signals: Sequence[Signal]) -> int:
    """The minimal loop: route by metric, compare tiers, keep the highest severity per breach."""
    tiers: dict[str, tuple[str, tuple[tuple[float, int], ...]]] = {}
    for rule in policy.rules:
        threshold = rule.threshold
        if not isinstance(threshold, Tiered):
            raise TypeError("the benchmark policy has only tiered thresholds")
        ordered = tuple(
            sorted(((float(b), int(s)) for s, b in threshold.tiers.items()), reverse=True)
        )
        tiers[threshold.metric] = (threshold.name, ordered)
    open_breaches: dict[tuple[str, str], int] = {}
    changes = 0
    for signal in signals:
        route = tiers.get(signal.metric)
        if route is None:
            continue
        name, bounds = route
        value: float = signal.value  # type: ignore[assignment]  # plain minutes here
        for bound, severity in bounds:
            if value >= bound:
                key = (name, signal.subject)
                if open_breaches.get(key, 0) < severity:
                    open_breaches[key] = severity
                    changes += 1
                break
    return changes


def write_all(source: Ledger, target: Ledger, batch_size: int) -> int:
    """Write what ``source`` holds into ``target`` through the ledger protocol,
    a transaction per ``batch_size`` breaches: the ledger's own cost, no engine."""
    breaches = list(source.breaches())
    compensations: dict[tuple[str, str], list[CompensationRecord]] = {}
    for record in source.compensations():
        compensations.setdefault((record.threshold, record.subject), []).append(record)
    entries: dict[tuple[str, str], list[OutboxEntry]] = {}
    for entry in source.outbox():
        entries.setdefault((entry.threshold or "", entry.subject), []).append(entry)
    decisions = [
        Decision(
            breach.customer,
            (
                BreachChange(breach),
                *compensations.get(breach.key, ()),
                *entries.get(breach.key, ()),
            ),
        )
        for breach in breaches
    ]
    for start in range(0, len(decisions), batch_size):
        with target.transaction():
            for decision in decisions[start : start + batch_size]:
                target.apply(decision)
    return len(breaches)


def timed(run: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls, with the collector settled before each.

    Each run starts with no phone number parsed: in a real stream most
    customers who meet a breach are new to the process.
    """
    times = []
    for _ in range(runs):
        mobile_e164.cache_clear()
        gc.collect()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def memory_growth(policy: Policy, customers: Sequence[Customer], fine: Sequence[Signal]) -> None:
    """Memory grows with open breaches, not with signals seen."""
    recovery = Recovery(policy, MemoryLedger(), customers=customers)
    tracemalloc.start()
    for signal in fine[: len(fine) // 2]:
        recovery.observe(signal)
    half = tracemalloc.get_traced_memory()[0]
    for signal in fine[len(fine) // 2 :]:
        recovery.observe(signal)
    full = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"\nmemory after {len(fine) // 2:,} non-breaching signals: {half / 1024:,.1f} KiB; "
        f"after {len(fine):,}: {full / 1024:,.1f} KiB"
    )


def report(
    rows: Sequence[tuple[str, int, float]],
    breach_share: float,
    alone: dict[int, float],
    breach_count: int,
) -> None:
    """The table of rates, then the ledger's own cost."""
    print(f"{'path':<40} {'signals/s':>12} {'breaching signals/s':>20} {'vs loop':>8}")
    loop_rate = rows[0][1] / rows[0][2]
    for name, count, seconds in rows:
        rate = count / seconds
        breach_rate = "" if "no breach" in name or "loop" in name else f"{rate * breach_share:,.0f}"
        print(f"{name:<40} {rate:>12,.0f} {breach_rate:>20} {loop_rate / rate:>7.1f}x")

    print(
        f"\nSQLite ledger alone, writing the {breach_count:,} breaches of one run with their "
        "compensations and messages through the ledger protocol (no engine):"
    )
    for size, seconds in alone.items():
        print(
            f"  {size:>5,} breaches a transaction: {breach_count / seconds:>8,.0f} breaches/s, "
            f"{seconds / breach_count * 1e6:,.0f} µs each"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=200_000)
    parser.add_argument("--subjects", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--strict-signals",
        type=int,
        default=20_000,
        help="signals for the per-signal-commit SQLite mode (slow by design)",
    )
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    runs = args.runs

    policy = make_policy()
    customers, signals = make_workload(args.signals, args.subjects, args.seed)
    breaching = sum(1 for s in signals if minutes(s) >= 100)
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, {platform.system()}"
    )
    print(
        f"workload: {len(signals):,} signals, {args.subjects:,} subjects, "
        f"{THRESHOLDS} thresholds, {breaching / len(signals):.1%} breaching; "
        f"median of {args.runs} runs\n"
    )

    def memory_observe() -> int:
        recovery = Recovery(policy, MemoryLedger(), customers=customers)
        return sum(len(recovery.observe(s)) for s in signals)

    def memory_many() -> int:
        recovery = Recovery(policy, MemoryLedger(), customers=customers)
        return len(recovery.observe_many(signals))

    fine = [s for s in signals if minutes(s) < 100]

    def memory_fine() -> int:
        recovery = Recovery(policy, MemoryLedger(), customers=customers)
        return sum(len(recovery.observe(s)) for s in fine)

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def sqlite_many(batch_size: int) -> Callable[[], int]:
            def run() -> int:
                ledger = SQLiteLedger(Path(tmp) / f"batch{next(counter)}.db")
                recovery = Recovery(policy, ledger, customers=customers)
                actions = len(recovery.observe_many(signals, batch_size=batch_size))
                ledger.close()
                return actions

            return run

        strict = signals[: args.strict_signals]

        def sqlite_strict() -> int:
            ledger = SQLiteLedger(Path(tmp) / f"strict{next(counter)}.db")
            recovery = Recovery(policy, ledger, customers=customers)
            actions = sum(len(recovery.observe(s)) for s in strict)
            ledger.close()
            return actions

        # The records one run decides, to write again with no engine in the way.
        decided = MemoryLedger()
        Recovery(policy, decided, customers=customers).observe_many(signals)
        breach_count = sum(1 for _ in decided.breaches())

        def ledger_alone(batch_size: int) -> Callable[[], int]:
            def run() -> int:
                ledger = SQLiteLedger(Path(tmp) / f"alone{next(counter)}.db")
                written = write_all(decided, ledger, batch_size=batch_size)
                ledger.close()
                return written

            return run

        rows = [
            (
                "hand-written loop",
                len(signals),
                timed(lambda: hand_written(policy, signals), args.runs),
            ),
            ("Recovery + memory, no breach at all", len(fine), timed(memory_fine, args.runs)),
            ("Recovery + memory, observe", len(signals), timed(memory_observe, args.runs)),
            ("Recovery + memory, observe_many", len(signals), timed(memory_many, args.runs)),
            ("Recovery + SQLite, observe_many(1000)", len(signals), timed(sqlite_many(1000), runs)),
            (
                "Recovery + SQLite, observe_many(20000)",
                len(signals),
                timed(sqlite_many(20_000), runs),
            ),
            ("Recovery + SQLite, commit per signal", len(strict), timed(sqlite_strict, args.runs)),
        ]
        # 50 breaches is what a batch of 1,000 signals holds at 5 %; 1,000 is 20,000 signals.
        alone = {size: timed(ledger_alone(size), args.runs) for size in (50, 1000)}
    report(rows, breaching / len(signals), alone, breach_count)
    memory_growth(policy, customers, fine)


if __name__ == "__main__":
    main()
