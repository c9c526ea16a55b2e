"""Per-source rate limits of the webhook endpoints: one token bucket per source.

A source (:func:`source_of`: the client's address, or the first hop of ``X-Forwarded-For`` when
the service sits behind a proxy it trusts) may send ``burst`` requests at once and then
``per_second`` a second; a request beyond that is refused with how long until the next one is
allowed (``429`` with ``Retry-After`` in the service). One busy or hostile sender cannot starve
the git hosts and registries behind other addresses.

Memory is bounded: a bucket left alone long enough to be full again is the same as no bucket, so
the least recently used full buckets are dropped as requests come; and past ``max_sources``
buckets the least recently used is dropped whatever its level (that source starts afresh).

    buckets = Buckets(Rate(per_second=20, burst=100))
    verdict = buckets.take("203.0.113.7", now=clock())   # Verdict(allowed=True, retry_after=0.0)

Pure: "now" is a parameter (seconds on any monotonic clock).
"""

from __future__ import annotations

import collections
import dataclasses

UNKNOWN_SOURCE = "unknown"
"""The source of a request whose address is not known (all such requests share one bucket)."""


@dataclasses.dataclass(frozen=True)
class Rate:
    """How much one source may send."""

    per_second: float
    """Requests a second, sustained; 0 or less: no limit."""
    burst: int
    """Requests at once (the bucket's size); at least 1."""

    @property
    def limited(self) -> bool:
        return self.per_second > 0


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and else how long its source should wait."""

    allowed: bool
    retry_after: float = 0.0
    """Seconds until the source's next request is allowed (0 when this one is)."""


@dataclasses.dataclass
class _Bucket:
    tokens: float
    updated: float


class Buckets:
    """The token buckets of the sources seen lately."""

    def __init__(self, rate: Rate, *, max_sources: int = 10_000) -> None:
        if max_sources < 1:
            raise ValueError(f"max_sources must be at least 1, not {max_sources}")
        self.rate = rate
        self.max_sources = max_sources
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()
        """Least recently used first."""

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, source: str, *, now: float) -> Verdict:
        """Take a token from ``source``'s bucket at time ``now``, if it has one."""
        if not self.rate.limited:
            return Verdict(allowed=True)
        self._forget_idle(now)
        bucket = self._buckets.pop(source, None) or _Bucket(tokens=float(self._size()), updated=now)
        bucket.tokens = self._level(bucket, now)
        bucket.updated = max(now, bucket.updated)
        self._buckets[source] = bucket
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict(allowed=True)
        return Verdict(allowed=False, retry_after=(1.0 - bucket.tokens) / self.rate.per_second)

    def _size(self) -> int:
        return max(1, self.rate.burst)

    def _level(self, bucket: _Bucket, now: float) -> float:
        elapsed = max(0.0, now - bucket.updated)
        return min(float(self._size()), bucket.tokens + elapsed * self.rate.per_second)

    def _forget_idle(self, now: float) -> None:
        """Drop the least recently used buckets that are full again."""
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if self._level(oldest, now) < self._size():
                return
            self._buckets.popitem(last=False)


def source_of(remote: str | None, forwarded_for: str | None, *, trust_proxy: bool) -> str:
    """Who sent a request: the first hop of ``X-Forwarded-For`` (the client as the proxy saw it)
    when the service is behind a proxy it trusts and the header is there, else the peer address.

    Without a trusted proxy the header is ignored: anyone can write it, and a sender that could
    choose its source would choose a new one for every request."""
    if trust_proxy and forwarded_for:
        first = forwarded_for.split(",", 1)[0].strip()
        if first:
            return first
    return remote or UNKNOWN_SOURCE
