"""People in the loop: cases, their deadlines, offers within authority, approvals,
hand-overs and the work queue.

A complaint, a poor survey answer or a hand-over opens a :class:`~pxr.ledger.Case`
(one per customer and subject) with an answer deadline: the policy's
``[cases] answer_within`` or, where shorter, the law's for the host's country
(Poland: 14 days, and silence counts as accepting the complaint). Its life:
``open`` → ``offered`` (or ``awaiting approval`` first) → ``accepted`` /
``rejected`` → ``closed``, or ``referred`` to an ADR body. Every step is a
ledger write that only succeeds from the states it expects, with an event
that says who and when, so replaying a step, or two people acting at once,
changes a case once.

An offer made by a person in a role (``[[roles]] may_grant``) within that
role's authority is issued at once through the ledger's apply path — once,
inside the customer's budget — and the customer is told; above it, it waits
for someone whose role may grant it. :func:`sweep` (``pxr tasks sweep``, or a
dispatcher's loop) hands over cases about to miss their deadline and ends
those that missed it.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import statistics
from collections.abc import Collection, Sequence
from functools import partial
from typing import TYPE_CHECKING

import attrs

from pxr.compensation import new_voucher_code
from pxr.decide import BUDGET_WINDOW, MESSAGE_WINDOW, message_items, tally_for
from pxr.delivery import send_time
from pxr.errors import LedgerError, ValidationError
from pxr.ledger import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseStore,
    CompensationRecord,
    Decision,
    DecisionItem,
    Ledger,
    OutboxEntry,
)
from pxr.model import Breach, Compensation, Content, Purpose, Referral, Severity, check_aware
from pxr.money import Money, budget_allows, total_in
from pxr.people import AdrBody, Role
from pxr.plugins import Plugins

if TYPE_CHECKING:
    from pxr.engine import Recovery
    from pxr.policy import Policy

__all__ = [
    "CaseStats",
    "HandOverReason",
    "SweepReport",
    "Task",
    "answer",
    "approve",
    "case_id",
    "case_stats",
    "close",
    "decline",
    "done",
    "offer",
    "open_case",
    "open_hand_over",
    "refer",
    "sweep",
    "tasks",
]

#: Who pxr itself is in a case's events.
PXR = "pxr"
#: How long a voucher offered by a person stays valid.
VOUCHER_VALIDITY = dt.timedelta(days=365)
#: What a person may offer.
OFFER_KINDS = ("refund", "voucher")
_LIVE = frozenset({CaseStatus.OPEN, CaseStatus.AWAITING_APPROVAL, CaseStatus.OFFERED})
#: Cases that still need a person: the live ones and rejected offers.
_WORK = _LIVE | {CaseStatus.REJECTED}
#: Where a person may make an offer: a fresh case, or after a rejected offer.
_OFFERABLE = frozenset({CaseStatus.OPEN, CaseStatus.REJECTED})
_ATTEMPTS = 8


class HandOverReason(enum.StrEnum):
    """Why a case went to a team."""

    COMPLAINT = "complaint"  #: the customer complained
    CONTACT = "contact"  #: a rule's ``contact`` compensation asked for a person
    COMPLAINT_AFTER_NOTICE = "complaint after notice"  #: they complained though we were first
    SURVEY = "survey"  #: a poor survey answer asked for a person
    CRITICAL = "critical"  #: a breach reached critical severity
    REJECTED = "rejected"  #: the customer rejected an offer
    DEADLINE = "deadline"  #: the answer deadline is close
    DEAD_LETTER = "dead letter"  #: a message failed on every channel
    UNREACHABLE = "unreachable"  #: no channel reaches the customer


def case_id(customer: str, subject: str) -> str:
    """The stable id of the case about ``subject`` for ``customer``.

    A hash, so replaying a complaint finds its case; erasing the customer
    draws a random id in its place, so no id can be traced back to them.
    """
    digest = hashlib.sha256(f"{customer}\x1f{subject}".encode()).hexdigest()
    return "K-" + digest[:10].upper()


# ------------------------------------------------------------ opening


def open_case(
    ledger: Ledger,
    policy: Policy,
    *,
    customer: str,
    subject: str,
    origin: HandOverReason,
    at: dt.datetime,
    missed: bool = False,
    who: str = PXR,
) -> Case | None:
    """Open the case about ``subject`` once; the new case, or ``None`` if it existed.

    ``missed`` says pxr had never flagged the subject (a problem monitoring
    missed). The deadline is the policy's or the law's, whichever is shorter.
    """
    check_aware(at, "at")
    settings = policy.cases
    deadline = settings.deadline()
    within = deadline.within if deadline is not None else dt.timedelta(days=14)
    case = Case(
        id=case_id(customer, subject),
        customer=customer,
        subject=subject,
        origin=str(origin),
        status=CaseStatus.OPEN,
        opened_at=at,
        due_at=at + within,
        updated_at=at,
        team=settings.team,
        silence_accepts=deadline.silence_accepts if deadline is not None else False,
        missed=missed,
    )
    return case if ledger.open_case(case, who) else None


def open_hand_over(
    ledger: Ledger,
    policy: Policy,
    plugins: Plugins,
    *,
    customer: str,
    subject: str,
    reason: HandOverReason,
    at: dt.datetime,
) -> Case | None:
    """Hand the case about ``subject`` to the policy's team, once per case and reason.

    Opens the case if needed, keeps a ``handed over`` event, and calls the
    ``case_handed_over`` hook after the commit. ``None`` if it was handed
    over for this reason before. Meant for callers outside the engine too (a dispatcher whose
    message dead-lettered on every channel).
    """
    with ledger.transaction():
        open_case(ledger, policy, customer=customer, subject=subject, origin=reason, at=at)
        return _hand_over(ledger, plugins, case_id(customer, subject), reason, at)


def _hand_over(
    ledger: Ledger, plugins: Plugins, case: str, reason: HandOverReason, at: dt.datetime
) -> Case | None:
    if not ledger.note_case(CaseEvent(case, "handed over", PXR, at, str(reason))):
        return None
    found = ledger.case(case)
    if found is None:  # pragma: no cover - the caller opened it in this transaction
        raise LedgerError("a case vanished inside its transaction")
    ledger.after_commit(partial(plugins.call, "case_handed_over", case=found, reason=str(reason)))
    return found


# ------------------------------------------------------------ offers and approvals


def _role(policy: Policy, name: str) -> Role:
    for role in policy.roles:
        if role.name == name:
            return role
    known = ", ".join(r.name for r in policy.roles) or "none: add [[roles]] to the policy"
    raise ValidationError("role", f"unknown role {name!r}; the policy's roles: {known}")


def _get(ledger: Ledger, case: str) -> Case:
    found = ledger.case(case)
    if found is None:
        raise ValidationError("case", f"no case {case!r}")
    return found


def offer(
    recovery: Recovery,
    case: str,
    amount: Money,
    *,
    kind: str,
    by: str,
    role: str,
    at: dt.datetime,
) -> Case:
    """Offer ``amount`` as ``kind`` (``refund`` or ``voucher``) on an open case
    (or after the customer rejected an earlier offer).

    Within ``role``'s authority it is issued at once (once, inside the
    customer's budget) and the customer is told; above it, the case waits
    for :func:`approve`. Returns the case as it is now; an offer on a case
    that has a live one already changes nothing.
    """
    check_aware(at, "at")
    if kind not in OFFER_KINDS:
        raise ValidationError("kind", f"expected one of {', '.join(OFFER_KINDS)}, got {kind!r}")
    if amount.amount <= 0:
        raise ValidationError("amount", "an offer must be more than nothing")
    policy = recovery.policy
    authority = _role(policy, role)
    if not policy.rates.can_convert(amount.currency, authority.may_grant.currency):
        raise ValidationError("amount", f"no rate for {amount.currency} in [recovery] rates")
    ledger = recovery.ledger
    with ledger.transaction():
        _get(ledger, case)
        within = authority.allows(amount, policy.rates)
        status = CaseStatus.OFFERED if within else CaseStatus.AWAITING_APPROVAL
        event = CaseEvent(case, str(status), by, at, f"{role}: {kind} {amount}")
        moved = ledger.move_case(case, _OFFERABLE, status, event, offer=(amount, kind, by))
        if moved and within:
            _issue(recovery, _get(ledger, case), at)
        return _get(ledger, case)


def approve(recovery: Recovery, case: str, *, by: str, role: str, at: dt.datetime) -> Case:
    """Approve the offer waiting on ``case``: issue it and tell the customer.

    ``role`` must be one that may grant the offer's amount. Approving twice
    changes nothing.
    """
    check_aware(at, "at")
    policy = recovery.policy
    authority = _role(policy, role)
    ledger = recovery.ledger
    with ledger.transaction():
        found = _get(ledger, case)
        if found.status == CaseStatus.AWAITING_APPROVAL and found.offer is not None:
            if not authority.allows(found.offer, policy.rates):
                raise ValidationError(
                    "role", f"{role!r} may grant {authority.may_grant}, not {found.offer}"
                )
            event = CaseEvent(case, "approved", by, at, role)
            if ledger.move_case(case, {CaseStatus.AWAITING_APPROVAL}, CaseStatus.OFFERED, event):
                _issue(recovery, _get(ledger, case), at)
        return _get(ledger, case)


def decline(
    ledger: Ledger, policy: Policy, case: str, *, by: str, role: str, at: dt.datetime, note: str
) -> Case:
    """Decline the offer waiting on ``case``: nothing is paid, the case is open
    again for another offer. ``role`` must be one that could have approved it;
    ``note`` says why, for the person who made the offer."""
    check_aware(at, "at")
    authority = _role(policy, role)
    with ledger.transaction():
        found = _get(ledger, case)
        if found.status == CaseStatus.AWAITING_APPROVAL and found.offer is not None:
            if not authority.allows(found.offer, policy.rates):
                raise ValidationError(
                    "role", f"{role!r} may grant {authority.may_grant}, not {found.offer}"
                )
            event = CaseEvent(case, "declined", by, at, f"{role}: {note}")
            ledger.move_case(case, {CaseStatus.AWAITING_APPROVAL}, CaseStatus.OPEN, event)
        return _get(ledger, case)


def _issue(recovery: Recovery, case: Case, at: dt.datetime) -> None:
    """Write the case's offer as a compensation, with the message that says so."""
    if case.offer is None or case.offer_kind is None:  # pragma: no cover - checked by callers
        raise LedgerError("a case without an offer cannot issue one")
    ledger, policy = recovery.ledger, recovery.policy
    customer = recovery.customer(case.customer)
    voucher = case.offer_kind == "voucher"
    compensation = Compensation(
        kind=case.offer_kind,
        amount=case.offer,
        code=new_voucher_code() if voucher else None,
        expires_at=at + VOUCHER_VALIDITY if voucher else None,
        note=f"offered by {case.offered_by}",
    )
    # The case stands in for a breach: one compensation and one message per
    # offer, the n-th offer on the case (stable on replay: a replayed step
    # moves nothing and issues nothing).
    made = sum(
        e.kind in (CaseStatus.OFFERED, CaseStatus.AWAITING_APPROVAL)
        for e in ledger.case_events(case.id)
    )
    stand_in = Breach(
        threshold=f"case:{case.id}#{made}",
        subject=case.subject,
        customer=case.customer,
        severity=Severity.MINOR,
        opened_at=case.opened_at,
        updated_at=at,
    )
    budget = policy.limits.compensation_per_30_days
    spent_since = at - BUDGET_WINDOW if budget is not None else None
    messages_since = at - MESSAGE_WINDOW if policy.limits.messages_per_day is not None else None
    for _ in range(_ATTEMPTS):
        snapshot = ledger.load(
            customer.id, (), spent_since=spent_since, messages_since=messages_since
        )
        if budget is not None:
            spent = [Money(amount, code) for code, amount in (snapshot.spent or {}).items()]
            if not budget_allows(spent, case.offer, budget, policy.rates):
                given = total_in(spent, budget.currency, policy.rates)
                raise ValidationError(
                    "amount", f"over the customer's budget: {budget} per 30 days, {given} given"
                )
        items: list[DecisionItem] = [
            CompensationRecord(
                threshold=stand_in.threshold,
                subject=case.subject,
                severity=Severity.MINOR,
                customer=customer.id,
                compensation=compensation,
                created_at=at,
            )
        ]
        items += message_items(
            Purpose.OFFER,
            stand_in,
            customer,
            at,
            policy=policy,
            channels=recovery.plugins.registry.channels,
            tally=tally_for(snapshot),
            compensations=(compensation,),
        )
        decision = Decision(
            customer=customer.id,
            items=tuple(items),
            spent_since=spent_since,
            spent=snapshot.spent,
            messages_since=messages_since,
            messages=snapshot.messages,
        )
        applied = ledger.apply(decision)
        if not applied.conflict:
            for item in applied.won:
                if isinstance(item, CompensationRecord):
                    ledger.after_commit(
                        partial(
                            recovery.plugins.call,
                            "compensation_issued",
                            breach=stand_in,
                            compensation=item.compensation,
                        )
                    )
            return
    raise LedgerError("other writers kept changing this customer's budget; try again")


