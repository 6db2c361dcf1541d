"""PostgreSQL credentials: a connection string or parts, with the password kept as a `Secret`.

Resolution order for each part: the explicit argument, then the connection string / table given
as `credentials`, then `ladle.secrets["destination.postgres.credentials"]` (the environment
variable `DESTINATION__POSTGRES__CREDENTIALS`, then `.ladle/secrets.toml`). A password that is
still missing is looked up as `destination.postgres.credentials.password`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Union

from ladle.configuration import Secret, secrets
from ladle.errors import ConfigError

SECRET_KEY = "destination.postgres.credentials"
DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 10  # seconds; libpq waits forever by default

# Keys of a credentials table other than libpq's own names.
_ALIASES = {"dbname": "database", "username": "user"}
_PARTS = ("host", "port", "database", "user", "password")

CredentialsLike = Union[str, Secret, Mapping[str, Any], "PostgresCredentials"]


@dataclass(frozen=True, repr=False)
class PostgresCredentials:
    """Where and as whom to connect. `repr` and `str` never show the password."""

    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: Secret | None = None
    # Other libpq connection parameters (sslmode, options, ...), passed through as given.
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        credentials: CredentialsLike | None = None,
        *,
        host: str | None = None,
        port: int | str | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | Secret | None = None,
    ) -> PostgresCredentials:
        parts = {"host": host, "port": port, "database": database, "user": user}
        if credentials is None:
            if password is None and all(value is None for value in parts.values()):
                # Nothing given: the secret must exist (ConfigKeyMissing names env var and toml).
                credentials = secrets[SECRET_KEY]
            else:
                credentials = secrets.get(SECRET_KEY)
        base = cls.parse(credentials) if credentials is not None else cls()
        overrides: dict[str, Any] = {k: v for k, v in parts.items() if v is not None}
        if "port" in overrides:
            overrides["port"] = _port(overrides["port"])
        if password is not None:
            overrides["password"] = password if isinstance(password, Secret) else Secret(password)
        resolved = replace(base, **overrides)
        if resolved.password is None:
            stored = secrets.get(f"{SECRET_KEY}.password")
            if isinstance(stored, Secret):
                resolved = replace(resolved, password=stored)
        return resolved

    @classmethod
    def parse(cls, credentials: CredentialsLike) -> PostgresCredentials:
        """Credentials from a connection string (URL or `key=value ...`) or a table of parts."""
        if isinstance(credentials, PostgresCredentials):
            return credentials
        if isinstance(credentials, Mapping):
            return cls._from_mapping(credentials)
        text = credentials.reveal() if isinstance(credentials, Secret) else credentials
        if not isinstance(text, str):
            raise ConfigError(
                f"PostgreSQL credentials must be a connection string or a table of parts, "
                f"not {type(text).__name__}",
                key=SECRET_KEY,
            )
        return cls._from_mapping(_parse_conninfo(text))

    @classmethod
    def _from_mapping(cls, values: Mapping[str, Any]) -> PostgresCredentials:
        known: dict[str, Any] = {}
        options: dict[str, str] = {}
        for raw_key, value in values.items():
            key = _ALIASES.get(raw_key, raw_key)
            if key == "password":
                known[key] = value if isinstance(value, Secret) else Secret(str(value))
            elif key in _PARTS:
                known[key] = _plain(value)
            else:
                options[key] = str(_plain(value))
        if known.get("port") is not None:
            known["port"] = _port(known["port"])
        return cls(**known, options=options)

    def connect_kwargs(self) -> dict[str, str | int]:
        """libpq connection parameters, password revealed: pass them straight to the driver."""
        kwargs: dict[str, str | int] = {
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "ladle",
        }
        kwargs.update(self.options)
        for key, value in (
            ("host", self.host),
            ("port", self.port),
            ("dbname", self.database),
            ("user", self.user),
        ):
            if value is not None:
                kwargs[key] = value
        if self.password is not None:
            kwargs["password"] = self.password.reveal()
        return kwargs

    def describe(self) -> str:
        """`user@host:port/database`, for messages: never the password."""
        user = f"{self.user}@" if self.user else ""
        return f"{user}{self.host or 'localhost'}:{self.port or DEFAULT_PORT}/{self.database or ''}"

    def scrub(self, text: str) -> str:
        """`text` with every occurrence of the password masked (for driver messages)."""
        if self.password:
            text = text.replace(self.password.reveal(), "***")
        return text

    def __repr__(self) -> str:
        masked = ", password='***'" if self.password is not None else ""
        return f"PostgresCredentials('{self.describe()}'{masked})"

    __str__ = __repr__


def _parse_conninfo(text: str) -> dict[str, str]:
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        raise ConfigError(
            'the postgres destination needs psycopg: pip install "ladle[postgres]"',
            key="destination",
        ) from exc

    try:
        parsed = conninfo_to_dict(text)
    except Exception:
        # The driver's message may quote the string, password included: give our own.
        raise ConfigError(
            "the PostgreSQL connection string is not valid: use "
            "'postgresql://user:password@host:5432/database' or 'host=... dbname=... user=...'",
            key=SECRET_KEY,
        ) from None
    return {key: str(value) for key, value in parsed.items() if value is not None}


def _plain(value: Any) -> Any:
    """Tables read from secrets.toml mask every string; host and user are not secret."""
    return value.reveal() if isinstance(value, Secret) else value


def _port(value: Any) -> int:
    try:
        port = int(_plain(value))
    except (TypeError, ValueError):
        raise ConfigError(
            # Never echo the value: a '/' in an unescaped password makes libpq read it as the port.
            "PostgreSQL port is not a number (percent-encode special characters such as '/' "
            "in the password of a connection string)",
            key=f"{SECRET_KEY}.port",
        ) from None
    return port
