"""`ladle.config` / `ladle.secrets`: environment first, then `.ladle/*.toml`; secrets stay masked.

A key `sources.crm.api_key` is read from `SOURCES__CRM__API_KEY`, then from
`.ladle/config.toml` (config) or `.ladle/secrets.toml` (secrets) in the current directory.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ladle

SECRET_VALUE = "sk-live-5f3a9c1e7d2b4a60-DO-NOT-LEAK"
PipelineMaker = Callable[..., ladle.Pipeline]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project dir as cwd, with no ladle-looking variables in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("SOURCES__CRM__BASE_URL", "SOURCES__CRM__API_KEY", "SOURCES__CRM__MISSING"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".ladle").mkdir()
    return tmp_path


def write_config(project: Path, text: str) -> Path:
    path = project / ".ladle" / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_secrets(project: Path, text: str) -> Path:
    path = project / ".ladle" / "secrets.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def new_pipeline(project: Path) -> PipelineMaker:
    def make(name: str = "config_test") -> ladle.Pipeline:
        return ladle.pipeline(
            name,
            destination=ladle.destinations.duckdb(str(project / "x.duckdb")),
            pipelines_dir=str(project / "pipelines"),
            progress=False,
        )

    return make


# -- config --------------------------------------------------------------------------------------


def test_config_from_env_var(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "https://env.example.com")
    assert ladle.config["sources.crm.base_url"] == "https://env.example.com"


def test_config_from_toml(project: Path) -> None:
    write_config(project, '[sources.crm]\nbase_url = "https://toml.example.com"\n')
    assert ladle.config["sources.crm.base_url"] == "https://toml.example.com"


def test_env_var_wins_over_toml(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(project, '[sources.crm]\nbase_url = "https://toml.example.com"\n')
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "https://env.example.com")

    assert ladle.config["sources.crm.base_url"] == "https://env.example.com"
    monkeypatch.delenv("SOURCES__CRM__BASE_URL")
    assert ladle.config["sources.crm.base_url"] == "https://toml.example.com"


def test_config_reads_the_toml_of_the_current_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(project, '[sources.crm]\nbase_url = "https://one.example.com"\n')
    other = project / "other"
    (other / ".ladle").mkdir(parents=True)
    (other / ".ladle" / "config.toml").write_text('[sources.crm]\nbase_url = "https://two"\n')

    assert ladle.config["sources.crm.base_url"] == "https://one.example.com"
    monkeypatch.chdir(other)
    assert ladle.config["sources.crm.base_url"] == "https://two"
    # A later edit of the file is seen (no stale cache).
    (other / ".ladle" / "config.toml").write_text('[sources.crm]\nbase_url = "https://three"\n')
    assert ladle.config["sources.crm.base_url"] == "https://three"


NESTED_TOML = """
title = "top"

[sources.crm]
base_url = "https://crm.example.com"
page_size = 100
verify = true
regions = ["eu", "us"]

[sources.crm.retry]
attempts = 3
backoff = 1.5

[sources.crm.retry.codes]
http = [429, 503]

