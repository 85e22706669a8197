"""A throwaway PostgreSQL database for the tests, on the machine's server.

The server is the one at 127.0.0.1:5432 with trust authentication that the
project's machines run. A test session creates ``pxr_test_<random>`` and
drops it at the end. Without a server (or without psycopg) the PostgreSQL
tests are skipped with the reason; ``PXR_REQUIRE_POSTGRES=1`` (set by
``.ci/run``) makes that a failure instead.
"""

from __future__ import annotations

import getpass
import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

HOST = "127.0.0.1"
PORT = 5432


def _unavailable(reason: str) -> None:
    message = f"no PostgreSQL for the tests: {reason}"
    if os.environ.get("PXR_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " (PXR_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


def url(user: str, database: str) -> str:
    """A URL for ``database`` on the test server."""
    return f"postgresql://{quote(user)}@{HOST}:{PORT}/{database}"


def schema_url(base: str, schema: str) -> str:
    """``base``, with ``schema`` (created if missing) first on the search path."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}"


def database() -> Iterator[str]:
    """Create a database for this session, yield its URL, drop it afterwards."""
    try:
        import psycopg  # noqa: PLC0415
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[postgres]')")
        raise
    problems = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            admin = psycopg.connect(url(user, "postgres"), autocommit=True, connect_timeout=5)
        except psycopg.Error as error:
            problems.append(f"{user}: {str(error).strip().splitlines()[0]}")
            continue
        break
    else:
        _unavailable(f"cannot connect to {HOST}:{PORT} ({'; '.join(problems)})")
        raise AssertionError("unreachable")
    name = f"pxr_test_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        # A crash of the server may lose the last commits of a throwaway
        # database: commits need not wait for the disk.
        admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
        try:
            yield url(user, name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
