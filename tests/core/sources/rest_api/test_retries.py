"""Retries on 429 (honouring Retry-After) and 5xx, and timeouts, against a real local server."""

from __future__ import annotations

import time
from typing import Any

import pytest

import ladle
from ladle.sources.rest_api import RESTClient, RetryPolicy, rest_api_source
from ladle.sources.rest_api.local_api import ApiReply, ApiRequest, LocalApi

FAST = {"backoff_factor": 0.0, "max_delay": 0.01}


def failing_first(*replies: ApiReply) -> Any:
    """A route that answers `replies` in turn, then the records."""
    queue = list(replies)

    def route(request: ApiRequest) -> ApiReply:
        return queue.pop(0) if queue else ApiReply([{"id": 1}, {"id": 2}])

    return route


def source_for(url: str, retry: dict[str, Any], timeout: float = 5.0) -> ladle.Source:
    client = {"base_url": url, "retry": retry, "timeout": timeout}
    return rest_api_source({"client": client, "resources": ["items"]})


def test_429_waits_for_retry_after(make_pipeline: Any) -> None:
    route = failing_first(ApiReply({"error": "slow down"}, 429, {"Retry-After": "1"}))
    with LocalApi({"/items": route}) as api:
        started = time.perf_counter()
        # No backoff of its own: the wait comes from Retry-After, capped by max_delay.
        info = make_pipeline().run(source_for(api.url, {"backoff_factor": 0, "max_delay": 0.3}))
        waited = time.perf_counter() - started
    assert info.row_counts == {"items": 2}
    assert len(api.requests) == 2
    assert waited >= 0.3


def test_500_then_success(make_pipeline: Any) -> None:
    route = failing_first(ApiReply("oops", 500), ApiReply("bad gateway", 502))
    with LocalApi({"/items": route}) as api:
        assert make_pipeline().run(source_for(api.url, FAST)).row_counts == {"items": 2}
    assert len(api.requests) == 3


def test_retries_run_out_with_an_error_naming_resource_and_status(make_pipeline: Any) -> None:
    route = failing_first(*[ApiReply("down", 503)] * 5)
    with LocalApi({"/items": route}) as api, pytest.raises(ladle.ExtractError) as caught:
        make_pipeline().run(source_for(api.url, {**FAST, "max_attempts": 3}))
    assert len(api.requests) == 3
    message = str(caught.value)
    assert "resource 'items'" in message
    assert "failed after 3 attempt(s): 503 Service Unavailable" in message
    assert caught.value.resource == "items"  # type: ignore[attr-defined]


def test_a_client_error_is_not_retried(make_pipeline: Any) -> None:
    route = failing_first(ApiReply({"error": "no such filter"}, 400))
    expected = "answered 400 Bad Request"
    with LocalApi({"/items": route}) as api, pytest.raises(ladle.ExtractError, match=expected):
        make_pipeline().run(source_for(api.url, FAST))
    assert len(api.requests) == 1


def test_a_timeout_is_retried_then_reported() -> None:
    slow = ApiReply([{"id": 1}], delay=0.5)
    with LocalApi({"/slow": slow, "/late": failing_first(ApiReply([], delay=0.5))}) as api:
        client = RESTClient(
            api.url, timeout=0.1, retry=RetryPolicy(max_attempts=2, backoff_factor=0)
        )
        with pytest.raises(ladle.ExtractError, match=r"ReadTimeout \(timeout 0.1s\)"):
            list(client.paginate("slow"))
        assert list(client.paginate("late")) == [[{"id": 1}, {"id": 2}]]  # the retry wins


def test_retry_after_as_an_http_date() -> None:
    assert RetryPolicy(max_delay=5).delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert RetryPolicy(max_delay=5).delay(1, "120") == 5.0
    assert RetryPolicy(backoff_factor=0.5).delay(3) == 2.0


def test_bad_retry_config_names_the_key() -> None:
    with pytest.raises(ladle.ConfigError) as caught:
        source_for("http://127.0.0.1:1", {"attempts": 3})
    assert caught.value.key == "retry.attempts"  # type: ignore[attr-defined]