# ------------------------------------------------------------ answers and endings


def answer(
    recovery: Recovery, case: str, *, accepted: bool, at: dt.datetime, who: str = "customer"
) -> Case:
    """The customer's answer to an offer. A rejection hands the case over."""
    check_aware(at, "at")
    ledger = recovery.ledger
    status = CaseStatus.ACCEPTED if accepted else CaseStatus.REJECTED
    with ledger.transaction():
        moved = ledger.move_case(
            case, {CaseStatus.OFFERED}, status, CaseEvent(case, str(status), who, at)
        )
        if moved and not accepted:
            _hand_over(ledger, recovery.plugins, case, HandOverReason.REJECTED, at)
        return _get(ledger, case)


def close(ledger: Ledger, case: str, *, by: str, at: dt.datetime, note: str | None = None) -> Case:
    """Mark a case done (``pxr tasks done``): from any state but the ends."""
    check_aware(at, "at")
    with ledger.transaction():
        ledger.move_case(
            case,
            _LIVE | {CaseStatus.ACCEPTED, CaseStatus.REJECTED},
            CaseStatus.CLOSED,
            CaseEvent(case, str(CaseStatus.CLOSED), by, at, note),
        )
        return _get(ledger, case)


def refer(recovery: Recovery, case: str, *, by: str, at: dt.datetime) -> Case:
    """End an unresolved case by telling the customer, by e-mail, where to turn.

    The e-mail names the ADR body for the host's country and sector (from
    the policy's ADR data), its website, and whether the host takes part, as
    Directive 2013/11/EU Art. 13(3) asks, in the customer's language. Without
    a known body, or without an e-mail address, the case is handed to the
    team instead (a person must tell the customer on another durable medium).
    """
    check_aware(at, "at")
    ledger, policy = recovery.ledger, recovery.policy
    body = policy.cases.adr_body()
    if body is None:
        note = "no ADR body known for this country and sector: add one with [cases] adr_file"
    else:
        takes_part = "takes part" if policy.cases.adr_participates else "does not take part"
        note = f"{body.name} ({body.website}); the trader {takes_part}"
    with ledger.transaction():
        moved = ledger.move_case(
            case,
            _LIVE | {CaseStatus.REJECTED},
            CaseStatus.REFERRED,
            CaseEvent(case, str(CaseStatus.REFERRED), by, at, note),
        )
        found = _get(ledger, case)
        if moved:
            told = body is not None and _queue_referral(recovery, found, body, at)
            if not told:
                _hand_over(ledger, recovery.plugins, case, HandOverReason.UNREACHABLE, at)
        return found


