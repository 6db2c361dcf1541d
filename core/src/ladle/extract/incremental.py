"""Incremental loading: a cursor column whose stored value says where the next run starts.

    @ladle.resource(primary_key="id", write_disposition="merge")
    def issues(updated_at=ladle.incremental("updated_at", initial_value="2024-01-01T00:00:00Z")):
        yield from api.get("/issues", since=updated_at.last_value)

Before the resource runs, its `Incremental` is bound to the resource's stored state: rows
before the stored cursor are dropped, rows exactly at it are dropped if they were loaded
before (by primary key, else by a hash of the row), and the highest cursor seen becomes the
new stored value when the load commits. An `end_value`, or a window set from outside
(`pipeline.run(..., window=(start, end))`), bounds the run to `start <= cursor < end` and leaves
the stored cursor alone: that is a backfill.

Cursor values compare by meaning, not by spelling: ISO-8601 strings, datetimes (naive ones are
UTC), dates and pendulum objects all compare as instants; numbers as numbers.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ladle.errors import ConfigError, ExtractError
from ladle.normalize.arrow_items import as_arrow
from ladle.normalize.plain_values import PLAIN_TYPES, plain_or_text, plain_value
from ladle.normalize.row_hash import record_hash

RowOrder = Literal["asc", "desc"]
MissingCursor = Literal["raise", "include", "exclude"]
UTC = datetime.timezone.utc
STATE_KEY = "incremental"

_KEEP, _DROP, _STOP = 0, 1, 2
# Rows at the running max cursor value whose keys wait to be made, at most.
_PENDING_KEYS = 256


@dataclass(frozen=True)
class Window:
    """`start <= cursor < end` for every incremental resource of a run (either may be None)."""

    start: Any = None
    end: Any = None

    @classmethod
    def of(cls, window: Window | Sequence[Any] | None) -> Window | None:
        if window is None or isinstance(window, Window):
            return window
        if not isinstance(window, (tuple, list)) or len(window) != 2:
            raise ConfigError("window must be a (start, end) pair", key="window")
        return cls(window[0], window[1])


def comparable(value: Any) -> Any:
    """A cursor value in a form that orders by meaning (instants for anything time-like)."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


