"""The webhook endpoints' rate limits: a token bucket per source, refused requests told when to come
back, idle sources forgotten, and the source taken from X-Forwarded-For only behind a trusted proxy."""

from __future__ import annotations

import pytest

from services.triggers import limits

RATE = limits.Rate(per_second=2.0, burst=3)


def _allowed(buckets: limits.Buckets, source: str, times: list[float]) -> list[bool]:
    return [buckets.take(source, now=now).allowed for now in times]


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        pytest.param([0, 0, 0], [True, True, True], id="a burst of its size is allowed"),
        pytest.param([0, 0, 0, 0], [True, True, True, False], id="one beyond the burst is refused"),
        pytest.param(
            [0, 0, 0, 0, 0.5], [True, True, True, False, True], id="a token comes back per 1/rate s"
        ),
        pytest.param([0, 0, 0, 0.25, 0.5], [True, True, True, False, True], id="half a token is not a token"),
        pytest.param(
            [0, 0, 0, 10, 10, 10, 10], [True] * 3 + [True] * 3 + [False], id="refill stops at the burst"
        ),
        pytest.param([5, 4, 4, 4], [True, True, True, False], id="a clock going back refills nothing"),
    ],
)
def test_a_source_gets_its_burst_then_its_rate(times: list[float], expected: list[bool]) -> None:
    assert _allowed(limits.Buckets(RATE), "203.0.113.7", times) == expected


def test_a_refused_request_is_told_how_long_until_the_next_token() -> None:
    buckets = limits.Buckets(RATE)
    _allowed(buckets, "a", [0, 0, 0])

    assert buckets.take("a", now=0.0) == limits.Verdict(allowed=False, retry_after=0.5)
    assert buckets.take("a", now=0.3).retry_after == pytest.approx(0.2)


def test_one_source_over_its_rate_leaves_another_alone() -> None:
    buckets = limits.Buckets(RATE)

    assert _allowed(buckets, "flooder", [0] * 10).count(True) == 3
    assert _allowed(buckets, "other", [0, 0, 0]) == [True, True, True]


def test_no_rate_means_no_limit_and_no_memory() -> None:
    buckets = limits.Buckets(limits.Rate(per_second=0, burst=1))

    assert all(_allowed(buckets, "a", [0] * 1000))
    assert len(buckets) == 0


def test_sources_whose_buckets_filled_up_again_are_forgotten() -> None:
    buckets = limits.Buckets(RATE)
    for index in range(100):
        buckets.take(f"198.51.100.{index}", now=0.0)
    assert len(buckets) == 100

    buckets.take("203.0.113.7", now=1.5)  # 1.5 s at 2/s refills the 1 token each one took

    assert len(buckets) == 1


def test_past_the_most_sources_the_least_recently_seen_is_dropped() -> None:
    buckets = limits.Buckets(RATE, max_sources=2)
    _allowed(buckets, "a", [0, 0, 0])
    _allowed(buckets, "b", [0])
    _allowed(buckets, "c", [0])

    assert len(buckets) == 2
    assert buckets.take("b", now=0.0).allowed, "b was kept, with its tokens"
    assert buckets.take("a", now=0.0).allowed, "a was forgotten: it starts afresh"


def test_at_least_one_source_is_remembered() -> None:
    with pytest.raises(ValueError, match="max_sources"):
        limits.Buckets(RATE, max_sources=0)


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "source"),
    [
        pytest.param("10.0.0.5", None, False, "10.0.0.5", id="the peer address without a proxy"),
        pytest.param("10.0.0.5", "203.0.113.7", False, "10.0.0.5", id="the header is ignored unless trusted"),
        pytest.param(
            "10.0.0.5",
            "203.0.113.7, 10.0.0.1",
            True,
            "203.0.113.7",
            id="the first hop behind a trusted proxy",
        ),
        pytest.param(
            "10.0.0.5", " , 10.0.0.1", True, "10.0.0.5", id="an empty first hop falls back to the peer"
        ),
        pytest.param("10.0.0.5", None, True, "10.0.0.5", id="no header behind a proxy is the peer"),
        pytest.param(None, None, False, limits.UNKNOWN_SOURCE, id="an unknown peer shares one bucket"),
    ],
)
def test_the_source_of_a_request(
    remote: str | None, forwarded: str | None, trusted: bool, source: str
) -> None:
    assert limits.source_of(remote, forwarded, trust_proxy=trusted) == source