def _queue_referral(recovery: Recovery, case: Case, body: AdrBody, at: dt.datetime) -> bool:
    """Queue the referral e-mail; ``False`` if the customer has no e-mail address."""
    customer = recovery.customers.get(case.customer)
    if customer is None or not customer.email or "email" not in recovery.plugins.registry.channels:
        return False
    # A legal notice on a durable medium: e-mail, whatever the customer's
    # channel order, and not counted against the marketing-style daily cap.
    recovery.ledger.enqueue(
        OutboxEntry(
            key=f"case:{case.id}\x1freferral",
            customer=customer.id,
            subject=case.subject,
            threshold=None,
            severity=None,
            created_at=at,
            channel="email",
            to=customer.email,
            locale=customer.locale,
            timezone=customer.timezone or recovery.policy.timezone,
            send_at=send_time(customer, at, recovery.policy),
            content=Content(
                purpose=Purpose.REFERRAL,
                subject=case.subject,
                referral=Referral(body.name, body.website, recovery.policy.cases.adr_participates),
            ),
        )
    )
    return True


# ------------------------------------------------------------ the sweeper


@attrs.frozen
class SweepReport:
    """What one sweep did: case ids handed over, deemed accepted, referred."""

    warned: tuple[str, ...] = ()
    deemed_accepted: tuple[str, ...] = ()
    referred: tuple[str, ...] = ()


