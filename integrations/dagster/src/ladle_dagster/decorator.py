"""`@ladle_assets`: a ladle source as a Dagster multi-asset, an asset per resource (or table).

The decorated function runs when Dagster materializes any of the assets; it calls
`LadleResource.run(context)`, which finds the source and pipeline the decorator was given
through a context variable set around the function (never through asset metadata, which holds
plain values only).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster import AssetsDefinition, BackfillPolicy, PartitionsDefinition, RetryPolicy, multi_asset

import ladle
from ladle.orchestration import Plan
from ladle.orchestration import plan as _plan  # `plan` is also a keyword argument
from ladle_dagster.asset_specs import AssetPer, LadleAsset, build_specs
from ladle_dagster.partitions import check_partitioning
from ladle_dagster.translator import LadleTranslator


@dataclass(frozen=True)
class LadleAssets:
    """What `@ladle_assets` was given, for `LadleResource.run` in the materializing step."""

    source: ladle.Source
    pipeline: ladle.Pipeline
    plan: Plan
    assets: tuple[LadleAsset, ...]
    partitions_def: PartitionsDefinition[Any] | None = None
    partition_param: str | None = None


_current: contextvars.ContextVar[LadleAssets] = contextvars.ContextVar("ladle_assets")


def current_assets() -> LadleAssets:
    """The `@ladle_assets` whose function is running (a ConfigError outside of one)."""
    try:
        return _current.get()
    except LookupError:
        raise ladle.ConfigError(
            "LadleResource.run(context) runs inside a function decorated with @ladle_assets",
            key="context",
        ) from None


def ladle_assets(
    *,
    source: ladle.Source,
    pipeline: ladle.Pipeline,
    name: str | None = None,
    group_name: str | None = None,
    translator: LadleTranslator | None = None,
    asset_per: AssetPer = "resource",
    child_tables: Mapping[str, Sequence[str]] | None = None,
    partitions_def: PartitionsDefinition[Any] | None = None,
    partition_param: str | None = None,
    backfill_policy: BackfillPolicy | None = None,
    retry_policy: RetryPolicy | None = None,
    op_tags: Mapping[str, Any] | None = None,
    pool: str | None = None,
    plan: Plan | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Make the selected resources of `source` Dagster assets, materialized by the function.

    >>> @ladle_assets(source=crm(), pipeline=ladle.pipeline("crm"), group_name="crm")
    ... def crm_assets(context: AssetExecutionContext, ladle: LadleResource):
    ...     yield from ladle.run(context=context)

    - Keys, groups, deps, kinds: `translator` (a `LadleTranslator`); by default
      `[source name, resource name]`, transformers depending on their parent's asset.
    - `asset_per="table"`: an asset per destination table, child tables of nested lists too
      (each depending on its parent table's asset); `child_tables={"users": ["users__tags"]}`
      declares those the working directory does not know yet (it learns them from a run).
    - Any selection of the assets runs only the resources it needs (`can_subset`).
    - `partitions_def`: time windows bound the incremental resources; a static partition key
      becomes the source function's argument `partition_param`.
    - `backfill_policy`, `retry_policy`, `op_tags`, `pool` go to Dagster's `multi_asset`.
    - `plan`: a plan of `source` you changed (units joined, ordered with `depends_on`) instead
      of `ladle.orchestration.plan(source)`; its units run in its order.

    Building the assets reads the plan only: no resource function runs.
    """
    if not isinstance(pipeline, ladle.Pipeline):
        raise ladle.ConfigError(
            f"ladle_assets takes a pipeline made by ladle.pipeline(), not "
            f"{type(pipeline).__name__}",
            key="pipeline",
        )
    work = plan if plan is not None else _plan(source)
    if not work.units:
        raise ladle.ConfigError(f"source '{source.name}' has no selected resources", key="source")
    check_partitioning(partitions_def, partition_param, source)
    specs, assets = build_specs(
        work,
        pipeline,
        translator or LadleTranslator(),
        asset_per=asset_per,
        child_tables=child_tables,
        group_name=group_name,
    )
    bound = LadleAssets(source, pipeline, work, tuple(assets), partitions_def, partition_param)

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        @functools.wraps(fn)
        def materialize(*args: Any, **kwargs: Any) -> Iterator[Any]:
            # Each step of the function runs in a context that knows the assets; the caller's
            # context is left as it was.
            scope = contextvars.copy_context()
            scope.run(_current.set, bound)
            results = scope.run(fn, *args, **kwargs)
            if results is None:
                return
            iterator = iter(results)
            while True:
                try:
                    item = scope.run(next, iterator)
                except StopIteration:
                    return
                yield item

        materialize.__signature__ = _signature(fn)  # type: ignore[attr-defined]
        return multi_asset(
            name=name or fn.__name__,
            specs=specs,
            can_subset=True,
            partitions_def=partitions_def,
            backfill_policy=backfill_policy,
            retry_policy=retry_policy,
            op_tags=op_tags,
            pool=pool,
        )(materialize)

    return decorate


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    """`fn`'s signature with its annotations evaluated: Dagster finds the context and resource
    parameters by their types, also in modules with `from __future__ import annotations`."""
    try:
        return inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, SyntaxError):  # names only known to type checkers
        return inspect.signature(fn)


__all__ = ["LadleAssets", "current_assets", "ladle_assets"]
