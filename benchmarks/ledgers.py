"""Breaches per second into each ledger, with one and with two writer processes.

Every signal breaches: each one is a whole decision (load the customer's
snapshot, decide, write the breach, its compensation and its message in one
transaction). Each writer is a process of its own with its own ledger (for
PostgreSQL, its own connection pool), observing its share of the signals;
customers are shared, so writers sometimes queue on one customer's lock.
The clock runs from the moment every writer is ready to the last one done.

    python benchmarks/ledgers.py --signals 2000 --runs 5
    python benchmarks/ledgers.py --postgres postgresql://postgres@127.0.0.1/postgres

Without ``--postgres`` only SQLite is measured (psycopg is imported only then).
A schema ``pxr_bench_<random>`` is created in that database and dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

POLICY = """
[recovery]
currency = "PLN"
channels = ["sms", "email"]

[[thresholds]]
name = "parcel-late"
metric = "delivery_delay"
unit = "hours"
above = { minor = 1, major = 24 }
compensation.minor = { kind = "apology" }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
"""

CUSTOMERS = 1000


def writer(url: str, share: range, ready: Any, go: Any, done: Any) -> None:
    """Observe one breaching signal per subject in ``share``."""
    import tomllib  # noqa: PLC0415

    from pxr import Customer, Recovery, Signal, open_ledger  # noqa: PLC0415
    from pxr.policy import parse_policy  # noqa: PLC0415

    customers = {
        f"c{n}": Customer(
            id=f"c{n}",
            locale="pl-PL",
            timezone="Europe/Warsaw",
            phone=f"+4851{n:07d}",
            email=f"c{n}@example.com",
        )
        for n in range(CUSTOMERS)
    }
    ledger = open_ledger(url)
    recovery = Recovery(parse_policy(tomllib.loads(POLICY)), ledger, customers=customers.get)
    at = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    signals = [
        Signal(
            customer=f"c{n % CUSTOMERS}",
            subject=f"S{n}",
            metric="delivery_delay",
            value=30,
            at=at + dt.timedelta(seconds=n),
            context={"order_total": "100.00"},
        )
        for n in share
    ]
    ready.release()
    go.wait()
    for signal in signals:
        recovery.observe(signal)
    done.put(time.perf_counter())
    ledger.close()


def run_once(url: str, signals: int, processes: int) -> float:
    """Breaches per second: ``signals`` split over ``processes`` writers."""
    context = multiprocessing.get_context("spawn")
    ready = context.Semaphore(0)
    go = context.Event()
    done = context.Queue()
    shares = [range(p, signals, processes) for p in range(processes)]
    workers = [
        context.Process(target=writer, args=(url, share, ready, go, done)) for share in shares
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    finished: float = max(done.get() for _ in workers)
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a writer failed (exit {worker.exitcode})")
    return signals / (finished - started)


def sqlite_url(directory: Path, run: str) -> str:
    return f"sqlite:///{directory / f'{run}.db'}"


def postgres_schema(base: str, run: str) -> str:
    import psycopg  # noqa: PLC0415

    schema = f"pxr_bench_{run}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def drop_postgres_schema(base: str, run: str) -> None:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "pxr_bench_{run}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=2000, help="breaching signals a run")
    parser.add_argument("--runs", type=int, default=5, help="runs of each; the median is shown")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to measure too")
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    figures: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(args.runs):
            for kind in kinds:
                for processes in (1, 2):
                    run = secrets.token_hex(4)
                    if kind == "sqlite":
                        url = sqlite_url(Path(directory), run)
                        rate = run_once(url, args.signals, processes)
                    else:
                        url = postgres_schema(args.postgres, run)
                        try:
                            rate = run_once(url, args.signals, processes)
                        finally:
                            drop_postgres_schema(args.postgres, run)
                    figures.setdefault((kind, processes), []).append(rate)
    print(f"{args.signals} breaching signals a run; median of {args.runs} runs")
    print("| ledger | writer processes | breaches/s |")
    print("|---|---:|---:|")
    for (kind, processes), rates in figures.items():
        print(f"| {kind} | {processes} | {statistics.median(rates):,.0f} |")


if __name__ == "__main__":
    main()
