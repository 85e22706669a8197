"""The Celery recipe for real: two worker processes on the machine's Redis
broker, one PostgreSQL ledger, the same signals delivered more than once."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal as signals
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("PXR_REQUIRE_POSTGRES") != "1":
    pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs pxr[postgres]")

from pxr import open_ledger

from . import pg
from .conftest import EXAMPLES

REDIS = "redis://127.0.0.1:6379/0"
EMBED = EXAMPLES / "embed"
CELERY = Path(sys.executable).with_name("celery")


def redis_client() -> Any:
    redis = pytest.importorskip("redis", reason="a Redis broker needs the redis package")
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("PXR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"no Redis at {REDIS}: {error}", pytrace=False)
        pytest.skip(f"no Redis at {REDIS}: {error}")
    return client


def start_worker(name: str, queue: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``celery -A celery_tasks worker --concurrency 1`` consuming ``queue``."""
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own celery, fixed arguments
            [
                str(CELERY),
                "-A",
                "celery_tasks",
                "worker",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-Q",
                queue,
                "-n",
                f"{name}@pxr-test",
                "-O",
                "fair",
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=EMBED,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(worker: subprocess.Popen[bytes], log: Path) -> None:
    """Return when the worker says it is ready; fail if it exits first."""
    while b" ready." not in log.read_bytes():
        assert worker.poll() is None, log.read_text(errors="replace")
        time.sleep(0.1)


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Any, str, str, list[Path]]]:
    """Two Celery workers on one queue and one fresh PostgreSQL schema.

    Yields the producer's Celery app, the queue, the ledger URL and the
    workers' logs; stops the workers and removes the queue's keys afterwards.
    """
    from celery import Celery  # noqa: PLC0415

    client = redis_client()
    run = secrets.token_hex(4)
    queue = f"pxr-test-{run}"
    url = pg.schema_url(postgres_url, f"celery_{run}")
    open_ledger(url).close()  # the schema, before two workers race to create it
    env = {
        **os.environ,
        "CELERY_BROKER_URL": REDIS,
        "CELERY_RESULT_BACKEND": REDIS,
        "PXR_LEDGER": url,
        "PXR_POLICY": str(EXAMPLES / "parcel" / "policy.toml"),
    }
    env.pop("PXR_TRANSPORTS", None)
    logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
    started = [start_worker(f"w{n}-{run}", queue, env, log) for n, log in enumerate(logs, 1)]
    producer = Celery("producer", broker=REDIS, backend=REDIS)
    try:
        for worker, log in zip(started, logs, strict=True):
            wait_ready(worker, log)
        yield producer, queue, url, logs
    finally:
        for worker in started:
            worker.send_signal(signals.SIGTERM)  # a warm shutdown
        for worker in started:
            worker.wait()
        producer.close()
        keys = [queue, *client.scan_iter(f"*{queue}*")]
        client.delete(*keys)
        with pg_admin(postgres_url) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "celery_{run}" CASCADE')
        client.close()


def pg_admin(url: str) -> Any:
    import psycopg  # noqa: PLC0415

    return psycopg.connect(url, autocommit=True)


def late_parcel(customer: str, subject: str, hours: int) -> dict[str, Any]:
    at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    return {
        "customer": customer,
        "subject": subject,
        "metric": "delivery_delay",
        "value": hours,
        "at": at.isoformat(),
        "context": {"order_total": "1000.00"},
    }


def test_two_celery_workers_on_one_postgres_ledger_decide_and_pay_once(
    workers: tuple[Any, str, str, list[Path]],
) -> None:
    producer, queue, url, logs = workers
    # Anna's six parcels a day late: 50.00 each asked, her 30-day budget is
    # 200.00. Ivan's two. Every signal is delivered twice, the copies racing
    # on the two workers; then all of it once more.
    signals_ = [late_parcel("c-anna", f"PL-{n}", 30) for n in range(6)]
    signals_ += [late_parcel("c-ivan", f"BG-{n}", 30) for n in range(2)]
    results = [
        producer.send_task("celery_tasks.observe", args=[s], queue=queue)
        for s in signals_
        for _ in range(2)
    ]
    actions = [result.get(timeout=None) for result in results]
    redelivered = [
        producer.send_task("celery_tasks.observe", args=[s], queue=queue) for s in signals_
    ]
    again = [result.get(timeout=None) for result in redelivered]
    for result in [*results, *redelivered]:
        result.forget()

    assert again == [[] for _ in signals_], "a redelivery adds nothing"
    breaches = [a for batch in actions for a in batch if a["action"] == "breach"]
    assert sorted(a["subject"] for a in breaches) == sorted(s["subject"] for s in signals_)
    ledger = open_ledger(url, create=False)
    try:
        opened = Counter((b.customer, b.subject) for b in ledger.breaches())
        paid = list(ledger.compensations())
    finally:
        ledger.close()
    assert set(opened.values()) == {1}
    assert len(opened) == len(signals_)
    assert Counter((c.customer, c.subject) for c in paid).most_common(1)[0][1] == 1
    spent = {
        customer: sum(
            (
                c.compensation.amount.amount
                for c in paid
                if c.customer == customer and c.compensation.amount is not None
            ),
            Decimal(0),
        )
        for customer in ("c-anna", "c-ivan")
    }
    assert spent == {"c-anna": Decimal("200.00"), "c-ivan": Decimal("100.00")}
    # Both workers took a share of the signals.
    for log in logs:
        assert b"celery_tasks.observe" in log.read_bytes()
