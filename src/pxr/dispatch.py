"""The dispatcher: drains the outbox through the notifiers.

Every message is in the ledger's outbox before anything is sent, so a crash
between deciding and sending loses nothing: the next run finds it pending.
Each entry is *claimed* with a lease before sending and settled after, so
two dispatchers never send the same entry, and an entry whose sender died
mid-send is taken up again when its lease runs out.

Failures: a transient one is retried with exponential backoff and jitter
until ``max_attempts``, then dead-lettered; a permanent one (the address
will not work) moves the message to the customer's next channel.

Grouping: due messages for one customer on one channel, due within
``group_window`` of the first, go out as one message, not three (a zero
window turns grouping off).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence

import attrs

from pxr.channels import Channel, DeliveryResult, DeliveryStatus, Notifier
from pxr.ledger import DeliveryAttempt, Ledger, OutboxEntry
from pxr.messages import combine
from pxr.plugins import Plugins
from pxr.policy import Delivery

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

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


class Dispatcher:
    """Sends what is due in a ledger's outbox. Safe to run in several processes."""

    def __init__(
        self,
        ledger: Ledger,
        channels: Mapping[str, Channel],
        notifiers: Mapping[str, Notifier],
        settings: Delivery,
        *,
        plugins: Plugins | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.ledger = ledger
        self.channels = channels
        self.notifiers = notifiers
        self.settings = settings
        self.plugins = plugins
        self._rng = rng

    def run(self, now: dt.datetime, *, limit: int = 500) -> DispatchReport:
        """Send everything due by ``now`` (at most ``limit`` entries)."""
        report = DispatchReport()
        # A channel without a transport waits: its messages stay pending, untouched,
        # until a dispatcher that can send them comes along.
        due = self.ledger.due(now, limit, channels=set(self.notifiers))
        for group in self._groups(due):
            report += self._send_group(group, now)
        return report

    def _groups(self, due: Sequence[OutboxEntry]) -> list[list[OutboxEntry]]:
        groups: dict[tuple[str, str, str], list[list[OutboxEntry]]] = {}
        window = self.settings.group_window
        for entry in due:
            key = (entry.customer, entry.message.channel, entry.message.to)
            runs = groups.setdefault(key, [])
            first = runs[-1][0] if runs else None
            if (
                first is not None
                and window
                and entry.message.send_at - first.message.send_at <= window
            ):
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return [run for runs in groups.values() for run in runs]

    def _send_group(self, group: list[OutboxEntry], now: dt.datetime) -> DispatchReport:
        with self.ledger.transaction():
            claimed = [
                (e.id, e)
                for e in group
                if e.id is not None and self.ledger.claim(e.id, now, now + LEASE)
            ]
        if not claimed:
            return DispatchReport(skipped=len(group))
        first = claimed[0][1].message
        notifier = self.notifiers.get(first.channel)
        channel = self.channels.get(first.channel)
        message = first if len(claimed) == 1 else combine([e.message for _, e in claimed])
        if channel is not None:
            message = channel.shape(message)
        if notifier is None:  # only due() entries with a notifier get here
            raise KeyError(first.channel)
        result = notifier.send(message)
        report = DispatchReport()
        with self.ledger.transaction():
            for entry_id, entry in claimed:
                report += self._settle(entry_id, entry, result, now)
        if self.plugins is not None:
            for _, entry in claimed:
                self.plugins.call("delivery_result", entry=entry, result=result)
        return report

    def _settle(
        self, entry_id: int, entry: OutboxEntry, result: DeliveryResult, now: dt.datetime
    ) -> DispatchReport:
        attempt_number = entry.attempts + 1
        attempt = DeliveryAttempt(
            entry_id=entry_id,
            attempt=attempt_number,
            channel=entry.message.channel,
            status=result.status.value,
            at=now,
            detail=result.detail,
            provider_id=result.provider_id,
        )
        if result.status is DeliveryStatus.SENT:
            self.ledger.settle(entry_id, attempt, "sent")
            return DispatchReport(sent=1)
        if result.status is DeliveryStatus.TRANSIENT:
            if attempt_number >= self.settings.max_attempts:
                self.ledger.settle(entry_id, attempt, "dead")
                return DispatchReport(dead=1)
            wait = backoff(attempt_number, self.settings.retry_backoff, self._rng)
            self.ledger.retry_later(entry_id, attempt, now + wait)
            return DispatchReport(retried=1)
        if entry.fallbacks:
            following, *rest = entry.fallbacks
            moved = attrs.evolve(following, send_at=now)
            self.ledger.reroute(entry_id, attempt, moved, tuple(rest))
            return DispatchReport(rerouted=1)
        self.ledger.settle(entry_id, attempt, "dead")
        return DispatchReport(dead=1)
