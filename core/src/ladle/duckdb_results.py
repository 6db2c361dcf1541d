"""DuckDB results as Arrow, across DuckDB versions (2.0 renamed `arrow()` to `to_arrow_table()`)."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def arrow_result(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()
