"""What SQL destinations share: identifier quoting, DDL that evolves tables, system tables,
and the order of work inside the one transaction that loads a package."""

from __future__ import annotations

import datetime
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from ladle import crash_points
from ladle.destinations.base import DestinationClient
from ladle.destinations.sql_merge import write_data
from ladle.destinations.sql_names import quote as quote  # re-exported: clients import it here
from ladle.load.normalized_file import record_batches
from ladle.load.package import LoadPackage, PackageFile
from ladle.schema.schema import PARENT_ID, ROOT_ID, ROW_ID, Column, Schema, Table
from ladle.state import codec
from ladle.state.conflict import state_conflict
from ladle.state.scopes import ScopeState, StateChange

LOADS_TABLE = "_ladle_loads"
SCHEMAS_TABLE = "_ladle_schemas"
STATE_TABLE = "_ladle_state"
# Versions of each state scope kept (the newest is the state; older ones are for inspection).
STATE_VERSIONS_KEPT = 10


class SqlClient(DestinationClient):
    """A client for a destination that speaks SQL and has transactions."""

    type_names: dict[str, str]
    # The driver's parameter marker: "?" for DuckDB, "%s" for psycopg.
    placeholder = "?"
    # What the driver raises when an INSERT breaks a primary key.
    unique_violation: tuple[type[Exception], ...] = ()

    def __init__(self, dataset_name: str) -> None:
        self.dataset_name = dataset_name
        self.dataset = quote(dataset_name)

    # -- what each SQL destination provides -------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; returns the rows it produced (empty for DDL and DML)."""

    @abstractmethod
    def insert_arrow(
        self, target: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> None:
        """Append record batches (streamed, by column name) to `target`, a table reference."""

    # Where temporary (staging) tables live: `temp_ref(name)` reaches one made by
    # `CREATE TEMP TABLE name`. Each connection sees only its own.
    temp_schema: str

    def temp_ref(self, name: str) -> str:
        return f"{self.temp_schema}.{quote(name)}"

    def analyze(self, table_ref: str, columns: Sequence[str]) -> None:
        """Refresh the planner's statistics of these columns of a freshly filled table."""

    def lock_for_merge(self, table: str) -> None:
        """Keep other workers from merging into `table` until this transaction ends."""

    def insert_file(self, table: Table, file: PackageFile, package: LoadPackage) -> None:
        """Append the rows of one normalized file to `table`."""
        with record_batches(package, file) as (schema, batches):
            self.insert_arrow(self.table_ref(table.name), schema, batches)

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    # -- the load transaction ---------------------------------------------------------------------
    def load_package(self, package: LoadPackage, schema: Schema) -> Schema | None:
        self.begin()
        try:
            self.ensure_dataset()
            if self.is_loaded(package.load_id):
                self.rollback()
                return None
            # State first: a conflict fails before any data is written.
            self.commit_state(package)
            stored = self.store_schema(schema)
            self.evolve_tables(schema.data_tables())
            for name in package.manifest.replace_tables:
                self.execute(f"DELETE FROM {self.table_ref(name)}")
            write_data(self, package, schema)  # appends, or merges through staging tables
            self.execute(
                f"INSERT INTO {self.table_ref(LOADS_TABLE)} VALUES ({self._markers(5)})",
                [package.load_id, schema.name, 0, _now(), stored.version_hash],
            )
            crash_points.reached("load")
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return stored

    def drop_tables(
        self, schema_name: str, tables: Sequence[str], pipeline_name: str, scopes: Sequence[str]
    ) -> Schema | None:
        self.begin()
        try:
            self.lock_for_schema_change()
            stored = self.stored_schema(schema_name)
            for table in reversed(tables):  # children before their parents
                self.execute(f"DROP TABLE IF EXISTS {self.table_ref(table)}")
            if stored is not None:
                stored = stored.without_tables(tables)
                self._insert_schema(stored)
            if scopes and self.table_exists(STATE_TABLE):
                self.execute(
                    f"DELETE FROM {self.table_ref(STATE_TABLE)} WHERE pipeline_name = "
                    f"{self.placeholder} AND scope IN ({self._markers(len(scopes))})",
                    [pipeline_name, *scopes],
                )
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return stored

    def create_dataset(self) -> None:
        """Make the dataset exist (a schema here; e.g. an attached file elsewhere)."""
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {self.dataset}")

    def ensure_dataset(self) -> None:
        self.create_dataset()
        t = self.type_names
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table_ref(LOADS_TABLE)} "
            f"(load_id {t['text']} NOT NULL, "
            f"schema_name {t['text']}, status {t['bigint']}, inserted_at {t['timestamp']}, "
            f"schema_version_hash {t['text']})"
        )
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table_ref(SCHEMAS_TABLE)} (version_hash {t['text']} "
            f"NOT NULL, schema_name {t['text']}, version {t['bigint']}, inserted_at "
            f"{t['timestamp']}, schema {t['text']})"
        )
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table_ref(STATE_TABLE)} (pipeline_name "
            f"{t['text']} NOT NULL, scope {t['text']} NOT NULL, version {t['bigint']} NOT NULL, "
            f"state {t['text']} NOT NULL, load_id {t['text']} NOT NULL, inserted_at "
            f"{t['timestamp']}, PRIMARY KEY (pipeline_name, scope, version))"
        )

    def is_loaded(self, load_id: str) -> bool:
        """Whether that load id was committed; call after `ensure_dataset` (the table exists)."""
        rows = self.execute(
            f"SELECT 1 FROM {self.table_ref(LOADS_TABLE)} WHERE load_id = {self.placeholder}",
            [load_id],
        )
        return bool(rows)

    def store_schema(self, schema: Schema) -> Schema:
        """Store `schema` merged into the newest stored one (another worker may have evolved it
        since); returns the schema as stored. Writes only when something is new."""
        newest = self.stored_schema(schema.name)
        if newest is not None and newest.merged_with(schema) is newest:
            return newest
        self.lock_for_schema_change()
        newest = self.stored_schema(schema.name)  # again: a worker may have stored one meanwhile
        merged = newest.merged_with(schema) if newest is not None else schema
        if merged is not newest:
            self._insert_schema(merged)
        return merged

    def _insert_schema(self, schema: Schema) -> None:
        self.execute(
            f"INSERT INTO {self.table_ref(SCHEMAS_TABLE)} VALUES ({self._markers(5)})",
            [schema.version_hash, schema.name, schema.version, _now(), schema.to_json().decode()],
        )

    def lock_for_schema_change(self) -> None:
        """Keep other workers from storing a schema until this transaction ends (a no-op for
        single-writer databases)."""

    # -- state ------------------------------------------------------------------------------------
    def commit_state(self, package: LoadPackage) -> None:
        """Write the state scopes the package changes, each as its next version; StateConflict if
        another worker committed one of them since the package's data was extracted."""
        pipeline_name = package.manifest.pipeline_name
        # In scope order, so two workers never wait on each other's rows in opposite orders.
        changes = sorted(map(StateChange.from_dict, package.manifest.state_changes), key=_scope)
        for change in changes:
            rows = self.execute(
                f"SELECT version, load_id FROM {self.table_ref(STATE_TABLE)} "
                f"WHERE pipeline_name = {self.placeholder} AND scope = {self.placeholder} "
                "ORDER BY version DESC LIMIT 1",
                [pipeline_name, change.scope],
            )
            current = ScopeState(rows[0][0], {}, rows[0][1]) if rows else None
            if not change.applies_to(current):
                version = current.version if current is not None else 0
                raise state_conflict(change, version, package.load_id)
            try:
                self.execute(
                    f"INSERT INTO {self.table_ref(STATE_TABLE)} VALUES ({self._markers(6)})",
                    [
                        pipeline_name,
                        change.scope,
                        change.version,
                        codec.dumps(change.value, owner=change.scope).decode(),
                        package.load_id,
                        _now(),
                    ],
                )
            except self.unique_violation as exc:  # a concurrent worker inserted it first
                raise state_conflict(change, change.version, package.load_id) from exc
            self.execute(
                f"DELETE FROM {self.table_ref(STATE_TABLE)} WHERE pipeline_name = "
                f"{self.placeholder} AND scope = {self.placeholder} AND version <= "
                f"{self.placeholder}",
                [pipeline_name, change.scope, change.version - STATE_VERSIONS_KEPT],
            )

    def stored_state(self, pipeline_name: str) -> dict[str, ScopeState]:
        if not self.table_exists(STATE_TABLE):
            return {}
        state = self.table_ref(STATE_TABLE)
        rows = self.execute(
            f"SELECT s.scope, s.version, s.state, s.load_id FROM {state} s JOIN (SELECT scope, "
            f"max(version) AS version FROM {state} WHERE pipeline_name = {self.placeholder} "
            "GROUP BY scope) newest ON s.scope = newest.scope AND s.version = newest.version "
            f"WHERE s.pipeline_name = {self.placeholder}",
            [pipeline_name, pipeline_name],
        )
        return {
            scope: ScopeState(version, codec.loads(body), load_id)
            for scope, version, body, load_id in rows
        }

    def stored_schema(self, schema_name: str) -> Schema | None:
        if not self.table_exists(SCHEMAS_TABLE):
            return None
        rows = self.execute(
            f"SELECT schema FROM {self.table_ref(SCHEMAS_TABLE)} "
            f"WHERE schema_name = {self.placeholder} "
            "ORDER BY version DESC, inserted_at DESC LIMIT 1",
            [schema_name],
        )
        return Schema.from_json(rows[0][0]) if rows else None

    # -- DDL --------------------------------------------------------------------------------------
    def evolve_tables(self, tables: Iterable[Table]) -> None:
        """Create missing tables and add missing columns; safe to repeat."""
        gained_root_ids = []
        for table in tables:
            existing = self.existing_columns(table.name)
            if not existing:
                columns = ", ".join(self.column_ddl(c) for c in table.columns.values())
                self.execute(f"CREATE TABLE IF NOT EXISTS {self.table_ref(table.name)} ({columns})")
                continue
            for column in table.columns.values():
                if column.name not in existing:
                    self.execute(
                        f"ALTER TABLE {self.table_ref(table.name)} ADD COLUMN "
                        f"{self.column_ddl(column, for_alter=True)}"
                    )
                    if column.name == ROOT_ID:
                        gained_root_ids.append(table)
        for table in gained_root_ids:  # parents first: the schema lists tables that way
            self._backfill_root_ids(table)

    def _backfill_root_ids(self, table: Table) -> None:
        """Root ids for the rows a child table got before its family turned to `merge`, so the
        next merge replaces them with their root rows instead of leaving them orphaned."""
        parent = table.parent
        assert parent is not None, f"table {table.name} has {ROOT_ID} but no parent"
        if ROOT_ID in self.existing_columns(parent):  # a grandchild: its parent's root
            self.execute(
                f"UPDATE {self.table_ref(table.name)} AS c SET {quote(ROOT_ID)} = "
                f"p.{quote(ROOT_ID)} FROM {self.table_ref(parent)} AS p WHERE "
                f"p.{quote(ROW_ID)} = c.{quote(PARENT_ID)} AND c.{quote(ROOT_ID)} IS NULL"
            )
        else:  # a child of the root: the parent row is the root row
            self.execute(
                f"UPDATE {self.table_ref(table.name)} SET {quote(ROOT_ID)} = {quote(PARENT_ID)} "
                f"WHERE {quote(ROOT_ID)} IS NULL"
            )

    def column_ddl(self, column: Column, *, for_alter: bool = False) -> str:
        ddl = f"{quote(column.name)} {self.type_ddl(column)}"
        # Columns added to a table with rows must allow NULL for those rows.
        if not column.nullable and not for_alter:
            ddl += " NOT NULL"
        return ddl

    def type_ddl(self, column: Column) -> str:
        if column.data_type == "decimal":
            precision, scale = column.decimal_shape
            return f"{self.type_names['decimal']}({precision},{scale})"
        return self.type_names[column.data_type]

    def _markers(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    def table_ref(self, table: str) -> str:
        return f"{self.dataset}.{quote(table)}"

    @abstractmethod
    def existing_columns(self, table: str) -> set[str]:
        """Column names of a table in the dataset (empty if the table does not exist)."""

    def table_exists(self, table: str) -> bool:
        return bool(self.existing_columns(table))


def _scope(change: StateChange) -> str:
    return change.scope


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