[destination]
duckdb.path = "data/crm.duckdb"
"""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("title", "top"),
        ("sources.crm.base_url", "https://crm.example.com"),
        ("sources.crm.page_size", 100),
        ("sources.crm.verify", True),
        ("sources.crm.regions", ["eu", "us"]),
        ("sources.crm.retry.attempts", 3),
        ("sources.crm.retry.backoff", 1.5),
        ("sources.crm.retry.codes.http", [429, 503]),
        ("destination.duckdb.path", "data/crm.duckdb"),
        ("sources.crm.retry", {"attempts": 3, "backoff": 1.5, "codes": {"http": [429, 503]}}),
    ],
)
def test_nested_toml_tables(project: Path, key: str, expected: Any) -> None:
    write_config(project, NESTED_TOML)
    assert ladle.config[key] == expected
    assert ladle.config.get(key) == expected
    assert key in ladle.config


@pytest.mark.parametrize(
    "key",
    [
        "sources.crm.missing",
        "sources.crm.base_url.deeper",  # below a value that is not a table
        "sources.hubspot.base_url",
        "nothing",
    ],
)
def test_missing_config_key_names_env_var_and_toml(project: Path, key: str) -> None:
    write_config(project, NESTED_TOML)
    env_var = "__".join(part.upper() for part in key.split("."))

    with pytest.raises(ladle.ConfigKeyMissing) as raised:
        ladle.config[key]

    err = raised.value
    assert isinstance(err, ladle.ConfigError)
    assert isinstance(err, KeyError)
    assert (err.key, err.env_var) == (key, env_var)
    message = str(err)
    assert not message.startswith(("'", '"'))  # not KeyError's repr of the message
    assert key in message
    assert env_var in message
    assert str(project / ".ladle" / "config.toml") in message
    assert key not in ladle.config


def test_missing_secret_names_env_var_and_secrets_toml(project: Path) -> None:
    with pytest.raises(ladle.ConfigKeyMissing) as raised:
        ladle.secrets["sources.crm.api_key"]

    message = str(raised.value)
    assert "SOURCES__CRM__API_KEY" in message
    assert str(project / ".ladle" / "secrets.toml") in message
    assert raised.value.key == "sources.crm.api_key"


def test_missing_key_error_pickles(project: Path) -> None:
    with pytest.raises(ladle.ConfigKeyMissing) as raised:
        ladle.config["sources.crm.missing"]

    clone = pickle.loads(pickle.dumps(raised.value))

    assert type(clone) is ladle.ConfigKeyMissing
    assert str(clone) == str(raised.value)
    assert (clone.key, clone.env_var) == ("sources.crm.missing", "SOURCES__CRM__MISSING")


@pytest.mark.parametrize(
    ("store", "file_name"), [("config", "config.toml"), ("secrets", "secrets.toml")]
)
def test_malformed_toml_is_a_config_error_naming_the_file(
    project: Path, store: str, file_name: str
) -> None:
    path = project / ".ladle" / file_name
    # A duplicated key: invalid TOML, on lines that hold a secret.
    path.write_text(
        f'[sources.crm]\napi_key = "{SECRET_VALUE}"\napi_key = "{SECRET_VALUE}"\n',
        encoding="utf-8",
    )
    values = getattr(ladle, store)

    with pytest.raises(ladle.ConfigError) as raised:
        values["sources.crm.api_key"]

    assert str(path) in str(raised.value)
    assert SECRET_VALUE not in str(raised.value)
    with pytest.raises(ladle.ConfigError):
        values.get("sources.crm.api_key", "default")  # a broken file is not a missing key


@pytest.mark.parametrize(
    ("env", "toml", "default", "expected"),
    [
        (None, None, "fallback", "fallback"),
        (None, None, None, None),
        (None, None, 0, 0),
        (None, '[sources.crm]\nbase_url = "from toml"\n', "fallback", "from toml"),
        ("from env", None, "fallback", "from env"),
        ("from env", '[sources.crm]\nbase_url = "from toml"\n', "fallback", "from env"),
    ],
)
def test_config_get_with_default(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: str | None,
    toml: str | None,
    default: Any,
    expected: Any,
) -> None:
    if env is not None:
        monkeypatch.setenv("SOURCES__CRM__BASE_URL", env)
    if toml is not None:
        write_config(project, toml)

    assert ladle.config.get("sources.crm.base_url", default) == expected


def test_config_get_without_default_is_none(project: Path) -> None:
    assert ladle.config.get("sources.crm.missing") is None


def test_config_and_secrets_read_separate_files(project: Path) -> None:
    write_config(project, '[sources.crm]\nbase_url = "u"\n')
    write_secrets(project, f'[sources.crm]\napi_key = "{SECRET_VALUE}"\n')

    assert "sources.crm.api_key" not in ladle.config
    assert "sources.crm.base_url" not in ladle.secrets
    assert ladle.secrets["sources.crm.api_key"].reveal() == SECRET_VALUE


# -- secrets -------------------------------------------------------------------------------------


@pytest.fixture(params=["env", "toml"])
def api_key(request: pytest.FixtureRequest, project: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`ladle.secrets["sources.crm.api_key"]`, set through the env var or secrets.toml."""
    if request.param == "env":
        monkeypatch.setenv("SOURCES__CRM__API_KEY", SECRET_VALUE)
    else:
        write_secrets(project, f'[sources.crm]\napi_key = "{SECRET_VALUE}"\n')
    return ladle.secrets["sources.crm.api_key"]


