"""Sending e-mail over SMTP, with the standard library.

STARTTLS (port 587, the default) or implicit TLS (port 465), and login when
a username is given. A login over an unencrypted connection (``security =
"none"``) is refused unless the transports file says
``allow_plaintext_login = true``, and even then only for a relay on the
loopback interface.

One SMTP session (connection and login) serves every message of a dispatch
run, until :meth:`SmtpEmail.close`. Each message is a proper MIME message:
plain text and HTML alternatives, ``Message-ID`` (derived from the
message's key when there is one, so a resend carries the same id),
``Date``, ``Content-Language``, UTF-8 headers and, when configured,
``List-Unsubscribe`` with one-click ``List-Unsubscribe-Post`` (RFC 8058).
Values in the HTML part are escaped; a line break in the subject becomes a
space, and one in an address makes the message unsendable.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.policy
import hashlib
import hmac
import html
import ipaddress
import re
import smtplib
import ssl
import string
import threading
import unicodedata
import urllib.parse
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Literal

import attrs

from pxr.channels import Closing, DeliveryResult, DeliveryStatus, MessageUnsendable
from pxr.channels import _settings as s
from pxr.errors import ValidationError
from pxr.model import Message

__all__ = ["SmtpEmail", "build_email", "message_id", "smtp_notifier", "unsubscribe_token"]

Security = Literal["starttls", "tls", "none"]

#: Every character Python treats as a line boundary (``str.splitlines``).
_LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_PLACEHOLDERS = frozenset({"token", "email"})


def _has_control(value: str) -> bool:
    """A control character (C0, DEL, C1) or a line or paragraph separator."""
    return bool(_LINE_BREAK.search(value)) or any(
        unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value
    )


def one_line(value: str) -> str:
    """``value`` with every line break (and the spaces around it) made one space."""
    return " ".join(part.strip() for part in _LINE_BREAK.split(value) if part.strip())


def message_id(key: str, sender: str) -> str:
    """A ``Message-ID`` that is the same for every attempt to send one message.

    The key is hashed, so the id says nothing about the customer.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}.pxr@{sender.rpartition('@')[2] or 'localhost'}>"


