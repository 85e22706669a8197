"""``Recovery``: the engine a host application holds. Signal in, actions out.

Each call is one ledger transaction: the breach, its compensation and its
message are recorded together or not at all, and replaying the same input
finds them already there and does nothing again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import islice
from typing import Any

import attrs

from pxr.channels import Notifier
from pxr.compensation import CompensationRequest, new_voucher_code
from pxr.delivery import Unreachable, rate_limit_reason, route, send_time, sms_cost
from pxr.dispatch import Dispatcher, DispatchReport
from pxr.errors import PxrError, ValidationError
from pxr.events import (
    Complaint,
    Contacted,
    CustomerEvent,
    Event,
    Outcome,
    Resolved,
    SignalEvent,
)
from pxr.ledger import CodeTaken, CompensationRecord, Ledger, OutboxEntry, SuppressionRecord
from pxr.ledger.memory import MemoryLedger
from pxr.messages import Rendered, render
from pxr.metrics import HOLDOUT_REASON
from pxr.model import (
    Action,
    Breach,
    BreachEscalated,
    BreachOpened,
    BreachResolved,
    Compensation,
    CompensationIssued,
    ComplaintRecorded,
    Customer,
    Message,
    MessageQueued,
    Severity,
    Signal,
    Suppressed,
    check_aware,
)
from pxr.money import Money, budget_allows, total_in
from pxr.plugins import Plugins, get_plugins
from pxr.policy import Policy, Rule
from pxr.thresholds import as_duration

__all__ = ["Recovery", "in_holdout"]

_NOTHING: tuple[Action, ...] = ()
_CODE_ATTEMPTS = 8


def in_holdout(customer: str, threshold: str, share: float) -> bool:
    """Whether ``customer`` is in the control group of ``threshold``.

    Stable across runs and processes: a hash of the pair, not a random draw.
    """
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{threshold}\x1f{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class Recovery:
    """Signal in, actions out; everything recorded in the ledger.

    >>> from pxr import Recovery, load_policy
    >>> recovery = Recovery(load_policy("examples/parcel/policy.toml"))  # doctest: +SKIP
    """

    def __init__(
        self,
        policy: Policy,
        ledger: Ledger | None = None,
        *,
        plugins: Plugins | None = None,
        customers: Iterable[Customer] = (),
        notifiers: Mapping[str, Notifier] | None = None,
    ) -> None:
        self.policy = policy
        self.ledger: Ledger = ledger if ledger is not None else MemoryLedger()
        self.plugins = plugins or get_plugins()
        self.notifiers: dict[str, Notifier] = dict(notifiers or {})
        self._customers: dict[str, Customer] = {c.id: c for c in customers}
        self._depth = 0
        self._after_commit: list[tuple[str, dict[str, Any]]] = []
        # Host catalogs (all but pxr's own), in the order they override.
        self._host_catalogs = tuple(
            (domain, path) for domain, path in self.plugins.registry.catalogs if domain != "pxr"
        )
        by_metric: dict[str, list[Rule]] = defaultdict(list)
        for rule in policy.rules:
            by_metric[rule.threshold.metric].append(rule)
        self._by_metric: Mapping[str, tuple[Rule, ...]] = {
            metric: tuple(rules) for metric, rules in by_metric.items()
        }

    def __repr__(self) -> str:
        return f"Recovery(rules={len(self.policy.rules)}, ledger={self.ledger!r})"

    @contextmanager
    def _step(self) -> Iterator[None]:
        """One ledger transaction; lifecycle hooks run once the outermost one commits.

        A nested step that fails takes its hooks with it, as the ledger takes
        its writes.
        """
        mark = len(self._after_commit)
        self._depth += 1
        try:
            with self.ledger.transaction():
                yield
        except BaseException:
            del self._after_commit[mark:]
            raise
        finally:
            self._depth -= 1
        if self._depth == 0:
            calls, self._after_commit = self._after_commit, []
            for hook, kwargs in calls:
                self.plugins.call(hook, **kwargs)

    def _hook(self, hook: str, **kwargs: Any) -> None:
        self._after_commit.append((hook, kwargs))

    # ------------------------------------------------------------ customers

    def add_customer(self, customer: Customer) -> None:
        """Make ``customer`` known (or update their details)."""
        self._customers[customer.id] = customer

    def customer(self, customer_id: str) -> Customer:
        """A known customer; raises :class:`~pxr.errors.ValidationError` if unknown."""
        try:
            return self._customers[customer_id]
        except KeyError:
            raise ValidationError("customer", f"unknown customer {customer_id!r}") from None

    # ------------------------------------------------------------ signals

    def observe(self, signal: Signal) -> Sequence[Action]:
        """Check one signal against the thresholds for its metric.

        Returns the actions taken (breach, escalation, compensation, message,
        suppressed), or nothing when all is well or already recorded.
        """
        hits = self._hits(signal)
        if hits is None:
            return _NOTHING
        with self._step():
            return self._apply(hits, signal)

    def _hits(self, signal: Signal) -> list[tuple[Rule, Severity]] | None:
        """The rules the signal crosses, with the severity reached; ``None`` if none."""
        rules = self._by_metric.get(signal.metric)
        if rules is None:
            return None
        value = signal.value
        hits: list[tuple[Rule, Severity]] | None = None
        for rule in rules:
            severity = rule.threshold.evaluate(value)
            if severity is not None:
                if hits is None:
                    hits = []
                hits.append((rule, severity))
        return hits

    def _apply(self, hits: list[tuple[Rule, Severity]], signal: Signal) -> list[Action]:
        """Open or escalate a breach for each rule crossed, inside the caller's transaction."""
        customer = self.customer(signal.customer)
        actions: list[Action] = []
        for rule, severity in hits:
            actions.extend(self._breach(rule, severity, signal, customer))
        return actions

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
            with self._step():
                for signal in batch:
                    if on_error is None:
                        # The batch is all or nothing: no savepoint per signal.
                        hits = self._hits(signal)
                        if hits is not None:
                            actions.extend(self._apply(hits, signal))
                        continue
                    try:
                        actions.extend(self.observe(signal))
                    except PxrError as error:
                        on_error(signal, error)
        return actions

    def _breach(
        self, rule: Rule, severity: Severity, signal: Signal, customer: Customer
    ) -> list[Action]:
        threshold = rule.threshold
        ledger = self.ledger
        candidate = Breach(
            threshold=threshold.name,
            subject=signal.subject,
            customer=customer.id,
            severity=severity,
            opened_at=signal.at,
            updated_at=signal.at,
            stage=threshold.stage,
            holdout=in_holdout(customer.id, threshold.name, rule.holdout),
        )
        # Insert first: one statement when the breach is new (the usual case),
        # and the database, not a prior read, decides who opened it.
        opened: Breach | None = None
        existing: Breach | None = None
        if ledger.insert_breach(candidate):
            opened = candidate
            self._hook("breach_opened", breach=candidate)
        else:
            existing = ledger.get_breach(threshold.name, signal.subject)
        actions: list[Action] = []
        if opened is not None:
            breach = opened
            actions.append(
                BreachOpened(
                    customer=customer.id,
                    subject=signal.subject,
                    threshold=threshold.name,
                    severity=severity,
                    at=signal.at,
                    stage=breach.stage,
                    holdout=breach.holdout,
                )
            )
            purpose = "notice"
        else:
            if existing is None or existing.resolved_at is not None:
                return actions
            if severity <= existing.severity or not ledger.escalate_breach(
                threshold.name, signal.subject, severity, signal.at
            ):
                return actions
            breach = attrs.evolve(existing, severity=severity, updated_at=signal.at)
            self._hook("breach_escalated", breach=breach, previous=existing.severity)
            actions.append(
                BreachEscalated(
                    customer=customer.id,
                    subject=signal.subject,
                    threshold=threshold.name,
                    severity=severity,
                    at=signal.at,
                    previous=existing.severity,
                )
            )
            purpose = "escalation"
        compensations = self._compensate(
            rule, breach, signal, customer, actions, fresh=opened is not None
        )
        self._queue_message(
            purpose,
            breach,
            customer,
            signal.at,
            actions,
            topic=rule.topic,
            delay=as_duration(signal.value, threshold.unit),
            compensations=compensations,
        )
        return actions

    def _suppress(
        self, breach: Breach, at: dt.datetime, what: str, reason: str, actions: list[Action]
    ) -> None:
        record = SuppressionRecord(
            customer=breach.customer,
            subject=breach.subject,
            threshold=breach.threshold,
            severity=breach.severity,
            what=what,
            reason=reason,
            at=at,
        )
        self.ledger.record_suppression(record)
        actions.append(
            Suppressed(
                customer=breach.customer,
                subject=breach.subject,
                threshold=breach.threshold,
                severity=breach.severity if breach.resolved_at is None else None,
                at=at,
                what=what,
                reason=reason,
            )
        )

    def _compensate(
        self,
        rule: Rule,
        breach: Breach,
        signal: Signal,
        customer: Customer,
        actions: list[Action],
        *,
        fresh: bool,
    ) -> list[Compensation]:
        """Issue the tier's compensations, topping up what the breach already paid.

        What lower tiers paid (per currency, statutory and not counted apart)
        is credited against this tier, so a breach never pays more in total
        than its highest tier is worth.
        """
        policies = rule.compensation.get(breach.severity, ())
        if not policies:
            return []
        request = CompensationRequest(
            breach,
            signal,
            self.policy.currency,
            rule.threshold.unit,
            customer.locale,
            self.policy.rates,
        )
        # Decide everything before writing anything: a policy may reject the signal.
        # The control group keeps what the law owes and the apology; nothing else.
        withheld = [
            p for p in policies if breach.holdout and not p.statutory and p.kind != "apology"
        ]
        decided = [p.compensate(request) for p in policies if p not in withheld]
        if withheld:
            self._suppress(
                breach, signal.at, "compensation", f"{HOLDOUT_REASON}: apology only", actions
            )
        # A breach opened just now has paid nothing: no need to ask the ledger.
        credit: dict[tuple[str, bool], Decimal] | None = {} if fresh else None
        issued: list[Compensation] = []
        for decision in decided:
            if decision is None:
                continue
            compensation = decision
            if decision.amount is not None:
                if credit is None:
                    credit = self.ledger.paid_for_breach(breach.threshold, breach.subject)
                due = self._top_up(
                    breach,
                    signal,
                    customer,
                    decision.amount,
                    credit=credit,
                    actions=actions,
                    kind=decision.kind,
                    statutory=decision.statutory,
                )
                if due is None:
                    continue
                if due != decision.amount:
                    compensation = attrs.evolve(decision, amount=due)
            recorded = self._record(breach, signal, customer, compensation, actions)
            if recorded is not None:
                issued.append(recorded)
        return issued

    def _top_up(
        self,
        breach: Breach,
        signal: Signal,
        customer: Customer,
        amount: Money,
        *,
        credit: dict[tuple[str, bool], Decimal],
        actions: list[Action],
        kind: str,
        statutory: bool,
    ) -> Money | None:
        """The part of ``amount`` not yet paid, if the budget allows; or ``None``."""
        currency = amount.currency
        key = (currency, statutory)
        due = amount.amount - credit.get(key, Decimal(0))
        credit[key] = max(Decimal(0), -due)
        if due <= 0:
            self._suppress(
                breach,
                signal.at,
                "compensation",
                f"{kind}: already compensated for this breach",
                actions,
            )
            return None
        budget = self.policy.limits.compensation_per_30_days
        if not statutory and budget is not None:
            since = signal.at - dt.timedelta(days=30)
            given = self.ledger.spent_since(customer.id, since).items()
            spent = [Money(amount, code) for code, amount in given]
            rates = self.policy.rates
            if not budget_allows(spent, Money(due, currency), budget, rates):
                self._suppress(
                    breach,
                    signal.at,
                    "compensation",
                    f"budget: {budget} per 30 days,"
                    f" {total_in(spent, budget.currency, rates)} already given",
                    actions,
                )
                return None
        return Money(due, currency)

    def _record(
        self,
        breach: Breach,
        signal: Signal,
        customer: Customer,
        compensation: Compensation,
        actions: list[Action],
    ) -> Compensation | None:
        """Write one compensation (drawing a fresh voucher code on a clash).

        Returns what was recorded, or ``None`` if this tier's kind was paid before.
        """
        record = CompensationRecord(
            threshold=breach.threshold,
            subject=breach.subject,
            severity=breach.severity,
            customer=customer.id,
            compensation=compensation,
            created_at=signal.at,
        )
        for _ in range(_CODE_ATTEMPTS):
            try:
                inserted = self.ledger.insert_compensation(record)
                break
            except CodeTaken:
                fresh = attrs.evolve(record.compensation, code=new_voucher_code())
                record = attrs.evolve(record, compensation=fresh)
        else:
            raise PxrError("could not draw an unused voucher code")
        if not inserted:
            return None
        actions.append(
            CompensationIssued(
                customer=customer.id,
                subject=breach.subject,
                threshold=breach.threshold,
                severity=breach.severity,
                at=signal.at,
                compensation=record.compensation,
            )
        )
        self._hook("compensation_issued", breach=breach, compensation=record.compensation)
        if record.compensation.kind == "contact":
            self._hook(
                "escalate", breach=breach, compensation=record.compensation, customer=customer
            )
        return record.compensation

    def _queue_message(
        self,
        purpose: str,
        breach: Breach,
        customer: Customer,
        at: dt.datetime,
        actions: list[Action],
        *,
        topic: str = "generic",
        delay: dt.timedelta | None = None,
        compensations: Sequence[Compensation] = (),
    ) -> None:
        found = route(customer, self.policy, self.plugins.registry.channels)
        if isinstance(found, Unreachable):
            self._suppress(breach, at, "message", found.reason, actions)
            return
        limited = rate_limit_reason(customer, at, self.policy, self.ledger)
        if limited is not None:
            self._suppress(breach, at, "message", limited, actions)
            return
        send_at = send_time(customer, at, self.policy)
        forms: dict[str, Rendered] = {}
        messages: list[Message] = []
        for channel, address in ((found.channel, found.address), *found.fallbacks):
            form = getattr(channel, "form", "chat")
            if form not in forms:
                forms[form] = render(
                    purpose,
                    customer,
                    breach.subject,
                    form=form,
                    topic=topic,
                    delay=delay,
                    compensations=compensations,
                    fallback_locale=self.policy.locale,
                    catalogs=self._host_catalogs,
                )
            message = Message(
                channel=channel.name,
                to=address,
                locale=customer.locale,
                title=forms[form].title,
                text=forms[form].text,
                send_at=send_at,
                purpose=purpose,
            )
            amended = self._before_send(message, customer)
            if isinstance(amended, str):
                self._suppress(breach, at, "message", amended, actions)
                return
            messages.append(sms_cost(channel.shape(amended), self.policy))
        message, *fallbacks = messages
        severity = None if purpose == "resolution" else breach.severity
        entry = OutboxEntry(
            key="\x1f".join((breach.threshold, breach.subject, purpose, str(severity or ""))),
            customer=customer.id,
            subject=breach.subject,
            threshold=breach.threshold,
            severity=severity,
            message=message,
            created_at=at,
            fallbacks=tuple(fallbacks),
        )
        if self.ledger.enqueue(entry):
            actions.append(
                MessageQueued(
                    customer=customer.id,
                    subject=breach.subject,
                    threshold=breach.threshold,
                    severity=severity,
                    at=at,
                    message=message,
                )
            )

    def _before_send(self, message: Message, customer: Customer) -> Message | str:
        """Each plugin's ``before_send`` in turn: the amended message, or why it was vetoed."""
        for impl in self.plugins.impls("before_send"):
            answer = self.plugins.call_one(impl, "before_send", message=message, customer=customer)
            if isinstance(answer, str):
                return f"vetoed by {impl.plugin_name}: {answer}"
            if isinstance(answer, Message):
                message = answer
        return message

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
        with self._step():
            if not self.ledger.record_event("resolved", threshold or "", subject, at):
                return actions
            for breach in self.ledger.resolve_breaches(subject, threshold, at):
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
                customer = self._customers.get(breach.customer)
                if customer is None:
                    self._suppress(breach, at, "message", "unknown customer", actions)
                    continue
                rule = self.policy.rule(breach.threshold)
                topic = rule.topic if rule is not None else "generic"
                self._queue_message("resolution", breach, customer, at, actions, topic=topic)
        return actions

    def complaint(self, customer: str, subject: str, at: dt.datetime) -> Sequence[Action]:
        """Record that the customer reached us first about ``subject`` — or not."""
        check_aware(at, "complaint.at")
        with self._step():
            if not self.ledger.record_event("complaint", customer, subject, at):
                return _NOTHING
            first = self.ledger.first_message_at(customer, subject)
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
        """Record that a person contacted the customer; ``False`` if already recorded."""
        check_aware(at, "contacted.at")
        with self._step():
            return self.ledger.record_event("contacted", customer, subject, at)

    def outcome(self, customer: str, outcome: str, at: dt.datetime) -> bool:
        """Record how things ended (``repurchase``, ``churn``…); ``False`` if already recorded."""
        check_aware(at, "outcome.at")
        with self._step():
            return self.ledger.record_event("outcome", customer, outcome, at)

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
        raise ValidationError("event", f"unknown event {event!r}")

    def dispatch_pending(
        self, now: dt.datetime | None = None, *, limit: int = 500
    ) -> DispatchReport:
        """Send what is due in the outbox through ``notifiers`` (see :mod:`pxr.dispatch`)."""
        when = now if now is not None else dt.datetime.now(dt.UTC)
        check_aware(when, "now")
        dispatcher = Dispatcher(
            self.ledger,
            self.plugins.registry.channels,
            self.notifiers,
            self.policy.delivery,
            plugins=self.plugins,
        )
        return dispatcher.run(when, limit=limit)

    def may_survey(self, customer: str, at: dt.datetime) -> bool:
        """Whether the host may send ``customer`` a survey at ``at``.

        Not within ``survey_quiet_days`` of a recovery: the seeds say never
        to send a survey after a bad experience we just apologised for.
        """
        check_aware(at, "at")
        last = self.ledger.last_recovery_at(customer)
        return last is None or at - last >= dt.timedelta(days=self.policy.survey_quiet_days)
