"""Explicit configuration look-ups: `ladle.config["a.b"]` and `ladle.secrets["a.b"]`.

A key `sources.crm.api_key` is read from the environment variable `SOURCES__CRM__API_KEY` first,
then from `.ladle/config.toml` (config) or `.ladle/secrets.toml` (secrets) in the current
directory, as `[sources.crm] api_key = "..."`. Nothing is injected into function signatures.
Secret values come back as `Secret`, which masks itself in every repr, str and log line;
`.reveal()` gives the plain value where it is really needed (e.g. an HTTP header).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ladle.errors import ConfigError, ConfigKeyMissing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MASK = "***"


class Secret:
    """A secret value that never shows itself in a repr, str, log, error or trace."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value; call it only where the value leaves ladle (e.g. a request header)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


def env_var_name(key: str) -> str:
    """`sources.crm.api_key` -> `SOURCES__CRM__API_KEY`."""
    return "__".join(part.upper() for part in key.split("."))


class ConfigStore:
    """Reads keys from the environment, then from one toml file under `.ladle/`."""

    def __init__(self, file_name: str, *, secret: bool) -> None:
        self._file_name = file_name
        self._secret = secret

    @property
    def path(self) -> Path:
        return Path.cwd() / ".ladle" / self._file_name

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except ConfigKeyMissing:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key)
        if value is None:
            kind = "secret" if self._secret else "config value"
            raise ConfigKeyMissing(
                f"{kind} '{key}' is not set: set the environment variable {env_var_name(key)} "
                f"or add it to {self.path} as [{key.rpartition('.')[0] or '...'}] "
                f"{key.rpartition('.')[2]} = ...",
                key=key,
                env_var=env_var_name(key),
            )
        if self._secret:
            return _as_secret(value)
        return value

    def _lookup(self, key: str) -> Any:
        from_env = os.environ.get(env_var_name(key))
        if from_env is not None:
            return from_env
        node: Any = self._read_file()
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def _read_file(self) -> dict[str, Any]:
        path = self.path
        if not path.is_file():
            return {}
        try:
            with path.open("rb") as handle:
                loaded: dict[str, Any] = tomllib.load(handle)
        except (tomllib.TOMLDecodeError, OSError) as exc:
            # The parser's message quotes no values, but keep ours to the file and position.
            raise ConfigError(
                f"cannot read {path}: {type(exc).__name__}: {exc}", path=str(path)
            ) from None
        return loaded

    def __repr__(self) -> str:
        return f"<ladle {'secrets' if self._secret else 'config'} from env and {self.path}>"


def _as_secret(value: Any) -> Any:
    """Every scalar becomes a Secret (numbers as their text); tables and lists keep their shape."""
    if isinstance(value, Mapping):
        return {key: _as_secret(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_secret(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    return Secret(value if isinstance(value, str) else str(value))


config = ConfigStore("config.toml", secret=False)
secrets = ConfigStore("secrets.toml", secret=True)
