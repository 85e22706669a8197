"""How the SQL ledgers store values that are not plain columns: times as
fixed-width UTC text (text order is time order), amounts as decimal text,
and a message's :class:`~pxr.model.Content` as JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pxr.model import Compensation, Content, Referral
from pxr.money import Money

__all__ = [
    "compensation_from",
    "content_from_json",
    "content_json",
    "fallbacks_from_json",
    "fallbacks_json",
    "from_ts",
    "ts",
    "ts_or_none",
]


@lru_cache(maxsize=4096)
def ts(value: dt.datetime) -> str:
    """A moment as sortable UTC text. Cached: one decision stores the same
    moment in three or four rows."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def ts_or_none(value: dt.datetime | None) -> str | None:
    """:func:`ts`, or ``None``."""
    return None if value is None else ts(value)


def from_ts(value: str | None) -> dt.datetime | None:
    """The moment stored by :func:`ts`."""
    return None if value is None else dt.datetime.fromisoformat(value)


def compensation_from(row: Any, prefix: str = "") -> Compensation:
    """A compensation from a row (or a mapping) of the compensations table's columns."""
    amount = row[prefix + "amount"]
    return Compensation(
        kind=row[prefix + "kind"],
        amount=Money(Decimal(amount), row[prefix + "currency"]) if amount is not None else None,
        code=row[prefix + "code"],
        expires_at=from_ts(row[prefix + "expires_at"]),
        item=row[prefix + "item"],
        team=row[prefix + "team"],
        due_at=from_ts(row[prefix + "due_at"]),
        priority=row[prefix + "priority"],
        statutory=bool(row[prefix + "statutory"]),
        note=row[prefix + "note"],
    )


def _compensation_dict(c: Compensation) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "amount": str(c.amount.amount) if c.amount else None,
        "currency": c.amount.currency if c.amount else None,
        "code": c.code,
        "expires_at": ts_or_none(c.expires_at),
        "item": c.item,
        "team": c.team,
        "due_at": ts_or_none(c.due_at),
        "priority": c.priority,
        "statutory": c.statutory,
        "note": c.note,
    }


def content_json(content: Content) -> str:
    """The JSON the outbox keeps for ``content`` (its subject has a column)."""
    delay = content.delay
    data: dict[str, object] = {
        "purpose": str(content.purpose),
        "topic": content.topic,
        "delay": None if delay is None else [delay.days, delay.seconds, delay.microseconds],
        "compensations": [_compensation_dict(c) for c in content.compensations],
    }
    referral = content.referral
    if referral is not None:
        data["referral"] = [referral.name, referral.website, referral.participates]
    return json.dumps(data, ensure_ascii=False)


def content_from_json(text: str, subject: str) -> Content:
    """The content :func:`content_json` stored."""
    data = json.loads(text)
    delay = data["delay"]
    referral = data.get("referral")
    return Content(
        purpose=data["purpose"],
        subject=subject,
        topic=data["topic"],
        delay=None if delay is None else dt.timedelta(*delay),
        compensations=tuple(compensation_from(c) for c in data["compensations"]),
        referral=None if referral is None else Referral(*referral),
    )


def fallbacks_json(fallbacks: tuple[tuple[str, str], ...]) -> str:
    """The customer's next ``(channel, address)`` pairs as JSON."""
    return json.dumps([list(pair) for pair in fallbacks], ensure_ascii=False)


def fallbacks_from_json(text: str) -> tuple[tuple[str, str], ...]:
    """The pairs :func:`fallbacks_json` stored (pxr 0.1 stored rendered messages)."""
    pairs = []
    for item in json.loads(text):
        if isinstance(item, dict):
            pairs.append((str(item["channel"]), str(item["to"])))
        else:
            channel, address = item
            pairs.append((str(channel), str(address)))
    return tuple(pairs)
