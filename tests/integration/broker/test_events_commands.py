"""``kiln events tail``, ``kiln events export`` and ``kiln replay`` as a user runs them (a ``kiln``
process each) against the real broker, the events published by Kiln's publisher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import aio_pika.abc
import pytest

from contracts import events
from services.broker import event_log, messages, publishing, topology

if TYPE_CHECKING:
    from tests.integration.broker.conftest import Probe

pytestmark = pytest.mark.integration

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AUDIT = topology.Service("audit", tuple(events.TYPES), sharded=False)
"""A service consuming every event type on one queue, bound as Kiln's services are: what a
service receives, in order."""


def saved_events(count: int, *, gap: float = 1.0, first: int = 0) -> list[events.Event[events.Payload]]:
    """Events of several types about a few images, ``gap`` seconds apart from :data:`T0`."""
    made: list[events.Event[events.Payload]] = []
    for index in range(first, first + count):
        payload: events.Payload
        if index % 3 == 2:
            build = f"app-{index % 2}-build-{index}"
            payload = events.BuildFinished(
                namespace="ns", image=f"app-{index % 2}", build=build, outcome="Succeeded", pod=f"{build}-pod"
            )
        else:
            payload = events.ImageChanged(namespace="ns", name=f"app-{index % 2}", generation=index)
        time = T0 + timedelta(seconds=gap * index)
        made.append(events.new(payload, source="/kiln/tests", time=time, discriminator=str(index)))
    return made


async def publish(probe: Probe, batch: Sequence[events.Event[events.Payload]]) -> None:
    async with await publishing.Publisher.open(probe.connection, settings=probe.settings) as publisher:
        await publisher.publish_many(batch)


async def kiln(
    probe: Probe | None, *args: str, given: str | None = None, prefix: str = "", within: float = 60.0
) -> tuple[int, str, str]:
    """Run ``kiln ARGS`` on the test topology (or under ``prefix``), ``given`` on its stdin: exit
    code, stdout, stderr."""
    process = await _start(prefix or (probe.settings.prefix if probe else "kiln-absent"), *args, given=given)
    try:
        out, err = await asyncio.wait_for(process.communicate(given.encode() if given else None), within)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _start(
    prefix: str, *args: str, given: str | None = None, url: str | None = None
) -> asyncio.subprocess.Process:
    environment = os.environ | {"KILN_BROKER_PREFIX": prefix, "TYPER_USE_RICH": "0"}
    if url is not None:
        environment["KILN_BROKER_URL"] = url
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=environment,
        stdin=asyncio.subprocess.PIPE if given is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def parsed(stdout: str) -> list[events.Event[events.Payload]]:
    return [event_log.parse_line(line) for line in stdout.splitlines()]


@pytest.fixture
async def audit(probe: Probe) -> AsyncIterator[str]:
    """The audit service's queue, declared on the test topology and deleted afterwards."""
    channel = await probe.connection.channel()
    await topology.declare(channel, settings=probe.settings, services=[AUDIT])
    yield probe.names.queues(AUDIT)[0]
    for queue_name in (*probe.names.queues(AUDIT), *probe.names.retry_queues(AUDIT)):
        await channel.queue_delete(queue_name, if_unused=False, if_empty=False)
    await channel.exchange_delete(probe.names.inbox(AUDIT), if_unused=False)
    await channel.close()


async def received(
    probe: Probe, queue_name: str, *, expect: int, within: float = 10.0
) -> list[events.Event[events.Payload]]:
    drained = await probe.drain(queue_name, expect=expect, within=within)
    return [messages.from_message(message) for message in drained]


@contextlib.asynccontextmanager
async def arrivals(
    connection: aio_pika.abc.AbstractConnection, queue_name: str, *, expect: int, within: float = 60.0
) -> AsyncIterator[list[float]]:
    """Consume ``queue_name`` while the caller acts: the loop times at which messages arrive,
    complete (``expect`` of them) once the block is left."""
    loop = asyncio.get_running_loop()
    times: list[float] = []
    done = asyncio.Event()
    channel = await connection.channel()
    queue = await channel.get_queue(queue_name, ensure=False)

    async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        times.append(loop.time())
        await message.ack()
        if len(times) >= expect:
            done.set()

    tag = await queue.consume(take)
    try:
        yield times
        await asyncio.wait_for(done.wait(), within)
    finally:
        await queue.cancel(tag)
        await channel.close()


def span(times: list[float]) -> float:
    return times[-1] - times[0]


