"""Extract: run resources and hand their items, one by one, to a sink.

`FileSink` stores items in the package's `extracted/` folder (for `pipeline.extract()` on its
own): each item is pickled at once (pickle keeps Python types exactly: big ints, decimals,
datetimes, bytes), Arrow tables and DataFrames go to Arrow IPC files. `NormalizingSink` feeds
the normalizer directly (for `pipeline.run()`). Either way an item is consumed when it is
yielded, so memory stays flat and a generator that reuses and mutates one dict still stores each
state it yielded. Resources marked `parallelized=True` run in threads feeding a bounded queue.
"""

from __future__ import annotations

import copy
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa

from ladle import crash_points
from ladle.errors import ExtractError, ItemNotSerializable, LadleError
from ladle.extract.column_hints import columns_from_hint, key_list
from ladle.extract.resource import Resource
from ladle.extract.resource_state import ExtractionState
from ladle.extract.source import Source
from ladle.extract.write_disposition import check_merge_hints
from ladle.load.package import PackageFile, file_stem
from ladle.normalize.arrow_items import as_arrow
from ladle.normalize.normalizer import PackageNormalizer, as_records
from ladle.pipeline.progress import Progress
from ladle.schema.naming import normalize_identifier
from ladle.state.context import current_resource

RECORDS_PER_FILE = 200_000
QUEUE_SIZE = 64


@dataclass(frozen=True)
class SourceSettings:
    """What a source contributes to each of its tables' hints."""

    name: str
    max_table_nesting: int | None = None
    schema_contract: dict[str, str] | None = None

    @classmethod
    def of(cls, source: Source) -> SourceSettings:
        contract = source.schema_contract
        return cls(source.name, source.max_table_nesting, contract.to_dict() if contract else None)


