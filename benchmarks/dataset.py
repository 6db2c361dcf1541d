"""Seeded, lazily generated GitHub-events-like rows for the ladle benchmarks.

`iter_events` yields nested dicts (stdlib only, so dlt's separate venv can import this file by
path). `iter_arrow_batches` yields the very same rows as pyarrow Tables. Row i is the same for
every `rows` value: the first 100k rows of the 1M data set are the 100k data set.

Per root row there are about 1.0 `payload.commits` and 0.5 `labels` on average, so about 1.5
child-table rows in total.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

VERSION = 1  # bump when the rows change: the prepared-data cache is keyed on it
ROOT_TABLE = "events"
COMMITS_TABLE = "events__payload__commits"
LABELS_TABLE = "events__labels"

_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
_TYPES = ("PushEvent", "IssuesEvent", "PullRequestEvent", "WatchEvent", "ForkEvent", "CreateEvent")
_LANGUAGES = ("Python", "Rust", "Go", "TypeScript", "C++", "Java", None)
_LABELS = ("bug", "enhancement", "documentation", "good first issue", "help wanted", "wontfix")
_REFS = ("refs/heads/main", "refs/heads/dev", "refs/heads/feature/x", "refs/tags/v1.0.0")
_WORDS = (
    "fix", "add", "remove", "update", "refactor", "parser", "loader", "schema", "tests", "docs",
    "typo", "memory", "leak", "speed", "up", "the", "nested", "table", "column", "timestamp",
)  # fmt: skip
# How many of 128 rolls give n commits (n = 0..5, mean 1.02) or n labels (n = 0..3, mean 0.51).
_COMMIT_N = tuple(n for n, k in enumerate((64, 31, 14, 9, 6, 4)) for _ in range(k))
_LABEL_N = tuple(n for n, k in enumerate((84, 28, 11, 5)) for _ in range(k))
# "HH:MM:SSZ" for every second of a day, so timestamps format by concatenation
_CLOCK = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86_400))


def _pools(rng: random.Random) -> tuple[list[str], list[str], list[str], list[str]]:
    logins = [f"user{rng.randrange(10**6):06d}" for _ in range(4096)]
    emails = [f"{login}@example.com" for login in logins]
    orgs = [f"org-{rng.randrange(10**5):05d}" for _ in range(512)]
    messages = [" ".join(rng.choices(_WORDS, k=rng.randint(3, 12))) for _ in range(2048)]
    return logins, emails, orgs, messages


def _iso(ts: int, days: dict[int, str]) -> str:
    day, second = divmod(ts, 86_400)
    prefix = days.get(day)
    if prefix is None:
        prefix = days[day] = time.strftime("%Y-%m-%dT", time.gmtime(ts))
    return prefix + _CLOCK[second]


def iter_events(rows: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    """Yield `rows` nested event dicts, one at a time (memory stays flat)."""
    rng = random.Random(seed)
    logins, emails, orgs, messages = _pools(rng)
    rand, bits = rng.random, rng.getrandbits
    days: dict[int, str] = {}
    for i in range(rows):
        r = bits(64)
        created = _EPOCH + i * 3 + (r & 3)
        login_i, org_i = (r >> 2) & 4095, (r >> 14) & 511
        n_commits, n_labels = _COMMIT_N[(r >> 23) & 127], _LABEL_N[(r >> 30) & 127]
        repo_id = (r >> 37) & 0xFFFFF
        commits = (
            [
                {
                    "sha": f"{bits(64):016x}{i:08x}",
                    "message": messages[(r >> (k * 4)) & 2047],
                    "distinct": bool((r >> k) & 1),
                    "author": {
                        "name": logins[(login_i + k) & 4095],
                        "email": emails[(login_i + k) & 4095],
                    },
                }
                for k in range(n_commits)
            ]
            if n_commits
            else []
        )
        yield {
            "id": 10_000_000_000 + i,
            "type": _TYPES[r % 6],
            "created_at": _iso(created, days),
            "updated_at": _iso(created + ((r >> 44) & 0xFFFF), days),
            "public": bool(r & 0x40),
            "repo_id": repo_id,
            "repo_name": f"{orgs[org_i]}/repo{repo_id % 997}",
            "stars": (r >> 20) & 0xFFFF,
            "forks": (r >> 36) & 0x3FF,
            "score": rand() * 100.0,
            "weight": rand(),
            "is_fork": bool(r & 0x80),
            "language": _LANGUAGES[(r >> 8) % 7],
            "title": messages[(r >> 11) & 2047],
            "body": messages[(r >> 24) & 2047] + ". " + messages[(r >> 35) & 2047],
            "comment_count": (r >> 50) & 0x3F,
            "duration_ms": rand() * 5000.0,
            "ref": _REFS[(r >> 56) & 3],
            "head_sha": f"{r:016x}",
            "size_bytes": (r >> 28) & 0xFFFFFF,
            "actor": {
                "id": 1000 + login_i,
                "login": logins[login_i],
                "site_admin": login_i < 16,
                "org": {"id": 500 + org_i, "name": orgs[org_i]},
            },
            "payload": {
                "push_id": 7_000_000_000 + i,
                "size": n_commits,
                "commits": commits,
            },
            "labels": [_LABELS[(r >> (3 * k + 40)) % 6] for k in range(n_labels)]
            if n_labels
            else [],
        }


def arrow_schema(flat: bool = False) -> pa.Schema:
    """The Arrow schema of the rows: nested struct/list columns, or `flat` (root table only)."""
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    author = pa.struct([("name", pa.string()), ("email", pa.string())])
    commit = pa.struct(
        [("sha", pa.string()), ("message", pa.string()), ("distinct", pa.bool_()),
         ("author", author)]
    )  # fmt: skip
    org = pa.struct([("id", pa.int64()), ("name", pa.string())])
    actor = [("id", pa.int64()), ("login", pa.string()), ("site_admin", pa.bool_()), ("org", org)]
    payload = [("push_id", pa.int64()), ("size", pa.int64()), ("commits", pa.list_(commit))]
    scalars = [
        ("id", pa.int64()), ("type", pa.string()), ("created_at", ts), ("updated_at", ts),
        ("public", pa.bool_()), ("repo_id", pa.int64()), ("repo_name", pa.string()),
        ("stars", pa.int64()), ("forks", pa.int64()), ("score", pa.float64()),
        ("weight", pa.float64()), ("is_fork", pa.bool_()), ("language", pa.string()),
        ("title", pa.string()), ("body", pa.string()), ("comment_count", pa.int64()),
        ("duration_ms", pa.float64()), ("ref", pa.string()), ("head_sha", pa.string()),
        ("size_bytes", pa.int64()),
    ]  # fmt: skip
    if flat:
        nested = [
            ("actor__id", pa.int64()), ("actor__login", pa.string()),
            ("actor__site_admin", pa.bool_()), ("actor__org__id", pa.int64()),
            ("actor__org__name", pa.string()), ("payload__push_id", pa.int64()),
            ("payload__size", pa.int64()),
        ]  # fmt: skip
        return pa.schema(scalars + nested)
    return pa.schema(
        [*scalars, ("actor", pa.struct(actor)), ("payload", pa.struct(payload)),
         ("labels", pa.list_(pa.string()))]
    )  # fmt: skip


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    actor, payload = row["actor"], row["payload"]
    flat = {k: v for k, v in row.items() if k not in ("actor", "payload", "labels")}
    flat.update(
        actor__id=actor["id"], actor__login=actor["login"], actor__site_admin=actor["site_admin"],
        actor__org__id=actor["org"]["id"], actor__org__name=actor["org"]["name"],
        payload__push_id=payload["push_id"], payload__size=payload["size"],
    )  # fmt: skip
    return flat


def rows_to_arrow(rows: list[dict[str, Any]], flat: bool = False) -> pa.Table:
    """The given event dicts as one Arrow table (timestamps parsed to timestamp[us, UTC])."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema(flat)
    if flat:
        rows = [_flatten(row) for row in rows]
    as_text = pa.schema(
        [pa.field(f.name, pa.string()) if f.name.endswith("_at") else f for f in schema]
    )
    table = pa.Table.from_pylist(rows, schema=as_text)
    for name in ("created_at", "updated_at"):
        parsed = pc.strptime(table[name], format="%Y-%m-%dT%H:%M:%SZ", unit="us")
        index = table.schema.get_field_index(name)
        table = table.set_column(index, schema.field(name), parsed.cast(schema.field(name).type))
    return table


def iter_arrow_batches(
    rows: int, seed: int = 42, batch_rows: int = 50_000, flat: bool = False
) -> Iterator[pa.Table]:
    """The rows of `iter_events` as Arrow tables of up to `batch_rows` rows each."""
    events = iter_events(rows, seed)
    while batch := list(islice(events, batch_rows)):
        yield rows_to_arrow(batch, flat)
