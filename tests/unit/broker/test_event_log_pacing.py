"""A replay's pacing: the events' gaps divided by the speed, capped, and published in due batches."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from services.broker import event_log

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    ("times", "speed", "max_gap", "due"),
    [
        pytest.param(at(0, 1, 3), 1.0, None, [0.0, 1.0, 3.0], id="speed 1 keeps the recorded gaps"),
        pytest.param(at(0, 1, 3), 2.0, None, [0.0, 0.5, 1.5], id="speed 2 halves every gap"),
        pytest.param(at(0, 1, 3), 0.5, None, [0.0, 2.0, 6.0], id="speed 0.5 doubles every gap"),
        pytest.param(at(0, 1, 3), None, None, [0.0, 0.0, 0.0], id="no speed publishes everything at once"),
        pytest.param(at(5, 2, 3), 1.0, None, [0.0, 0.0, 1.0], id="a time going backwards makes no gap"),
        pytest.param(at(0, 3600, 3601), 1.0, 2.0, [0.0, 2.0, 3.0], id="a long gap is cut to max_gap"),
        pytest.param(at(0, 10), 10.0, 0.5, [0.0, 0.05], id="max_gap applies before the speed"),
        pytest.param(at(7), 1.0, None, [0.0], id="a single event is due at once"),
        pytest.param([], 1.0, None, [], id="no events, no schedule"),
    ],
)
def test_schedule(
    times: list[datetime], speed: float | None, max_gap: float | None, due: list[float]
) -> None:
    assert event_log.schedule(times, speed=speed, max_gap=max_gap) == pytest.approx(due)


@pytest.mark.parametrize(
    ("due", "start", "elapsed", "most", "end"),
    [
        pytest.param([0, 0, 0, 1], 0, 0.0, 10, 3, id="everything due now goes in one batch"),
        pytest.param([0, 0, 0, 1], 0, 0.0, 2, 2, id="a batch holds at most `most` events"),
        pytest.param([0, 1, 2], 1, 1.5, 10, 2, id="an event not yet due waits for the next batch"),
        pytest.param([0, 5], 0, 0.0, 10, 1, id="the event at start always goes, even alone"),
        pytest.param([0, 1, 2], 2, 9.0, 10, 3, id="a batch ends at the last event"),
    ],
)
def test_due_batch(due: list[float], start: int, elapsed: float, most: int, end: int) -> None:
    assert event_log.due_batch(due, start=start, elapsed=elapsed, most=most) == end


@pytest.mark.parametrize(
    ("text", "speed"),
    [
        pytest.param("1", 1.0, id="a factor of 1 replays as recorded"),
        pytest.param("2.5", 2.5, id="a decimal factor"),
        pytest.param("max", None, id="max is as fast as possible"),
        pytest.param("MAX", None, id="max in any case"),
        pytest.param("0", None, id="0 is as fast as possible too"),
        pytest.param("inf", None, id="an infinite factor is as fast as possible"),
    ],
)
def test_a_speed_is_read(text: str, speed: float | None) -> None:
    assert event_log.parse_speed(text) == speed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("-1", "a factor of 0 or more", id="a negative speed is refused"),
        pytest.param("fast", "not a number or max", id="a word other than max is refused"),
        pytest.param("nan", "a factor of 0 or more", id="not-a-number is refused"),
    ],
)
def test_a_speed_that_means_nothing_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_log.parse_speed(text)


def test_the_event_log_module_is_pure() -> None:
    """Its decisions run without an event loop or a broker client (no import-linter contract
    covers ``services.broker``, so this one pins it)."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, services.broker.event_log; "
            "print(sorted(m for m in ('asyncio', 'aio_pika', 'aiormq') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert loaded.stdout.strip() == "[]"
