"""The pipeline: extract -> normalize -> load through load packages in a working directory.

    pipelines_dir/<pipeline_name>/packages/   load packages (see ladle.load.package)
    pipelines_dir/<pipeline_name>/schemas/    the newest schema of each source, as JSON
    pipelines_dir/<pipeline_name>/state.json  committed state scopes, as last synced

`run()` first finishes packages a previous run left behind, then syncs state and schemas from
the destination (the source of truth: a worker with an empty working directory resumes where
the last committed load stopped), then extracts, normalizes and loads the new data. Each stage
can also be called on its own.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from ladle import crash_points
from ladle.destinations import resolve
from ladle.destinations.base import Destination, DestinationClient
from ladle.errors import (
    ConfigError,
    DestinationError,
    LadleError,
    LoadError,
    SchemaError,
    StateConflict,
)
from ladle.extract.extractor import (
    Extractor,
    FileSink,
    ItemSink,
    NormalizingSink,
    SourceSettings,
)
from ladle.extract.incremental import Window
from ladle.extract.resource import ColumnsHint, KeyHint, Resource, resource_from_data
from ladle.extract.resource_state import ExtractionState
from ladle.extract.source import Source, source_of_resources
from ladle.extract.write_disposition import WriteDispositionLike
from ladle.load.package import LoadPackage, Manifest, PackageStore, new_load_id, write_atomic
from ladle.normalize.normalizer import NormalizeSettings, PackageNormalizer
from ladle.pipeline.drop import plan_drop
from ladle.pipeline.load_info import LoadInfo, merge_counts
from ladle.pipeline.progress import Progress, ProgressMode
from ladle.schema.contract import SchemaContract, SchemaContractLike
from ladle.schema.naming import normalize_identifier
from ladle.schema.schema import Schema
from ladle.state.scopes import LocalState, ScopeState, StateChange, with_changes

logger = logging.getLogger("ladle.pipeline")
WindowLike = Window | tuple[Any, Any] | None
_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
DEFAULT_PIPELINES_DIR = Path.home() / ".ladle" / "pipelines"


class Pipeline:
    """Moves data from sources to one dataset of one destination. Make it with `ladle.pipeline`."""

    def __init__(
        self,
        pipeline_name: str,
        destination: Destination,
        dataset_name: str,
        pipelines_dir: Path,
        progress: ProgressMode,
    ) -> None:
        self.pipeline_name = pipeline_name
        self.destination = destination
        self.dataset_name = dataset_name
        self.working_dir = pipelines_dir / pipeline_name
        self.progress_mode = progress
        self.packages = PackageStore(self.working_dir / "packages")
        self.schemas_dir = self.working_dir / "schemas"
        self.local_state = LocalState(self.working_dir / "state.json")
        self.default_schema_name = normalize_identifier(pipeline_name)

    def __repr__(self) -> str:
        return (
            f"<ladle pipeline {self.pipeline_name} -> {self.destination.name} "
            f"dataset {self.dataset_name}, working dir {self.working_dir}>"
        )

    # -- the three stages ------------------------------------------------------------------------
    def extract(
        self,
        data: Any,
        *,
        table_name: str | None = None,
        write_disposition: WriteDispositionLike | None = None,
        columns: ColumnsHint = None,
        primary_key: KeyHint = None,
        schema_contract: SchemaContractLike = None,
        window: WindowLike = None,
    ) -> LoadPackage:
        """Run the resources of `data` into a new load package; returns it (not yet loaded)."""
        hints = RunHints(table_name, write_disposition, columns, primary_key, schema_contract)
        return self._extract(data, hints, Window.of(window), normalize=False)

    def normalize(self) -> list[LoadPackage]:
        """Normalize every extracted package; returns the packages now ready to load."""
        ready = []
        for package in self.packages.pending():
            if package.manifest.stage == "extracted":
                self._normalize_package(package)
            ready.append(package)
        return ready

    def load(self) -> LoadInfo:
        """Load every pending package (normalizing extracted ones first), oldest first, each in
        one destination transaction.

        A package whose state another worker moved on since it was extracted raises
        `StateConflict` and is deleted, with any later package extracted on top of its state:
        they can never load, and a new run extracts what is missing from the newer state."""
        self.normalize()
        return self._load(drop_conflicts=False)

    def _load(self, *, drop_conflicts: bool) -> LoadInfo:
        started = time.perf_counter()
        counts: dict[str, int] = {}
        changes: list[str] = []
        load_ids: list[str] = []
        version: int | None = None
        pending = [p for p in self.packages.pending() if p.manifest.stage == "normalized"]
        if pending:
            with self._client() as client:
                for package in pending:
                    if not package.root.is_dir():
                        continue  # dropped with an earlier package it was extracted on top of
                    try:
                        stored = self._load_package(client, package, package.schema())
                    except StateConflict as conflict:
                        if not drop_conflicts:
                            raise
                        logger.warning("dropped package %s: %s", package.load_id, conflict)
                        continue
                    if stored is None:
                        continue  # committed by an earlier run that died before cleaning up
                    load_ids.append(package.load_id)
                    merge_counts(counts, package.manifest.row_counts())
                    changes.extend(package.manifest.schema_changes)
                    version = stored.version
        return LoadInfo(
            pipeline_name=self.pipeline_name,
            destination=self.destination.name,
            dataset_name=self.dataset_name,
            load_ids=tuple(load_ids),
            row_counts=counts,
            schema_changes=tuple(changes),
            timings={"load": time.perf_counter() - started},
            schema_version=version,
        )

    def run(
        self,
        data: Any = None,
        *,
        table_name: str | None = None,
        write_disposition: WriteDispositionLike | None = None,
        columns: ColumnsHint = None,
        primary_key: KeyHint = None,
        schema_contract: SchemaContractLike = None,
        window: WindowLike = None,
    ) -> LoadInfo:
        """Load `data` (a source, resource, list, generator, Arrow table or DataFrame).

        Packages left by an earlier, interrupted run are loaded first; `run()` without data only
        does that. `window=(start, end)` bounds every incremental resource to
        `start <= cursor < end` without moving their stored cursors (a backfill; what an
        orchestrator's data interval or partition sets).

        >>> info = ladle.pipeline("demo").run([{"id": 1, "tags": ["a"]}], table_name="items")
        >>> info.row_counts
        {'items': 1, 'items__tags': 1}
        """
        timings: dict[str, float] = {}
        self.normalize()
        # A left-over package whose state another worker moved on is dropped: the extraction
        # below starts from that newer state and takes what is still missing.
        finished = self._load(drop_conflicts=True)
        if data is None:
            return finished
        started = time.perf_counter()
        hints = RunHints(table_name, write_disposition, columns, primary_key, schema_contract)
        self._extract(data, hints, Window.of(window), normalize=True)
        timings["extract_and_normalize"] = time.perf_counter() - started
        loaded = self.load()
        timings["load"] = loaded.timings["load"]
        counts = dict(finished.row_counts)
        merge_counts(counts, loaded.row_counts)
        info = replace(
            loaded,
            load_ids=finished.load_ids + loaded.load_ids,
            row_counts=counts,
            schema_changes=finished.schema_changes + loaded.schema_changes,
            timings=timings,
        )
        write_atomic(self.trace_path, orjson.dumps(info.asdict()))
        return info

    @property
    def trace_path(self) -> Path:
        """Where `run` keeps the LoadInfo of the last run that loaded data (`ladle pipeline
        <name> trace` prints it)."""
        return self.working_dir / "last_run.json"

    def last_run(self) -> LoadInfo | None:
        """The LoadInfo of the last `run` of this working directory that loaded data."""
        if not self.trace_path.is_file():
            return None
        data = orjson.loads(self.trace_path.read_bytes())
        data["load_ids"] = tuple(data["load_ids"])
        data["schema_changes"] = tuple(data["schema_changes"])
        return LoadInfo(**data)

    # -- reading back ----------------------------------------------------------------------------
    def dataset(self, sql: str) -> pa.Table:
        """Run a query against the loaded dataset; tables are reachable by their bare names.

        >>> pipeline.dataset("SELECT count(*) AS n FROM items").to_pylist()
        [{'n': 1}]
        """
        with self._client() as client:
            return client.query(sql)

    @contextlib.contextmanager
    def sql_client(self) -> Iterator[DestinationClient]:
        """An open client of the destination for the pipeline's dataset (`.query(sql)`)."""
        with self._client() as client:
            yield client

    @property
    def schema(self) -> Schema:
        """The schema of the pipeline's default (or only) source."""
        names = self.schema_names()
        name = (
            self.default_schema_name if self.default_schema_name in names or not names else names[0]
        )
        return self.schema_named(name)

    def schema_named(self, name: str) -> Schema:
        """A schema of the pipeline by name: the local one, else the destination's newest."""
        return self._load_schema(name)

    def schema_names(self) -> list[str]:
        if not self.schemas_dir.is_dir():
            return []
        return sorted(p.stem for p in self.schemas_dir.glob("*.json"))

    @property
    def state(self) -> dict[str, dict[str, Any]]:
        """The committed state per scope ("source:<name>", "resource:<source>.<resource>"),
        as last synced from the destination or loaded by this working directory."""
        return {scope: found.value for scope, found in self.local_state.read().items()}

    def sync_destination(self, schema_names: list[str] | None = None) -> None:
        """Make the working directory agree with the destination, the source of truth: its
        committed state and newest schemas replace the local ones (a schema with packages not
        yet loaded is merged instead). Every `run` and `extract` does this first."""
        names = {self.default_schema_name, *self.schema_names(), *(schema_names or ())}
        with self._client() as client:
            state = client.stored_state(self.pipeline_name)
            stored = {name: client.stored_schema(name) for name in sorted(names)}
        self.local_state.write(state)
        # Only packages not loaded yet hold schema changes the destination has not seen.
        pending = {package.manifest.schema_name for package in self.packages.pending()}
        for name, newest in stored.items():
            local = self._local_schema(name)
            if newest is None or (local is not None and local.version_hash == newest.version_hash):
                continue
            if local is not None and name in pending:
                newest = newest.merged_with(local)
            self._save_schema(newest)

    def drop(self, *resources: str, schema_name: str | None = None) -> tuple[str, ...]:
        """Drop the tables of `resources` (child tables too) from the destination, with their
        schema entries and state, in one transaction: their next run starts over. Returns the
        dropped tables. Packages not yet loaded must be loaded or dropped first."""
        pending = self.packages.pending()
        if pending:
            raise ConfigError(
                f"pipeline {self.pipeline_name} has {len(pending)} package(s) not yet loaded: "
                "load them (pipeline.load()) or drop them (drop_pending_packages()) first",
                key="resources",
            )
        self.sync_destination()
        schema = self.schema_named(schema_name) if schema_name else self.schema
        dropping = plan_drop(schema, self.state, resources)
        with self._client() as client:
            stored = client.drop_tables(
                schema.name, dropping.tables, self.pipeline_name, dropping.scopes
            )
        self._save_schema(stored or schema.without_tables(dropping.tables))
        state = self.local_state.read()
        self.local_state.write({k: v for k, v in state.items() if k not in dropping.scopes})
        logger.info("dropped %s and state %s", ", ".join(dropping.tables), dropping.scopes)
        return dropping.tables

    def drop_pending_packages(self) -> int:
        """Delete packages not yet loaded (e.g. data a contract rejected); returns how many."""
        pending = self.packages.pending()
        for package in pending:
            package.delete()
        return len(pending)

    # -- internals -------------------------------------------------------------------------------
    def _as_source(self, data: Any, table_name: str | None) -> Source:
        if isinstance(data, Source):
            if table_name is not None:
                raise ConfigError(
                    f"table_name applies to one resource, not to source '{data.name}': use "
                    f"source.<resource>.apply_hints(table_name=...)",
                    key="table_name",
                )
            return data
        if isinstance(data, (list, tuple)) and data and all(isinstance(r, Resource) for r in data):
            return source_of_resources(self.default_schema_name, list(data))
        made = resource_from_data(data, table_name)
        if table_name is not None and isinstance(data, Resource):
            made = made.copy().apply_hints(table_name=table_name)
        return source_of_resources(self.default_schema_name, [made])

    def _extract(
        self, data: Any, hints: RunHints, window: Window | None, *, normalize: bool
    ) -> LoadPackage:
        """Extract into a new package; with `normalize`, normalize items as they are yielded."""
        source = hints.applied_to(self._as_source(data, hints.table_name))
        self._check_dispositions(source)
        schema_name = normalize_identifier(source.name)
        self.sync_destination([schema_name])
        load_id = new_load_id()
        state = ExtractionState(source.name, self._state_base(), window, load_id)
        progress = Progress(self.progress_mode)
        self.packages.discard_partials()
        partial = self.packages.start(load_id)
        normalizer: PackageNormalizer | None = None
        sink: ItemSink = FileSink(partial / "extracted")
        if normalize:
            # Just synced: a schema the working directory lacks, the destination lacks too.
            start = self._local_schema(schema_name) or Schema(name=schema_name)
            normalizer = self._normalizer(partial, load_id, start, progress)
            sink = NormalizingSink(normalizer)
        extractor = Extractor(sink, SourceSettings.of(source), progress, state)
        try:
            files = extractor.extract(source)
            manifest = Manifest(
                load_id,
                schema_name,
                "extracted",
                extractor.table_hints,
                files,
                pipeline_name=self.pipeline_name,
                state_changes=[c.to_dict() for c in state.changes(source.selected_resources)],
            )
            schema = normalizer.finish(manifest) if normalizer else None
        except BaseException:
            # A resource failed or the data was rejected: this run loads nothing, and leaves
            # nothing half-extracted behind.
            self.packages.discard_partials()
            raise
        finally:
            progress.done()
        package = self.packages.commit(partial, manifest)
        crash_points.reached("extracted")
        if schema is not None:
            self._save_schema(schema)
        return package

    def _state_base(self) -> dict[str, ScopeState]:
        """Committed state with the changes of packages not yet loaded on top, so a second
        `extract` before `load` continues where the first one stopped."""
        pending = [
            StateChange.from_dict(raw)
            for package in self.packages.pending()
            for raw in package.manifest.state_changes
        ]
        return with_changes(self.local_state.read(), pending)

    def _check_dispositions(self, source: Source) -> None:
        """Refuse `merge` where the destination cannot merge, rather than silently appending."""
        if self.destination.capabilities.merge:
            return
        for item in source.selected_resources.values():
            if item.hints.write_disposition == "merge":
                raise ConfigError(
                    f"resource '{item.name}': write_disposition='merge' is not supported by "
                    f"{self.destination.name} yet; use 'append' or 'replace'",
                    key="write_disposition",
                    resource=item.name,
                )

    def _normalizer(
        self, root: Path, load_id: str, schema: Schema, progress: Progress
    ) -> PackageNormalizer:
        settings = NormalizeSettings(self.destination.capabilities.max_identifier_length)
        return PackageNormalizer(root, load_id, schema, settings, progress)

    def _normalize_package(self, package: LoadPackage) -> None:
        progress = Progress(self.progress_mode)
        schema = self._load_schema(package.manifest.schema_name)
        normalizer = self._normalizer(package.root, package.load_id, schema, progress)
        try:
            normalizer.normalize_extracted(package.manifest)
            schema = normalizer.finish(package.manifest)
        except SchemaError:
            # The data itself is rejected (e.g. a frozen contract): retrying cannot help, and a
            # package kept pending would block every later run.
            package.delete()
            raise
        finally:
            progress.done()
        package.save()
        self._save_schema(schema)

    def _load_package(
        self, client: DestinationClient, package: LoadPackage, schema: Schema
    ) -> Schema | None:
        try:
            stored = client.load_package(package, schema)
        except StateConflict:
            self._drop_with_dependents(package)
            raise
        except LadleError:
            raise
        except Exception as exc:
            raise LoadError(
                f"loading package {package.load_id} into {self.destination.name} dataset "
                f"'{self.dataset_name}' failed and was rolled back: {type(exc).__name__}: {exc}",
                load_id=package.load_id,
                destination=self.destination.name,
            ) from exc
        crash_points.reached("committed")
        if stored is not None:
            changes = map(StateChange.from_dict, package.manifest.state_changes)
            self.local_state.write(with_changes(self.local_state.read(), changes))
            local = self._local_schema(stored.name)
            self._save_schema(local.merged_with(stored) if local is not None else stored)
        package.delete()
        return stored

    def _drop_with_dependents(self, package: LoadPackage) -> None:
        """Delete a package that lost a state race, and every later one that changes a scope it
        (or another one dropped here) changes: those were extracted from its state, which will
        never commit. Their base version numbers may still match the winner's versions, so the
        destination cannot tell them apart: loading one would duplicate the winner's rows."""
        scopes = {change["scope"] for change in package.manifest.state_changes}
        package.delete()
        for later in self.packages.pending():
            changed = {change["scope"] for change in later.manifest.state_changes}
            if later.load_id > package.load_id and changed & scopes:
                scopes |= changed
                later.delete()

    def _client(self) -> DestinationClient:
        try:
            return self.destination.client(self.pipeline_name, self.dataset_name)
        except LadleError:
            raise
        except Exception as exc:
            raise DestinationError(
                f"cannot connect to {self.destination.name}: {type(exc).__name__}: {exc}",
                destination=self.destination.name,
            ) from exc

    def _local_schema(self, name: str) -> Schema | None:
        path = self.schemas_dir / f"{name}.json"
        return Schema.from_json(path.read_bytes()) if path.is_file() else None

    def _load_schema(self, name: str) -> Schema:
        """The local schema; on a fresh working directory, the newest one in the destination."""
        local = self._local_schema(name)
        if local is not None:
            return local
        with self._client() as client:
            stored = client.stored_schema(name)
        return stored or Schema(name=name)

    def _save_schema(self, schema: Schema) -> None:
        self.schemas_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.schemas_dir / f"{schema.name}.json", schema.to_json())


