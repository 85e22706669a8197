"""``Recovery``: the engine a host application holds. Signal in, actions out.

Each signal is handled in three steps: *load* the state it needs from the
ledger (the breach, what it paid, the customer's recent spend and messages),
*decide* on plain values (:func:`pxr.decide.decide`), and *apply* the
decision in one ledger write that says what won. Replaying the same input
finds everything already there and does nothing again; a concurrent writer
that got there first makes the engine load and decide again.

Lifecycle hooks run once the outermost transaction commits — also when the
host holds it — and never for work that rolled back. One ``Recovery`` may be
shared by the threads of a web server: it keeps no per-call state, and the
ledger gives each thread its own transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from itertools import islice
from typing import Any

import attrs

from pxr import cases
from pxr.channels import Notifier
from pxr.consent import ConsentRecord, ConsentState
from pxr.customers import CustomerDirectory, InMemoryDirectory, LookupDirectory
from pxr.decide import (
    BUDGET_WINDOW,
    MESSAGE_WINDOW,
    decide,
    in_holdout,
    message_items,
    tally_for,
)
from pxr.dispatch import Dispatcher, DispatchReport
from pxr.errors import LedgerError, PxrError, ValidationError
from pxr.events import (
    Complaint,
    Contacted,
    CustomerEvent,
    Event,
    OptOut,
    Outcome,
    Resolved,
    SignalEvent,
)
from pxr.ledger import (
    Applied,
    BreachChange,
    CompensationRecord,
    Decision,
    DecisionItem,
    Ledger,
    OutboxEntry,
    SuppressionRecord,
)
from pxr.ledger.memory import MemoryLedger
from pxr.model import (
    Action,
    Breach,
    BreachEscalated,
    BreachOpened,
    BreachResolved,
    CompensationIssued,
    ComplaintRecorded,
    Customer,
    ForecastConfirmed,
    MessageQueued,
    Purpose,
    Reason,
    Severity,
    Signal,
    Suppressed,
    check_aware,
)
from pxr.plugins import Plugins, get_plugins
from pxr.policy import Policy, Rule
from pxr.rendering import Renderer

__all__ = ["Recovery", "in_holdout"]

_NOTHING: tuple[Action, ...] = ()
#: How often to load and decide again when concurrent writers keep winning.
_ATTEMPTS = 8


def _directory(
    customers: CustomerDirectory | Callable[[str], Customer | None] | Iterable[Customer],
) -> CustomerDirectory:
    if isinstance(customers, CustomerDirectory):
        return customers
    if callable(customers):
        return LookupDirectory(customers)
    return InMemoryDirectory(customers)


class Recovery:
    """Signal in, actions out; everything recorded in the ledger.

    ``customers`` is where customers come from: a
    :class:`~pxr.customers.CustomerDirectory`, the host's look-up function
    (cached, see :class:`~pxr.customers.LookupDirectory`), or customers to
    keep in memory.

    >>> from pxr import Recovery, load_policy
    >>> recovery = Recovery(load_policy("examples/parcel/policy.toml"))  # doctest: +SKIP
    """

    def __init__(
        self,
        policy: Policy,
        ledger: Ledger | None = None,
        *,
        plugins: Plugins | None = None,
        customers: CustomerDirectory | Callable[[str], Customer | None] | Iterable[Customer] = (),
        notifiers: Mapping[str, Notifier] | None = None,
    ) -> None:
        self.policy = policy
        self.ledger: Ledger = MemoryLedger() if ledger is None else ledger
        self.plugins = plugins or get_plugins()
        self.notifiers: dict[str, Notifier] = dict(notifiers or {})
        self.customers = _directory(customers)
        self._channels = self.plugins.registry.channels
        self.renderer = Renderer.for_policy(policy, self._channels, self.plugins.registry.catalogs)
        by_metric: dict[str, list[Rule]] = defaultdict(list)
        for rule in policy.rules:
            by_metric[rule.threshold.metric].append(rule)
        self._by_metric: Mapping[str, tuple[Rule, ...]] = {
            metric: tuple(rules) for metric, rules in by_metric.items()
        }
        limits = policy.limits
        self._wants_spent = limits.compensation_per_30_days is not None
        self._wants_messages = limits.messages_per_day is not None

    def __repr__(self) -> str:
        return f"Recovery(rules={len(self.policy.rules)}, ledger={self.ledger!r})"

    def _hook(self, hook: str, **kwargs: Any) -> None:
        """Call ``hook`` once the outermost transaction commits."""
        self.ledger.after_commit(partial(self.plugins.call, hook, **kwargs))

    # ------------------------------------------------------------ customers

    def add_customer(self, customer: Customer) -> None:
        """Make ``customer`` known (or update their details) in an in-memory directory."""
        add = getattr(self.customers, "add", None)
        if add is None:
            raise PxrError(
                f"{self.customers!r} is the host's directory: add customers there, not to pxr"
            )
        add(customer)

    def customer(self, customer_id: str) -> Customer:
        """A known customer; raises :class:`~pxr.errors.ValidationError` if unknown."""
        found = self._known(customer_id)
        if found is None:
            raise ValidationError("customer", "unknown customer (not in the customer directory)")
        return found

    def _known(self, customer_id: str) -> Customer | None:
        """The customer from the directory, in the policy's zone if they have none."""
        found = self.customers.get(customer_id)
        if found is not None and found.timezone is None:
            return attrs.evolve(found, timezone=self.policy.timezone)
        return found

    # ------------------------------------------------------------ signals

    def observe(self, signal: Signal) -> Sequence[Action]:
        """Check one signal against the thresholds for its metric.

        Returns the actions taken (breach, escalation, compensation, message,
        suppressed), or nothing when all is well, already recorded, or from
        before the customer was erased.
        """
        hits = self._hits(signal)
        if hits is None or self.ledger.is_erased(signal.customer, signal.at):
            # An erased customer's old signal (a replay) must not bring the id back.
            return _NOTHING
        customer = self.customer(signal.customer)
        with self.ledger.transaction():
            return self._decide_and_apply(hits, signal, customer)

    def _hits(self, signal: Signal) -> list[tuple[Rule, Severity]] | None:
        """The rules the signal crosses, with the severity reached; ``None`` if none."""
        rules = self._by_metric.get(signal.metric)
        if rules is None:
            return None
        value = signal.value
        hits: list[tuple[Rule, Severity]] | None = None
        for rule in rules:
            if signal.forecast and rule.forecast is None:
                continue
            severity = rule.threshold.evaluate(value)
            if severity is not None:
                if hits is None:
                    hits = []
                hits.append((rule, severity))
        return hits

    def _decide_and_apply(
        self, hits: list[tuple[Rule, Severity]], signal: Signal, customer: Customer
    ) -> list[Action]:
        """Load, decide, apply; again if a concurrent writer changed what was loaded."""
        keys = [(rule.threshold.name, signal.subject) for rule, _ in hits]
        repeats = {
            rule.threshold.name: signal.at - rule.repeat.within
            for rule, _ in hits
            if rule.repeat is not None and not signal.forecast
        }
        for attempt in range(_ATTEMPTS):
            snapshot = self.ledger.load(
                customer.id,
                keys,
                spent_since=signal.at - BUDGET_WINDOW if self._wants_spent else None,
                messages_since=signal.at - MESSAGE_WINDOW if self._wants_messages else None,
                repeats_since=repeats or None,
            )
            if attempt == 0 and self.ledger.is_erased(customer.id, signal.at):
                return []  # erased since the first look: now the customer is held
            decision = decide(
                hits, signal, customer, snapshot, policy=self.policy, channels=self._channels
            )
            if not decision.items:
                return []
            applied = self.ledger.apply(decision)
            if not applied.conflict:
                return self._actions(applied, customer, signal.at)
        raise LedgerError("other writers kept changing this customer's state; try again")

    def _actions(self, applied: Applied, customer: Customer, at: dt.datetime) -> list[Action]:
        """The actions for what the ledger wrote, with their hooks queued for the commit."""
        actions: list[Action] = []
        breaches: dict[tuple[str, str], Breach] = {}
        for item in applied.won:
            if isinstance(item, BreachChange):
                breach = item.breach
                breaches[breach.key] = breach
                if breach.severity == Severity.CRITICAL and not breach.forecast:
                    self._case(breach.customer, breach.subject, cases.HandOverReason.CRITICAL, at)
                actions.append(self._changed(item, at))
            elif isinstance(item, CompensationRecord):
                actions.append(self._issued(item, breaches[item.threshold, item.subject], customer))
            elif isinstance(item, SuppressionRecord):
                if item.kind == Reason.UNREACHABLE and item.what == "message":
                    # No channel reaches the customer: a person must.
                    self._case(item.customer, item.subject, cases.HandOverReason.UNREACHABLE, at)
                actions.append(
                    Suppressed(
                        customer=item.customer,
                        subject=item.subject,
                        threshold=item.threshold,
                        severity=item.severity,
                        at=item.at,
                        what=item.what,
                        reason=item.reason,
                        kind=item.kind,
                    )
                )
            else:
                actions.append(self._queued(item, customer))
        return actions

    def _case(
        self, customer: str, subject: str, reason: cases.HandOverReason, at: dt.datetime
    ) -> None:
        """Open the subject's case and hand it to the team (once, after the commit)."""
        cases.open_hand_over(
            self.ledger,
            self.policy,
            self.plugins,
            customer=customer,
            subject=subject,
            reason=reason,
            at=at,
        )

    def _changed(self, change: BreachChange, at: dt.datetime) -> Action:
        """The action for a breach opened, raised or confirmed, with its hook queued."""
        breach = change.breach
        where: dict[str, Any] = {
            "customer": breach.customer,
            "subject": breach.subject,
            "threshold": breach.threshold,
            "severity": breach.severity,
            "at": at,
        }
        if change.confirms and change.previous is not None:
            return ForecastConfirmed(
                **where, previous=change.previous, lead_time=at - breach.opened_at
            )
        if change.previous is None:
            self._hook("breach_opened", breach=breach)
            return BreachOpened(
                **where, stage=breach.stage, holdout=breach.holdout, forecast=breach.forecast
            )
        self._hook("breach_escalated", breach=breach, previous=change.previous)
        return BreachEscalated(**where, previous=change.previous)

    def _issued(
        self, record: CompensationRecord, breach: Breach, customer: Customer
    ) -> CompensationIssued:
        compensation = record.compensation
        self._hook("compensation_issued", breach=breach, compensation=compensation)
        if compensation.kind == "contact":
            # A person takes over: the host's helpdesk opens a case.
            self._hook("hand_over", breach=breach, compensation=compensation, customer=customer)
            self._case(
                breach.customer, breach.subject, cases.HandOverReason.CONTACT, record.created_at
            )
        return CompensationIssued(
            customer=record.customer,
            subject=record.subject,
            threshold=record.threshold,
            severity=record.severity,
            at=record.created_at,
            compensation=compensation,
        )

    def _queued(self, entry: OutboxEntry, customer: Customer) -> MessageQueued:
        if entry.content is None:  # pragma: no cover - the engine always queues content
            raise PxrError("a queued message without content")
        return MessageQueued(
            customer=entry.customer,
            subject=entry.subject,
            threshold=entry.threshold,
            severity=entry.severity,
            at=entry.created_at,
            channel=entry.channel,
            to=entry.to,
            send_at=entry.send_at,
            content=entry.content,
            renderer=partial(self.renderer.render, (entry,), customer),
            timezone=entry.timezone,
            deferred=entry.send_at >= entry.created_at + MESSAGE_WINDOW,
        )

    def observe_many(
        self,
        signals: Iterable[Signal],
        *,
        batch_size: int = 1000,
        on_error: Callable[[Signal, PxrError], None] | None = None,
    ) -> list[Action]:
        """Observe many signals, committing once per ``batch_size``.

        A signal that fails is rolled back alone and passed to ``on_error``;
        without ``on_error`` the error is raised and its whole batch is
        rolled back (earlier batches stay committed; replaying is safe).
        Rolling back one signal alone takes a savepoint for each signal that
        crosses a threshold, so a batch without ``on_error`` is the faster one.
        """
        if batch_size < 1:
            raise ValidationError("batch_size", "must be at least 1")
        actions: list[Action] = []
        stream = iter(signals)
        while batch := list(islice(stream, batch_size)):
            with self.ledger.transaction():
                for signal in batch:
                    if on_error is None:
                        # The batch is all or nothing: no savepoint per signal.
                        hits = self._hits(signal)
                        if hits is not None and not self.ledger.is_erased(
                            signal.customer, signal.at
                        ):
                            customer = self.customer(signal.customer)
                            actions.extend(self._decide_and_apply(hits, signal, customer))
                        continue
                    try:
                        actions.extend(self.observe(signal))
                    except PxrError as error:
                        on_error(signal, error)
        return actions

    # ------------------------------------------------------------ host events

    def resolve(
        self, subject: str, at: dt.datetime, threshold: str | None = None
    ) -> Sequence[Action]:
        """Close the subject's breaches opened by ``at``, and tell each customer it is fixed.

        The resolution is recorded as an event, so replaying it does nothing,
        even if a breach was opened in between.
        """
        check_aware(at, "resolved.at")
        actions: list[Action] = []
        with self.ledger.transaction():
            # Producers' clocks drift: a resolution stamped a little before the
            # signal that opened the breach still resolves it.
            cutoff = at + self.policy.clock_skew
            closed = self.ledger.resolve(subject, threshold, at, opened_by=cutoff)
            if closed == []:
                actions.extend(self._too_early(subject, threshold, at, cutoff))
            for breach in closed or ():
                self._hook("breach_resolved", breach=breach)
                actions.append(
                    BreachResolved(
                        customer=breach.customer,
                        subject=subject,
                        threshold=breach.threshold,
                        severity=breach.severity,
                        at=at,
                    )
                )
                customer = self._known(breach.customer)
                if customer is None:
                    items: tuple[DecisionItem, ...] = (
                        SuppressionRecord(
                            customer=breach.customer,
                            subject=subject,
                            threshold=breach.threshold,
                            severity=None,
                            what="message",
                            reason=str(Reason.UNKNOWN_CUSTOMER),
                            at=at,
                            kind=Reason.UNKNOWN_CUSTOMER,
                        ),
                    )
                    applied = self.ledger.apply(Decision(customer=breach.customer, items=items))
                    actions.extend(self._actions(applied, Customer(id=breach.customer), at))
                    continue
                rule = self.policy.rule(breach.threshold)
                purpose = Purpose.RESOLUTION
                if breach.forecast:
                    # The forecast did not come true: say so only if asked.
                    if rule is None or rule.forecast is None or not rule.forecast.all_clear:
                        continue
                    purpose = Purpose.ALL_CLEAR
                snapshot = self.ledger.load(
                    customer.id,
                    (),
                    messages_since=at - MESSAGE_WINDOW if self._wants_messages else None,
                )
                decision = Decision(
                    customer=customer.id,
                    items=tuple(
                        message_items(
                            purpose,
                            breach,
                            customer,
                            at,
                            policy=self.policy,
                            channels=self._channels,
                            tally=tally_for(snapshot),
                            topic=rule.topic if rule is not None else "generic",
                            consent=snapshot.consent,
                        )
                    ),
                    messages_since=at - MESSAGE_WINDOW if self._wants_messages else None,
                    messages=snapshot.messages,
                )
                actions.extend(self._actions(self.ledger.apply(decision), customer, at))
        return actions

    def _too_early(
        self, subject: str, threshold: str | None, at: dt.datetime, cutoff: dt.datetime
    ) -> list[Action]:
        """A resolution that closed nothing because the breach it meant was opened
        later than producers' clocks may disagree: reported, never dropped silently."""
        names = [threshold] if threshold else [r.threshold.name for r in self.policy.rules]
        found = self.ledger.load("", [(name, subject) for name in names]).breaches.values()
        later = [b for b in found if b.resolved_at is None and b.opened_at > cutoff]
        actions: list[Action] = []
        for breach in later:
            gap = breach.opened_at - at
            record = SuppressionRecord(
                customer=breach.customer,
                subject=subject,
                threshold=breach.threshold,
                severity=breach.severity,
                what="resolution",
                reason=f"{Reason.OUT_OF_ORDER}: stamped {gap} before the breach it would"
                f" close, more than the {self.policy.clock_skew} clocks may disagree",
                at=at,
                kind=Reason.OUT_OF_ORDER,
            )
            applied = self.ledger.apply(Decision(customer=breach.customer, items=(record,)))
            actions.extend(self._actions(applied, Customer(id=breach.customer), at))
        return actions

    def complaint(self, customer: str, subject: str, at: dt.datetime) -> Sequence[Action]:
        """Record that the customer reached us about ``subject``, and whether we were
        first: a message about it was accepted by a provider before ``at``. A
        message planned but not yet sent is no first contact."""
        check_aware(at, "complaint.at")
        with self.ledger.transaction():
            if self._erased(customer, at) or not self.ledger.record_event(
                "complaint", customer, subject, at
            ):
                return _NOTHING
            first = self.ledger.first_contact_at(customer, subject)
            cases.complaint_case(
                self, customer, subject, at, we_were_first=first is not None and first <= at
            )
        return [
            ComplaintRecorded(
                customer=customer,
                subject=subject,
                threshold=None,
                severity=None,
                at=at,
                we_were_first=first is not None and first <= at,
            )
        ]

    def contacted(self, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record that a person contacted the customer; ``False`` if already
        recorded, or from before the customer was erased."""
        check_aware(at, "contacted.at")
        with self.ledger.transaction():
            if self._erased(customer, at):
                return False
            return self.ledger.record_event("contacted", customer, subject, at)

    def outcome(self, customer: str, outcome: str, at: dt.datetime) -> bool:
        """Record how things ended (``repurchase``, ``churn``…); ``False`` if
        already recorded, or from before the customer was erased."""
        check_aware(at, "outcome.at")
        with self.ledger.transaction():
            if self._erased(customer, at):
                return False
            return self.ledger.record_event("outcome", customer, outcome, at)

    def _erased(self, customer: str, at: dt.datetime) -> bool:
        """Whether an event at ``at`` is one the customer's erasure removed (a
        replay), which must not bring the id back. In a transaction, after
        holding the customer, so an erasure that commits meanwhile is seen."""
        self.ledger.load(customer, ())
        return self.ledger.is_erased(customer, at)

    def opt_out(
        self, customer: str, channel: str, at: dt.datetime, *, source: str = "api"
    ) -> ConsentRecord | None:
        """Record that ``customer`` does not want ``channel``, whatever the address.

        Messages are no longer queued on it, and those waiting go to the
        customer's next channel or end ``cancelled`` (see :mod:`pxr.consent`).
        Returns the record kept; ``None`` if a newer word on the channel is there.
        """
        return self._consent(customer, channel, ConsentState.OPTED_OUT, at, source)

    def allow(
        self,
        customer: str,
        channel: str,
        at: dt.datetime | None = None,
        *,
        source: str = "host",
    ) -> ConsentRecord | None:
        """Let ``channel`` be used for ``customer`` again, after an opt-out or a
        refused address (``at`` defaults to the ledger's clock).

        Returns the record kept; ``None`` if a newer word on the channel is there.
        """
        return self._consent(
            customer, channel, ConsentState.ALLOWED, self.ledger.now() if at is None else at, source
        )

    def _consent(
        self, customer: str, channel: str, state: ConsentState, at: dt.datetime, source: str
    ) -> ConsentRecord | None:
        record = ConsentRecord(
            customer=customer, channel=channel, state=state, at=at, source=source
        )
        with self.ledger.transaction():
            return record if self.ledger.record_consent(record) else None

    def handle(self, event: Event) -> Sequence[Action]:
        """Apply one event from an events file (see :mod:`pxr.events`)."""
        match event:
            case CustomerEvent(customer=customer):
                self.add_customer(customer)
                return _NOTHING
            case SignalEvent(signal=signal):
                return self.observe(signal)
            case Resolved(subject=subject, at=at, threshold=threshold):
                return self.resolve(subject, at, threshold)
            case Complaint(customer=customer_id, subject=subject, at=at):
                return self.complaint(customer_id, subject, at)
            case Contacted(customer=customer_id, subject=subject, at=at):
                self.contacted(customer_id, subject, at)
                return _NOTHING
            case Outcome(customer=customer_id, outcome=outcome, at=at):
                self.outcome(customer_id, outcome, at)
                return _NOTHING
            case OptOut(customer=customer_id, channel=channel, at=at):
                self.opt_out(customer_id, channel, at, source="event")
                return _NOTHING
        raise ValidationError("event", f"unknown event {event!r}")

    def dispatcher(self) -> Dispatcher:
        """A dispatcher for this engine's ledger, notifiers, customers and words."""
        return Dispatcher(
            self.ledger,
            self.notifiers,
            self.policy.delivery,
            renderer=self.renderer,
            customers=self.customers,
            plugins=self.plugins,
            on_dead=self._dead_letter,
        )

    def _dead_letter(self, entry: OutboxEntry, at: dt.datetime) -> None:
        """Every channel failed: a person takes the case over (once)."""
        cases.open_hand_over(
            self.ledger,
            self.policy,
            self.plugins,
            customer=entry.customer,
            subject=entry.subject,
            reason=cases.HandOverReason.DEAD_LETTER,
            at=at,
        )

    def dispatch_pending(
        self, now: dt.datetime | None = None, *, limit: int = 500
    ) -> DispatchReport:
        """Send what is due in the outbox through ``notifiers`` (see :mod:`pxr.dispatch`).

        ``now`` defaults to the ledger's clock, shared by every dispatcher.
        """
        if now is not None:
            check_aware(now, "now")
        return self.dispatcher().run(now, limit=limit)

    def may_survey(self, customer: str, at: dt.datetime) -> bool:
        """Whether the host may send ``customer`` a survey at ``at``.

        Not within ``survey_quiet_days`` of a recovery: the seeds say never
        to send a survey after a bad experience we just apologised for.
        """
        check_aware(at, "at")
        last = self.ledger.last_recovery_at(customer)
        return last is None or at - last >= dt.timedelta(days=self.policy.survey_quiet_days)
