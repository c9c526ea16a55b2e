"""One retry policy, given as data, honoured by one tenacity factory.

The policy is a back-off tuple: the delays in seconds before attempts 2, 3, ...; its length is
the number of retries. Only :class:`services.errors.TemporaryError` is retried. A temporary error
that carries the server's ``Retry-After`` (``retry_after``, seconds) waits at least that long,
capped at ``max_retry_after``:

    wait before attempt n + 1 = max(backoff[n - 1], min(retry_after, max_retry_after))

(the last delay of the table serves every attempt past its end). :func:`parse_retry_after` reads
the header (delay-seconds or an HTTP-date); the adapters put the result on the errors they raise.

The tenacity strategies (retry, stop, wait, log) of one policy are built once and shared
(:func:`policy`): :func:`retrying` is called around every API request, and what is new per call
is only the small :class:`Attempts` loop, which takes tenacity's steps with those strategies and
makes a tenacity call state only once an attempt has failed. (An ``AsyncRetrying`` per request,
running its action pipeline even for a first attempt that succeeds, cost ~50 µs of CPU a request,
about 7 % of a Kubernetes GET through ``services.kube``; the loop here costs ~2 µs.)
"""

from __future__ import annotations

import asyncio
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
class Policy:
    """The tenacity side of one retry policy, built once and shared by every retry loop that uses it:
    which errors to retry, when to stop, how long to wait, what to log before the wait."""

    retry: tenacity.retry_base
    stop: tenacity.stop.stop_base
    wait: tenacity.wait.wait_base
    before_sleep: Callable[[tenacity.RetryCallState], None]
    retrying: tenacity.AsyncRetrying
    """The same policy as one tenacity object (for a caller that wants tenacity's own loop); the
    call states of :class:`Attempts` name it as their retry object."""


@functools.lru_cache(maxsize=64)
def policy(backoff: tuple[float, ...], *, conflicts: bool, max_retry_after: float) -> Policy:
    """The shared :class:`Policy` of one back-off tuple (see :func:`retrying` for the arguments)."""
    total = len(backoff) + 1

    def retryable(error: BaseException) -> bool:
        if not conflicts and isinstance(error, errors.ConflictError):
            return False
        return isinstance(error, errors.TemporaryError)

    retry = tenacity.retry_if_exception(retryable)
    stop = tenacity.stop_after_attempt(total)
    wait = _Wait(backoff, max_retry_after=max_retry_after)
    before_sleep = _log_before_sleep(total)
    engine = tenacity.AsyncRetrying(
        retry=retry, stop=stop, wait=wait, before_sleep=before_sleep, reraise=True
    )
    return Policy(retry=retry, stop=stop, wait=wait, before_sleep=before_sleep, retrying=engine)


class Attempt:
    """One attempt, as ``with attempt:``: an error raised inside is kept for the loop to judge."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False
        self.error: BaseException | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> bool:
        self.done, self.error = True, error
        return error is not None


class Attempts:
    """One retry loop over a shared :class:`Policy`: ``async for attempt in …: with attempt: …``.

    It takes the steps tenacity's ``AsyncRetrying`` takes after a failed attempt, with the policy's
    own tenacity strategies: an error the policy does not retry is raised as itself; else the wait
    is computed, the error is raised as itself when the attempts are used up, and otherwise the
    wait is logged and slept before the next attempt. A first attempt that succeeds (nearly every
    API request) costs no tenacity call state at all.
    """

    __slots__ = ("_attempt", "_state", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._attempt: Attempt | None = None
        self._state: tenacity.RetryCallState | None = None

    @property
    def retry(self) -> tenacity.retry_base:
        return self.policy.retry

    @property
    def stop(self) -> tenacity.stop.stop_base:
        return self.policy.stop

    @property
    def wait(self) -> tenacity.wait.wait_base:
        return self.policy.wait

    def __aiter__(self) -> Attempts:
        return self

    async def __anext__(self) -> Attempt:
        attempt = self._attempt
        if attempt is not None:
            if not attempt.done:
                raise RuntimeError("run each attempt inside `with attempt:`")
            if attempt.error is None:
                raise StopAsyncIteration
            await self._after_failure(attempt.error)
        self._attempt = Attempt()
        return self._attempt

    async def _after_failure(self, error: BaseException) -> None:
        """Raise ``error`` when it is not to be retried (or no attempt is left); else wait."""
        state = self._state
        if state is None:
            state = self._state = tenacity.RetryCallState(self.policy.retrying, fn=None, args=(), kwargs={})
        else:
            state.prepare_for_next_attempt()
        state.set_exception((type(error), error, error.__traceback__))
        if not self.policy.retry(state):
            raise error
        pause = self.policy.wait(state)
        if self.policy.stop(state):
            raise error
        state.next_action = tenacity.RetryAction(pause)
        state.idle_for += pause
        self.policy.before_sleep(state)
        await asyncio.sleep(pause)


def retrying(
    backoff: Sequence[float] = DEFAULT_BACKOFF,
    *,
    conflicts: bool = True,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
) -> Attempts:
    """A retry loop that retries temporary errors with the delays in ``backoff``.

    Use as ``async for attempt in retrying(settings.backoff): with attempt: ...``; the last
    temporary error is re-raised as itself when the attempts run out. ``conflicts=False`` leaves
    :class:`~services.errors.ConflictError` to the caller: resending the same stale write cannot
    succeed, only re-reading can (the handler-level retry does that). A server's ``Retry-After``
    lengthens a wait up to ``max_retry_after`` seconds (see the module docstring).
    """
    return Attempts(policy(tuple(backoff), conflicts=conflicts, max_retry_after=max_retry_after))
