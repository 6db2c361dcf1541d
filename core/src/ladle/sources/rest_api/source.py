"""`rest_api_source(config)`: a REST API as a ladle source, by configuration (see `config`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from ladle.errors import ConfigError, ExtractError
from ladle.extract.incremental import Incremental
from ladle.extract.resource import Resource, resource
from ladle.extract.source import Source, source_of_resources
from ladle.schema.naming import normalize_identifier
from ladle.sources.rest_api import json_path
from ladle.sources.rest_api.auth import auth_from_config
from ladle.sources.rest_api.client import DEFAULT_TIMEOUT, RESTClient
from ladle.sources.rest_api.config import EndpointSpec, ResourceSpec, parse_config
from ladle.sources.rest_api.paginators import paginator_from_config
from ladle.sources.rest_api.response_actions import parse_actions
from ladle.sources.rest_api.retry import RetryPolicy


def rest_api_source(config: Mapping[str, Any], name: str = "rest_api") -> Source:
    """A source with a resource per entry of `config["resources"]`.

    >>> source = rest_api_source({
    ...     "client": {"base_url": "https://api.example.com/v1/",
    ...                "auth": {"type": "bearer", "token": ladle.secrets["api_token"]}},
    ...     "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
    ...     "resources": ["customers", {"name": "orders", "endpoint": {"path": "orders"}}],
    ... })
    >>> ladle.pipeline("shop").run(source)

    To let orchestrators rebuild it in a worker process, return `rest_api_resources(config)`
    from a module-level `@ladle.source` function instead."""
    return source_of_resources(name, rest_api_resources(config))


def rest_api_resources(config: Mapping[str, Any]) -> list[Resource]:
    """The resources of `rest_api_source`, parents before children."""
    client_config, specs = parse_config(config)
    client = client_from_config(client_config)
    made: dict[str, Resource] = {}
    for spec in specs:
        made[spec.name] = _resource(spec, client, made)
    return list(made.values())


def client_from_config(config: Mapping[str, Any]) -> RESTClient:
    timeout = config.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError("client.timeout must be a number of seconds > 0", key="client.timeout")
    return RESTClient(
        config["base_url"],
        headers=config.get("headers"),
        auth=auth_from_config(config.get("auth"), "client"),
        paginator=paginator_from_config(config.get("paginator"), "client"),
        data_selector=config.get("data_selector"),
        retry=RetryPolicy.of(config.get("retry"), "client"),
        timeout=float(timeout),
    )


def _resource(spec: ResourceSpec, client: RESTClient, made: dict[str, Resource]) -> Resource:
    owner = f"resource '{spec.name}'"
    endpoint = spec.endpoint
    calls = _EndpointCalls(
        spec.name,
        client,
        endpoint,
        paginator_from_config(endpoint.paginator, owner),
        parse_actions(endpoint.response_actions, owner),
    )
    cursor = endpoint.incremental.cursor() if endpoint.incremental else None
    hints = dict(spec.hints)
    try:
        if endpoint.parent is None:

            def produce(cursor: Incremental | None = cursor) -> Iterator[list[Any]]:
                yield from calls.pages({}, cursor)

            built: Resource = resource(name=spec.name, **hints)(produce)
            return built
        parent = made[endpoint.parent]

        def produce_child(
            parent_page: Any, cursor: Incremental | None = cursor
        ) -> Iterator[list[Any]]:
            for record in parent_page if isinstance(parent_page, list) else [parent_page]:
                yield from calls.child_pages(record, cursor, spec.include_from_parent)

        child: Resource = resource(name=spec.name, **hints)(produce_child)
        child.parent = parent
        return child
    except TypeError as exc:
        raise ConfigError(f"{owner}: {exc}", key="resources", resource=spec.name) from None


class _EndpointCalls:
    """Requests of one endpoint: path and params filled from parents and cursors."""

    def __init__(
        self, name: str, client: RESTClient, endpoint: EndpointSpec, paginator: Any, actions: Any
    ) -> None:
        self.name = name
        self.client = client
        self.endpoint = endpoint
        self.paginator = paginator
        self.actions = actions

    def child_pages(
        self, record: Any, cursor: Incremental | None, include: tuple[str, ...]
    ) -> Iterator[list[Any]]:
        parent = self.endpoint.parent
        values = {}
        for param in self.endpoint.resolved:
            value = json_path.find(record, param.field)
            if value is None:
                raise ExtractError(
                    f"resource '{self.name}': a '{param.resource}' record has no "
                    f"'{param.field}' to resolve param '{param.name}'",
                    resource=self.name,
                )
            values[param.name] = value
        extra = {
            normalize_identifier(f"_{parent}_{param.field}"): values[param.name]
            for param in self.endpoint.resolved
        }
        for field_path in include:
            extra[normalize_identifier(f"_{parent}_{field_path}")] = json_path.find(
                record, field_path
            )
        for page in self.pages(values, cursor):
            yield [{**item, **extra} if isinstance(item, dict) else item for item in page]

    def pages(self, resolved: Mapping[str, Any], cursor: Incremental | None) -> Iterator[list[Any]]:
        endpoint = self.endpoint
        in_path = {r.name for r in endpoint.resolved if r.in_path}
        path = endpoint.path.format(
            **{k: quote(str(v), safe="") for k, v in resolved.items() if k in in_path}
        )
        params = dict(endpoint.params)
        params.update({k: v for k, v in resolved.items() if k not in in_path})
        spec = endpoint.incremental
        if spec is not None and cursor is not None:
            if spec.start_param and cursor.last_value is not None:
                params[spec.start_param] = cursor.last_value
            if spec.end_param and cursor.end_value is not None:
                params[spec.end_param] = cursor.end_value
        try:
            yield from self.client.paginate(
                path,
                method=endpoint.method,
                params=params,
                json=endpoint.json,
                headers=dict(endpoint.headers),
                paginator=self.paginator,
                data_selector=endpoint.data_selector,
                response_actions=self.actions,
            )
        except ExtractError as exc:
            details = {k: v for k, v in exc.details.items() if k != "resource"}
            raise ExtractError(
                f"resource '{self.name}': {exc.message}", resource=self.name, **details
            ) from exc.__cause__