def sweep(recovery: Recovery, now: dt.datetime) -> SweepReport:
    """Hand over what is about to miss its deadline (once), and end what missed it.

    A case within ``[cases] warn_before`` of its deadline is handed to its
    team (a ``deadline near`` event and the ``case_handed_over`` hook, once). A
    case past its deadline is deemed accepted where the law says silence is
    acceptance (the customer must be given what they asked for: a person's
    task), and otherwise referred to the ADR body. Safe to run from several
    workers at once: each step is a conditional write.
    """
    check_aware(now, "now")
    ledger, plugins = recovery.ledger, recovery.plugins
    warn = recovery.policy.cases.warn_before
    warned: list[str] = []
    accepted: list[str] = []
    referred: list[str] = []
    for case in ledger.cases(_WORK, due_by=now + warn):
        if case.status == CaseStatus.OFFERED:
            continue  # answered in time: the customer's answer is awaited
        with ledger.transaction():
            if case.due_at <= now:
                if case.silence_accepts and case.status != CaseStatus.REJECTED:
                    note = "no answer within the legal deadline: the complaint counts as accepted"
                    event = CaseEvent(case.id, str(CaseStatus.ACCEPTED), PXR, now, note)
                    if ledger.move_case(case.id, _LIVE, CaseStatus.ACCEPTED, event):
                        accepted.append(case.id)
                        _hand_over(ledger, plugins, case.id, HandOverReason.DEADLINE, now)
                    continue
                if refer(recovery, case.id, by=PXR, at=now).status == CaseStatus.REFERRED:
                    referred.append(case.id)
                continue
            warning = "silence counts as acceptance" if case.silence_accepts else None
            if ledger.note_case(CaseEvent(case.id, "deadline near", PXR, now, warning)):
                warned.append(case.id)
                _hand_over(ledger, plugins, case.id, HandOverReason.DEADLINE, now)
    return SweepReport(tuple(warned), tuple(accepted), tuple(referred))


