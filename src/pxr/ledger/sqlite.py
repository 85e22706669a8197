"""The default ledger: one SQLite file in WAL mode.

The SQL is shared with every SQL ledger (:mod:`pxr.ledger._sql`); this module
opens connections — one per thread, each waiting up to ``busy_timeout`` for
another process's write lock — and keeps the schema current: a file written
by an older pxr is migrated forward when it is opened, and a file written by
a newer one is refused.
"""

from __future__ import annotations

import os
import sqlite3

from pxr.errors import LedgerBusyError, LedgerError
from pxr.ledger._sql import Connection, Dialect, SQLLedger

__all__ = ["NEW_IN_2", "SCHEMA", "SCHEMA_VERSION", "SQLiteLedger"]

SCHEMA_VERSION = 2

#: Tables new in schema 2: created alike in a new ledger and by the migration.
NEW_IN_2 = """
CREATE TABLE IF NOT EXISTS tombstones (
    digest    TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    id          TEXT PRIMARY KEY,
    customer    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    origin      TEXT NOT NULL,
    status      TEXT NOT NULL,
    team        TEXT,
    opened_at   TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    silence_accepts INTEGER NOT NULL DEFAULT 0,
    missed      INTEGER NOT NULL DEFAULT 0,
    offer_amount   TEXT,
    offer_currency TEXT,
    offer_kind  TEXT,
    offered_by  TEXT
);
CREATE INDEX IF NOT EXISTS cases_due ON cases (status, due_at);
CREATE TABLE IF NOT EXISTS case_events (
    seq     INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind    TEXT NOT NULL,
    who     TEXT NOT NULL,
    at      TEXT NOT NULL,
    note    TEXT,
    once    TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events (case_id, seq);
CREATE TABLE IF NOT EXISTS consent (
    customer TEXT NOT NULL,
    channel  TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('refused', 'opted_out', 'allowed')),
    address  TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL,
    source   TEXT NOT NULL,
    PRIMARY KEY (customer, channel)
);
"""

SCHEMA = (
    """
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
    forecast    INTEGER NOT NULL DEFAULT 0,
    confirmed_at TEXT,
    PRIMARY KEY (threshold, subject)
);
CREATE INDEX IF NOT EXISTS breaches_subject ON breaches (subject, resolved_at);
CREATE INDEX IF NOT EXISTS breaches_customer ON breaches (customer, threshold, opened_at);
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
    timezone   TEXT NOT NULL DEFAULT 'UTC',
    content    TEXT,
    title      TEXT,
    body       TEXT,
    created_at TEXT NOT NULL,
    send_at    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
               ('pending', 'sending', 'sent', 'dead', 'uncertain', 'cancelled', 'erased')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    fallbacks  TEXT NOT NULL DEFAULT '[]',
    last_error TEXT,
    claimed_until TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, send_at);
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox (customer, subject, send_at);
CREATE TABLE IF NOT EXISTS deliveries (
    seq         INTEGER PRIMARY KEY,
    entry_id    INTEGER NOT NULL REFERENCES outbox (id),
    attempt     INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    at          TEXT NOT NULL,
    detail      TEXT,
    provider_id TEXT,
    title       TEXT,
    body        TEXT,
    segments    INTEGER
);
CREATE INDEX IF NOT EXISTS deliveries_entry ON deliveries (entry_id);
CREATE TABLE IF NOT EXISTS suppressions (
    seq       INTEGER PRIMARY KEY,
    customer  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    threshold TEXT,
    severity  INTEGER,
    what      TEXT NOT NULL,
    kind      TEXT,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,
    customer TEXT NOT NULL,
    subject  TEXT NOT NULL,
    at       TEXT NOT NULL,
    UNIQUE (kind, customer, subject, at)
);
-- An erasure finds a customer's rows by these, not by reading whole tables.
CREATE INDEX IF NOT EXISTS suppressions_customer ON suppressions (customer);
CREATE INDEX IF NOT EXISTS events_customer ON events (customer);
"""
    + NEW_IN_2
)

