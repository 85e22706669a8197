"""The built-in channels and transports, against real servers on loopback."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import attrs
import phonenumbers
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from hypothesis import given, settings
from hypothesis import strategies as st

from pxr import Customer
from pxr.channels import (
    AddressRefused,
    DeliveryResult,
    DeliveryStatus,
    MessageUnsendable,
    close_notifiers,
    send,
)
from pxr.channels._http import mask_url
from pxr.channels.builtin import Email, Messenger, Sms, mobile_e164
from pxr.channels.email import (
    SmtpEmail,
    build_email,
    one_line,
    smtp_notifier,
    unsubscribe_token,
)
from pxr.channels.messenger import MessengerSendApi, messenger_notifier
from pxr.channels.sms import TwilioSms, twilio_notifier
from pxr.errors import ValidationError
from pxr.model import Message
from pxr.testing import ChannelContract, NotifierContract, message_for

from .servers import (
    MESSENGER_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeProvider,
    basic_auth,
    fake_provider,
    lossy_server,
    messenger_error,
    messenger_ok,
    twilio_error,
    twilio_ok,
)


def free_port() -> int:
    """A loopback port nobody listens on (the kernel just handed it out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def closed_port() -> str:
    """A loopback URL nobody listens on: a provider outage."""
    return f"http://127.0.0.1:{free_port()}"


# ------------------------------------------------------------------ SMS


class TestSmsChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> Sms:
        return Sms()

    @pytest.fixture
    def reachable(self) -> Customer:
        return Customer(id="c", locale="pl-PL", phone="512 345 678")

    @pytest.fixture
    def unreachable(self) -> Customer:
        return Customer(id="c", locale="ro-RO", phone="021 123 4567")  # a Bucharest landline


@pytest.mark.parametrize(
    ("locale", "phone", "e164"),
    [
        ("pl-PL", "512 345 678", "+48512345678"),
        ("pl", "512 345 678", "+48512345678"),  # region from the language's likely territory
        ("bg-BG", "0888 123 456", "+359888123456"),
        ("nl-NL", "06 12345678", "+31612345678"),
        ("ro-RO", "0712 034 567", "+40712034567"),
        ("nl-NL", "0048 512 345 678", "+48512345678"),
        ("en-GB", "+48 512 345 678", "+48512345678"),
    ],
)
def test_phone_numbers_become_e164(locale: str, phone: str, e164: str) -> None:
    assert Sms().address_for(Customer(id="c", locale=locale, phone=phone)) == e164


@pytest.mark.parametrize(
    ("locale", "phone", "reason"),
    [
        ("pl-PL", "+48123456789", "not a mobile number"),  # fixed line
        ("pl-PL", "0512345678", "not a valid phone number"),  # PL has no trunk 0
        ("pl-PL", "hello", "not a phone number"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason(locale: str, phone: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason) as caught:
        Sms().address_for(Customer(id="c", locale=locale, phone=phone))
    assert phone not in str(caught.value)


@settings(max_examples=300)
@given(
    region=st.sampled_from(["PL", "BG", "NL", "RO", "GB", "DE", "US"]),
    digits=st.integers(min_value=10**4, max_value=10**11 - 1),
)
def test_a_number_is_usable_exactly_when_phonenumbers_says_valid_and_mobile(
    region: str, digits: int
) -> None:
    """pxr asks phonenumbers once (``number_type``) where the library's docs ask
    twice (``is_valid_number``, then ``number_type``): the answers must agree."""
    phone = f"+{phonenumbers.country_code_for_region(region)}{digits}"
    number = phonenumbers.parse(phone)
    usable = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    e164, reason = mobile_e164(phone, None)
    assert (e164 is not None) == usable
    if not phonenumbers.is_valid_number(number):
        assert reason == "not a valid phone number"


def test_sms_shape_normalizes_babel_spaces_and_counts_segments() -> None:
    shaped = Sms().shape(message_for("sms", "+31612345678", "Wij betalen € 25,00 terug."))
    assert shaped.text == "Wij betalen € 25,00 terug."
    assert shaped.encoding == "GSM-7"
    assert shaped.segments == 1
    assert shaped.title is None
    polish = Sms().shape(message_for("sms", "+48512345678", "Przepraszamy, paczka się spóźnia."))
    assert polish.encoding == "UCS-2"


class TestTwilio(NotifierContract):
    @pytest.fixture
    def provider(self) -> Iterator[FakeProvider]:
        with fake_provider(twilio_ok()) as provider:
            yield provider

    @pytest.fixture
    def notifier(self, provider: FakeProvider) -> TwilioSms:
        return TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider.url)

    @pytest.fixture
    def outage_notifier(self) -> TwilioSms:
        return TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=closed_port())

    @pytest.fixture
    def good_message(self) -> Message:
        return message_for("sms", "+48512345678")

    @pytest.fixture
    def refused_message(self, provider: FakeProvider) -> Message:
        provider.script.append(twilio_error(21211))
        return message_for("sms", "+48512345679")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [TWILIO_TOKEN]


def test_twilio_request_shape(provider_twilio: FakeProvider) -> None:
    notifier = TwilioSms(
        TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider_twilio.url
    )
    result = notifier.send(message_for("sms", "+48512345678", "Przepraszamy"))
    assert result.status is DeliveryStatus.SENT
    assert result.provider_id == f"SM{1:032d}"
    (request,) = provider_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert basic_auth(request) == (TWILIO_SID, TWILIO_TOKEN)
    assert request.form() == {"To": "+48512345678", "Body": "Przepraszamy", "From": "+48500000000"}


@pytest.fixture
def provider_twilio() -> Iterator[FakeProvider]:
    with fake_provider(twilio_ok()) as provider:
        yield provider


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (twilio_error(21211), DeliveryStatus.PERMANENT),
        (twilio_error(21614), DeliveryStatus.PERMANENT),
        (twilio_error(21610), DeliveryStatus.PERMANENT),  # the customer replied STOP
        (twilio_error(20429, 429), DeliveryStatus.TRANSIENT),
        (twilio_error(20500, 500), DeliveryStatus.TRANSIENT),
        (twilio_error(20003, 401), DeliveryStatus.TRANSIENT),  # our credentials, not their number
        (twilio_error(20503, 503), DeliveryStatus.TRANSIENT),
        (twilio_error(20504, 504), DeliveryStatus.UNCERTAIN),  # a gateway gave up waiting
    ],
)
def test_twilio_errors_map_to_permanent_or_transient(
    provider_twilio: FakeProvider, answer: tuple[int, dict[str, Any]], status: DeliveryStatus
) -> None:
    provider_twilio.script.append(answer)
    notifier = TwilioSms(
        TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider_twilio.url
    )
    result = notifier.send(message_for("sms", "+48512345678"))
    assert result.status is status
    assert str(answer[1]["code"]) in (result.detail or "") or answer[0] in (401, 429, 500, 503, 504)


