"""Stress: four processes feed one PostgreSQL ledger while two dispatchers
drain it to loopback providers. Nothing decided twice, nothing lost against a
single process, no message sent twice, every limit held.

Marked ``stress`` (out of the default run; ``.ci/run`` runs ``pytest -m stress``).
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

if os.environ.get("PXR_REQUIRE_POSTGRES") != "1":
    pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs pxr[postgres]")


from pxr import open_ledger
from pxr.decide import MESSAGE_WINDOW

from . import fleet

pytestmark = pytest.mark.stress

FEEDERS = 4


def feed_and_drain(url: str, policy: Path, files: list[Path], transports: Path) -> int:
    """Feed ``files`` in one process each while two dispatchers drain the
    ledger, round after round, until every feeder is done and the outbox is
    empty.

    Feeders that share customers can deadlock on PostgreSQL: each holds the
    locks of the customers in its 500-line batch, taken in the batch's order,
    and a feeder a batch behind another meets them in another order.
    PostgreSQL aborts one batch, and ``pxr simulate`` runs it again itself, so
    every feeder must finish on its own: returns how many had to be re-run
    (none, since that fix).
    """
    env = fleet.provider_env()
    feeders = {n: fleet.simulate(url, policy, path) for n, path in enumerate(files)}
    try:
        return _drain(url, policy, files, transports, env=env, feeders=feeders)
    finally:
        for feeder in feeders.values():  # a failed check leaves no process behind
            if feeder.poll() is None:
                feeder.kill()
            feeder.communicate()


def _drain(
    url: str,
    policy: Path,
    files: list[Path],
    transports: Path,
    *,
    env: dict[str, str],
    feeders: dict[int, subprocess.Popen[bytes]],
) -> int:
    reruns = rounds = 0
    while feeders or any(e.status not in fleet.FINAL for e in fleet.outbox(url)):
        rounds += 1
        assert rounds < 10_000, "the outbox never drained"
        dispatchers = [fleet.dispatch(url, policy, transports, fleet.LATER, env) for _ in "ab"]
        for dispatcher in dispatchers:
            fleet.finish(dispatcher)
        for n, feeder in list(feeders.items()):
            if feeder.poll() is None:
                continue
            _, err = feeder.communicate()
            if feeder.returncode == 0:
                del feeders[n]
                continue
            assert b"DeadlockDetected" in err, err.decode(errors="replace")
            reruns += 1
            assert reruns < 100
            feeders[n] = fleet.simulate(url, policy, files[n])
    return reruns


def sent_once(url: str, sms: fleet.Twilio, mail: fleet.Relay) -> Counter[str]:
    """Check that each message went out once, and return the outbox's statuses."""
    ledger = open_ledger(url, create=False)
    try:
        entries = list(ledger.outbox())
        attempts = ledger.attempts()
    finally:
        ledger.close()
    statuses = Counter(str(e.status) for e in entries)
    assert set(statuses) <= fleet.FINAL, statuses
    sent = [a for a in attempts if a.status == "sent"]
    per_entry = Counter(a.entry_id for a in sent)
    assert set(per_entry.values()) <= {1}, "an entry was sent twice"
    assert len(per_entry) == statuses["sent"]
    # Every request a provider received is one delivery the ledger recorded:
    # none sent twice, none sent and forgotten.
    sms_ids = Counter(a.provider_id for a in sent if a.channel == "sms")
    assert set(sms_ids.values()) <= {1}
    assert set(sms_ids) == set(sms.received)
    mail_ids = Counter(a.provider_id for a in sent if a.channel == "email")
    assert mail.delivered() == mail_ids
    by_id = {e.id: e for e in entries}
    assert {fleet.key_of(by_id[a.entry_id]) for a in sent if a.channel == "email"} == set(mail_ids)
    return statuses


@pytest.mark.parametrize("split", ["same file", "disjoint quarters"])
def test_four_feeders_and_two_dispatchers_on_one_ledger(
    split: str, schema: Callable[[str], str], tmp_path: Path
) -> None:
    policy = fleet.quarter_policy(tmp_path, delivery='{ group_window = "0s" }')
    events = fleet.QUARTER / "events.jsonl"
    reference = schema("single")
    fleet.finish(fleet.simulate(reference, policy, events))

    url = schema("fleet")
    if split == "same file":
        files = [events] * FEEDERS
    else:
        files = fleet.split_by_customer(events, FEEDERS, tmp_path)
    with fleet.twilio() as sms, fleet.relay() as mail:
        transports = fleet.transports_file(tmp_path, sms, mail)
        reruns = feed_and_drain(url, policy, files, transports)
        statuses = sent_once(url, sms, mail)

    # Nothing decided twice, nothing lost: the same decisions as one process.
    assert fleet.decisions(url) == fleet.decisions(reference)
    assert fleet.limits_broken(url, policy) == []
    assert fleet.limits_broken(reference, policy) == []
    assert statuses["sent"] > 100
    # The limits did bite: some compensation over budget, some message deferred.
    decided = fleet.decisions(reference)
    assert any("budget" in s for s in decided["suppressions"])
    assert any(e.send_at >= e.created_at + MESSAGE_WINDOW for e in fleet.outbox(url))
    assert reruns == 0, "a batch rolled back for another writer is run again by pxr itself"
    print(
        f"\n{split}: {dict(statuses)}; {len(sms.received)} SMS, {len(mail.received)} e-mails;"
        f" {reruns} feeders re-run after a deadlock"
    )
