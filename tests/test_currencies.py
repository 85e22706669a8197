"""Caps, budgets and amounts across currencies (issue 13; core review bug 4).

Every amount meets another only through a rate: the policy's
``[recovery] rates``, the host's :class:`~pxr.money.Rates`, or the fixed
rate of a euro changeover. Without one, pxr refuses; it never skips a cap.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxr import Customer, MemoryLedger, Recovery
from pxr.cli import main
from pxr.compensation import CompensationRequest, Refund
from pxr.errors import CurrencyMismatchError, PolicyError, ValidationError
from pxr.ledger import Ledger
from pxr.model import Breach, CompensationIssued, MessageQueued, Severity, Signal, Suppressed
from pxr.money import Money, Rates, currency_on, round_to_minor_units
from pxr.policy import loads_policy

from .conftest import ANNA, PARCEL, policy_from
from .money_strategies import amounts, any_rates, reference_factor, worth
from .test_engine import MakeRecovery, late

#: A EUR shop with a 100.00 EUR budget per customer and 30 days.
EUR_BUDGET = PARCEL.replace(
    'currency = "PLN"', 'currency = "EUR"\nlimits = { compensation_per_30_days = "100.00" }'
).replace('max = "50.00"', 'max = "500.00"')


def _with_rates(text: str, rates: str) -> str:
    """``text`` with ``rates = {…}`` added under its ``[recovery]`` currency."""
    head, _, tail = text.partition("\n[[thresholds]]")
    return head.replace("channels =", f"rates = {rates}\nchannels =", 1) + "\n[[thresholds]]" + tail


def _paid(actions: object) -> list[Money | None]:
    return [a.compensation.amount for a in actions if isinstance(a, CompensationIssued)]  # type: ignore[attr-defined]


# ------------------------------------------------------------ bug 4, reproduced


def test_a_pln_cap_without_a_eur_rate_refuses_a_eur_order(make_recovery: MakeRecovery) -> None:
    """A 50.00 PLN cap cannot be applied to a EUR order without a rate: refuse, never skip.

    Before the fix, this paid 1000.00 EUR, twice.
    """
    recovery = make_recovery(PARCEL)
    with pytest.raises(CurrencyMismatchError, match="cannot convert PLN to EUR"):
        recovery.observe(late(26, order_total="10000.00", currency="EUR"))


def test_a_eur_budget_without_a_ron_rate_refuses_a_ron_refund(
    make_recovery: MakeRecovery,
) -> None:
    """A 100.00 EUR budget cannot count a RON refund without a rate: refuse, never skip.

    Before the fix, three refunds of 200.00 RON went through.
    """
    recovery = make_recovery(EUR_BUDGET)
    with pytest.raises(CurrencyMismatchError, match="RON"):
        recovery.observe(late(26, order_total="2000.00", currency="RON"))


def test_a_pln_cap_applies_to_a_eur_order_at_the_policy_rate(make_recovery: MakeRecovery) -> None:
    """50.00 PLN at 1 EUR = 4.25 PLN is 11.7647… EUR: the cap pays 11.76 EUR, rounded down."""
    recovery = make_recovery(_with_rates(PARCEL, '{ EUR = "4.25" }'))
    actions = recovery.observe(late(26, order_total="10000.00", currency="EUR"))
    assert _paid(actions) == [Money(Decimal("11.76"), "EUR")]


def test_a_eur_budget_counts_ron_refunds_at_the_policy_rate(make_recovery: MakeRecovery) -> None:
    """200.00 RON is 40.00 EUR at 1 RON = 0.20 EUR: the third refund would reach 120.00 EUR."""
    recovery = make_recovery(_with_rates(EUR_BUDGET, '{ RON = "0.20" }'))
    paid = []
    for subject in ("RO-1", "RO-2"):
        paid += _paid(
            recovery.observe(late(26, subject=subject, order_total="2000.00", currency="RON"))
        )
    assert paid == [Money(Decimal(200), "RON")] * 2
    actions = recovery.observe(late(26, subject="RO-3", order_total="2000.00", currency="RON"))
    assert _paid(actions) == []
    (suppressed,) = [a for a in actions if isinstance(a, Suppressed)]
    assert suppressed.reason == "budget: 100.00 EUR per 30 days, 80.00 EUR already given"


def test_a_budget_counts_what_was_given_in_every_currency(make_recovery: MakeRecovery) -> None:
    """A PLN budget of 100.00: 85.00 PLN given in EUR leaves no room for 20.00 PLN more."""
    text = _with_rates(
        PARCEL.replace(
            'currency = "PLN"', 'currency = "PLN"\nlimits = { compensation_per_30_days = "100.00" }'
        ),
        '{ EUR = "4.25" }',
    )
    recovery = make_recovery(text)
    assert _paid(recovery.observe(late(26, subject="A", order_total="100.00", currency="EUR"))) == [
        Money(Decimal("10.00"), "EUR")  # 42.50 PLN
    ]
    assert _paid(recovery.observe(late(26, subject="B", order_total="100.00", currency="EUR"))) == [
        Money(Decimal("10.00"), "EUR")  # 85.00 PLN in all
    ]
    actions = recovery.observe(late(26, subject="C", order_total="200.00", currency="PLN"))
    (suppressed,) = [a for a in actions if isinstance(a, Suppressed)]
    assert suppressed.reason == "budget: 100.00 PLN per 30 days, 85.00 PLN already given"


# ------------------------------------------------------------ the policy file


def test_rates_are_read_from_the_recovery_table() -> None:
    policy = policy_from(_with_rates(PARCEL, '{ EUR = "4.25", RON = "0.85" }'))
    assert policy.rates == Rates("PLN", {"EUR": Decimal("4.25"), "RON": Decimal("0.85")})
    assert policy.currencies == {"PLN", "EUR", "RON"}


@pytest.mark.parametrize(
    ("rates", "where", "problem"),
    [
        ("{ EUR = 4.25 }", "recovery.rates.EUR", 'as a string such as "4.25"'),
        ('{ EUR = "0" }', "recovery.rates.EUR", "expected a positive rate"),
        ('{ EUR = "-1" }', "recovery.rates.EUR", "expected a positive rate"),
        ('{ XYZ = "1" }', "recovery.rates.XYZ", "unknown currency 'XYZ'"),
        ('{ PLN = "1" }', "recovery.rates.PLN", "the policy's own currency"),
        ('{ EUR = "4.25", BGN = "2.17" }', "recovery.rates.BGN", "tied by law"),
        ('"4.25"', "recovery.rates", "expected a table"),
    ],
)
def test_bad_rates_name_the_key(rates: str, where: str, problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        loads_policy(_with_rates(PARCEL, rates), name="p.toml")
    assert caught.value.where == where
    assert problem in caught.value.problem


def test_a_cap_in_a_currency_without_a_rate_is_refused_at_load() -> None:
    """A cap in PLN for a policy whose orders are in EUR, with no rate: unusable."""
    text = PARCEL.replace('currency = "PLN"', 'currency = "EUR"').replace(
        'max = "50.00"', 'max = "50.00 PLN"'
    )
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, name="p.toml")
    assert caught.value.where == "thresholds[0].compensation.major.max"
    assert "50.00 PLN cannot be converted to EUR" in caught.value.problem
    assert "[recovery] rates" in caught.value.problem


def test_a_budget_in_a_currency_without_a_rate_is_refused_at_load() -> None:
    text = PARCEL.replace(
        'currency = "PLN"', 'currency = "PLN"\nlimits = { compensation_per_30_days = "100.00 EUR" }'
    )
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, name="p.toml")
    assert caught.value.where == "recovery.limits.compensation_per_30_days"


def test_a_named_currency_with_its_rate_loads() -> None:
    text = PARCEL.replace('currency = "PLN"', 'currency = "EUR"').replace(
        'max = "50.00"', 'max = "50.00 PLN"'
    )
    policy = policy_from(_with_rates(text, '{ PLN = "0.235" }'))
    assert policy.currencies == {"EUR", "PLN"}


def test_a_euro_cap_in_a_lev_policy_needs_no_rate() -> None:
    """The fixed rate ties BGN to EUR: no host rate is needed between them."""
    text = PARCEL.replace('currency = "PLN"', 'currency = "BGN"').replace(
        'max = "50.00"', 'max = "25.00 EUR"'
    )
    assert policy_from(text).rates == Rates("BGN")


def test_pxr_check_refuses_a_policy_it_cannot_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        PARCEL.replace('currency = "PLN"', 'currency = "EUR"').replace(
            'max = "50.00"', 'max = "50.00 PLN"'
        ),
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 2
    assert "thresholds[0].compensation.major.max: 50.00 PLN cannot be converted to EUR" in (
        capsys.readouterr().err
    )


def test_pxr_check_accepts_the_policy_once_it_has_the_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.toml"
    text = PARCEL.replace('currency = "PLN"', 'currency = "EUR"').replace(
        'max = "50.00"', 'max = "50.00 PLN"'
    )
    path.write_text(_with_rates(text, '{ PLN = "0.235" }'), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out.endswith(
        "ok — 1 thresholds, 0 stages, locale en, currency EUR, rates for PLN\n"
    )


def _documented_policy() -> str:
    page = (Path(__file__).parent.parent / "docs" / "money.md").read_text(encoding="utf-8")
    return page.split("```toml\n", 1)[1].split("```", 1)[0]


def test_the_documented_policy_caps_a_eur_order_and_converts_a_eur_voucher(
    ledger: Ledger,
) -> None:
    """docs/money.md's policy: 50.00 PLN is an 11.76 EUR cap; a 20.00 EUR voucher is
    85.00 PLN on a PLN order."""
    policy = loads_policy(_documented_policy(), name="money.md")
    recovery = Recovery(policy, ledger, customers=[ANNA])
    refund = recovery.observe(late(26, subject="A", order_total="500.00", currency="EUR"))
    assert _paid(refund) == [Money(Decimal("11.76"), "EUR")]
    voucher = recovery.observe(late(200, subject="B", order_total="500.00", currency="PLN"))
    assert _paid(voucher) == [Money(Decimal("85.00"), "PLN")]


# ------------------------------------------------------------ rates from Python


def test_a_host_passes_rates_from_python(ledger: Ledger) -> None:
    """``Policy.with_rates`` replaces ``[recovery] rates``: today's rate from a host's feed.

    At 1 EUR = 4.00 PLN the 50.00 PLN cap is 12.50 EUR.
    """
    policy = policy_from(_with_rates(PARCEL, '{ EUR = "4.25" }')).with_rates({"EUR": "4.00"})
    assert policy.rates == Rates("PLN", {"EUR": Decimal("4.00")})
    recovery = Recovery(policy, ledger, customers=[ANNA])
    actions = recovery.observe(late(26, order_total="10000.00", currency="EUR"))
    assert _paid(actions) == [Money(Decimal("12.50"), "EUR")]


def test_rates_from_python_are_checked_like_the_file() -> None:
    text = PARCEL.replace('max = "50.00"', 'max = "12.00 EUR"')
    policy = policy_from(_with_rates(text, '{ EUR = "4.25" }'))
    with pytest.raises(ValidationError, match=r"12\.00 EUR cannot be converted to PLN"):
        policy.with_rates({"RON": "0.85"})


def test_rates_in_another_currency_than_the_policy_are_refused() -> None:
    with pytest.raises(ValidationError, match="rates are in EUR, the policy's currency is PLN"):
        policy_from(PARCEL).with_rates(Rates("EUR"))


# ------------------------------------------------------------ Bulgaria in euros

BGN_SHOP = """
[recovery]
currency = "BGN"
channels = ["email"]

