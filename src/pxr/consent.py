"""Consent that remembers: refused addresses, opt-outs, and replies saying STOP.

The ledger keeps one :class:`ConsentRecord` per customer and channel, the
latest word on it:

* ``refused`` — a provider refused the address for good (an invalid
  number): that address is not used again on that channel. A customer
  whose address changed (a new phone number) is reachable again.
* ``opted_out`` — the customer asked not to be contacted on that channel,
  whatever the address (an ``opt_out`` event, :meth:`pxr.Recovery.opt_out`,
  or a reply saying STOP).
* ``allowed`` — the host, or the customer (START), said it may be used again.

A record replaces an older one for the same customer and channel, never a
newer one, so replaying an events file keeps the latest word; a provider's
refusal never replaces an opt-out (the customer's word outranks a failure).
Everything here is erased with the customer.

Inbound replies: SMS providers forward a customer's reply to a URL of the
host's. :func:`reply_keyword` reads Twilio's inbound-message fields
(``From``, ``To``, ``Body``) and :func:`handle_reply` records an opt-out for
STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT, and opts in again for START
or UNSTOP. ``examples/embed/inbound_sms.py`` is a small Flask app that uses
it, checking :func:`twilio_signature` first: a reply URL is public, and
without the check anyone could opt any customer out.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from pxr._bounds import check_text
from pxr.model import check_aware

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from pxr.engine import Recovery

__all__ = [
    "OPT_IN_WORDS",
    "OPT_OUT_WORDS",
    "ConsentRecord",
    "ConsentState",
    "Reply",
    "blocked",
    "handle_reply",
    "reply_keyword",
    "twilio_signature",
    "usable_fallbacks",
]

#: Replies that opt a customer out of SMS (the industry's standard keywords).
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
#: Replies that opt a customer back in.
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})


class ConsentState(enum.StrEnum):
    """The latest word on a customer's channel."""

    REFUSED = "refused"  #: a provider refused this address for good
    OPTED_OUT = "opted_out"  #: the customer does not want this channel
    ALLOWED = "allowed"  #: the host or the customer allowed it again


@attrs.frozen
class ConsentRecord:
    """One customer's consent on one channel, as the ledger keeps it.

    ``address`` is the address a refusal concerns (empty for an opt-out or
    an allowance, which hold for any address); ``source`` says who spoke:
    ``provider``, ``event``, ``api``, ``reply`` or ``host``.
    """

    customer: str = attrs.field(validator=lambda _, a, v: check_text(v, f"consent.{a.name}"))
    channel: str = attrs.field(validator=lambda _, a, v: check_text(v, f"consent.{a.name}"))
    state: ConsentState = attrs.field(converter=ConsentState)
    at: dt.datetime = attrs.field()
    source: str
    address: str = attrs.field(default="", repr=False)

    @at.validator
    def _aware(self, _: object, value: dt.datetime) -> None:
        check_aware(value, "consent.at")


def blocked(consent: Mapping[str, ConsentRecord], channel: str, address: str) -> str | None:
    """Why ``address`` on ``channel`` may not be used, or ``None`` if it may.

    ``consent`` is a customer's records by channel (a snapshot's, or
    :meth:`pxr.ledger.RecoveryStore.consent_of`'s). The reason names the
    channel, never the address.
    """
    record = consent.get(channel)
    if record is None:
        return None
    if record.state is ConsentState.OPTED_OUT:
        return f"{channel}: opted out"
    if record.state is ConsentState.REFUSED and record.address == address:
        return f"{channel}: the address was refused for good"
    return None


def usable_fallbacks(
    consent: Mapping[str, ConsentRecord], fallbacks: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """Those of ``fallbacks`` (``(channel, address)`` pairs) consent still allows, in order."""
    return tuple(pair for pair in fallbacks if blocked(consent, *pair) is None)


@attrs.frozen
class Reply:
    """A customer's reply to an SMS, as a provider forwarded it."""

    sender: str = attrs.field(repr=False)  #: the customer's number (``From``)
    keyword: str  #: ``STOP``, ``START``…, upper case
    state: ConsentState  #: what it asks for: opted out, or allowed again


def reply_keyword(form: Mapping[str, str]) -> Reply | None:
    """The consent a provider's inbound-message fields ask for, or ``None``.

    ``form`` holds Twilio's inbound webhook fields (``From``, ``To``,
    ``Body``…). Like Twilio, the body counts only when it is the keyword
    alone: upper or lower case, spaces and a final full stop or exclamation
    mark around it ignored. "Stop sending me adverts" is a message for a
    person, not an opt-out.
    """
    sender = form.get("From", "").strip()
    body = form.get("Body", "")
    if not sender or not isinstance(body, str):
        return None
    word = body.strip().rstrip(".!").strip().upper()
    if word in OPT_OUT_WORDS:
        return Reply(sender, word, ConsentState.OPTED_OUT)
    if word in OPT_IN_WORDS:
        return Reply(sender, word, ConsentState.ALLOWED)
    return None


def handle_reply(
    recovery: Recovery,
    form: Mapping[str, str],
    customer_for: Callable[[str], str | None],
    *,
    at: dt.datetime | None = None,
    channel: str = "sms",
) -> ConsentRecord | None:
    """Record the opt-out (or opt-in) a forwarded SMS reply asks for.

    ``customer_for`` maps the sender's number to the host's customer id
    (``None``: not a customer, and nothing is recorded). Returns what was
    recorded, or ``None`` when the reply asked for nothing or came from no
    known customer. ``at`` defaults to the ledger's clock.
    """
    reply = reply_keyword(form)
    if reply is None:
        return None
    customer = customer_for(reply.sender)
    if customer is None:
        return None
    when = recovery.ledger.now() if at is None else at
    if reply.state is ConsentState.OPTED_OUT:
        return recovery.opt_out(customer, channel, when, source="reply")
    return recovery.allow(customer, channel, when, source="reply")


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends with a webhook to ``url``.

    HMAC-SHA1, keyed with the account's auth token, of the full URL followed
    by each form field's name and value, in the order of the names; base64.
    Compare it with :func:`hmac.compare_digest`.
    """
    payload = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
