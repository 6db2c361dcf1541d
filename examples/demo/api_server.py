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
from pathlib import Path

from ladle.sources.rest_api.local_api import ApiReply, ApiRequest, LocalApi

API_DIR = Path(__file__).resolve().parent / "api"


def resolve(root: Path, path: str, page: str = "1") -> Path | None:
    """The file answering `path` (`/v2/orders`) at `page`, or None when there is none."""
    parts = [part for part in path.split("/") if part]
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


class ApiServer(LocalApi):
    """Serves `root` on a free port of 127.0.0.1 from a background thread while in a `with`."""

    def __init__(self, root: Path = API_DIR) -> None:
        super().__init__({})
        self.root = root

    def answer(self, request: ApiRequest) -> ApiReply:
        path = resolve(self.root, request.path, request.query.get("page", "1"))
        if path is None:
            return ApiReply(b'{"error": "not found"}', status=404)
        return ApiReply(path.read_bytes())


if __name__ == "__main__":
    with ApiServer() as server:
        print(f"serving {server.root} at {server.url}/v1 and {server.url}/v2 (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
