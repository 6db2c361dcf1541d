"""`LadleResource`: the Dagster resource that materializes `@ladle_assets`, unit by unit.

Each unit of the core's plan (`ladle.orchestration.run_unit`) syncs state and schema from the
destination, loads in one transaction and reports a `LoadInfo`; the resource turns that into a
`MaterializeResult` per selected asset. A unit that fails does not stop the others: their
assets materialize, and the step fails afterwards naming the failed units.

Credentials stay out of code: by default the pipeline's destination reads them from the
environment or `.ladle/secrets.toml`; `LadleResource(credentials=EnvVar("WAREHOUSE_DSN"))` takes
them from an environment variable Dagster resolves when the run starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, ConfigurableResource, Failure, MaterializeResult
from pydantic import Field

import ladle
from ladle.destinations.base import Destination
from ladle.orchestration import Plan, Unit, plan, retry_can_help, run_unit, unit_pipeline
from ladle.schema.naming import normalize_identifier
from ladle_dagster.asset_specs import LadleAsset
from ladle_dagster.decorator import LadleAssets, current_assets
from ladle_dagster.metadata import materialization_metadata, resource_tables
from ladle_dagster.partitions import partition_source, partition_window

DESTINATIONS = ("duckdb", "postgres", "filesystem")


class LadleResource(ConfigurableResource):  # type: ignore[type-arg]
    """Runs the ladle assets of the step; configure where they load (not what they load).

    >>> defs = Definitions(assets=[crm_assets], resources={"ladle": LadleResource()})
    """

    destination: str | None = Field(
        default=None,
        description="duckdb, postgres or filesystem: replaces the pipeline's destination",
    )
    credentials: str | None = Field(
        default=None,
        description="the destination's connection string, file or folder; pass EnvVar(...)",
    )
    pipelines_dir: str | None = Field(
        default=None,
        description="the working directory of the run (default: the pipeline's)",
    )

    def run(
        self, context: AssetExecutionContext, *, source: ladle.Source | None = None
    ) -> Iterator[MaterializeResult[Any]]:
        """Load the resources behind the selected assets; yield a MaterializeResult per asset.

        `source` replaces the decorator's source for this run (same name and resources).
        """
        bound = current_assets()
        selected = [a for a in bound.assets if a.key in context.selected_asset_keys]
        resources = list(dict.fromkeys(a.resource for a in selected))
        made = source if source is not None else bound.source
        made = partition_source(context, made, bound.partitions_def, bound.partition_param)
        window = partition_window(context, bound.partitions_def)
        if window is not None:
            context.log.info(f"window from the partition: {window[0]} <= cursor < {window[1]}")
        _log_unselected(context, bound, selected)
        units = _units(bound.plan, made, resources)
        pipeline = self._pipeline(bound.pipeline)
        destination = self._destination(bound.pipeline)
        failed: list[tuple[Unit, Exception]] = []
        for unit in units:
            try:
                info = run_unit(pipeline, made, unit, window, destination=destination)
            except Exception as error:  # a resource's own errors too: the other units go on
                context.log.error(f"unit {unit.id} failed: {type(error).__name__}: {error}")
                failed.append((unit, error))
                continue
            context.log.info(str(info))
            context.log.debug(json.dumps(info.asdict()))
            worker = unit_pipeline(pipeline, unit, destination)
            schema = worker.schema_named(normalize_identifier(made.name))
            yield from self._results(context, bound, unit, selected, info, schema)
        if failed:
            raise _failure(failed)

    def _results(
        self,
        context: AssetExecutionContext,
        bound: LadleAssets,
        unit: Unit,
        selected: list[LadleAsset],
        info: ladle.LoadInfo,
        schema: ladle.Schema,
    ) -> Iterator[MaterializeResult[Any]]:
        for resource in unit.resources:
            with_asset = {a.table for a in bound.assets if a.resource == resource}
            loaded = resource_tables(schema, resource)
            unclaimed = [] if None in with_asset else [t for t in loaded if t not in with_asset]
            if unclaimed:
                context.log.warning(
                    f"resource {resource} loaded tables that have no asset: {unclaimed}; declare "
                    "them with child_tables=... (or reload the code location)"
                )
            root = bound.plan.resource(resource).table
            for asset in (a for a in selected if a.resource == resource):
                metadata = materialization_metadata(
                    asset,
                    info,
                    schema,
                    root_table=root,
                    unclaimed=unclaimed if asset.table == root else (),
                )
                yield MaterializeResult(asset_key=asset.key, metadata=metadata)

    def _pipeline(self, pipeline: ladle.Pipeline) -> ladle.Pipeline:
        if self.pipelines_dir is None:
            return pipeline
        return ladle.pipeline(
            pipeline.pipeline_name,
            destination=pipeline.destination,
            dataset_name=pipeline.dataset_name,
            pipelines_dir=self.pipelines_dir,
            progress=pipeline.progress_mode,
        )

    def _destination(self, pipeline: ladle.Pipeline) -> Destination | None:
        if self.destination is None and self.credentials is None:
            return None
        kind = self.destination or pipeline.destination.name
        if kind not in DESTINATIONS:
            raise ladle.ConfigError(
                f"LadleResource destination must be one of {', '.join(DESTINATIONS)}, not {kind!r}",
                key="destination",
            )
        if self.credentials is None:
            return ladle.destinations.resolve(kind)
        if kind == "postgres":
            return ladle.destinations.postgres(self.credentials)
        if kind == "duckdb":
            return ladle.destinations.duckdb(self.credentials)
        return ladle.destinations.filesystem(self.credentials)


def _units(work: Plan, source: ladle.Source, resources: list[str]) -> list[Unit]:
    """The units that load `resources`: the plan's own where it is selected whole (in its order,
    honouring `depends_on`), a plan of the rest (a transformer without its parent, say)."""
    wanted = set(resources)
    whole = [unit for unit in work.ordered() if set(unit.resources) <= wanted]
    rest = [name for name in resources if not any(name in unit.resources for unit in whole)]
    return whole + list(plan(source.with_resources(*rest)).ordered()) if rest else whole


def _log_unselected(
    context: AssetExecutionContext, bound: LadleAssets, selected: list[LadleAsset]
) -> None:
    """A resource loads all its tables: say so when some of their assets are not selected."""
    resources = {a.resource for a in selected}
    along = [
        a.key.to_user_string()
        for a in bound.assets
        if a.resource in resources and a not in selected
    ]
    if along:
        context.log.info(f"loading their resources also updates these unselected assets: {along}")


def _failure(failed: list[tuple[Unit, Exception]]) -> Failure:
    """The step's failure: which units failed and why; retried when a retry can help."""
    retryable = all(retry_can_help(error) for _, error in failed)
    lines = [f"{unit.id}: {type(error).__name__}: {error}" for unit, error in failed]
    failure = Failure(
        description="ladle units failed (the other units committed):\n" + "\n".join(lines),
        allow_retries=retryable,
    )
    failure.__cause__ = failed[0][1]
    return failure


__all__ = ["LadleResource"]
