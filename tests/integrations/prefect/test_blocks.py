"""Prefect Secret block values to ladle destinations, and the plugin's public API."""

from __future__ import annotations

from typing import Any

import pytest

import ladle
import ladle_prefect
from ladle.destinations.postgres import PostgresDestination
from ladle_prefect.artifacts import artifact_key
from ladle_prefect.blocks import destination_from_secret


def test_public_api_is_pinned() -> None:
    assert set(ladle_prefect.__all__) == {
        "Mode",
        "__version__",
        "destination_from_block",
        "load_unit",
        "run_source",
        "source_flow",
        "unit_task",
    }


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://loader:hunter2@db.internal:6543/analytics?sslmode=require",
        {
            "host": "db.internal",
            "port": 6543,
            "database": "analytics",
            "user": "loader",
            "password": "hunter2",
            "sslmode": "require",
        },
        {
            "type": "postgres",
            "host": "db.internal",
            "port": "6543",
            "dbname": "analytics",
            "username": "loader",
            "password": "hunter2",
            "sslmode": "require",
        },
    ],
)
def test_a_secret_block_value_is_a_postgres_destination(value: Any) -> None:
    made = destination_from_secret("warehouse", value)
    assert isinstance(made, PostgresDestination)
    credentials = made.credentials
    assert (credentials.host, credentials.port, credentials.database, credentials.user) == (
        "db.internal",
        6543,
        "analytics",
        "loader",
    )
    assert credentials.options == {"sslmode": "require"}
    assert credentials.password is not None
    assert credentials.password.reveal() == "hunter2"
    assert "hunter2" not in repr(made) + str(credentials) + repr(credentials)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "duckdb", "path": "x.duckdb"}, "has type 'duckdb'; ladle builds PostgreSQL"),
        ("", "must hold a PostgreSQL connection string"),
        ({}, "must hold a PostgreSQL connection string"),
        (42, "not int"),
    ],
)
def test_secret_values_ladle_cannot_use(value: Any, message: str) -> None:
    with pytest.raises(ladle.ConfigError, match=message) as caught:
        destination_from_secret("warehouse", value)
    assert caught.value.key == "destination_block"
    assert "'warehouse'" in str(caught.value)


@pytest.mark.parametrize(
    ("pipeline", "suffix", "key"),
    [
        ("crm", "users", "ladle-crm-users"),
        ("CRM.prod", "user_tags", "ladle-crm-prod-user-tags"),
        ("crm", "row-counts", "ladle-crm-row-counts"),
    ],
)
def test_artifact_keys_are_what_prefect_accepts(pipeline: str, suffix: str, key: str) -> None:
    assert artifact_key(pipeline, suffix) == key
