"""The assets of a ladle source: one per resource, or one per destination table.

Built from the core's plan (`ladle.orchestration.plan`): no resource function runs. An asset per
table needs the child tables of nested lists before any run; they come from `child_tables` and
from the schemas the pipeline's working directory already holds (a code location that reloads
after a run finds them there).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dagster import AssetKey, AssetSpec

import ladle
from ladle.orchestration import Plan, ResourceSpec, unit_pipeline
from ladle.schema import Table
from ladle.schema.naming import normalize_identifier
from ladle_dagster.translator import LadleAssetData, LadleTranslator

AssetPer = Literal["resource", "table"]
ASSET_PER = ("resource", "table")


@dataclass(frozen=True)
class LadleAsset:
    """One asset and what it stands for: a resource, or one table a resource writes."""

    key: AssetKey
    resource: str
    table: str | None  # None: every table of the resource (an asset per resource)


def build_specs(
    work: Plan,
    pipeline: ladle.Pipeline,
    translator: LadleTranslator,
    *,
    asset_per: AssetPer = "resource",
    child_tables: Mapping[str, Sequence[str]] | None = None,
    group_name: str | None = None,
) -> tuple[list[AssetSpec], list[LadleAsset]]:
    """The AssetSpecs of the plan's selected resources (parents first), and what each stands for."""
    if asset_per not in ASSET_PER:
        raise ladle.ConfigError(
            f"asset_per must be one of {', '.join(ASSET_PER)}, not {asset_per!r}", key="asset_per"
        )
    if child_tables is not None and asset_per != "table":
        raise ladle.ConfigError(
            "child_tables names assets of child tables: pass asset_per='table' with it",
            key="child_tables",
        )
    selected = {name for unit in work.units for name in unit.resources}
    resources = [spec for spec in work.resources if spec.name in selected]
    children = _child_tables(work, pipeline, resources, child_tables or {})

    def data(
        resource: ResourceSpec, table: str | None, parent: LadleAssetData | None
    ) -> LadleAssetData:
        return LadleAssetData(
            source_name=work.source_name,
            resource=resource,
            table=table,
            parent=parent,
            pipeline_name=pipeline.pipeline_name,
            destination_name=pipeline.destination.name,
            dataset_name=pipeline.dataset_name,
            group_name=group_name,
        )

    made: dict[str, LadleAssetData] = {}  # resource name -> the data of its (root table's) asset
    found: list[tuple[LadleAssetData, LadleAsset]] = []
    for resource in _parents_first(resources):
        parent = made.get(resource.parent) if resource.parent is not None else None
        table = resource.table if asset_per == "table" else None
        root = data(resource, table, parent)
        made[resource.name] = root
        found.append((root, LadleAsset(_key(translator, root), resource.name, table)))
        if table is None:
            continue
        above = {table: root}
        for child, child_parent in children.get(table, ()):
            child_data = data(resource, child, above.get(child_parent, root))
            above[child] = child_data
            found.append(
                (child_data, LadleAsset(_key(translator, child_data), resource.name, child))
            )
    specs = [translator.get_asset_spec(item) for item, _ in found]
    _check_unique([asset.key for _, asset in found])
    return specs, [asset for _, asset in found]


def _key(translator: LadleTranslator, data: LadleAssetData) -> AssetKey:
    return translator.get_asset_spec(data).key


def _parents_first(resources: list[ResourceSpec]) -> list[ResourceSpec]:
    names = {spec.name for spec in resources}
    done: set[str] = set()
    ordered: list[ResourceSpec] = []
    left = list(resources)
    while left:
        ready = [s for s in left if s.parent is None or s.parent not in names or s.parent in done]
        ordered += ready
        done.update(s.name for s in ready)
        left = [s for s in left if s.name not in done]
    return ordered


def _child_tables(
    work: Plan,
    pipeline: ladle.Pipeline,
    resources: list[ResourceSpec],
    declared: Mapping[str, Sequence[str]],
) -> dict[str, list[tuple[str, str]]]:
    """Root table -> [(child table, its parent table)], parents before their children."""
    roots = {spec.table for spec in resources if spec.table is not None}
    unknown = sorted(set(declared) - roots)
    if unknown:
        raise ladle.ConfigError(
            f"child_tables names root tables {unknown} that no selected resource of source "
            f"'{work.source_name}' writes; they are {sorted(roots)}",
            key="child_tables",
        )
    found: dict[str, list[tuple[str, str]]] = {root: [] for root in roots}
    for root, tables in declared.items():
        for name in tables:  # destination names, as the schema has them
            if not name.startswith(f"{root}__"):
                raise ladle.ConfigError(
                    f"child table {name!r} of {root!r} must be named {root}__<field>",
                    key="child_tables",
                )
            # `users__tags__notes` is a child of `users__tags` when that is declared too.
            parent = name.rpartition("__")[0]
            above = {root, *(child for child, _ in found[root])}
            found[root].append((name, parent if parent in above else root))
    for root, child in _learned_children(work, pipeline):
        if root in found and child.name not in dict(found[root]) and child.parent is not None:
            found[root].append((child.name, child.parent))
    return found


def _learned_children(work: Plan, pipeline: ladle.Pipeline) -> Iterator[tuple[str, Table]]:
    """(root table, child table) from the schemas earlier runs left in the units' folders."""
    schema_name = normalize_identifier(work.source_name)
    for unit in work.units:
        worker = unit_pipeline(pipeline, unit)  # where `run_unit` keeps the unit's schema
        if schema_name not in worker.schema_names():
            continue
        schema = worker.schema_named(schema_name)
        for root in unit.tables:
            for child in schema.family(root)[1:]:
                yield root, child


def _check_unique(keys: list[AssetKey]) -> None:
    repeated = sorted({key.to_user_string() for key in keys if keys.count(key) > 1})
    if repeated:
        raise ladle.ConfigError(
            f"the translator gives several assets the keys {repeated}: keys must be unique",
            key="translator",
        )


__all__ = ["ASSET_PER", "AssetPer", "LadleAsset", "build_specs"]
