"""PostgreSQL: `ladle.destinations.postgres(...)` or `destination="postgres"`.

Each dataset is a PostgreSQL schema; a package loads with COPY in one transaction. psycopg is
imported only when a client connects (or a connection string is parsed), so `import ladle`
does not need it: install it with `pip install "ladle[postgres]"`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ladle.configuration import Secret
from ladle.destinations.base import Capabilities, Destination, DestinationClient
from ladle.destinations.postgres.credentials import CredentialsLike, PostgresCredentials
from ladle.errors import ConfigError

if TYPE_CHECKING:
    from ladle.destinations.postgres.client import PostgresClient

MAX_IDENTIFIER_LENGTH = 63  # bytes (NAMEDATALEN - 1); longer names are silently truncated

CAPABILITIES = Capabilities(
    transactions=True,
    merge=True,
    max_identifier_length=MAX_IDENTIFIER_LENGTH,
    preferred_file_format="arrow",
    max_decimal_precision=38,
)


class PostgresDestination(Destination):
    """PostgreSQL from a connection string (`postgresql://user:password@host:5432/db`) or parts.

    `ladle.destinations.postgres(...)` is this class. Without arguments the credentials come
    from `ladle.secrets["destination.postgres.credentials"]` (env
    `DESTINATION__POSTGRES__CREDENTIALS`, then `.ladle/secrets.toml`); explicit parts override
    what the string gives. The password is a `ladle.Secret`, never shown in a repr, error or
    log. psycopg is imported only when connecting.
    """

    name = "postgres"
    capabilities = CAPABILITIES

    def __init__(
        self,
        credentials: CredentialsLike | None = None,
        *,
        host: str | None = None,
        port: int | str | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | Secret | None = None,
    ) -> None:
        self.credentials = PostgresCredentials.resolve(
            credentials, host=host, port=port, database=database, user=user, password=password
        )

    def client(self, pipeline_name: str, dataset_name: str) -> DestinationClient:
        return self.connect(dataset_name)

    def connect(self, dataset_name: str) -> PostgresClient:
        if len(dataset_name.encode()) > MAX_IDENTIFIER_LENGTH:
            raise ConfigError(
                f"dataset_name {dataset_name!r} is longer than PostgreSQL's "
                f"{MAX_IDENTIFIER_LENGTH}-byte limit for schema names",
                key="dataset_name",
            )
        try:
            from ladle.destinations.postgres.client import PostgresClient, connect
        except ImportError as exc:
            raise ConfigError(
                'the postgres destination needs psycopg: pip install "ladle[postgres]"',
                key="destination",
            ) from exc
        return PostgresClient(connect(self.credentials), dataset_name)

    def __repr__(self) -> str:
        return f"<destination postgres {self.credentials.describe()}>"


__all__ = ["CAPABILITIES", "CredentialsLike", "PostgresCredentials", "PostgresDestination"]