def test_secret_is_a_secret_and_reveals_its_value(api_key: Any) -> None:
    assert isinstance(api_key, ladle.Secret)
    assert api_key.reveal() == SECRET_VALUE
    assert api_key == ladle.Secret(SECRET_VALUE)
    assert api_key != SECRET_VALUE  # never equal to the plain string
    assert bool(api_key)
    assert pickle.loads(pickle.dumps(api_key)).reveal() == SECRET_VALUE


@pytest.mark.parametrize(
    "render",
    [
        pytest.param(repr, id="repr"),
        pytest.param(str, id="str"),
        pytest.param(lambda s: f"{s}", id="f-string"),
        pytest.param(lambda s: f"{s!r}", id="f-string-repr"),
        pytest.param(lambda s: f"{s=}", id="f-string-debug"),
        pytest.param(lambda s: "%s" % s, id="percent-s"),  # noqa: UP031
        pytest.param(lambda s: "%r" % s, id="percent-r"),  # noqa: UP031
        pytest.param(lambda s: "{}".format(s), id="format"),  # noqa: UP032
        pytest.param(lambda s: str([s]), id="in-list"),
        pytest.param(lambda s: str({"api_key": s}), id="in-dict"),
        pytest.param(lambda s: str((s,)), id="in-tuple"),
    ],
)
def test_secret_is_masked_when_rendered(api_key: Any, render: Callable[[Any], str]) -> None:
    text = render(api_key)
    assert SECRET_VALUE not in text
    assert "***" in text


def test_secret_is_masked_in_logging(api_key: Any, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.crm")
    with caplog.at_level(logging.DEBUG, logger="tests.crm"):
        logger.info("using key %s", api_key)
        logger.info("using key %r", api_key)
        logger.info("config %s", {"api_key": api_key})
        logger.info(f"f-string key {api_key}")
        logger.warning("as extra", extra={"api_key": api_key})

    assert len(caplog.records) == 5
    assert SECRET_VALUE not in caplog.text
    for record in caplog.records:
        assert SECRET_VALUE not in record.getMessage()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s %(api_key)s"))
    assert SECRET_VALUE not in handler.format(caplog.records[-1])


def test_secret_is_masked_in_exception_messages(api_key: Any) -> None:
    with pytest.raises(RuntimeError) as raised:
        raise RuntimeError(f"request with key {api_key} failed", api_key)

    assert SECRET_VALUE not in str(raised.value)
    assert SECRET_VALUE not in repr(raised.value)
    assert SECRET_VALUE not in raised.exconly()

    with pytest.raises(ladle.ExtractError) as extracted:
        ladle.pipeline(
            "masked", pipelines_dir="pipelines", destination="duckdb", progress=False
        ).extract(_failing_resource(api_key))
    assert SECRET_VALUE not in str(extracted.value)
    assert SECRET_VALUE not in repr(extracted.value)
    assert "***" in str(extracted.value)


def _failing_resource(api_key: Any) -> ladle.Resource:
    @ladle.resource
    def users() -> Iterator[dict[str, Any]]:
        raise PermissionError(f"401 for key {api_key}")
        yield {}  # pragma: no cover

    return users()


def test_secret_has_no_plain_attribute_to_leak(api_key: Any) -> None:
    assert not hasattr(api_key, "__dict__")
    assert SECRET_VALUE not in str(dir(api_key))
    assert SECRET_VALUE not in repr(vars(type(api_key)))


def test_nested_secret_table_masks_every_string(project: Path) -> None:
    write_secrets(
        project,
        f'[sources.crm.credentials]\nclient_id = "client-1"\nclient_secret = "{SECRET_VALUE}"\n'
        "port = 5432\n",
    )

    credentials = ladle.secrets["sources.crm.credentials"]

    assert credentials["client_secret"].reveal() == SECRET_VALUE
    assert isinstance(credentials["client_id"], ladle.Secret)
    # Everything read from the secrets store is masked, numbers too (revealed as text).
    assert credentials["port"].reveal() == "5432"
    assert SECRET_VALUE not in repr(credentials)
    assert SECRET_VALUE not in str(credentials)
    assert ladle.secrets["sources.crm.credentials.client_secret"].reveal() == SECRET_VALUE


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (f'[sources.crm]\ntokens = ["{SECRET_VALUE}", "other"]\n', "sources.crm.tokens"),
        (f'[sources.crm]\ntokens = ["{SECRET_VALUE}"]\n', "sources.crm"),
        (f'[[sources.crm.accounts]]\ntoken = "{SECRET_VALUE}"\n', "sources.crm.accounts"),
    ],
    ids=["list", "list-in-table", "array-of-tables"],
)
def test_secret_strings_inside_lists_are_masked(project: Path, toml: str, key: str) -> None:
    write_secrets(project, toml)

    value = ladle.secrets[key]

    assert SECRET_VALUE not in repr(value)
    assert SECRET_VALUE not in str(value)


