"""When and how long to wait before sending a failed request again."""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ladle.errors import ConfigError

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry 429 and 5xx answers, timeouts and dropped connections up to `max_attempts` times in
    all. The wait is the answer's `Retry-After` when it has one, else `backoff_factor * 2 **
    (attempt - 1)` seconds; no wait is longer than `max_delay` (tests set it tiny)."""

    max_attempts: int = 5
    backoff_factor: float = 1.0
    max_delay: float = 60.0
    statuses: tuple[int, ...] = RETRY_STATUSES

    @classmethod
    def of(cls, config: RetryPolicy | Mapping[str, Any] | None, owner: str) -> RetryPolicy:
        if config is None:
            return cls()
        if isinstance(config, RetryPolicy):
            return config
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known) if isinstance(config, Mapping) else ["?"]
        if unknown:
            raise ConfigError(
                f"{owner}: retry takes {sorted(known)}, not {unknown}", key=f"retry.{unknown[0]}"
            )
        values = dict(config)
        if "statuses" in values:
            values["statuses"] = tuple(values["statuses"])
        policy = cls(**values)
        if not isinstance(policy.max_attempts, int) or policy.max_attempts < 1:
            raise ConfigError(f"{owner}: retry.max_attempts must be >= 1", key="retry.max_attempts")
        return policy

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        wanted = _retry_after_seconds(retry_after)
        if wanted is None:
            wanted = self.backoff_factor * 2 ** (attempt - 1)
        return max(0.0, min(wanted, self.max_delay))


def _retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` is seconds or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