async def test_export_writes_exactly_the_published_events_in_order(probe: Probe) -> None:
    batch = saved_events(12)
    await publish(probe, batch)

    code, out, err = await kiln(probe, "events", "export", "--from", "first")

    assert code == 0, err
    assert parsed(out) == batch
    assert out == "".join(event_log.to_line(event) + "\n" for event in batch)
    assert "exported 12 events" in err


async def test_export_between_two_times_and_up_to_a_limit(probe: Probe) -> None:
    batch = saved_events(10)
    await publish(probe, batch)

    _, between, _ = await kiln(
        probe, "events", "export", "--from", "2024-05-01T12:00:03Z", "--to", "2024-05-01T12:00:07Z"
    )
    _, limited, _ = await kiln(probe, "events", "export", "--from", "first", "--limit", "4")
    _, from_offset, _ = await kiln(probe, "events", "export", "--from", "8")

    assert parsed(between) == batch[3:8]
    assert parsed(limited) == batch[:4]
    assert parsed(from_offset) == batch[8:]


async def test_tail_prints_the_log_and_follows_it_until_ctrl_c(probe: Probe) -> None:
    earlier, later = saved_events(3), saved_events(3, first=3)
    await publish(probe, earlier)
    process = await _start(probe.settings.prefix, "events", "tail", "--from", "first", "-o", "json")
    try:
        assert process.stdout is not None
        lines = [await asyncio.wait_for(process.stdout.readline(), 30) for _ in earlier]
        await publish(probe, later)
        lines += [await asyncio.wait_for(process.stdout.readline(), 30) for _ in later]
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert parsed(b"".join(lines).decode()) == earlier + later
    assert rest == b"", "nothing but the events"
    assert process.returncode == 0, "Ctrl-C ends a tail as the user asked"


async def test_tail_as_a_table_shows_one_line_per_event(probe: Probe) -> None:
    batch = saved_events(3)
    await publish(probe, batch)

    code, out, err = await kiln(probe, "events", "tail", "--from", "first", "--limit", "3")

    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["OFFSET", "TIME", "TYPE", "SUBJECT", "ID", "DATA"]
    assert [row.split()[:5] for row in rows] == [
        [
            str(offset),
            event_log.table_line(event, offset=None).split()[0],
            event.type,
            event.subject,
            event.id,
        ]
        for offset, event in enumerate(batch)
    ]
    assert rows[2].split()[5:] == ["build=app-0-build-2", "outcome=Succeeded", "pod=app-0-build-2-pod"]


async def test_replay_of_an_export_publishes_the_same_events_again(
    probe: Probe, audit: str, tmp_path: Path
) -> None:
    batch = saved_events(9, gap=0.01)
    await publish(probe, batch)
    assert await received(probe, audit, expect=9) == batch
    saved = tmp_path / "events.jsonl"
    _, exported, _ = await kiln(probe, "events", "export")
    saved.write_text(exported)

    code, _, err = await kiln(probe, "replay", str(saved))

    assert code == 0, err
    assert "replayed 9 events" in err
    again = await received(probe, audit, expect=9)
    assert [(e.id, e.type, e.subject, e.data) for e in again] == [
        (e.id, e.type, e.subject, e.data) for e in batch
    ]
    _, logged, _ = await kiln(probe, "events", "export")
    assert parsed(logged) == batch + batch, "the log holds the replayed events too, with their ids"


async def test_replay_speed_scales_the_recorded_gaps(probe: Probe, audit: str, tmp_path: Path) -> None:
    batch = saved_events(4, gap=1.0)  # 3 s recorded between the first and the last
    saved = tmp_path / "events.jsonl"
    saved.write_text("".join(event_log.to_line(event) + "\n" for event in batch))

    async with arrivals(probe.connection, audit, expect=4) as twice_as_fast:
        replayed = [await kiln(probe, "replay", str(saved), "--speed", "2")]
    async with arrivals(probe.connection, audit, expect=4) as at_once:
        replayed.append(await kiln(probe, "replay", str(saved), "--speed", "max"))
    async with arrivals(probe.connection, audit, expect=4) as capped:
        replayed.append(await kiln(probe, "replay", str(saved), "--speed", "1", "--max-gap", "0.2"))

    assert [code for code, _, _ in replayed] == [0, 0, 0], [err for _, _, err in replayed]
    assert 1.3 <= span(twice_as_fast) <= 2.8, "1.5 s: the 3 s recorded, twice as fast"
    assert span(at_once) < 0.8, "max: no pauses"
    assert 0.5 <= span(capped) < 1.5, "three gaps cut to 0.2 s"


