"""One retry policy, given as data, honoured by one tenacity factory.

The policy is a back-off tuple: the delays in seconds before attempts 2, 3, ...; its length is
the number of retries. Only :class:`services.errors.TemporaryError` is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import tenacity

from services import errors

logger = logging.getLogger(__name__)

DEFAULT_BACKOFF: tuple[float, ...] = (0.1, 0.5, 1.0, 2.0)


def _wait_from(backoff: Sequence[float]) -> tenacity.wait.wait_base:
    delays = tuple(backoff)

    class _Table(tenacity.wait.wait_base):
        def __call__(self, retry_state: tenacity.RetryCallState) -> float:
            index = min(retry_state.attempt_number - 1, len(delays) - 1)
            return delays[index] if delays else 0.0

    return _Table()


def _log_before_sleep(total: int) -> object:
    def log(retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
        # A lost optimistic-concurrency race is routine (two services writing one object): re-read
        # and decide again. Only repeated conflicts, or other failures, deserve a warning.
        routine = isinstance(error, errors.ConflictError) and retry_state.attempt_number == 1
        logger.log(
            logging.INFO if routine else logging.WARNING,
            "attempt %d/%d failed; retrying in %.1f s: %s",
            retry_state.attempt_number,
            total,
            delay,
            error,
        )

    return log


def retrying(backoff: Sequence[float] = DEFAULT_BACKOFF, *, conflicts: bool = True) -> tenacity.AsyncRetrying:
    """An ``AsyncRetrying`` that retries temporary errors with the delays in ``backoff``.

    Use as ``async for attempt in retrying(settings.backoff): with attempt: ...``; the last
    temporary error is re-raised as itself when the attempts run out. ``conflicts=False`` leaves
    :class:`~services.errors.ConflictError` to the caller: resending the same stale write cannot
    succeed, only re-reading can (the handler-level retry does that).
    """
    total = len(backoff) + 1

    def retryable(error: BaseException) -> bool:
        if not conflicts and isinstance(error, errors.ConflictError):
            return False
        return isinstance(error, errors.TemporaryError)

    return tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(retryable),
        stop=tenacity.stop_after_attempt(total),
        wait=_wait_from(backoff),
        before_sleep=_log_before_sleep(total),  # type: ignore[arg-type]
        reraise=True,
    )
