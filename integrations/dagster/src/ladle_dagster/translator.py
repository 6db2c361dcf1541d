"""`LadleTranslator`: how a resource (or table) of a ladle source becomes a Dagster AssetSpec.

The translator gets one record per asset, `LadleAssetData` (plain frozen data from the core's plan:
`ladle.orchestration.ResourceSpec`), and returns the asset's `AssetSpec`. Subclass it and
override `get_asset_spec`, starting from `super().get_asset_spec(data)`:

    class MyTranslator(LadleTranslator):
        def get_asset_spec(self, data: LadleAssetData) -> AssetSpec:
            spec = super().get_asset_spec(data)
            return spec.replace_attributes(key=["raw", data.name], owners=["team:crm"])

The default key is `[source name, resource name]` (`[source name, table name]` for an asset per
table); a transformer's asset depends on its parent's, a child table's on its parent table's, so
deps follow the keys your `get_asset_spec` gives the parents.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetKey, AssetSpec

from ladle.orchestration import ResourceSpec


@dataclass(frozen=True)
class LadleAssetData:
    """What the translator knows of one asset. New fields may come: read the ones you need."""

    source_name: str
    resource: ResourceSpec  # the resource that loads the asset's table(s)
    # The destination table of an asset per table; None for an asset per resource.
    table: str | None
    # The asset this one depends on: a transformer's parent resource, a child table's parent.
    parent: LadleAssetData | None
    pipeline_name: str
    destination_name: str  # "duckdb", "postgres", "filesystem", ...
    dataset_name: str
    group_name: str | None = None  # the `group_name` given to `@ladle_assets`

    @property
    def name(self) -> str:
        """The table's name for an asset per table, else the resource's."""
        return self.table if self.table is not None else self.resource.name

    @property
    def qualified_table(self) -> str | None:
        """`dataset.table` of the table the asset stands for (None when a function names it)."""
        table = self.table if self.table is not None else self.resource.table
        return f"{self.dataset_name}.{table}" if table is not None else None


class LadleTranslator:
    """Turns `LadleAssetData` into an `AssetSpec`; subclass it to change keys, groups, owners,
    tags, descriptions, deps (e.g. upstream assets an API source reads) and kinds."""

    def get_asset_spec(self, data: LadleAssetData) -> AssetSpec:
        deps = [self.get_asset_spec(data.parent).key] if data.parent is not None else []
        return AssetSpec(
            key=AssetKey([data.source_name, data.name]),
            deps=deps,
            description=self._description(data),
            group_name=data.group_name,
            kinds={"ladle", data.destination_name},
            metadata=self._metadata(data),
        )

    @staticmethod
    def _description(data: LadleAssetData) -> str:
        resource = data.resource
        if data.table is not None and data.table != resource.table:
            return f"Table {data.table}, loaded by resource {resource.name} of {data.source_name}"
        text = resource.description or f"Resource {resource.name} of source {data.source_name}"
        if resource.parent is not None:
            text += f" (transformer of {resource.parent})"
        return text

    @staticmethod
    def _metadata(data: LadleAssetData) -> dict[str, object]:
        resource = data.resource
        metadata: dict[str, object] = {
            "ladle/resource": resource.name,
            "ladle/write_disposition": resource.write_disposition,
            "ladle/incremental": resource.incremental,
        }
        if resource.primary_key:
            metadata["ladle/primary_key"] = list(resource.primary_key)
        if data.qualified_table is not None:
            metadata["dagster/table_name"] = data.qualified_table
        return metadata


__all__ = ["LadleAssetData", "LadleTranslator"]