[[thresholds]]
name = "parcel-late"
metric = "delivery_delay"
unit = "hours"
above = { major = 24, critical = 168 }
compensation.major = { kind = "refund", percent = 10, of = "order_total", max = "50.00" }
compensation.critical = { kind = "voucher", amount = "20.00", valid_days = 30 }
"""

IVAN = Customer(id="c-anna", locale="bg-BG", timezone="Europe/Sofia", email="ivan@example.bg")
SOFIA = dt.timezone(dt.timedelta(hours=2))
AFTER = dt.datetime(2026, 3, 3, 11, 0, tzinfo=SOFIA)
BEFORE = dt.datetime(2025, 12, 31, 11, 0, tzinfo=SOFIA)


def _text(actions: object) -> str:
    (message,) = [a for a in actions if isinstance(a, MessageQueued)]  # type: ignore[attr-defined]
    return message.message.text


def test_a_fixed_lev_voucher_is_shown_in_euros_after_the_changeover(
    make_recovery: MakeRecovery,
) -> None:
    """20.00 BGN / 1.95583 = 10.2258… EUR: 10,23 €, and no leva in the message."""
    recovery = make_recovery(BGN_SHOP, IVAN)
    actions = recovery.observe(late(200, AFTER, order_total="100.00", currency="BGN"))
    assert _paid(actions) == [Money(Decimal("10.23"), "EUR")]
    assert "10,23\u00a0€" in _text(actions)
    assert "лв" not in _text(actions)


def test_a_fixed_lev_voucher_stays_in_leva_before_the_changeover(
    make_recovery: MakeRecovery,
) -> None:
    recovery = make_recovery(BGN_SHOP, IVAN)
    actions = recovery.observe(late(200, BEFORE, order_total="100.00", currency="BGN"))
    assert _paid(actions) == [Money(Decimal("20.00"), "BGN")]
    assert "20,00\u00a0лв." in _text(actions)


def test_a_lev_cap_applies_in_euros_after_the_changeover(make_recovery: MakeRecovery) -> None:
    """10 % of 1000.00 BGN is 51.13 €; the 50 лв. cap is 25.5645… €, so 25.56 € is paid."""
    recovery = make_recovery(BGN_SHOP, IVAN)
    actions = recovery.observe(late(26, AFTER, order_total="1000.00", currency="BGN"))
    assert _paid(actions) == [Money(Decimal("25.56"), "EUR")]


def test_a_lev_cap_applies_in_leva_before_the_changeover(make_recovery: MakeRecovery) -> None:
    recovery = make_recovery(BGN_SHOP, IVAN)
    actions = recovery.observe(late(26, BEFORE, order_total="1000.00", currency="BGN"))
    assert _paid(actions) == [Money(Decimal("50.00"), "BGN")]


def test_an_order_in_leva_is_converted_once(make_recovery: MakeRecovery) -> None:
    """10 % of 10.07 BGN is 1.007 BGN = 0.51487… €: 0.51 €, rounded once.

    Converting the order first (10.07 BGN → 5.15 €) and then taking 10 %
    would round twice and pay 0.52 €.
    """
    recovery = make_recovery(BGN_SHOP, IVAN)
    actions = recovery.observe(late(26, AFTER, order_total="10.07", currency="BGN"))
    assert _paid(actions) == [Money(Decimal("0.51"), "EUR")]


def test_a_lev_budget_counts_euro_refunds_at_the_fixed_rate(make_recovery: MakeRecovery) -> None:
    """100.00 BGN budget: a 60.00 BGN refund is 30.68 €; a second one would pass 100 BGN."""
    text = BGN_SHOP.replace(
        'currency = "BGN"', 'currency = "BGN"\nlimits = { compensation_per_30_days = "100.00" }'
    ).replace('percent = 10, of = "order_total", max = "50.00"', 'amount = "60.00"')
    recovery = make_recovery(text, IVAN)
    first = recovery.observe(late(26, AFTER, "BG-1", order_total="1.00", currency="BGN"))
    assert _paid(first) == [Money(Decimal("30.68"), "EUR")]
    second = recovery.observe(late(26, AFTER, "BG-2", order_total="1.00", currency="BGN"))
    assert _paid(second) == []
    (suppressed,) = [a for a in second if isinstance(a, Suppressed)]
    assert suppressed.reason == "budget: 100.00 BGN per 30 days, 60.00 BGN already given"


# ------------------------------------------------------------ properties

ON = st.sampled_from([dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 6, 1)])


@settings(max_examples=300, deadline=None)
@given(
    rates=any_rates(),
    order=amounts(high=10**9),
    cap=amounts(high=10**6),
    percent=st.integers(min_value=1, max_value=100),
    on=ON,
)
def test_a_cap_is_never_exceeded_in_any_currency(
    rates: Rates, order: Money, cap: Money, percent: int, on: dt.date
) -> None:
    """For any order, cap, currencies and rates: the refund is at most the cap, counted
    exactly in every currency; it is the share or the cap, each rounded once; with no
    rate, an error."""
    refund = Refund.from_config(
        {"percent": percent, "max": f"{cap.amount} {cap.currency}"}, "refund", rates.currency
    )
    at = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
    context = {"order_total": str(order.amount), "currency": order.currency}
    signal = Signal(customer="c", subject="O-1", metric="delay", value=1, at=at, context=context)
    breach = Breach("t", "O-1", "c", Severity.MAJOR, at, at)
    request = CompensationRequest(breach, signal, rates.currency, rates=rates)
    payout = currency_on(order.currency, on)
    cap_factor = reference_factor(rates, cap.currency, payout)
    if cap_factor is None:
        with pytest.raises(CurrencyMismatchError):
            refund.compensate(request)
        return
    paid = refund.compensate(request).amount
    assert paid is not None
    assert paid.currency == payout
    for code in {payout, cap.currency, *worth(rates)}:
        to_paid = reference_factor(rates, payout, code)
        to_cap = reference_factor(rates, cap.currency, code)
        if to_paid is not None and to_cap is not None:
            assert Fraction(paid.amount) * to_paid <= Fraction(cap.amount) * to_cap
    order_factor = reference_factor(rates, order.currency, payout)
    assert order_factor is not None  # the same currency, or the euro's fixed rate
    share = Fraction(order.amount) * Fraction(percent, 100) * order_factor
    assert paid.amount == min(
        round_to_minor_units(share, payout),
        round_to_minor_units(Fraction(cap.amount) * cap_factor, payout, down=True),
    )


@settings(max_examples=40, deadline=None)
@given(
    orders=st.lists(
        st.tuples(st.sampled_from(["PLN", "EUR", "RON", "BGN"]), st.integers(1, 10**6)),
        min_size=1,
        max_size=6,
    ),
    budget=st.integers(1, 50_000),
    budget_currency=st.sampled_from(["PLN", "EUR", "RON"]),
)
def test_the_engine_never_gives_beyond_the_budget_in_any_currency(
    orders: list[tuple[str, int]], budget: int, budget_currency: str
) -> None:
    """Refunds of orders in PLN, EUR, RON and BGN against one budget, through the engine."""
    limit = Money(Decimal(budget).scaleb(-2), budget_currency)
    text = PARCEL.replace(
        'currency = "PLN"',
        f'currency = "PLN"\nlimits = {{ compensation_per_30_days = "{limit}" }}',
    ).replace('max = "50.00"', 'max = "100000.00"')
    policy = policy_from(_with_rates(text, '{ EUR = "4.25", RON = "0.85" }'))
    recovery = Recovery(policy, MemoryLedger(), customers=[ANNA])
    paid: list[Money] = []
    for n, (currency, cents) in enumerate(orders):
        total = str(Decimal(cents).scaleb(-2))
        signal = late(26, subject=f"O-{n}", order_total=total, currency=currency)
        paid += [m for m in _paid(recovery.observe(signal)) if m is not None]
    value = worth(policy.rates)
    given = sum((Fraction(m.amount) * value[m.currency] for m in paid), Fraction(0))
    assert given <= Fraction(limit.amount) * value[limit.currency]
