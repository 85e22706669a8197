"""Consent that remembers: refused addresses, opt-outs, and replies saying STOP."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from werkzeug.serving import make_server

from pxr import MemoryLedger, Recovery, Signal, SQLiteLedger
from pxr.channels import DeliveryStatus
from pxr.channels.sms import TwilioSms
from pxr.consent import (
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    ConsentRecord,
    ConsentState,
    blocked,
    handle_reply,
    reply_keyword,
    twilio_signature,
)
from pxr.errors import EventError, ValidationError
from pxr.events import OptOut, parse_event, read_events
from pxr.ledger import Ledger, OutboxStatus
from pxr.model import MessageQueued, Suppressed
from pxr.testing import RecordingNotifier

from .conftest import ANNA, EXAMPLES, PARCEL, at, policy_from
from .servers import TWILIO_SID, TWILIO_TOKEN, fake_provider, twilio_error, twilio_ok
from .test_cookbook import load

FIXTURES = Path(__file__).parent / "fixtures"


def late(subject: str, when: dt.datetime | None = None) -> Signal:
    return Signal(
        customer="c-anna",
        subject=subject,
        metric="delivery_delay",
        value=26,
        at=when or at(),
        context={"order_total": "100.00"},
    )


def engine(ledger: Ledger, *statuses: DeliveryStatus) -> tuple[Recovery, RecordingNotifier]:
    sms = RecordingNotifier("sms", list(statuses))
    recovery = Recovery(
        policy_from(PARCEL),
        ledger,
        customers=[ANNA],
        notifiers={"sms": sms, "email": RecordingNotifier("email")},
    )
    return recovery, sms


def queued_on(actions: Any) -> list[str]:
    return [a.channel for a in actions if isinstance(a, MessageQueued)]


# ------------------------------------------------------------ refusals


def test_a_refused_number_is_not_used_for_the_next_breach(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(2, 11))
    (record,) = ledger.consents()
    assert (record.state, record.source, record.address) == (
        ConsentState.REFUSED,
        "provider",
        ANNA.phone,
    )
    assert queued_on(recovery.observe(late("B", at(3)))) == ["email"]


def test_a_new_number_is_reachable_again(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(2, 11))
    recovery.add_customer(attrs.evolve(ANNA, phone="+48601234567"))
    assert queued_on(recovery.observe(late("B", at(3)))) == ["sms"]


def test_twilio_refusing_a_number_over_http_is_remembered(ledger: Ledger) -> None:
    """Twilio's 21211 (not a valid phone number) from a loopback provider."""
    email = RecordingNotifier("email")
    with fake_provider(twilio_ok()) as twilio:
        twilio.default = twilio_error(21211)
        sms = TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=twilio.url)
        recovery = Recovery(
            policy_from(PARCEL), ledger, customers=[ANNA], notifiers={"sms": sms, "email": email}
        )
        recovery.observe(late("A"))
        recovery.dispatch_pending(at(2, 11))  # refused: on to e-mail
        recovery.dispatch_pending(at(2, 12))
        recovery.observe(late("B", at(3)))
        recovery.dispatch_pending(at(3, 11))
        assert len(twilio.requests) == 1, "the refused number is not tried again"
    assert [m.to for m in email.sent] == ["anna@example.pl", "anna@example.pl"]


def test_messages_queued_while_a_number_is_refused_never_reach_it(ledger: Ledger) -> None:
    """Observers queue messages in threads while a dispatcher drains: a message
    queued on SMS before the refusal, or decided on a snapshot from before it,
    is moved at claim time. The refused number is tried exactly once."""
    recovery, sms = engine(ledger, *[DeliveryStatus.PERMANENT] * 50)
    done = threading.Event()

    def observe(worker: int) -> None:
        for n in range(10):
            recovery.observe(late(f"W{worker}-{n}", at(2, 10, n)))

    def drain() -> None:
        while not done.is_set():
            recovery.dispatch_pending(at(9))
        recovery.dispatch_pending(at(9))

    dispatcher = threading.Thread(target=drain)
    dispatcher.start()
    observers = [threading.Thread(target=observe, args=(w,)) for w in range(4)]
    for thread in observers:
        thread.start()
    for thread in observers:
        thread.join()
    done.set()
    dispatcher.join()
    for _ in range(3):  # rerouted messages go out on the next runs
        recovery.dispatch_pending(at(9))
    assert len(sms.sent) == 1
    entries = list(ledger.outbox())
    assert len(entries) == 40
    assert {(e.channel, e.status) for e in entries} == {("email", OutboxStatus.SENT)}


