"""A TCP proxy in front of the registry, that a chaos run takes down and brings back.

The registry on 127.0.0.1:5000 is shared with other runs and tests, so it is never stopped:
a run's Images name the proxy's address as their registry instead, and "the registry is down"
means the proxy stops listening and cuts every connection through it (what a crashed registry or
a network partition looks like to a client). :meth:`TcpProxy.stop` and :meth:`TcpProxy.start`
may alternate any number of times; the port stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

logger = logging.getLogger(__name__)
CHUNK = 64 * 1024


class TcpProxy:
    """Forwards connections on ``127.0.0.1:<port>`` to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._down_since: float | None = None
        self.downtime = 0.0
        """Seconds the proxy was down so far (its stops, until each start)."""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        if self._down_since is not None:
            self.downtime += time.monotonic() - self._down_since
            self._down_since = None
        logger.info("registry proxy %s → %s:%s up", self.address, *self.target)

    async def stop(self) -> None:
        """Stop listening and cut every connection through the proxy."""
        server, self._server = self._server, None
        if server is None:
            return
        self._down_since = time.monotonic()
        server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=5)
        logger.info("registry proxy %s down", self.address)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.open_connection(*self.target)
            async with asyncio.TaskGroup() as pipes:
                pipes.create_task(_pipe(reader, upstream))
                pipes.create_task(_pipe(up_reader, writer))
        except (OSError, ExceptionGroup, asyncio.CancelledError):
            pass
        finally:
            self._pipes.discard(task)
            for end in (writer, upstream):
                if end is not None:
                    end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
