"""What recovery buys, with known answers: every figure from a ledger built by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from pxr import MemoryLedger, Money, Rates, SQLiteLedger
from pxr.cli import main
from pxr.ledger import (
    BreachChange,
    CompensationRecord,
    Decision,
    DecisionItem,
    Ledger,
    OutboxEntry,
    SuppressionRecord,
)
from pxr.model import Breach, Compensation, Content, Purpose, Reason, Severity
from pxr.proof import NOT_ENOUGH_DATA, compute_proof, format_proof
from pxr.report import render_report

from .conftest import policy_from

T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def breach(customer: str, subject: str | None = None, **changes: object) -> Breach:
    made = Breach(
        threshold="parcel-late",
        subject=subject or f"S-{customer}",
        customer=customer,
        severity=Severity.MAJOR,
        opened_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(made, **changes)  # type: ignore[arg-type]


def message(b: Breach, at: dt.datetime = T0, purpose: Purpose = Purpose.NOTICE) -> OutboxEntry:
    return OutboxEntry(
        key=f"{b.key}-{purpose}",
        customer=b.customer,
        subject=b.subject,
        threshold=b.threshold,
        severity=b.severity,
        created_at=at,
        channel="sms",
        to="+48500000000",
        locale="pl",
        timezone="UTC",
        send_at=at,
        content=Content(purpose=purpose, subject=b.subject),
    )


def paid(b: Breach, amount: str, currency: str) -> CompensationRecord:
    return CompensationRecord(
        threshold=b.threshold,
        subject=b.subject,
        severity=b.severity,
        customer=b.customer,
        compensation=Compensation(kind="refund", amount=Money(Decimal(amount), currency)),
        created_at=T0,
    )


def held_out(b: Breach) -> SuppressionRecord:
    return SuppressionRecord(
        customer=b.customer,
        subject=b.subject,
        threshold=b.threshold,
        severity=b.severity,
        what="compensation",
        reason="control group: apology only",
        at=T0,
        kind=Reason.CONTROL_GROUP,
    )


def write(ledger: Ledger, b: Breach, *items: DecisionItem) -> None:
    assert not ledger.apply(Decision(b.customer, (BreachChange(b), *items))).conflict


def outcome(ledger: Ledger, customer: str, name: str = "repurchase") -> None:
    ledger.record_event("outcome", customer, name, T0 + dt.timedelta(days=30))


@pytest.fixture
def quarter() -> MemoryLedger:
    """40 recovered customers (30 buy again; 10 paid in EUR), 40 held out (20
    buy again), 40 who never had a breach (20 buy again); 5 recovered and 3
    held-out customers complained."""
    ledger = MemoryLedger()
    for n in range(40):
        b = breach(f"r{n}")
        write(ledger, b, paid(b, "5.00", "EUR") if n < 10 else paid(b, "10.00", "PLN"), message(b))
        if n < 30:
            outcome(ledger, b.customer)
        if n < 5:
            ledger.record_event("complaint", b.customer, b.subject, T0 + dt.timedelta(hours=1))
    for n in range(40):
        b = breach(f"c{n}")
        write(ledger, b, held_out(b))
        if n < 20:
            outcome(ledger, b.customer)
        if n < 3:
            ledger.record_event("complaint", b.customer, b.subject, T0 + dt.timedelta(hours=1))
    for n in range(40):
        outcome(ledger, f"n{n}", "repurchase" if n < 20 else "survey")
    return ledger


def test_customers_fall_into_recovered_control_and_never_failed(quarter: MemoryLedger) -> None:
    g = compute_proof(quarter).groups
    assert (len(g.recovered), len(g.control), len(g.never_failed)) == (40, 40, 40)
    assert "r0" in g.recovered
    assert "c0" in g.control
    assert "n0" in g.never_failed


def test_the_recovery_paradox_is_measured_with_its_interval(quarter: MemoryLedger) -> None:
    """30/40 against 20/40: Newcombe's interval is about +3.8 to +43.3 points."""
    (repurchase,) = [p for p in compute_proof(quarter).paradox if p.outcome == "repurchase"]
    assert (repurchase.recovered.with_outcome, repurchase.recovered.customers) == (30, 40)
    assert (repurchase.control.with_outcome, repurchase.control.customers) == (20, 40)
    assert (repurchase.never_failed.with_outcome, repurchase.never_failed.customers) == (20, 40)
    assert repurchase.difference == pytest.approx(0.25)
    assert repurchase.interval is not None
    assert repurchase.interval[0] == pytest.approx(0.0379, abs=5e-4)
    assert repurchase.interval[1] == pytest.approx(0.4333, abs=5e-4)
    assert repurchase.verdict.startswith("recovered customers repurchase more often")


