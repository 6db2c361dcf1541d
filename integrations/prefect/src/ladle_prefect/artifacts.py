"""LoadInfo as Prefect artifacts: Markdown per unit, a table of row counts per source run.

    ladle-<pipeline>-<unit>          Markdown, created by the unit's task: where it loaded,
                                     rows per table, schema changes, load ids and timings
    ladle-<pipeline>-row-counts      a table, created by the flow: a row per unit and table

Keys are stable, so the Artifacts page keeps each one's history across runs. The functions
`unit_markdown` and `row_count_table` make the content; the `publish_*` ones create artifacts
in the running task or flow. Artifacts hold what LoadInfo holds: never credentials.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ladle.orchestration import Unit

UnitResults = Mapping[str, Mapping[str, Any] | None]  # unit id -> LoadInfo.asdict(), None: failed


def artifact_key(pipeline_name: str, suffix: str) -> str:
    """`ladle-<pipeline>-<suffix>`: Prefect keys are lowercase letters, digits and dashes."""
    raw = f"ladle-{pipeline_name}-{suffix}".lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


def unit_markdown(unit: Unit, info: Mapping[str, Any]) -> str:
    """The LoadInfo of one unit as Markdown."""
    counts: Mapping[str, int] = info.get("row_counts", {})
    load_ids = list(info.get("load_ids", ()))
    seconds = sum(info.get("timings", {}).values())
    lines = [
        f"### ladle: {unit.source_name} / {unit.id}",
        "",
        f"Pipeline `{info['pipeline_name']}` into {info['destination']} dataset "
        f"`{info['dataset_name']}`: {len(load_ids)} load(s), {sum(counts.values()):,} rows "
        f"in {seconds:.2f} s.",
        "",
        f"Resources: {', '.join(unit.resources)}.",
        "",
    ]
    if counts:
        lines += ["| table | rows |", "| --- | ---: |"]
        lines += [f"| {table} | {rows:,} |" for table, rows in counts.items()]
    else:
        lines.append("Nothing new to load.")
    changes = info.get("schema_changes", ())
    if changes:
        lines += ["", "**Schema changes**", ""]
        lines += [f"- {change}" for change in changes]
    if load_ids:
        lines += ["", f"Load ids: {', '.join(f'`{load_id}`' for load_id in load_ids)}"]
    return "\n".join(lines) + "\n"


def row_count_table(results: UnitResults) -> list[dict[str, Any]]:
    """A row per unit and table it loaded; units that loaded nothing or failed get one row."""
    table: list[dict[str, Any]] = []
    for unit_id, info in results.items():
        if info is None:
            table.append({"unit": unit_id, "table": "", "rows": 0, "state": "failed"})
            continue
        counts: Mapping[str, int] = info.get("row_counts", {})
        if not counts:
            table.append({"unit": unit_id, "table": "", "rows": 0, "state": "nothing new"})
        table += [
            {"unit": unit_id, "table": name, "rows": rows, "state": "loaded"}
            for name, rows in counts.items()
        ]
    return table


def publish_unit(unit: Unit, info: Mapping[str, Any]) -> None:
    """The unit's Markdown artifact, in the running task."""
    from prefect.artifacts import create_markdown_artifact

    create: Any = create_markdown_artifact  # `_sync=True`: created now, in async flows too
    create(
        markdown=unit_markdown(unit, info),
        key=artifact_key(info["pipeline_name"], unit.id),
        description=f"ladle LoadInfo of {unit.source_name}/{unit.id}",
        _sync=True,
    )


def publish_row_counts(pipeline_name: str, source_name: str, results: UnitResults) -> None:
    """The table of row counts of a source run, in the running flow."""
    from prefect.artifacts import create_table_artifact

    create: Any = create_table_artifact  # `_sync=True`: created now, in async flows too
    create(
        table=row_count_table(results),
        key=artifact_key(pipeline_name, "row-counts"),
        description=f"Rows loaded per table by ladle source {source_name}",
        _sync=True,
    )


__all__ = ["artifact_key", "publish_row_counts", "publish_unit", "row_count_table", "unit_markdown"]