class _TableFiles:
    """The open extract files of one table: pickle frames for records, IPC for Arrow."""

    def __init__(self, folder: Path, table: str) -> None:
        self.folder = folder
        self.table = table
        self.files: list[PackageFile] = []
        self._records: IO[bytes] | None = None
        self._record_count = 0
        self._arrow: pa.ipc.RecordBatchStreamWriter | None = None
        self._arrow_schema: pa.Schema | None = None
        self._arrow_path: Path | None = None
        self._arrow_rows = 0
        self._seq = 0

    def write_records(self, item: Any, count: int) -> None:
        if self._records is None or self._record_count >= RECORDS_PER_FILE:
            self._close_records()
            self._records = self._open("pkl").open("wb")
        self._records.write(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        self._record_count += count

    def write_arrow(self, table: pa.Table) -> None:
        if self._arrow is None or not table.schema.equals(self._arrow_schema):
            self._close_arrow()
            self._arrow_path = self._open("arrow")
            self._arrow = pa.ipc.new_stream(str(self._arrow_path), table.schema)
            self._arrow_schema = table.schema
        self._arrow.write_table(table)
        self._arrow_rows += table.num_rows

    def _open(self, suffix: str) -> Path:
        self._seq += 1
        return self.folder / f"{file_stem(self.table)}.{self._seq}.{suffix}"

    def _close_records(self) -> None:
        if self._records is not None:
            name = Path(str(self._records.name)).name
            self._records.close()
            self.files.append(
                PackageFile(f"extracted/{name}", self.table, "records", self._record_count)
            )
        self._records, self._record_count = None, 0

    def _close_arrow(self) -> None:
        if self._arrow is not None and self._arrow_path is not None:
            self._arrow.close()
            name = self._arrow_path.name
            self.files.append(
                PackageFile(f"extracted/{name}", self.table, "arrow", self._arrow_rows)
            )
        self._arrow, self._arrow_rows = None, 0

    def close(self) -> list[PackageFile]:
        self._close_records()
        self._close_arrow()
        return self.files


class ItemSink(Protocol):
    """Where extracted items go."""

    def records(self, table: str, hints: dict[str, Any], item: Any, count: int) -> None: ...

    def arrow(self, table: str, hints: dict[str, Any], data: pa.Table) -> None: ...

    def close(self) -> list[PackageFile]: ...


class FileSink:
    """Items into files of the package's `extracted/` folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tables: dict[str, _TableFiles] = {}

    def _files(self, table: str) -> _TableFiles:
        files = self._tables.get(table)
        if files is None:
            files = self._tables[table] = _TableFiles(self.folder, table)
        return files

    def records(self, table: str, hints: dict[str, Any], item: Any, count: int) -> None:
        try:
            self._files(table).write_records(item, count)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            raise ItemNotSerializable(
                f"resource '{hints['resource']}' yielded an item that cannot be stored "
                f"({type(exc).__name__}: {exc}); yield dicts of JSON-like values",
                resource=hints["resource"],
            ) from exc

    def arrow(self, table: str, hints: dict[str, Any], data: pa.Table) -> None:
        self._files(table).write_arrow(data)

    def close(self) -> list[PackageFile]:
        return [f for table in self._tables.values() for f in table.close()]


class NormalizingSink:
    """Items straight into the normalizer: no extracted files, no second read."""

    def __init__(self, normalizer: PackageNormalizer) -> None:
        self.normalizer = normalizer

    def records(self, table: str, hints: dict[str, Any], item: Any, count: int) -> None:
        run = self.normalizer.root_table(table, hints)
        if type(item) is dict:
            run.add_record(item)
        else:
            run.add_records(as_records(item))

    def arrow(self, table: str, hints: dict[str, Any], data: pa.Table) -> None:
        run = self.normalizer.root_table(table, hints)
        for batch in data.to_batches():
            run.add_arrow(batch)

    def close(self) -> list[PackageFile]:
        return []


class Extractor:
    """Runs the selected resources (and the parents they need) into a sink."""

    def __init__(
        self,
        sink: ItemSink,
        settings: SourceSettings,
        progress: Progress,
        state: ExtractionState | None = None,
    ) -> None:
        self.sink = sink
        self.settings = settings
        self.progress = progress
        self.state = state or ExtractionState(settings.name, {})
        self.table_hints: dict[str, dict[str, Any]] = {}

    def extract(self, source: Source) -> list[PackageFile]:
        needed = _needed_resources(source)
        children: dict[str, list[Resource]] = {}
        for item in needed:
            if item.parent is not None:
                children.setdefault(item.parent.name, []).append(item)
        for item in needed:
            # A selected resource that yields nothing still takes part: `replace` must empty it.
            if item.selected and not callable(item.table_name):
                table = normalize_identifier(item.table_name)
                self.table_hints.setdefault(table, self._hints_of(item))
        roots = [r for r in needed if r.parent is None]
        serial = [r for r in roots if not r.parallelized]
        parallel = [r for r in roots if r.parallelized]
        try:
            self._run_parallel(parallel, children, serial)
        finally:
            files = self.sink.close()
        return files

    def _run_parallel(
        self, parallel: list[Resource], children: dict[str, list[Resource]], serial: list[Resource]
    ) -> None:
        if not parallel:
            for root in serial:
                for resource, item in _walk(root, children, self.state):
                    self._write(resource, item)
            return
        items: queue.Queue[tuple[Resource, Any] | BaseException | None] = queue.Queue(QUEUE_SIZE)
        stop = threading.Event()

        def produce(root: Resource) -> None:
            try:
                for resource, item in _walk(root, children, self.state):
                    if stop.is_set():
                        return
                    # A snapshot: the generator may reuse and mutate the dict it yielded.
                    items.put((resource, copy.deepcopy(item)))
            except BaseException as exc:  # handed to the writing thread, which re-raises it
                items.put(exc)
            finally:
                items.put(None)

        with ThreadPoolExecutor(len(parallel), thread_name_prefix="ladle-extract") as pool:
            for root in parallel:
                pool.submit(produce, root)
            try:
                for root in serial:
                    for resource, item in _walk(root, children, self.state):
                        self._write(resource, item)
                self._drain(items, len(parallel))
            finally:
                stop.set()
                while not items.empty():  # unblock producers waiting on a full queue
                    items.get_nowait()

    def _drain(self, items: queue.Queue[Any], producers: int) -> None:
        finished = 0
        while finished < producers:
            got = items.get()
            if got is None:
                finished += 1
            elif isinstance(got, BaseException):
                raise got
            else:
                self._write(*got)

    def _write(self, resource: Resource, item: Any) -> None:
        if not resource.selected:
            return
        table_name = resource.table_name
        if callable(table_name):
            self._write_dispatched(resource, item, table_name)
            return
        self._write_to(resource, table_name, item)

    def _write_dispatched(self, resource: Resource, item: Any, pick: Callable[[Any], str]) -> None:
        records = item if isinstance(item, list) else [item]
        for record in records:
            try:
                table_name = pick(record)
            except Exception as exc:
                raise ExtractError(
                    f"resource '{resource.name}': table_name function raised "
                    f"{type(exc).__name__}: {exc}",
                    resource=resource.name,
                ) from exc
            self._write_to(resource, table_name, record)

    def _write_to(self, resource: Resource, table_name: str, item: Any) -> None:
        if crash_points.ARMED:
            crash_points.reached("extract")
        table = normalize_identifier(table_name)
        hints = self.table_hints.get(table)
        if hints is None:
            hints = self.table_hints[table] = self._hints_of(resource)
        if type(item) is dict:  # the common case first
            self.sink.records(table, hints, item, 1)
            self.progress.add("extract", table, 1)
            return
        arrow = as_arrow(item)
        if arrow is not None:
            self.sink.arrow(table, hints, arrow)
            self.progress.add("extract", table, arrow.num_rows)
            return
        count = len(item) if isinstance(item, list) else 1
        self.sink.records(table, hints, item, count)
        self.progress.add("extract", table, count)

    def _hints_of(self, resource: Resource) -> dict[str, Any]:
        hints = resource.hints
        contract = hints.schema_contract.to_dict() if hints.schema_contract else None
        nesting = hints.max_table_nesting
        table_hints = {
            "resource": resource.name,
            "write_disposition": hints.write_disposition,
            "merge_strategy": hints.merge_strategy,
            "primary_key": key_list(hints.primary_key),
            "merge_key": key_list(hints.merge_key),
            "columns": columns_from_hint(hints.columns, resource.name),
            "max_table_nesting": nesting
            if nesting is not None
            else self.settings.max_table_nesting,
            "schema_contract": contract or self.settings.schema_contract,
        }
        check_merge_hints(table_hints)
        return table_hints


def _needed_resources(source: Source) -> list[Resource]:
    """Selected resources plus every parent a selected transformer feeds on."""
    needed: dict[str, Resource] = {}
    for item in source.selected_resources.values():
        chain: Resource | None = item
        while chain is not None and chain.name not in needed:
            needed[chain.name] = chain
            chain = chain.parent
    return [r for name, r in source.resources.items() if name in needed]


def _walk(
    resource: Resource,
    children: dict[str, list[Resource]],
    state: ExtractionState,
    parent_item: Any = None,
) -> Iterator[tuple[Resource, Any]]:
    """(resource, item) for a resource and, depth first, the transformers fed by each item.

    The resource's context (`ladle.state()`) is set around each step of its generator only:
    the generator pauses at every yield, and a transformer runs in between."""
    run = state.run_of(resource)
    items: Iterator[Any] | None = None
    while True:
        token = current_resource.set(run.context)
        try:
            if items is None:  # inside the try: a plain function raises when called
                items = resource.items(parent_item, run)
            item = next(items)
        except StopIteration:
            return
        except LadleError:
            raise
        except Exception as exc:
            raise ExtractError(
                f"resource '{resource.name}' raised {type(exc).__name__}: {exc}",
                resource=resource.name,
            ) from exc
        finally:
            current_resource.reset(token)
        yield resource, item
        for child in children.get(resource.name, ()):
            yield from _walk(child, children, state, item)
