"""Dagster partitions as ladle run arguments.

    time-window partitions   the partition's window (or a backfill's range of them) bounds the
                             incremental resources: `start <= cursor < end`, stored cursors stay
    static partitions        the partition key becomes an argument of the source function
                             (`partition_param="region"` calls `crm(region="eu")`)
    multi-partitions         both: the time dimension is the window, the other one the argument

Rebuilding a source with another argument goes through `Plan.source_ref` (the import path of
the source function and its arguments), so such a source function must be defined at module level.
"""

from __future__ import annotations

import datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)

import ladle
from ladle.orchestration import SourceRef

Window = tuple[datetime.datetime, datetime.datetime]


def check_partitioning(
    partitions_def: PartitionsDefinition[Any] | None,
    partition_param: str | None,
    source: ladle.Source,
) -> None:
    """Refuse, at definition time, partitions that cannot be turned into run arguments."""
    if partitions_def is None:
        if partition_param is not None:
            raise ladle.ConfigError(
                "partition_param maps a static partition to a source argument: pass a "
                "StaticPartitionsDefinition (or MultiPartitionsDefinition) as partitions_def",
                key="partition_param",
            )
        return
    static = _has_static_dimension(partitions_def)
    if static and partition_param is None:
        raise ladle.ConfigError(
            f"source '{source.name}' has static partitions: name the argument of its source "
            "function that takes the partition key with partition_param='...'",
            key="partition_param",
        )
    if not static and partition_param is not None:
        raise ladle.ConfigError(
            "partition_param needs static partitions; time-window partitions become the run's "
            "window, not an argument",
            key="partition_param",
        )
    if partition_param is not None and (source.origin is None or "<locals>" in source.origin):
        raise ladle.ConfigError(
            f"partition_param needs a source made by a module-level @ladle.source function "
            f"(source '{source.name}' comes from {source.origin or 'loose resources'})",
            key="partition_param",
        )


def partition_window(
    context: AssetExecutionContext, partitions_def: PartitionsDefinition[Any] | None
) -> Window | None:
    """The window of a time-partitioned run (a range of partitions too), else None."""
    if partitions_def is None or not _has_time_dimension(partitions_def):
        return None
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    return (window.start, window.end)


def partition_source(
    context: AssetExecutionContext,
    source: ladle.Source,
    partitions_def: PartitionsDefinition[Any] | None,
    partition_param: str | None,
) -> ladle.Source:
    """`source`, rebuilt with the run's static partition key as `partition_param`."""
    if partitions_def is None or partition_param is None:
        return source
    if context.has_partition_key_range and not context.has_partition_key:
        raise ladle.ConfigError(
            "a run of several static partitions cannot set one source argument: backfill them "
            "with one run per partition (BackfillPolicy.multi_run(1), Dagster's default)",
            key="partition_param",
        )
    key: Any = context.partition_key
    if isinstance(key, MultiPartitionKey):
        assert isinstance(partitions_def, MultiPartitionsDefinition)
        dimension = _static_dimension_name(partitions_def)
        key = key.keys_by_dimension[dimension]
    assert source.origin is not None  # check_partitioning refused it otherwise
    args, kwargs = source.call_args
    ref = SourceRef(source.origin, args, {**kwargs, partition_param: key})
    try:
        made = ref.load()
    except TypeError as exc:
        raise ladle.ConfigError(
            f"cannot call the source function {source.origin} with {partition_param}={key!r}: "
            f"{exc}",
            key="partition_param",
        ) from exc
    return made.with_resources(*source.selected_resources)  # the selection of the given source


def _has_time_dimension(partitions_def: PartitionsDefinition[Any]) -> bool:
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return any(
            isinstance(d.partitions_def, TimeWindowPartitionsDefinition)
            for d in partitions_def.partitions_defs
        )
    return isinstance(partitions_def, TimeWindowPartitionsDefinition)


def _has_static_dimension(partitions_def: PartitionsDefinition[Any]) -> bool:
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return any(
            not isinstance(d.partitions_def, TimeWindowPartitionsDefinition)
            for d in partitions_def.partitions_defs
        )
    return isinstance(partitions_def, StaticPartitionsDefinition)


def _static_dimension_name(partitions_def: MultiPartitionsDefinition) -> str:
    for dimension in partitions_def.partitions_defs:
        if not isinstance(dimension.partitions_def, TimeWindowPartitionsDefinition):
            return dimension.name
    raise AssertionError("no static dimension")  # check_partitioning refused it


__all__ = ["Window", "check_partitioning", "partition_source", "partition_window"]
