"""The outbox and the dispatcher, with real HTTP on loopback and a real SQLite file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from pxr import Customer, Recovery, Signal, SQLiteLedger
from pxr.channels import DeliveryStatus, Notifier
from pxr.channels.sms import TwilioSms
from pxr.dispatch import LEASE, Dispatcher, DispatchReport, backoff
from pxr.i18n import translator
from pxr.ledger import Ledger
from pxr.plugins import get_plugins
from pxr.policy import Delivery
from pxr.testing import RecordingNotifier

from .conftest import ANNA, PARCEL, at, policy_from
from .servers import TWILIO_SID, TWILIO_TOKEN, FakeProvider, fake_provider, twilio_error, twilio_ok

CHANNELS = get_plugins().registry.channels


@pytest.fixture
def twilio() -> Iterator[FakeProvider]:
    with fake_provider(twilio_ok()) as provider:
        yield provider


def sms(provider: FakeProvider) -> TwilioSms:
    return TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider.url)


def late(subject: str, hours: float = 26, when: dt.datetime | None = None) -> Signal:
    return Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=hours,
        at=when or at(),
        context={"order_total": "100.00"},
    )


def dispatcher(ledger: Ledger, *notifiers: Notifier, **settings: object) -> Dispatcher:
    return Dispatcher(
        ledger,
        CHANNELS,
        {n.channel: n for n in notifiers},
        Delivery(**settings),  # type: ignore[arg-type]
        rng=lambda: 0.5,  # no jitter: backoff is exactly base · 2^(attempt-1)
    )


def test_backoff_doubles_with_jitter_in_bounds() -> None:
    base = dt.timedelta(minutes=1)
    assert backoff(1, base, lambda: 0.5) == base
    assert backoff(3, base, lambda: 0.5) == 4 * base
    assert backoff(3, base, lambda: 0.0) == 2 * base
    assert backoff(3, base, lambda: 0.999) < 6 * base


def test_a_message_survives_a_crash_between_outbox_and_send(
    tmp_path: Path, twilio: FakeProvider
) -> None:
    """A process decides, queues and dies before sending; the next dispatch sends once."""
    store = tmp_path / "ledger.db"
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).parent.parent)!r})
        from tests.conftest import ANNA, PARCEL, policy_from
        from tests.test_dispatch import late
        from pxr import Recovery, SQLiteLedger
        recovery = Recovery(policy_from(PARCEL), SQLiteLedger({str(store)!r}), customers=[ANNA])
        for subject in ("A", "B"):
            recovery.observe(late(subject))
        os._exit(1)  # killed before any dispatch
        """
    )
    crashed = subprocess.run([sys.executable, "-c", script], check=False)  # noqa: S603
    assert crashed.returncode == 1
    ledger = SQLiteLedger(store)
    assert [e.status for e in ledger.outbox()] == ["pending", "pending"]
    later = at(3)
    for _ in range(3):
        dispatcher(ledger, sms(twilio), group_window=dt.timedelta(0)).run(later)
    assert len(twilio.requests) == 2
    assert sorted(r.form()["To"] for r in twilio.requests) == ["+48512345678"] * 2
    assert [e.status for e in ledger.outbox()] == ["sent", "sent"]
    ledger.close()


def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A"))
    (entry,) = ledger.outbox()
    assert entry.id is not None
    with ledger.transaction():
        assert ledger.claim(entry.id, at(2, 11), at(2, 11) + LEASE)  # then the process dies
    send = dispatcher(ledger, sms(twilio))
    assert send.run(at(2, 11, 1)).skipped == 0  # leased: not even due
    assert twilio.requests == []
    assert send.run(at(2, 11, 6)).sent == 1  # lease over: taken up and sent
    assert len(twilio.requests) == 1
    assert send.run(at(2, 11, 7)).sent == 0


