"""Retry-After: reading the header, the wait it gives, and its translation from a Kubernetes answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from services import errors, retrying
from services.kube import translating

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1", 1.0, id="delay-seconds"),
        pytest.param(" 120 ", 120.0, id="delay-seconds with spaces around"),
        pytest.param("0", 0.0, id="zero seconds"),
        pytest.param("1.5", 1.5, id="fractional seconds, which some servers send"),
        pytest.param("Wed, 21 Oct 2026 07:28:05 GMT", 5.0, id="an HTTP-date five seconds ahead"),
        pytest.param("Wednesday, 21-Oct-26 07:28:30 GMT", 30.0, id="the obsolete RFC 850 date form"),
        pytest.param("Wed, 21 Oct 2026 07:27:00 GMT", 0.0, id="an HTTP-date already past asks for nothing"),
        pytest.param(None, None, id="no header"),
        pytest.param("", None, id="an empty header"),
        pytest.param("-1", None, id="negative seconds are no delay-seconds"),
        pytest.param("soon", None, id="neither seconds nor a date"),
        pytest.param("1e3", None, id="exponents are no delay-seconds"),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert retrying.parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        pytest.param(1, None, 0.1, id="without Retry-After the table's first delay"),
        pytest.param(3, None, 1.0, id="the table's third delay after the third attempt"),
        pytest.param(9, None, 1.0, id="past the table its last delay"),
        pytest.param(1, 2.0, 2.0, id="a longer Retry-After wins over the table"),
        pytest.param(3, 0.5, 1.0, id="a shorter Retry-After leaves the table's delay"),
        pytest.param(1, 3600.0, 10.0, id="Retry-After is capped at the maximum"),
        pytest.param(1, -5.0, 0.1, id="a negative Retry-After counts as none"),
    ],
)
def test_the_wait_is_the_longer_of_the_table_and_the_capped_retry_after(
    attempt: int, retry_after: float | None, expected: float
) -> None:
    backoff = (0.1, 0.5, 1.0)

    assert retrying.delay(attempt, backoff=backoff, retry_after=retry_after, max_retry_after=10.0) == expected


def test_an_empty_table_waits_only_as_the_server_asks() -> None:
    assert retrying.delay(1, backoff=(), retry_after=None, max_retry_after=10.0) == 0.0
    assert retrying.delay(1, backoff=(), retry_after=2.0, max_retry_after=10.0) == 2.0


def test_one_back_off_tuple_builds_its_tenacity_pieces_once() -> None:
    first, second = retrying.retrying((0.1, 0.2)), retrying.retrying([0.1, 0.2])

    assert first is not second, "each retry loop has its own state"
    assert first.wait is second.wait
    assert first.stop is second.stop
    assert first.retry is second.retry
    assert retrying.retrying((0.1, 0.2), conflicts=False).retry is not first.retry


def _answer(status: int, headers: dict[str, str] | None) -> ApiException:
    error = ApiException(status=status, reason="TooManyRequests")
    error.body = b'{"kind":"Status","message":"slow down"}'
    error.headers = headers
    return error


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(429, {"Retry-After": "1"}, 1.0, id="429 with seconds"),
        pytest.param(503, {"Retry-After": "Wed, 21 Oct 2026 07:28:02 GMT"}, 2.0, id="503 with a date"),
        pytest.param(429, {}, None, id="429 without the header"),
        pytest.param(500, None, None, id="an answer without headers"),
    ],
)
def test_a_temporary_kubernetes_answer_keeps_its_retry_after(
    status: int, headers: dict[str, str] | None, expected: float | None
) -> None:
    error = translating.translate(_answer(status, headers), now=NOW)

    assert isinstance(error, errors.TemporaryError)
    assert error.retry_after == expected
    assert "slow down" in str(error)
