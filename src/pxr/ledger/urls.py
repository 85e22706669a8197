"""Ledger URLs: one string names a store, wherever a store is named.

* ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and
  ``sqlite:///:memory:`` — a :class:`~pxr.ledger.sqlite.SQLiteLedger`;
* ``postgresql://user@host:5432/db`` (or ``postgres://…``, any libpq URL) —
  a :class:`~pxr.ledger.postgres.PostgresLedger` (``pip install 'pxr[postgres]'``);
* a plain path — SQLite, as before URLs;
* any other ``scheme://…`` a plugin registered with ``register_ledgers``.

``PXR_LEDGER`` names the ledger when the caller names none.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from pxr.errors import LedgerError

if TYPE_CHECKING:
    from pxr.ledger import Ledger
    from pxr.plugins import Plugins

__all__ = [
    "ENVIRONMENT",
    "LedgerFactory",
    "migrate_ledger",
    "open_ledger",
    "redact",
    "scheme_of",
]

#: The environment variable that names the default ledger.
ENVIRONMENT = "PXR_LEDGER"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class LedgerFactory(Protocol):
    """Opens the ledger a URL of its scheme names: what ``register_ledgers`` takes.

    With ``create=False`` a ledger that does not exist yet is a
    :class:`~pxr.errors.LedgerError`, never a new empty one.
    """

    def __call__(self, url: str, *, create: bool) -> Ledger:
        """The ledger at ``url``."""
        ...


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and reprs."""
    url = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"(?i)(password=)('[^']*'|[^\s&]+)", r"\1***", url)


def scheme_of(url: str) -> str | None:
    """The URL's scheme, lower case; ``None`` for a plain path."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _sqlite_path(url: str) -> str:
    if scheme_of(url) is None:
        return url
    rest = url[len("sqlite://") :]
    if not rest.startswith("/") or len(rest) == 1:
        raise LedgerError(
            f"{redact(url)!r}: a SQLite URL is sqlite:///relative.db or sqlite:////absolute.db"
        )
    return unquote(rest[1:].split("?", 1)[0])


def sqlite_ledger(url: str, *, create: bool) -> Ledger:
    """``sqlite:///path.db``, ``sqlite:///:memory:`` or a plain path."""
    from pxr.ledger.sqlite import SQLiteLedger  # noqa: PLC0415

    path = _sqlite_path(url)
    if path != ":memory:" and not create and not os.path.isfile(path):
        raise LedgerError(f"{path}: no such ledger file")
    return SQLiteLedger(path)


def postgres_ledger(url: str, *, create: bool) -> Ledger:
    """``postgresql://…`` or ``postgres://…``: a libpq URL."""
    try:
        from pxr.ledger.postgres import PostgresLedger  # noqa: PLC0415
    except ImportError:
        raise LedgerError(
            "a PostgreSQL ledger needs psycopg: pip install 'pxr[postgres]'"
        ) from None
    return PostgresLedger(url, create=create)


def _factory(url: str, plugins: Plugins | None) -> LedgerFactory:
    scheme = scheme_of(url)
    if scheme is None:
        return sqlite_ledger
    from pxr.plugins import get_plugins  # noqa: PLC0415

    known = (plugins or get_plugins()).registry.ledgers
    if scheme not in known:
        raise LedgerError(
            f"unknown ledger scheme {scheme!r}; known: {', '.join(sorted(known))}"
            " (or a plain path for SQLite)"
        )
    return known[scheme]


def _named(url_or_path: str | os.PathLike[str] | None) -> str:
    if url_or_path is not None:
        return os.fspath(url_or_path)
    named = os.environ.get(ENVIRONMENT)
    if not named:
        raise LedgerError(f"no ledger named: give a ledger URL or a path, or set {ENVIRONMENT}")
    return named


def open_ledger(
    url_or_path: str | os.PathLike[str] | None = None,
    *,
    create: bool = True,
    plugins: Plugins | None = None,
) -> Ledger:
    """The ledger a URL or a path names (``PXR_LEDGER`` if ``None``).

    With ``create=False`` a ledger that does not exist yet (a missing SQLite
    file, a database without pxr's tables) is a
    :class:`~pxr.errors.LedgerError` instead of a new, empty one: what a
    command that only reads wants. ``plugins`` supplies schemes registered by
    plugins (pxr's own plugin manager by default).
    """
    url = _named(url_or_path)
    return _factory(url, plugins)(url, create=create)


def migrate_ledger(
    url_or_path: str | os.PathLike[str] | None = None, *, plugins: Plugins | None = None
) -> tuple[int | None, int | None]:
    """Bring the ledger's schema forward to this pxr's; returns the schema
    found (``None``: there was no ledger, it has been created) and the schema
    now (``None`` where a plugin's ledger does not say).

    A PostgreSQL database gets pxr's tables if it has none: ``pxr migrate``
    is how a deployment sets up its shared ledger. A SQLite file must exist
    (a mistyped path is an error, not a new file); it is also brought
    forward whenever it is opened, where a PostgreSQL ledger is only brought
    forward here (or with ``migrate=True``), so that one deliberate step
    changes a schema many hosts share. A ledger kind from a plugin is
    migrated by its ``migrate()`` method, if it has one.
    """
    url = _named(url_or_path)
    factory = _factory(url, plugins)
    if factory is postgres_ledger:
        from pxr.ledger.postgres import PostgresLedger  # noqa: PLC0415

        ledger = PostgresLedger(url, create=True, migrate=True)
        ledger.close()
        return ledger.found_version, ledger.schema_version
    if factory is sqlite_ledger:
        from pxr.ledger.sqlite import SCHEMA_VERSION  # noqa: PLC0415

        found = _sqlite_version(_sqlite_path(url))
        sqlite_ledger(url, create=False).close()
        return found, SCHEMA_VERSION
    opened = factory(url, create=False)
    try:
        migrate = getattr(opened, "migrate", None)
        if callable(migrate):
            migrate()
    finally:
        opened.close()
    return None, None


def _sqlite_version(path: str) -> int | None:
    """The schema of a SQLite ledger file before it is opened (and migrated)."""
    import sqlite3  # noqa: PLC0415

    if not os.path.isfile(path):
        return None
    try:
        with contextlib.closing(sqlite3.connect(path)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            if "meta" in tables:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is not None:
                    return int(row[0])
            return 1 if "breaches" in tables else None
    except (sqlite3.Error, ValueError):
        return None
