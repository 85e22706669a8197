"""Sending e-mail over SMTP, with the standard library.

STARTTLS (port 587, the default) or implicit TLS (port 465), and login when
a username is given. Each message is a proper MIME message: plain text and
HTML alternatives, ``Message-ID``, ``Date``, ``Content-Language`` and UTF-8
headers. Values in the HTML part are escaped.
"""

from __future__ import annotations

import email.policy
import html
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Literal

import attrs

from pxr.channels import DeliveryResult
from pxr.channels import _settings as s
from pxr.errors import ValidationError
from pxr.model import Message

__all__ = ["SmtpEmail", "build_email", "smtp_notifier"]

Security = Literal["starttls", "tls", "none"]


def build_email(message: Message, sender: str, sender_name: str | None = None) -> EmailMessage:
    """The MIME message for ``message``: text and HTML, with proper headers."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = Address(sender_name or "", addr_spec=sender) if sender_name else sender
    mail["To"] = message.to
    mail["Subject"] = message.title or ""
    mail["Date"] = format_datetime(message.send_at)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
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


@attrs.frozen
class SmtpEmail:
    """An SMTP transport. The password never appears in a repr."""

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

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.starttls(context=context)
        return client

    def send(self, message: Message) -> DeliveryResult:
        """Send one e-mail; refused recipients are permanent, the rest transient."""
        mail = build_email(message, self.sender, self.sender_name)
        try:
            with self._connect() as client:
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            status = DeliveryResult.permanent if min(codes) >= 500 else DeliveryResult.transient
            return status(f"SMTP recipient refused ({', '.join(map(str, codes))})")
        except smtplib.SMTPAuthenticationError as error:
            return DeliveryResult.transient(f"SMTP login refused ({error.smtp_code})")
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                return DeliveryResult.permanent(f"SMTP refused the message ({error.smtp_code})")
            return DeliveryResult.transient(f"SMTP deferred the message ({error.smtp_code})")
        except (smtplib.SMTPException, ssl.SSLError, TimeoutError, OSError) as error:
            return DeliveryResult.transient(f"SMTP unavailable: {type(error).__name__}")
        return DeliveryResult.sent(str(mail["Message-ID"]))


def smtp_notifier(settings: Mapping[str, Any]) -> SmtpEmail:
    """``[email] transport = "smtp"``: ``host``, ``port``, ``security``, ``username``,
    ``password_env``, ``from``, ``from_name``."""
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
        },
        where,
    )
    security = settings.get("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        raise ValidationError(f"{where}.security", "expected starttls, tls or none")
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
    )
