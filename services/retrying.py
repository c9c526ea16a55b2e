"""One retry policy, given as data, honoured by one tenacity factory.

The policy is a back-off tuple: the delays in seconds before attempts 2, 3, ...; its length is
the number of retries. Only :class:`services.errors.TemporaryError` is retried. A temporary error
that carries the server's ``Retry-After`` (``retry_after``, seconds) waits at least that long,
capped at ``max_retry_after``:

    wait before attempt n + 1 = max(backoff[n - 1], min(retry_after, max_retry_after))

(the last delay of the table serves every attempt past its end). :func:`parse_retry_after` reads
the header (delay-seconds or an HTTP-date); the adapters put the result on the errors they raise.

The tenacity pieces (retry, stop, wait, log) for one back-off tuple are built once and shared:
:func:`retrying` is called around every API request, and only the ``AsyncRetrying`` itself, which
holds the state of one retry loop, is new per call.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import tenacity

from services import errors

logger = logging.getLogger(__name__)

DEFAULT_BACKOFF: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)
DEFAULT_MAX_RETRY_AFTER = 10.0
"""The longest a server's ``Retry-After`` may make one retry wait, in seconds: these retries run
inside a handler that holds its message; a longer outage is the delayed retry queues' business."""
_DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """The seconds a ``Retry-After`` header value asks for; None when absent or unreadable.

    RFC 9110 §10.2.3: a number of seconds (``120``), or an HTTP-date (``Wed, 21 Oct 2026 07:28:00
    GMT``), which counts from ``now``; a date already past asks for 0 s.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def delay(
    attempt: int, *, backoff: Sequence[float], retry_after: float | None, max_retry_after: float
) -> float:
    """The wait after failed attempt ``attempt`` (1-based): the table's delay, or the server's
    ``Retry-After`` (capped at ``max_retry_after``) when that is longer."""
    table = backoff[min(attempt, len(backoff)) - 1] if backoff else 0.0
    if retry_after is None:
        return table
    return max(table, min(max(retry_after, 0.0), max_retry_after))


def retry_after_of(error: BaseException | None) -> float | None:
    """The ``Retry-After`` seconds a temporary error carries, if any."""
    return error.retry_after if isinstance(error, errors.TemporaryError) else None


class _Wait(tenacity.wait.wait_base):
    """tenacity's view of :func:`delay`."""

    def __init__(self, backoff: tuple[float, ...], *, max_retry_after: float) -> None:
        self._backoff = backoff
        self._max_retry_after = max_retry_after

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        return delay(
            retry_state.attempt_number,
            backoff=self._backoff,
            retry_after=retry_after_of(error),
            max_retry_after=self._max_retry_after,
        )


def _log_before_sleep(total: int) -> Callable[[tenacity.RetryCallState], None]:
    def log(retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        pause = retry_state.next_action.sleep if retry_state.next_action else 0.0
        # A lost optimistic-concurrency race is routine (two services writing one object): re-read
        # and decide again. Only repeated conflicts, or other failures, deserve a warning.
        routine = isinstance(error, errors.ConflictError) and retry_state.attempt_number == 1
        asked = retry_after_of(error)
        logger.log(
            logging.INFO if routine else logging.WARNING,
            "attempt %d/%d failed; retrying in %.1f s%s: %s",
            retry_state.attempt_number,
            total,
            pause,
            f" (Retry-After {asked:g} s)" if asked is not None else "",
            error,
        )

    return log


@dataclasses.dataclass(frozen=True)
class _Pieces:
    """The stateless parts of one retry policy, shared by every retry loop that uses it."""

    retry: tenacity.retry_base
    stop: tenacity.stop.stop_base
    wait: tenacity.wait.wait_base
    before_sleep: Callable[[tenacity.RetryCallState], None]


@functools.lru_cache(maxsize=64)
def _pieces(backoff: tuple[float, ...], *, conflicts: bool, max_retry_after: float) -> _Pieces:
    total = len(backoff) + 1

    def retryable(error: BaseException) -> bool:
        if not conflicts and isinstance(error, errors.ConflictError):
            return False
        return isinstance(error, errors.TemporaryError)

    return _Pieces(
        retry=tenacity.retry_if_exception(retryable),
        stop=tenacity.stop_after_attempt(total),
        wait=_Wait(backoff, max_retry_after=max_retry_after),
        before_sleep=_log_before_sleep(total),
    )


def retrying(
    backoff: Sequence[float] = DEFAULT_BACKOFF,
    *,
    conflicts: bool = True,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
) -> tenacity.AsyncRetrying:
    """An ``AsyncRetrying`` that retries temporary errors with the delays in ``backoff``.

    Use as ``async for attempt in retrying(settings.backoff): with attempt: ...``; the last
    temporary error is re-raised as itself when the attempts run out. ``conflicts=False`` leaves
    :class:`~services.errors.ConflictError` to the caller: resending the same stale write cannot
    succeed, only re-reading can (the handler-level retry does that). A server's ``Retry-After``
    lengthens a wait up to ``max_retry_after`` seconds (see the module docstring).
    """
    pieces = _pieces(tuple(backoff), conflicts=conflicts, max_retry_after=max_retry_after)
    return tenacity.AsyncRetrying(
        retry=pieces.retry,
        stop=pieces.stop,
        wait=pieces.wait,
        before_sleep=pieces.before_sleep,
        reraise=True,
    )
