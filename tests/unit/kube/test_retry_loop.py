"""The retry loop of ``services.retrying`` takes the steps tenacity's own loop takes with the same policy.

Each row runs one sequence of attempt outcomes through ``retrying.retrying(...)`` and through
tenacity's ``AsyncRetrying`` built from the same shared policy, and both must make the same
attempts, end the same way (a value, or which error raised as itself) and log the same lines.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Iterator
from typing import Any

import pytest

from services import errors, retrying

BACKOFF = (0.001, 0.002)

Outcome = BaseException | str
"""What one attempt does: raise the error, or return the string."""


def temporary(n: int) -> errors.TemporaryError:
    return errors.TemporaryError(f"temporary {n}")


async def _run(loop: AsyncIterable[Any], outcomes: list[Outcome]) -> tuple[int, Outcome]:
    """Attempts made and the end: the value returned, or the error raised."""
    pending: Iterator[Outcome] = iter(outcomes)
    made = 0
    try:
        async for attempt in loop:
            with attempt:
                made += 1
                outcome = next(pending)
                if isinstance(outcome, BaseException):
                    raise outcome
                return made, outcome
    except BaseException as e:
        return made, e
    raise AssertionError("the loop ended without a value or an error")


CASES = [
    pytest.param(["ok"], {}, id="a first attempt that succeeds is the only one"),
    pytest.param([temporary(1), "ok"], {}, id="a temporary error is retried"),
    pytest.param([temporary(1), temporary(2), "ok"], {}, id="the last allowed attempt may succeed"),
    pytest.param(
        [temporary(1), temporary(2), temporary(3), "never"],
        {},
        id="the last temporary error is raised as itself",
    ),
    pytest.param([errors.PermanentError("no"), "never"], {}, id="a permanent error is raised at once"),
    pytest.param([ValueError("bug"), "never"], {}, id="an error outside the tree is raised at once"),
    pytest.param([errors.ConflictError("stale"), "ok"], {}, id="a conflict is retried by default"),
    pytest.param(
        [errors.ConflictError("stale"), "never"],
        {"conflicts": False},
        id="a conflict is left to the caller when asked",
    ),
    pytest.param([temporary(1), "never"], {"backoff": ()}, id="an empty table makes one attempt"),
    pytest.param(
        [errors.TemporaryError("slow down", retry_after=0.003), "ok"],
        {},
        id="a Retry-After wait is taken and logged",
    ),
]


@pytest.mark.parametrize(("outcomes", "options"), CASES)
async def test_the_loop_ends_as_tenacitys_own_loop_with_the_same_policy(
    outcomes: list[Outcome], options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    backoff = options.pop("backoff", BACKOFF)
    caplog.set_level(logging.INFO, logger="services.retrying")

    ours = await _run(retrying.retrying(backoff, **options), outcomes)
    our_log = [r.getMessage() for r in caplog.records]
    caplog.clear()
    shared = retrying.policy(tuple(backoff), conflicts=options.get("conflicts", True), max_retry_after=10.0)
    theirs = await _run(shared.retrying.copy(), outcomes)
    their_log = [r.getMessage() for r in caplog.records]

    assert ours == theirs
    assert our_log == their_log


async def test_a_retried_attempt_is_logged_with_its_number_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="services.retrying")

    made, end = await _run(retrying.retrying(BACKOFF), [temporary(1), temporary(2), "ok"])

    assert (made, end) == (3, "ok")
    assert [r.getMessage() for r in caplog.records] == [
        "attempt 1/3 failed; retrying in 0.0 s: temporary 1",
        "attempt 2/3 failed; retrying in 0.0 s: temporary 2",
    ]


async def test_an_attempt_must_run_inside_its_with_block() -> None:
    loop = retrying.retrying(BACKOFF)
    await anext(aiter(loop))

    with pytest.raises(RuntimeError, match="inside `with attempt:`"):
        await anext(aiter(loop))


def test_one_policy_is_built_once_and_shared_by_every_loop() -> None:
    first, second = retrying.retrying(BACKOFF), retrying.retrying(list(BACKOFF))

    assert first is not second
    assert first.policy is second.policy
    assert retrying.retrying(BACKOFF, conflicts=False).policy is not first.policy
