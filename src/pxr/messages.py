"""What pxr says to a customer: the one place that turns an action into text.

Every sentence is a gettext message (domain ``pxr``) with plain ``{name}``
fields, rendered in the customer's language with values Babel formatted for
their locale. The tone follows the source articles: apologise first, say
plainly what happened, say what the customer gets, make it effortless, and
never ask for a survey.

Each message comes in the form its channel needs:

* ``short`` (SMS): one or two segments where the language allows — the
  apology, what they get, and that they need do nothing;
* ``email``: a subject line, a greeting, the same news in full sentences;
* ``chat`` (Messenger and most plugin channels): the full sentences, no
  subject line.

A threshold's ``topic`` (``delivery``, ``flight``, ``wait``, ``survey`` or
``generic``) picks the words for what went wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import attrs

from pxr.i18n import (
    Translator,
    exact_duration,
    format_money,
    format_when,
    safe_format,
    translator,
)
from pxr.model import Compensation, Customer

__all__ = ["FORMS", "TOPICS", "Parts", "Rendered", "compose", "join", "render"]

TOPICS = ("delivery", "flight", "wait", "survey", "generic")
FORMS = ("short", "email", "chat")


@attrs.frozen
class Rendered:
    """A title (the e-mail subject; ``None`` for other forms) and a text."""

    title: str | None
    text: str


def _title(t: Translator, purpose: str, topic: str) -> str:
    if purpose == "resolution":
        return t.gettext("{subject}: resolved")
    if purpose == "escalation":
        return t.gettext("An update on {subject}")
    match topic:
        case "delivery":
            return t.gettext("Your order {subject} is late: we are sorry")
        case "flight":
            return t.gettext("Your flight {subject} is delayed: we are sorry")
        case "wait":
            return t.gettext("Sorry for the wait ({subject})")
        case "survey":
            return t.gettext("Thank you for your feedback ({subject})")
    return t.gettext("We are sorry about {subject}")


def _apology(t: Translator, topic: str, has_delay: bool) -> str:
    match topic, has_delay:
        case "delivery", True:
            return t.gettext("We are sorry: your order {subject} is {delay} late.")
        case "delivery", False:
            return t.gettext("We are sorry: your order {subject} is late.")
        case "flight", True:
            return t.gettext("We are sorry: your flight {subject} is arriving {delay} late.")
        case "wait", True:
            return t.gettext("We are sorry you had to wait {delay} for our help.")
        case "survey", _:
            return t.gettext(
                "Thank you for your honest feedback on {subject}. We are sorry we fell short."
            )
        case _, True:
            return t.gettext("We are sorry: {subject} is {delay} late.")
    return t.gettext("We are sorry that {subject} did not go as it should have.")


def _update(t: Translator, topic: str, has_delay: bool, short: bool) -> str:
    if short and has_delay:
        return t.gettext("{subject}: now {delay} late. We are very sorry.")
    match topic, has_delay:
        case "delivery", True:
            return t.gettext(
                "An update on your order {subject}: it is now {delay} late. We are very sorry."
            )
        case "flight", True:
            return t.gettext(
                "An update on your flight {subject}: it is now arriving {delay} late."
                " We are very sorry."
            )
        case _, True:
            return t.gettext("An update on {subject}: it is now {delay} late. We are very sorry.")
    return t.gettext("An update on {subject}: we are very sorry that it has got worse.")


def _offer(t: Translator, compensation: Compensation, short: bool, top_up: bool) -> str | None:
    match compensation.kind, short:
        case "refund", True if top_up:
            return t.gettext("We have refunded a further {amount}.")
        case "refund", True:
            return t.gettext("We have refunded {amount}.")
        case "refund", False if top_up:
            return t.gettext("We have refunded a further {amount} to your original payment method.")
        case "refund", False:
            return t.gettext(
                "We have refunded {amount} to your original payment method;"
                " you do not need to do anything."
            )
        case "voucher", True:
            return t.gettext("Voucher {code}: {amount}, valid until {until}.")
        case "voucher", False:
            return t.gettext(
                "As an apology, here is a voucher for {amount}: {code}. It is valid until {until}."
            )
        case "gift", True:
            return t.gettext("For you: {item}.")
        case "gift", False:
            return t.gettext("As an apology, we would like to offer you {item}.")
        case "eu261", True:
            return t.gettext("EU 261 compensation of {amount} is on its way to you.")
        case "eu261", False:
            return t.gettext(
                "Under EU Regulation 261/2004 you are owed {amount}. We are paying it"
                " automatically; there is no claim to file."
            )
        case "contact", True:
            return t.gettext("We will contact you by {due}.")
        case "contact", False:
            return t.gettext("Someone from our team will contact you personally by {due}.")
    return None


def _closing(t: Translator, form: str) -> str:
    if form == "short":
        return t.gettext("No need to contact us.")
    return t.gettext("You do not need to contact us; we will keep you posted.")


def _values(compensation: Compensation, customer: Customer) -> dict[str, str]:
    values = {
        "amount": format_money(compensation.amount, customer.locale) if compensation.amount else "",
        "code": compensation.code or "",
        "item": compensation.item or "",
    }
    for key, moment in (("until", compensation.expires_at), ("due", compensation.due_at)):
        values[key] = format_when(moment, customer.timezone, customer.locale) if moment else ""
    return values


@attrs.frozen
class Parts:
    """A message before it is joined: kept apart so that grouped messages say
    the greeting and the closing once, whatever words a catalog chose."""

    title: str | None
    greeting: str | None
    body: str
    closing: str | None


def compose(
    purpose: str,
    customer: Customer,
    subject: str,
    *,
    form: str = "chat",
    topic: str = "generic",
    delay: dt.timedelta | None = None,
    compensations: Sequence[Compensation] = (),
    fallback_locale: str = "en",
    catalogs: tuple[tuple[str, Path], ...] = (),
) -> Parts:
    """The parts of the message for ``purpose`` (``notice``, ``escalation``, ``resolution``)."""
    t = translator(customer.locale, fallback_locale, catalogs)
    values = {"subject": subject, "name": customer.name or ""}
    if delay is not None:
        values["delay"] = exact_duration(delay, customer.locale)
    has_delay = delay is not None
    if purpose == "resolution":
        lead = t.gettext(
            "Good news: the problem with {subject} is resolved. Thank you for your patience."
        )
    elif purpose == "escalation":
        lead = _update(t, topic, has_delay, form == "short")
    else:
        lead = _apology(t, topic, has_delay)
    short = form == "short"
    sentences = [safe_format(lead, values)]
    for compensation in compensations:
        offer = _offer(t, compensation, short, top_up=purpose == "escalation")
        if offer is not None:
            sentences.append(safe_format(offer, _values(compensation, customer)))
    closing = _closing(t, form) if purpose != "resolution" else None
    if form != "email":
        return Parts(None, None, " ".join(sentences), closing)
    greeting = t.gettext("Hello {name},") if customer.name else t.gettext("Hello,")
    return Parts(
        safe_format(_title(t, purpose, topic), values),
        safe_format(greeting, values),
        " ".join(sentences),
        closing,
    )


def render(
    purpose: str,
    customer: Customer,
    subject: str,
    *,
    form: str = "chat",
    topic: str = "generic",
    delay: dt.timedelta | None = None,
    compensations: Sequence[Compensation] = (),
    fallback_locale: str = "en",
    catalogs: tuple[tuple[str, Path], ...] = (),
) -> Rendered:
    """The message for ``purpose`` (``notice``, ``escalation``, ``resolution``).

    ``catalogs`` are host domains registered through ``register_catalogs``,
    looked up before pxr's own.
    """
    parts = compose(
        purpose,
        customer,
        subject,
        form=form,
        topic=topic,
        delay=delay,
        compensations=compensations,
        fallback_locale=fallback_locale,
        catalogs=catalogs,
    )
    return join([parts], customer.locale, fallback_locale, catalogs)


def join(
    parts: Sequence[Parts],
    locale: str,
    fallback_locale: str = "en",
    catalogs: tuple[tuple[str, Path], ...] = (),
) -> Rendered:
    """One message from the parts of one or more: the greeting once at the top,
    each body in its own paragraph, the closing once at the end; an e-mail
    subject counts the updates when there are several."""
    first = parts[0]
    sep = "\n\n" if len(parts) > 1 else " "
    body = sep.join(p.body for p in parts)
    closing = next((p.closing for p in reversed(parts) if p.closing), None)
    if closing:
        body = f"{body}{sep}{closing}"
    title = first.title
    if len(parts) > 1 and title is not None:
        t = translator(locale, fallback_locale, catalogs)
        template = t.ngettext("{count} update from us", "{count} updates from us", len(parts))
        title = safe_format(template, {"count": str(len(parts))})
    if first.greeting is not None:
        body = f"{first.greeting}\n\n{body}"
    return Rendered(title, body)