async def test_ctrl_c_stops_a_replay_saying_how_far_it_went(probe: Probe, audit: str, tmp_path: Path) -> None:
    saved = tmp_path / "events.jsonl"
    saved.write_text("".join(event_log.to_line(event) + "\n" for event in saved_events(3, gap=30.0)))
    process = await _start(probe.settings.prefix, "replay", str(saved), "--speed", "1")
    try:
        assert len(await received(probe, audit, expect=1, within=30)) == 1
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 130
    assert "replay stopped: 1 of 3 events published" in err.decode()
    assert await received(probe, audit, expect=0) == []


async def test_a_file_with_invalid_lines_is_refused_whole_naming_each_line(
    probe: Probe, audit: str, tmp_path: Path
) -> None:
    batch = saved_events(3)
    saved = tmp_path / "events.jsonl"
    saved.write_text(
        "\n".join([event_log.to_line(batch[0]), "not json", event_log.to_line(batch[1]), '{"type": "x"}', ""])
        + "\n"
        + event_log.to_line(batch[2])
        + "\n"
    )

    code, out, err = await kiln(probe, "replay", str(saved))

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{saved}:2: invalid: not JSON: Expecting value: line 1 column 1 (char 0)",
        f"{saved}:4: invalid: data: missing",
        f"{saved}: refused, nothing published: 2 of 5 lines invalid (--skip-invalid publishes the valid ones)",
    ]
    assert await received(probe, audit, expect=0) == []

    code, _, err = await kiln(probe, "replay", str(saved), "--skip-invalid")

    assert code == 0, err
    assert f"{saved}:2: skipped: not JSON" in err
    assert await received(probe, audit, expect=3) == batch


async def test_replay_reads_a_log_piped_from_export(probe: Probe, audit: str) -> None:
    batch = saved_events(3)
    await publish(probe, batch)
    await received(probe, audit, expect=3)
    _, exported, _ = await kiln(probe, "events", "export")

    code, _, err = await kiln(probe, "replay", "-", given=exported)

    assert code == 0, err
    assert await received(probe, audit, expect=3) == batch


async def test_replay_without_a_file_prints_the_log_as_before(probe: Probe) -> None:
    batch = saved_events(6)
    await publish(probe, batch)

    code, out, err = await kiln(probe, "replay", "--offset", "2", "--limit", "3")

    assert (code, err) == (0, "")
    assert parsed(out) == batch[2:5]


async def test_an_empty_log_exports_nothing(probe: Probe) -> None:
    code, out, err = await kiln(probe, "events", "export", "--from", "first")

    assert (code, out) == (0, "")
    assert "exported 0 events" in err


async def test_a_broker_without_kilns_topology_is_a_clear_failure(tmp_path: Path) -> None:
    saved = tmp_path / "events.jsonl"
    saved.write_text(event_log.to_line(saved_events(1)[0]) + "\n")

    exported = await kiln(None, "events", "export", prefix="test-absent-topology")
    replayed = await kiln(None, "replay", str(saved), prefix="test-absent-topology")

    assert exported[:2] == (1, "")
    assert "no event stream test-absent-topology.events.stream" in exported[2]
    assert "is Kiln's topology declared" in exported[2]
    assert replayed[:2] == (1, "")
    assert "no events exchange test-absent-topology.events" in replayed[2]
    assert "is Kiln's topology declared" in replayed[2]


async def test_a_broker_that_cannot_be_reached_is_said_once() -> None:
    process = await _start("kiln", "events", "tail", url="amqp://guest:guest@127.0.0.1:1/")
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert (process.returncode, out) == (1, b"")
    assert err.decode().splitlines() == [
        "cannot reach the broker: [Errno 111] Connect call failed ('127.0.0.1', 1)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("events", "tail", "--from", "yesterday"), "Invalid value for --from", id="a bad --from"
        ),
        pytest.param(
            ("events", "export", "--from", "next"), "next would export nothing", id="export from next"
        ),
        pytest.param(
            ("replay", "x.jsonl", "--speed", "-2"), "Invalid value for --speed", id="a negative speed"
        ),
        pytest.param(
            ("replay", "x.jsonl", "--offset", "3"), "Invalid value for --offset", id="a file and --offset"
        ),
    ],
)
async def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    code, _, err = await kiln(None, *args)

    assert code == 2
    assert message in err
