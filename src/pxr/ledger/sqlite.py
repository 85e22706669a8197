"""The default ledger: one SQLite file in WAL mode.

Uniqueness is enforced by the schema (primary keys and a unique voucher
code); every "insert if absent" is ``INSERT … ON CONFLICT DO NOTHING`` and
every escalation a conditional ``UPDATE``, so the row count tells the caller
whether it won. Times are stored as UTC ISO 8601 text with a fixed width, so
text order is time order; amounts as decimal text, never floats.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pxr.errors import LedgerBusyError, LedgerError
from pxr.ledger import (
    CodeTaken,
    CompensationRecord,
    DeliveryAttempt,
    OutboxEntry,
    SuppressionRecord,
    pseudonym,
)
from pxr.model import Breach, Compensation, Message, Severity
from pxr.money import Money

__all__ = ["SCHEMA_VERSION", "SQLiteLedger"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS breaches (
    threshold   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    customer    TEXT NOT NULL,
    severity    INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 3),
    stage       TEXT,
    holdout     INTEGER NOT NULL DEFAULT 0,
    opened_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (threshold, subject)
);
CREATE INDEX IF NOT EXISTS breaches_subject ON breaches (subject, resolved_at);
CREATE TABLE IF NOT EXISTS compensations (
    seq        INTEGER PRIMARY KEY,
    threshold  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    customer   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    amount     TEXT,
    currency   TEXT,
    code       TEXT UNIQUE,
    expires_at TEXT,
    item       TEXT,
    team       TEXT,
    due_at     TEXT,
    priority   INTEGER,
    statutory  INTEGER NOT NULL,
    note       TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (threshold, subject, severity, kind)
);
CREATE INDEX IF NOT EXISTS compensations_customer ON compensations (customer, created_at);
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    customer   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    threshold  TEXT,
    severity   INTEGER,
    purpose    TEXT NOT NULL,
    channel    TEXT NOT NULL,
    address    TEXT NOT NULL,
    locale     TEXT NOT NULL,
    title      TEXT,
    body       TEXT NOT NULL,
    encoding   TEXT,
    segments   INTEGER,
    created_at TEXT NOT NULL,
    send_at    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'erased')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    fallbacks  TEXT NOT NULL DEFAULT '[]',
    last_error TEXT,
    claimed_until TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, send_at);
CREATE TABLE IF NOT EXISTS deliveries (
    seq         INTEGER PRIMARY KEY,
    entry_id    INTEGER NOT NULL REFERENCES outbox (id),
    attempt     INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT,
    provider_id TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_entry ON deliveries (entry_id);
-- One index serves every per-customer question (a customer has few messages);
-- ledgers from earlier development builds had a second one, dropped here: every
-- index costs every insert.
DROP INDEX IF EXISTS outbox_customer;
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox (customer, subject, send_at);
CREATE TABLE IF NOT EXISTS suppressions (
    seq       INTEGER PRIMARY KEY,
    customer  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    threshold TEXT,
    severity  INTEGER,
    what      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    kind     TEXT NOT NULL,
    customer TEXT NOT NULL,
    subject  TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (kind, customer, subject, at)
);
"""


@lru_cache(maxsize=4096)
def _ts(value: dt.datetime) -> str:
    # Cached: one decision stores the same moment in three or four rows.
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _ts_or_none(value: dt.datetime | None) -> str | None:
    return None if value is None else _ts(value)