def test_twilio_settings_take_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PXR_TEST_TWILIO", TWILIO_TOKEN)
    notifier = twilio_notifier(
        {
            "transport": "twilio",
            "account_sid": TWILIO_SID,
            "auth_token_env": "PXR_TEST_TWILIO",
            "from": "+48500000000",
        }
    )
    assert notifier.auth_token == TWILIO_TOKEN
    assert TWILIO_TOKEN not in repr(notifier)
    with pytest.raises(ValidationError, match="PXR_TEST_MISSING is not set") as caught:
        twilio_notifier(
            {
                "account_sid": TWILIO_SID,
                "auth_token_env": "PXR_TEST_MISSING",
                "from": "+48500000000",
            }
        )
    assert caught.value.where == "sms.auth_token_env"
    with pytest.raises(ValidationError, match="unknown setting"):
        twilio_notifier({"account_sid": TWILIO_SID, "auth_token": "x", "form": "+48500000000"})


# ------------------------------------------------------------------ Messenger


class TestMessengerChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> Messenger:
        return Messenger()

    @pytest.fixture
    def reachable(self) -> Customer:
        return Customer(id="c", messenger="2718281828459045")

    @pytest.fixture
    def unreachable(self) -> Customer:
        return Customer(id="c", messenger="anna.kowalska")


@pytest.fixture
def provider_messenger() -> Iterator[FakeProvider]:
    with fake_provider(messenger_ok()) as provider:
        yield provider


