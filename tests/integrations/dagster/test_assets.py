"""`@ladle_assets` and `LadleResource` on real Dagster (`dagster.materialize`).

The assets load `conformance_source` (events: incremental, one a day; users: replace, with
nested tags; user_tags: a transformer of users) into DuckDB or the test PostgreSQL server.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import ladle
from ladle.testing.adapter_suite import ConformanceData
from ladle_dagster import LadleAssetData, LadleResource, LadleTranslator, ladle_assets
from tests.core.destinations.postgres_server import fresh_postgres_dsn
from tests.integrations.dagster.sources import shops

UTC = datetime.timezone.utc
EVENTS = dg.AssetKey(["conformance", "events"])
USERS = dg.AssetKey(["conformance", "users"])
USER_TAGS = dg.AssetKey(["conformance", "user_tags"])
USERS_TAGS = dg.AssetKey(["conformance", "users__tags"])
PipelineMaker = Callable[..., ladle.Pipeline]


@pytest.fixture(params=["duckdb", "postgres"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> ladle.destinations.Destination:
    if request.param == "duckdb":
        return ladle.destinations.duckdb(str(tmp_path / "crm.duckdb"))
    return ladle.destinations.postgres(fresh_postgres_dsn())


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineMaker:
    """`make_pipeline(workdir="worker")`: a pipeline into `destination` (DuckDB by default)."""

    def make(workdir: str = "worker", destination: Any = None) -> ladle.Pipeline:
        return ladle.pipeline(
            "crm",
            destination=destination or ladle.destinations.duckdb(str(tmp_path / "crm.duckdb")),
            dataset_name="crm",
            pipelines_dir=str(tmp_path / workdir),
            progress=False,
        )

    return make


def assets_of(source: ladle.Source, pipeline: ladle.Pipeline, **options: Any) -> Any:
    @ladle_assets(source=source, pipeline=pipeline, **options)
    def crm_assets(context: dg.AssetExecutionContext, ladle: LadleResource) -> Any:
        yield from ladle.run(context=context)

    return crm_assets


def run(
    assets: Any,
    instance: dg.DagsterInstance,
    resource: LadleResource | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [assets], instance=instance, resources={"ladle": resource or LadleResource()}, **kwargs
    )


def materialized(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict[str, Any]]:
    """The metadata values of each asset the run materialized."""
    return {
        event.asset_key: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def counts(pipeline: ladle.Pipeline, *tables: str) -> dict[str, int]:
    return {
        t: pipeline.dataset(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"] for t in tables
    }


# -- the asset graph ------------------------------------------------------------------------------
def test_an_asset_per_resource_with_the_transformer_depending_on_its_parent(
    data: ConformanceData, make_pipeline: PipelineMaker
) -> None:
    assets = assets_of(data.source(), make_pipeline(), group_name="crm")
    specs = {spec.key: spec for spec in assets.specs}
    assert list(specs) == [EVENTS, USERS, USER_TAGS]
    assert [dep.asset_key for dep in specs[USER_TAGS].deps] == [USERS]
    assert specs[EVENTS].deps == []
    assert specs[EVENTS].kinds == {"ladle", "duckdb"}
    assert {spec.group_name for spec in specs.values()} == {"crm"}
    assert specs[EVENTS].description.startswith("Every event")
    assert specs[USERS].metadata["dagster/table_name"] == "crm.users"
    assert assets.can_subset
    assert data.started() == []  # building the assets ran no resource


def test_an_asset_per_table_includes_child_tables_under_their_root(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    options = {"asset_per": "table", "child_tables": {"users": ["users__tags"]}}
    assets = assets_of(data.source(), make_pipeline(), **options)
    specs = {spec.key: spec for spec in assets.specs}
    assert list(specs) == [EVENTS, USERS, USERS_TAGS, USER_TAGS]
    assert [dep.asset_key for dep in specs[USERS_TAGS].deps] == [USERS]
    result = run(assets, instance)
    found = materialized(result)
    assert found[USERS_TAGS]["dagster/row_count"] == 3
    assert found[USERS_TAGS]["dagster/table_name"] == "crm.users__tags"
    columns = {c.name for c in found[USERS_TAGS]["dagster/column_schema"].columns}
    assert {"value", "_ladle_parent_id", "_ladle_list_idx"} <= columns
    # A code location loaded after a run learns the child tables from the working directory.
    relearned = assets_of(data.source(), make_pipeline(), asset_per="table")
    assert USERS_TAGS in {spec.key for spec in relearned.specs}


def test_a_child_table_without_an_asset_is_named_in_its_root_tables_metadata(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    assets = assets_of(data.source(), make_pipeline(), asset_per="table")  # nothing declared
    assert USERS_TAGS not in {spec.key for spec in assets.specs}
    found = materialized(run(assets, instance))[USERS]
    assert found["ladle/tables_without_asset"] == ["users__tags"]
    assert found["ladle/rows_by_table"] == {"users": 2, "users__tags": 3}


def test_a_translator_sets_keys_groups_owners_tags_and_upstream_deps(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    api = dg.AssetKey(["crm_api"])

    class Raw(LadleTranslator):
        def get_asset_spec(self, data: LadleAssetData) -> dg.AssetSpec:
            spec = super().get_asset_spec(data)
            deps = [*spec.deps, api] if data.parent is None else spec.deps
            return spec.replace_attributes(
                key=["raw", data.name], group_name="raw", owners=["team:crm"], deps=deps
            ).merge_attributes(tags={"layer": "raw"})

    assets = assets_of(data.source(), make_pipeline(), translator=Raw())
    specs = {spec.key: spec for spec in assets.specs}
    tags = dg.AssetKey(["raw", "user_tags"])
    assert set(specs) == {dg.AssetKey(["raw", n]) for n in ("events", "users", "user_tags")}
    assert [d.asset_key for d in specs[tags].deps] == [dg.AssetKey(["raw", "users"])]
    assert [d.asset_key for d in specs[dg.AssetKey(["raw", "events"])].deps] == [api]
    assert specs[tags].owners == ["team:crm"]
    assert specs[tags].tags["layer"] == "raw"
    result = run(assets, instance, selection=[tags])
    assert set(materialized(result)) == {tags}


# -- materializing ------------------------------------------------------------------------------
def test_the_full_source_materializes_every_asset(
    data: ConformanceData,
    make_pipeline: PipelineMaker,
    destination: ladle.destinations.Destination,
    instance: dg.DagsterInstance,
) -> None:
    pipeline = make_pipeline(destination=destination)
    result = run(assets_of(data.source(), pipeline), instance)
    assert result.success
    found = materialized(result)
    assert set(found) == {EVENTS, USERS, USER_TAGS}
    assert found[USERS]["ladle/rows_by_table"] == {"users": 2, "users__tags": 3}
    assert found[USER_TAGS]["dagster/row_count"] == 3
    expected = {"events": 3, "users": 2, "users__tags": 3, "user_tags": 3}
    assert counts(pipeline, *expected) == expected


def test_metadata_has_rows_column_schema_table_name_load_id_and_schema_changes(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    found = materialized(run(assets_of(data.source(), pipeline), instance))[USERS]
    assert found["dagster/row_count"] == 2
    assert found["dagster/table_name"] == "crm.users"
    schema = found["dagster/column_schema"]
    columns = {c.name: c for c in schema.columns}
    assert columns["id"].type == "bigint"
    assert columns["id"].constraints.nullable is False
    assert "primary_key" in columns["id"].constraints.other
    assert "_ladle_load_id" in columns
    assert "ladle/column_schema/users__tags" in found  # the child table's columns
    load_id = found["ladle/load_id"]
    assert load_id
    assert pipeline.dataset(
        f"SELECT count(*) AS n FROM users WHERE _ladle_load_id = '{load_id}'"
    ).to_pylist() == [{"n": 2}]
    assert "new table users" in found["ladle/schema_changes"]
    assert "new table users__tags" in found["ladle/schema_changes"]
    assert not any("events" in change for change in found["ladle/schema_changes"])
    info = found["ladle/load_info"]
    assert info["row_counts"] == {"users": 2, "users__tags": 3, "user_tags": 3}
    assert found["ladle/destination"] == "duckdb"


def test_load_info_goes_to_the_run_log(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    result = run(assets_of(data.source(), make_pipeline()), instance)
    messages = [e.message or "" for e in result.all_events]
    logs = instance.all_logs(result.run_id)
    text = "\n".join([*messages, *(entry.user_message for entry in logs)])
    assert "pipeline crm: 1 load(s) into duckdb dataset crm" in text


def test_a_subset_runs_only_the_selected_resources(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    result = run(assets_of(data.source(), pipeline), instance, selection=[EVENTS])
    assert set(materialized(result)) == {EVENTS}
    assert data.started() == ["events"]
    assert counts(pipeline, "events") == {"events": 3}
    with pytest.raises(Exception, match="users"):
        counts(pipeline, "users")


def test_a_transformer_alone_runs_its_parent_without_loading_it(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    result = run(assets_of(data.source(), pipeline), instance, selection=[USER_TAGS])
    found = materialized(result)
    assert set(found) == {USER_TAGS}
    assert found[USER_TAGS]["ladle/load_info"]["row_counts"] == {"user_tags": 3}
    assert data.started() == ["users"]  # extracted to feed the transformer
    with pytest.raises(Exception, match="users"):
        counts(pipeline, "users")


def test_a_failing_resource_fails_its_asset_only(
    data: ConformanceData,
    make_pipeline: PipelineMaker,
    destination: ladle.destinations.Destination,
    instance: dg.DagsterInstance,
) -> None:
    pipeline = make_pipeline(destination=destination)
    assets = assets_of(data.source(fail="users"), pipeline)
    result = run(assets, instance, raise_on_error=False)
    assert not result.success
    assert set(materialized(result)) == {EVENTS}  # committed although `users` failed
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "users: ExtractError" in str(failure.event_specific_data)
    assert counts(pipeline, "events") == {"events": 3}
    fixed = run(assets_of(data.source(), pipeline), instance)
    assert materialized(fixed)[USERS]["dagster/row_count"] == 2
    assert materialized(fixed)[EVENTS]["dagster/row_count"] == 0  # nothing new: no duplicates


def test_a_retry_policy_retries_a_failed_unit(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    retried = dg.RetryPolicy(max_retries=1)
    assets = assets_of(data.source(fail="users"), pipeline, retry_policy=retried)
    result = run(assets, instance, raise_on_error=False)
    assert not result.success
    assert data.started().count("users") == 2  # a resource error may pass next time
    assert counts(pipeline, "events") == {"events": 3}  # the retry found no new events


def test_a_failure_no_retry_can_fix_is_not_retried(
    make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    rows = [{"id": 1}]
    tries: list[str] = []

    @ladle.source(schema_contract="freeze")
    def frozen() -> Any:
        @ladle.resource
        def items() -> Any:
            tries.append("items")
            yield rows

        return items

    assets = assets_of(frozen(), make_pipeline(), retry_policy=dg.RetryPolicy(max_retries=2))
    assert run(assets, instance).success  # the first load makes the table
    rows[0]["extra"] = "new column"  # the frozen schema refuses it
    tries.clear()
    result = run(assets, instance, raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "items: ContractViolation" in str(failure.event_specific_data)
    assert tries == ["items"]  # tried once: a retry would fail the same way


def test_a_rerun_with_an_empty_working_directory_resumes_from_the_destination(
    data: ConformanceData,
    make_pipeline: PipelineMaker,
    destination: ladle.destinations.Destination,
    instance: dg.DagsterInstance,
    tmp_path: Path,
) -> None:
    pipeline = make_pipeline(destination=destination)
    assets = assets_of(data.source(), pipeline)
    run(assets, instance, LadleResource(pipelines_dir=str(tmp_path / "worker_a")))
    data.add_events(2)
    result = run(assets, instance, LadleResource(pipelines_dir=str(tmp_path / "worker_b")))
    assert materialized(result)[EVENTS]["dagster/row_count"] == 2
    assert counts(pipeline, "events", "users") == {"events": 5, "users": 2}


# -- partitions ---------------------------------------------------------------------------------
def test_two_daily_partitions_load_only_their_windows(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
    assets = assets_of(data.source(), pipeline, partitions_def=daily)
    for day in ("2024-01-02", "2024-01-03"):
        result = run(assets, instance, partition_key=day, selection=[EVENTS])
        assert materialized(result)[EVENTS]["dagster/row_count"] == 1
    ids = pipeline.dataset("SELECT id FROM events ORDER BY id").to_pylist()
    assert [row["id"] for row in ids] == [2, 3]
    pipeline.sync_destination()
    cursor = pipeline.state.get("resource:conformance.events", {})
    assert cursor.get("incremental", {}).get("at", {}).get("last_value") is None  # not moved


def test_a_backfill_of_a_partition_range_loads_the_whole_range_in_one_run(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
    assets = assets_of(
        data.source(),
        pipeline,
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    job = dg.Definitions(
        assets=[assets], resources={"ladle": LadleResource()}
    ).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2024-01-01"}
        | {"dagster/asset_partition_range_end": "2024-01-02"},
        asset_selection=[EVENTS],
    )
    assert materialized(result)[EVENTS]["dagster/row_count"] == 2  # Jan 1 and 2, not Jan 3


def test_a_static_partition_is_an_argument_of_the_source_function(
    make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    regions = dg.StaticPartitionsDefinition(["eu", "us"])
    assets = assets_of(shops(), pipeline, partitions_def=regions, partition_param="region")
    for region in ("eu", "us"):
        result = run(assets, instance, partition_key=region)
        assert materialized(result)[dg.AssetKey(["shops", "orders"])]["dagster/row_count"] == 2
    found = pipeline.dataset("SELECT id FROM orders ORDER BY id").to_pylist()
    assert [row["id"] for row in found] == ["eu-1", "eu-2", "us-1", "us-2"]


# -- credentials and bad input ------------------------------------------------------------------
def test_credentials_come_from_an_env_var_and_stay_out_of_metadata_and_logs(
    data: ConformanceData,
    make_pipeline: PipelineMaker,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Trust auth on the test server accepts any password: it only has to stay hidden.
    dsn = fresh_postgres_dsn().replace("postgresql://postgres@", "postgresql://postgres:s3cr3t-pw@")
    monkeypatch.setenv("WAREHOUSE_DSN", dsn)
    pipeline = make_pipeline()  # DuckDB; the resource sends it to PostgreSQL
    resource = LadleResource(destination="postgres", credentials=dg.EnvVar("WAREHOUSE_DSN"))
    result = run(assets_of(data.source(), pipeline), instance, resource)
    found = materialized(result)
    assert found[EVENTS]["ladle/destination"] == "postgres"
    everything = repr(found) + "\n".join(repr(entry) for entry in instance.all_logs(result.run_id))
    assert "s3cr3t-pw" not in everything
    loaded = ladle.pipeline("crm", destination=ladle.destinations.postgres(dsn), dataset_name="crm")
    assert counts(loaded, "events") == {"events": 3}


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"asset_per": "column"}, "asset_per"),
        ({"child_tables": {"users": ["users__tags"]}}, "child_tables"),
        ({"asset_per": "table", "child_tables": {"nope": ["nope__x"]}}, "child_tables"),
        ({"asset_per": "table", "child_tables": {"users": ["tags"]}}, "child_tables"),
        ({"partition_param": "region"}, "partition_param"),
        ({"partitions_def": dg.StaticPartitionsDefinition(["a"])}, "partition_param"),
        (
            {"partitions_def": dg.DailyPartitionsDefinition("2024-01-01"), "partition_param": "x"},
            "partition_param",
        ),
        ({"pipeline": "crm"}, "pipeline"),
    ],
)
def test_bad_options_raise_config_errors_naming_the_option(
    options: dict[str, Any], key: str, data: ConformanceData, make_pipeline: PipelineMaker
) -> None:
    options = {"source": data.source(), "pipeline": make_pipeline(), **options}
    with pytest.raises(ladle.ConfigError) as caught:
        ladle_assets(**options)
    assert caught.value.details["key"] == key


def test_a_bad_resource_destination_fails_the_run_with_a_config_error(
    data: ConformanceData, make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    assets = assets_of(data.source(), make_pipeline())
    with pytest.raises(ladle.ConfigError, match="LadleResource destination must be one of"):
        run(assets, instance, LadleResource(destination="oracle"))


def test_the_resource_runs_only_inside_ladle_assets(instance: dg.DagsterInstance) -> None:
    @dg.asset(required_resource_keys={"ladle"})
    def plain(context) -> Any:  # type: ignore[no-untyped-def]  # Dagster reads a string as a name
        yield from context.resources.ladle.run(context=context)

    with pytest.raises(ladle.ConfigError, match="inside a function decorated with @ladle_assets"):
        dg.materialize([plain], instance=instance, resources={"ladle": LadleResource()})


def test_a_multi_partition_maps_its_static_dimension_to_the_argument(
    make_pipeline: PipelineMaker, instance: dg.DagsterInstance
) -> None:
    pipeline = make_pipeline()
    both = dg.MultiPartitionsDefinition(
        {
            "day": dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC"),
            "region": dg.StaticPartitionsDefinition(["eu", "us"]),
        }
    )
    assets = assets_of(shops(), pipeline, partitions_def=both, partition_param="region")
    key = dg.MultiPartitionKey({"day": "2024-01-02", "region": "us"})
    run(assets, instance, partition_key=key)
    found = pipeline.dataset("SELECT id FROM orders ORDER BY id").to_pylist()
    assert [row["id"] for row in found] == ["us-1", "us-2"]


def test_the_public_api() -> None:
    import ladle_dagster

    assert sorted(ladle_dagster.__all__) == [
        "LadleAsset",
        "LadleAssetData",
        "LadleResource",
        "LadleTranslator",
        "__version__",
        "ladle_assets",
    ]
