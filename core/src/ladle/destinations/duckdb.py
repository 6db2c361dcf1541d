"""DuckDB: the embedded default destination, a file named after the pipeline.

Each dataset is a DuckDB schema. A package loads in one transaction: DDL, every file inserted
straight from memory-mapped Arrow IPC (`INSERT ... BY NAME`, so files may lack columns),
schema and load rows, commit.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb as duckdb_lib
import pyarrow as pa

from ladle.destinations.base import Capabilities, Destination
from ladle.destinations.sql import SqlClient, quote
from ladle.duckdb_results import arrow_result
from ladle.errors import DestinationError

CAPABILITIES = Capabilities(
    transactions=True,
    merge=True,
    max_identifier_length=None,
    preferred_file_format="arrow",
    max_decimal_precision=38,
)

# DuckDB would take up to 80% of RAM for its buffer pool; a load needs far less.
DEFAULT_LOAD_MEMORY_LIMIT = "512MB"
# One process at a time may open a DuckDB file: another waits this long for it (seconds).
DEFAULT_LOCK_TIMEOUT = 60.0

DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "decimal": "DECIMAL",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "date": "DATE",
    "time": "TIME",
    "json": "JSON",
    "binary": "BLOB",
}


class DuckDbDestination(Destination):
    """`ladle.destinations.duckdb(path_or_connection)`; by default `./<pipeline_name>.duckdb`.

    `load_memory_limit` caps DuckDB's memory on the connections ladle opens (None: DuckDB's
    default, 80% of RAM); an open connection you pass is left as you configured it.
    `lock_timeout`: seconds to wait while another process has the file open (DuckDB admits one
    process at a time), e.g. a parallel orchestrator task loading into the same file.
    """

    name = "duckdb"
    capabilities = CAPABILITIES

    def __init__(
        self,
        path_or_connection: str | Path | duckdb_lib.DuckDBPyConnection | None = None,
        *,
        load_memory_limit: str | None = DEFAULT_LOAD_MEMORY_LIMIT,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.target = path_or_connection
        self.load_memory_limit = load_memory_limit
        self.lock_timeout = lock_timeout

    def database_path(self, pipeline_name: str) -> str:
        if isinstance(self.target, (str, Path)):
            return str(self.target)
        return f"{pipeline_name}.duckdb"

    def client(self, pipeline_name: str, dataset_name: str) -> DuckDbClient:
        if isinstance(self.target, duckdb_lib.DuckDBPyConnection):
            return DuckDbClient(self.target, dataset_name, owned=False, wait=self.lock_timeout)
        path = self.database_path(pipeline_name)
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = self._connect(path)
        except (duckdb_lib.Error, OSError) as exc:
            raise DestinationError(
                f"cannot open the DuckDB file {path}: {exc}", destination="duckdb", path=path
            ) from exc
        if self.load_memory_limit is not None:
            # Bounds DuckDB's buffer pool while loading (it spills beyond); only on
            # connections ladle opens, which live for one load or one query.
            connection.execute(f"SET memory_limit = {quote_literal(self.load_memory_limit)}")
        return DuckDbClient(connection, dataset_name, owned=True, wait=self.lock_timeout)

    def _connect(self, path: str) -> duckdb_lib.DuckDBPyConnection:
        """Open the file, waiting while another process holds it (e.g. a parallel task), or
        while another thread of this one is opening or closing it (DuckDB then refuses the
        file as attached already)."""
        deadline = time.monotonic() + self.lock_timeout
        pause = 0.05
        while True:
            try:
                return duckdb_lib.connect(path)
            except (duckdb_lib.IOException, duckdb_lib.ResourceInUseException) as exc:
                busy = "lock" in str(exc) or isinstance(exc, duckdb_lib.ResourceInUseException)
                if not busy or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def __repr__(self) -> str:
        target = (
            "<connection>"
            if isinstance(self.target, duckdb_lib.DuckDBPyConnection)
            else self.target
        )
        return f"<destination duckdb {target or '<pipeline_name>.duckdb'}>"


# Loads into one database from threads of one process (parallel tasks of a Prefect flow, say)
# take turns: DuckDB would fail the second with a catalog write-write conflict.
_writers: dict[str, threading.RLock] = {}
_writers_guard = threading.Lock()


def _writer_lock(database: str) -> threading.RLock:
    with _writers_guard:
        return _writers.setdefault(database, threading.RLock())


class DuckDbClient(SqlClient):
    type_names = DUCKDB_TYPES
    unique_violation = (duckdb_lib.ConstraintException,)
    temp_schema = "temp.main"

    def __init__(
        self,
        connection: duckdb_lib.DuckDBPyConnection,
        dataset_name: str,
        *,
        owned: bool,
        wait: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        super().__init__(dataset_name)
        self.connection = connection
        self.wait = wait  # seconds to wait for another thread's load into the same file
        self.owned = owned
        # Qualify with the catalog: a file named like the dataset would make names ambiguous.
        self.catalog = connection.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        self.dataset = f"{quote(self.catalog)}.{quote(dataset_name)}"
        file = connection.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        # In-memory databases are private to their connection: nothing to take turns on.
        self._writer = _writer_lock(str(Path(file[0]).resolve())) if file and file[0] else None
        self._writing = False
        # How existing_columns puts the setting back: the default, unless the connection had
        # replacement scans off.
        replacements = connection.execute("SELECT current_setting('python_enable_replacements')")
        self._restore_replacements = (
            "RESET python_enable_replacements"
            if replacements.fetchone()[0]  # type: ignore[index]
            else "SET python_enable_replacements = false"
        )

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self.connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def begin(self) -> None:
        if self._writer is not None and not self._writing:
            if not self._writer.acquire(timeout=self.wait):
                raise DestinationError(
                    f"another thread of this process has been loading into the DuckDB file "
                    f"{self.catalog} for over {self.wait:g} s (lock_timeout)",
                    destination="duckdb",
                )
            self._writing = True
        self.connection.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        try:
            self.connection.execute("COMMIT")
        finally:
            self._done_writing()

    def rollback(self) -> None:
        # Nothing may be open any more: a failed statement can end the transaction itself.
        try:
            with contextlib.suppress(duckdb_lib.TransactionException):
                self.connection.execute("ROLLBACK")
        finally:
            self._done_writing()

    def _done_writing(self) -> None:
        if self._writing and self._writer is not None:
            self._writing = False
            self._writer.release()

    def existing_columns(self, table: str) -> set[str]:
        # A catalog lookup: under 1 ms, where duckdb_columns() binds every system view on a
        # connection's first call (13 ms, and ladle opens a connection per load). A missing
        # table is no error for the open transaction; Python replacement scans are off during
        # the lookup, or a missing table named like a Python variable in scope would be read.
        self.connection.execute("SET python_enable_replacements = false")
        try:
            return set(self.connection.table(self.table_ref(table)).columns)
        except duckdb_lib.CatalogException:
            return set()
        finally:
            self.connection.execute(self._restore_replacements)

    def insert_arrow(
        self, target: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> None:
        """Straight from the (memory-mapped) batches; `BY NAME`, so they may lack columns."""
        stream = pa.RecordBatchReader.from_batches(schema, batches)
        self.connection.register("_ladle_file", stream)
        try:
            self.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _ladle_file")
        finally:
            # After a failed INSERT the transaction is aborted; keep the real error.
            with contextlib.suppress(duckdb_lib.Error):
                self.connection.unregister("_ladle_file")

    def query(self, sql: str) -> pa.Table:
        self._use_dataset()
        return arrow_result(self.connection.sql(sql))

    def _use_dataset(self) -> None:
        exists = self.execute(
            "SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?",
            [self.catalog, self.dataset_name],
        )
        if exists:
            self.connection.execute(f"SET search_path = {quote_literal(self.dataset)}")

    def close(self) -> None:
        self._done_writing()
        if self.owned:
            self.connection.close()


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


__all__ = ["DuckDbDestination", "quote"]