class TestMessengerSendApi(NotifierContract):
    @pytest.fixture
    def notifier(self, provider_messenger: FakeProvider) -> MessengerSendApi:
        return MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=provider_messenger.url)

    @pytest.fixture
    def outage_notifier(self) -> MessengerSendApi:
        return MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=closed_port())

    @pytest.fixture
    def good_message(self) -> Message:
        return message_for("messenger", "2718281828459045")

    @pytest.fixture
    def refused_message(self, provider_messenger: FakeProvider) -> Message:
        provider_messenger.script.append(
            messenger_error(551, 1545041, "(#551) This person isn't available right now.")
        )
        return message_for("messenger", "3141592653589793")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [MESSENGER_TOKEN]


def test_messenger_request_shape(provider_messenger: FakeProvider) -> None:
    notifier = MessengerSendApi(
        "1234567890", MESSENGER_TOKEN, tag="CONFIRMED_EVENT_UPDATE", base_url=provider_messenger.url
    )
    result = notifier.send(message_for("messenger", "2718281828459045", "Вашият полет закъснява."))
    assert result.status is DeliveryStatus.SENT
    (request,) = provider_messenger.requests
    assert request.path == "/v25.0/1234567890/messages"
    assert request.query["access_token"] == [MESSENGER_TOKEN]
    assert request.json() == {
        "recipient": {"id": "2718281828459045"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "CONFIRMED_EVENT_UPDATE",
        "message": {"text": "Вашият полет закъснява."},
    }


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (
            messenger_error(551, 1545041, "This person isn't available right now."),
            DeliveryStatus.PERMANENT,
        ),
        (messenger_error(100, 2018001, "No matching user found"), DeliveryStatus.PERMANENT),
        (
            messenger_error(10, 2018278, "This message is sent outside of allowed window."),
            DeliveryStatus.PERMANENT,
        ),
        (
            messenger_error(613, None, "Calls to this api have exceeded the rate limit."),
            DeliveryStatus.TRANSIENT,
        ),
        (messenger_error(190, None, "Error validating access token"), DeliveryStatus.TRANSIENT),
        ((500, {}), DeliveryStatus.TRANSIENT),
    ],
)
def test_messenger_errors_map(
    provider_messenger: FakeProvider, answer: tuple[int, dict[str, Any]], status: DeliveryStatus
) -> None:
    provider_messenger.script.append(answer)
    notifier = MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=provider_messenger.url)
    assert notifier.send(message_for("messenger", "2718281828459045")).status is status


def test_messenger_refuses_an_unknown_tag() -> None:
    with pytest.raises(ValidationError, match="expected one of"):
        messenger_notifier({"page_id": "1", "access_token": "t", "tag": "PROMOTION"})


# ------------------------------------------------------------------ e-mail


class TestEmailChannel(ChannelContract):
    @pytest.fixture
    def channel(self) -> Email:
        return Email()

    @pytest.fixture
    def reachable(self) -> Customer:
        return Customer(id="c", email="anna@example.pl")

    @pytest.fixture
    def unreachable(self) -> Customer:
        return Customer(id="c", email="anna at example")


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses one address;
    it counts connections (by client port) and successful logins."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        self.peers: set[Any] = set()
        self.logins = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        result = authenticate(server, session, envelope, mechanism, data)
        self.peers.add(session.peer)
        self.logins += result.success
        return result

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 mailbox unavailable"
        self.peers.add(session.peer)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope, parsed))
        return "250 Message accepted"


