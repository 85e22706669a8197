"""Turning an outbox entry into the message a customer reads, at the moment
it is sent (or previewed).

The outbox keeps :class:`~pxr.model.Content`; a :class:`Renderer` puts it
into words in the customer's language and time zone as they are *now* (from
the host's directory when it knows the customer, else as the entry
remembers), with the host's catalogs, shaped for the channel, and — where the
policy says so — transliterated to GSM-7. Several entries for one customer
on one channel become one message, part by part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from pxr.channels import Channel
from pxr.delivery import sms_cost
from pxr.errors import PxrError
from pxr.ledger import OutboxEntry
from pxr.messages import Parts, compose, join
from pxr.model import Customer, Message, Purpose
from pxr.policy import Policy

__all__ = ["Renderer"]


@attrs.frozen
class Renderer:
    """Renders outbox entries with a policy's fallback language, the host's
    catalogs and the channels' shapes."""

    channels: Mapping[str, Channel]
    fallback_locale: str = "en"
    catalogs: tuple[tuple[str, Path], ...] = ()
    transliterate: bool = False

    @classmethod
    def for_policy(
        cls,
        policy: Policy,
        channels: Mapping[str, Channel],
        catalogs: Sequence[tuple[str, Path]] = (),
    ) -> Renderer:
        """A renderer for ``policy``; ``catalogs`` are the registered domains
        (pxr's own is looked up last whatever its place here)."""
        host = tuple((domain, path) for domain, path in catalogs if domain != "pxr")
        return cls(channels, policy.locale, host, policy.sms_transliterate)

    def _reader(self, entry: OutboxEntry, customer: Customer | None) -> Customer:
        """Who reads it: the host's customer as now, or what the entry remembers
        (and the zone the entry was timed in, for a customer who has none)."""
        if customer is None:
            return Customer(id=entry.customer, locale=entry.locale, timezone=entry.timezone)
        if customer.timezone is None:
            return attrs.evolve(customer, timezone=entry.timezone)
        return customer

    def _parts(self, entry: OutboxEntry, reader: Customer) -> Parts:
        content = entry.content
        if content is None:
            raise PxrError("an entry without content has its text already")
        return compose(
            content.purpose,
            reader,
            content.subject,
            form=self._form(entry.channel),
            topic=content.topic,
            delay=content.delay,
            compensations=content.compensations,
            referral=content.referral,
            fallback_locale=self.fallback_locale,
            catalogs=self.catalogs,
        )

    def _form(self, channel: str) -> str:
        found = self.channels.get(channel)
        return str(getattr(found, "form", "chat")) if found is not None else "chat"

    def render(
        self,
        entries: Sequence[OutboxEntry],
        customer: Customer | None = None,
        *,
        send_at: dt.datetime | None = None,
    ) -> Message:
        """The message for one entry, or for several to one address as one.

        An entry queued as text by an older pxr is sent as it was written.
        """
        first = entries[0]
        reader = self._reader(first, customer)
        when = send_at if send_at is not None else max(e.send_at for e in entries)
        worded = [e for e in entries if e.content is not None]
        if worded:
            rendered = join(
                [self._parts(e, reader) for e in worded],
                reader.locale,
                self.fallback_locale,
                self.catalogs,
            )
            title, text = rendered.title, rendered.text
        else:
            title, text = None, ""
        for entry in entries:
            if entry.content is None and entry.rendered is not None:
                text = f"{text}\n\n{entry.rendered.text}" if text else entry.rendered.text
                title = title or entry.rendered.title
        purpose = Purpose.GROUP if len(entries) > 1 else first.purpose
        message = Message(
            channel=first.channel,
            to=first.to,
            locale=reader.locale,
            title=title,
            text=text,
            send_at=when,
            purpose=purpose,
        )
        channel = self.channels.get(first.channel)
        if channel is not None:
            message = channel.shape(message)
        return sms_cost(message, self.transliterate)
