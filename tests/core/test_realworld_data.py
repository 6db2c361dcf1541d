"""Real API responses (GitHub, Stripe, Ethereum, CVE, PokeAPI; `../shared/realworld/json`, not
written by this team) through the normalizer: nothing lost, nothing invented, and the columnar
path and the row path load exactly the same tables.

"Nothing lost" is checked leaf by leaf: every non-null scalar in the source JSON must be stored
exactly once, in a column, a child table's `value` column or inside a json cell, with its value
intact (ISO-8601 strings that became timestamps are compared as UTC instants).
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections import Counter
from typing import Any

import pytest

import ladle
from ladle.normalize import normalizer
from tests.conftest import (
    REALWORLD,
    PipelineFactory,
    count_columnar_batches,
    loaded_snapshot,
    needs_realworld,
    rows,
)

SAMPLES = [
    "cve_2021_44228.json",  # one deeply nested record
    "ethereum_blocks_2.json",  # big ints, hex strings, long lists
    "github_issue_events_dlt.json",
    "github_issues_duckdb_page5.json",
    "github_repo_events_duckdb_page1.json",  # events of many types: sparse, evolving columns
    "pokeapi_berry_1.json",
    "pokeapi_berry_list.json",
    "stripe_fixtures3.json",  # 176 different Stripe objects in one table
    "weird_rows.json",  # SQL injection text, CJK, Devanagari, control characters
]
# Not plain JSON for the columnar path: ints beyond 2^53 (Ethereum), fields whose type changes
# between records (Stripe). Those go row by row; the others must be read as JSON.
ROW_BY_ROW = {"ethereum_blocks_2.json", "stripe_fixtures3.json"}
pytestmark = needs_realworld("json")


def _records(sample: str) -> list[dict[str, Any]]:
    data = json.loads((REALWORLD / "json" / sample).read_text())
    if sample == "stripe_fixtures3.json":
        return list(data["resources"].values())
    return data if isinstance(data, list) else [data]


def _leaves(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, out)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, out)
    elif value is not None:
        out.append(value)
    return out


def _comparable(value: Any) -> tuple[str, Any]:
    """A leaf as stored or as in the source, in one form: exact numbers, UTC instants."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, decimal.Decimal)):
        return ("number", decimal.Decimal(value))
    if isinstance(value, float):
        return ("number", decimal.Decimal(repr(value)))
    if isinstance(value, datetime.datetime):
        return ("instant", value.astimezone(datetime.timezone.utc))
    return ("text", value)


def _as_instant(text: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    utc = datetime.timezone.utc
    return parsed.replace(tzinfo=utc) if parsed.tzinfo is None else parsed.astimezone(utc)


def _stored_leaves(pipeline: ladle.Pipeline) -> list[Any]:
    stored: list[Any] = []
    for name, table in pipeline.schema.tables.items():
        for row in rows(pipeline, f'SELECT * FROM "{name}"'):
            for column, value in row.items():
                if column.startswith("_ladle_") or value is None:
                    continue
                if table.columns[column].data_type == "json":
                    _leaves(json.loads(value) if isinstance(value, str) else value, stored)
                else:
                    stored.append(value)
    return stored


@pytest.mark.parametrize("row_path_only", [False, True], ids=["as-ladle-picks", "row-path"])
@pytest.mark.parametrize("sample", SAMPLES)
def test_every_value_of_a_real_response_is_stored_once_and_intact(
    make_pipeline: PipelineFactory,
    monkeypatch: pytest.MonkeyPatch,
    sample: str,
    row_path_only: bool,
) -> None:
    # As ladle picks, the GitHub events and Stripe samples go row by row too: their fields
    # change type between records, which pyarrow's JSON reader refuses.
    if row_path_only:
        monkeypatch.setattr(normalizer, "json_line", lambda record: None)
    records = _records(sample)
    pipeline = make_pipeline()
    pipeline.run(records, table_name="t")

    assert rows(pipeline, "SELECT count(*) AS n FROM t") == [{"n": len(records)}]
    source = Counter(map(_comparable, _leaves(records, [])))
    stored = Counter(map(_comparable, _stored_leaves(pipeline)))
    # Strings that became timestamps: the same instants, as many times.
    became_times = stored - source
    assert all(kind == "instant" for kind, _ in became_times), became_times
    unmatched = source - stored
    as_instants = Counter(
        ("instant", _as_instant(text)) for (kind, text), n in unmatched.items() for _ in range(n)
    )
    assert all(kind == "text" for kind, _ in unmatched), unmatched
    assert as_instants == became_times


@pytest.mark.parametrize("sample", SAMPLES)
def test_columnar_and_row_paths_load_a_real_response_the_same(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch, sample: str
) -> None:
    records = [{"record_position": n, **record} for n, record in enumerate(_records(sample))]
    taken = count_columnar_batches(monkeypatch)
    columnar = make_pipeline("columnar", workdir="columnar")
    columnar.run(records, table_name="t")
    assert (sum(taken) == len(records)) == (sample not in ROW_BY_ROW)
    monkeypatch.setattr(normalizer, "json_line", lambda record: None)  # the row path only
    row_by_row = make_pipeline("rows", workdir="rows")
    row_by_row.run(records, table_name="t")

    position = "record_position"
    assert loaded_snapshot(columnar, position) == loaded_snapshot(row_by_row, position)
