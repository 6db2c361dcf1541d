"""The destination interface: a factory with capabilities, and a client that loads packages.

A destination is anything with a `name`, `capabilities` and `client(pipeline_name, dataset_name)`.
Its client loads one normalized package atomically (`load_package`: data, schema, state and the
load's row commit together or not at all), returns the newest stored schema and state (so a
worker with an empty disk resumes), and answers read-back queries as Arrow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from ladle.errors import ConfigError
from ladle.load.package import LoadPackage
from ladle.schema.data_types import DATA_TYPES
from ladle.schema.schema import Schema
from ladle.state.scopes import ScopeState

FileFormat = Literal["arrow", "parquet"]


@dataclass(frozen=True)
class Capabilities:
    """What a destination can do, as data the core plans around."""

    transactions: bool
    merge: bool
    max_identifier_length: int | None
    preferred_file_format: FileFormat = "arrow"
    supported_types: frozenset[str] = frozenset(DATA_TYPES)
    max_decimal_precision: int = 38
    case_sensitive: bool = True
    batched_ddl: bool = True


class DestinationClient(ABC):
    """A connection to one dataset of a destination. Use it as a context manager."""

    @abstractmethod
    def load_package(self, package: LoadPackage, schema: Schema) -> Schema | None:
        """Load all files of `package` in one transaction, with its schema, its state changes
        (`package.manifest.state_changes`) and its load row. Returns the schema as stored
        (merged with what other workers stored meanwhile), or None (changing nothing) if the
        load id was committed before. Raises `StateConflict` (committing nothing) if a state
        scope moved past the package's base version."""

    @abstractmethod
    def stored_schema(self, schema_name: str) -> Schema | None:
        """The newest schema of that name stored in the dataset, if any."""

    @abstractmethod
    def stored_state(self, pipeline_name: str) -> dict[str, ScopeState]:
        """The newest committed version of every state scope of the pipeline."""

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """Run a read query with the dataset as the default schema."""

    def drop_tables(
        self, schema_name: str, tables: Sequence[str], pipeline_name: str, scopes: Sequence[str]
    ) -> Schema | None:
        """Drop `tables` with their entries in the stored schema, and the pipeline's state
        `scopes`, in one transaction; returns the schema as stored (None if none was)."""
        raise ConfigError(
            f"this destination ({type(self).__name__}) cannot drop tables; remove them by hand "
            "and start a new dataset_name",
            key="destination",
        )

    def close(self) -> None:  # noqa: B027 - clients without a connection need no close
        """Release the connection."""

    def __enter__(self) -> DestinationClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Destination(ABC):
    """A destination factory: name, capabilities, and clients per dataset."""

    name: str
    capabilities: Capabilities

    @abstractmethod
    def client(self, pipeline_name: str, dataset_name: str) -> DestinationClient:
        """A client for `dataset_name` (a schema in SQL destinations)."""

    def __repr__(self) -> str:
        return f"<destination {self.name}>"
