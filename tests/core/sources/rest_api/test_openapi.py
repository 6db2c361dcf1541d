"""`ladle init --openapi` on every real-world spec: generate, import, list the resources, and
run each generated project against a local server that answers from the spec's examples."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import ladle
from ladle.cli import main
from ladle.sources.rest_api.local_api import LocalApi
from ladle.sources.rest_api.openapi.spec import Spec, load_spec
from tests.conftest import REALWORLD, needs_realworld
from tests.core.sources.rest_api.openapi_examples import routes_for

needs_openapi_specs = needs_realworld("openapi")
TOKEN = "sk_test_never_shown_4242"

# spec file, project name, resources it must yield, a few of them, the secret key it reads
SPECS = [
    ("petstore_openapi3.yaml", "petstore", 2, {"find_by_status"}, "api_key"),
    ("pokeapi_openapi.yml", "pokeapi", 94, {"berry", "pokemon", "pokemon_details"}, None),
    ("xero_projects.yaml", "xero", 4, {"projects", "tasks", "time"}, "access_token"),
    ("stripe_spec3_2022-04-12.json", "stripe", 79, {"customers", "charges"}, "token"),
]


@pytest.fixture
def generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`generated(spec_file, name)`: the project written by `ladle init`, imported."""
    added: list[str] = []

    def make(spec_file: str, name: str) -> tuple[Path, ModuleType]:
        spec = tmp_path / spec_file
        shutil.copy(REALWORLD / "openapi" / spec_file, spec)
        project = tmp_path / name
        assert main(["init", "--openapi", str(spec), "--name", name, "--dir", str(project)]) == 0
        monkeypatch.chdir(project)  # .ladle/config.toml and secrets.toml are read from here
        module_name = f"{name}_source"
        loader = importlib.util.spec_from_file_location(module_name, project / f"{name}_source.py")
        assert loader is not None
        assert loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        added.append(module_name)
        loader.loader.exec_module(module)
        return project, module

    yield make
    for name in added:
        sys.modules.pop(name, None)


