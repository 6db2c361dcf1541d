"""The schema: tables with typed columns, hints and parent links, versioned by content hash.

Schemas, tables and columns are frozen; a change makes a new object (`Schema.with_tables`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson

from ladle.schema.contract import SchemaContract
from ladle.schema.data_types import DEFAULT_DECIMAL, DataType

WriteDisposition = Literal["append", "replace", "merge"]
WRITE_DISPOSITIONS: tuple[str, ...] = ("append", "replace", "merge")
# How a `merge` table takes a load: replace rows by key, or keep their history (valid from/to).
MergeStrategy = Literal["delete-insert", "scd2"]
MERGE_STRATEGIES: tuple[str, ...] = ("delete-insert", "scd2")
DedupSort = Literal["asc", "desc"]
COLUMN_HINTS = frozenset(
    {"primary_key", "merge_key", "unique", "partition", "cursor", "hard_delete", "dedup_sort"}
)

LOAD_ID = "_ladle_load_id"
ROW_ID = "_ladle_id"
PARENT_ID = "_ladle_parent_id"
LIST_INDEX = "_ladle_list_idx"
# Merge tables only: every descendant row names its root row, so a replaced root takes all its
# descendants along; scd2 roots carry their validity and a hash of their source record.
ROOT_ID = "_ladle_root_id"
VALID_FROM = "_ladle_valid_from"
VALID_TO = "_ladle_valid_to"
ROW_HASH = "_ladle_row_hash"
SYSTEM_PREFIX = "_ladle_"


@dataclass(frozen=True)
class Column:
    name: str
    data_type: DataType
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    hints: frozenset[str] = frozenset()
    # The key path in the source data (`("address", "city")`); None for system columns.
    source_path: tuple[str, ...] | None = None
    # For a variant column (`price__v_text`): the column whose type the values did not fit.
    variant_of: str | None = None
    # Merge dedup: of rows with one primary key, keep the highest ("desc") or lowest ("asc").
    dedup_sort: DedupSort | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "data_type": self.data_type}
        if not self.nullable:
            out["nullable"] = False
        if self.precision is not None:
            out["precision"] = self.precision
        if self.scale is not None:
            out["scale"] = self.scale
        if self.hints:
            out["hints"] = sorted(self.hints)
        if self.source_path is not None:
            out["source_path"] = list(self.source_path)
        if self.variant_of is not None:
            out["variant_of"] = self.variant_of
        if self.dedup_sort is not None:
            out["dedup_sort"] = self.dedup_sort
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Column:
        path = data.get("source_path")
        return cls(
            name=data["name"],
            data_type=data["data_type"],
            nullable=data.get("nullable", True),
            precision=data.get("precision"),
            scale=data.get("scale"),
            hints=frozenset(data.get("hints", ())),
            source_path=tuple(path) if path is not None else None,
            variant_of=data.get("variant_of"),
            dedup_sort=data.get("dedup_sort"),
        )

    @property
    def decimal_shape(self) -> tuple[int, int]:
        """(precision, scale) of a decimal column; unset parts take the default (38, 9)."""
        precision = DEFAULT_DECIMAL[0] if self.precision is None else self.precision
        scale = DEFAULT_DECIMAL[1] if self.scale is None else self.scale
        return precision, scale

    @property
    def type_label(self) -> str:
        if self.data_type == "decimal":
            return "decimal({},{})".format(*self.decimal_shape)
        return self.data_type


@dataclass(frozen=True)
class Table:
    name: str
    columns: Mapping[str, Column] = field(default_factory=dict)
    parent: str | None = None
    resource: str | None = None
    write_disposition: WriteDisposition = "append"
    schema_contract: SchemaContract | None = None
    merge_strategy: MergeStrategy | None = None  # root tables with `merge` disposition

    def with_columns(self, columns: Iterable[Column]) -> Table:
        merged = dict(self.columns)
        merged.update((column.name, column) for column in columns)
        return replace(self, columns=merged)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "columns": [column.to_dict() for column in self.columns.values()],
            "write_disposition": self.write_disposition,
        }
        if self.parent is not None:
            out["parent"] = self.parent
        if self.resource is not None:
            out["resource"] = self.resource
        if self.schema_contract is not None:
            out["schema_contract"] = self.schema_contract.to_dict()
        if self.merge_strategy is not None:
            out["merge_strategy"] = self.merge_strategy
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Table:
        columns = [Column.from_dict(column) for column in data.get("columns", ())]
        contract = data.get("schema_contract")
        return cls(
            name=data["name"],
            columns={column.name: column for column in columns},
            parent=data.get("parent"),
            resource=data.get("resource"),
            write_disposition=data.get("write_disposition", "append"),
            schema_contract=SchemaContract(**contract) if contract else None,
            merge_strategy=data.get("merge_strategy"),
        )


@dataclass(frozen=True)
class Schema:
    name: str
    tables: Mapping[str, Table] = field(default_factory=dict)
    version: int = 0

    @property
    def version_hash(self) -> str:
        """Content hash of the tables: equal schemas have equal hashes, whatever their version."""
        body = orjson.dumps(
            [t.to_dict() for t in self.tables.values()], option=orjson.OPT_SORT_KEYS
        )
        return hashlib.sha256(body).hexdigest()[:24]

    def with_tables(self, tables: Iterable[Table]) -> Schema:
        """A new schema with these tables added or replaced; bumps the version on any change."""
        merged = dict(self.tables)
        merged.update((table.name, table) for table in tables)
        candidate = replace(self, tables=merged)
        if candidate.version_hash == self.version_hash:
            return self
        return replace(candidate, version=self.version + 1)

    def merged_with(self, ours: Schema) -> Schema:
        """This (stored) schema plus what `ours` adds: what two workers that evolved the schema
        at the same time both need. Tables and columns are unioned; where both have a column,
        ours wins unless the types differ (the destination already holds the stored type).
        A result that differs from this schema gets a version above both."""
        tables = dict(self.tables)
        for table in ours.tables.values():
            stored = tables.get(table.name)
            if stored is None:
                tables[table.name] = table
                continue
            columns = dict(stored.columns)
            for column in table.columns.values():
                existing = columns.get(column.name)
                if existing is None or existing.data_type == column.data_type:
                    columns[column.name] = column
            tables[table.name] = replace(table, columns=columns)
        merged = replace(self, tables=tables)
        if merged.version_hash == self.version_hash:
            return self
        return replace(merged, version=max(self.version + 1, ours.version))

    def without_tables(self, names: Iterable[str]) -> Schema:
        """This schema without the tables `names`, as the next version."""
        gone = set(names)
        kept = {name: table for name, table in self.tables.items() if name not in gone}
        return replace(self, tables=kept, version=self.version + 1)

    def data_tables(self) -> list[Table]:
        return [t for t in self.tables.values() if not t.name.startswith(SYSTEM_PREFIX)]

    def family(self, root: str) -> list[Table]:
        """A root table and all its descendants (child tables of nested lists), parents first."""
        out = [self.tables[root]] if root in self.tables else []
        for table in out:
            out.extend(t for t in self.tables.values() if t.parent == table.name)
        return out

    def changes_since(self, old: Schema) -> list[str]:
        """Human-readable differences: new tables and new columns."""
        changes: list[str] = []
        for table in self.tables.values():
            before = old.tables.get(table.name)
            if before is None:
                changes.append(f"new table {table.name}")
                continue
            changes.extend(
                f"new column {table.name}.{column.name} ({column.type_label})"
                for column in table.columns.values()
                if column.name not in before.columns
            )
        return changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "version_hash": self.version_hash,
            "tables": [table.to_dict() for table in self.tables.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        tables = [Table.from_dict(table) for table in data.get("tables", ())]
        return cls(
            name=data["name"],
            tables={table.name: table for table in tables},
            version=data.get("version", 0),
        )

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, body: bytes | str) -> Schema:
        return cls.from_dict(orjson.loads(body))

    def to_pretty(self) -> str:
        """A readable listing of tables, their columns and types."""
        lines: list[str] = [f"schema {self.name} (version {self.version})"]
        for table in self.data_tables():
            parent = f", child of {table.parent}" if table.parent else ""
            strategy = f" {table.merge_strategy}" if table.merge_strategy else ""
            lines.append(f"  {table.name} [{table.write_disposition}{strategy}{parent}]")
            for column in table.columns.values():
                flags = sorted(column.hints) + ([] if column.nullable else ["not null"])
                extra = f"  ({', '.join(flags)})" if flags else ""
                lines.append(f"    {column.name}: {column.type_label}{extra}")
        return "\n".join(lines)
