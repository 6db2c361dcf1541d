"""The public API is curated: adding or removing a name is a decision, made here on purpose."""

from __future__ import annotations

import ladle
import ladle.destinations
import ladle.errors

PUBLIC = {
    "Column",
    "ConfigError",
    "ConfigKeyMissing",
    "ContractViolation",
    "DestinationError",
    "ExtractError",
    "Incremental",
    "ItemNotSerializable",
    "LadleError",
    "LoadError",
    "LoadInfo",
    "Pipeline",
    "Resource",
    "Schema",
    "SchemaContract",
    "SchemaError",
    "Secret",
    "Source",
    "StateConflict",
    "Table",
    "UnknownDestination",
    "UnsupportedValue",
    "__version__",
    "config",
    "destinations",
    "incremental",
    "pipeline",
    "resource",
    "secrets",
    "source",
    "source_state",
    "state",
    "transformer",
}


def test_ladle_all_is_pinned() -> None:
    assert set(ladle.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(ladle, name), name


def test_destinations_all_is_pinned() -> None:
    assert set(ladle.destinations.__all__) == {
        "Capabilities",
        "Destination",
        "DestinationClient",
        "DuckDbDestination",
        "duckdb",
        "filesystem",
        "postgres",
        "resolve",
    }


def test_every_error_derives_from_ladle_error_and_is_exported() -> None:
    for name in ladle.errors.__all__:
        error = getattr(ladle.errors, name)
        assert issubclass(error, ladle.LadleError)
        assert getattr(ladle, name) is error
