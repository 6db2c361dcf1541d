"""A throwaway PostgreSQL database per test session, for every test that loads into PostgreSQL.

The server is the one on 127.0.0.1:5432 (user postgres, trust auth; `.ci/run` starts it). The
first call of `postgres_dsn()` creates `ladle_test_<random>`; it is dropped when the test
process exits. Without a server, tests are skipped with the reason, or fail when `CI=true`.
`LADLE_TEST_POSTGRES_ADMIN_DSN` points the tests at another server.

Each test should start from an empty database: `fresh_postgres_dsn()` and
`fresh_postgres_destination()` drop every schema (dataset) the previous test left. In a test
module or a suite class:

    from tests.core.destinations.postgres_server import fresh_postgres_destination

    class TestPostgres(DestinationSuite):
        @pytest.fixture
        def destination(self) -> Destination:
            return fresh_postgres_destination()

or import the `postgres_destination` / `postgres_dsn_fixture` fixtures into the module.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import ladle
from ladle.destinations.postgres import PostgresDestination

ADMIN_DSN = os.environ.get(
    "LADLE_TEST_POSTGRES_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_session: dict[str, str] = {}  # "dsn" once created, or "unavailable": the reason


def postgres_dsn() -> str:
    """The DSN of this test session's database (created on first use, dropped at exit)."""
    if "dsn" in _session:
        return _session["dsn"]
    if "unavailable" in _session:
        _unavailable(_session["unavailable"])
    name = f"ladle_test_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _session["unavailable"] = " ".join(str(exc).split())
        _unavailable(_session["unavailable"])
    atexit.register(_drop_database, name)
    _session["dsn"] = make_conninfo(ADMIN_DSN, dbname=name)
    return _session["dsn"]


def fresh_postgres_dsn() -> str:
    """The session database, emptied: every schema but `public` dropped, other sessions ended."""
    dsn = postgres_dsn()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        rows = connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname NOT IN ('public', 'information_schema')"
        ).fetchall()
        for (schema,) in rows:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return dsn


def fresh_postgres_destination(**kwargs: Any) -> PostgresDestination:
    """`ladle.destinations.postgres(...)` on the emptied session database."""
    return ladle.destinations.postgres(fresh_postgres_dsn(), **kwargs)


def dsn_parts() -> dict[str, Any]:
    """host, port, dbname, user of the session database (for tests of credential parts)."""
    return dict(conninfo_to_dict(postgres_dsn()))


@pytest.fixture
def postgres_dsn_fixture() -> str:
    """A pytest fixture: the DSN of the emptied session database."""
    return fresh_postgres_dsn()


@pytest.fixture
def postgres_destination() -> PostgresDestination:
    """A pytest fixture: a postgres destination on the emptied session database."""
    return fresh_postgres_destination()


def _unavailable(reason: str) -> None:
    admin = conninfo_to_dict(ADMIN_DSN)
    where = f"{admin.get('host', 'localhost')}:{admin.get('port', 5432)}"
    message = (
        f"no PostgreSQL server on {where} as user {admin.get('user')} ({reason}); start it with "
        "`pg_ctlcluster --skip-systemctl-redirect <version> main start` or run .ci/run"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _drop_database(name: str) -> None:
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3) as admin,
    ):
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
