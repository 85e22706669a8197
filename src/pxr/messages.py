"""What pxr says to a customer: the one function that turns an action into text.

Every sentence is a gettext message (domain ``pxr``) with plain ``{name}``
fields; :func:`render` picks the customer's catalog and fills the fields
with values already formatted by Babel for that locale. The tone follows
the source articles: apologise first, say plainly what happened, say what
the customer gets, make it effortless, never ask for a survey.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from pxr.i18n import exact_duration, format_money, format_when, safe_format, translations
from pxr.model import Compensation, Customer, Message

__all__ = ["Rendered", "closing_sentence", "combine", "render"]


@attrs.frozen
class Rendered:
    """A title (e-mail subject) and a text."""

    title: str
    text: str


def _offer(compensation: Compensation | None, customer: Customer, top_up: bool) -> str:
    if compensation is None:
        return ""
    t = translations(customer.locale)
    amount = format_money(compensation.amount, customer.locale) if compensation.amount else ""
    values = {"amount": amount}
    match compensation.kind:
        case "refund" if top_up:
            template = t.gettext(
                "We have refunded a further {amount} to your original payment method."
            )
        case "refund":
            template = t.gettext(
                "We have refunded {amount} to your original payment method;"
                " you do not need to do anything."
            )
        case "voucher":
            values["code"] = compensation.code or ""
            values["until"] = (
                format_when(compensation.expires_at, customer.timezone, customer.locale)
                if compensation.expires_at
                else ""
            )
            template = t.gettext("Here is a voucher for {amount}: {code}, valid until {until}.")
        case "gift":
            values["item"] = compensation.item or ""
            template = t.gettext("As an apology, we would like to offer you: {item}.")
        case "eu261":
            template = t.gettext(
                "Under EU Regulation 261/2004 you are owed {amount}; we are paying it to you"
                " automatically, with no claim to file."
            )
        case "contact":
            values["due"] = (
                format_when(compensation.due_at, customer.timezone, customer.locale)
                if compensation.due_at
                else ""
            )
            template = t.gettext("A member of our team will contact you personally by {due}.")
        case _:
            return ""
    return safe_format(template, values)


def render(
    purpose: str,
    customer: Customer,
    subject: str,
    *,
    delay: dt.timedelta | None = None,
    compensations: Sequence[Compensation] = (),
) -> Rendered:
    """The message for ``purpose`` (``notice``, ``escalation``, ``resolution``)."""
    t = translations(customer.locale)
    values = {"subject": subject}
    if delay is not None:
        values["delay"] = exact_duration(delay, customer.locale)
    if purpose == "resolution":
        title = t.gettext("{subject}: resolved")
        body = t.gettext(
            "Good news: {subject} is resolved. Thank you for your patience, and once again,"
            " we are sorry for the trouble."
        )
    elif purpose == "escalation":
        title = t.gettext("An update on {subject}")
        body = (
            t.gettext("An update on {subject}: it is now {delay} late. We are very sorry.")
            if delay is not None
            else t.gettext("An update on {subject}: we are very sorry it has got worse.")
        )
    else:
        title = t.gettext("We are sorry about {subject}")
        body = (
            t.gettext("We are sorry: {subject} is {delay} late.")
            if delay is not None
            else t.gettext("We are sorry that {subject} did not go as it should have.")
        )
    offers = [_offer(c, customer, top_up=purpose == "escalation") for c in compensations]
    closing = "" if purpose == "resolution" else closing_sentence(customer.locale)
    text = " ".join(part for part in (safe_format(body, values), *offers, closing) if part)
    return Rendered(title=safe_format(title, values), text=text)


def closing_sentence(locale: str) -> str:
    """The reassurance that ends a message: the customer need not do anything."""
    return translations(locale).gettext("You do not need to contact us; we will keep you posted.")


def combine(messages: Sequence[Message]) -> Message:
    """Several messages to one customer on one channel as one message.

    Each keeps its own paragraph; the closing reassurance is said once, at
    the end; the title counts the updates.
    """
    first = messages[0]
    t = translations(first.locale)
    closing = closing_sentence(first.locale)
    parts = [m.text.removesuffix(closing).strip() for m in messages]
    text = "\n\n".join(parts) + ("\n\n" + closing if closing else "")
    title = safe_format(
        t.ngettext("{count} update from us", "{count} updates from us", len(messages)),
        {"count": str(len(messages))},
    )
    return attrs.evolve(
        first,
        text=text,
        title=title if first.title is not None else None,
        send_at=max(m.send_at for m in messages),
        purpose="group",
    )