def test_the_host_can_allow_a_refused_number_again(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(2, 11))
    assert recovery.allow("c-anna", "sms", at(2, 12)) is not None
    assert queued_on(recovery.observe(late("B", at(3)))) == ["sms"]


def test_a_transient_failure_is_not_a_refusal(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.TRANSIENT)
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(2, 11))
    assert ledger.consents() == []


def test_pending_messages_to_a_refused_number_move_to_the_next_channel(
    ledger: Ledger,
) -> None:
    recovery, sms = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A", at(2, 10)))
    recovery.observe(late("B", at(2, 12)))  # queued on SMS before the refusal
    report = recovery.dispatch_pending(at(2, 13))
    assert report.rerouted == 2
    assert len(sms.sent) == 1, "the refused number is tried once, not once per message"
    assert [(e.channel, e.status) for e in ledger.outbox()] == [
        ("email", OutboxStatus.PENDING),
        ("email", OutboxStatus.PENDING),
    ]


def test_a_pending_message_with_no_channel_left_is_cancelled_with_the_reason(
    ledger: Ledger,
) -> None:
    recovery, sms = engine(ledger)
    recovery.add_customer(attrs.evolve(ANNA, email=None))
    recovery.observe(late("A"))
    recovery.opt_out("c-anna", "sms", at(2, 10, 30))
    report = recovery.dispatch_pending(at(2, 11))
    assert (report.cancelled, report.sent) == (1, 0)
    assert sms.sent == []
    (entry,) = ledger.outbox()
    assert (entry.status, entry.last_error) == (OutboxStatus.CANCELLED, "sms: opted out")


def test_a_fallback_the_customer_opted_out_of_is_skipped(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A"))
    recovery.opt_out("c-anna", "email", at(2, 10, 30))
    assert recovery.dispatch_pending(at(2, 11)).rerouted == 1  # refused: on to e-mail
    assert recovery.dispatch_pending(at(2, 12)).cancelled == 1  # e-mail opted out
    (entry,) = ledger.outbox()
    assert entry.last_error == "email: opted out"


# ------------------------------------------------------------ opt-outs


def test_an_opt_out_moves_the_next_message_to_another_channel(ledger: Ledger) -> None:
    recovery, _ = engine(ledger)
    recovery.opt_out("c-anna", "sms", at(1))
    assert queued_on(recovery.observe(late("A"))) == ["email"]


def test_an_opt_out_holds_whatever_the_number(ledger: Ledger) -> None:
    recovery, _ = engine(ledger)
    recovery.opt_out("c-anna", "sms", at(1))
    recovery.add_customer(attrs.evolve(ANNA, phone="+48601234567"))
    assert queued_on(recovery.observe(late("A"))) == ["email"]


def test_opted_out_of_every_channel_the_message_is_suppressed_with_why(
    ledger: Ledger,
) -> None:
    recovery, _ = engine(ledger)
    recovery.opt_out("c-anna", "sms", at(1))
    recovery.opt_out("c-anna", "email", at(1))
    (suppressed,) = [a for a in recovery.observe(late("A")) if isinstance(a, Suppressed)]
    assert "sms: opted out" in suppressed.reason
    assert "email: opted out" in suppressed.reason


def test_an_older_opt_out_does_not_undo_a_newer_allowance(ledger: Ledger) -> None:
    recovery, _ = engine(ledger)
    assert recovery.allow("c-anna", "sms", at(3)) is not None
    assert recovery.opt_out("c-anna", "sms", at(2)) is None
    assert queued_on(recovery.observe(late("A", at(4)))) == ["sms"]


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["opted_out", "allowed"])),
        min_size=1,
        max_size=8,
        unique_by=lambda pair: pair[0],
    ),
    st.sampled_from(["memory", "sqlite"]),
)
def test_the_latest_word_wins_in_whatever_order_it_arrives(
    words: list[tuple[int, str]], kind: str
) -> None:
    """Events replayed out of order (a late file, a retried webhook) end in the same state."""
    store: Ledger = MemoryLedger() if kind == "memory" else SQLiteLedger(":memory:")
    try:
        for minutes, state in words:
            when = at() + dt.timedelta(minutes=minutes)
            store.record_consent(
                ConsentRecord(customer="c", channel="sms", state=state, at=when, source="event")
            )
        latest = max(words)
        record = store.consent_of("c")["sms"]
        assert (record.at, record.state) == (at() + dt.timedelta(minutes=latest[0]), latest[1])
    finally:
        store.close()


