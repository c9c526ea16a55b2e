"""Real repositories served over smart HTTP by ``git http-backend`` on 127.0.0.1, changed with real
``git`` pushes: one anonymous server and one behind basic auth, shared by a module; every test
makes its own repositories."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from services.testbed.git import repositories, serving

USER, PASSWORD = "robot", "s3cret"


@pytest.fixture(scope="module")
async def git_server() -> AsyncIterator[serving.GitServer]:
    async with serving.running_git_server() as server:
        yield server


@pytest.fixture(scope="module")
async def auth_server() -> AsyncIterator[serving.GitServer]:
    async with serving.running_git_server(users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
async def repo(git_server: serving.GitServer) -> repositories.Repository:
    """An empty repository no other test uses."""
    return await git_server.create_repository(f"org/app-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
