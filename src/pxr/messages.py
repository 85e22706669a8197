"""What pxr says to a customer: the one place that turns an action into text.

Every sentence is a gettext message (domain ``pxr``) with plain ``{name}``
fields, rendered in the customer's language with values Babel formatted for
their locale. The tone follows the source articles: apologise first, say
plainly what happened, say what the customer gets, make it effortless, and
never ask for a survey.

Each message comes in the form its channel needs:

* ``short`` (SMS): the apology, what they get, and that they need do
  nothing, written to a budget (one GSM-7 segment in English and Dutch; at
  most two UCS-2 segments in Polish, Bulgarian and Romanian, one GSM-7
  segment when transliterated; ``tests/test_copy.py`` checks it);
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
    format_last_day,
    format_money,
    format_when,
    safe_format,
    translator,
)
from pxr.model import Compensation, Customer, Referral

__all__ = ["FORMS", "TOPICS", "Parts", "Rendered", "compose", "join", "render"]

TOPICS = ("delivery", "flight", "wait", "survey", "generic")
FORMS = ("short", "email", "chat")


@attrs.frozen
class Rendered:
    """A title (the e-mail subject; ``None`` for other forms) and a text."""

    title: str | None
    text: str


def _title(t: Translator, purpose: str, topic: str) -> str:
    """The e-mail subject: the apology first, and what happened."""
    if purpose == "offer":
        # NOTE: Subject of the e-mail answering a customer's complaint with an
        # offer (a refund or a voucher) a person made. {subject}: a bare
        # reference code (PL-1001).
        return t.gettext("Your complaint about {subject}: our answer")
    if purpose == "referral":
        # NOTE: Subject of the e-mail that closes a complaint we could not
        # settle and names an out-of-court dispute resolution body. {subject}:
        # a bare reference code (PL-1001).
        return t.gettext("Your complaint about {subject}: where you can turn")
    if purpose == "resolution":
        # NOTE: Subject of the follow-up once the problem is fixed. {subject}: a
        # bare reference code (PL-1001).
        return t.gettext("Good news: {subject} is resolved")
    if purpose == "forecast":
        # NOTE: Subject of a heads-up sent before a problem happens (a carrier's
        # new ETA says the parcel will be late). Not an apology yet.
        # {subject}: a bare reference code (PL-1001).
        return t.gettext("A heads-up about {subject}")
    if purpose == "all_clear":
        # NOTE: Subject when a problem we warned about did not happen after all.
        # {subject}: a bare reference code (PL-1001).
        return t.gettext("All good with {subject} after all")
    if purpose in {"escalation", "confirmation"}:
        # NOTE: Subject when things got worse (a longer delay, more compensation).
        # {subject}: a bare reference code (PL-1001).
        return t.gettext("An apology and an update on {subject}")
    match topic:
        case "delivery":
            # NOTE: Subject for a late order. {subject}: a bare order number
            # (PL-1001).
            return t.gettext("Sorry, your order {subject} is running late")
        case "flight":
            # NOTE: Subject for a delayed flight. {subject}: a bare booking code
            # (K7QX2Z).
            return t.gettext("Sorry, your flight {subject} is delayed")
        case "wait":
            # NOTE: Subject after a long wait for support. {subject}: a bare
            # ticket number (T-77).
            return t.gettext("Sorry for keeping you waiting ({subject})")
        case "survey":
            # NOTE: Subject after a poor survey answer. {subject}: a bare
            # reference code (S-501).
            return t.gettext("Thank you for your feedback on {subject}")
    # NOTE: Subject when something went wrong. {subject}: a bare reference code
    # (P-199).
    return t.gettext("Sorry, something went wrong with {subject}")


def _apology(t: Translator, topic: str, has_delay: bool, short: bool = False) -> str:
    match topic, has_delay, short:
        case "delivery", True, True:
            # NOTE: SMS. The apology first, no colon after it. {subject}: a bare
            # order number (PL-1001). {delay}: a duration list in the nominative
            # ("1 day and 2 hours"). Keep it short: an SMS costs per segment.
            return t.gettext("Sorry, order {subject} is {delay} late.")
        case "delivery", False, True:
            # NOTE: SMS. {subject}: a bare order number (PL-1001).
            return t.gettext("Sorry, order {subject} is running late.")
        case "flight", True, True:
            # NOTE: SMS. {subject}: a bare booking code (K7QX2Z). {delay}: a
            # duration list in the nominative ("3 hours and 15 minutes"). The
            # message may be sent after landing: avoid the future tense.
            return t.gettext("Sorry, flight {subject} is delayed by {delay}.")
        case "flight", False, True:
            # NOTE: SMS. {subject}: a bare booking code (K7QX2Z).
            return t.gettext("Sorry, flight {subject} is delayed.")
        case "wait", True, True:
            # NOTE: SMS after a long wait for support. {delay}: a duration list in
            # the nominative ("52 minutes").
            return t.gettext("Sorry you had to wait {delay} for our help.")
        case "survey", _, True:
            # NOTE: SMS after a poor survey answer; never ask for another survey.
            return t.gettext("Sorry we let you down, and thank you for your feedback.")
        case _, True, True:
            # NOTE: SMS, any other late case. {subject}: a bare reference code
            # (P-199). {delay}: a duration list in the nominative ("5 hours").
            return t.gettext("Sorry, {subject} is {delay} late.")
        case _, False, True:
            # NOTE: SMS, any other problem. {subject}: a bare reference code (P-199).
            return t.gettext("Sorry, something went wrong with {subject}.")
        case "delivery", True, _:
            # NOTE: The apology first, no colon after it. {subject}: a bare order
            # number (PL-1001). {delay}: a duration list in the nominative ("1 day
            # and 2 hours"), never declined.
            return t.gettext("We're sorry that your order {subject} is {delay} late.")
        case "delivery", False, _:
            # NOTE: {subject}: a bare order number (PL-1001).
            return t.gettext("We're sorry that your order {subject} is running late.")
        case "flight", True, _:
            # NOTE: {subject}: a bare booking code (K7QX2Z). {delay}: a duration
            # list in the nominative ("3 hours and 15 minutes"). The message may be
            # sent after landing: avoid the future tense.
            return t.gettext("We're sorry that your flight {subject} is delayed by {delay}.")
        case "flight", False, _:
            # NOTE: {subject}: a bare booking code (K7QX2Z).
            return t.gettext("We're sorry that your flight {subject} is delayed.")
        case "wait", True, _:
            # NOTE: After a long wait for support. {delay}: a duration list in the
            # nominative ("52 minutes", "1 hour and 5 minutes").
            return t.gettext("We're sorry that you had to wait {delay} for our help.")
        case "survey", _, _:
            # NOTE: After a poor survey answer; never ask for another survey.
            # {subject}: a bare reference code (S-501).
            return t.gettext(
                "Thank you for your honest feedback on {subject}. We're sorry we let you down."
            )
        case _, True, _:
            # NOTE: Any other late case. {subject}: a bare reference code (P-199).
            # {delay}: a duration list in the nominative ("5 hours").
            return t.gettext("We're sorry that {subject} is {delay} late.")
    # NOTE: Any other problem. {subject}: a bare reference code (P-199).
    return t.gettext("We're sorry that something went wrong with {subject}.")


def _update(t: Translator, topic: str, has_delay: bool, short: bool) -> str:
    match topic, has_delay, short:
        case "delivery", True, True:
            # NOTE: SMS when an order is later still. Say what the code is.
            # {subject}: a bare order number (PL-1001). {delay}: the whole delay so
            # far, a duration list in the nominative ("1 day and 2 hours").
            return t.gettext("Order {subject}: now {delay} late. We're very sorry.")
        case "flight", True, True:
            # NOTE: SMS when a flight is later still. {subject}: a bare booking
            # code (K7QX2Z). {delay}: the whole delay, a duration list in the
            # nominative.
            return t.gettext("Flight {subject}: now delayed by {delay}. We're very sorry.")
        case _, True, True:
            # NOTE: SMS when a case is later still. {subject}: a bare reference
            # code (P-199). {delay}: the whole delay, a duration list in the
            # nominative.
            return t.gettext("Update on {subject}: now {delay} late. We're very sorry.")
        case "delivery", True, _:
            # NOTE: When an order is later still. {subject}: a bare order number
            # (PL-1001). {delay}: the whole delay so far, a duration list in the
            # nominative ("1 day and 2 hours").
            return t.gettext("We're very sorry, but your order {subject} is now {delay} late.")
        case "flight", True, _:
            # NOTE: When a flight is later still. {subject}: a bare booking code
            # (K7QX2Z). {delay}: the whole delay, a duration list in the nominative.
            return t.gettext(
                "We're very sorry, but your flight {subject} is now delayed by {delay}."
            )
        case _, True, _:
            # NOTE: When a case is later still. {subject}: a bare reference code
            # (P-199). {delay}: the whole delay, a duration list in the nominative.
            return t.gettext("We're very sorry, but {subject} is now {delay} late.")
    if short:
        # NOTE: SMS when things got worse without a new delay. {subject}: a bare
        # reference code (P-199).
        return t.gettext("Sorry, things have got worse with {subject}.")
    # NOTE: When things got worse without a new delay. {subject}: a bare
    # reference code (P-199).
    return t.gettext("We're very sorry that things have got worse with {subject}.")


def _offer(t: Translator, compensation: Compensation, short: bool, top_up: bool) -> str | None:
    match compensation.kind, short:
        case "refund", True if top_up:
            # NOTE: SMS, a second refund on top of an earlier one. {amount}: a
            # formatted amount with its currency ("2,50 zł", "€ 2,50").
            return t.gettext("We've refunded a further {amount}.")
        case "refund", True:
            # NOTE: SMS. {amount}: a formatted amount with its currency ("24,90 zł").
            return t.gettext("We've refunded {amount}.")
        case "refund", False if top_up:
            # NOTE: A second refund on top of an earlier one. {amount}: a formatted
            # amount with its currency ("2,50 zł"). The closing sentence already
            # says the customer need do nothing: do not repeat it here.
            return t.gettext("We've refunded a further {amount} to your original payment method.")
        case "refund", False:
            # NOTE: {amount}: a formatted amount with its currency ("24,90 zł").
            # The closing sentence already says the customer need do nothing: do
            # not repeat it here.
            return t.gettext("We've refunded {amount} to your original payment method.")
        case "voucher", True:
            # NOTE: SMS. {code}: the voucher code (KBRTT-JG2YS). {amount}: a
            # formatted amount with its currency. {until}: the last day the
            # voucher can be used, a formatted date in the customer's time zone
            # ("31.05.2026"); it is valid to the end of that day.
            return t.gettext("Voucher {code}: {amount}, valid until {until}.")
        case "voucher", False:
            # NOTE: {amount}: a formatted amount with its currency ("250,00 zł").
            # {code}: the voucher code (KBRTT-JG2YS). {until}: the last day the
            # voucher can be used, a formatted date ("31.05.2026"); it is valid to
            # the end of that day.
            return t.gettext(
                "To make up for it, here is a voucher for {amount}: {code}."
                " You can use it until {until}."
            )
        case "gift", True:
            # NOTE: SMS. {item}: what the customer gets, a phrase in the nominative
            # written in the policy ("free delivery", "free drinks"), singular or
            # plural: neither case nor agreement may depend on it.
            return t.gettext("For you: {item}.")
        case "gift", False:
            # NOTE: {item}: what the customer gets, a phrase in the nominative
            # written in the policy ("free delivery", "free drinks"), singular or
            # plural: build the sentence so that neither case nor agreement
            # depends on it (an apposition after a colon works).
            return t.gettext("To make up for it, we'd like to offer you {item}.")
        case "eu261", True:
            # NOTE: SMS. {amount}: a formatted amount with its currency ("250,00 €").
            return t.gettext("Your EU 261 compensation of {amount} is on its way.")
        case "eu261", False:
            # NOTE: {amount}: a formatted amount with its currency ("250,00 €").
            # Name the regulation as the official texts do in your language. The
            # closing sentence says the customer need do nothing: do not repeat it.
            return t.gettext(
                "Under EU Regulation 261/2004 you are entitled to {amount}."
                " We'll pay it to you automatically."
            )
        case "contact", True:
            # NOTE: SMS. {due}: a formatted date and time in the customer's time
            # zone ("4.03.2026, 10:15").
            return t.gettext("We'll contact you by {due}.")
        case "contact", False:
            # NOTE: {due}: a formatted date and time in the customer's time zone
            # ("4.03.2026, 10:15").
            return t.gettext("Someone from our team will contact you personally by {due}.")
    return None


def _forecast(t: Translator, topic: str, has_delay: bool, short: bool) -> str:
    """The heads-up: what will probably happen, and that we are already on it."""
    match topic, has_delay, short:
        case "delivery", True, True:
            # NOTE: SMS heads-up before a parcel is late (a forecast, not yet
            # a fact). {subject}: a bare order number (PL-1001). {delay}: a
            # duration list in the nominative ("1 day and 2 hours").
            return t.gettext(
                "Heads-up: order {subject} will probably be {delay} late. We're on it."
            )
        case "delivery", True, False:
            # NOTE: Heads-up before a parcel is late (a forecast). {subject}: a
            # bare order number (PL-1001). {delay}: a duration list in the
            # nominative ("1 day and 2 hours").
            return t.gettext(
                "A heads-up: your order {subject} will probably arrive {delay} late."
                " We are already working on it."
            )
        case "flight", True, True:
            # NOTE: SMS heads-up before a flight is delayed (a forecast).
            # {subject}: a bare booking code (K7QX2Z). {delay}: a duration list
            # in the nominative ("3 hours and 15 minutes").
            return t.gettext(
                "Heads-up: flight {subject} will probably be delayed by {delay}. We're on it."
            )
        case "flight", True, False:
            # NOTE: Heads-up before a flight is delayed (a forecast). {subject}:
            # a bare booking code (K7QX2Z). {delay}: a duration list in the
            # nominative ("3 hours and 15 minutes").
            return t.gettext(
                "A heads-up: your flight {subject} will probably be delayed by {delay}."
                " We are already working on it."
            )
        case _, True, True:
            # NOTE: SMS heads-up, any other forecast delay. {subject}: a bare
            # reference code (P-199). {delay}: a duration list in the nominative.
            return t.gettext("Heads-up: {subject} will probably be {delay} late. We're on it.")
        case _, True, False:
            # NOTE: Heads-up, any other forecast delay. {subject}: a bare
            # reference code (P-199). {delay}: a duration list in the nominative.
            return t.gettext(
                "A heads-up: {subject} will probably be {delay} late. We are already working on it."
            )
        case _, False, True:
            # NOTE: SMS heads-up, a forecast problem without a duration.
            # {subject}: a bare reference code (P-199).
            return t.gettext("Heads-up: {subject} may run into a problem. We're on it.")
    # NOTE: Heads-up, a forecast problem without a duration. {subject}: a bare
    # reference code (P-199).
    return t.gettext("A heads-up: {subject} may run into a problem. We are already working on it.")


def _all_clear(t: Translator, short: bool) -> str:
    if short:
        # NOTE: SMS after a heads-up that turned out wrong: all is well.
        # {subject}: a bare reference code (PL-1001).
        return t.gettext("Good news: {subject} is on track after all.")
    # NOTE: After a heads-up that turned out wrong: the problem we warned
    # about did not happen. {subject}: a bare reference code (PL-1001).
    return t.gettext(
        "Good news: {subject} is on track after all, so you can forget our earlier"
        " message. Sorry for the worry."
    )


def _complaint_answer(t: Translator, short: bool) -> str:
    """The first sentence of an answer to a complaint, before the offer."""
    if short:
        # NOTE: SMS answering a customer's complaint, before the offer. {subject}:
        # a bare reference code (PL-1001). Keep it short: an SMS costs per segment.
        return t.gettext("Sorry about {subject}, and thank you for telling us.")
    # NOTE: The first sentences of an answer to a customer's complaint, before
    # the offer (a refund or a voucher). {subject}: a bare reference code
    # (PL-1001).
    return t.gettext(
        "Thank you for your complaint about {subject}. We're sorry, and we want to put it right."
    )


def _referral(t: Translator, referral: Referral) -> list[str]:
    """The sentences Directive 2013/11/EU Art. 13(3) asks for when a complaint
    is not settled: the ADR body, its website, whether the trader takes part.
    Templates with ``{subject}``, ``{body}`` and ``{website}``."""
    # NOTE: A complaint we could not settle. {subject}: a bare reference code
    # (PL-1001). Sincere, not legalistic.
    lead = t.gettext("We're sorry that we could not settle your complaint about {subject}.")
    # NOTE: {body}: the name of an out-of-court (alternative) dispute resolution
    # body, in its own language ("De Geschillencommissie"); never declined, so
    # build the sentence around it (an apposition after a colon works).
    # {website}: its web address. Use the official term for "alternative
    # dispute resolution" in your language.
    pointer = t.gettext(
        "You can turn to an independent alternative dispute resolution body: {body}, {website}."
    )
    if referral.participates:
        # NOTE: After the name of the dispute resolution body: the trader will
        # take part in its procedure.
        stance = t.gettext("We will take part in its procedure.")
    else:
        # NOTE: After the name of the dispute resolution body: the trader has not
        # committed to take part in its procedure. Say it plainly and neutrally.
        stance = t.gettext("We have not committed to taking part in its procedure.")
    return [lead, pointer, stance]


def _closing(t: Translator, form: str) -> str:
    if form == "short":
        # NOTE: The last sentence of an SMS: the customer need do nothing.
        return t.gettext("No need to do anything.")
    # NOTE: The last sentence of an e-mail or chat message: the customer need do
    # nothing, and we will write again.
    return t.gettext("There's nothing you need to do; we'll keep you posted.")


def _values(compensation: Compensation, customer: Customer, locale: str) -> dict[str, str]:
    """The compensation's fields, formatted in ``locale`` (the catalog's locale)."""
    values = {
        "amount": format_money(compensation.amount, locale) if compensation.amount else "",
        "code": compensation.code or "",
        "item": compensation.item or "",
        # A voucher is valid to the end of a day: name the last whole day.
        "until": format_last_day(compensation.expires_at, customer.timezone or "UTC", locale)
        if compensation.expires_at
        else "",
        "due": format_when(compensation.due_at, customer.timezone or "UTC", locale)
        if compensation.due_at
        else "",
    }
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
    referral: Referral | None = None,
) -> Parts:
    """The parts of the message for ``purpose`` (``notice``, ``escalation``,
    ``resolution``, ``forecast``, ``all_clear``, ``confirmation``, ``offer``, or
    ``referral`` with the ADR body in ``referral``)."""
    t = translator(customer.locale, fallback_locale, catalogs)
    # Words, numbers and dates in one language: the locale whose catalog speaks.
    locale = t.locale
    values = {"subject": subject, "name": customer.name or ""}
    if delay is not None:
        values["delay"] = exact_duration(delay, locale)
    has_delay = delay is not None
    if purpose == "resolution":
        # NOTE: The follow-up once the problem is fixed. {subject}: a bare
        # reference code (PL-1001).
        lead = t.gettext(
            "Good news: the problem with {subject} is resolved. Thank you for your patience."
        )
    elif purpose in {"escalation", "confirmation"}:
        # A confirmation follows a heads-up: an update, but nothing was paid before.
        lead = _update(t, topic, has_delay, form == "short")
    elif purpose == "forecast":
        lead = _forecast(t, topic, has_delay, form == "short")
    elif purpose == "all_clear":
        lead = _all_clear(t, form == "short")
    elif purpose == "offer":
        lead = _complaint_answer(t, form == "short")
    else:
        lead = _apology(t, topic, has_delay, form == "short")
    short = form == "short"
    sentences = [safe_format(lead, values)]
    if purpose == "referral" and referral is not None:
        values |= {"body": referral.name, "website": referral.website}
        sentences = [safe_format(template, values) for template in _referral(t, referral)]
    for compensation in compensations:
        offer = _offer(t, compensation, short, top_up=purpose == "escalation")
        if offer is not None:
            sentences.append(safe_format(offer, _values(compensation, customer, locale)))
    closing = _closing(t, form) if purpose not in {"resolution", "all_clear", "referral"} else None
    if form != "email":
        return Parts(None, None, " ".join(sentences), closing)
    # NOTE: Not shown to customers. Translate as "no" where greeting someone
    # by name would need a declined form the data does not have (the Polish
    # vocative "Anno"): the e-mail then greets without the name. Else "yes".
    by_name = t.gettext("Greet customers by name: yes") != "no"
    greeting = (
        # NOTE: The e-mail greeting. {name}: the customer's given name, as
        # stored (nominative).
        t.gettext("Hello {name},")
        if customer.name and by_name
        # NOTE: The e-mail greeting when the name is not known.
        else t.gettext("Hello,")
    )
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
    """The message for ``purpose`` (``notice``, ``escalation``, ``resolution``, ``offer``).

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
        # NOTE: The subject of an e-mail that groups several messages. {count}:
        # how many (2 or more), a number.
        template = t.ngettext("{count} update from us", "{count} updates from us", len(parts))
        title = safe_format(template, {"count": str(len(parts))})
    if first.greeting is not None:
        body = f"{first.greeting}\n\n{body}"
    return Rendered(title, body)