SMTP_PASSWORD = "smtp-secret-password-42"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == b"care"
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp_server(ca: trustme.CA) -> Iterator[tuple[Inbox, int, ssl.SSLContext]]:
    """A real SMTP server on loopback that requires STARTTLS and login."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="localhost",
        tls_context=server_context,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_require_tls=True,
        # smtplib falls back from PLAIN to LOGIN after a refusal, and aiosmtpd's
        # LOGIN then waits for a reply that never comes; offer PLAIN alone.
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield inbox, controller.port, client_context
    finally:
        controller.stop()


def smtp(port: int, context: ssl.SSLContext, password: str = SMTP_PASSWORD) -> SmtpEmail:
    return SmtpEmail(
        host="127.0.0.1",
        port=port,
        sender="care@example.com",
        sender_name="Obsługa klienta",
        username="care",
        password=password,
        ssl_context=context,
    )


class TestSmtp(NotifierContract):
    server_loggers = ("mail.log",)  # aiosmtpd's own log of the test server

    @pytest.fixture
    def notifier(self, smtp_server: tuple[Inbox, int, ssl.SSLContext]) -> Iterator[SmtpEmail]:
        _, port, context = smtp_server
        with smtp(port, context) as notifier:
            yield notifier

    @pytest.fixture
    def outage_notifier(self, smtp_server: tuple[Inbox, int, ssl.SSLContext]) -> SmtpEmail:
        return smtp(free_port(), smtp_server[2])

    @pytest.fixture
    def good_message(self) -> Message:
        return message_for("email", "anna@example.pl")

    @pytest.fixture
    def refused_message(self) -> Message:
        return message_for("email", "gone@example.pl")

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [SMTP_PASSWORD]


def test_email_is_a_proper_mime_message(smtp_server: tuple[Inbox, int, ssl.SSLContext]) -> None:
    inbox, port, context = smtp_server
    message = Message(
        channel="email",
        to="ivan@example.bg",
        locale="bg_BG",
        title="Съжаляваме за поръчка BG-2001",
        text="Съжаляваме: <b>BG-2001</b> закъснява с 1 ден и 6 часа.\n\nВъзстановихме 8,99 €.",
        send_at=message_for("email", "x").send_at,
        purpose="notice",
    )
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with smtp(port, context) as notifier:
        result = notifier.send(message)
    after = dt.datetime.now(dt.UTC)
    assert result.status is DeliveryStatus.SENT
    ((envelope, mail),) = inbox.received
    assert envelope.rcpt_tos == ["ivan@example.bg"]
    assert mail["Subject"] == "Съжаляваме за поръчка BG-2001"
    assert mail["Content-Language"] == "bg-BG"
    assert mail["Message-ID"] == result.provider_id
    assert mail["Message-ID"].endswith("@example.com>")
    assert before <= mail["Date"].datetime <= after  # when it was sent, not when planned
    assert mail["From"].addresses[0].display_name == "Obsługa klienta"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip().startswith("Съжаляваме: <b>BG-2001</b>")
    html_text = html.get_content()
    assert "&lt;b&gt;BG-2001&lt;/b&gt;" in html_text  # values are escaped, not markup
    assert '<html lang="bg-BG">' in html_text
    assert html_text.count("<p>") == 2


def test_wrong_password_is_transient(smtp_server: tuple[Inbox, int, ssl.SSLContext]) -> None:
    _, port, context = smtp_server
    result = smtp(port, context, password="wrong").send(message_for("email", "anna@example.pl"))
    assert result.status is DeliveryStatus.TRANSIENT
    assert "login refused" in (result.detail or "")


def test_smtp_settings() -> None:
    notifier = smtp_notifier(
        {"host": "smtp.example.com", "from": "care@example.com", "security": "tls"}
    )
    assert notifier.port == 465
    with pytest.raises(ValidationError, match="starttls, tls or none"):
        smtp_notifier({"host": "h", "from": "f", "security": "ssl3"})


# ------------------------------------------------------ connections kept


def test_one_smtp_session_serves_a_whole_run(
    smtp_server: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    """Twenty e-mails: one connection, one STARTTLS, one login; after close()
    the next e-mail opens a new session."""
    inbox, port, context = smtp_server
    with smtp(port, context) as notifier:
        results = [notifier.send(message_for("email", f"anna{n}@example.pl")) for n in range(20)]
    assert {r.status for r in results} == {DeliveryStatus.SENT}
    assert len(inbox.received) == 20
    assert (len(inbox.peers), inbox.logins) == (1, 1)
    assert (notifier.connections, notifier.logins) == (1, 1)
    with notifier:
        assert notifier.send(message_for("email", "anna@example.pl")).status is DeliveryStatus.SENT
    assert (len(inbox.peers), inbox.logins) == (2, 2)


def test_a_refused_recipient_leaves_the_session_usable(
    smtp_server: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    inbox, port, context = smtp_server
    with smtp(port, context) as notifier:
        refused = notifier.send(message_for("email", "gone@example.pl"))
        accepted = notifier.send(message_for("email", "anna@example.pl"))
    assert (refused.status, accepted.status) == (DeliveryStatus.PERMANENT, DeliveryStatus.SENT)
    assert [envelope.rcpt_tos for envelope, _ in inbox.received] == [["anna@example.pl"]]
    assert len(inbox.peers) == 1


def test_an_smtp_session_closed_while_idle_is_reopened_without_a_failure() -> None:
    """The relay hangs up after each message (an idle timeout): the next
    message goes out on a new connection, reported sent, not failed."""
    with (
        lossy_server("smtp", "answer-then-hang-up") as server,
        SmtpEmail(host="127.0.0.1", port=server.port, sender="c@x.test", security="none") as n,
    ):
        first = n.send(message_for("email", "anna@example.pl"))
        server.hung_up.wait()
        second = n.send(message_for("email", "ivan@example.bg"))
    assert (first.status, second.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert (server.connections, len(server.received)) == (2, 2)


def test_http_keep_alive_serves_a_whole_run() -> None:
    """Twenty SMS over one HTTP connection; after close() a new one."""
    with fake_provider(twilio_ok(), keep_alive=True) as provider:
        with TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider.url) as n:
            results = [n.send(message_for("sms", "+48512345678")) for _ in range(20)]
        assert {r.status for r in results} == {DeliveryStatus.SENT}
        assert (len(provider.requests), provider.connections) == (20, 1)
        with n:
            n.send(message_for("sms", "+48512345678"))
        assert provider.connections == 2


def test_messenger_keeps_its_connection_alive() -> None:
    with fake_provider(messenger_ok(), keep_alive=True) as provider:
        with MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=provider.url) as n:
            for _ in range(5):
                assert n.send(message_for("messenger", "2718281828459045")).status is (
                    DeliveryStatus.SENT
                )
        assert (len(provider.requests), provider.connections) == (5, 1)


def test_an_http_connection_closed_while_idle_is_reopened_without_a_failure() -> None:
    with lossy_server("http", "answer-then-hang-up") as server:
        url = f"http://127.0.0.1:{server.port}"
        with TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=url) as n:
            first = n.send(message_for("sms", "+48512345678"))
            server.hung_up.wait()
            second = n.send(message_for("sms", "+48512345678"))
    assert (first.status, second.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert (server.connections, len(server.received)) == (2, 2)


def test_close_notifiers_closes_those_that_can_be_closed() -> None:
    """A plugin's notifier without close() is left alone."""

    class Bare:
        channel = "bare"

        def send(self, message: Message) -> DeliveryResult:
            return DeliveryResult.sent()

    with fake_provider(twilio_ok(), keep_alive=True) as provider:
        sms = TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=provider.url)
        sms.send(message_for("sms", "+48512345678"))
        close_notifiers([sms, Bare()])
        sms.send(message_for("sms", "+48512345678"))
        sms.close()
    assert provider.connections == 2


