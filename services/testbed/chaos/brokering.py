"""Broker faults aimed at one chaos run, through ``rabbitmqctl``, and the run's queue depths.

The broker is shared, so nothing here closes connections wholesale: a run's connections are
found by name (``<prefix>/<service>@<host>``, the run's unique prefix) and closed one by one by
the broker (``close_connection``); a channel is broken by making the broker process an
acknowledgement of a delivery tag it never sent on a channel consuming one of the run's queues, a
channel error (``PRECONDITION_FAILED``) that closes that channel alone. :func:`restart_app`
(``stop_app``/``start_app``) is the one fault that touches everything on the broker: ``kiln
chaos`` runs it only when asked (``--broker-restart``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence

import aio_pika.abc
import aiormq.exceptions

logger = logging.getLogger(__name__)
CONNECTION_NAME = re.compile(r'\{"connection_name","([^"]*)"\}')
BOGUS_TAG = 987_654_321
CTL_SECONDS = 60.0


class BrokerCommandError(RuntimeError):
    """``rabbitmqctl`` failed or did not answer in time."""


async def rabbitmqctl(*args: str, seconds: float = CTL_SECONDS) -> str:
    """Run ``rabbitmqctl -q ARGS``; what it printed."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BrokerCommandError(f"rabbitmqctl {args[0]} did not answer in {seconds:.0f} s") from None
    if process.returncode != 0:
        raise BrokerCommandError(f"rabbitmqctl {args[0]} failed: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


async def connections(prefix: str) -> dict[str, str]:
    """The broker's connections named ``<prefix>/…``: connection pid → name."""
    found: dict[str, str] = {}
    for line in (await rabbitmqctl("list_connections", "pid", "client_properties")).splitlines():
        pid, _, properties = line.partition("\t")
        name = CONNECTION_NAME.search(properties)
        if name is not None and name.group(1).startswith(f"{prefix}/"):
            found[pid] = name.group(1)
    return found


async def close_connections(prefix: str, *, service: str = "") -> list[str]:
    """Have the broker close the connections named ``<prefix>/<service>…``; their names."""
    closed = []
    for pid, name in (await connections(prefix)).items():
        if name.startswith(f"{prefix}/{service}"):
            with contextlib.suppress(BrokerCommandError):  # closed meanwhile
                await rabbitmqctl("close_connection", pid, "closed by kiln chaos")
                closed.append(name)
    return closed


async def break_consuming_channels(queue: str, *, vhost: str = "/") -> int:
    """Make the broker close every channel consuming ``queue`` with a channel error; how many."""
    code = (
        f"[begin rabbit_channel:do(P, {{'basic.ack', {BOGUS_TAG}, false}}), P end"
        f' || L <- rabbit_amqqueue:consumers_all(<<"{vhost}">>),'
        f' {{queue_name, {{resource, _, queue, <<"{queue}">>}}}} <- L, {{channel_pid, P}} <- L].'
    )
    return len(re.findall(r"<[\w.@-]+>", await rabbitmqctl("eval", code)))


async def restart_app(*, down_seconds: float) -> None:
    """``rabbitmqctl stop_app``, ``down_seconds`` of nothing, ``start_app``, and until it answers."""
    await rabbitmqctl("stop_app", seconds=120.0)
    try:
        await asyncio.sleep(down_seconds)
    finally:
        await rabbitmqctl("start_app", seconds=180.0)
        await rabbitmqctl("await_startup", seconds=180.0)


async def ready_messages(connection: aio_pika.abc.AbstractConnection, queues: Sequence[str]) -> int:
    """Messages ready on ``queues`` (unacknowledged ones are not counted: passive declares)."""
    channel = await connection.channel()
    total = 0
    try:
        for name in queues:
            with contextlib.suppress(aiormq.exceptions.ChannelNotFoundEntity):
                declared = await channel.declare_queue(name, passive=True)
                total += declared.declaration_result.message_count or 0
    finally:
        with contextlib.suppress(Exception):
            await channel.close()
    return total


async def pending_messages(prefix: str, *, vhost: str = "/") -> int:
    """Messages ready or unacknowledged on the queues named ``<prefix>.…`` but the stream and the
    dead letters (``rabbitmqctl list_queues``: slower, counts what consumers hold too)."""
    out = await rabbitmqctl("list_queues", "-p", vhost, "name", "type", "messages")
    total = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].startswith(f"{prefix}.") or parts[1] == "stream":
            continue
        if parts[0].endswith(".dead") or not parts[2].isdigit():
            continue
        total += int(parts[2])
    return total