def _dt(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _dt_required(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _breach(row: sqlite3.Row) -> Breach:
    return Breach(
        threshold=row["threshold"],
        subject=row["subject"],
        customer=row["customer"],
        severity=Severity(row["severity"]),
        stage=row["stage"],
        holdout=bool(row["holdout"]),
        opened_at=_dt_required(row["opened_at"]),
        updated_at=_dt_required(row["updated_at"]),
        resolved_at=_dt(row["resolved_at"]),
    )


def _compensation(row: sqlite3.Row) -> CompensationRecord:
    amount = Money(Decimal(row["amount"]), row["currency"]) if row["amount"] is not None else None
    return CompensationRecord(
        threshold=row["threshold"],
        subject=row["subject"],
        severity=Severity(row["severity"]),
        customer=row["customer"],
        created_at=_dt_required(row["created_at"]),
        compensation=Compensation(
            kind=row["kind"],
            amount=amount,
            code=row["code"],
            expires_at=_dt(row["expires_at"]),
            item=row["item"],
            team=row["team"],
            due_at=_dt(row["due_at"]),
            priority=row["priority"],
            statutory=bool(row["statutory"]),
            note=row["note"],
        ),
    )


_FALLBACK_FIELDS = ("channel", "to", "title", "text", "encoding", "segments")


def _fallbacks_json(fallbacks: Sequence[Message]) -> str:
    return json.dumps(
        [{name: getattr(m, name) for name in _FALLBACK_FIELDS} for m in fallbacks],
        ensure_ascii=False,
    )


def _fallback(data: dict[str, Any], row: sqlite3.Row) -> Message:
    return Message(
        locale=row["locale"],
        send_at=_dt_required(row["send_at"]),
        purpose=row["purpose"],
        **{name: data[name] for name in _FALLBACK_FIELDS},
    )


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        key=row["key"],
        customer=row["customer"],
        subject=row["subject"],
        threshold=row["threshold"],
        severity=Severity(row["severity"]) if row["severity"] is not None else None,
        created_at=_dt_required(row["created_at"]),
        status=row["status"],
        attempts=row["attempts"],
        fallbacks=tuple(_fallback(f, row) for f in json.loads(row["fallbacks"])),
        last_error=row["last_error"],
        message=Message(
            channel=row["channel"],
            to=row["address"],
            locale=row["locale"],
            title=row["title"],
            text=row["body"],
            send_at=_dt_required(row["send_at"]),
            purpose=row["purpose"],
            encoding=row["encoding"],
            segments=row["segments"],
        ),
    )


class SQLiteLedger:
    """A ledger in one SQLite file (``":memory:"`` for a throwaway one).

    ``durable=True`` syncs every commit to disk (``synchronous=FULL``); the
    default ``NORMAL`` is safe against a crash of the process, and in WAL
    mode loses at most the last commits on a power failure.
    """

    #: Seconds a statement waits for another process's lock before it fails.
    busy_timeout: float = 30.0
    #: Set-up attempts while the store reports "locked": switching to WAL can
    #: fail at once, without waiting, when another process is creating the file.
    setup_attempts: int = 3

    def _read_only(self, error: sqlite3.Error) -> LedgerError | None:
        """The error to raise if the file or its directory cannot be written, else None."""
        directory = os.path.dirname(os.path.abspath(self.path))
        if os.access(directory, os.W_OK) and (
            not os.path.exists(self.path) or os.access(self.path, os.W_OK)
        ):
            return None
        return LedgerError(
            f"ledger {self.path!r} cannot be written (a read-only file, directory"
            f" or filesystem): {error}"
        )

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = os.fspath(path)
        try:
            self._db = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout,  # set first: the set-up itself may wait
            )
        except sqlite3.Error as error:
            raise self._read_only(error) or LedgerError(
                f"cannot open ledger {self.path!r}: {error}"
            ) from None
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        for attempt in range(1, self.setup_attempts + 1):
            try:
                self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._db.executescript(_SCHEMA)
                self._check_version()
                break
            except sqlite3.OperationalError as error:
                if "locked" in str(error) and attempt < self.setup_attempts:
                    continue
                self._db.close()
                if "locked" in str(error):
                    raise LedgerBusyError(
                        f"ledger {self.path!r} stayed locked by another process"
                        f" for {self.busy_timeout:g} s ({attempt} attempts); try again later"
                    ) from None
                raise self._read_only(error) or LedgerError(
                    f"{self.path!r} is not a usable pxr ledger: {error}"
                ) from None
            except sqlite3.DatabaseError as error:
                self._db.close()
                raise LedgerError(f"{self.path!r} is not a usable pxr ledger: {error}") from None

    def __repr__(self) -> str:
        return f"SQLiteLedger({self.path!r})"

    def _check_version(self) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            (str(SCHEMA_VERSION),),
        )
        (found,) = self._db.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchone()
        if int(found) != SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path!r} has ledger schema {found}; this pxr reads {SCHEMA_VERSION}"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested blocks are savepoints."""
        name = f"pxr_{self._depth}"
        self._db.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute(f"ROLLBACK TO {name}")
                self._db.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        self._db.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    def _one(self, sql: str, params: Sequence[Any]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
        return row

    def get_breach(self, threshold: str, subject: str) -> Breach | None:
        """The breach with this identity, open or resolved."""
        row = self._one(
            "SELECT * FROM breaches WHERE threshold = ? AND subject = ?", (threshold, subject)
        )
        return None if row is None else _breach(row)

    def insert_breach(self, breach: Breach) -> bool:
        """Open ``breach`` unless its identity exists."""
        cursor = self._db.execute(
            "INSERT INTO breaches (threshold, subject, customer, severity, stage, holdout,"
            " opened_at, updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                breach.threshold,
                breach.subject,
                breach.customer,
                int(breach.severity),
                breach.stage,
                int(breach.holdout),
                _ts(breach.opened_at),
                _ts(breach.updated_at),
                _ts_or_none(breach.resolved_at),
            ),
        )
        return cursor.rowcount == 1

    def escalate_breach(
        self, threshold: str, subject: str, severity: Severity, at: dt.datetime
    ) -> bool:
        """Raise an open breach to ``severity`` if it was lower."""
        cursor = self._db.execute(
            "UPDATE breaches SET severity = ?, updated_at = ? WHERE threshold = ? AND subject = ?"
            " AND severity < ? AND resolved_at IS NULL",
            (int(severity), _ts(at), threshold, subject, int(severity)),
        )
        return cursor.rowcount == 1

    def resolve_breaches(
        self, subject: str, threshold: str | None, at: dt.datetime
    ) -> list[Breach]:
        """Close the subject's open breaches."""
        sql = (
            "UPDATE breaches SET resolved_at = ?, updated_at = ? WHERE subject = ?"
            " AND opened_at <= ?"
        )
        params: list[Any] = [_ts(at), _ts(at), subject, _ts(at)]
        if threshold is not None:
            sql += " AND threshold = ?"
            params.append(threshold)
        rows = self._db.execute(sql + " AND resolved_at IS NULL RETURNING *", params).fetchall()
        return sorted((_breach(r) for r in rows), key=lambda b: (b.opened_at, b.threshold))

    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order opened."""
        for row in self._db.execute("SELECT * FROM breaches ORDER BY rowid"):
            yield _breach(row)

    def insert_compensation(self, record: CompensationRecord) -> bool:
        """Record a compensation once per tier; voucher codes are unique."""
        c = record.compensation
        try:
            cursor = self._db.execute(
                "INSERT INTO compensations (threshold, subject, severity, customer, kind, amount,"
                " currency, code, expires_at, item, team, due_at, priority, statutory, note,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (threshold, subject, severity, kind) DO NOTHING",
                (
                    record.threshold,
                    record.subject,
                    int(record.severity),
                    record.customer,
                    c.kind,
                    str(c.amount.amount) if c.amount else None,
                    c.amount.currency if c.amount else None,
                    c.code,
                    _ts_or_none(c.expires_at),
                    c.item,
                    c.team,
                    _ts_or_none(c.due_at),
                    c.priority,
                    int(c.statutory),
                    c.note,
                    _ts(record.created_at),
                ),
            )
        except sqlite3.IntegrityError:
            raise CodeTaken("voucher code already issued") from None
        return cursor.rowcount == 1

    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        for row in self._db.execute("SELECT * FROM compensations ORDER BY seq"):
            yield _compensation(row)

    def paid_for_breach(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        """Paid so far for one breach, per (currency, statutory)."""
        totals: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
        for amount, currency, statutory in self._db.execute(
            "SELECT amount, currency, statutory FROM compensations"
            " WHERE threshold = ? AND subject = ? AND amount IS NOT NULL",
            (threshold, subject),
        ):
            totals[currency, bool(statutory)] += Decimal(amount)
        return dict(totals)

    def spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        """Non-statutory compensation for ``customer`` since ``since``."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for amount, currency in self._db.execute(
            "SELECT amount, currency FROM compensations WHERE customer = ? AND created_at >= ?"
            " AND amount IS NOT NULL AND statutory = 0",
            (customer, _ts(since)),
        ):
            totals[currency] += Decimal(amount)
        return dict(totals)

    def enqueue(self, entry: OutboxEntry) -> bool:
        """Queue a message once per key."""
        m = entry.message
        cursor = self._db.execute(
            "INSERT INTO outbox (key, customer, subject, threshold, severity, purpose, channel,"
            " address, locale, title, body, encoding, segments, created_at, send_at, status,"
            " attempts, fallbacks)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (
                entry.key,
                entry.customer,
                entry.subject,
                entry.threshold,
                int(entry.severity) if entry.severity is not None else None,
                m.purpose,
                m.channel,
                m.to,
                m.locale,
                m.title,
                m.text,
                m.encoding,
                m.segments,
                _ts(entry.created_at),
                _ts(m.send_at),
                entry.status,
                entry.attempts,
                _fallbacks_json(entry.fallbacks),
            ),
        )
        return cursor.rowcount == 1

    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        for row in self._db.execute("SELECT * FROM outbox ORDER BY id"):
            yield _entry(row)

    def due(
        self, now: dt.datetime, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Pending entries due by ``now``, and those whose sender's lease ran out."""
        only = ""
        params: list[Any] = [_ts(now), _ts(now)]
        if channels is not None:
            only = f" AND channel IN ({', '.join('?' for _ in channels)})"
            params += sorted(channels)
        sql = (
            "SELECT * FROM outbox WHERE ((status = 'pending' AND send_at <= ?)"  # noqa: S608 - "?" placeholders only
            " OR (status = 'sending' AND claimed_until < ?))"
            + only  # only "?" placeholders: the channel names are parameters
            + " ORDER BY send_at, id LIMIT ?"
        )
        rows = self._db.execute(sql, [*params, limit])
        return [_entry(row) for row in rows]

    def claim(self, entry_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take an entry for sending, unless another sender holds a live lease."""
        cursor = self._db.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = ?"
            " WHERE id = ? AND (status = 'pending' OR (status = 'sending' AND claimed_until < ?))",
            (_ts(until), entry_id, _ts(now)),
        )
        return cursor.rowcount == 1

    def _log_attempt(self, attempt: DeliveryAttempt) -> None:
        self._db.execute(
            "INSERT INTO deliveries (entry_id, attempt, channel, status, at, detail, provider_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                attempt.entry_id,
                attempt.attempt,
                attempt.channel,
                attempt.status,
                _ts(attempt.at),
                attempt.detail,
                attempt.provider_id,
            ),
        )

    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: str) -> None:
        """Finish as sent or dead."""
        self._db.execute(
            "UPDATE outbox SET status = ?, claimed_until = NULL, last_error = ? WHERE id = ?",
            (status, attempt.detail if status == "dead" else None, entry_id),
        )
        self._log_attempt(attempt)

    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Back to pending until ``send_at``."""
        self._db.execute(
            "UPDATE outbox SET status = 'pending', send_at = ?, claimed_until = NULL,"
            " last_error = ? WHERE id = ?",
            (_ts(send_at), attempt.detail, entry_id),
        )
        self._log_attempt(attempt)

    def reroute(
        self,
        entry_id: int,
        attempt: DeliveryAttempt,
        message: Message,
        fallbacks: tuple[Message, ...],
    ) -> None:
        """On to the next channel."""
        self._db.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, claimed_until = NULL,"
            " channel = ?, address = ?, title = ?, body = ?, encoding = ?, segments = ?,"
            " send_at = ?, fallbacks = ?, last_error = ? WHERE id = ?",
            (
                message.channel,
                message.to,
                message.title,
                message.text,
                message.encoding,
                message.segments,
                _ts(message.send_at),
                _fallbacks_json(fallbacks),
                attempt.detail,
                entry_id,
            ),
        )
        self._log_attempt(attempt)

    def attempts(self, entry_id: int | None = None) -> list[DeliveryAttempt]:
        """The attempt log."""
        sql = "SELECT * FROM deliveries"
        params: tuple[Any, ...] = ()
        if entry_id is not None:
            sql += " WHERE entry_id = ?"
            params = (entry_id,)
        return [
            DeliveryAttempt(
                entry_id=r["entry_id"],
                attempt=r["attempt"],
                channel=r["channel"],
                status=r["status"],
                at=_dt_required(r["at"]),
                detail=r["detail"],
                provider_id=r["provider_id"],
            )
            for r in self._db.execute(sql + " ORDER BY seq", params)
        ]

    def messages_since(self, customer: str, since: dt.datetime) -> int:
        """Messages queued for ``customer`` since ``since``."""
        row = self._one(
            "SELECT COUNT(*) FROM outbox WHERE customer = ? AND created_at >= ?",
            (customer, _ts(since)),
        )
        return int(row[0]) if row else 0

    def first_message_at(self, customer: str, subject: str) -> dt.datetime | None:
        """The earliest ``send_at`` of a message about ``subject``."""
        row = self._one(
            "SELECT MIN(send_at) FROM outbox WHERE customer = ? AND subject = ?",
            (customer, subject),
        )
        return _dt(row[0]) if row else None

    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last got a compensation or a message about a breach."""
        row = self._one(
            "SELECT MAX(t) FROM (SELECT MAX(created_at) AS t FROM compensations WHERE customer = ?"
            " UNION ALL SELECT MAX(created_at) FROM outbox WHERE customer = ?)",
            (customer, customer),
        )
        return _dt(row[0]) if row else None

    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        self._db.execute(
            "INSERT INTO suppressions (customer, subject, threshold, severity, what, reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.customer,
                record.subject,
                record.threshold,
                int(record.severity) if record.severity is not None else None,
                record.what,
                record.reason,
                _ts(record.at),
            ),
        )

    def suppressions(self) -> Sequence[SuppressionRecord]:
        """Everything a rule stopped."""
        return [
            SuppressionRecord(
                customer=r["customer"],
                subject=r["subject"],
                threshold=r["threshold"],
                severity=Severity(r["severity"]) if r["severity"] is not None else None,
                what=r["what"],
                reason=r["reason"],
                at=_dt_required(r["at"]),
            )
            for r in self._db.execute("SELECT * FROM suppressions ORDER BY seq")
        ]

    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a complaint, contact or outcome once."""
        cursor = self._db.execute(
            "INSERT INTO events (kind, customer, subject, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (kind, customer, subject, _ts(at)),
        )
        return cursor.rowcount == 1

    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """Every recorded event of ``kind``."""
        return [
            (r["customer"], r["subject"], _dt_required(r["at"]))
            for r in self._db.execute(
                "SELECT customer, subject, at FROM events WHERE kind = ? ORDER BY rowid", (kind,)
            )
        ]

    def erase_customer(self, customer: str) -> str:
        """Empty the customer's addresses and texts; replace their id everywhere."""
        alias = pseudonym(customer)
        with self.transaction():
            self._db.execute(
                "UPDATE outbox SET address = '', title = NULL, body = '', fallbacks = '[]',"
                " status = CASE WHEN status IN ('sent', 'dead') THEN status ELSE 'erased' END,"
                " customer = ?, key = key || ? WHERE customer = ?",
                (alias, "\x1f" + alias, customer),
            )
            for table in ("breaches", "compensations", "suppressions", "events"):
                self._db.execute(
                    f"UPDATE {table} SET customer = ? WHERE customer = ?",  # noqa: S608
                    (alias, customer),
                )
        return alias

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
