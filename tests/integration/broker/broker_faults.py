"""Broker faults for tests, aimed at one test's own connections and channels and nothing else.

The broker is shared with other test runs, so nothing here closes connections wholesale.
Connections are found by name (``connecting.connection_name``: ``<prefix>/<service>@<host>``,
the prefix unique per test) and closed by the broker (``rabbitmqctl close_connection``, as an
operator or a broker restart would). A channel is broken by the broker too: it is made to process
an acknowledgement of a delivery tag it never sent on the channel that consumes a given queue,
which is a channel error (``PRECONDITION_FAILED``) that closes that one channel.
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import Iterable

CONNECTION_NAME = re.compile(r'\{"connection_name","([^"]*)"\}')
BOGUS_TAG = 987_654_321


async def rabbitmqctl(*args: str) -> str:
    """Run ``rabbitmqctl -q ARGS`` and return what it printed; fail on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, f"rabbitmqctl {args[0]} failed: {err.decode()}"
    return out.decode()


async def connections(prefix: str) -> dict[str, str]:
    """The broker's connections named ``<prefix>/…``: connection pid → name."""
    found: dict[str, str] = {}
    for line in (await rabbitmqctl("list_connections", "pid", "client_properties")).splitlines()[1:]:
        pid, _, properties = line.partition("\t")
        name = CONNECTION_NAME.search(properties)
        if name is not None and name.group(1).startswith(f"{prefix}/"):
            found[pid] = name.group(1)
    return found


async def close_connections(prefix: str, *, service: str = "") -> list[str]:
    """Have the broker close the connections named ``<prefix>/<service>…``; return their names."""
    closed = []
    for pid, name in (await connections(prefix)).items():
        if name.startswith(f"{prefix}/{service}"):
            await rabbitmqctl("close_connection", pid, "closed by a Kiln test")
            closed.append(name)
    assert closed, f"no connection named {prefix}/{service}… to close"
    return closed


async def break_consuming_channels(queue: str, *, active_only: bool = False, vhost: str = "/") -> int:
    """Make the broker close every channel consuming ``queue`` (or only the one whose consumer is
    the single active consumer) with a channel error; return how many it closed."""
    active = " {active, true} <- L," if active_only else ""
    code = (
        f"[begin rabbit_channel:do(P, {{'basic.ack', {BOGUS_TAG}, false}}), P end"
        f' || L <- rabbit_amqqueue:consumers_all(<<"{vhost}">>),'
        f' {{queue_name, {{resource, _, queue, <<"{queue}">>}}}} <- L,{active} {{channel_pid, P}} <- L].'
    )
    broken = len(re.findall(r"<[\w.@-]+>", await rabbitmqctl("eval", code)))
    assert broken, f"no channel consumes {queue}"
    return broken


async def consumers(queues: Iterable[str], *, vhost: str = "/") -> list[int]:
    """How many consumers the broker has on each of ``queues`` (``list_consumers``: the consumer
    counts of ``list_queues`` lag behind for quorum queues)."""
    listed = collections.Counter((await rabbitmqctl("list_consumers", "-p", vhost, "queue_name")).split())
    return [listed[queue] for queue in queues]
