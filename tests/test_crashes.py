"""Crash safety, shown: feeders and dispatchers killed (SIGKILL) at random
points, and a provider that fails at random, on one PostgreSQL ledger.

Marked ``stress`` (out of the default run; ``.ci/run`` runs ``pytest -m stress``).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

if os.environ.get("PXR_REQUIRE_POSTGRES") != "1":
    pytest.importorskip("psycopg", reason="the PostgreSQL ledger needs pxr[postgres]")


from pxr import open_ledger
from pxr.ledger import OutboxEntry

from . import fleet

pytestmark = pytest.mark.stress

KILLS = 10


def breaches(url: str) -> int:
    ledger = open_ledger(url, create=False)
    try:
        return sum(1 for _ in ledger.breaches())
    finally:
        ledger.close()


def test_a_feeder_killed_at_random_points_then_rerun_equals_a_clean_run(
    schema: Callable[[str], str], tmp_path: Path
) -> None:
    policy = fleet.quarter_policy(tmp_path, delivery="{}")
    events = fleet.QUARTER / "events.jsonl"
    clean = schema("clean")
    fleet.finish(fleet.simulate(clean, policy, events))
    total = breaches(clean)

    # Ten kill points at random, in breaches written: each run replays the
    # file from the top and is killed once the ledger holds its target.
    url = schema("killed")
    targets = sorted(random.Random(20261129).sample(range(1, total), KILLS))
    left = []
    for target in targets:
        feeder = fleet.simulate(url, policy, events)
        while feeder.poll() is None and breaches(url) < target:
            time.sleep(0.005)
        feeder.kill()
        feeder.communicate()
        left.append(breaches(url))
    fleet.finish(fleet.simulate(url, policy, events))

    assert fleet.decisions(url) == fleet.decisions(clean), "duplicated or lost"
    assert any(0 < n < total for n in left), f"no kill landed mid-run: {left}"
    print(f"\nbreaches left by each kill: {left}, of {total}")


def in_flight(url: str) -> list[OutboxEntry]:
    """Entries claimed by a sender that is gone: their lease has not run out."""
    return [e for e in fleet.outbox(url) if e.status == "sending"]


def test_a_dispatcher_killed_mid_send_resends_only_what_its_lease_held(
    schema: Callable[[str], str], tmp_path: Path
) -> None:
    policy = fleet.quarter_policy(
        tmp_path, channels='["email", "sms"]', delivery='{ group_window = "0s" }'
    )
    url = schema("dispatch")
    fleet.finish(fleet.simulate(url, policy, fleet.QUARTER / "events.jsonl"))
    env = fleet.provider_env()
    rng = random.Random(7)
    held: Counter[str] = Counter()  # Message-ID -> times its lease was held by a killed sender
    seen: set[tuple[int | None, int]] = set()
    now = fleet.LATER
    with fleet.twilio() as sms, fleet.relay(delay=0.01) as mail:
        transports = fleet.transports_file(tmp_path, sms, mail)
        for _ in range(KILLS):
            dispatcher = fleet.dispatch(url, policy, transports, now, env)
            time.sleep(rng.uniform(0.5, 3.0))
            dispatcher.kill()
            dispatcher.communicate()
            mail.idle()
            # Claimed by the sender just killed (not left over from an earlier
            # kill, whose lease has run out by now): its lease runs to now + 5 min.
            stuck = [e for e in in_flight(url) if (e.id, e.attempts) not in seen]
            seen.update((e.id, e.attempts) for e in stuck)
            held.update(fleet.key_of(e) for e in stuck)
            # Inside the lease another dispatcher leaves them alone.
            before = mail.delivered()
            fleet.finish(
                fleet.dispatch(
                    url, policy, transports, now + dt.timedelta(minutes=1), env, limit=10
                )
            )
            after = mail.delivered()
            assert all(after[fleet.key_of(e)] == before[fleet.key_of(e)] for e in stuck)
            now += fleet.PAST_LEASE
        while any(e.status not in fleet.FINAL for e in fleet.outbox(url)):
            fleet.finish(fleet.dispatch(url, policy, transports, now, env))
            now += fleet.PAST_LEASE
        entries = fleet.outbox(url)

    # The provider got the message's key: the Message-ID is derived from it.
    keys = {fleet.key_of(e) for e in entries}
    delivered = mail.delivered()
    assert set(delivered) <= keys
    # None lost: every message went out (or was overtaken by a later one about
    # the same breach); twice only where a killed sender's lease held it.
    statuses = Counter(str(e.status) for e in entries)
    assert set(statuses) <= {"sent", "cancelled"}
    sent = {fleet.key_of(e) for e in entries if e.status == "sent"}
    assert sent <= set(delivered)
    assert set(delivered) - sent <= set(held)
    twice = {mid: n for mid, n in delivered.items() if n > 1}
    assert all(n - 1 <= held[mid] for mid, n in twice.items())
    assert sum(held.values()) > 0, "no kill landed mid-send"
    print(
        f"\n{dict(statuses)}; {sum(held.values())} held by killed senders;"
        f" {sum(n - 1 for n in twice.values())} sent twice, all within a lease"
    )


@pytest.mark.parametrize("resend", ['["email"]', "[]"], ids=["at least once", "at most once"])
def test_the_fault_run_ends_every_message_and_counts_every_repeat(
    resend: str, schema: Callable[[str], str], tmp_path: Path
) -> None:
    """A relay that fails at random (451, stalls, resets), dispatchers doubled
    and killed: every message ends sent, cancelled, uncertain or dead; a
    message goes twice only after an uncertain attempt (resend_uncertain) or
    inside a killed dispatcher's lease. Without ``resend_uncertain`` only the
    lease explains a repeat."""
    policy = fleet.quarter_policy(
        tmp_path,
        channels='["email", "sms"]',
        delivery='{ max_attempts = 3, retry_backoff = "1m", group_window = "0s",'
        f" resend_uncertain = {resend} }}",
    )
    url = schema("faults")
    fleet.finish(fleet.simulate(url, policy, fleet.QUARTER / "events.jsonl"))
    env = fleet.provider_env()
    rng = random.Random(12)
    held: Counter[int] = Counter()  # entry id -> times a killed dispatcher held its lease
    seen: set[tuple[int | None, int]] = set()
    now = fleet.LATER
    faults: dict[fleet.Outcome, float] = {"451": 0.15, "stall": 0.03, "reset": 0.1}
    kills = rounds = 0
    with fleet.twilio() as sms, fleet.relay(faults, seed=5, delay=0.01) as mail:
        transports = fleet.transports_file(tmp_path, sms, mail)
        while any(e.status not in fleet.FINAL for e in fleet.outbox(url)):
            rounds += 1
            assert rounds <= 200, "the outbox never drained"
            pair = [fleet.dispatch(url, policy, transports, now, env, limit=40) for _ in "ab"]
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.3, 1.5))
                pair[0].kill()
                pair[0].communicate()
                kills += 1
                fleet.finish(pair[1])
                stuck = [e for e in in_flight(url) if (e.id, e.attempts) not in seen]
                seen.update((e.id, e.attempts) for e in stuck)
                held.update(e.id or 0 for e in stuck)
            else:
                for dispatcher in pair:
                    fleet.finish(dispatcher)
            now += dt.timedelta(minutes=10)  # past the lease and any backoff
        entries = fleet.outbox(url)
        ledger = open_ledger(url, create=False)
        try:
            attempts = ledger.attempts()
        finally:
            ledger.close()

    statuses = Counter(str(e.status) for e in entries)
    assert set(statuses) <= fleet.FINAL
    uncertain = Counter(a.entry_id for a in attempts if a.status == "uncertain")
    resent = uncertain if resend != "[]" else Counter[int]()
    sent = [a for a in attempts if a.status == "sent"]
    assert set(Counter(a.entry_id for a in sent).values()) <= {1}
    by_key = {fleet.key_of(e): e for e in entries}
    delivered = mail.delivered()
    # None lost: each message recorded as sent by e-mail reached the relay.
    assert {a.provider_id for a in sent if a.channel == "email"} <= set(delivered)
    assert {a.provider_id for a in sent if a.channel == "sms"} <= set(sms.received)
    # Twice only where accounted for: an uncertain attempt resent, or a lease
    # held by a killed dispatcher.
    repeats = {mid: n - 1 for mid, n in delivered.items() if n > 1}
    unexplained = {
        mid: n
        for mid, n in repeats.items()
        if n > resent[by_key[mid].id or 0] + held[by_key[mid].id or 0]
    }
    assert unexplained == {}
    sms_extra = len(sms.received) - sum(1 for a in sent if a.channel == "sms")
    assert sms_extra <= sum(held.values())
    outcomes = Counter(outcome for _, outcome in mail.received)
    print(
        f"\nfault run, {resend}: {len(entries)} messages -> {dict(statuses)};"
        f" {rounds} rounds of 2 dispatchers, {kills} killed, {sum(held.values())} leases orphaned;"
        f" relay answers {dict(outcomes)}; {sum(repeats.values())} repeated deliveries"
        f" ({sum(1 for mid in repeats if uncertain[by_key[mid].id or 0])} after an uncertain"
        f" attempt); {len(sms.received)} SMS ({sms_extra} repeated)"
    )
