"""The PostgreSQL client on psycopg 3: one connection, explicit transactions, COPY for data.

A package loads in one transaction (see `SqlClient.load_package`): DDL, every normalized Arrow
IPC file streamed batch by batch as CSV into `COPY "dataset"."table" (columns) FROM STDIN`,
then the schema and `_ladle_loads` rows, commit.

Workers may load into one dataset at once. A transaction-scoped advisory lock per dataset keeps
their DDL apart: a load that must create or alter tables takes it exclusively, any other load
takes it shared. So loads that need no DDL run side by side, while DDL waits for the loads in
flight and runs alone: no catalog conflicts between concurrent `CREATE TABLE`s, and no deadlock
between an `ALTER TABLE` and another worker's COPY into the same tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.conninfo import make_conninfo
from psycopg.types.string import TextLoader

from ladle.destinations.postgres.credentials import PostgresCredentials
from ladle.destinations.postgres.csv_copy import csv_chunks
from ladle.destinations.postgres.results import arrow_table
from ladle.destinations.sql import LOADS_TABLE, SCHEMAS_TABLE, STATE_TABLE, SqlClient, quote
from ladle.errors import DestinationError
from ladle.schema.schema import Table

POSTGRES_TYPES = {
    "bigint": "bigint",
    "double": "double precision",
    "bool": "boolean",
    "text": "text",
    "decimal": "numeric",
    "timestamp": "timestamptz",
    "date": "date",
    "time": "time",
    "json": "jsonb",
    "binary": "bytea",
}

Connection = psycopg.Connection[tuple[Any, ...]]


def connect(credentials: PostgresCredentials) -> Connection:
    """An autocommit connection (transactions are explicit); DestinationError if it fails.

    The error names host, port, database and user, never the password: the driver's message
    is scrubbed, and its exception is replaced by a copy without the failed connection object
    (which would still hold the password) and without the driver's stack frames.
    """
    failure: psycopg.Error | None = None
    try:
        connection: Connection = psycopg.connect(
            make_conninfo("", **credentials.connect_kwargs()), autocommit=True
        )
    except psycopg.Error as exc:
        failure = type(exc)(credentials.scrub(" ".join(str(exc).split())))
    else:
        return connection
    raise DestinationError(
        f"cannot connect to PostgreSQL at {credentials.describe()}: {failure}",
        destination="postgres",
        host=credentials.host,
        port=credentials.port,
        database=credentials.database,
        user=credentials.user,
    ) from failure


class PostgresClient(SqlClient):
    type_names = POSTGRES_TYPES
    placeholder = "%s"
    unique_violation = (psycopg.errors.UniqueViolation,)
    temp_schema = "pg_temp"

    def __init__(self, connection: Connection, dataset_name: str) -> None:
        super().__init__(dataset_name)
        self.connection = connection
        self._dataset_lock: str | None = None  # advisory lock mode held in this transaction
        # json/jsonb come back as text, as from DuckDB; timestamptz values in UTC.
        connection.adapters.register_loader("json", TextLoader)
        connection.adapters.register_loader("jsonb", TextLoader)
        try:
            self.execute("SET TIME ZONE 'UTC'")
            self.execute(f"SET search_path TO {self.dataset}")
        except BaseException:
            connection.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def begin(self) -> None:
        self.execute("BEGIN")
        self._dataset_lock = None

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        # The connection may be gone (killed, network): the server rolls back on its own then.
        with contextlib.suppress(psycopg.Error):
            self.execute("ROLLBACK")

    # -- DDL: only under the dataset lock, and only when something is missing ---------------------
    def create_dataset(self) -> None:
        # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
        if not self.execute(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", [self.dataset_name]
        ):
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.dataset}")

    def ensure_dataset(self) -> None:
        rows = self.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s "
            "AND tablename IN (%s, %s, %s)",
            [self.dataset_name, LOADS_TABLE, SCHEMAS_TABLE, STATE_TABLE],
        )
        if rows[0][0] == 3:
            return
        self._lock_dataset(exclusive=True)
        super().ensure_dataset()

    def lock_for_schema_change(self) -> None:
        self._lock_dataset(exclusive=True)

    def lock_for_merge(self, table: str) -> None:
        # Two loads merging one key at once would each delete the stored row (neither sees the
        # other's new one) and both insert theirs: the second waits for the first to commit.
        key = f"ladle-merge:{self.dataset_name}.{table}"
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])

    def evolve_tables(self, tables: Iterable[Table]) -> None:
        tables = list(tables)
        existing = self._dataset_columns()
        if all({c.name for c in t.columns.values()} <= existing.get(t.name, set()) for t in tables):
            self._lock_dataset(exclusive=False)
            return
        self._lock_dataset(exclusive=True)
        super().evolve_tables(tables)  # reads the columns again, now under the lock

    def _lock_dataset(self, *, exclusive: bool) -> None:
        """Hold the dataset's advisory lock until the transaction ends (see the module doc)."""
        held = self._dataset_lock
        if held == "exclusive" or (held == "shared" and not exclusive):
            return
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        self.execute(f"SELECT {function}(hashtextextended(%s, 0))", [f"ladle:{self.dataset_name}"])
        self._dataset_lock = "exclusive" if exclusive else "shared"

    def existing_columns(self, table: str) -> set[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [self.dataset_name, table],
        )
        return {row[0] for row in rows}

    def _dataset_columns(self) -> dict[str, set[str]]:
        rows = self.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            [self.dataset_name],
        )
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(table, set()).add(column)
        return columns

    # -- data -------------------------------------------------------------------------------------
    def insert_arrow(
        self, target: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> None:
        """COPY record batches as CSV, one batch in memory at a time.

        (Encoding the next batch in a helper thread while this one is sent was measured: slower,
        the GIL hand-offs cost more than the overlap gains; encoding is ~1/3 of the COPY time.)
        """
        columns = ", ".join(quote(name) for name in schema.names)
        sql = f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)"
        with self.connection.cursor() as cursor, cursor.copy(sql) as copy:
            for batch in batches:
                for chunk in csv_chunks(batch):
                    copy.write(chunk)

    def analyze(self, table_ref: str, columns: Sequence[str]) -> None:
        # Autovacuum never analyzes temporary tables, and the planner guesses the distinct keys
        # of a table without statistics. Only the join columns: all of them cost 3x as much.
        self.execute(f"ANALYZE {table_ref} ({', '.join(map(quote, columns))})")

    def query(self, sql: str) -> pa.Table:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
            return arrow_table(cursor.description, rows)

    def close(self) -> None:
        self.connection.close()