def test_transient_failures_are_retried_with_backoff_then_sent(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    twilio.script += [twilio_error(20500, 500), twilio_error(20500, 500)]
    Recovery(policy_from(PARCEL), ledger, customers=[ANNA]).observe(late("A"))
    send = dispatcher(ledger, sms(twilio), retry_backoff=dt.timedelta(minutes=1))
    t0 = at(2, 11)
    assert send.run(t0).retried == 1
    assert send.run(t0 + dt.timedelta(seconds=59)).retried == 0  # not due yet
    assert send.run(t0 + dt.timedelta(minutes=1)).retried == 1
    assert send.run(t0 + dt.timedelta(minutes=2)).sent == 0  # second wait is 2 minutes
    assert send.run(t0 + dt.timedelta(minutes=3)).sent == 1
    assert [a.status for a in ledger.attempts()] == ["transient", "transient", "sent"]
    assert len(twilio.requests) == 3


def test_after_the_last_attempt_a_message_is_dead_lettered(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    twilio.default = twilio_error(20500, 503)
    Recovery(policy_from(PARCEL), ledger, customers=[ANNA]).observe(late("A"))
    send = dispatcher(ledger, sms(twilio), max_attempts=3, retry_backoff=dt.timedelta(seconds=1))
    for minute in range(10):
        send.run(at(3, 0, minute))
    (entry,) = ledger.outbox()
    assert entry.status == "dead"
    assert entry.last_error == "Twilio HTTP 503"
    assert len(twilio.requests) == 3


def test_a_permanent_failure_moves_to_the_next_channel(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    twilio.script.append(twilio_error(21211))
    Recovery(policy_from(PARCEL), ledger, customers=[ANNA]).observe(late("A"))
    email = RecordingNotifier("email")
    send = dispatcher(ledger, sms(twilio), email)
    assert send.run(at(3)).rerouted == 1
    assert send.run(at(3)).sent == 1
    (message,) = email.sent
    assert message.to == "anna@example.pl"
    assert message.title is not None  # the SMS had none; the e-mail gets its subject back
    assert message.encoding is None
    assert [(a.channel, a.status) for a in ledger.attempts()] == [
        ("sms", "permanent"),
        ("email", "sent"),
    ]


def test_with_no_channel_left_a_permanent_failure_is_dead(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    twilio.default = twilio_error(21614)
    only_sms = attrs.evolve(ANNA, email=None)
    Recovery(policy_from(PARCEL), ledger, customers=[only_sms]).observe(late("A"))
    assert dispatcher(ledger, sms(twilio)).run(at(3)).dead == 1


def test_messages_close_together_go_out_as_one(ledger: Ledger) -> None:
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    for minute, subject in enumerate(("A", "B", "C")):
        recovery.observe(late(subject, when=at(2, 10, minute)))
    recovery.observe(late("D", when=at(2, 12)))  # two hours later: its own message
    notifier = RecordingNotifier("sms")
    report = dispatcher(ledger, notifier, group_window=dt.timedelta(minutes=10)).run(at(3))
    assert report.sent == 4
    assert len(notifier.sent) == 2
    grouped = notifier.sent[0]
    assert grouped.text.count("\n\n") == 3  # three parts and one closing
    for subject in ("A", "B", "C"):
        assert subject in grouped.text
    closing = translator("pl_PL").gettext("No need to do anything.")  # the SMS form's closing
    assert grouped.text.count(closing) == 1
    assert grouped.segments is not None
    assert grouped.segments > 1


def test_a_channel_without_a_transport_waits_untouched(ledger: Ledger) -> None:
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A"))
    email_only = dispatcher(ledger, RecordingNotifier("email"))
    assert email_only.run(at(3)) == DispatchReport()
    (entry,) = ledger.outbox()
    assert (entry.status, entry.attempts) == ("pending", 0)
    assert ledger.attempts() == []
    assert dispatcher(ledger, RecordingNotifier("sms")).run(at(3)).sent == 1


def test_two_dispatchers_on_one_file_send_each_message_once(
    tmp_path: Path, twilio: FakeProvider
) -> None:
    store = tmp_path / "shared.db"
    customers = [attrs.evolve(ANNA, id=f"c{i}") for i in range(30)]
    recovery = Recovery(policy_from(PARCEL), SQLiteLedger(store), customers=customers)
    for i in range(30):
        recovery.observe(attrs.evolve(late(f"S{i}"), customer=f"c{i}"))
    recovery.ledger.close()

    def run() -> None:
        ledger = SQLiteLedger(store)
        dispatcher(ledger, sms(twilio), group_window=dt.timedelta(0)).run(at(3))
        ledger.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bodies = Counter(r.form()["Body"] for r in twilio.requests)
    assert len(twilio.requests) == 30
    assert all(count == 1 for count in bodies.values())


def test_recovery_dispatch_pending_uses_its_notifiers(ledger: Ledger) -> None:
    notifier = RecordingNotifier("sms", [DeliveryStatus.SENT])
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA], notifiers={"sms": notifier})
    recovery.observe(late("A"))
    assert recovery.dispatch_pending(at(3)).sent == 1
    assert notifier.sent[0].to == "+48512345678"


def test_pxr_dispatch_command(tmp_path: Path, twilio: FakeProvider) -> None:
    from pxr.cli import main  # noqa: PLC0415

    store = tmp_path / "ledger.db"
    recovery = Recovery(
        policy_from(PARCEL),
        SQLiteLedger(store),
        customers=[Customer(id="c-anna", locale="pl", phone="+48512345678")],
    )
    recovery.observe(late("A"))
    recovery.ledger.close()
    transports = tmp_path / "transports.toml"
    transports.write_text(
        f'[sms]\ntransport = "twilio"\naccount_sid = "{TWILIO_SID}"\n'
        f'auth_token = "{TWILIO_TOKEN}"\nfrom = "+48500000000"\nbase_url = "{twilio.url}"\n',
        encoding="utf-8",
    )
    args = [
        "dispatch",
        "--store",
        str(store),
        "--transports",
        str(transports),
        "--now",
        "2026-03-03T10:00:00+01:00",
    ]
    assert main(args) == 0
    assert main(args) == 0
    assert len(twilio.requests) == 1


def test_pxr_dispatch_refuses_a_bad_transports_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pxr.cli import main  # noqa: PLC0415

    transports = tmp_path / "transports.toml"
    transports.write_text('[sms]\ntransport = "carrier-pigeon"\n', encoding="utf-8")
    status = main(["dispatch", "--store", str(tmp_path / "l.db"), "--transports", str(transports)])
    assert status == 2
    assert "sms.transport: unknown transport 'carrier-pigeon'" in capsys.readouterr().err
