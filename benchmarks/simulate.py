"""`pxr simulate --json --store` on a large events file, next to a bare script.

The bare script is the least a user could write instead: parse the same
JSON Lines file, check each signal against the same tiers, keep a dict of
open breaches with their highest severity, and write them into SQLite with
one ``executemany``. It decides nothing else (no compensation, no message,
no replay safety), so the ratio is what everything pxr does costs on top.
Both run as a fresh process, so both pay Python's start-up.

    python benchmarks/simulate.py --signals 100000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from run import THRESHOLDS, make_workload

POLICY = "\n".join(
    [
        "[recovery]",
        'currency = "PLN"',
        'channels = ["sms", "email"]',
        "",
        *(
            "\n".join(
                [
                    "[[thresholds]]",
                    f'name = "t{i}"',
                    f'metric = "m{i}"',
                    'unit = "minutes"',
                    "above = { minor = 100, major = 150, critical = 190 }",
                    'compensation.minor = { kind = "apology" }',
                    'compensation.major = { kind = "refund", percent = 10, of = "order_total" }',
                    'compensation.critical = { kind = "voucher", percent = 20 }',
                    "",
                ]
            )
            for i in range(THRESHOLDS)
        ),
    ]
)


def write_events(path: Path, signals: int, seed: int) -> None:
    customers, stream = make_workload(signals, signals // 4, seed)
    with path.open("w", encoding="utf-8") as out:
        for c in customers:
            person: dict[str, Any] = {
                "type": "customer",
                "id": c.id,
                "locale": c.locale,
                "timezone": c.timezone,
                "phone": c.phone,
                "email": c.email,
            }
            out.write(json.dumps(person) + "\n")
        for s in stream:
            record: dict[str, Any] = {
                "type": "signal",
                "customer": s.customer,
                "subject": s.subject,
                "metric": s.metric,
                "value": s.value,
                "at": s.at.isoformat(),
                "context": dict(s.context),
            }
            out.write(json.dumps(record) + "\n")


def bare(events: str, store: str) -> None:
    """The bare script (run in its own process by ``--bare``)."""
    tiers = {f"m{i}": (f"t{i}", ((190.0, 3), (150.0, 2), (100.0, 1))) for i in range(THRESHOLDS)}
    open_breaches: dict[tuple[str, str], tuple[int, str, str]] = {}
    with open(events, encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            if event["type"] != "signal":
                continue
            route = tiers.get(event["metric"])
            if route is None:
                continue
            name, bounds = route
            for bound, severity in bounds:
                if event["value"] >= bound:
                    key = (name, event["subject"])
                    if open_breaches.get(key, (0, "", ""))[0] < severity:
                        open_breaches[key] = (severity, event["customer"], event["at"])
                    break
    db = sqlite3.connect(store)
    db.execute(
        "CREATE TABLE IF NOT EXISTS breaches (threshold TEXT, subject TEXT, customer TEXT,"
        " severity INTEGER, at TEXT, PRIMARY KEY (threshold, subject))"
    )
    with db:
        db.executemany(
            "INSERT OR REPLACE INTO breaches VALUES (?, ?, ?, ?, ?)",
            [(t, s, c, sev, at) for (t, s), (sev, c, at) in open_breaches.items()],
        )
    db.close()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own commands
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--bare", nargs=2, metavar=("EVENTS", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(*args.bare)
        return
    pxr = str(Path(sys.executable).with_name("pxr"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events, policy = folder / "events.jsonl", folder / "policy.toml"
        write_events(events, args.signals, args.seed)
        policy.write_text(POLICY, encoding="utf-8")
        bare_times, pxr_times = [], []
        for run in range(args.runs):
            bare_times.append(
                timed([sys.executable, __file__, "--bare", str(events), str(folder / f"b{run}")])
            )
            pxr_times.append(
                timed(
                    [
                        pxr,
                        "simulate",
                        str(policy),
                        str(events),
                        "--json",
                        "--store",
                        str(folder / f"p{run}.db"),
                    ]
                )
            )
    b, p = statistics.median(bare_times), statistics.median(pxr_times)
    print(f"{args.signals:,} signals, median of {args.runs} runs (each a fresh process)\n")
    print(f"bare script (parse, tiers, dict, one executemany): {b:6.2f} s")
    print(f"pxr simulate --json --store:                       {p:6.2f} s  ({p / b:.1f}x)")


if __name__ == "__main__":
    main()