def unsubscribe_token(secret: str, address: str) -> str:
    """The ``{token}`` of an unsubscribe URL: an HMAC of the address under ``secret``.

    The host's unsubscribe endpoint compares it with the token of the
    addresses it knows; without the secret nobody can forge one.
    """
    mac = hmac.new(secret.encode(), address.strip().lower().encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def build_email(
    message: Message,
    sender: str,
    sender_name: str | None = None,
    *,
    key: str | None = None,
    unsubscribe_url: str | None = None,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """The MIME message for ``message``: text and HTML, with proper headers.

    ``date`` is the ``Date`` header: when the e-mail is sent (the message's
    planned time if not given).

    Raises :class:`~pxr.channels.MessageUnsendable` for an address with a
    control character (a header injection) or one the e-mail library rejects.
    """
    for field, value in (("to", message.to), ("from", sender), ("from_name", sender_name or "")):
        if _has_control(value):
            raise MessageUnsendable(message.channel, f"{field} contains a control character")
    mail = EmailMessage(policy=email.policy.SMTP)
    try:
        # Address() takes exactly one addr-spec: a list ("a@x, b@y") is refused.
        mail["From"] = Address(sender_name or "", addr_spec=sender)
        mail["To"] = Address(addr_spec=message.to)
    except (ValueError, IndexError, email.errors.MessageError) as error:
        problem = f"not a usable address ({type(error).__name__})"
        raise MessageUnsendable(message.channel, problem) from None
    mail["Subject"] = one_line(message.title or "")
    mail["Date"] = format_datetime(date or message.send_at)
    mail["Message-ID"] = (
        message_id(key, sender)
        if key is not None
        else make_msgid(domain=sender.rpartition("@")[2] or None)
    )
    if unsubscribe_url is not None:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.text, charset="utf-8")
    paragraphs = "".join(
        f"<p>{html.escape(part)}</p>" for part in message.text.split("\n\n") if part.strip()
    )
    lang = html.escape(message.locale.replace("_", "-"), quote=True)
    mail.add_alternative(
        f'<!doctype html><html lang="{lang}"><body>{paragraphs}</body></html>',
        subtype="html",
        charset="utf-8",
    )
    # After the content: set_content() drops every Content-* header already set.
    mail["Content-Language"] = message.locale.replace("_", "-")
    return mail


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Session:
    """The SMTP connection kept open between messages, and what it cost."""

    def __init__(self) -> None:
        self.client: smtplib.SMTP | None = None
        self.lock = threading.Lock()
        self.connections = 0
        self.logins = 0

    def drop(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


class _Refused(Exception):
    """The server answered a step of the transaction with an error code."""

    def __init__(self, code: int, what: str) -> None:
        self.code = code
        self.what = what


@attrs.frozen
class SmtpEmail(Closing):
    """An SMTP transport for one server. The password never appears in a repr.

    Keeps one session (connection and login) open between sends: close it at
    the end of a dispatch run (``close()`` or ``with``). Safe to share between
    threads: sends on one transport take turns.
    """

    host: str
    sender: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    sender_name: str | None = None
    timeout: float = 20.0
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False, eq=False)
    channel: str = "email"
    allow_plaintext_login: bool = False
    unsubscribe_url: str | None = None
    unsubscribe_secret: str | None = attrs.field(default=None, repr=False)
    session: _Session = attrs.field(factory=_Session, init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if self.security == "none" and self.username is not None:
            if not self.allow_plaintext_login:
                raise ValidationError(
                    "email.security",
                    "a login over an unencrypted connection would send the password in clear;"
                    " use starttls or tls, or allow_plaintext_login = true for a loopback relay",
                )
            if not is_loopback(self.host):
                raise ValidationError(
                    "email.allow_plaintext_login",
                    "only for a relay on the loopback interface (localhost, 127.0.0.1, ::1)",
                )
        for where, value in (("from", self.sender), ("from_name", self.sender_name or "")):
            if _has_control(value):
                raise ValidationError(f"email.{where}", "contains a control character")
        try:
            Address(addr_spec=self.sender)
        except (ValueError, IndexError, email.errors.MessageError):
            raise ValidationError("email.from", "expected one e-mail address") from None
        if self.unsubscribe_url is not None:
            _check_unsubscribe(self.unsubscribe_url, self.unsubscribe_secret)

    @property
    def connections(self) -> int:
        """How many SMTP connections this transport opened so far."""
        return self.session.connections

    @property
    def logins(self) -> int:
        """How many times this transport logged in so far."""
        return self.session.logins

    def close(self) -> None:
        """End the SMTP session (``QUIT``); a later send opens a new one."""
        with self.session.lock:
            self.session.drop()

    def unsubscribe_for(self, address: str) -> str | None:
        """The ``List-Unsubscribe`` URL for ``address``, or ``None`` if not configured."""
        if self.unsubscribe_url is None:
            return None
        token = (
            unsubscribe_token(self.unsubscribe_secret, address) if self.unsubscribe_secret else ""
        )
        return self.unsubscribe_url.format_map(
            {"token": token, "email": urllib.parse.quote(address, safe="")}
        )

    def send(self, message: Message, key: str | None = None) -> DeliveryResult:
        """Send one e-mail. A refusal (5xx) is permanent, a failure before the
        message was handed over transient, a lost answer after it uncertain.

        ``key`` (the message's stable key) makes the ``Message-ID``, so a
        resend is recognisably the same message.
        """
        mail = build_email(
            message,
            self.sender,
            self.sender_name,
            key=key,
            unsubscribe_url=self.unsubscribe_for(message.to),
            date=dt.datetime.now(dt.UTC),
        )
        smtputf8 = not (message.to.isascii() and self.sender.isascii())
        flat = mail.as_bytes(policy=email.policy.SMTPUTF8 if smtputf8 else email.policy.SMTP)
        payload = re.sub(rb"(?m)^\.", b"..", flat)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        with self.session.lock:
            result = self._transfer(message.to, payload + b".\r\n", smtputf8)
        if result.status is DeliveryStatus.SENT:
            return DeliveryResult.sent(str(mail["Message-ID"]))
        return result

    def _transfer(self, to: str, payload: bytes, smtputf8: bool) -> DeliveryResult:
        session = self.session
        reused = session.client is not None
        while True:
            handed_over = False
            try:
                client = session.client or self._open()
                self._envelope(client, to, smtputf8)
                client.putcmd("data")
                code, _ = client.getreply()
                if code != 354:
                    raise _Refused(code, "the message")
                client.send(payload)
                handed_over = True
                code, _ = client.getreply()
                if code != 250:
                    raise _Refused(code, "the message")
                return DeliveryResult.sent()
            except _Refused as refusal:
                self._reset()  # harmless after a refused DATA, needed before
                kind = DeliveryResult.permanent if refusal.code >= 500 else DeliveryResult.transient
                return kind(f"SMTP refused {refusal.what} ({refusal.code})")
            except smtplib.SMTPAuthenticationError as error:
                session.drop()
                return DeliveryResult.transient(f"SMTP login refused ({error.smtp_code})")
            except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
                session.drop()
                if handed_over:
                    return DeliveryResult.uncertain(
                        f"SMTP answer lost after the message was sent: {type(error).__name__}"
                    )
                if reused:
                    # The server closed the idle session (a timeout): nothing of this
                    # message was sent yet, so once more on a new connection.
                    reused = False
                    continue
                return DeliveryResult.transient(f"SMTP unavailable: {type(error).__name__}")

    def _open(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "tls":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        self.session.connections += 1
        try:
            client.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                # Raises when the server offers no STARTTLS: never falls back to clear text.
                client.starttls(context=context)
                client.ehlo()
            if self.username is not None:
                client.login(self.username, self.password or "")
                self.session.logins += 1
        except BaseException:
            client.close()
            raise
        self.session.client = client
        return client

    def _envelope(self, client: smtplib.SMTP, to: str, smtputf8: bool) -> None:
        options: list[str] = []
        if smtputf8:
            if not client.has_extn("smtputf8"):
                raise _Refused(555, "an international address (no SMTPUTF8)")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        code, _ = client.mail(self.sender, options)
        if code != 250:
            raise _Refused(code, "the sender")
        code, _ = client.rcpt(to)
        if code not in (250, 251):
            raise _Refused(code, "the recipient")

    def _reset(self) -> None:
        """Abort the half-done transaction so the session can take the next message."""
        client = self.session.client
        if client is None:
            return
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self.session.drop()


def _check_unsubscribe(template: str, secret: str | None) -> None:
    if not template.startswith("https://"):
        raise ValidationError(
            "email.unsubscribe_url", "expected an https:// URL (RFC 8058 one-click needs HTTPS)"
        )
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        raise ValidationError("email.unsubscribe_url", "unbalanced { or }") from None
    unknown = names - _PLACEHOLDERS
    if unknown:
        raise ValidationError(
            "email.unsubscribe_url",
            f"unknown placeholder {{{sorted(unknown)[0]}}}; expected {{token}} or {{email}}",
        )
    if "token" in names and not secret:
        raise ValidationError(
            "email.unsubscribe_secret_env", "required when unsubscribe_url uses {token}"
        )


def smtp_notifier(settings: Mapping[str, Any]) -> SmtpEmail:
    """``[email] transport = "smtp"``: ``host``, ``port``, ``security``, ``username``,
    ``password_env``, ``from``, ``from_name``, ``timeout``, ``allow_plaintext_login``,
    ``unsubscribe_url``, ``unsubscribe_secret_env``."""
    where = "email"
    s.reject_unknown(
        settings,
        {
            "host",
            "port",
            "security",
            "username",
            "password",
            "password_env",
            "from",
            "from_name",
            "timeout",
            "allow_plaintext_login",
            "unsubscribe_url",
            "unsubscribe_secret",
            "unsubscribe_secret_env",
        },
        where,
    )
    security = settings.get("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        raise ValidationError(f"{where}.security", "expected starttls, tls or none")
    plaintext = settings.get("allow_plaintext_login", False)
    if not isinstance(plaintext, bool):
        raise ValidationError(f"{where}.allow_plaintext_login", "expected true or false")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    return SmtpEmail(
        host=s.text(settings, "host", where),
        port=int(s.number(settings, "port", where, default_port)),
        security=security,
        sender=s.text(settings, "from", where),
        sender_name=s.optional(settings, "from_name", where),
        username=s.optional(settings, "username", where),
        password=s.optional_secret(settings, "password", where),
        timeout=s.number(settings, "timeout", where, 20.0),
        allow_plaintext_login=plaintext,
        unsubscribe_url=s.optional(settings, "unsubscribe_url", where),
        unsubscribe_secret=s.optional_secret(settings, "unsubscribe_secret", where),
    )
