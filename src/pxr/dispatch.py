"""The dispatcher: drains the outbox through the notifiers.

Every message is in the ledger's outbox before anything is sent, so a crash
between deciding and sending loses nothing: the next run finds it pending.
Each entry is *claimed* with a lease before sending and settled after, so
two dispatchers never send the same entry, and an entry whose sender died
mid-send is taken up again when its lease runs out.

Failures: a transient one is retried with exponential backoff and jitter
until ``max_attempts``, then the message moves to the customer's next
channel, as a permanent one (the address will not work) does at once; it is
dead only when every channel has failed. A message overtaken by a later one
about the same breach that already went out (an escalation, a resolution) is
cancelled, not sent late.

Consent: a provider's permanent refusal is remembered for the address (see
:mod:`pxr.consent`); a claimed message whose channel the customer opted out
of, or whose address was refused, moves to the next usable channel or ends
``cancelled`` with the reason, and is never sent on it. An
uncertain one (the request went out, the answer was lost) is resent only on
the channels the policy names in ``resend_uncertain`` (at least once);
elsewhere the message ends ``uncertain`` (at most once). A
transport that raises fails its own message as a transient failure; the run
goes on with the others.

Grouping: due messages for one customer on one channel, due within
``group_window`` of the first, go out as one message, not three (a zero
window turns grouping off).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping, Sequence

import attrs

from pxr.channels import (
    DeliveryResult,
    DeliveryStatus,
    MessageUnsendable,
    Notifier,
    close_notifiers,
    send,
)
from pxr.consent import ConsentRecord, ConsentState, blocked, usable_fallbacks
from pxr.customers import CustomerDirectory
from pxr.ledger import DeliveryAttempt, OutboxEntry, OutboxStatus, OutboxStore
from pxr.model import Customer, Message
from pxr.plugins import Plugins
from pxr.policy import Delivery
from pxr.rendering import Renderer

log = logging.getLogger("pxr.dispatch")

__all__ = ["DispatchReport", "Dispatcher", "backoff"]

#: How long a sender may hold an entry before another may take it over.
LEASE = dt.timedelta(minutes=5)


def backoff(
    attempt: int, base: dt.timedelta, rng: Callable[[], float] = random.random
) -> dt.timedelta:
    """``base · 2^(attempt-1)``, scaled by a jitter factor in [0.5, 1.5)."""
    return base * (1 << (attempt - 1)) * (0.5 + rng())


@attrs.frozen
class DispatchReport:
    """What one dispatch run did."""

    sent: int = 0
    retried: int = 0
    rerouted: int = 0
    dead: int = 0
    skipped: int = 0
    cancelled: int = 0
    uncertain: int = 0

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(*(getattr(self, f) + getattr(other, f) for f in _REPORT_FIELDS))


_REPORT_FIELDS = tuple(f.name for f in attrs.fields(DispatchReport))


class Dispatcher:
    """Sends what is due in a ledger's outbox. Safe to run in several processes.

    Each entry is put into words when it is sent (``renderer``), for the
    customer as the host's directory knows them at that moment
    (``customers``; without one, as the entry remembers them). Plugins'
    ``before_send`` see the rendered message and may amend or veto it; the
    exact text sent is kept with the delivery attempt.
    """

    def __init__(
        self,
        ledger: OutboxStore,
        notifiers: Mapping[str, Notifier],
        settings: Delivery,
        *,
        renderer: Renderer,
        customers: CustomerDirectory | None = None,
        plugins: Plugins | None = None,
        rng: Callable[[], float] = random.random,
        on_dead: Callable[[OutboxEntry, dt.datetime], object] | None = None,
    ) -> None:
        self.ledger = ledger
        #: Called (inside the transaction that settles it) for a message dead on
        #: every channel: the engine hands the case to a person.
        self.on_dead = on_dead
        self.notifiers = notifiers
        self.settings = settings
        self.renderer = renderer
        self.customers = customers
        self.plugins = plugins
        self._rng = rng

    def run(self, now: dt.datetime | None = None, *, limit: int = 500) -> DispatchReport:
        """Send everything due by ``now`` (the ledger's clock if not given; at most
        ``limit`` entries).

        Transports are closed at the end of the run (an SMTP session, kept-alive
        HTTP connections), so each run opens at most one session per server.
        """
        if now is None:
            now = self.ledger.now()
        report = DispatchReport()
        # A channel without a transport waits: its messages stay pending, untouched,
        # until a dispatcher that can send them comes along.
        try:
            due = self.ledger.due(now, limit, channels=set(self.notifiers))
            for group in self._groups(due):
                report += self._send_group(group, now)
        finally:
            close_notifiers(self.notifiers.values())
        return report

    def _groups(self, due: Sequence[OutboxEntry]) -> list[list[OutboxEntry]]:
        groups: dict[tuple[str, str, str], list[list[OutboxEntry]]] = {}
        window = self.settings.group_window
        for entry in due:
            key = (entry.customer, entry.channel, entry.to)
            runs = groups.setdefault(key, [])
            first = runs[-1][0] if runs else None
            if first is not None and window and entry.send_at - first.send_at <= window:
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return [run for runs in groups.values() for run in runs]

    def _before_send(self, message: Message, customer: Customer) -> Message | str:
        """Each plugin's ``before_send`` in turn: the amended message, or why it was vetoed."""
        if self.plugins is None:
            return message
        for impl in self.plugins.impls("before_send"):
            answer = self.plugins.call_one(impl, "before_send", message=message, customer=customer)
            if isinstance(answer, str):
                return f"vetoed by {impl.plugin_name}: {answer}"
            if isinstance(answer, Message):
                message = answer
        return message

    def _send_group(self, group: list[OutboxEntry], now: dt.datetime) -> DispatchReport:
        with self.ledger.transaction():
            claimed = [
                (e.id, e)
                for e in group
                if e.id is not None and self.ledger.claim(e.id, now, now + LEASE)
            ]
        if not claimed:
            return DispatchReport(skipped=len(group))
        report = DispatchReport()
        stale = self.ledger.superseded([entry_id for entry_id, _ in claimed])
        if stale:
            # A later message about the same breach (escalated, resolved) went
            # out already: this one would contradict it.
            overtaken = DeliveryResult(
                DeliveryStatus.PERMANENT,
                detail="overtaken by a later message about the same breach",
            )
            with self.ledger.transaction():
                for entry_id, entry in claimed:
                    if entry_id in stale:
                        self.ledger.settle(
                            entry_id,
                            self._attempt(entry_id, entry, overtaken, now, None),
                            OutboxStatus.CANCELLED,
                        )
            report += DispatchReport(cancelled=len(stale))
            claimed = [(entry_id, e) for entry_id, e in claimed if entry_id not in stale]
            if not claimed:
                return report
        first = claimed[0][1]
        # The customer opted out of this channel, or a provider refused this
        # address, after the message was queued: not on it, ever.
        why = blocked(self.ledger.consent_of(first.customer), first.channel, first.to)
        if why is not None:
            return report + self._withdraw(claimed, why, now)
        entries = [e for _, e in claimed]
        known = self.customers.get(first.customer) if self.customers is not None else None
        reader = known or Customer(id=first.customer, locale=first.locale, timezone=first.timezone)
        message = self.renderer.render(entries, known, send_at=now)
        amended = self._before_send(message, reader)
        if isinstance(amended, str):
            cancelled = DeliveryResult(DeliveryStatus.PERMANENT, detail=amended)
            with self.ledger.transaction():
                for entry_id, entry in claimed:
                    self.ledger.settle(
                        entry_id,
                        self._attempt(entry_id, entry, cancelled, now, None),
                        OutboxStatus.CANCELLED,
                    )
            return report + DispatchReport(cancelled=len(claimed))
        message = amended
        notifier = self.notifiers[first.channel]  # due() returns only channels with a notifier
        # The same key on every attempt, so a provider that takes an idempotency
        # key (an e-mail's Message-ID) sees a resend as the same message.
        key = "\x1e".join(sorted(e.key for e in entries))
        refused = False  # by the provider: the address will never work
        try:
            result = send(notifier, message, key=key)
            refused = result.status is DeliveryStatus.PERMANENT
        except MessageUnsendable as unsendable:
            result = DeliveryResult.permanent(f"cannot be sent: {unsendable.reason}")
        except Exception as error:  # noqa: BLE001 - one broken transport fails its own message
            result = DeliveryResult.transient(
                f"the {first.channel} transport raised {type(error).__name__}"
            )
            log.warning("pxr: %s", result.detail)
        with self.ledger.transaction():
            if refused:
                self.ledger.record_consent(
                    ConsentRecord(
                        customer=first.customer,
                        channel=first.channel,
                        state=ConsentState.REFUSED,
                        at=now,
                        source="provider",
                        address=first.to,
                    )
                )
            for entry_id, entry in claimed:
                attempt = self._attempt(entry_id, entry, result, now, message)
                report += self._settle(entry_id, entry, attempt, result, now)
        if self.plugins is not None:
            for _, entry in claimed:
                self.plugins.call("delivery_result", entry=entry, result=result)
        return report

    def _withdraw(
        self, claimed: list[tuple[int, OutboxEntry]], why: str, now: dt.datetime
    ) -> DispatchReport:
        """Move claimed entries off a channel consent rules out: to the customer's
        next usable channel, or ``cancelled`` with ``why`` if none is left."""
        result = DeliveryResult(DeliveryStatus.PERMANENT, detail=why)
        report = DispatchReport()
        with self.ledger.transaction():
            consent = self.ledger.consent_of(claimed[0][1].customer)
            for entry_id, entry in claimed:
                attempt = self._attempt(entry_id, entry, result, now, None)
                left = usable_fallbacks(consent, entry.fallbacks)
                if left:
                    (channel, to), *rest = left
                    self.ledger.reroute(
                        entry_id,
                        attempt,
                        channel=channel,
                        to=to,
                        fallbacks=tuple(rest),
                        send_at=now,
                    )
                    report += DispatchReport(rerouted=1)
                else:
                    self.ledger.settle(entry_id, attempt, OutboxStatus.CANCELLED)
                    report += DispatchReport(cancelled=1)
        return report

    def _attempt(
        self,
        entry_id: int,
        entry: OutboxEntry,
        result: DeliveryResult,
        now: dt.datetime,
        message: Message | None,
    ) -> DeliveryAttempt:
        return DeliveryAttempt(
            entry_id=entry_id,
            attempt=entry.attempts + 1,
            channel=entry.channel,
            status=result.status.value,
            at=now,
            detail=result.detail,
            provider_id=result.provider_id,
            title=message.title if message is not None else None,
            text=message.text if message is not None else None,
            segments=message.segments if message is not None else None,
        )

    def _settle(
        self,
        entry_id: int,
        entry: OutboxEntry,
        attempt: DeliveryAttempt,
        result: DeliveryResult,
        now: dt.datetime,
    ) -> DispatchReport:
        if result.status is DeliveryStatus.SENT:
            self.ledger.settle(entry_id, attempt, OutboxStatus.SENT)
            return DispatchReport(sent=1)
        if result.status is DeliveryStatus.UNCERTAIN and (
            entry.channel not in self.settings.resend_uncertain
            or attempt.attempt >= self.settings.max_attempts
        ):
            # At most once: it may well have gone out; sending again could say it twice.
            self.ledger.settle(entry_id, attempt, OutboxStatus.UNCERTAIN)
            return DispatchReport(uncertain=1)
        retryable = result.status in (DeliveryStatus.TRANSIENT, DeliveryStatus.UNCERTAIN)
        if retryable and attempt.attempt < self.settings.max_attempts:
            wait = backoff(attempt.attempt, self.settings.retry_backoff, self._rng)
            self.ledger.retry_later(entry_id, attempt, now + wait)
            return DispatchReport(retried=1)
        # Refused, or the channel stayed down: the customer's next channel, if any.
        if entry.fallbacks:
            (channel, to), *rest = entry.fallbacks
            self.ledger.reroute(
                entry_id, attempt, channel=channel, to=to, fallbacks=tuple(rest), send_at=now
            )
            return DispatchReport(rerouted=1)
        self.ledger.settle(entry_id, attempt, OutboxStatus.DEAD)
        if self.on_dead is not None:
            self.on_dead(entry, now)
        return DispatchReport(dead=1)
