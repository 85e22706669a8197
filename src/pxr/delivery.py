"""Every delivery rule in one place: channel preference and fallback, consent,
quiet hours, and the SMS alphabet.

Each rule is a plain function of immutable values, so the decision step
applies them in one order and a test can check each alone. (The message
limit is counted in :mod:`pxr.decide` from the ledger's snapshot.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import attrs

from pxr.channels import AddressRefused, Channel
from pxr.channels.gsm import sms_encoding, sms_segments, to_gsm7
from pxr.consent import ConsentRecord, blocked
from pxr.model import Customer, Message
from pxr.policy import Policy

__all__ = ["Route", "Unreachable", "route", "send_time", "sms_cost"]


@attrs.frozen
class Route:
    """The channel chosen for a customer, their address on it, and the
    ``(channel, address)`` pairs to fall back to, in order."""

    channel: Channel
    address: str = attrs.field(repr=False)
    fallbacks: tuple[tuple[Channel, str], ...] = attrs.field(default=(), repr=False)


@attrs.frozen
class Unreachable:
    """No channel could be used; ``reason`` lists why, channel by channel."""

    reason: str


def route(
    customer: Customer,
    policy: Policy,
    channels: Mapping[str, Channel],
    consent: Mapping[str, ConsentRecord] | None = None,
) -> Route | Unreachable:
    """The first channel in the customer's order (else the policy's) that can reach them.

    A channel is skipped when the customer opted out of it (in their details,
    or as the ledger's ``consent`` remembers), has no address on it, has one
    the channel refuses (a landline for SMS), or one a provider refused for good.
    """
    refusals = []
    usable: list[tuple[Channel, str]] = []
    for name in customer.channels or policy.channels:
        if name in customer.opt_out:
            refusals.append(f"{name}: opted out")
            continue
        channel = channels.get(name)
        if channel is None:
            refusals.append(f"{name}: no such channel")
            continue
        try:
            address = channel.address_for(customer)
        except AddressRefused as refused:
            refusals.append(f"{name}: {refused.reason}")
            continue
        if address is None:
            refusals.append(f"{name}: no address")
            continue
        why = blocked(consent or {}, name, address)
        if why is not None:
            refusals.append(why)
            continue
        usable.append((channel, address))
    if usable:
        (channel, address), rest = usable[0], usable[1:]
        return Route(channel, address, tuple(rest))
    return Unreachable("no channel reaches the customer (" + "; ".join(refusals or ["none"]) + ")")


def send_time(customer: Customer, at: dt.datetime, policy: Policy) -> dt.datetime:
    """When a message decided at ``at`` may go out: after quiet hours, in the customer's zone."""
    if policy.quiet_hours is None:
        return at
    return policy.quiet_hours.defer(at, customer.zone)


def sms_cost(message: Message, transliterate: bool) -> Message:
    """With ``[recovery] sms = { transliterate = true }``, a UCS-2 SMS is rewritten
    in GSM-7 letters where it can be: often half the segments, at some cost to
    the look of Polish, Romanian and Bulgarian text. Other messages are unchanged.
    """
    if not transliterate or message.encoding != "UCS-2":
        return message
    text = to_gsm7(message.text)
    return attrs.evolve(
        message, text=text, encoding=sms_encoding(text), segments=sms_segments(text)
    )