# ------------------------------------------------------ outcomes: uncertain


@pytest.mark.parametrize("fault", ["stall", "reset"])
def test_smtp_answer_lost_after_the_message_went_out_is_uncertain(fault: str) -> None:
    """The relay got the whole message, then stalled past the timeout or reset
    the connection: maybe sent, so not "failed"."""
    with lossy_server("smtp", fault) as server:  # type: ignore[arg-type]
        notifier = SmtpEmail(
            host="127.0.0.1", port=server.port, sender="c@x.test", security="none", timeout=0.3
        )
        with notifier:
            result = notifier.send(message_for("email", "anna@example.pl"))
    assert result.status is DeliveryStatus.UNCERTAIN
    assert len(server.received) == 1
    assert "anna" not in (result.detail or "")


@pytest.mark.parametrize("fault", ["stall", "reset"])
def test_http_answer_lost_after_the_request_went_out_is_uncertain(fault: str) -> None:
    with lossy_server("http", fault) as server:  # type: ignore[arg-type]
        url = f"http://127.0.0.1:{server.port}"
        sms = TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=url, timeout=0.3)
        with sms:
            result = sms.send(message_for("sms", "+48512345678"))
    assert result.status is DeliveryStatus.UNCERTAIN
    assert len(server.received) == 1
    assert "answer lost" in (result.detail or "")


