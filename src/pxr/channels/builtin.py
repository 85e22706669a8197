"""pxr's own channels: SMS, e-mail, Messenger, and the console preview."""

from __future__ import annotations

import re
from functools import lru_cache

import attrs
import phonenumbers
from babel import Locale
from babel.core import get_global

from pxr.channels import AddressRefused
from pxr.channels.gsm import normalize_spaces, sms_encoding, sms_segments
from pxr.model import Customer, Message

__all__ = ["Console", "Email", "Messenger", "Sms", "customer_region", "mobile_e164"]

_MOBILE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def customer_region(customer: Customer) -> str | None:
    """The customer's region for national phone numbers: ``pl_PL`` → PL, ``pl`` → PL."""
    return _region(customer.locale)


@lru_cache(maxsize=256)
def _region(locale_name: str) -> str | None:
    locale = Locale.parse(locale_name)
    if locale.territory:
        return str(locale.territory)
    likely = get_global("likely_subtags").get(locale.language)
    return Locale.parse(likely).territory if likely else None


@lru_cache(maxsize=65536)
def mobile_e164(phone: str, region: str | None) -> tuple[str | None, str]:
    """``(E.164, "")`` for a valid mobile number, else ``(None, why)``.

    Cached: parsing is the costly part of routing an SMS, and a customer's
    number does not change between messages.
    """
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as error:
        return None, f"not a phone number ({error.error_type!r})"
    # number_type says UNKNOWN exactly when is_valid_number says no: one match, not two.
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None, "not a valid phone number"
    if kind not in _MOBILE:
        return None, "not a mobile number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


@attrs.frozen
class Sms:
    """SMS: E.164 mobile numbers; text measured in GSM-7 / UCS-2 segments."""

    name: str = "sms"
    form: str = "short"

    def address_for(self, customer: Customer) -> str | None:
        """The customer's mobile number in E.164, or ``None``; refuses landlines."""
        if customer.phone is None:
            return None
        e164, problem = mobile_e164(customer.phone, customer_region(customer))
        if e164 is None:
            raise AddressRefused(self.name, problem)
        return e164

    def shape(self, message: Message) -> Message:
        """Plain spaces for Babel's no-break spaces; encoding and segment count."""
        text = normalize_spaces(message.text)
        return attrs.evolve(
            message,
            text=text,
            title=None,
            encoding=sms_encoding(text),
            segments=sms_segments(text),
        )


@attrs.frozen
class Email:
    """E-mail: the title is the subject line."""

    name: str = "email"
    form: str = "email"

    def address_for(self, customer: Customer) -> str | None:
        """The customer's e-mail address, if it looks like one."""
        if customer.email is None:
            return None
        if not _EMAIL.match(customer.email):
            raise AddressRefused(self.name, "not an e-mail address")
        return customer.email

    def shape(self, message: Message) -> Message:
        """E-mail keeps the title as its subject."""
        return message


@attrs.frozen
class Messenger:
    """Facebook Messenger: the customer's page-scoped id (PSID)."""

    name: str = "messenger"
    form: str = "chat"

    def address_for(self, customer: Customer) -> str | None:
        """The customer's PSID, digits only."""
        if customer.messenger is None:
            return None
        if not customer.messenger.isdigit():
            raise AddressRefused(self.name, "a Messenger PSID is made of digits")
        return customer.messenger

    def shape(self, message: Message) -> Message:
        """Messenger has no subject line."""
        return attrs.evolve(message, title=None)


@attrs.frozen
class Console:
    """A preview channel: every customer is reachable by id."""

    name: str = "console"
    form: str = "chat"

    def address_for(self, customer: Customer) -> str | None:
        """The customer's id."""
        return customer.id

    def shape(self, message: Message) -> Message:
        """Unchanged."""
        return message
