"""Writing a package's rows into SQL tables: tables that append (or replace) take their files as
they are; the family of a `merge` root table (the root and its child tables) goes through
staging tables first.

Staging tables are temporary (`CREATE TEMP TABLE`): private to the connection, so concurrent
workers never clash in the catalog, and gone with the transaction if it fails. The root's staged
rows carry `_ladle_seq` (the file's place in the package and the row's offset in it: the order
they were yielded). Everything then happens in SQL, inside the package's one transaction; rows
never come back to Python, so a merge streams like an append. Merges into one table wait for
each other (`SqlClient.lock_for_merge`): two at once could both insert a key.

delete-insert (a primary_key, a merge_key, or both)
  1. dedup: of staged rows with one primary key keep one, the first by `dedup_sort` and then the
     latest yielded (`ROW_NUMBER() OVER (PARTITION BY key ORDER BY ...)`);
  2. delete the target rows whose primary key is staged, then those whose merge key is staged
     (a whole partition); descendant rows first, by their `_ladle_root_id`;
  3. drop hard-deleted rows from staging, insert the staged root rows, and the descendant rows
     whose root row is still staged (children of dropped rows never land).

scd2 (each load is a full snapshot; a row version is its `_ladle_row_hash`)
  1. retire active rows (`_ladle_valid_to` NULL) whose version is not in the snapshot (with a
     merge_key: only rows whose key is in it): valid_to = the package's creation time;
  2. drop staged rows whose version is active: unchanged rows and their children stay as they are;
  3. insert the rest (valid_from = the package's creation time), and their descendant rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ladle.arrow_arrays import int64_range
from ladle.destinations.sql_names import quote
from ladle.load.normalized_file import record_batches
from ladle.load.package import LoadPackage, PackageFile
from ladle.schema.schema import (
    ROOT_ID,
    ROW_HASH,
    ROW_ID,
    VALID_FROM,
    VALID_TO,
    Column,
    MergeStrategy,
    Schema,
    Table,
)

if TYPE_CHECKING:
    from ladle.destinations.sql import SqlClient

SEQ = "_ladle_seq"
# `_ladle_seq` = file number * stride + row offset: a normalized file holds far fewer rows.
FILE_STRIDE = 2**40


def write_data(client: SqlClient, package: LoadPackage, schema: Schema) -> None:
    """Write every normalized file of the package (within the caller's transaction)."""
    merged: dict[str, list[tuple[int, PackageFile]]] = {}
    for index, file in enumerate(package.manifest.normalized):
        root = _root_of(schema, file.table)
        if schema.tables[root].write_disposition == "merge":
            merged.setdefault(root, []).append((index, file))
        else:
            client.insert_file(schema.tables[file.table], file, package)
    for root in sorted(merged):  # in name order: merge locks are taken in one order
        _Merge(client, package, MergeTable.of(schema, root), merged[root]).run()


def _root_of(schema: Schema, table: str) -> str:
    parent = schema.tables[table].parent
    while parent is not None:
        table, parent = parent, schema.tables[parent].parent
    return table


@dataclass(frozen=True)
class MergeTable:
    """A merge root table with what its merge needs, read from the schema's column hints."""

    root: Table
    descendants: tuple[Table, ...]
    strategy: MergeStrategy
    primary_key: tuple[str, ...]
    merge_key: tuple[str, ...]
    hard_delete: Column | None
    dedup_sort: Column | None

    @classmethod
    def of(cls, schema: Schema, root: str) -> MergeTable:
        table = schema.tables[root]
        columns = list(table.columns.values())
        return cls(
            root=table,
            descendants=tuple(schema.family(root)[1:]),
            strategy=table.merge_strategy or "delete-insert",
            primary_key=tuple(c.name for c in columns if "primary_key" in c.hints),
            merge_key=tuple(c.name for c in columns if "merge_key" in c.hints),
            hard_delete=next((c for c in columns if "hard_delete" in c.hints), None),
            dedup_sort=next((c for c in columns if c.dedup_sort is not None), None),
        )

    @property
    def join_columns(self) -> tuple[str, ...]:
        """The staged root columns that merging joins on."""
        keys = (ROW_HASH,) if self.strategy == "scd2" else self.primary_key
        return (ROW_ID, SEQ, *keys, *self.merge_key)


class _Merge:
    """One merge of one table family (see the module doc for the steps)."""

    def __init__(
        self,
        client: SqlClient,
        package: LoadPackage,
        table: MergeTable,
        files: list[tuple[int, PackageFile]],
    ) -> None:
        self.client = client
        self.package = package
        self.table = table
        self.files = files
        self.target = client.table_ref(table.root.name)
        self.staged: list[str] = []  # staging table refs, dropped at the end
        self.at = datetime.datetime.fromtimestamp(
            package.manifest.created_at, datetime.timezone.utc
        )

    def run(self) -> None:
        self.client.lock_for_merge(self.table.root.name)
        staging = self._stage(self.table.root, sequenced=True)
        self.client.analyze(staging, self.table.join_columns)
        if self.table.strategy == "scd2":
            self._scd2(staging)
        else:
            self._delete_insert(staging)
        self._insert_descendants(staging)
        for ref in self.staged:
            self.client.execute(f"DROP TABLE {ref}")

    # -- strategies -------------------------------------------------------------------------------
    def _delete_insert(self, staging: str) -> None:
        table = self.table
        if table.primary_key:
            self._dedup(staging, table.primary_key, table.dedup_sort)
            self._delete_replaced(staging, table.primary_key)
        if table.merge_key:
            self._delete_replaced(staging, table.merge_key)
        if table.hard_delete is not None:
            self.client.execute(f"DELETE FROM {staging} WHERE {_deletes(table.hard_delete)}")
        self._insert(self.table.root, staging)

    def _scd2(self, staging: str) -> None:
        self._dedup(staging, (ROW_HASH,), None)  # a record twice in one snapshot is one version
        client, mark = self.client, self.client.placeholder
        retire = (
            f"UPDATE {self.target} AS t SET {quote(VALID_TO)} = {mark} "
            f"WHERE t.{quote(VALID_TO)} IS NULL AND NOT {self._staged_match(staging, (ROW_HASH,))}"
        )
        if self.table.merge_key:  # a natural key: rows of keys not in this load stay active
            retire += f" AND {self._staged_match(staging, self.table.merge_key)}"
        client.execute(retire, [self.at])
        client.execute(
            f"DELETE FROM {staging} AS s WHERE EXISTS (SELECT 1 FROM {self.target} t "
            f"WHERE t.{quote(VALID_TO)} IS NULL AND t.{quote(ROW_HASH)} = s.{quote(ROW_HASH)})"
        )
        self._insert(self.table.root, staging, {VALID_FROM: mark, VALID_TO: "NULL"}, [self.at])

    # -- steps ------------------------------------------------------------------------------------
    def _stage(self, table: Table, *, sequenced: bool = False) -> str:
        """A temporary table with `table`'s columns (all nullable), filled with its files."""
        name = f"_ladle_staging_{len(self.staged)}"
        ref = self.client.temp_ref(name)
        self.client.execute(f"DROP TABLE IF EXISTS {ref}")  # left by a failed load, if any
        columns = [f"{quote(c.name)} {self.client.type_ddl(c)}" for c in table.columns.values()]
        if sequenced:
            columns.append(f"{quote(SEQ)} {self.client.type_names['bigint']}")
        self.client.execute(f"CREATE TEMP TABLE {quote(name)} ({', '.join(columns)})")
        self.staged.append(ref)
        for index, file in self._files_of(table):
            with record_batches(self.package, file) as (schema, batches):
                if sequenced:
                    schema = schema.append(pa.field(SEQ, pa.int64()))
                    batches = _sequenced(batches, index * FILE_STRIDE)
                self.client.insert_arrow(ref, schema, batches)
        return ref

    def _dedup(self, staging: str, key: tuple[str, ...], sort: Column | None) -> None:
        """Keep one staged row per key: the first by `sort`, then the latest yielded."""
        order = [f"{quote(SEQ)} DESC"]
        if sort is not None:
            direction = "DESC" if sort.dedup_sort == "desc" else "ASC"
            order.insert(0, f"{quote(sort.name)} {direction} NULLS LAST")
        self.client.execute(
            f"DELETE FROM {staging} WHERE {quote(SEQ)} IN (SELECT {quote(SEQ)} FROM "
            f"(SELECT {quote(SEQ)}, ROW_NUMBER() OVER (PARTITION BY "
            f"{', '.join(map(quote, key))} ORDER BY {', '.join(order)}) AS _ladle_rank "
            f"FROM {staging}) ranked WHERE _ladle_rank > 1)"
        )

    def _delete_replaced(self, staging: str, key: tuple[str, ...]) -> None:
        """Delete target rows whose `key` is staged, their descendants (every level) first."""
        replaced = self._staged_match(staging, key)
        for table in self.table.descendants:
            if ROOT_ID in table.columns:
                self.client.execute(
                    f"DELETE FROM {self.client.table_ref(table.name)} WHERE {quote(ROOT_ID)} "
                    f"IN (SELECT t.{quote(ROW_ID)} FROM {self.target} t WHERE {replaced})"
                )
        self.client.execute(f"DELETE FROM {self.target} AS t WHERE {replaced}")

    def _insert_descendants(self, staging: str) -> None:
        """Descendant rows of the root rows that were inserted (those left in staging). When
        every root row of the files was, the files go straight in; else they are filtered."""
        loaded = sum(file.rows for _, file in self._files_of(self.table.root))
        inserted = self.client.execute(f"SELECT count(*) FROM {staging}")[0][0]
        for table in self.table.descendants:
            files = [file for _, file in self._files_of(table)]
            if inserted == loaded:
                for file in files:
                    self.client.insert_file(table, file, self.package)
            elif files and inserted:
                rows = self._stage(table)
                kept = f"WHERE {quote(ROOT_ID)} IN (SELECT {quote(ROW_ID)} FROM {staging})"
                self._insert(table, rows, where=kept)

    # -- SQL --------------------------------------------------------------------------------------
    def _staged_match(self, staging: str, key: tuple[str, ...]) -> str:
        """A condition on target rows `t`: a staged row has the same `key`."""
        same = " AND ".join(f"s.{quote(k)} = t.{quote(k)}" for k in key)
        return f"EXISTS (SELECT 1 FROM {staging} s WHERE {same})"

    def _insert(
        self,
        table: Table,
        staging: str,
        values: dict[str, str] | None = None,
        params: list[object] | None = None,
        where: str = "",
    ) -> None:
        """INSERT ... SELECT every column of `table` from staging (`values` replaces some)."""
        names = list(table.columns)
        selected = ", ".join((values or {}).get(n, quote(n)) for n in names)
        self.client.execute(
            f"INSERT INTO {self.client.table_ref(table.name)} ({', '.join(map(quote, names))}) "
            f"SELECT {selected} FROM {staging} {where}",
            params,
        )

    def _files_of(self, table: Table) -> Iterator[tuple[int, PackageFile]]:
        return ((i, f) for i, f in self.files if f.table == table.name)


def _deletes(hard_delete: Column) -> str:
    """Where a staged row is a delete: a bool column where true, others wherever not null."""
    name = quote(hard_delete.name)
    return f"{name} IS TRUE" if hard_delete.data_type == "bool" else f"{name} IS NOT NULL"


def _sequenced(batches: Iterator[pa.RecordBatch], start: int) -> Iterator[pa.RecordBatch]:
    """The batches with `_ladle_seq` appended: `start`, `start + 1`, ... in row order."""
    for batch in batches:
        numbers = int64_range(start, batch.num_rows)
        start += batch.num_rows
        yield batch.append_column(SEQ, numbers)
