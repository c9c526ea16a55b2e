"""Suite-wide guards: no asyncio task may outlive the test that started it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    before = set(asyncio.all_tasks())
    yield
    await asyncio.sleep(0)
    leaked = [
        task
        for task in asyncio.all_tasks() - before
        if not task.done() and task is not asyncio.current_task() and not _is_library_task(task)
    ]
    assert not leaked, f"tasks left running after the test: {leaked}"


def _is_library_task(task: asyncio.Task[object]) -> bool:
    """Connection housekeeping of long-lived session fixtures is not a test's leak."""
    coro = getattr(task.get_coro(), "__qualname__", "")
    return any(part in coro for part in ("Connection", "Channel", "Robust", "aiormq", "Reader", "_reader"))