class Incremental:
    """A cursor over one column (`"updated_at"`, or a nested path `"meta.updated_at"`); see
    the module doc. Inside the resource, `last_value` (also `start_value`) is where this run
    starts and `end_value` where it stops (None: open).

    `lag` (seconds for time cursors, or a timedelta; units for numbers) re-reads a trailing
    window on every run (pair it with `merge`). `row_order="asc"` stops reading at the first
    row past `end_value`, `"desc"` at the first row before the start. `primary_key=()` turns off
    the deduplication of rows at the stored cursor (default: the resource's primary key, else a
    hash of the row).
    """

    def __init__(
        self,
        cursor_path: str,
        initial_value: Any = None,
        end_value: Any = None,
        row_order: RowOrder | None = None,
        lag: float | datetime.timedelta | None = None,
        on_cursor_value_missing: MissingCursor = "raise",
        primary_key: str | Sequence[str] | None = None,
    ) -> None:
        if not isinstance(cursor_path, str) or not cursor_path.strip("."):
            raise ConfigError("incremental cursor_path must be a column name", key="cursor_path")
        if row_order not in (None, "asc", "desc"):
            raise ConfigError(
                f"incremental {cursor_path!r}: row_order must be 'asc', 'desc' or None",
                key="row_order",
            )
        if on_cursor_value_missing not in ("raise", "include", "exclude"):
            raise ConfigError(
                f"incremental {cursor_path!r}: on_cursor_value_missing must be 'raise', "
                "'include' or 'exclude'",
                key="on_cursor_value_missing",
            )
        if end_value is not None and initial_value is None:
            raise ConfigError(
                f"incremental {cursor_path!r}: end_value needs an initial_value (the window's "
                "start)",
                key="end_value",
            )
        if lag is not None and _lag_amount(lag) < 0:
            raise ConfigError(f"incremental {cursor_path!r}: lag must be >= 0", key="lag")
        self.cursor_path = cursor_path
        self.path = tuple(cursor_path.split("."))
        self.initial_value = initial_value
        self.end_value = end_value
        self.row_order = row_order
        self.lag = lag
        self.on_cursor_value_missing = on_cursor_value_missing
        self.primary_key = primary_key
        # Until bound to a run, the resource starts at the initial value.
        self.start_value = initial_value
        self.resource_name = "?"
        self._start = comparable(initial_value) if initial_value is not None else None
        self._end = comparable(end_value) if end_value is not None else None
        self._boundary: frozenset[str] = frozenset()
        self._key_columns: tuple[str, ...] | None = _keys(primary_key)
        self._moves_cursor = end_value is None
        self._stored: Any = None
        self._max: Any = None
        self._max_raw: Any = None
        self._max_keys: set[str] = set()
        self._max_rows: list[dict[str, Any]] = []  # rows at the max whose keys are not made yet

    @property
    def last_value(self) -> Any:
        return self.start_value

    def __repr__(self) -> str:
        return (
            f"<ladle.incremental {self.cursor_path!r} from {self.start_value!r}"
            f" to {self.end_value!r}>"
        )

    # -- binding to a run -------------------------------------------------------------------------
    def bind(
        self,
        resource_name: str,
        stored: dict[str, Any] | None,
        window: Window | None,
        resource_primary_key: Sequence[str] | None,
    ) -> Incremental:
        """A copy set up for one run of `resource_name` from its stored cursor state."""
        bound = copy.copy(self)
        bound.resource_name = resource_name
        bound._max, bound._max_raw, bound._max_keys, bound._max_rows = None, None, set(), []
        if self.primary_key is None and resource_primary_key:
            bound._key_columns = tuple(resource_primary_key)
        if window is not None:
            bound._set_bounds(window.start, window.end)
            bound._moves_cursor = False
            return bound
        if self.end_value is not None:  # a backfill window of the resource's own
            bound._set_bounds(self.initial_value, self.end_value)
            bound._moves_cursor = False
            return bound
        bound._moves_cursor = True
        bound._stored = stored.get("last_value") if stored else None
        start = bound._stored if bound._stored is not None else self.initial_value
        if self.lag and start is not None:
            start = _lagged(start, self.lag, self.cursor_path)
        elif stored and bound._key_columns != ():
            # Rows at the stored cursor that were loaded before are skipped; with
            # `primary_key=()` every row has the same key, so none could tell new from old.
            bound._boundary = frozenset(stored.get("unique_hashes", ()))
        bound._set_bounds(start, None)
        return bound

    def _set_bounds(self, start: Any, end: Any) -> None:
        self.start_value, self.end_value = start, end
        self._start = comparable(start) if start is not None else None
        self._end = comparable(end) if end is not None else None

    def state_update(self) -> dict[str, Any] | None:
        """The cursor state to store after this run; None if the run must not move it."""
        if not self._moves_cursor or self._max is None:
            return None
        stored = comparable(self._stored) if self._stored is not None else None
        order = self._compare(self._max, stored) if stored is not None else 1
        if order < 0:
            return None  # a lagged re-read saw nothing newer than the stored cursor
        self._key_pending_rows()
        keys = self._max_keys | self._boundary if order == 0 else self._max_keys
        # At the same cursor value, the rows loaded before stay loaded: keep their keys too.
        return {"last_value": self._max_raw, "unique_hashes": sorted(keys)}

    # -- filtering --------------------------------------------------------------------------------
    def filter(self, items: Iterator[Any]) -> Iterator[Any]:
        """Items with rows outside the bounds (or loaded before) removed."""
        try:
            for item in items:
                kept, stop = self._filter_item(item)
                if kept is not None:
                    yield kept
                if stop:
                    return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _filter_item(self, item: Any) -> tuple[Any, bool]:
        if isinstance(item, dict):
            verdict = self._judge(item)
            return (item if verdict == _KEEP else None), verdict == _STOP
        if isinstance(item, list):
            kept = []
            stop = False
            for record in item:
                verdict = self._judge(record) if isinstance(record, dict) else _KEEP
                if verdict == _KEEP:
                    kept.append(record)
                stop = stop or verdict == _STOP
            return kept, stop
        table = as_arrow(item)
        if table is not None:
            return self._filter_arrow(table)
        return item, False

    def _judge(self, record: dict[str, Any]) -> int:
        raw = _lookup(record, self.path)
        if type(raw) not in PLAIN_TYPES:
            raw = plain_value(raw)  # a numpy value or enum member: what it holds (state is JSON)
        if raw is None:
            return self._missing()
        value = comparable(raw)
        if self._start is not None:
            order = self._compare(value, self._start)
            if order < 0:
                return _STOP if self.row_order == "desc" else _DROP
            if order == 0 and self._boundary and self._row_key(record) in self._boundary:
                return _DROP
        if self._end is not None and self._compare(value, self._end) >= 0:
            return _STOP if self.row_order == "asc" else _DROP
        self._track(value, raw, record)
        return _KEEP

    def _track(self, value: Any, raw: Any, record: dict[str, Any]) -> None:
        if not self._moves_cursor:
            return
        order = 1 if self._max is None else self._compare(value, self._max)
        # A row's key (a hash of the whole row, without a primary key) is made only once no
        # later row has moved the max past it: on a rising cursor, almost never.
        if order > 0:
            self._max, self._max_raw, self._max_keys = value, raw, set()
            self._max_rows = [dict(record)]  # a copy: a generator may reuse its dict
        elif order == 0:
            self._max_rows.append(dict(record))
            if len(self._max_rows) >= _PENDING_KEYS:  # many rows at one value: bound memory
                self._key_pending_rows()

    def _key_pending_rows(self) -> None:
        self._max_keys.update(map(self._row_key, self._max_rows))
        self._max_rows = []

    def _missing(self) -> int:
        if self.on_cursor_value_missing == "include":
            return _KEEP
        if self.on_cursor_value_missing == "exclude":
            return _DROP
        raise ExtractError(
            f"resource '{self.resource_name}': a row has no value for the incremental cursor "
            f"{self.cursor_path!r}; set on_cursor_value_missing='include' or 'exclude' to "
            "load or skip such rows",
            resource=self.resource_name,
            cursor_path=self.cursor_path,
        )

    def _compare(self, left: Any, right: Any) -> int:
        try:
            order: int = (left > right) - (left < right)
            return order
        except TypeError as exc:
            raise ExtractError(
                f"resource '{self.resource_name}': cursor {self.cursor_path!r} values of types "
                f"{type(left).__name__} and {type(right).__name__} cannot be compared; give "
                "initial_value (and window bounds) in the cursor column's type",
                resource=self.resource_name,
                cursor_path=self.cursor_path,
            ) from exc

    def _row_key(self, record: dict[str, Any]) -> str:
        """The row's identity at a boundary: its primary key, else a hash of the whole row."""
        if self._key_columns is None:
            return record_hash(record)
        keys = [record.get(k) for k in self._key_columns]
        body = orjson.dumps(keys, default=plain_or_text)
        return hashlib.blake2b(body, digest_size=10).hexdigest()

    # -- Arrow tables: the same rules, column at a time ------------------------------------------
    def _filter_arrow(self, table: pa.Table) -> tuple[pa.Table | None, bool]:
        if table.num_rows == 0:
            return table, False
        raw_column = _arrow_cursor(table, self.path)
        values = _comparable_array(raw_column) if raw_column is not None else None
        keep = self._arrow_keep_mask(table, values)
        stop = self._arrow_stop(values)
        kept = table.filter(keep)
        if values is not None and self._moves_cursor and kept.num_rows:
            self._track_arrow(kept, values.filter(keep), raw_column.filter(keep))  # type: ignore[union-attr]
        return (kept if kept.num_rows else None), stop

    def _arrow_keep_mask(self, table: pa.Table, values: pa.Array | None) -> pa.Array:
        if values is None:  # the cursor column is missing altogether
            return pa.array([self._missing() == _KEEP] * table.num_rows)
        mask = pa.array([True] * table.num_rows)
        if self._start is not None:
            start = self._scalar(values, self._start)
            mask = pc.and_(mask, pc.greater_equal(values, start))
            if self._boundary:
                mask = pc.and_(mask, self._arrow_not_loaded_before(table, values, start))
        if self._end is not None:
            mask = pc.and_(mask, pc.less(values, self._scalar(values, self._end)))
        if values.null_count:
            mask = pc.if_else(pc.is_valid(values), mask, self._missing() == _KEEP)
        return pc.fill_null(mask, False)

    def _arrow_not_loaded_before(
        self, table: pa.Table, values: pa.Array, start: pa.Scalar
    ) -> pa.Array:
        at_start = pc.fill_null(pc.equal(values, start), False)
        drop = [False] * table.num_rows
        indices = pc.indices_nonzero(at_start).to_pylist()
        for index, row in zip(indices, table.take(indices).to_pylist(), strict=True):
            drop[index] = self._row_key(row) in self._boundary
        return pc.invert(pa.array(drop))

    def _arrow_stop(self, values: pa.Array | None) -> bool:
        if values is None or self.row_order is None:
            return False
        if self.row_order == "asc" and self._end is not None:
            beyond = pc.greater_equal(values, self._scalar(values, self._end))
        elif self.row_order == "desc" and self._start is not None:
            beyond = pc.less(values, self._scalar(values, self._start))
        else:
            return False
        return bool(pc.any(beyond).as_py())

    def _track_arrow(self, table: pa.Table, values: pa.Array, raw: pa.Array) -> None:
        top = pc.max(values)
        if not top.is_valid:
            return
        at_top = pc.fill_null(pc.equal(values, top), False)
        indices = pc.indices_nonzero(at_top).to_pylist()
        raw_top = raw.take([indices[0]])[0].as_py()
        for row in table.take(indices).to_pylist():
            self._track(comparable(raw_top), raw_top, row)

    def _scalar(self, values: pa.Array, bound: Any) -> pa.Scalar:
        if isinstance(bound, datetime.datetime) and not pa.types.is_timestamp(values.type):
            raise ExtractError(
                f"resource '{self.resource_name}': cursor {self.cursor_path!r} holds "
                f"{values.type} values that are not ISO-8601 times, but the bound {bound!r} is a "
                "time",
                resource=self.resource_name,
                cursor_path=self.cursor_path,
            )
        try:
            if pa.types.is_timestamp(values.type) and isinstance(bound, datetime.datetime):
                return pa.scalar(bound.astimezone(UTC), pa.timestamp("us", tz="UTC")).cast(
                    values.type
                )
            return pa.scalar(bound).cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise ExtractError(
                f"resource '{self.resource_name}': cursor {self.cursor_path!r} is a column of "
                f"{values.type}, which cannot be compared with {bound!r}",
                resource=self.resource_name,
                cursor_path=self.cursor_path,
            ) from exc


