"""The SQL every SQL ledger shares, with a small dialect seam.

Uniqueness is enforced by the schema (primary keys and a unique voucher
code); every "insert if absent" is ``INSERT … ON CONFLICT DO NOTHING`` and
every escalation a conditional ``UPDATE``, so the row count tells the caller
whether it won. Times are UTC text of fixed width (text order is time
order), amounts decimal text, never floats. Ordering uses the tables' own
sequence columns, never an engine's hidden row id.

A :class:`Dialect` says what differs between databases: placeholders, how a
transaction starts, how a customer is locked, how the dispatcher claims.
Each thread gets its own connection (a throwaway in-memory database, which a
second connection could not see, is shared under a lock instead).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol

import attrs

from pxr.consent import ConsentRecord, ConsentState
from pxr.errors import LedgerError
from pxr.ledger import (
    Case,
    CaseEvent,
    CaseStatus,
    CodeTaken,
    CompensationRecord,
    DeliveryAttempt,
    Erased,
    OutboxEntry,
    OutboxStatus,
    SuppressionRecord,
    is_pseudonym,
    new_case_id,
    new_pseudonym,
)
from pxr.ledger._base import LedgerBase
from pxr.ledger._codec import (
    compensation_from,
    content_from_json,
    content_json,
    fallbacks_from_json,
    fallbacks_json,
    from_ts,
    ts,
    ts_or_none,
)
from pxr.model import Breach, Message, Reason, Severity
from pxr.money import Money

__all__ = ["Dialect", "SQLLedger"]


class Connection(Protocol):
    """The part of a DB-API connection pxr uses."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def close(self) -> None: ...


class Dialect:
    """What differs between SQL databases. The defaults are SQLite's."""

    name = "sqlite"
    #: How a top-level transaction starts. SQLite's IMMEDIATE takes the write
    #: lock at once, so what a transaction reads stays true until it commits.
    begin = "BEGIN IMMEDIATE"
    #: Appended to the sub-select that picks the row a dispatcher claims
    #: (PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
    skip_locked = ""
    integrity_errors: tuple[type[Exception], ...] = ()

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders, in this database's style."""
        return text

    def lock_customer(self, connection: Connection, customer: str) -> None:
        """Hold ``customer``'s rows against other writers until the transaction ends."""

    #: A query for the database's clock (column ``t``, an aware time), where it
    #: has one worth trusting over this machine's: several hosts share it.
    clock = ""


_OUTBOX_COLUMNS = (
    "key, customer, subject, threshold, severity, purpose, channel, address, locale,"
    " timezone, content, created_at, send_at, status, attempts, fallbacks"
)