def test_a_small_sample_says_not_enough_data() -> None:
    ledger = MemoryLedger()
    for n in range(5):
        b = breach(f"r{n}")
        write(ledger, b, paid(b, "10.00", "PLN"), message(b))
        outcome(ledger, b.customer)
        outcome(ledger, f"n{n}")
    (repurchase,) = compute_proof(ledger).paradox
    assert repurchase.verdict == NOT_ENOUGH_DATA


def test_cost_is_kept_per_currency_and_totalled_at_the_policy_rates(
    quarter: MemoryLedger,
) -> None:
    proof = compute_proof(quarter, rates=Rates.parse({"EUR": "4.25"}, "PLN"))
    assert proof.cost_by_currency == {"EUR": Decimal("50.00"), "PLN": Decimal("300.00")}
    assert proof.cost == Money(Decimal("512.50"), "PLN")


def test_without_a_rate_the_cost_has_no_single_total(quarter: MemoryLedger) -> None:
    assert compute_proof(quarter, rates=Rates("PLN")).cost is None
    assert compute_proof(quarter).cost is None


def test_value_kept_is_extra_retained_customers_times_their_value(quarter: MemoryLedger) -> None:
    """(30/40 − 20/40) × 40 = 10 customers more than the control group's rate."""
    proof = compute_proof(
        quarter,
        rates=Rates.parse({"EUR": "4.25"}, "PLN"),
        customer_value=Money(Decimal("300"), "PLN"),
    )
    kept = proof.value_kept
    assert kept is not None
    assert kept.retained_value == Money(Decimal("9000.00"), "PLN")  # 30 kept × 300
    assert kept.extra_retained == pytest.approx(10.0)
    assert kept.value == Money(Decimal("3000.00"), "PLN")
    assert kept.value_interval is not None
    low, high = kept.value_interval
    assert low.amount == pytest.approx(Decimal("455"), abs=Decimal("7"))
    assert high.amount == pytest.approx(Decimal("5200"), abs=Decimal("7"))
    assert kept.cost == Money(Decimal("512.50"), "PLN")
    assert kept.verdict == "recovery kept customers the control group lost"


def test_value_kept_without_a_control_group_says_not_enough_data() -> None:
    ledger = MemoryLedger()
    b = breach("r0")
    write(ledger, b, paid(b, "10.00", "PLN"), message(b))
    outcome(ledger, "r0")
    kept = compute_proof(ledger, customer_value=Money(Decimal("300"), "PLN")).value_kept
    assert kept is not None
    assert (kept.value, kept.verdict) == (None, NOT_ENOUGH_DATA)


def test_silent_unhappy_customers_are_breaches_without_a_complaint(
    quarter: MemoryLedger,
) -> None:
    s = compute_proof(quarter).silent
    assert (s.breaches, s.complained, s.silent) == (80, 8, 72)
    assert s.we_were_first == 40  # every recovered customer heard from us first
    assert s.first_share == pytest.approx(0.5)


def test_a_complaint_before_our_message_is_not_first() -> None:
    ledger = MemoryLedger()
    b = breach("r0")
    write(ledger, b, message(b, T0 + dt.timedelta(hours=2)))
    ledger.record_event("complaint", "r0", b.subject, T0 + dt.timedelta(hours=1))
    assert compute_proof(ledger).silent.we_were_first == 0


def test_forecasts_count_lead_time_and_the_ones_that_did_not_come_true() -> None:
    ledger = MemoryLedger()
    for name, hours in (("f1", 6), ("f2", 2)):
        b = breach(name, confirmed_at=T0 + dt.timedelta(hours=hours))
        write(ledger, b)
    write(ledger, breach("f3", forecast=True))
    ledger.resolve("S-f3", None, T0 + dt.timedelta(hours=3))
    write(ledger, breach("f4", forecast=True))
    f = compute_proof(ledger).forecasts
    assert (f.confirmed, f.not_come_true, f.open) == (2, 1, 1)
    assert f.median_lead_time == dt.timedelta(hours=4)
    assert f.total_lead_time == dt.timedelta(hours=8)


