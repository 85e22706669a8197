"""The journey map: stages in order, the thresholds watching each, and — given a
ledger — where breaches came from and what they cost.

This is the "map of where complaints come from" of the first step: plan the
ideal experience, mark where it can go wrong, and see which marks light up.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import attrs

from pxr.ledger import LedgerReader
from pxr.metrics import NO_STAGE
from pxr.policy import Policy

__all__ = ["NO_STAGE", "StageRow", "format_journey", "journey"]


@attrs.frozen
class StageRow:
    """One stage: its thresholds, breaches and cost."""

    name: str
    description: str | None
    thresholds: tuple[str, ...]
    breaches: int = 0
    cost: tuple[tuple[str, Decimal], ...] = ()


def journey(policy: Policy, ledger: LedgerReader | None = None) -> list[StageRow]:
    """The stages of ``policy`` in order (and thresholds without a stage last)."""
    by_stage: dict[str, list[str]] = defaultdict(list)
    for rule in policy.rules:
        by_stage[rule.threshold.stage or NO_STAGE].append(rule.threshold.name)
    counts: dict[str, int] = defaultdict(int)
    cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if ledger is not None:
        stage_of = {}
        for breach in ledger.breaches():
            stage = breach.stage or NO_STAGE
            counts[stage] += not breach.forecast  # a forecast not come true is no failure
            stage_of[breach.threshold, breach.subject] = stage
        for record in ledger.compensations():
            amount = record.compensation.amount
            if amount is not None:
                stage = stage_of.get((record.threshold, record.subject), NO_STAGE)
                cost[stage][amount.currency] += amount.amount
    stages = [(s.name, s.description) for s in policy.stages]
    named = {name for name, _ in stages}
    stages += [(name, None) for name in by_stage if name not in named and name != NO_STAGE]
    if NO_STAGE in by_stage or counts.get(NO_STAGE):
        stages.append((NO_STAGE, None))
    return [
        StageRow(
            name=name,
            description=description,
            thresholds=tuple(by_stage.get(name, ())),
            breaches=counts.get(name, 0),
            cost=tuple(sorted(cost[name].items())),
        )
        for name, description in stages
    ]


def format_journey(rows: list[StageRow], with_ledger: bool) -> str:
    """The journey as text, one stage a block, in order."""
    lines = []
    for number, row in enumerate(rows, start=1):
        head = f"{number}. {row.name}"
        if row.description:
            head += f" — {row.description}"
        lines.append(head)
        lines.append(f"     watching: {', '.join(row.thresholds) or 'nothing yet'}")
        if with_ledger:
            cost = ", ".join(f"{amount} {currency}" for currency, amount in row.cost) or "nothing"
            lines.append(f"     breaches: {row.breaches}   compensation: {cost}")
    return "\n".join(lines) + "\n"
