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
from typing import Any

import attrs
import pytest

from pxr import Customer, MemoryLedger, Recovery, Signal, SQLiteLedger
from pxr.channels import DeliveryResult, DeliveryStatus, MessageUnsendable, Notifier
from pxr.channels.sms import TwilioSms
from pxr.dispatch import LEASE, Dispatcher, DispatchReport, backoff
from pxr.i18n import translator
from pxr.ledger import DeliveryAttempt, Ledger, OutboxStatus
from pxr.model import Message
from pxr.plugins import Plugins, get_plugins, module_plugin
from pxr.policy import Delivery
from pxr.rendering import Renderer
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
        {n.channel: n for n in notifiers},
        Delivery(**settings),  # type: ignore[arg-type]
        renderer=Renderer(CHANNELS),
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


def test_after_an_outage_the_next_channel_is_tried_and_dead_only_when_all_failed(
    ledger: Ledger, twilio: FakeProvider
) -> None:
    twilio.default = twilio_error(20500, 503)
    Recovery(policy_from(PARCEL), ledger, customers=[ANNA]).observe(late("A"))
    down = [DeliveryResult.transient("SMTP 451")] * 3
    email = RecordingNotifier("email", down)
    send = dispatcher(
        ledger, sms(twilio), email, max_attempts=3, retry_backoff=dt.timedelta(seconds=1)
    )
    for minute in range(20):
        send.run(at(3, 0, minute))
    (entry,) = ledger.outbox()
    assert len(twilio.requests) == 3, "three tries on SMS, then e-mail"
    assert len(email.sent) == 3
    assert entry.status == "dead"
    assert entry.last_error == "SMTP 451"
    statuses = [(a.channel, a.status) for a in ledger.attempts()]
    assert statuses == [("sms", "transient")] * 3 + [("email", "transient")] * 3


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


GROUPED_CUSTOMERS = {
    "pl": Customer(id="c-pl", locale="pl-PL", timezone="Europe/Warsaw", phone="+48512345678"),
    "bg": Customer(id="c-bg", locale="bg-BG", timezone="Europe/Sofia", phone="+359888123456"),
    "nl": Customer(id="c-nl", locale="nl-NL", timezone="Europe/Amsterdam", phone="+31612345678"),
    "ro": Customer(id="c-ro", locale="ro-RO", timezone="Europe/Bucharest", phone="+40712345678"),
    "en": Customer(id="c-en", locale="en-GB", timezone="Europe/London", phone="+447911123456"),
}


#: The msgid of an SMS's closing sentence (pxr.messages._closing).
SMS_CLOSING = "No need to do anything."


def closing_of(language: str, catalogs: tuple[tuple[str, Path], ...] = ()) -> str:
    return translator(GROUPED_CUSTOMERS[language].locale, "en", catalogs).gettext(SMS_CLOSING)


@pytest.mark.parametrize("language", sorted(GROUPED_CUSTOMERS))
@pytest.mark.parametrize("variant", ["plain", "transliterated", "host catalog"])
def test_a_grouped_sms_says_its_closing_once(language: str, variant: str, tmp_path: Path) -> None:
    """Three notices in one SMS: one closing, at the end, whatever the words are —
    pxr's, a host catalog's, or pxr's transliterated to GSM-7."""
    from babel.messages.catalog import Catalog  # noqa: PLC0415
    from babel.messages.mofile import write_mo  # noqa: PLC0415

    from pxr.channels.gsm import to_gsm7  # noqa: PLC0415

    customer = GROUPED_CUSTOMERS[language]
    catalogs: tuple[tuple[str, Path], ...] = ()
    if variant == "host catalog":
        catalog = Catalog(locale=language, domain="acme")
        catalog.add(SMS_CLOSING, f"ACME ({language}): all taken care of.")
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / "acme.mo").open("wb") as stream:
            write_mo(stream, catalog)
        catalogs = (("acme", tmp_path),)
    text = PARCEL.replace('channels = ["sms", "email"]', 'channels = ["sms"]')
    if variant == "transliterated":
        text = text.replace('currency = "PLN"', 'currency = "PLN"\nsms = { transliterate = true }')
    policy = policy_from(text)
    ledger = MemoryLedger()
    recovery = Recovery(policy, ledger, customers=[customer])
    for minute, subject in enumerate(("A", "B", "C")):
        recovery.observe(
            Signal(
                customer=customer.id,
                subject=subject,
                metric="delivery_delay",
                value=2,
                at=at(2, 10, minute),
            )
        )
    notifier = RecordingNotifier("sms")
    renderer = Renderer(CHANNELS, "en", catalogs, policy.sms_transliterate)
    Dispatcher(ledger, {"sms": notifier}, policy.delivery, renderer=renderer, rng=lambda: 0.5).run(
        at(3)
    )
    (grouped,) = notifier.sent
    closing = closing_of(language, catalogs)
    if variant == "transliterated":
        closing = to_gsm7(closing)
    assert grouped.text.count(closing) == 1, grouped.text
    assert grouped.text.endswith(closing)
    for subject in ("A", "B", "C"):
        assert f"{subject} " in grouped.text or f"{subject}:" in grouped.text
    if variant == "transliterated":
        assert grouped.encoding == "GSM-7"


