"""A tiny read-only REST API on 127.0.0.1 that serves the JSON files under examples/demo/api/.

Every list endpoint is paginated and maps onto one file per page:

    GET /v1/customers?page=2       ->  api/v1/customers/page-2.json
    GET /v1/customers/3/reviews    ->  api/v1/customers/3/reviews/page-1.json

Each file is `{"data": [...], "next_page": <int or null>}`. The v2 folder only holds the files
that changed in v2 of the API; every other v2 path is answered from the v1 file.
"""

from __future__ import annotations

import contextlib
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

API_DIR = Path(__file__).resolve().parent / "api"


def resolve(root: Path, url: str) -> Path | None:
    """The file answering `url` (`/v2/orders?page=3`), or None when there is none."""
    split = urlsplit(url)
    parts = [part for part in split.path.split("/") if part]
    page = parse_qs(split.query).get("page", ["1"])[0]
    if not parts or not page.isdigit() or any(part.startswith(".") for part in parts):
        return None
    version, rest = parts[0], parts[1:]
    if not (root / version).is_dir():
        return None
    for folder in dict.fromkeys((version, "v1")):  # the requested version, then v1
        candidate = root.joinpath(folder, *rest, f"page-{int(page)}.json")
        if candidate.is_file():
            return candidate
    return None


class ApiServer:
    """Serves `root` on a free port of 127.0.0.1 from a background thread while in a `with`."""

    def __init__(self, root: Path = API_DIR) -> None:
        self.root = root
        self.requests: list[str] = []  # the paths asked for, in order
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ApiServer:
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

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                path = resolve(api.root, self.path)
                if path is None:
                    status, body = HTTPStatus.NOT_FOUND, b'{"error": "not found"}'
                else:
                    status, body = HTTPStatus.OK, path.read_bytes()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the demo's output clean; `ApiServer.requests` records the calls

        return Handler


if __name__ == "__main__":
    with ApiServer() as server:
        print(f"serving {server.root} at {server.url}/v1 and {server.url}/v2 (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
