"""Destinations from Prefect Secret blocks: credentials stay in Prefect's block store.

The block is a `prefect.blocks.system.Secret` whose value is either

    a PostgreSQL connection string    "postgresql://loader:pw@db.internal:5432/analytics"
    a JSON object of its parts        {"host": "db.internal", "port": 5432, "database":
                                       "analytics", "user": "loader", "password": "pw",
                                       "sslmode": "require"}

(other keys of the object, such as `sslmode`, are passed to libpq). Create it in the UI
(Blocks > Secret) or in Python: `Secret(value="postgresql://...").save("warehouse")`.

Loaded inside a running task, on the worker, when a unit starts. The value becomes a
`ladle.Secret` at once: it never appears in a log, artifact, error or repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ladle
from ladle.destinations.base import Destination

KEY = "destination_block"


def destination_from_block(block_name: str) -> Destination:
    """The ladle destination the Prefect Secret block `block_name` describes (see the module doc).

    >>> pipeline = ladle.pipeline("crm", destination=destination_from_block("warehouse"))
    """
    from prefect.blocks.system import Secret

    if not isinstance(block_name, str) or not block_name:
        raise ladle.ConfigError(
            f"{KEY} must be the name of a Prefect Secret block, not {block_name!r}", key=KEY
        )
    load: Any = Secret.load  # sync even inside an async flow: `_sync=True`
    try:
        block = load(block_name, _sync=True)
    except ValueError as exc:  # Prefect: "Unable to find block document named ..."
        raise ladle.ConfigError(
            f"Prefect Secret block '{block_name}' is not defined: create it in the UI (Blocks > "
            f"Secret) or with `Secret(value='postgresql://...').save('{block_name}')`",
            key=KEY,
        ) from exc
    return destination_from_secret(block_name, block.get())


def destination_from_secret(block_name: str, value: Any) -> Destination:
    """The translation itself, from the value of a Secret block."""
    if isinstance(value, str) and value.strip():
        return ladle.destinations.postgres(ladle.Secret(value))
    if isinstance(value, Mapping) and value:
        parts = dict(value)
        kind = str(parts.pop("type", "postgres")).lower()
        if kind in ("postgres", "postgresql"):
            return ladle.destinations.postgres(parts)
        raise ladle.ConfigError(
            f"Prefect Secret block '{block_name}' has type {kind!r}; ladle builds PostgreSQL "
            "destinations from Secret blocks (keep file paths in code or ladle's config)",
            key=KEY,
        )
    raise ladle.ConfigError(
        f"Prefect Secret block '{block_name}' must hold a PostgreSQL connection string or a "
        f"JSON object of its parts (host, port, database, user, password), not "
        f"{type(value).__name__ if value else 'an empty value'}",
        key=KEY,
    )


__all__ = ["destination_from_block", "destination_from_secret"]
