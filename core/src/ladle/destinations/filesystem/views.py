"""Reading back through DuckDB: one view per table over exactly the committed Parquet files,
and the system tables (`_ladle_loads`, `_ladle_schemas`) as Arrow tables built from markers."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb as duckdb_lib
import pyarrow as pa

from ladle.destinations.duckdb import DUCKDB_TYPES, quote_literal
from ladle.destinations.filesystem.markers import LoadMarker, visible_files
from ladle.destinations.sql import quote
from ladle.schema.schema import Column, Schema

_LOADS_SCHEMA = pa.schema(
    [
        ("load_id", pa.string()),
        ("schema_name", pa.string()),
        ("status", pa.int64()),
        ("inserted_at", pa.timestamp("us", tz="UTC")),
        ("schema_version_hash", pa.string()),
    ]
)
_SCHEMAS_SCHEMA = pa.schema(
    [
        ("version_hash", pa.string()),
        ("schema_name", pa.string()),
        ("version", pa.int64()),
        ("inserted_at", pa.timestamp("us", tz="UTC")),
        ("schema", pa.string()),
    ]
)

# The types DuckDB reads the Parquet files back as: json is stored as text.
_PARQUET_DUCKDB_TYPES = {**DUCKDB_TYPES, "json": "VARCHAR"}


def create_views(
    connection: duckdb_lib.DuckDBPyConnection,
    dataset_path: Path,
    markers: list[LoadMarker],
    schemas: Iterable[Schema],
) -> None:
    """One view per table over its visible files, with every column of the stored schemas."""
    files = visible_files(markers)
    visible = {table: set(paths) for table, paths in files.items()}
    columns = _table_columns(schemas)
    # Columns of the visible files, from the markers (no Parquet footer needs reading).
    file_columns: dict[str, dict[str, None]] = {}
    for marker in markers:
        for table, written in marker.tables.items():
            if written.files and written.files[0] in visible.get(table, ()):
                file_columns.setdefault(table, {}).update(dict.fromkeys(written.columns))
    for table in dict.fromkeys([*columns, *files]):
        sql = _view_sql(
            columns.get(table, {}),
            list(file_columns.get(table, {})),
            [str(dataset_path / relative) for relative in files.get(table, [])],
        )
        if sql:
            connection.execute(f"CREATE VIEW {quote(table)} AS {sql}")


def loads_table(markers: list[LoadMarker]) -> pa.Table:
    """`_ladle_loads`: one row per committed load."""
    rows = [
        {
            "load_id": m.load_id,
            "schema_name": m.schema_name,
            "status": 0,
            "inserted_at": datetime.datetime.fromisoformat(m.inserted_at),
            "schema_version_hash": m.schema_version_hash,
        }
        for m in markers
    ]
    return pa.Table.from_pylist(rows, schema=_LOADS_SCHEMA)


def schemas_table(markers: list[LoadMarker], read_schema: Callable[[str], Schema]) -> pa.Table:
    """`_ladle_schemas`: one row per stored schema file the markers name."""
    rows: dict[str, dict[str, Any]] = {}
    for marker in markers:
        if marker.schema_file in rows:
            continue
        schema = read_schema(marker.schema_file)
        rows[marker.schema_file] = {
            "version_hash": schema.version_hash,
            "schema_name": schema.name,
            "version": schema.version,
            "inserted_at": datetime.datetime.fromisoformat(marker.inserted_at),
            "schema": schema.to_json().decode(),
        }
    return pa.Table.from_pylist(list(rows.values()), schema=_SCHEMAS_SCHEMA)


def _table_columns(schemas: Iterable[Schema]) -> dict[str, dict[str, Column]]:
    """Columns per data table over all stored schemas of the dataset (first schema wins)."""
    tables: dict[str, dict[str, Column]] = {}
    for schema in sorted(schemas, key=lambda s: s.name):
        for table in schema.data_tables():
            merged = tables.setdefault(table.name, {})
            for column in table.columns.values():
                merged.setdefault(column.name, column)
    return tables


def _view_sql(columns: dict[str, Column], in_files: list[str], paths: list[str]) -> str | None:
    """A SELECT with every schema column (NULL where no file has it) over the given files."""
    present = set(in_files)
    select = [
        quote(name) if name in present else f"CAST(NULL AS {_duckdb_type(column)}) AS {quote(name)}"
        for name, column in columns.items()
    ]
    select.extend(quote(name) for name in in_files if name not in columns)
    if not select:
        return None
    if not paths:
        return f"SELECT {', '.join(select)} WHERE false"
    listed = ", ".join(quote_literal(path) for path in paths)
    return (
        f"SELECT {', '.join(select)} FROM read_parquet([{listed}], "
        "union_by_name = true, hive_partitioning = false)"
    )


def _duckdb_type(column: Column) -> str:
    """The DuckDB type DuckDB reads the column's Parquet type as."""
    if column.data_type == "decimal":
        precision, scale = column.decimal_shape
        return f"DECIMAL({precision},{scale})"
    return _PARQUET_DUCKDB_TYPES[column.data_type]