@dataclass(frozen=True)
class RunHints:
    """Hints given to `run`/`extract`; they apply to every selected resource of the data."""

    table_name: str | None = None
    write_disposition: WriteDispositionLike | None = None
    columns: ColumnsHint = None
    primary_key: KeyHint = None
    schema_contract: SchemaContractLike = None

    def applied_to(self, source: Source) -> Source:
        """A copy of the source with the hints on its selected resources (the caller's object
        stays as it was, so hints of one run do not leak into the next)."""
        patch = (self.write_disposition, self.columns, self.primary_key, self.schema_contract)
        if all(value is None for value in patch):
            return source
        patched = source.with_resources(*source.selected_resources)
        for item in patched.selected_resources.values():
            item.apply_hints(
                write_disposition=self.write_disposition,
                columns=self.columns,
                primary_key=self.primary_key,
                schema_contract=self.schema_contract,
            )
        return patched


def pipeline(
    pipeline_name: str | None = None,
    destination: str | Destination = "duckdb",
    dataset_name: str | None = None,
    pipelines_dir: str | Path | None = None,
    progress: ProgressMode = None,
) -> Pipeline:
    """Make a pipeline that loads into `destination` (a name or a ladle.destinations object).

    >>> pipeline = ladle.pipeline("crm", destination="duckdb")   # ./crm.duckdb, dataset crm_dataset
    """
    name = pipeline_name or "ladle_pipeline"
    if not _PIPELINE_NAME.match(name):
        raise ConfigError(
            f"pipeline_name {name!r} must be letters, digits, '_', '-' or '.' (it names folders)",
            key="pipeline_name",
        )
    dataset = dataset_name if dataset_name is not None else f"{normalize_identifier(name)}_dataset"
    if not dataset or normalize_identifier(dataset) != dataset:
        raise ConfigError(
            f"dataset_name {dataset!r} is not a snake_case identifier; "
            f"try {normalize_identifier(dataset or 'dataset')!r}",
            key="dataset_name",
        )
    resolved = resolve(destination)
    folder = Path(pipelines_dir) if pipelines_dir is not None else DEFAULT_PIPELINES_DIR
    Progress(progress)  # validates the mode now rather than mid-run
    return Pipeline(name, resolved, dataset, folder.expanduser(), progress)


__all__ = ["Pipeline", "SchemaContract", "pipeline"]
