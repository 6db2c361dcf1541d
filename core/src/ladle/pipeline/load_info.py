"""What a run did: loads, rows per table, schema changes and stage timings, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadInfo:
    """Returned by `pipeline.run()` / `pipeline.load()`. `print(info)` gives a short summary."""

    pipeline_name: str
    destination: str
    dataset_name: str
    load_ids: tuple[str, ...] = ()
    row_counts: dict[str, int] = field(default_factory=dict)
    schema_changes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    schema_version: int | None = None

    @property
    def load_id(self) -> str | None:
        """The last package loaded by this run (None if nothing was loaded)."""
        return self.load_ids[-1] if self.load_ids else None

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def asdict(self) -> dict[str, Any]:
        data = asdict(self)
        data["load_ids"] = list(self.load_ids)
        data["schema_changes"] = list(self.schema_changes)
        return data

    def __str__(self) -> str:
        if not self.load_ids:
            return f"pipeline {self.pipeline_name}: nothing to load"
        seconds = sum(self.timings.values())
        lines = [
            f"pipeline {self.pipeline_name}: {len(self.load_ids)} load(s) into "
            f"{self.destination} dataset {self.dataset_name} in {seconds:.2f}s "
            f"(last load id {self.load_id})",
        ]
        width = max((len(t) for t in self.row_counts), default=0)
        lines += [
            f"  {table:<{width}}  {rows:>10,} rows" for table, rows in self.row_counts.items()
        ]
        if self.schema_changes:
            lines.append("  schema changes:")
            lines += [f"    {change}" for change in self.schema_changes]
        return "\n".join(lines)


def merge_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for table, rows in more.items():
        into[table] = into.get(table, 0) + rows