class SQLLedger(LedgerBase):
    """Every ledger role in SQL; a subclass opens connections and knows its dialect."""

    dialect: Dialect = Dialect()

    def __init__(self, *, shared: bool = False, erasure_key: bytes | str | None = None) -> None:
        super().__init__(erasure_key=erasure_key)
        self._local = threading.local()
        self._connections: list[Connection] = []
        self._connections_lock = threading.Lock()
        #: One connection for every thread, taken in turns (an in-memory database).
        self._shared_lock = threading.RLock() if shared else None
        self._shared: Connection | None = None
        self._closed = False
        self._statements: dict[str, str] = {}

    # ------------------------------------------------------------ connections

    def _connect(self) -> Connection:
        raise NotImplementedError

    def _connection(self) -> Connection:
        if self._shared_lock is not None:
            if self._shared is None:
                self._shared = self._register(self._connect())
            return self._shared
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._closed:
                raise LedgerError(f"{self!r} is closed")
            connection = self._register(self._connect())
            self._local.connection = connection
        return connection

    def _register(self, connection: Connection) -> Connection:
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection this ledger opened, in every thread."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            self._release(connection)
        self._shared = None
        self._local = threading.local()

    def _release(self, connection: Connection) -> None:
        """Done with ``connection``: close it (a pooled ledger gives it back)."""
        connection.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        statement = self._statements.get(sql)
        if statement is None:
            statement = self._statements[sql] = self.dialect.sql(sql)
        if self._shared_lock is None:
            return self._connection().execute(statement, params)
        with self._shared_lock:
            return self._connection().execute(statement, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._shared_lock is None:
            return list(self._execute(sql, params).fetchall())
        with self._shared_lock:
            return list(self._execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._shared_lock is None:
            return self._execute(sql, params).fetchone()
        with self._shared_lock:
            return self._execute(sql, params).fetchone()

    # ------------------------------------------------------------ transactions

    def _begin(self, depth: int) -> None:
        if depth == 0:
            if self._shared_lock is not None:
                self._shared_lock.acquire()
            try:
                self._execute(self.dialect.begin)
            except BaseException:
                if self._shared_lock is not None:
                    self._shared_lock.release()
                raise
        else:
            self._execute(f"SAVEPOINT pxr_{depth}")

    def _commit(self, depth: int) -> None:
        if depth:
            self._execute(f"RELEASE SAVEPOINT pxr_{depth}")
            return
        try:
            self._execute("COMMIT")
        except BaseException:
            self._execute("ROLLBACK")
            raise
        finally:
            if self._shared_lock is not None:
                self._shared_lock.release()

    def _rollback(self, depth: int) -> None:
        if depth:
            self._execute(f"ROLLBACK TO SAVEPOINT pxr_{depth}")
            self._execute(f"RELEASE SAVEPOINT pxr_{depth}")
            return
        try:
            self._execute("ROLLBACK")
        finally:
            if self._shared_lock is not None:
                self._shared_lock.release()

    def _lock_customer(self, customer: str) -> None:
        self.dialect.lock_customer(self._connection(), customer)

    # ------------------------------------------------------------ primitives

    def _get_breach(self, threshold: str, subject: str) -> Breach | None:
        row = self._one(
            "SELECT * FROM breaches WHERE threshold = ? AND subject = ?", (threshold, subject)
        )
        return None if row is None else _breach(row)

    def _insert_breach(self, breach: Breach) -> bool:
        cursor = self._execute(
            "INSERT INTO breaches (threshold, subject, customer, severity, stage, holdout,"
            " opened_at, updated_at, resolved_at, forecast, confirmed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (
                breach.threshold,
                breach.subject,
                breach.customer,
                int(breach.severity),
                breach.stage,
                int(breach.holdout),
                ts(breach.opened_at),
                ts(breach.updated_at),
                ts_or_none(breach.resolved_at),
                int(breach.forecast),
                ts_or_none(breach.confirmed_at),
            ),
        )
        return bool(cursor.rowcount == 1)

    def _confirm(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        cursor = self._execute(
            "UPDATE breaches SET severity = ?, updated_at = ?, confirmed_at = ?, forecast = 0"
            " WHERE threshold = ? AND subject = ? AND forecast = 1 AND resolved_at IS NULL",
            (int(severity), ts(at), ts(at), threshold, subject),
        )
        return bool(cursor.rowcount == 1)

    def _breaches_since(self, customer: str, threshold: str, since: dt.datetime) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM breaches WHERE customer = ? AND threshold = ?"
            " AND forecast = 0 AND opened_at >= ?",
            (customer, threshold, ts(since)),
        )
        return int(row["n"]) if row is not None else 0

    def _escalate(self, threshold: str, subject: str, severity: Severity, at: dt.datetime) -> bool:
        cursor = self._execute(
            "UPDATE breaches SET severity = ?, updated_at = ? WHERE threshold = ? AND subject = ?"
            " AND severity < ? AND resolved_at IS NULL",
            (int(severity), ts(at), threshold, subject, int(severity)),
        )
        return bool(cursor.rowcount == 1)

    def _insert_compensation(self, record: CompensationRecord) -> bool:
        c = record.compensation
        try:
            cursor = self._execute(
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
                    ts_or_none(c.expires_at),
                    c.item,
                    c.team,
                    ts_or_none(c.due_at),
                    c.priority,
                    int(c.statutory),
                    c.note,
                    ts(record.created_at),
                ),
            )
        except self.dialect.integrity_errors:
            raise CodeTaken("voucher code already issued") from None
        return bool(cursor.rowcount == 1)

    def _paid(self, threshold: str, subject: str) -> dict[tuple[str, bool], Decimal]:
        totals: dict[tuple[str, bool], Decimal] = defaultdict(Decimal)
        for row in self._rows(
            "SELECT amount, currency, statutory FROM compensations"
            " WHERE threshold = ? AND subject = ? AND amount IS NOT NULL",
            (threshold, subject),
        ):
            totals[row["currency"], bool(row["statutory"])] += Decimal(row["amount"])
        return dict(totals)

    def _spent_since(self, customer: str, since: dt.datetime) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in self._rows(
            "SELECT amount, currency FROM compensations WHERE customer = ? AND created_at >= ?"
            " AND amount IS NOT NULL AND statutory = 0",
            (customer, ts(since)),
        ):
            totals[row["currency"]] += Decimal(row["amount"])
        return dict(totals)

    def _messages_since(self, customer: str, since: dt.datetime) -> int:
        row = self._one(
            "SELECT COUNT(*) AS n FROM outbox WHERE customer = ? AND created_at >= ?",
            (customer, ts(since)),
        )
        return int(row["n"])

    # ------------------------------------------------------------ recovery store

    def resolve(
        self,
        subject: str,
        threshold: str | None,
        at: dt.datetime,
        *,
        opened_by: dt.datetime | None = None,
    ) -> list[Breach] | None:
        """Close the subject's open breaches, once per resolution."""
        with self.transaction():
            if not self.record_event("resolved", threshold or "", subject, at):
                return None
            sql = (
                "UPDATE breaches SET resolved_at = ?, updated_at = ? WHERE subject = ?"
                " AND opened_at <= ? AND resolved_at IS NULL"
            )
            params: list[Any] = [ts(at), ts(at), subject, ts(opened_by or at)]
            if threshold is not None:
                sql += " AND threshold = ?"
                params.append(threshold)
            rows = self._rows(sql + " RETURNING *", params)
        return sorted((_breach(r) for r in rows), key=lambda b: (b.opened_at, b.threshold))

    def enqueue(self, entry: OutboxEntry) -> bool:
        """Queue a message once per key."""
        cursor = self._execute(
            f"INSERT INTO outbox ({_OUTBOX_COLUMNS})"  # noqa: S608 - a constant column list
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (
                entry.key,
                entry.customer,
                entry.subject,
                entry.threshold,
                int(entry.severity) if entry.severity is not None else None,
                entry.purpose,
                entry.channel,
                entry.to,
                entry.locale,
                entry.timezone,
                content_json(entry.content) if entry.content is not None else None,
                ts(entry.created_at),
                ts(entry.send_at),
                str(entry.status),
                entry.attempts,
                fallbacks_json(entry.fallbacks),
            ),
        )
        return bool(cursor.rowcount == 1)

    def record_suppression(self, record: SuppressionRecord) -> None:
        """Keep what a rule stopped."""
        self._execute(
            "INSERT INTO suppressions (customer, subject, threshold, severity, what, kind,"
            " reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.customer,
                record.subject,
                record.threshold,
                int(record.severity) if record.severity is not None else None,
                record.what,
                str(record.kind) if record.kind is not None else None,
                record.reason,
                ts(record.at),
            ),
        )

    def record_event(self, kind: str, customer: str, subject: str, at: dt.datetime) -> bool:
        """Record a complaint, contact or outcome once."""
        cursor = self._execute(
            "INSERT INTO events (kind, customer, subject, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (kind, customer, subject, ts(at)),
        )
        return bool(cursor.rowcount == 1)

    def record_consent(self, record: ConsentRecord) -> bool:
        """Keep the customer's latest word on a channel (never over a newer one)."""
        cursor = self._execute(
            "INSERT INTO consent (customer, channel, state, address, at, source)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (customer, channel) DO UPDATE SET"
            " state = excluded.state, address = excluded.address, at = excluded.at,"
            " source = excluded.source WHERE consent.at <= excluded.at"
            " AND NOT (consent.state = 'opted_out' AND excluded.state = 'refused')",
            (
                record.customer,
                record.channel,
                str(record.state),
                record.address,
                ts(record.at),
                record.source,
            ),
        )
        return bool(cursor.rowcount == 1)

    def consent_of(self, customer: str) -> dict[str, ConsentRecord]:
        """The customer's consent records, by channel."""
        rows = self._rows("SELECT * FROM consent WHERE customer = ?", (customer,))
        return {row["channel"]: _consent(row) for row in rows}

    def first_contact_at(self, customer: str, subject: str) -> dt.datetime | None:
        """When a provider first accepted a message about ``subject``."""
        row = self._one(
            "SELECT MIN(d.at) AS t FROM deliveries AS d JOIN outbox AS o ON o.id = d.entry_id"
            " WHERE o.customer = ? AND o.subject = ? AND d.status = 'sent'",
            (customer, subject),
        )
        return from_ts(row["t"])

    def last_recovery_at(self, customer: str) -> dt.datetime | None:
        """When ``customer`` last got a compensation or a message about a breach."""
        row = self._one(
            "SELECT MAX(t) AS t FROM (SELECT MAX(created_at) AS t FROM compensations"
            " WHERE customer = ? UNION ALL SELECT MAX(created_at) FROM outbox"
            " WHERE customer = ?) AS latest",
            (customer, customer),
        )
        return from_ts(row["t"])

    # ------------------------------------------------------------ outbox

    def due(
        self, now: dt.datetime, limit: int, channels: Collection[str] | None = None
    ) -> list[OutboxEntry]:
        """Pending entries due by ``now``, and those whose sender's lease ran out."""
        only = ""
        params: list[Any] = [ts(now), ts(now)]
        if channels is not None:
            if not channels:
                return []
            only = f" AND channel IN ({', '.join('?' for _ in channels)})"
            params += sorted(channels)
        sql = (
            "SELECT * FROM outbox WHERE ((status = 'pending' AND send_at <= ?)"  # noqa: S608 - "?" placeholders only
            " OR (status = 'sending' AND claimed_until < ?))"
            + only  # only "?" placeholders: the channel names are parameters
            + " ORDER BY send_at, id LIMIT ?"
        )
        return [_entry(row) for row in self._rows(sql, [*params, limit])]

    def claim(self, entry_id: int, now: dt.datetime, until: dt.datetime) -> bool:
        """Take an entry for sending, unless another sender holds a live lease."""
        # The sub-select takes the dialect's skip_locked: a sender passes over an
        # entry another is claiming instead of queuing behind it. Where rows are
        # locked it is required: at READ COMMITTED an unlocked sub-select is not
        # checked again after waiting, and both senders would claim the entry.
        cursor = self._execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_until = ?"  # noqa: S608 - the dialect's constant clause
            " WHERE id IN (SELECT id FROM outbox WHERE id = ? AND (status = 'pending'"
            f" OR (status = 'sending' AND claimed_until < ?)){self.dialect.skip_locked})",
            (ts(until), entry_id, ts(now)),
        )
        return bool(cursor.rowcount == 1)

    def _log_attempt(self, attempt: DeliveryAttempt, *, erased: bool = False) -> None:
        if erased:
            # The customer was erased while this send was under way: keep that
            # it happened, not what was said or to whom.
            attempt = attrs.evolve(attempt, title=None, text=None, detail=None)
        self._execute(
            "INSERT INTO deliveries (entry_id, attempt, channel, status, at, detail, provider_id,"
            " title, body, segments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                attempt.entry_id,
                attempt.attempt,
                attempt.channel,
                attempt.status,
                ts(attempt.at),
                attempt.detail,
                attempt.provider_id,
                attempt.title,
                attempt.text,
                attempt.segments,
            ),
        )

    def settle(self, entry_id: int, attempt: DeliveryAttempt, status: OutboxStatus) -> None:
        """Finish as sent, dead or cancelled."""
        cursor = self._execute(
            "UPDATE outbox SET status = ?, claimed_until = NULL, last_error = ? WHERE id = ?"
            " AND status <> 'erased'",
            (str(status), None if status == OutboxStatus.SENT else attempt.detail, entry_id),
        )
        self._log_attempt(attempt, erased=cursor.rowcount == 0)

    def retry_later(self, entry_id: int, attempt: DeliveryAttempt, send_at: dt.datetime) -> None:
        """Back to pending until ``send_at``."""
        cursor = self._execute(
            "UPDATE outbox SET status = 'pending', send_at = ?, claimed_until = NULL,"
            " last_error = ? WHERE id = ? AND status <> 'erased'",
            (ts(send_at), attempt.detail, entry_id),
        )
        self._log_attempt(attempt, erased=cursor.rowcount == 0)

    def now(self) -> dt.datetime:
        """The database's clock where the dialect reads one, else this machine's."""
        if not self.dialect.clock:
            return dt.datetime.now(dt.UTC)
        found = self._one(self.dialect.clock)["t"]
        return found if isinstance(found, dt.datetime) else _at(found)

    def superseded(self, entry_ids: Collection[int]) -> set[int]:
        """Entries overtaken by a later message about the same breach, already sent."""
        if not entry_ids:
            return set()
        marks = ", ".join("?" for _ in entry_ids)
        rows = self._rows(
            "SELECT o.id AS id FROM outbox AS o WHERE o.id IN ("  # noqa: S608 - "?" placeholders only
            + marks
            + ") AND EXISTS (SELECT 1 FROM outbox AS later WHERE later.subject = o.subject"
            " AND later.threshold = o.threshold AND later.customer = o.customer"
            " AND later.id > o.id AND later.status = 'sent')",
            sorted(entry_ids),
        )
        return {int(row["id"]) for row in rows}

    def requeue(self, entry_id: int, now: dt.datetime) -> bool:
        """Dead, uncertain or cancelled: pending again from ``now``."""
        cursor = self._execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, send_at = ?, claimed_until = NULL"
            " WHERE id = ? AND status IN ('dead', 'uncertain', 'cancelled')",
            (ts(now), entry_id),
        )
        return bool(cursor.rowcount == 1)

    def reroute(
        self,
        entry_id: int,
        attempt: DeliveryAttempt,
        *,
        channel: str,
        to: str,
        fallbacks: tuple[tuple[str, str], ...],
        send_at: dt.datetime,
    ) -> None:
        """On to the next channel."""
        cursor = self._execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, claimed_until = NULL,"
            " channel = ?, address = ?, send_at = ?, fallbacks = ?, last_error = ? WHERE id = ?"
            " AND status <> 'erased'",
            (channel, to, ts(send_at), fallbacks_json(fallbacks), attempt.detail, entry_id),
        )
        self._log_attempt(attempt, erased=cursor.rowcount == 0)

    # ------------------------------------------------------------ reader

    def breaches(self) -> Iterator[Breach]:
        """Every breach, in the order opened."""
        for row in self._rows("SELECT * FROM breaches ORDER BY opened_at, threshold, subject"):
            yield _breach(row)

    def compensations(self) -> Iterator[CompensationRecord]:
        """Every compensation, in the order issued."""
        for row in self._rows("SELECT * FROM compensations ORDER BY seq"):
            yield _compensation(row)

    def outbox(self) -> Iterator[OutboxEntry]:
        """Every message, in the order queued."""
        for row in self._rows("SELECT * FROM outbox ORDER BY id"):
            yield _entry(row)

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
                at=_at(r["at"]),
                detail=r["detail"],
                provider_id=r["provider_id"],
                title=r["title"],
                text=r["body"],
                segments=r["segments"],
            )
            for r in self._rows(sql + " ORDER BY seq", params)
        ]

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
                at=_at(r["at"]),
                kind=Reason(r["kind"]) if r["kind"] is not None else None,
            )
            for r in self._rows("SELECT * FROM suppressions ORDER BY seq")
        ]

    def events(self, kind: str) -> Sequence[tuple[str, str, dt.datetime]]:
        """Every recorded event of ``kind``."""
        return [
            (r["customer"], r["subject"], _at(r["at"]))
            for r in self._rows(
                "SELECT customer, subject, at FROM events WHERE kind = ? ORDER BY seq", (kind,)
            )
        ]

    def consents(self) -> list[ConsentRecord]:
        """Every consent record, by customer and channel."""
        return [
            _consent(row) for row in self._rows("SELECT * FROM consent ORDER BY customer, channel")
        ]

    # ------------------------------------------------------------ cases

    def open_case(self, case: Case, who: str) -> bool:
        """Open a case once, with its ``opened`` event."""
        with self.transaction():
            cursor = self._execute(
                "INSERT INTO cases (id, customer, subject, origin, status, team, opened_at,"
                " due_at, updated_at, silence_accepts, missed) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    case.id,
                    case.customer,
                    case.subject,
                    case.origin,
                    str(case.status),
                    case.team,
                    ts(case.opened_at),
                    ts(case.due_at),
                    ts(case.updated_at),
                    int(case.silence_accepts),
                    int(case.missed),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._case_event(CaseEvent(case.id, "opened", who, case.opened_at, case.origin))
        return True

    def _case_event(self, event: CaseEvent, once: str | None = None) -> bool:
        cursor = self._execute(
            "INSERT INTO case_events (case_id, kind, who, at, note, once)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (event.case, event.kind, event.who, ts(event.at), event.note, once),
        )
        return bool(cursor.rowcount == 1)

    def move_case(
        self,
        case: str,
        expected: Collection[CaseStatus],
        status: CaseStatus,
        event: CaseEvent,
        *,
        offer: tuple[Money, str, str] | None = None,
    ) -> bool:
        """Move a case on, only from the states the step expects."""
        if not expected:
            return False
        states = sorted(str(s) for s in expected)
        sets = "status = ?, updated_at = ?"
        params: list[Any] = [str(status), ts(event.at)]
        if offer is not None:
            money, kind, by = offer
            sets += ", offer_amount = ?, offer_currency = ?, offer_kind = ?, offered_by = ?"
            params += [str(money.amount), money.currency, kind, by]
        with self.transaction():
            cursor = self._execute(
                f"UPDATE cases SET {sets} WHERE id = ?"  # noqa: S608 - constant column lists
                f" AND status IN ({', '.join('?' for _ in states)})",
                [*params, case, *states],
            )
            if cursor.rowcount != 1:
                return False
            self._case_event(event)
        return True

    def note_case(self, event: CaseEvent) -> bool:
        """Keep an event once per case, kind and note."""
        once = "\x1f".join((event.case, event.kind, event.note or ""))
        return self._case_event(event, once=once)

    def case(self, case: str) -> Case | None:
        """One case by id."""
        row = self._one("SELECT * FROM cases WHERE id = ?", (case,))
        return None if row is None else _case(row)

    def cases(
        self,
        statuses: Collection[CaseStatus] | None = None,
        *,
        due_by: dt.datetime | None = None,
    ) -> list[Case]:
        """Cases by due time."""
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            if not statuses:
                return []
            states = sorted(str(s) for s in statuses)
            where.append(f"status IN ({', '.join('?' for _ in states)})")
            params += states
        if due_by is not None:
            where.append("due_at <= ?")
            params.append(ts(due_by))
        # Only constant conditions with "?" placeholders: the values are parameters.
        sql = "SELECT * FROM cases" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        return [_case(row) for row in self._rows(sql + " ORDER BY due_at, id", params)]

    def case_events(self, case: str | None = None) -> list[CaseEvent]:
        """Case events in the order kept."""
        sql = "SELECT * FROM case_events"
        params: tuple[Any, ...] = ()
        if case is not None:
            sql += " WHERE case_id = ?"
            params = (case,)
        return [
            CaseEvent(r["case_id"], r["kind"], r["who"], _at(r["at"]), r["note"])
            for r in self._rows(sql + " ORDER BY seq", params)
        ]

    # ------------------------------------------------------------ erasure

    def erase_customer(self, customer: str, *, at: dt.datetime | None = None) -> Erased:
        """Empty the customer's personal data, replace their id everywhere,
        leave a tombstone, then overwrite the freed bytes (see :meth:`_scrub`)."""
        alias = new_pseudonym()
        with self.transaction():
            self._lock_customer(customer)
            digest = self._tombstone(customer, create=True)
            before = self._one("SELECT erased_at FROM tombstones WHERE digest = ?", (digest,))
            attempts = self._execute(
                "UPDATE deliveries SET title = NULL, body = NULL, detail = NULL WHERE entry_id IN"
                " (SELECT id FROM outbox WHERE customer = ?)",
                (customer,),
            ).rowcount
            entries = self._rows("SELECT id, content FROM outbox WHERE customer = ?", (customer,))
            for row in entries:
                self._execute(
                    "UPDATE outbox SET address = '', title = NULL, body = NULL, fallbacks = '[]',"
                    " last_error = NULL, content = ?,"
                    " status = CASE WHEN status IN ('sent', 'dead', 'uncertain', 'cancelled')"
                    " THEN status ELSE 'erased' END, customer = ?, key = key || ? WHERE id = ?",
                    (_without_codes(row["content"]), alias, "\x1f" + alias, row["id"]),
                )
            compensations = self._execute(
                "UPDATE compensations SET customer = ?, code = NULL, note = NULL"
                " WHERE customer = ?",
                (alias, customer),
            ).rowcount
            counts = {}
            for table in ("breaches", "suppressions", "events"):
                counts[table] = self._execute(
                    f"UPDATE {table} SET customer = ? WHERE customer = ?",  # noqa: S608
                    (alias, customer),
                ).rowcount
            # A case id is derived from the customer id: draw a new one.
            for row in self._rows("SELECT id FROM cases WHERE customer = ?", (customer,)):
                old, new = row["id"], new_case_id()
                self._execute("UPDATE cases SET id = ? WHERE id = ?", (new, old))
                self._execute(
                    "UPDATE case_events SET case_id = ?, once = ? || substr(once, ?)"
                    " WHERE case_id = ?",
                    (new, new, len(old) + 1, old),
                )
            counts["cases"] = self._execute(
                "UPDATE cases SET customer = ? WHERE customer = ?", (alias, customer)
            ).rowcount
            # Refused addresses and opt-outs go with the customer.
            counts["consent"] = self._execute(
                "UPDATE consent SET address = '', customer = ? WHERE customer = ?",
                (alias, customer),
            ).rowcount
            erased = Erased(
                pseudonym=alias,
                compensations=compensations,
                messages=len(entries),
                attempts=attempts,
                before=before is not None,
                **counts,
            )
            if erased.found or erased.before:
                when = at or self.now()
                self._execute(
                    "INSERT INTO tombstones (digest, erased_at) VALUES (?, ?)"
                    " ON CONFLICT (digest) DO UPDATE SET erased_at = CASE WHEN"
                    " excluded.erased_at > tombstones.erased_at THEN excluded.erased_at"
                    " ELSE tombstones.erased_at END",
                    (digest, ts(when)),
                )
        if not erased.found:
            erased = attrs.evolve(erased, pseudonym=None)
        if self.in_transaction:
            # The caller's transaction still holds the old pages: scrub once it commits.
            self.after_commit(self._scrub)
            return erased
        return attrs.evolve(erased, scrubbed=self._scrub())

    def _scrub(self) -> bool:
        """Overwrite what an erasure freed; ``True`` if no byte of it is left.

        A database that keeps old row versions until a ``VACUUM`` says ``False``.
        """
        return False

    def is_erased(self, customer: str, at: dt.datetime) -> bool:
        """Whether a tombstone for ``customer`` dates from ``at`` or later."""
        digest = self._tombstone(customer)
        if digest is None:
            return False
        row = self._one("SELECT erased_at FROM tombstones WHERE digest = ?", (digest,))
        return row is not None and _at(row["erased_at"]) >= at

    def inactive_customers(self, before: dt.datetime) -> list[str]:
        """Customers whose latest breach, compensation, message, attempt,
        suppression or event is older than ``before``."""
        rows = self._rows(
            "SELECT customer FROM (SELECT customer, updated_at AS t FROM breaches"
            " UNION ALL SELECT customer, resolved_at FROM breaches WHERE resolved_at IS NOT NULL"
            " UNION ALL SELECT customer, created_at FROM compensations"
            " UNION ALL SELECT customer, send_at FROM outbox"
            " UNION ALL SELECT o.customer, d.at FROM deliveries d"
            " JOIN outbox o ON o.id = d.entry_id"
            " UNION ALL SELECT customer, at FROM suppressions"
            " UNION ALL SELECT customer, at FROM events WHERE kind <> 'resolved') activity"
            " GROUP BY customer HAVING MAX(t) < ? ORDER BY customer",
            (ts(before),),
        )
        return [r["customer"] for r in rows if not is_pseudonym(r["customer"])]

    def _stored_erasure_key(self, create: bool) -> bytes | None:
        """The ledger's own key, in ``meta``."""
        if create:
            self._execute(
                "INSERT INTO meta (key, value) VALUES ('erasure_key', ?)"
                " ON CONFLICT (key) DO NOTHING",
                (secrets.token_hex(32),),
            )
        row = self._one("SELECT value FROM meta WHERE key = 'erasure_key'")
        return None if row is None else bytes.fromhex(row["value"])


def _without_codes(content: str | None) -> str | None:
    """An outbox entry's content without voucher codes or notes."""
    if content is None:
        return None
    data = content_from_json(content, "")
    kept = tuple(attrs.evolve(c, code=None, note=None) for c in data.compensations)
    return content_json(attrs.evolve(data, compensations=kept))


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _breach(row: Any) -> Breach:
    return Breach(
        threshold=row["threshold"],
        subject=row["subject"],
        customer=row["customer"],
        severity=Severity(row["severity"]),
        stage=row["stage"],
        holdout=bool(row["holdout"]),
        opened_at=_at(row["opened_at"]),
        updated_at=_at(row["updated_at"]),
        resolved_at=from_ts(row["resolved_at"]),
        forecast=bool(row["forecast"]),
        confirmed_at=from_ts(row["confirmed_at"]),
    )


def _case(row: Any) -> Case:
    amount = row["offer_amount"]
    return Case(
        id=row["id"],
        customer=row["customer"],
        subject=row["subject"],
        origin=row["origin"],
        status=row["status"],
        team=row["team"],
        opened_at=_at(row["opened_at"]),
        due_at=_at(row["due_at"]),
        updated_at=_at(row["updated_at"]),
        silence_accepts=bool(row["silence_accepts"]),
        missed=bool(row["missed"]),
        offer=None if amount is None else Money(Decimal(amount), row["offer_currency"]),
        offer_kind=row["offer_kind"],
        offered_by=row["offered_by"],
    )


def _compensation(row: Any) -> CompensationRecord:
    return CompensationRecord(
        threshold=row["threshold"],
        subject=row["subject"],
        severity=Severity(row["severity"]),
        customer=row["customer"],
        created_at=_at(row["created_at"]),
        compensation=compensation_from(row),
    )


def _consent(row: Any) -> ConsentRecord:
    return ConsentRecord(
        customer=row["customer"],
        channel=row["channel"],
        state=ConsentState(row["state"]),
        at=_at(row["at"]),
        source=row["source"],
        address=row["address"],
    )


def _entry(row: Any) -> OutboxEntry:
    content = row["content"]
    rendered = None
    if content is None and row["body"] is not None:
        # Queued as finished text by pxr 0.1: sent as it was written.
        rendered = Message(
            channel=row["channel"],
            to=row["address"],
            locale=row["locale"],
            title=row["title"],
            text=row["body"],
            send_at=_at(row["send_at"]),
            purpose=row["purpose"],
        )
    return OutboxEntry(
        id=row["id"],
        key=row["key"],
        customer=row["customer"],
        subject=row["subject"],
        threshold=row["threshold"],
        severity=Severity(row["severity"]) if row["severity"] is not None else None,
        created_at=_at(row["created_at"]),
        channel=row["channel"],
        to=row["address"],
        locale=row["locale"],
        timezone=row["timezone"],
        send_at=_at(row["send_at"]),
        content=None if content is None else content_from_json(content, row["subject"]),
        status=row["status"],
        attempts=row["attempts"],
        fallbacks=fallbacks_from_json(row["fallbacks"]),
        last_error=row["last_error"],
        rendered=rendered,
    )
