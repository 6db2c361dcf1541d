"""Build one table's Arrow batch from flattened rows: type every column, split variants, apply
the schema contract, and evolve the table's schema as data allows."""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import pyarrow as pa

from ladle.arrow_arrays import string_scalar
from ladle.errors import ContractViolation, UnsupportedValue
from ladle.normalize.arrow_items import column_from_arrow, data_type_of_arrow, to_column_type
from ladle.normalize.column_values import (
    BuiltColumn,
    UnknownValueType,
    arrow_type,
    build_column,
    decimal_shape,
    infer_column,
    nan_as_null,
    natural_value,
    value_types,
)
from ladle.normalize.flatten import TableNames
from ladle.schema.contract import SchemaContract
from ladle.schema.data_types import DataType
from ladle.schema.naming import make_unique, shorten
from ladle.schema.schema import (
    LIST_INDEX,
    LOAD_ID,
    PARENT_ID,
    ROOT_ID,
    ROW_HASH,
    ROW_ID,
    Column,
    DedupSort,
    Table,
)

VARIANT_INFIX = "__v_"
EVOLVE = SchemaContract()
SYSTEM_COLUMN_DEFS = {
    ROW_ID: Column(ROW_ID, "text", nullable=False, hints=frozenset({"unique"})),
    PARENT_ID: Column(PARENT_ID, "text", nullable=False),
    LIST_INDEX: Column(LIST_INDEX, "bigint", nullable=False),
    LOAD_ID: Column(LOAD_ID, "text", nullable=False),
}
# System columns the flattener fills in rows (merge tables add root ids and row hashes).
ROW_SYSTEM_COLUMNS = (ROW_ID, PARENT_ID, LIST_INDEX, ROOT_ID, ROW_HASH)


@dataclass(frozen=True)
class ColumnFlags:
    """Hints declared for a column whose type is inferred from data."""

    hints: frozenset[str]
    nullable: bool
    dedup_sort: DedupSort | None = None


@dataclass
class TableBatch:
    """A typed batch for one table, and the `_ladle_id`s of rows a contract dropped."""

    table: str
    data: pa.RecordBatch
    dropped_ids: set[str] = field(default_factory=set)


