"""Destinations from Airflow Connections: credentials stay in Airflow's connection store.

    conn_type postgres   host, port, login, password; `schema` is the database; extras such
                         as sslmode are passed to libpq
    conn_type duckdb     the database file in `host` or in the extra `path`
    conn_type fs         the folder (or file:// URL) in the extra `path` (or `bucket_url`), or
                         in `host`

Called inside a running task only (Airflow reads connections through the task's supervisor).
The password becomes a `ladle.Secret` at once: it never appears in a log, error or repr.
"""

from __future__ import annotations

from typing import Any

import ladle
from ladle.destinations.base import Destination

# libpq parameters an Airflow postgres connection may carry in its extras; other extras (the
# Airflow postgres provider's own, like `cursor`) are not for libpq.
LIBPQ_EXTRAS = (
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)


def destination_from_connection(conn_id: str) -> Destination:
    """The ladle destination an Airflow Connection describes (see the module doc)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get(conn_id)
    except AirflowNotFoundException as exc:
        raise ladle.ConfigError(
            f"Airflow connection '{conn_id}' is not defined: add it (UI, `airflow connections "
            f"add`, or the env var AIRFLOW_CONN_{conn_id.upper()})",
            key="conn_id",
        ) from exc
    return destination_from_parts(
        conn_id,
        conn_type=connection.conn_type,
        host=connection.host,
        port=connection.port,
        schema=connection.schema,
        login=connection.login,
        password=connection.password,
        extra=connection.extra_dejson,
    )


def destination_from_parts(
    conn_id: str,
    *,
    conn_type: str | None,
    host: str | None = None,
    port: int | None = None,
    schema: str | None = None,
    login: str | None = None,
    password: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Destination:
    """The translation itself, from the fields of a connection."""
    kind = (conn_type or "").lower()
    extra = extra or {}
    if kind in ("postgres", "postgresql"):
        parts: dict[str, Any] = {
            "host": host,
            "port": port,
            "database": schema,
            "user": login,
            "password": password,
            **{key: extra[key] for key in LIBPQ_EXTRAS if key in extra},
        }
        return ladle.destinations.postgres({k: v for k, v in parts.items() if v not in (None, "")})
    if kind == "duckdb":
        path = extra.get("path") or host
        if not path:
            raise ladle.ConfigError(
                f"Airflow connection '{conn_id}' (duckdb) needs the database file in `host` or "
                "in the extra `path`",
                key="conn_id",
            )
        return ladle.destinations.duckdb(str(path))
    if kind in ("fs", "filesystem", "file"):
        folder = extra.get("path") or extra.get("bucket_url") or host
        if not folder:
            raise ladle.ConfigError(
                f"Airflow connection '{conn_id}' ({kind}) needs a folder in the extra `path`",
                key="conn_id",
            )
        return ladle.destinations.filesystem(str(folder))
    raise ladle.ConfigError(
        f"Airflow connection '{conn_id}' has type {conn_type!r}; ladle builds destinations from "
        "connections of type postgres, duckdb or fs",
        key="conn_id",
    )


__all__ = ["destination_from_connection", "destination_from_parts"]