# `ladle.incremental(...)` reads as a declaration in a resource's signature.
incremental = Incremental


def _keys(primary_key: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if primary_key is None:
        return None
    return (primary_key,) if isinstance(primary_key, str) else tuple(primary_key)


def _lookup(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _lag_amount(lag: float | datetime.timedelta) -> float:
    return lag.total_seconds() if isinstance(lag, datetime.timedelta) else float(lag)


def _lagged(start: Any, lag: float | datetime.timedelta, cursor_path: str) -> Any:
    """The start moved back by `lag`, in the start value's own form."""
    value = comparable(start)
    if isinstance(value, datetime.datetime):
        moved = value - datetime.timedelta(seconds=_lag_amount(lag))
        return moved.isoformat().replace("+00:00", "Z") if isinstance(start, str) else moved
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value - (_lag_amount(lag) if isinstance(value, float) else int(_lag_amount(lag)))
    raise ConfigError(
        f"incremental {cursor_path!r}: lag needs a time or number cursor, not {start!r}",
        key="lag",
    )


def _arrow_cursor(table: pa.Table, path: tuple[str, ...]) -> pa.Array | None:
    if path[0] not in table.column_names:
        return None
    column: pa.Array = table.column(path[0]).combine_chunks()
    for key in path[1:]:
        if not pa.types.is_struct(column.type) or column.type.get_field_index(key) < 0:
            return None
        column = pc.struct_field(column, key)
    return column


def _comparable_array(column: pa.Array) -> pa.Array:
    """Time-like cursor columns as UTC timestamps (ISO strings included); others unchanged."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        return pc.assume_timezone(column, "UTC") if kind.tz is None else column
    if pa.types.is_date(kind):
        return pc.assume_timezone(pc.cast(column, pa.timestamp("us")), "UTC")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        for target in (pa.timestamp("us", tz="UTC"), pa.timestamp("us")):
            try:
                parsed = pc.cast(column, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            return parsed if target.tz else pc.assume_timezone(parsed, "UTC")
    return column
