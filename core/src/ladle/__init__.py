"""ladle: turn Python data (APIs, files, databases) into typed, evolving tables.

>>> import ladle
>>> info = ladle.pipeline("quickstart").run([{"id": 1, "tags": ["a", "b"]}], table_name="items")
>>> print(info)
"""

from ladle import destinations
from ladle.configuration import Secret, config, secrets
from ladle.errors import (
    ConfigError,
    ConfigKeyMissing,
    ContractViolation,
    DestinationError,
    ExtractError,
    ItemNotSerializable,
    LadleError,
    LoadError,
    SchemaError,
    StateConflict,
    UnknownDestination,
    UnsupportedValue,
)
from ladle.extract.incremental import Incremental, incremental
from ladle.extract.resource import Resource, resource, transformer
from ladle.extract.source import Source, source
from ladle.pipeline.load_info import LoadInfo
from ladle.pipeline.pipeline import Pipeline, pipeline
from ladle.schema import Column, Schema, SchemaContract, Table
from ladle.state.context import source_state, state
from ladle.version import __version__

__all__ = [
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
]