def test_secrets_get_with_default(project: Path) -> None:
    assert ladle.secrets.get("sources.crm.api_key", "none") == "none"
    assert ladle.secrets.get("sources.crm.api_key") is None


# -- a secret used inside a source never lands anywhere ------------------------------------------


@ladle.source
def crm(api_key: Any = None) -> Any:
    api_key = api_key or ladle.secrets["sources.crm.api_key"]
    base_url = ladle.config.get("sources.crm.base_url", "https://crm.example.com")
    headers = {"Authorization": f"Bearer {api_key.reveal()}"}

    @ladle.resource(primary_key="id")
    def users() -> Iterator[list[dict[str, Any]]]:
        assert headers["Authorization"].endswith(SECRET_VALUE)  # the request would use it
        yield [
            {"id": 1, "name": "Ada", "source": base_url, "auth": {"scheme": "Bearer"}},
            {"id": 2, "name": "Grace", "source": base_url, "auth": {"scheme": "Bearer"}},
        ]

    @ladle.transformer(data_from=users)
    def user_details(page: list[dict[str, Any]], token: Any = api_key) -> Iterator[dict[str, Any]]:
        assert token.reveal() == SECRET_VALUE
        for user in page:
            yield {"user_id": user["id"], "key_used": str(token), "tags": ["a", "b"]}

    return users, user_details


def _files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _destination_dump(pipeline: ladle.Pipeline) -> str:
    """Every value of every table of the dataset (system tables included), as text."""
    with pipeline.sql_client() as client:
        tables = client.query(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{pipeline.dataset_name}'"
        )["table_name"].to_pylist()
        assert {"users", "user_details", "_ladle_loads", "_ladle_schemas"} <= set(tables)
        return "\n".join(
            str(client.query(f'SELECT * FROM "{table}"').to_pylist()) for table in tables
        )


@pytest.mark.parametrize("passed", ["looked-up", "passed-explicitly"])
def test_secret_used_in_a_source_never_lands_anywhere(
    api_key: Any, new_pipeline: PipelineMaker, project: Path, passed: str
) -> None:
    pipeline = new_pipeline()
    source = crm() if passed == "looked-up" else crm(api_key=ladle.secrets["sources.crm.api_key"])

    info = pipeline.run(source)

    assert info.row_counts == {"users": 2, "user_details": 2, "user_details__tags": 4}
    assert pipeline.dataset("SELECT key_used FROM user_details").to_pylist() == [
        {"key_used": "***"},
        {"key_used": "***"},
    ]
    # The working dir (packages, schemas), LoadInfo and the destination never see the value.
    assert _files_containing(project / "pipelines", SECRET_VALUE.encode()) == []
    assert SECRET_VALUE not in str(info)
    assert SECRET_VALUE not in repr(info)
    assert SECRET_VALUE not in str(info.asdict())
    assert SECRET_VALUE not in str(dataclasses.asdict(info))
    assert SECRET_VALUE not in _destination_dump(pipeline)
    assert SECRET_VALUE not in repr(pipeline)
    assert SECRET_VALUE not in pipeline.schema.to_json().decode()
    # The raw DuckDB file holds no copy of it either (it was never written).
    assert SECRET_VALUE.encode() not in (project / "x.duckdb").read_bytes()


def test_secret_yielded_as_a_value_is_rejected_and_not_kept(
    api_key: Any, new_pipeline: PipelineMaker, project: Path
) -> None:
    @ladle.resource
    def leaky() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "api_key": api_key}

    pipeline = new_pipeline()
    with pytest.raises(ladle.UnsupportedValue) as raised:
        pipeline.run(leaky())

    assert "column 'api_key'" in str(raised.value)
    assert SECRET_VALUE not in str(raised.value)
    assert _files_containing(project / "pipelines", SECRET_VALUE.encode()) == []
    assert pipeline.run().load_ids == ()
