"""Airflow Connections to ladle destinations, and the plugin's public API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ladle
import ladle_airflow
from ladle.destinations.duckdb import DuckDbDestination
from ladle.destinations.filesystem import FilesystemDestination
from ladle.destinations.postgres import PostgresDestination
from ladle_airflow.connections import destination_from_parts


def test_public_api_is_pinned() -> None:
    assert set(ladle_airflow.__all__) == {
        "LadleOperator",
        "LadleTaskGroup",
        "__version__",
        "destination_from_connection",
    }


def test_a_postgres_connection_keeps_its_password_secret() -> None:
    made = destination_from_parts(
        "warehouse",
        conn_type="postgres",
        host="db.internal",
        port=6543,
        schema="analytics",
        login="loader",
        password="hunter2",
        extra={"sslmode": "require", "cursor": "realdictcursor"},
    )
    assert isinstance(made, PostgresDestination)
    credentials = made.credentials
    assert (credentials.host, credentials.port, credentials.database, credentials.user) == (
        "db.internal",
        6543,
        "analytics",
        "loader",
    )
    assert credentials.options == {"sslmode": "require"}  # not the provider's own `cursor`
    assert credentials.password is not None
    assert credentials.password.reveal() == "hunter2"
    assert "hunter2" not in repr(made) + str(credentials) + repr(credentials)


@pytest.mark.parametrize(
    ("conn_type", "fields", "expected"),
    [
        ("duckdb", {"host": "warehouse.duckdb"}, DuckDbDestination),
        ("duckdb", {"extra": {"path": "warehouse.duckdb"}}, DuckDbDestination),
        ("fs", {"extra": {"path": "lake"}}, FilesystemDestination),
        ("filesystem", {"host": "lake"}, FilesystemDestination),
    ],
)
def test_file_destinations(conn_type: str, fields: dict[str, Any], expected: type) -> None:
    assert isinstance(destination_from_parts("c", conn_type=conn_type, **fields), expected)


@pytest.mark.parametrize(
    ("conn_type", "fields", "message"),
    [
        ("mysql", {}, "has type 'mysql'; ladle builds destinations from"),
        ("duckdb", {}, "needs the database file"),
        ("fs", {}, "needs a folder"),
    ],
)
def test_connections_ladle_cannot_use(conn_type: str, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ladle.ConfigError, match=message):
        destination_from_parts("c", conn_type=conn_type, **fields)


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    from airflow.sdk import DAG

    from ladle.testing.adapter_suite import conformance_source
    from ladle_airflow import LadleTaskGroup

    source = conformance_source(str(tmp_path))
    with DAG("ladle_bad_mode", schedule=None), pytest.raises(ladle.ConfigError, match="mode"):
        LadleTaskGroup("crm", source=source, pipeline=ladle.pipeline("crm"), mode="fast")  # type: ignore[arg-type]
