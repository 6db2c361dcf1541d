"""`LocalApi`: a small JSON API on 127.0.0.1, served from a thread: try a config offline, test it.

    with LocalApi({"/v1/customers": [{"id": 1}],
                   "/v1/orders/{id}/items": lambda request: ApiReply([...], headers={...})}) as api:
        rest_api_source({"client": {"base_url": f"{api.url}/v1"}, ...})

A route is a path (a `{name}` segment matches any one segment) mapped to JSON data, an
`ApiReply`, or a function of the `ApiRequest` returning either. Unknown paths answer 404.
`api.requests` records every request, in order. No mocking: a real socket, real HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class ApiReply:
    """`body` is sent as JSON (bytes and str as they are); `delay` seconds before answering."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Callable[[ApiRequest], Any] | ApiReply | Any


class LocalApi:
    """Serves `routes` on a free port of 127.0.0.1 while in a `with` block."""

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = dict(routes)
        self.requests: list[ApiRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalApi:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def answer(self, request: ApiRequest) -> ApiReply:
        route = self._route(request.path)
        if route is None:
            return ApiReply({"error": f"no route for {request.path}"}, status=404)
        reply = route(request) if callable(route) else route
        return reply if isinstance(reply, ApiReply) else ApiReply(reply)

    def _route(self, path: str) -> Route | None:
        if path in self.routes:
            return self.routes[path]
        parts = path.strip("/").split("/")
        for pattern, route in self.routes.items():
            wanted = pattern.strip("/").split("/")
            if len(wanted) == len(parts) and all(
                w == p or (w.startswith("{") and w.endswith("}"))
                for w, p in zip(wanted, parts, strict=True)
            ):
                return route
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = ApiRequest(
                    self.command,
                    split.path,
                    dict(parse_qsl(split.query)),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                api.requests.append(request)
                reply = api.answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if not isinstance(body, (bytes, str)):
                    body = json.dumps(body)
                data = body.encode() if isinstance(body, str) else body
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass  # tests read `LocalApi.requests` instead

        return Handler


__all__ = ["ApiReply", "ApiRequest", "LocalApi"]