def test_messenger_answer_lost_is_uncertain() -> None:
    with lossy_server("http", "reset") as server:
        url = f"http://127.0.0.1:{server.port}"
        with MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=url) as messenger:
            result = messenger.send(message_for("messenger", "2718281828459045"))
    assert result.status is DeliveryStatus.UNCERTAIN


def test_no_connection_at_all_is_transient_not_uncertain() -> None:
    """Nothing went out: the request surely did not take effect."""
    sms = TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+48500000000", base_url=closed_port())
    result = sms.send(message_for("sms", "+48512345678"))
    assert result.status is DeliveryStatus.TRANSIENT


def test_a_relay_without_starttls_is_never_used_in_clear() -> None:
    """STARTTLS asked for and not offered: transient, and no message went out."""
    with (
        lossy_server("smtp", "stall") as server,
        SmtpEmail(host="127.0.0.1", port=server.port, sender="c@x.test") as notifier,
    ):
        result = notifier.send(message_for("email", "anna@example.pl"))
    assert result.status is DeliveryStatus.TRANSIENT
    assert server.received == []


# ------------------------------------------------------ headers made safe


def test_a_line_break_in_the_subject_becomes_a_space(
    smtp_server: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    """The subject comes from the host's data: no header can be injected."""
    inbox, port, context = smtp_server
    message = attrs.evolve(
        message_for("email", "anna@example.pl"), title="Sorry\r\nBcc: eve@example.org\n"
    )
    with smtp(port, context) as notifier:
        assert notifier.send(message).status is DeliveryStatus.SENT
    ((envelope, mail),) = inbox.received
    assert mail["Subject"] == "Sorry Bcc: eve@example.org"
    assert mail["Bcc"] is None
    assert envelope.rcpt_tos == ["anna@example.pl"]


@pytest.mark.parametrize("to", ["anna@example.pl\r\nBcc: eve@example.org", "anna@exa\x00mple.pl"])
def test_an_address_with_a_control_character_is_unsendable(
    smtp_server: tuple[Inbox, int, ssl.SSLContext], to: str
) -> None:
    """A typed error for this message alone (without the address); the session
    goes on to the next message."""
    inbox, port, context = smtp_server
    with smtp(port, context) as notifier:
        with pytest.raises(MessageUnsendable) as raised:
            notifier.send(message_for("email", to))
        assert notifier.send(message_for("email", "ivan@example.bg")).status is (
            DeliveryStatus.SENT
        )
    assert "anna" not in str(raised.value)
    assert raised.value.channel == "email"
    assert [envelope.rcpt_tos for envelope, _ in inbox.received] == [["ivan@example.bg"]]


def test_a_sender_with_a_line_break_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match=r"email\.from_name"):
        smtp_notifier({"host": "h.example", "from": "c@x.test", "from_name": "Care\nBcc: x"})


def test_a_sender_that_is_not_one_address_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match=r"email\.from"):
        smtp_notifier({"host": "h.example", "from": "c@x.test, eve@example.org"})


# ------------------------------------------------------ idempotency


