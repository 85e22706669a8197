"""Caps and budgets across currencies (issue 13; core review bug 4)."""

from __future__ import annotations

import pytest

from pxr.errors import ValidationError

from .conftest import PARCEL
from .test_engine import MakeRecovery, late

#: A EUR shop with a 100.00 EUR budget per customer and 30 days.
EUR_BUDGET = PARCEL.replace(
    'currency = "PLN"', 'currency = "EUR"\nlimits = { compensation_per_30_days = "100.00" }'
).replace('max = "50.00"', 'max = "500.00"')


@pytest.mark.xfail(strict=True, reason="bug 4: the PLN cap is skipped, 1000.00 EUR is paid")
def test_a_pln_cap_without_a_eur_rate_refuses_a_eur_order(make_recovery: MakeRecovery) -> None:
    """A 50.00 PLN cap cannot be applied to a EUR order without a rate: refuse, never skip."""
    recovery = make_recovery(PARCEL)
    with pytest.raises(ValidationError):
        recovery.observe(late(26, order_total="10000.00", currency="EUR"))


@pytest.mark.xfail(strict=True, reason="bug 4: the EUR budget is skipped, 600.00 RON is paid")
def test_a_eur_budget_without_a_ron_rate_refuses_a_ron_refund(
    make_recovery: MakeRecovery,
) -> None:
    """A 100.00 EUR budget cannot count a RON refund without a rate: refuse, never skip."""
    recovery = make_recovery(EUR_BUDGET)
    with pytest.raises(ValidationError):
        recovery.observe(late(26, order_total="2000.00", currency="RON"))
