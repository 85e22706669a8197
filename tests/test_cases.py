"""Cases: complaints and hand-overs with deadlines, offers within authority,
approvals, the sweeper, ADR referral and the work queue."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxr import (
    Case,
    Customer,
    MemoryLedger,
    Plugins,
    Recovery,
    SQLiteLedger,
    hookimpl,
    load_policy,
)
from pxr.cases import (
    HandOverReason,
    answer,
    approve,
    case_id,
    close,
    decline,
    done,
    offer,
    open_hand_over,
    refer,
    sweep,
    tasks,
)
from pxr.errors import PolicyError, ValidationError
from pxr.ledger import CaseStatus, Ledger
from pxr.model import Customer as CustomerModel
from pxr.model import Purpose, Signal
from pxr.money import Money
from pxr.people import load_adr_bodies
from pxr.policy import loads_policy
from pxr.rendering import Renderer
from tests.conftest import ANNA, PARCEL, at, policy_from

PEOPLE = """
[[roles]]
name = "agent"
may_grant = "50 PLN"

[[roles]]
name = "supervisor"
may_grant = "500 PLN"

[cases]
country = "PL"
team = "care"
warn_before = "2d"
"""

PLN = "PLN"


def pln(amount: str) -> Money:
    return Money(Decimal(amount), PLN)


def recovery_on(ledger: Ledger, extra: str = "", people: str = PEOPLE) -> Recovery:
    return Recovery(policy_from(PARCEL + extra + people), ledger, customers=[ANNA])


def complained(recovery: Recovery, subject: str = "PL-1001", day: int = 2) -> str:
    recovery.complaint("c-anna", subject, at(day))
    return case_id("c-anna", subject)


def test_a_complaint_opens_a_case_with_the_polish_legal_deadline(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    opened = ledger.case(complained(recovery))
    assert opened is not None
    assert (opened.status, opened.due_at, opened.silence_accepts, opened.team) == (
        CaseStatus.OPEN,
        at(16),
        True,
        "care",
    )


def test_replaying_a_complaint_opens_nothing_more(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    complained(recovery)
    recovery.complaint("c-anna", "PL-1001", at(2))
    recovery.complaint("c-anna", "PL-1001", at(3))
    assert len(ledger.cases()) == 1
    assert [e.kind for e in ledger.case_events()] == ["opened"]


def test_a_complaint_about_an_unflagged_subject_is_a_missed_problem(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    recovery.observe(Signal("c-anna", "PL-1002", "delivery_delay", 2, at(1)))
    missed = ledger.case(complained(recovery, "PL-1001"))
    flagged = ledger.case(complained(recovery, "PL-1002"))
    assert missed is not None
    assert flagged is not None
    assert (missed.missed, flagged.missed) == (True, False)


def test_a_shorter_policy_deadline_wins_over_the_law(ledger: Ledger) -> None:
    recovery = recovery_on(ledger, people=PEOPLE.replace('team = "care"', 'answer_within = "7d"'))
    found = ledger.case(complained(recovery))
    assert found is not None
    assert (found.due_at, found.silence_accepts) == (at(9), True)


def test_a_longer_policy_deadline_gives_way_to_the_law() -> None:
    policy = policy_from(PARCEL + PEOPLE.replace('team = "care"', 'answer_within = "30d"'))
    deadline = policy.cases.deadline()
    assert deadline is not None
    assert deadline.within == dt.timedelta(days=14)


def test_an_offer_within_authority_is_issued_once_and_the_customer_told(
    ledger: Ledger,
) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    made = offer(recovery, case, pln("40"), kind="voucher", by="ola", role="agent", at=at(3))
    again = offer(recovery, case, pln("40"), kind="voucher", by="ola", role="agent", at=at(3))
    assert made.status == again.status == CaseStatus.OFFERED
    (record,) = ledger.compensations()
    assert (record.compensation.kind, record.compensation.amount) == ("voucher", pln("40"))
    (entry,) = ledger.outbox()
    assert entry.content is not None
    assert entry.content.compensations[0].code == record.compensation.code
    assert [e.who for e in ledger.case_events(case)] == ["pxr", "ola"]


def test_an_offer_above_authority_waits_for_a_supervisor(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    waiting = offer(recovery, case, pln("120"), kind="refund", by="ola", role="agent", at=at(3))
    assert waiting.status == CaseStatus.AWAITING_APPROVAL
    assert list(ledger.compensations()) == []
    with pytest.raises(ValidationError, match="may grant 50"):
        approve(recovery, case, by="ola", role="agent", at=at(4))
    approved = approve(recovery, case, by="piotr", role="supervisor", at=at(4))
    approve(recovery, case, by="piotr", role="supervisor", at=at(4))
    assert approved.status == CaseStatus.OFFERED
    (record,) = ledger.compensations()
    assert record.compensation.amount == pln("120")
    events = [(e.kind, e.who) for e in ledger.case_events(case)]
    assert events == [("opened", "pxr"), ("awaiting approval", "ola"), ("approved", "piotr")]
    assert len(list(ledger.outbox())) == 1


def test_an_offer_in_another_currency_is_measured_at_the_policy_rates(ledger: Ledger) -> None:
    rates = '\n[recovery.rates]\nEUR = "4.00"\n'
    text = PARCEL.replace('channels = ["sms", "email"]', 'channels = ["sms", "email"]' + rates)
    recovery = Recovery(policy_from(text + PEOPLE), ledger, customers=[ANNA])
    case = complained(recovery)
    eur = Money(Decimal("13"), "EUR")  # 52 PLN: above the agent's 50
    assert offer(recovery, case, eur, kind="refund", by="o", role="agent", at=at(3)).status == (
        CaseStatus.AWAITING_APPROVAL
    )


def test_an_offer_over_the_customers_budget_is_refused(ledger: Ledger) -> None:
    budget = '\n[recovery.limits]\ncompensation_per_30_days = "30.00"\n'
    text = PARCEL.replace('channels = ["sms", "email"]', 'channels = ["sms", "email"]' + budget)
    recovery = Recovery(policy_from(text + PEOPLE), ledger, customers=[ANNA])
    case = complained(recovery)
    with pytest.raises(ValidationError, match="over the customer's budget"):
        offer(recovery, case, pln("40"), kind="refund", by="ola", role="agent", at=at(3))
    assert list(ledger.compensations()) == []
    found = ledger.case(case)
    assert found is not None
    assert found.status == CaseStatus.OPEN, "a refused offer leaves the case as it was"


def test_an_unknown_role_is_refused_by_name(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    with pytest.raises(ValidationError, match="unknown role 'boss'"):
        offer(recovery, case, pln("10"), kind="refund", by="x", role="boss", at=at(3))


def test_workers_offering_at_once_pay_once(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = SQLiteLedger(path)
    recovery = recovery_on(first)
    case = complained(recovery)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        ledger = SQLiteLedger(path)
        try:
            start.wait()
            offer(
                recovery_on(ledger),
                case,
                pln("45"),
                kind="refund",
                by=f"a{n}",
                role="agent",
                at=at(3),
            )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            ledger.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(list(first.compensations())) == 1
    assert len(list(first.outbox())) == 1
    first.close()


def test_a_rejected_offer_hands_the_case_over(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    offer(recovery, case, pln("20"), kind="refund", by="ola", role="agent", at=at(3))
    assert answer(recovery, case, accepted=False, at=at(4)).status == CaseStatus.REJECTED
    answer(recovery, case, accepted=False, at=at(4))
    handed = [e.note for e in ledger.case_events(case) if e.kind == "handed over"]
    assert handed == [str(HandOverReason.REJECTED)]


def test_the_sweeper_warns_the_team_once_before_the_deadline(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    assert sweep(recovery, at(13)).warned == ()
    assert sweep(recovery, at(14)).warned == (case,)
    assert sweep(recovery, at(15)).warned == ()
    notes = [e.note for e in ledger.case_events(case) if e.kind == "deadline near"]
    assert notes == ["silence counts as acceptance"]


def test_silence_past_the_polish_deadline_counts_as_acceptance(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    report = sweep(recovery, at(17))
    assert report.deemed_accepted == (case,)
    found = ledger.case(case)
    assert found is not None
    assert found.status == CaseStatus.ACCEPTED


def test_a_case_past_its_deadline_without_silence_rule_is_referred(ledger: Ledger) -> None:
    people = PEOPLE.replace('country = "PL"', 'country = "NL"\nanswer_within = "14d"')
    recovery = recovery_on(ledger, people=people)
    case = complained(recovery)
    assert sweep(recovery, at(17)).referred == (case,)
    (entry,) = ledger.outbox()
    assert (entry.channel, entry.purpose) == ("email", Purpose.REFERRAL)
    assert entry.content is not None
    assert entry.content.referral is not None
    assert entry.content.referral.name == "De Geschillencommissie"


def test_the_referral_email_names_the_body_in_the_customers_language(ledger: Ledger) -> None:
    people = PEOPLE.replace('country = "PL"', 'country = "BG"\nadr_participates = true')
    ivan = CustomerModel(id="c-ivan", locale="bg", email="ivan@example.bg")
    recovery = Recovery(policy_from(PARCEL + people), ledger, customers=[ivan])
    recovery.complaint("c-ivan", "BG-7", at(2))
    refer(recovery, case_id("c-ivan", "BG-7"), by="maria", at=at(5))
    (entry,) = ledger.outbox()
    message = Renderer.for_policy(recovery.policy, recovery.plugins.registry.channels).render(
        [entry], ivan
    )
    assert "https://kzp.bg" in message.text
    assert "орган за алтернативно решаване на спорове" in message.text
    assert "Ще участваме" in message.text
    assert "odr" not in message.text.lower(), "never the closed EU ODR platform"


def test_a_referral_without_an_email_address_goes_to_a_person(ledger: Ledger) -> None:
    people = PEOPLE.replace('country = "PL"', 'country = "NL"')
    no_mail = Customer(id="c-anna", locale="nl", phone="+31612345678")
    recovery = Recovery(policy_from(PARCEL + people), ledger, customers=[no_mail])
    case = complained(recovery)
    refer(recovery, case, by="pxr", at=at(5))
    assert list(ledger.outbox()) == []
    handed = [e.note for e in ledger.case_events(case) if e.kind == "handed over"]
    assert handed == [str(HandOverReason.UNREACHABLE)]


def test_the_work_queue_lists_by_due_time_with_filters(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    late = complained(recovery, "PL-1", day=5)
    soon = complained(recovery, "PL-2", day=2)
    offer(recovery, late, pln("100"), kind="refund", by="ola", role="agent", at=at(6))
    assert [t.id for t in tasks(ledger, at(6))] == [soon, late]
    assert [t.id for t in tasks(ledger, at(6), approvals=True)] == [late]
    assert [t.id for t in tasks(ledger, at(17), overdue=True)] == [soon]
    assert tasks(ledger, at(6), team="billing") == []
    close(ledger, soon, by="ola", at=at(7))
    assert [t.id for t in tasks(ledger, at(7))] == [late]


def test_a_dispatcher_can_hand_over_a_dead_letter_once(ledger: Ledger) -> None:
    calls: list[tuple[str, str]] = []

    class Ticketing:
        @hookimpl
        def case_handed_over(self, case: Case, reason: str) -> None:
            calls.append((case.id, reason))

    plugins = Plugins(load_entry_points=False)
    plugins.add(Ticketing(), name="ticketing", origin="test")
    for _ in range(2):
        open_hand_over(
            ledger,
            policy_from(PARCEL + PEOPLE),
            plugins,
            customer="c-anna",
            subject="PL-9",
            reason=HandOverReason.DEAD_LETTER,
            at=at(3),
        )
    assert calls == [(case_id("c-anna", "PL-9"), "dead letter")]


def test_roles_and_cases_errors_name_the_key() -> None:
    with pytest.raises(PolicyError, match=r"roles\[0\]\.may_grant"):
        loads_policy('[[roles]]\nname = "agent"\n')
    with pytest.raises(PolicyError, match=r"cases\.country"):
        loads_policy('[cases]\ncountry = "Poland"\n')
    with pytest.raises(PolicyError, match=r"roles\[1\]\.name"):
        loads_policy('[[roles]]\nname="a"\nmay_grant="1"\n[[roles]]\nname="a"\nmay_grant="2"\n')


def test_the_shipped_adr_data_holds_only_confirmed_bodies() -> None:
    bodies = load_adr_bodies(Path(__file__).parent.parent / "src" / "pxr" / "adr.toml")
    assert set(bodies) == {("PL", "general"), ("PL", "air"), ("BG", "general"), ("NL", "general")}
    assert all(b.website.startswith("https://") for b in bodies.values())
    assert not any("europa.eu" in b.website for b in bodies.values())


def test_a_host_adr_file_overrides_a_shipped_body(tmp_path: Path) -> None:
    (tmp_path / "adr.toml").write_text(
        '[[bodies]]\ncountry = "RO"\nsector = "general"\n'
        'name = "ANPC - SAL"\nwebsite = "https://example.ro/sal"\n',
        encoding="utf-8",
    )
    (tmp_path / "policy.toml").write_text(
        '[cases]\ncountry = "RO"\nadr_file = "adr.toml"\n', encoding="utf-8"
    )
    body = load_policy(tmp_path / "policy.toml").cases.adr_body()
    assert body is not None
    assert body.name == "ANPC - SAL"


def test_a_customer_no_channel_reaches_is_handed_to_a_person(ledger: Ledger) -> None:
    nobody = Customer(id="c-anna", locale="pl")
    recovery = Recovery(policy_from(PARCEL + PEOPLE), ledger, customers=[nobody])
    recovery.observe(Signal("c-anna", "PL-1", "delivery_delay", 2, at(2)))
    recovery.observe(Signal("c-anna", "PL-1", "delivery_delay", 2, at(2)))
    (case,) = ledger.cases()
    handed = [e.note for e in ledger.case_events(case.id) if e.kind == "handed over"]
    assert (case.origin, handed) == ("unreachable", ["unreachable"])


def test_a_critical_breach_opens_a_case_for_the_team_once(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    late = Signal("c-anna", "PL-1", "delivery_delay", 200, at(9), {"order_total": "100.00"})
    recovery.observe(late)
    recovery.observe(late)
    (case,) = ledger.cases()
    assert (case.origin, case.missed) == ("critical", False)
    assert [e.kind for e in ledger.case_events(case.id)] == ["opened", "handed over"]


def test_a_new_offer_after_a_rejection_is_issued_too(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    offer(recovery, case, pln("20"), kind="refund", by="ola", role="agent", at=at(3))
    answer(recovery, case, accepted=False, at=at(4))
    again = offer(recovery, case, pln("30"), kind="refund", by="ola", role="agent", at=at(5))
    assert again.status == CaseStatus.OFFERED
    paid = [r.compensation.amount for r in ledger.compensations()]
    assert paid == [pln("20"), pln("30")]
    assert len(list(ledger.outbox())) == 2


def test_supervisors_approving_at_once_pay_once(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = SQLiteLedger(path)
    recovery = recovery_on(first)
    case = complained(recovery)
    offer(recovery, case, pln("200"), kind="refund", by="ola", role="agent", at=at(3))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        ledger = SQLiteLedger(path)
        try:
            start.wait()
            approve(recovery_on(ledger), case, by=f"s{n}", role="supervisor", at=at(4))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            ledger.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.compensation.amount for r in first.compensations()] == [pln("200")]
    assert [e.kind for e in first.case_events(case)].count("approved") == 1
    first.close()


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("offer"), st.sampled_from(["20", "120"])),
        st.tuples(st.just("approve"), st.sampled_from(["agent", "supervisor"])),
        st.tuples(st.just("answer"), st.booleans()),
        st.tuples(st.just("close"), st.none()),
        st.tuples(st.just("refer"), st.none()),
        st.tuples(st.just("sweep"), st.integers(min_value=3, max_value=20)),
    ),
    max_size=8,
)


def play(ledger: Ledger, steps: list[tuple[str, object]]) -> list[tuple[str, str, str]]:
    """Run ``steps`` on one case, twice over (a replay); what the ledger holds."""
    recovery = recovery_on(ledger, people=PEOPLE.replace('country = "PL"', 'country = "NL"'))
    case = complained(recovery)
    for _ in range(2):
        for day, (step, arg) in enumerate(steps, start=3):
            when = at(day)
            try:
                if step == "offer":
                    offer(
                        recovery, case, pln(str(arg)), kind="refund", by="o", role="agent", at=when
                    )
                elif step == "approve":
                    approve(recovery, case, by="s", role=str(arg), at=when)
                elif step == "answer":
                    answer(recovery, case, accepted=bool(arg), at=when)
                elif step == "close":
                    close(ledger, case, by="o", at=when)
                elif step == "refer":
                    refer(recovery, case, by="o", at=when)
                else:
                    sweep(recovery, at(int(str(arg))))
            except ValidationError:
                pass  # an agent approving above their authority: refused, nothing written
    found = ledger.case(case)
    assert found is not None
    return [(found.status, "", "")] + [
        (e.kind, e.who, e.note or "") for e in ledger.case_events(case)
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_any_sequence_pays_each_offer_once_the_same_on_every_ledger(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, object]]
) -> None:
    memory, sqlite = MemoryLedger(), SQLiteLedger(tmp_path_factory.mktemp("l") / "l.db")
    try:
        history = play(memory, steps)
        assert play(sqlite, steps) == history
        issued = [kind for kind, _, _ in history[1:] if kind in ("offered", "approved")]
        for ledger in (memory, sqlite):
            assert len(list(ledger.compensations())) == len(issued)
            assert sum(e.purpose == "offer" for e in ledger.outbox()) == len(issued)
            assert sum(e.purpose == "referral" for e in ledger.outbox()) == (
                history[0][0] == CaseStatus.REFERRED
            )
    finally:
        sqlite.close()


def test_a_declined_offer_pays_nothing_and_reopens_the_case(ledger: Ledger) -> None:
    recovery = recovery_on(ledger)
    case = complained(recovery)
    offer(recovery, case, pln("300"), kind="refund", by="ola", role="agent", at=at(3))
    reopened = decline(
        ledger, recovery.policy, case, by="piotr", role="supervisor", at=at(4), note="too much"
    )
    assert reopened.status == CaseStatus.OPEN
    assert list(ledger.compensations()) == []
    assert [(e.kind, e.who, e.note) for e in ledger.case_events(case)][-1] == (
        "declined",
        "piotr",
        "supervisor: too much",
    )
    again = offer(recovery, case, pln("45"), kind="refund", by="ola", role="agent", at=at(5))
    assert again.status == CaseStatus.OFFERED


def test_a_follow_up_is_done_once_the_customer_is_contacted(ledger: Ledger) -> None:
    survey = """
    [[thresholds]]
    name = "survey-low"
    metric = "survey_score"
    below = { major = 3 }
    compensation.major = { kind = "contact", within = "24h", team = "care" }
    """
    recovery = recovery_on(ledger, survey)
    recovery.observe(Signal("c-anna", "S-1", "survey_score", 1, at(2)))
    follow_up = [t for t in tasks(ledger, at(2)) if t.kind == "follow-up"]
    assert [(t.team, t.due, t.overdue) for t in follow_up] == [("care", at(3), False)]
    assert done(ledger, follow_up[0].id, by="ola", at=at(2, 15)).status == "done"
    assert [t for t in tasks(ledger, at(4)) if t.kind == "follow-up"] == []
    assert ledger.events("contacted") == [("c-anna", "S-1", at(2, 15))]
    with pytest.raises(ValidationError, match="no open follow-up"):
        done(ledger, follow_up[0].id, by="ola", at=at(2, 16))
