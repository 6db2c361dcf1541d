"""What SQL destinations share: identifier quoting, DDL that evolves tables, system tables,
and the order of work inside the one transaction that loads a package."""

from __future__ import annotations

import datetime
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

from ladle.destinations.base import DestinationClient
from ladle.load.package import LoadPackage, PackageFile
from ladle.schema.schema import Column, Schema, Table

LOADS_TABLE = "_ladle_loads"
SCHEMAS_TABLE = "_ladle_schemas"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class SqlClient(DestinationClient):
    """A client for a destination that speaks SQL and has transactions."""

    type_names: dict[str, str]
    # The driver's parameter marker: "?" for DuckDB, "%s" for psycopg.
    placeholder = "?"

    def __init__(self, dataset_name: str) -> None:
        self.dataset_name = dataset_name
        self.dataset = quote(dataset_name)

    # -- what each SQL destination provides -------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement; returns the rows it produced (empty for DDL and DML)."""

    @abstractmethod
    def insert_file(self, table: Table, file: PackageFile, package: LoadPackage) -> None:
        """Append the rows of one normalized file to `table`."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    # -- the load transaction ---------------------------------------------------------------------
    def load_package(self, package: LoadPackage, schema: Schema) -> bool:
        self.begin()
        try:
            self.ensure_dataset()
            if self.is_loaded(package.load_id):
                self.rollback()
                return False
            self.evolve_tables(schema.data_tables())
            for name in package.manifest.replace_tables:
                self.execute(f"DELETE FROM {self.table_ref(name)}")
            for file in package.manifest.normalized:
                self.insert_file(schema.tables[file.table], file, package)
            self.store_schema(schema)
            self.execute(
                f"INSERT INTO {self.table_ref(LOADS_TABLE)} VALUES ({self._markers(5)})",
                [package.load_id, schema.name, 0, _now(), schema.version_hash],
            )
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return True

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

    def is_loaded(self, load_id: str) -> bool:
        """Whether that load id was committed; call after `ensure_dataset` (the table exists)."""
        rows = self.execute(
            f"SELECT 1 FROM {self.table_ref(LOADS_TABLE)} WHERE load_id = {self.placeholder}",
            [load_id],
        )
        return bool(rows)

    def store_schema(self, schema: Schema) -> None:
        exists = self.execute(
            f"SELECT 1 FROM {self.table_ref(SCHEMAS_TABLE)} WHERE version_hash = {self.placeholder}"
            f" AND schema_name = {self.placeholder}",
            [schema.version_hash, schema.name],
        )
        if not exists:
            self.execute(
                f"INSERT INTO {self.table_ref(SCHEMAS_TABLE)} VALUES ({self._markers(5)})",
                [
                    schema.version_hash,
                    schema.name,
                    schema.version,
                    _now(),
                    schema.to_json().decode(),
                ],
            )

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


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