class Raising:
    """A transport with a bug: it raises instead of reporting."""

    channel = "sms"

    def __init__(self) -> None:
        self.calls = 0
        self.closed = 0

    def send(self, message: Message) -> DeliveryResult:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in a plugin")
        return DeliveryResult.sent("ok")

    def close(self) -> None:
        self.closed += 1


def test_a_transport_that_raises_fails_its_own_message_and_the_run_goes_on(
    ledger: Ledger,
) -> None:
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A", when=at(2, 10)))
    recovery.observe(late("B", when=at(2, 12)))  # its own message: not grouped with A
    broken = Raising()
    report = dispatcher(ledger, broken).run(at(3))
    assert (report.sent, report.retried) == (1, 1)
    first, second = ledger.outbox()
    assert (first.status, second.status) == ("pending", "sent")
    assert first.last_error == "the sms transport raised RuntimeError"
    assert broken.closed == 1, "transports are closed at the end of each run"


def test_a_message_no_provider_can_take_fails_alone(ledger: Ledger) -> None:
    class Picky:
        channel = "sms"

        def send(self, message: Message) -> DeliveryResult:
            if "A" in message.text:
                raise MessageUnsendable("sms", "to: not a single address")
            return DeliveryResult.sent("ok")

    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A", when=at(2, 10)))
    recovery.observe(late("B", when=at(2, 12)))
    report = dispatcher(ledger, Picky()).run(at(3))
    assert (report.sent, report.rerouted) == (1, 1)
    moved, sent = ledger.outbox()
    assert (moved.channel, sent.status) == ("email", "sent")
    assert moved.last_error == "cannot be sent: to: not a single address"


@pytest.mark.parametrize("resend", [False, True])
def test_an_uncertain_send_is_resent_only_where_the_policy_says(
    ledger: Ledger, resend: bool
) -> None:
    """At most once by default: the request may have reached the customer."""
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A"))
    lost = RecordingNotifier("sms", [DeliveryResult.uncertain("timed out after sending")])
    settings: dict[str, object] = {"resend_uncertain": frozenset({"sms"})} if resend else {}
    report = dispatcher(ledger, lost, **settings).run(at(3))
    (entry,) = ledger.outbox()
    if resend:
        assert (report.retried, entry.status) == (1, "pending")
        assert dispatcher(ledger, lost, **settings).run(at(4)).sent == 1
    else:
        assert (report.uncertain, entry.status) == (1, "uncertain")
        assert dispatcher(ledger, lost).run(at(4)) == DispatchReport()
    assert ledger.attempts()[0].status == "uncertain"


def test_the_message_key_reaches_a_transport_that_takes_one(ledger: Ledger) -> None:
    keys: list[str | None] = []

    class Keyed:
        channel = "sms"

        def send(self, message: Message, key: str | None = None) -> DeliveryResult:
            keys.append(key)
            return DeliveryResult.sent("ok")

    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A"))
    dispatcher(ledger, Keyed()).run(at(3))
    (entry,) = ledger.outbox()
    assert keys == [entry.key]


def test_a_notice_overtaken_by_a_resolution_already_sent_is_cancelled(ledger: Ledger) -> None:
    """Drained late, the outbox must not say "2 hours late" after "it's fixed"."""
    recovery = Recovery(policy_from(PARCEL), ledger, customers=[ANNA])
    recovery.observe(late("A", hours=2, when=at(2, 10)))
    recovery.resolve("A", at(2, 11))
    _, resolution = ledger.outbox()
    assert resolution.id is not None
    sms_only = RecordingNotifier("sms")
    # The resolution goes out first (say, a dispatcher that only took the newest).
    ledger.claim(resolution.id, at(3), at(3, 1))
    ledger.settle(
        resolution.id,
        DeliveryAttempt(resolution.id, 1, "sms", "sent", at(3)),
        OutboxStatus.SENT,
    )
    report = dispatcher(ledger, sms_only).run(at(3, 2))
    assert (report.sent, report.cancelled) == (0, 1)
    assert sms_only.sent == []
    (stale, _) = ledger.outbox()
    assert stale.status == "cancelled"
    assert stale.last_error == "overtaken by a later message about the same breach"


def test_a_message_dead_on_every_channel_hands_the_case_to_a_person(ledger: Ledger) -> None:
    handed: list[tuple[str, str]] = []

    def case_handed_over(case: Any, reason: str) -> None:
        handed.append((case.subject, reason))

    plugins = Plugins(load_entry_points=False)
    plugins.add(module_plugin("desk", case_handed_over=case_handed_over))
    down = [DeliveryResult.permanent("landline")]
    recovery = Recovery(
        policy_from(PARCEL),
        ledger,
        customers=[ANNA],
        plugins=plugins,
        notifiers={
            "sms": RecordingNotifier("sms", down),
            "email": RecordingNotifier("email", [DeliveryResult.permanent("550 no such user")]),
        },
    )
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(3))  # SMS refused: on to e-mail
    recovery.dispatch_pending(at(3, 11))  # e-mail refused too: dead
    (entry,) = ledger.outbox()
    assert entry.status == "dead"
    assert handed == [("A", "dead letter")]
    recovery.dispatch_pending(at(4))
    assert handed == [("A", "dead letter")], "once"