def test_a_refusal_after_an_opt_out_keeps_the_opt_out() -> None:
    opted_out = ConsentRecord(customer="c", channel="sms", state="opted_out", at=at(), source="x")
    assert blocked({"sms": opted_out}, "sms", "+48601234567") == "sms: opted out"


def test_the_opt_out_event_is_read_from_an_events_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    line = {"type": "opt_out", "customer": "c-anna", "channel": "sms", "at": at().isoformat()}
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "at": "yesterday"}) + "\n")
    (_, good), (_, bad) = read_events(path)
    assert good == OptOut("c-anna", "sms", at())
    assert isinstance(bad, EventError)
    assert "opt_out.at" in str(bad)


def test_an_opt_out_event_without_a_channel_names_the_key() -> None:
    with pytest.raises(ValidationError, match=r"opt_out\.channel"):
        parse_event({"type": "opt_out", "customer": "c-anna", "at": at().isoformat()})


def test_handling_an_opt_out_event_records_it(ledger: Ledger) -> None:
    recovery, _ = engine(ledger)
    assert recovery.handle(OptOut("c-anna", "sms", at())) == ()
    (record,) = ledger.consents()
    assert (record.state, record.source) == (ConsentState.OPTED_OUT, "event")


def test_pxr_simulate_honours_an_opt_out_line(tmp_path: Path) -> None:
    from pxr.cli import main  # noqa: PLC0415

    events = tmp_path / "events.jsonl"
    lines = [
        {"type": "customer", "id": "c-anna", "locale": "pl-PL", "phone": "+48512345678",
         "email": "anna@example.pl"},
        {"type": "opt_out", "customer": "c-anna", "channel": "sms", "at": at(1).isoformat()},
        {"type": "signal", "customer": "c-anna", "subject": "A", "metric": "delivery_delay",
         "value": 26, "at": at().isoformat(), "context": {"order_total": "100.00"}},
    ]  # fmt: skip
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    store = tmp_path / "ledger.db"
    policy = EXAMPLES / "parcel" / "policy.toml"
    assert main(["simulate", str(policy), str(events), "--store", str(store)]) == 0
    ledger = SQLiteLedger(store)
    try:
        assert [e.channel for e in ledger.outbox()] == ["email"]
    finally:
        ledger.close()


# ------------------------------------------------------------ erasure and migration


def test_erasing_a_customer_forgets_their_refused_number(ledger: Ledger) -> None:
    recovery, _ = engine(ledger, DeliveryStatus.PERMANENT)
    recovery.observe(late("A"))
    recovery.dispatch_pending(at(2, 11))
    alias = ledger.erase_customer("c-anna").pseudonym
    (record,) = ledger.consents()
    assert (record.customer, record.address) == (alias, "")


def test_a_ledger_from_pxr_0_1_gains_the_consent_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "ledger-v1.db", path)
    ledger = SQLiteLedger(path)
    try:
        record = ConsentRecord(customer="c", channel="sms", state="opted_out", at=at(), source="x")
        assert ledger.record_consent(record)
        assert ledger.consent_of("c") == {"sms": record}
    finally:
        ledger.close()


# ------------------------------------------------------------ replies


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Quit!"])
def test_a_stop_word_alone_opts_out(body: str) -> None:
    reply = reply_keyword({"From": "+48512345678", "Body": body})
    assert reply is not None
    assert reply.state is ConsentState.OPTED_OUT