class TableBuilder:
    """Types the rows of one table, batch after batch, evolving `table` as it goes."""

    def __init__(
        self,
        table: Table,
        *,
        existed: bool,
        names: TableNames,
        contract: SchemaContract | None,
        load_id: str,
        max_identifier_length: int | None,
        column_flags: dict[str, ColumnFlags] | None = None,
    ) -> None:
        self._table = table
        # The working columns; `table` publishes them as a frozen Table (adding a column to a
        # frozen table each time would copy all columns: quadratic for very wide rows).
        self.columns: dict[str, Column] = dict(table.columns)
        self.name = table.name
        self.column_flags = column_flags or {}
        self.existed = existed  # loaded before this package: contracts apply to it
        self.names = names
        self.contract = contract or EVOLVE
        self.load_id = load_id
        self.max_length = max_identifier_length
        self.pending: set[str] = set()  # columns created in this package (may still widen)

    def build(self, rows: list[dict[str, Any]]) -> TableBatch:
        drop_rows: set[int] = set()
        arrays: dict[str, pa.Array] = {}
        # The flattener named every data column it produced, so no scan of row keys is needed.
        system = [name for name in ROW_SYSTEM_COLUMNS if name in self.columns]
        for name in itertools.chain(system, self.names.paths):
            self._build_one(name, _column_values(rows, name), arrays, drop_rows)
        row_ids = arrays.get(ROW_ID)
        return self._assemble(arrays, len(rows), drop_rows, row_ids)

    def build_columns(self, arrays: dict[str, pa.Array], size: int) -> TableBatch:
        """Columns the columnar path typed and checked against this table (a new column takes
        its array's type); system columns the table does not keep are left out."""
        typed: dict[str, pa.Array] = {}
        for name, array in arrays.items():
            if name not in self.columns and name in ROW_SYSTEM_COLUMNS:
                continue  # e.g. root ids, for a table that does not keep them
            if name not in self.columns:
                column = column_from_arrow(name, array.type, self.names)
                assert column is not None
                self._add_column(self._with_flags(column))
            typed[name] = array
        return self._assemble(typed, size, set(), typed.get(ROW_ID))

    def build_arrow(
        self, data: pa.Table, row_ids: pa.Array, row_hashes: pa.Array | None = None
    ) -> TableBatch:
        """Type an Arrow table yielded by a resource (struct columns already flattened)."""
        arrays: dict[str, pa.Array] = {ROW_ID: row_ids}
        if row_hashes is not None:
            arrays[ROW_HASH] = row_hashes
        drop_rows: set[int] = set()
        for field_name, chunked in zip(data.column_names, data.columns, strict=True):
            name = self.names.column_for(tuple(field_name.split(".")))
            column = self.columns.get(name)
            if column is None:
                column = column_from_arrow(name, chunked.type, self.names)
                if column is None:
                    continue
                column = self._with_flags(column)
                if self.existed and not self._allowed(
                    "columns", column, chunked.to_pylist(), drop_rows
                ):
                    continue
                self._add_column(column)
            converted = to_column_type(chunked, column)
            if converted is None:
                self._arrow_variant(column, chunked, arrays, drop_rows)
            else:
                arrays[name] = converted.combine_chunks()
        return self._assemble(arrays, data.num_rows, drop_rows, row_ids)

    def _arrow_variant(
        self,
        column: Column,
        chunked: pa.ChunkedArray,
        arrays: dict[str, pa.Array],
        drop_rows: set[int],
    ) -> None:
        shape = data_type_of_arrow(chunked.type)
        assert shape is not None
        data_type, precision, scale = shape
        name = self._variant_name(column, data_type)
        variant = self.columns.get(name)
        if variant is None:
            variant = Column(
                name, data_type, precision=precision, scale=scale, variant_of=column.name
            )
            if not self._allowed("data_type", variant, chunked.to_pylist(), drop_rows):
                return
            self._add_column(variant)
        converted = to_column_type(chunked, variant)
        if converted is None:  # e.g. an existing variant of another precision: keep exact text
            converted = chunked.cast(pa.string())
            name = self._variant_name(column, "text")
            if name not in self.columns:
                self._add_column(Column(name, "text", variant_of=column.name))
        arrays[name] = converted.combine_chunks()

    # -- one column ------------------------------------------------------------------------------
    def _build_one(
        self, name: str, values: list[Any], arrays: dict[str, pa.Array], drop_rows: set[int]
    ) -> None:
        kinds = value_types(values)
        # Dict rows load as their JSON would (the columnar path reads them as JSON): NaN and
        # infinities as null.
        if any(issubclass(kind, float) for kind in kinds):
            values = nan_as_null(values)
            kinds = value_types(values)
        column = self._column_for(name, values, kinds, drop_rows)
        if column is None:
            return
        try:
            built = build_column(column, values, kinds)
        except UnknownValueType as exc:
            raise self._unsupported(name, exc.value_type.__name__) from exc
        except orjson.JSONEncodeError as exc:
            raise self._unsupported(name, f"unserializable json ({exc})") from exc
        arrays[name] = built.array
        for data_type, bucket in built.variants.items():
            self._build_variant(column, data_type, bucket, arrays, drop_rows)

    def _column_for(
        self, name: str, values: list[Any], kinds: set[type], drop_rows: set[int]
    ) -> Column | None:
        column = self.columns.get(name)
        if column is not None:
            return self._maybe_widen(column, kinds)
        try:
            column = infer_column(name, values, source_path=self.names.path_of(name))
        except UnknownValueType as exc:
            raise self._unsupported(name, exc.value_type.__name__) from exc
        if column is None:
            return None  # only nulls so far: the type is not known yet
        column = self._with_flags(column)
        if self.existed and not self._allowed("columns", column, values, drop_rows):
            return None
        self._add_column(column)
        return column

    def _with_flags(self, column: Column) -> Column:
        """Apply hints declared for a column whose type comes from the data."""
        flags = self.column_flags.get(column.name)
        if flags is None:
            return column
        return replace(
            column,
            hints=column.hints | flags.hints,
            nullable=flags.nullable,
            dedup_sort=flags.dedup_sort,
        )

    def _maybe_widen(self, column: Column, kinds: set[type]) -> Column:
        """A column created in this package and not yet loaded may widen from bigint to double."""
        if column.name not in self.pending or column.data_type != "bigint":
            return column
        if float not in kinds or not kinds <= {int, float}:
            return column
        widened = replace(column, data_type="double")
        self._add_column(widened)
        return widened

    def _build_variant(
        self,
        column: Column,
        data_type: DataType,
        bucket: list[Any],
        arrays: dict[str, pa.Array],
        drop_rows: set[int],
    ) -> None:
        name = self._variant_name(column, data_type)
        values = [None if v is None else natural_value(v, data_type) for v in bucket]
        variant = self.columns.get(name)
        if variant is None:
            precision, scale = decimal_shape(values, data_type)
            variant = Column(
                name, data_type, precision=precision, scale=scale, variant_of=column.name
            )
        built: BuiltColumn = build_column(variant, values)
        if built.variants:
            # A value that fits neither the column nor its natural variant (a decimal NaN, an
            # int beyond 38 digits): keep it as exact text, and make no column that stays empty.
            text_values = [None if v is None else str(v) for v in bucket]
            self._build_variant(column, "text", text_values, arrays, drop_rows)
            return
        if name not in self.columns:
            if not self._allowed("data_type", variant, bucket, drop_rows):
                return
            self._add_column(variant)
        arrays[name] = built.array

    def _variant_name(self, column: Column, data_type: DataType) -> str:
        for existing in self.columns.values():
            if existing.variant_of == column.name and existing.data_type == data_type:
                return existing.name
        wanted = shorten(f"{column.name}{VARIANT_INFIX}{data_type}", self.max_length)
        return make_unique(wanted, self.columns, self.max_length)

    # -- contracts -------------------------------------------------------------------------------
    def _allowed(self, entity: str, column: Column, values: list[Any], drop_rows: set[int]) -> bool:
        """Apply the contract to a new column or variant; False when its values are discarded."""
        mode = getattr(self.contract, entity)
        if mode == "evolve":
            return True
        if mode == "freeze":
            # An Arrow column brings its type even where this batch holds only nulls.
            sample = next((v for v in values if v is not None), None)
            value_type = "null" if sample is None else type(sample).__name__
            what = "new column" if entity == "columns" else "new data type for column"
            base = column.variant_of or column.name
            raise ContractViolation(
                f"table '{self.name}': {what} '{base}' ({column.data_type}, value type "
                f"{value_type}) violates schema_contract {entity}='freeze'",
                table=self.name,
                column=base,
                data_type=column.data_type,
                entity=entity,
            )
        if mode == "discard_row":
            drop_rows.update(i for i, v in enumerate(values) if v is not None)
        return False

    # -- assembling the batch --------------------------------------------------------------------
    def _assemble(
        self, arrays: dict[str, pa.Array], size: int, drop_rows: set[int], row_ids: pa.Array | None
    ) -> TableBatch:
        columns: list[pa.Array] = []
        fields: list[pa.Field] = []
        for column in self.columns.values():
            if column.name == LOAD_ID:
                array = pa.repeat(string_scalar(self.load_id), size)
            else:
                array = arrays.get(column.name)
                if array is None:
                    array = pa.nulls(size, arrow_type(column))
                if not column.nullable and array.null_count:
                    raise self._null_in(column)
            columns.append(array)
            fields.append(pa.field(column.name, arrow_type(column)))
        batch = pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))
        dropped_ids: set[str] = set()
        if drop_rows:
            keep = pa.array([i not in drop_rows for i in range(size)])
            assert row_ids is not None
            dropped_ids = {row_ids[i].as_py() for i in drop_rows}
            batch = batch.filter(keep)
        return TableBatch(self.name, batch, dropped_ids)

    @property
    def table(self) -> Table:
        return replace(self._table, columns=dict(self.columns))

    def _add_column(self, column: Column) -> None:
        self.columns[column.name] = column
        self.pending.add(column.name)

    def _null_in(self, column: Column) -> UnsupportedValue:
        return UnsupportedValue(
            f"table '{self.name}', column '{column.name}': a null (or a value that does not fit "
            f"{column.type_label}) in a column that may not be null (e.g. a primary key)",
            table=self.name,
            column=column.name,
        )

    def _unsupported(self, column: str, what: str) -> UnsupportedValue:
        return UnsupportedValue(
            f"table '{self.name}', column '{column}': cannot store a value of type {what}; "
            "convert it in the resource (e.g. with add_map) to str, int, float, dict or list",
            table=self.name,
            column=column,
        )


def _column_values(rows: list[dict[str, Any]], name: str) -> list[Any]:
    """One column of the rows; `itemgetter` is about twice as fast when every row has it."""
    try:
        return list(map(operator.itemgetter(name), rows))
    except KeyError:
        return [row.get(name) for row in rows]


def new_table(
    name: str,
    *,
    parent: str | None,
    resource: str | None,
    hints: dict[str, Any],
    contract: SchemaContract | None,
) -> Table:
    """A table with its system columns (and, for root tables, the resource's column hints)."""
    system = [ROW_ID, LOAD_ID] if parent is None else [ROW_ID, PARENT_ID, LIST_INDEX, LOAD_ID]
    columns = {key: SYSTEM_COLUMN_DEFS[key] for key in system}
    return Table(
        name=name,
        columns=columns,
        parent=parent,
        resource=resource,
        write_disposition=hints.get("write_disposition", "append"),
        schema_contract=contract if parent is None else None,
    )