@needs_openapi_specs
@pytest.mark.parametrize(
    ("spec_file", "name", "count", "some", "secret"), SPECS, ids=[s[1] for s in SPECS]
)
def test_generate_import_and_list(
    generated: Any,
    spec_file: str,
    name: str,
    count: int,
    some: set[str],
    secret: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, module = generated(spec_file, name)
    printed = capsys.readouterr().out
    source = getattr(module, f"{name}_source")()
    assert isinstance(source, ladle.Source)
    assert len(source.resources) == count, sorted(source.resources)
    assert some <= set(source.resources)
    details = [r for r in source.resources.values() if r.name.endswith("_details")]
    assert all(not r.selected for r in details)  # a request per record: opt in
    assert f"{count} resources: " in printed
    readme = (project / "README.md").read_text()
    assert f"## Resources ({count})" in readme
    assert "## Skipped endpoints" in readme
    secrets = (project / ".ladle" / "secrets.toml").read_text()
    if secret:
        assert f'{secret} = "<' in secrets  # a placeholder, to fill in
        assert (
            f'ladle.secrets["sources.{name}.{secret}"]'
            in (project / f"{name}_source.py").read_text()
        )


@needs_openapi_specs
@pytest.mark.parametrize(
    ("spec_file", "name", "resources"),
    [
        ("petstore_openapi3.yaml", "petstore", None),
        ("pokeapi_openapi.yml", "pokeapi", ("berry", "pokemon", "encounters", "pokemon_details")),
        ("xero_projects.yaml", "xero", None),
        ("stripe_spec3_2022-04-12.json", "stripe", ("customers", "charges", "tax_ids", "sources")),
    ],
    ids=["petstore", "pokeapi", "xero", "stripe"],
)
def test_generated_project_runs_against_a_local_api(
    generated: Any,
    spec_file: str,
    name: str,
    resources: tuple[str, ...] | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="ladle")
    _project, module = generated(spec_file, name)
    spec = Spec(load_spec(str(REALWORLD / "openapi" / spec_file)))
    server_path = spec.base_url() or ""
    prefix = server_path.split("://", 1)[-1].partition("/")[2]
    with LocalApi(routes_for(spec, prefix=f"/{prefix}".rstrip("/"))) as api:
        monkeypatch.setenv(f"SOURCES__{name.upper()}__BASE_URL", f"{api.url}/{prefix}")
        for key in ("TOKEN", "API_KEY", "ACCESS_TOKEN"):
            monkeypatch.setenv(f"SOURCES__{name.upper()}__{key}", TOKEN)
        monkeypatch.setenv(f"SOURCES__{name.upper()}__XERO_TENANT_ID", "tenant-1")
        source = getattr(module, f"{name}_source")()
        if resources:
            source = source.with_resources(*resources)
        pipeline = ladle.pipeline(
            name,
            destination=ladle.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
            progress=False,
        )
        info = pipeline.run(source)
    expected = set(resources or source.resources)
    assert expected <= set(info.row_counts), info.row_counts
    assert all(info.row_counts[table] >= 1 for table in expected)
    assert api.requests, "the project must have called the local API"
    if name != "pokeapi":
        assert all(TOKEN in str(request.headers) for request in api.requests)
    if name == "xero":
        assert all(r.headers.get("Xero-Tenant-Id") == "tenant-1" for r in api.requests)
    assert TOKEN not in caplog.text
    assert TOKEN not in pipeline.trace_path.read_text()


@needs_openapi_specs
def test_pokeapi_project_loads_a_real_pokeapi_answer(generated: Any, tmp_path: Path) -> None:
    project, module = generated("pokeapi_openapi.yml", "pokeapi")
    berries = (REALWORLD / "json" / "pokeapi_berry_list.json").read_text()
    with LocalApi({"/api/v2/berry/": berries}) as api:
        (project / ".ladle" / "config.toml").write_text(
            f'[sources.pokeapi]\nbase_url = "{api.url}"\n'
        )
        pipeline = ladle.pipeline("pokeapi", pipelines_dir=str(tmp_path / "work"), progress=False)
        info = pipeline.run(module.pokeapi_source().with_resources("berry"))
    assert info.row_counts == {"berry": 68}
    assert pipeline.dataset("SELECT name FROM berry ORDER BY name LIMIT 1").to_pylist() == [
        {"name": "aguav"}
    ]


@needs_openapi_specs
def test_stripe_project_loads_real_stripe_objects(
    generated: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    _project, module = generated("stripe_spec3_2022-04-12.json", "stripe")
    fixtures = json.loads((REALWORLD / "json" / "stripe_fixtures3.json").read_text())["resources"]

    def listing(kind: str, url: str) -> dict[str, Any]:
        return {"object": "list", "data": [fixtures[kind]], "has_more": False, "url": url}

    routes = {
        "/v1/customers": listing("customer", "/v1/customers"),
        "/v1/charges": listing("charge", "/v1/charges"),
        "/v1/customers/{id}/tax_ids": listing("tax_id", "/v1/customers/x/tax_ids"),
    }
    with LocalApi(routes) as api:
        monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", api.url)
        monkeypatch.setenv("SOURCES__STRIPE__TOKEN", TOKEN)
        pipeline = ladle.pipeline("stripe", pipelines_dir=str(tmp_path / "work"), progress=False)
        source = module.stripe_source().with_resources("customers", "charges", "tax_ids")
        info = pipeline.run(source)
    assert {k: v for k, v in info.row_counts.items() if "__" not in k} == {
        "customers": 1,
        "charges": 1,
        "tax_ids": 1,
    }
    assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert f"/v1/customers/{fixtures['customer']['id']}/tax_ids" in [r.path for r in api.requests]
    assert pipeline.dataset("SELECT _customers_id FROM tax_ids").to_pylist() == [
        {"_customers_id": fixtures["customer"]["id"]}
    ]
    columns = {c.name: c.data_type for c in pipeline.schema.tables["charges"].columns.values()}
    assert columns["amount"] == "bigint"  # a column hint from the spec's schema


@needs_openapi_specs
def test_the_console_script_writes_a_project(tmp_path: Path) -> None:
    spec = tmp_path / "petstore_openapi3.yaml"
    shutil.copy(REALWORLD / "openapi" / spec.name, spec)
    ladle_script = Path(sys.executable).with_name("ladle")
    done = subprocess.run(
        [str(ladle_script), "init", "--openapi", str(spec), "--name", "petstore", "--dir", "pets"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "2 resources: find_by_status, find_by_tags" in done.stdout
    assert (tmp_path / "pets" / "petstore_source.py").is_file()
