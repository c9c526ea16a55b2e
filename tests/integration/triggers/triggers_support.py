"""What the triggers integration tests share: secrets, reading events back, serving the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika.abc
import aiohttp
from aiohttp import test_utils

from contracts import events
from services.broker import messages
from services.triggers import service
from services.triggers import settings as triggers_settings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GITHUB_SECRET = "integration-github-secret"
GITLAB_TOKEN = "integration-gitlab-token"
GENERIC_TOKEN = "integration-generic-token"
REGISTRY_TOKEN = "integration-registry-token"


class Probe:
    """A queue bound to the events exchange with ``#``: every event published, in order."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self.queue = queue

    async def take(self, count: int, *, within: float = 5.0) -> list[events.Event[events.Payload]]:
        """``count`` events, then a short wait that must bring no more."""
        taken: list[events.Event[events.Payload]] = []
        deadline = asyncio.get_running_loop().time() + within
        while len(taken) < count and asyncio.get_running_loop().time() < deadline:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.02)
                continue
            taken.append(messages.from_message(message))
        await asyncio.sleep(0.3)
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            taken.append(messages.from_message(message))
        return taken


@dataclass
class Served:
    """The app on a free port of 127.0.0.1, and a client session to post to it."""

    url: str
    session: aiohttp.ClientSession

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.url + path, data=body, headers=headers) as response:
            return response.status, await response.json()


@contextlib.asynccontextmanager
async def serve(triggers: service.Triggers) -> AsyncIterator[Served]:
    server = test_utils.TestServer(triggers.app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Served(str(server.make_url("")).rstrip("/"), session)
    finally:
        await server.close()


def settings() -> triggers_settings.TriggersSettings:
    return triggers_settings.TriggersSettings(
        github_secret=GITHUB_SECRET,
        gitlab_token=GITLAB_TOKEN,
        generic_token=GENERIC_TOKEN,
        registry_token=REGISTRY_TOKEN,
    )
