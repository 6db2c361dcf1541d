"""Unnest records: nested dicts become `parent__child` columns, lists become child tables.

A child table `<table>__<field>` gets one row per list element, linked to its parent row by
`_ladle_parent_id` and ordered by `_ladle_list_idx`; scalar elements land in a `value` column.
Under a `merge` root every descendant row also names its root row (`_ladle_root_id`), and scd2
root rows carry a hash of their whole source record (`_ladle_row_hash`).
Containers deeper than `max_table_nesting` are kept whole, as json.

This is the hot loop of the dict path: names are resolved once per key and nesting level and
cached in a tree of `Level` objects, so a record costs one dict lookup per key.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from typing import Any

from ladle.normalize.plain_values import PLAIN_TYPES, plain_value
from ladle.normalize.row_hash import record_hash
from ladle.schema.naming import NEST_SEPARATOR, make_unique, normalize_path, shorten
from ladle.schema.schema import (
    LIST_INDEX,
    PARENT_ID,
    ROOT_ID,
    ROW_HASH,
    ROW_ID,
    VALID_FROM,
    VALID_TO,
    Table,
)

# Python's recursion limit must hold one frame per level; deeper containers are stored as json.
HARD_NESTING_LIMIT = 100
VALUE_COLUMN = "value"
SYSTEM_COLUMNS = frozenset({ROW_ID, PARENT_ID, LIST_INDEX, ROOT_ID, ROW_HASH, VALID_FROM, VALID_TO})


def path_key(key: Any) -> str:
    """A dict key as a path element. Non-string keys are tagged so that `{1: ..}` and
    `{"1": ..}` keep apart: both are named `_1`, and the second one gets a unique suffix."""
    return key if isinstance(key, str) else f"{key}\x00{type(key).__name__}"


class TableNames:
    """Column names of one table: a key path maps to one name, stable across runs and unique."""

    def __init__(self, table: Table | None, max_length: int | None) -> None:
        self.max_length = max_length
        self.by_path: dict[tuple[str, ...], str] = {}
        self.taken: set[str] = set(SYSTEM_COLUMNS)
        if table is not None:
            self.taken.update(table.columns)
            for column in table.columns.values():
                if column.source_path is not None:
                    self.by_path.setdefault(column.source_path, column.name)
        self.paths: dict[str, tuple[str, ...]] = {}

    def column_for(self, path: tuple[str, ...]) -> str:
        name = self.by_path.get(path)
        if name is None:
            name = make_unique(self._wanted(path), self.taken, self.max_length)
            self.by_path[path] = name
            self.taken.add(name)
        self.paths[name] = path
        return name

    def name_without_suffix(self, path: tuple[str, ...]) -> str | None:
        """The name `column_for(path)` gives, without naming it; None if it would need a
        collision suffix (then only naming in row order gives the row path's names)."""
        name = self.by_path.get(path)
        if name is not None:
            return name
        wanted = self._wanted(path)
        return None if wanted in self.taken else wanted

    def _wanted(self, path: tuple[str, ...]) -> str:
        return shorten(normalize_path(path), self.max_length)

    def path_of(self, name: str) -> tuple[str, ...] | None:
        return self.paths.get(name)


class Level:
    """One nesting level of one table: caches key -> column name and nested levels."""

    __slots__ = ("flattener", "json_keys", "lists", "names", "objects", "path", "table")

    def __init__(self, flattener: Flattener, table: str, path: tuple[str, ...]) -> None:
        self.flattener = flattener
        self.table = table
        self.path = path
        self.names: dict[Any, str] = {}
        # Keys whose column is declared json: their dicts and lists are kept whole.
        self.json_keys = flattener.json_keys(table, path)
        self.objects: dict[Any, Level] = {}  # nested dicts: same table, longer path
        self.lists: dict[Any, Level] = {}  # nested lists: a child table

    def name(self, key: Any) -> str:
        name = self.flattener.names_of(self.table).column_for((*self.path, path_key(key)))
        self.names[key] = name
        return name

    def nested_object(self, key: Any) -> Level:
        level = self.objects[key] = Level(self.flattener, self.table, (*self.path, path_key(key)))
        return level

    def nested_list(self, key: Any) -> Level:
        table = self.flattener.child_table(self.table, (*self.path, path_key(key)))
        level = self.lists[key] = Level(self.flattener, table, ())
        return level


class Flattener:
    """Flattens records of one root table into rows per table (parents before children)."""

    def __init__(
        self,
        root_table: str,
        tables: dict[str, Table],
        max_table_nesting: int | None,
        max_identifier_length: int | None,
        *,
        root_ids: bool = False,
        row_hashes: bool = False,
    ) -> None:
        self.root_table = root_table
        self.root_ids = root_ids or row_hashes
        self.row_hashes = row_hashes
        self._root_id: str | None = None  # the root row being flattened, when root_ids
        self.tables = tables
        self.max_depth = min(
            HARD_NESTING_LIMIT,
            HARD_NESTING_LIMIT if max_table_nesting is None else max_table_nesting,
        )
        self.max_length = max_identifier_length
        self.table_names: dict[str, TableNames] = {}
        # New child tables: name -> (parent table, key path in the parent).
        self.new_child_tables: dict[str, str] = {}
        self._child_names: dict[tuple[str, tuple[str, ...]], str] = {}
        self._root: Level | None = None  # made on first use, once hinted columns are known
        prefix = secrets.token_urlsafe(9)
        self._ids = (f"{prefix}{n:x}" for n in itertools.count())

    def names_of(self, table: str) -> TableNames:
        names = self.table_names.get(table)
        if names is None:
            names = TableNames(self.tables.get(table), self.max_length)
            self.table_names[table] = names
        return names

    def json_keys(self, table: str, path: tuple[str, ...]) -> frozenset[str]:
        known = self.tables.get(table)
        if known is None:
            return frozenset()
        return frozenset(
            c.source_path[-1]
            for c in known.columns.values()
            if c.data_type == "json" and c.source_path and c.source_path[:-1] == path
        )

    def child_table(self, parent: str, path: tuple[str, ...]) -> str:
        key = (parent, path)
        name = self._child_names.get(key)
        if name is None:
            wanted = self._child_wanted(parent, path)
            taken = {n for (p, _), n in self._child_names.items() if (p, _) != key}
            name = make_unique(wanted, taken, self.max_length)
            self._child_names[key] = name
            existing = self.tables.get(name)
            if existing is None or existing.parent != parent:
                self.new_child_tables[name] = parent
        return name

    def child_table_without_suffix(self, parent: str, path: tuple[str, ...]) -> str | None:
        """The name `child_table` gives, without naming it; None if it needs a suffix."""
        name = self._child_names.get((parent, path))
        if name is not None:
            return name
        wanted = self._child_wanted(parent, path)
        return None if wanted in self._child_names.values() else wanted

    def _child_wanted(self, parent: str, path: tuple[str, ...]) -> str:
        return shorten(f"{parent}{NEST_SEPARATOR}{normalize_path(path)}", self.max_length)

    def flatten(
        self, records: Iterable[dict[str, Any]], rows: dict[str, list[dict[str, Any]]]
    ) -> None:
        """Append the rows of `records` to `rows` (per table; the root table comes first)."""
        if self._root is None:
            self._root = Level(self, self.root_table, ())
        root_level = self._root
        root_rows = rows.get(self.root_table)
        if root_rows is None:
            root_rows = rows[self.root_table] = []
        if self.root_ids:
            self._flatten_merged(records, root_level, root_rows, rows)
            return
        ids = self._ids
        for record in records:
            row_id = next(ids)
            row: dict[str, Any] = {ROW_ID: row_id}
            self._object(record, root_level, row, row_id, 0, rows)
            root_rows.append(row)

    def _flatten_merged(
        self,
        records: Iterable[dict[str, Any]],
        root_level: Level,
        root_rows: list[dict[str, Any]],
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        """`flatten` for merge tables: their own loop, so other tables pay nothing for it."""
        ids = self._ids
        for record in records:
            row_id = self._root_id = next(ids)
            row: dict[str, Any] = {ROW_ID: row_id}
            if self.row_hashes:
                row[ROW_HASH] = record_hash(record)
            self._object(record, root_level, row, row_id, 0, rows)
            root_rows.append(row)

    def _object(
        self,
        record: dict[Any, Any],
        level: Level,
        row: dict[str, Any],
        row_id: str,
        depth: int,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        # A key is named when it first has a value (None is no value, as a missing key), and an
        # enum member or numpy value is the value it holds: dict rows load as their JSON would
        # (see columnar.py).
        if depth >= self.max_depth:  # too deep: containers stay whole (json)
            _whole(record, level, row)
            return
        names = level.names
        json_keys = level.json_keys
        for key, value in record.items():
            kind = type(value)
            if kind not in PLAIN_TYPES:
                value = plain_value(value)
                kind = type(value)
            if value is None:
                continue
            if json_keys and key in json_keys:
                row[names.get(key) or level.name(key)] = value
            elif kind is dict:
                if value:
                    nested = level.objects.get(key) or level.nested_object(key)
                    self._object(value, nested, row, row_id, depth + 1, rows)
            elif kind is list or kind is tuple:  # a tuple is a list, as in JSON
                if value:
                    nested = level.lists.get(key) or level.nested_list(key)
                    self._list(value, nested, row_id, depth + 1, rows)
            else:
                row[names.get(key) or level.name(key)] = value

    def _list(
        self,
        items: list[Any],
        level: Level,
        parent_id: str,
        depth: int,
        rows: dict[str, list[dict[str, Any]]],
    ) -> None:
        table_rows = rows.get(level.table)
        if table_rows is None:
            table_rows = rows[level.table] = []
        ids = self._ids
        root_id = self._root_id
        for index, item in enumerate(items):
            row_id = next(ids)
            row: dict[str, Any] = {ROW_ID: row_id, PARENT_ID: parent_id, LIST_INDEX: index}
            if root_id is not None:
                row[ROOT_ID] = root_id
            # Append before recursing, so rows keep list order within their table.
            table_rows.append(row)
            if type(item) not in PLAIN_TYPES:
                item = plain_value(item)
            if type(item) is dict:
                self._object(item, level, row, row_id, depth, rows)
            elif item is not None:
                row[level.names.get(VALUE_COLUMN) or level.name(VALUE_COLUMN)] = item


def _whole(record: dict[Any, Any], level: Level, row: dict[str, Any]) -> None:
    """The record's values into `row` as they are (nested containers become json)."""
    names = level.names
    for key, value in record.items():
        if type(value) not in PLAIN_TYPES:
            value = plain_value(value)
        if value is not None:
            row[names.get(key) or level.name(key)] = value