@pytest.mark.parametrize("body", ["START", "unstop"])
def test_start_opts_in_again(body: str) -> None:
    reply = reply_keyword({"From": "+48512345678", "Body": body})
    assert reply is not None
    assert reply.state is ConsentState.ALLOWED


KEYWORDS = sorted(OPT_OUT_WORDS | OPT_IN_WORDS)
SPACE = st.text(" \t\r\n", max_size=3)


@given(st.sampled_from(KEYWORDS), st.data(), SPACE, SPACE)
def test_a_keyword_in_any_case_with_space_around_counts(
    keyword: str, data: st.DataObject, before: str, after: str
) -> None:
    mixed = "".join(
        data.draw(st.sampled_from([c.lower(), c.upper()]), label="letter") for c in keyword
    )
    reply = reply_keyword({"From": "+48512345678", "Body": before + mixed + after})
    assert reply is not None
    assert reply.keyword == keyword
    assert (reply.state is ConsentState.OPTED_OUT) == (keyword in OPT_OUT_WORDS)


@given(st.sampled_from(KEYWORDS), st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True))
def test_a_keyword_with_more_words_does_not_count(keyword: str, more: str) -> None:
    assume((keyword + more).upper() not in KEYWORDS)  # STOP + ALL is a keyword of its own
    for body in (f"{keyword} {more}", f"{more} {keyword}", keyword + more):
        assert reply_keyword({"From": "+48512345678", "Body": body}) is None


def test_a_sentence_with_stop_in_it_is_not_an_opt_out() -> None:
    assert reply_keyword({"From": "+48512345678", "Body": "Stop sending adverts"}) is None


def test_a_reply_from_an_unknown_number_records_nothing(ledger: Ledger) -> None:
    recovery, _ = engine(ledger)
    form = {"From": "+15005550006", "Body": "STOP"}
    assert handle_reply(recovery, form, {"+48512345678": "c-anna"}.get) is None
    assert ledger.consents() == []


def test_the_signature_matches_twilios_documented_example() -> None:
    """The example in Twilio's "Webhooks security" page: token 12345."""
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, form) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


# ------------------------------------------------------------ the example app, over HTTP

TOKEN = "test-auth-token"


@pytest.fixture
def inbound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """examples/embed/inbound_sms.py served on loopback; yields its URL and module."""
    monkeypatch.setenv("PXR_POLICY", str(EXAMPLES / "parcel" / "policy.toml"))
    monkeypatch.setenv("PXR_LEDGER", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.delenv("PXR_SMS_WEBHOOK_URL", raising=False)
    app = load(EXAMPLES / "embed" / "inbound_sms.py")
    server = make_server("127.0.0.1", 0, app.app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhooks/sms", app
    finally:
        server.shutdown()
        serving.join()
        app.recovery.ledger.close()


def post(url: str, form: dict[str, str], signature: str | None = None) -> tuple[int, str]:
    sign = twilio_signature(TOKEN, url, form) if signature is None else signature
    request = urllib.request.Request(  # noqa: S310 - a loopback URL
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": sign},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def twilio_form(body: str) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (the ones pxr reads, and some it does not)."""
    return {
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+48512345678",
        "To": "+48500000000",
        "Body": body,
        "NumMedia": "0",
    }


def test_stop_posted_by_twilio_opts_the_customer_out(inbound: tuple[str, Any]) -> None:
    url, app = inbound
    status, text = post(url, twilio_form("STOP"))
    assert status == 200
    assert "<Response>" in text
    record = app.recovery.ledger.consent_of("c-anna")["sms"]
    assert (record.state, record.source) == (ConsentState.OPTED_OUT, "reply")


def test_start_posted_after_stop_opts_the_customer_in(inbound: tuple[str, Any]) -> None:
    url, app = inbound
    post(url, twilio_form("STOP"))
    post(url, twilio_form("START"))
    assert app.recovery.ledger.consent_of("c-anna")["sms"].state is ConsentState.ALLOWED


def test_a_post_without_twilios_signature_is_refused(inbound: tuple[str, Any]) -> None:
    url, app = inbound
    status, _ = post(url, twilio_form("STOP"), signature="forged")
    assert status == 403
    assert app.recovery.ledger.consents() == []