#: Forward migrations: ``MIGRATIONS[n]`` takes a ledger from schema ``n - 1`` to ``n``.
MIGRATIONS: dict[int, str] = {
    # pxr 0.2: the outbox keeps what to say (content), not text; attempts keep
    # the text sent; suppressions a typed reason; events an order of their own;
    # tombstones remember erased customers (a keyed hash, never the id);
    # cases and their events (pxr.cases); consent per customer and channel.
    2: """
    CREATE TABLE outbox_v2 (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, customer TEXT NOT NULL,
        subject TEXT NOT NULL, threshold TEXT, severity INTEGER, purpose TEXT NOT NULL,
        channel TEXT NOT NULL, address TEXT NOT NULL, locale TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'UTC', content TEXT, title TEXT, body TEXT,
        created_at TEXT NOT NULL, send_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
            ('pending', 'sending', 'sent', 'dead', 'uncertain', 'cancelled', 'erased')),
        attempts INTEGER NOT NULL DEFAULT 0, fallbacks TEXT NOT NULL DEFAULT '[]',
        last_error TEXT, claimed_until TEXT
    );
    INSERT INTO outbox_v2 (id, key, customer, subject, threshold, severity, purpose, channel,
        address, locale, title, body, created_at, send_at, status, attempts, fallbacks,
        last_error, claimed_until)
    SELECT id, key, customer, subject, threshold, severity, purpose, channel, address, locale,
        title, body, created_at, send_at, status, attempts, fallbacks, last_error, claimed_until
    FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v2 RENAME TO outbox;
    CREATE INDEX outbox_due ON outbox (status, send_at);
    CREATE INDEX outbox_subject ON outbox (customer, subject, send_at);
    ALTER TABLE deliveries ADD COLUMN title TEXT;
    ALTER TABLE deliveries ADD COLUMN body TEXT;
    ALTER TABLE deliveries ADD COLUMN segments INTEGER;
    ALTER TABLE suppressions ADD COLUMN kind TEXT;
    CREATE TABLE events_v2 (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, customer TEXT NOT NULL,
        subject TEXT NOT NULL, at TEXT NOT NULL, UNIQUE (kind, customer, subject, at)
    );
    INSERT INTO events_v2 (kind, customer, subject, at)
    SELECT kind, customer, subject, at FROM events ORDER BY rowid;
    DROP TABLE events;
    ALTER TABLE events_v2 RENAME TO events;
    ALTER TABLE breaches ADD COLUMN forecast INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE breaches ADD COLUMN confirmed_at TEXT;
    CREATE INDEX breaches_customer ON breaches (customer, threshold, opened_at);
    CREATE INDEX suppressions_customer ON suppressions (customer);
    CREATE INDEX events_customer ON events (customer);
    """,
}
MIGRATIONS[2] = "\n".join((MIGRATIONS[2], NEW_IN_2))


class SQLiteDialect(Dialect):
    """SQLite: ``?`` placeholders, ``BEGIN IMMEDIATE`` as the write lock."""

    integrity_errors = (sqlite3.IntegrityError,)


class SQLiteLedger(SQLLedger):
    """A ledger in one SQLite file (``":memory:"`` for a throwaway one).

    ``durable=True`` syncs every commit to disk (``synchronous=FULL``); the
    default ``NORMAL`` is safe against a crash of the process, and in WAL
    mode loses at most the last commits on a power failure. ``busy_timeout``
    (seconds) is how long a writer waits for another process's lock before
    giving up with a :class:`~pxr.errors.LedgerBusyError`.
    """

    dialect = SQLiteDialect()
    #: Seconds a statement waits for another process's lock before it fails.
    busy_timeout: float = 30.0
    #: Set-up attempts while the store reports "locked": switching to WAL can
    #: fail at once, without waiting, when another process is creating the file.
    setup_attempts: int = 3

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = False,
        busy_timeout: float | None = None,
        erasure_key: bytes | str | None = None,
    ) -> None:
        self.path = os.fspath(path)
        super().__init__(shared=self.path == ":memory:", erasure_key=erasure_key)
        self._durable = durable
        if busy_timeout is not None:
            self.busy_timeout = busy_timeout
        for attempt in range(1, self.setup_attempts + 1):
            try:
                self._migrate(self._connection())
                break
            except sqlite3.OperationalError as error:
                self.close()
                self._closed = False
                if "locked" in str(error) and attempt < self.setup_attempts:
                    continue
                if "locked" in str(error):
                    raise LedgerBusyError(
                        f"ledger {self.path!r} stayed locked by another process"
                        f" for {self.busy_timeout:g} s ({attempt} attempts); try again later"
                    ) from None
                raise self._read_only(error) or LedgerError(
                    f"{self.path!r} is not a usable pxr ledger: {error}"
                ) from None
            except sqlite3.DatabaseError as error:
                self.close()
                raise LedgerError(f"{self.path!r} is not a usable pxr ledger: {error}") from None
            except LedgerError:
                self.close()
                raise

    def __repr__(self) -> str:
        return f"SQLiteLedger({self.path!r})"

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

    def _connect(self) -> Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout,  # set first: the set-up itself may wait
            )
        except sqlite3.Error as error:
            raise self._read_only(error) or LedgerError(
                f"cannot open ledger {self.path!r}: {error}"
            ) from None
        connection.row_factory = sqlite3.Row
        try:
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
            # Freed space is overwritten with zeros: an erased value leaves no trace.
            connection.execute("PRAGMA secure_delete=ON")
        except sqlite3.DatabaseError as error:
            connection.close()
            if "locked" in str(error):
                raise  # the caller waits and tries again
            raise self._read_only(error) or LedgerError(
                f"{self.path!r} is not a usable pxr ledger: {error}"
            ) from None
        return connection

    def _scrub(self) -> bool:
        """Copy the WAL into the file and empty it, so no old page survives there.

        Waits up to ``busy_timeout`` for readers in the middle of a read;
        ``False`` if one still holds an old snapshot (the next erasure or
        checkpoint finishes the job).
        """
        if self.path == ":memory:":
            return True
        row = self._one("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(row[0] == 0)

    def _migrate(self, connection: Connection) -> None:
        """Create the schema, or bring an older one forward, in one transaction."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
            tables = connection.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'breaches'"
            ).fetchone()[0]
            found = int(row[0]) if row is not None else (1 if tables else SCHEMA_VERSION)
            if found > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path!r} has ledger schema {found}, written by a newer pxr;"
                    f" this pxr reads schema {SCHEMA_VERSION} and older: upgrade pxr"
                )
            if found == SCHEMA_VERSION:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        connection.execute(statement)
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