def test_the_message_id_comes_from_the_key(
    smtp_server: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    """A resend of one message carries the same Message-ID, so a mailbox can
    tell it is the same message; another message, another id."""
    inbox, port, context = smtp_server
    message = message_for("email", "anna@example.pl")
    with smtp(port, context) as notifier:
        first = send(notifier, message, key="outbox-17")
        again = send(notifier, message, key="outbox-17")
        other = send(notifier, message, key="outbox-18")
    ids = [str(mail["Message-ID"]) for _, mail in inbox.received]
    assert ids[0] == ids[1] != ids[2]
    assert first.provider_id == again.provider_id == ids[0]
    assert other.provider_id == ids[2]
    assert "outbox-17" not in ids[0]
    assert ids[0].endswith("@example.com>")


def test_send_passes_no_key_to_a_notifier_that_takes_none() -> None:
    class Bare:
        channel = "bare"

        def send(self, message: Message) -> DeliveryResult:
            return DeliveryResult.sent("p-1")

    assert send(Bare(), message_for("bare", "x"), key="outbox-1").provider_id == "p-1"


# ------------------------------------------------------ List-Unsubscribe


def test_emails_carry_one_click_list_unsubscribe(
    smtp_server: tuple[Inbox, int, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port, context = smtp_server
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("UNSUB_SECRET", "host-kept-secret")
    notifier = smtp_notifier(
        {
            "host": "127.0.0.1",
            "port": port,
            "from": "care@example.com",
            "username": "care",
            "password_env": "SMTP_PASSWORD",
            "unsubscribe_url": "https://shop.example/unsubscribe?t={token}",
            "unsubscribe_secret_env": "UNSUB_SECRET",
        }
    )
    notifier = attrs.evolve(notifier, ssl_context=context)
    with notifier:
        assert notifier.send(message_for("email", "Anna@example.pl")).status is (
            DeliveryStatus.SENT
        )
    ((_, mail),) = inbox.received
    token = unsubscribe_token("host-kept-secret", "anna@example.pl")
    # A long header may be folded before the URL: that is plain RFC 5322.
    assert mail["List-Unsubscribe"].strip() == f"<https://shop.example/unsubscribe?t={token}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert token != unsubscribe_token("another-secret", "anna@example.pl")


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"unsubscribe_url": "http://shop.example/u"}, "email.unsubscribe_url"),
        ({"unsubscribe_url": "https://shop.example/u?c={customer}"}, "email.unsubscribe_url"),
        ({"unsubscribe_url": "https://shop.example/u?t={token}"}, "email.unsubscribe_secret_env"),
    ],
)
def test_a_bad_unsubscribe_setting_is_named(settings: dict[str, str], where: str) -> None:
    with pytest.raises(ValidationError) as raised:
        smtp_notifier({"host": "h.example", "from": "c@x.test", **settings})
    assert raised.value.where == where


# ------------------------------------------------------ secrets


def test_a_login_in_clear_is_refused() -> None:
    """security = "none" with a username would send the password in clear."""
    with pytest.raises(ValidationError) as raised:
        smtp_notifier(
            {"host": "smtp.example.com", "from": "c@x.test", "security": "none", "username": "u"}
        )
    assert raised.value.where == "email.security"


def test_a_login_in_clear_is_allowed_only_to_a_loopback_relay() -> None:
    base = {"from": "c@x.test", "security": "none", "username": "u", "password": "pw"}
    allowed = {**base, "allow_plaintext_login": True}
    with pytest.raises(ValidationError) as raised:
        smtp_notifier({**allowed, "host": "smtp.example.com"})
    assert raised.value.where == "email.allow_plaintext_login"
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.53"):
        assert smtp_notifier({**allowed, "host": host}).allow_plaintext_login


def test_tokens_in_urls_are_masked_in_logs(
    provider_messenger: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pxr")
    with MessengerSendApi("1234567890", MESSENGER_TOKEN, base_url=provider_messenger.url) as n:
        n.send(message_for("messenger", "2718281828459045"))
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("pxr"))
    assert "access_token=***" in logged
    assert MESSENGER_TOKEN not in logged


def test_mask_url_hides_user_info_and_secret_parameters() -> None:
    masked = mask_url("https://user:pw@api.example/v1/x?access_token=abc&page=2&key=k")
    assert masked == "https://***@api.example/v1/x?access_token=***&page=2&key=***"


@settings(max_examples=300)
@given(title=st.text(), to=st.text(min_size=1))
def test_build_email_sets_safe_headers_or_raises_message_unsendable(title: str, to: str) -> None:
    """Whatever the subject and the address hold, the e-mail is built with no
    line break in a header, or the message is refused with the typed error:
    never another exception, which would stop a dispatcher run."""
    message = attrs.evolve(message_for("email", "x@example.pl"), title=title, to=to)
    try:
        mail = build_email(message, "care@example.com", "Obsługa", key="k-1")
    except MessageUnsendable as error:
        refused = str(error)
    else:
        refused = ""
    if refused:
        # The address is never echoed (a short one may happen to be a word of the reason).
        assert to not in refused.replace("address", "").replace("usable", "") or len(to) < 5
        return
    flat = mail.as_bytes()
    head = flat.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    # A header line is a "Name:" line or a folded continuation (starting with a space).
    for line in head.split("\r\n"):
        assert line[:1] in (" ", "\t") or re.match(r"^[A-Za-z-]+:", line), line
    assert str(mail["Subject"]) == one_line(title)