def test_a_forecast_alone_is_not_a_failure() -> None:
    ledger = MemoryLedger()
    b = breach("f1", forecast=True)
    write(ledger, b, message(b, purpose=Purpose.FORECAST))
    outcome(ledger, "f1")
    proof = compute_proof(ledger)
    assert proof.groups.recovered == frozenset()
    assert proof.groups.never_failed == frozenset()
    assert proof.silent.breaches == 0


def test_the_json_form_keeps_the_counts_behind_each_figure(quarter: MemoryLedger) -> None:
    data = json.loads(
        json.dumps(
            compute_proof(
                quarter,
                rates=Rates.parse({"EUR": "4.25"}, "PLN"),
                customer_value=Money(Decimal("300"), "PLN"),
            ).to_dict()
        )
    )
    (repurchase,) = [p for p in data["paradox"] if p["outcome"] == "repurchase"]
    assert repurchase["recovered"] == {"customers": 40, "with": 30, "rate": 0.75}
    assert data["cost"]["total"] == "512.50 PLN"
    assert data["value_kept"]["value"] == "3000.00 PLN"
    assert data["silent"]["silent"] == 72


def test_the_text_form_names_each_answer(quarter: MemoryLedger) -> None:
    text = format_proof(
        compute_proof(
            quarter,
            rates=Rates.parse({"EUR": "4.25"}, "PLN"),
            customer_value=Money(Decimal("300"), "PLN"),
        )
    )
    assert "Customers: 40 recovered, 40 in a control group, 40 never had a breach" in text
    assert (
        "Recovery paradox, repurchase: recovered 30/40, control 20/40, never failed 20/40" in text
    )
    assert "Recovery cost in PLN: 512.50 PLN" in text
    assert "worth 3000.00 PLN" in text
    assert "Silent unhappy customers: 72 of 80 breaches had no complaint" in text


# ------------------------------------------------------------------ report and command


def saved(ledger: MemoryLedger, path: Path) -> str:
    """A SQLite copy of ``ledger``'s decisions, for the command line."""
    store = SQLiteLedger(path)
    for b in ledger.breaches():
        items: list[DecisionItem] = [
            *(r for r in ledger.compensations() if r.customer == b.customer),
            *(s for s in ledger.suppressions() if s.customer == b.customer),
            *(e for e in ledger.outbox() if e.customer == b.customer),
        ]
        write(store, attrs.evolve(b, resolved_at=None), *items)
    for kind in ("outcome", "complaint"):
        for customer, subject, at in ledger.events(kind):
            store.record_event(kind, customer, subject, at)
    store.close()
    return str(path)


def test_the_report_shows_the_paradox_the_value_and_the_quiet_ones(quarter: MemoryLedger) -> None:
    page = render_report(
        quarter,
        policy_from('[recovery]\ncurrency = "PLN"\nrates = { EUR = "4.25" }\n'),
        customer_value=Money(Decimal("300"), "PLN"),
    )
    assert "The recovery paradox" in page
    assert "30 of 40 recovered, 20 of 40 in the control group, 20 of 40 who never had a" in page
    assert "(95 % interval +3.8 to +43.3 points)" in page
    assert "<td>cost, all in PLN</td><td class=n>512.50 PLN</td>" in page
    assert "3000.00 PLN" in page
    assert "<tr><td>silent: no complaint</td><td class=n>72</td></tr>" in page


def test_the_report_without_outcomes_says_what_to_record() -> None:
    page = render_report(MemoryLedger())
    assert "No outcomes yet" in page
    assert "--customer-value" in page


def test_pxr_metrics_adds_the_proof(
    quarter: MemoryLedger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = saved(quarter, tmp_path / "l.db")
    policy = tmp_path / "policy.toml"
    policy.write_text('[recovery]\ncurrency = "PLN"\nrates = { EUR = "4.25" }\n')
    args = ["metrics", "--store", store, "--policy", str(policy), "--customer-value", "300"]
    assert main([*args, "--json"]) == 0
    proof = json.loads(capsys.readouterr().out)["proof"]
    assert proof["cost"]["total"] == "512.50 PLN"
    assert proof["value_kept"]["value"] == "3000.00 PLN"
    assert main(args) == 0
    assert "Recovery paradox, repurchase: recovered 30/40" in capsys.readouterr().out


def test_a_bad_customer_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = saved(MemoryLedger(), tmp_path / "l.db")
    assert main(["metrics", "--store", store, "--customer-value", "lots"]) == 2
    assert "--customer-value" in capsys.readouterr().err