# ------------------------------------------------------------ the work queue


@attrs.frozen
class Task:
    """One line of the work queue (``pxr tasks``)."""

    id: str
    kind: str
    customer: str
    subject: str
    status: str
    due: dt.datetime
    team: str | None = None
    overdue: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The fields as JSON values."""
        return {
            "id": self.id,
            "kind": self.kind,
            "customer": self.customer,
            "subject": self.subject,
            "status": self.status,
            "due": self.due.isoformat(),
            "team": self.team,
            "overdue": self.overdue,
            "note": self.note,
        }


def tasks(
    ledger: Ledger,
    now: dt.datetime,
    *,
    team: str | None = None,
    overdue: bool = False,
    approvals: bool = False,
    kinds: Collection[str] = ("case", "follow-up"),
) -> list[Task]:
    """Open cases and ``contact`` follow-ups, by due time.

    ``team`` keeps one team's; ``overdue`` only what is past due at ``now``;
    ``approvals`` only offers waiting for approval. A follow-up is done once
    a ``contacted`` event for its customer and subject is recorded.
    """
    check_aware(now, "now")
    found: list[Task] = []
    if "case" in kinds:
        statuses = {CaseStatus.AWAITING_APPROVAL} if approvals else _WORK
        for case in ledger.cases(statuses):
            note: str | None = None
            if case.offer is not None:
                note = f"{case.offer_kind} {case.offer} by {case.offered_by}"
            found.append(
                Task(
                    case.id,
                    "case",
                    case.customer,
                    case.subject,
                    str(case.status),
                    case.due_at,
                    case.team,
                    # An offer answered the complaint in time: the customer's turn.
                    case.due_at <= now and case.status != CaseStatus.OFFERED,
                    note,
                )
            )
    if "follow-up" in kinds and not approvals:
        contacted = {(c, s) for c, s, _ in ledger.events("contacted")}
        for record in ledger.compensations():
            c = record.compensation
            if c.kind != "contact" or c.due_at is None:
                continue
            if (record.customer, record.subject) in contacted:
                continue
            digest = hashlib.sha256(
                f"{record.threshold}\x1f{record.subject}\x1f{record.severity}".encode()
            ).hexdigest()
            found.append(
                Task(
                    "F-" + digest[:10].upper(),
                    "follow-up",
                    record.customer,
                    record.subject,
                    "open",
                    c.due_at,
                    c.team,
                    c.due_at <= now,
                    c.note,
                )
            )
    if team is not None:
        found = [t for t in found if t.team == team]
    if overdue:
        found = [t for t in found if t.overdue]
    return sorted(found, key=lambda t: (t.due, t.id))


def complaint_case(
    recovery: Recovery, customer: str, subject: str, at: dt.datetime, *, we_were_first: bool
) -> Case | None:
    """The case a complaint opens (inside the engine's transaction): a problem
    monitoring missed when no rule ever flagged the subject; handed over when
    the customer complained although we had written first."""
    keys: Sequence[tuple[str, str]] = [(r.threshold.name, subject) for r in recovery.policy.rules]
    flagged = bool(recovery.ledger.load(customer, keys).breaches)
    reason = HandOverReason.COMPLAINT_AFTER_NOTICE if we_were_first else HandOverReason.COMPLAINT
    opened = open_case(
        recovery.ledger,
        recovery.policy,
        customer=customer,
        subject=subject,
        origin=reason,
        at=at,
        missed=not flagged,
    )
    if opened is not None and we_were_first:
        _hand_over(recovery.ledger, recovery.plugins, opened.id, reason, at)
    return opened


def done(ledger: Ledger, task: str, *, by: str, at: dt.datetime, note: str | None = None) -> Task:
    """Mark a work-queue item done: a case is closed; a ``contact`` follow-up is
    recorded as ``contacted`` (as the events file's ``contacted`` line would)."""
    check_aware(at, "at")
    if not task.startswith("F-"):
        case = close(ledger, task, by=by, at=at, note=note)
        return Task(case.id, "case", case.customer, case.subject, str(case.status), case.due_at)
    for item in tasks(ledger, at, kinds=("follow-up",)):
        if item.id == task:
            with ledger.transaction():
                ledger.record_event("contacted", item.customer, item.subject, at)
            return attrs.evolve(item, status="done", overdue=False)
    raise ValidationError("task", f"no open follow-up {task!r}")


# ------------------------------------------------------------ what the report counts

#: The events that answer a complaint: an offer made, or the case settled.
_ANSWERS = frozenset({"offered", "approved", "accepted", "closed"})


@attrs.frozen
class CaseStats:
    """Cases at a glance, for ``pxr metrics`` and the report.

    ``missed`` counts complaints about subjects no rule had flagged: the
    problems monitoring missed. ``answered_in_time`` counts cases whose first
    answer (an offer issued, or the case settled) came by their deadline;
    ``deemed_accepted`` those where the law took silence as acceptance.
    ``approval_hours`` is the median wait from an offer above authority to
    its approval.
    """

    opened: int = 0
    missed: int = 0
    open_now: int = 0
    answered_in_time: int = 0
    referred: int = 0
    deemed_accepted: int = 0
    approvals: int = 0
    approval_hours: float | None = None


def case_stats(ledger: CaseStore) -> CaseStats:
    """Count the cases and their events once."""
    found = ledger.cases()
    events: dict[str, list[CaseEvent]] = {}
    for event in ledger.case_events():
        events.setdefault(event.case, []).append(event)
    in_time = deemed = approvals = 0
    waits: list[float] = []
    for case in found:
        history = events.get(case.id, [])
        answered = [e.at for e in history if e.kind in _ANSWERS and e.who != PXR]
        if answered and min(answered) <= case.due_at:
            in_time += 1
        if any(e.kind == "accepted" and e.who == PXR for e in history):
            deemed += 1
        asked = [e.at for e in history if e.kind == str(CaseStatus.AWAITING_APPROVAL)]
        approved = [e.at for e in history if e.kind == "approved"]
        if asked and approved:
            approvals += 1
            waits.append((min(approved) - min(asked)).total_seconds() / 3600)
    return CaseStats(
        opened=len(found),
        missed=sum(c.missed for c in found),
        open_now=sum(c.status in _WORK for c in found),
        answered_in_time=in_time,
        referred=sum(c.status == CaseStatus.REFERRED for c in found),
        deemed_accepted=deemed,
        approvals=approvals,
        approval_hours=statistics.median(waits) if waits else None,
    )
