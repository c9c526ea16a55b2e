"""The event log as a user feature: ``kiln events tail``, ``kiln events export`` and ``kiln replay``.

Every event Kiln publishes is also copied into the broker's event stream (kept
``KILN_BROKER_STREAM_MAX_AGE``, 7 days by default). ``tail`` follows it live, ``export`` saves it
as CloudEvents JSON lines, and ``replay`` publishes a saved log again through Kiln's publisher with
the same ids, so the services treat an event they already handled as the duplicate it is.
Settings come from the ``KILN_BROKER_*`` variables. Exit codes: 0 success, 1 a refused file or a
broker that cannot be reached or refused a publish, 2 usage errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, TextIO

import typer

from contracts import events
from services import errors
from services.broker import connecting, event_log, publishing
from services.broker import replay as broker_replay
from services.broker import settings as broker_settings
from services.cli import common

events_app = typer.Typer(
    name="events",
    help="The event log: follow it live, or export it as CloudEvents JSON lines for `kiln replay`.",
    no_args_is_help=True,
)

FROM_HELP = (
    "first, last, next, a stream offset number, an RFC 3339 time with a time zone, or a duration "
    "ago (90s, 15m, 2h, 7d); from a time, events observed before it are left out"
)
Output = Literal["table", "json"]


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
    app.command("replay")(replay)


def _start(text: str, *, hint: str = "--from") -> event_log.Start:
    try:
        return event_log.parse_start(text, now=datetime.now(UTC))
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=hint) from None


def _time(text: str | None, *, hint: str) -> datetime | None:
    if text is None:
        return None
    try:
        return event_log.parse_time(text, now=datetime.now(UTC))
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=hint) from None


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


INTERRUPTED = 130
"""Exit code of an export or a replay stopped by Ctrl-C before its end (as a shell reports SIGINT)."""


def _run(main: Callable[[], Awaitable[int]], *, stopped: int = INTERRUPTED) -> None:
    """Run ``main``, exiting ``stopped`` if Ctrl-C (or SIGTERM) stops it; a broker that cannot be
    reached, or has no Kiln topology, fails with exit 1 (said once, here: the AMQP client's own
    logs of it are silenced)."""
    for library in ("aio_pika", "aiormq"):
        logging.getLogger(library).setLevel(logging.CRITICAL)
    try:
        code = asyncio.run(_until_stopped(main, stopped=stopped))
    except ConnectionError as e:
        common.fail(f"cannot reach the broker: {e}")
    except errors.NotFoundError as e:
        common.fail(f"{e} (is Kiln's topology declared under KILN_BROKER_PREFIX? `kiln run` declares it)")
    except publishing.PublishError as e:
        common.fail(f"publishing failed: {e}")
    raise typer.Exit(code)


async def _until_stopped(main: Callable[[], Awaitable[int]], *, stopped: int) -> int:
    """``main()``'s exit code, or ``stopped`` once SIGINT or SIGTERM stops it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    work = asyncio.ensure_future(main())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, stopping):
            task.cancel()
        await asyncio.gather(work, stopping, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return work.result() if work.done() and not work.cancelled() else stopped


async def _read(
    *,
    start: event_log.Start,
    until: datetime | None,
    limit: int | None,
    idle: float | None,
    service: str,
    emit: Callable[[broker_replay.Entry], None],
) -> int:
    """Hand each event of the stream to ``emit`` (undecodable entries reported on stderr); the
    number of events."""
    settings = broker_settings.BrokerSettings()
    since = start if isinstance(start, datetime) else None
    connection = await connecting.connect(settings, service=service)
    count = 0
    try:
        read = broker_replay.entries(connection, settings=settings, offset=start, idle=idle)
        async with contextlib.aclosing(read) as stream:
            async for entry in stream:
                if entry.event is None:
                    typer.echo(f"skipped stream entry at offset {entry.offset}: {entry.problem}", err=True)
                    continue
                where = event_log.placement(entry.event, since=since, until=until)
                if where == "after":
                    break
                if where == "within":
                    emit(entry)
                    count += 1
                    if count == limit:
                        break
    finally:
        await connection.close()
    return count


@events_app.command("tail")
def tail(
    from_: Annotated[str, typer.Option("--from", help=FROM_HELP)] = "next",
    output: Annotated[
        Output, typer.Option("--output", "-o", help="table, or json: CloudEvents JSON lines")
    ] = ("table"),
    limit: Annotated[int | None, typer.Option(min=1, help="stop after this many events")] = None,
) -> None:
    """Follow the event log live until Ctrl-C: one line per event (offset, time, type, subject,
    id, short data), or with -o json the CloudEvents JSON lines that `kiln replay` reads."""
    start = _start(from_)

    headed = output == "json"

    def emit(entry: broker_replay.Entry) -> None:
        nonlocal headed
        assert entry.event is not None
        if output == "json":
            _write(event_log.to_line(entry.event))
            return
        if not headed:
            _write(event_log.TABLE_HEADER)
            headed = True
        _write(event_log.table_line(entry.event, offset=entry.offset))

    async def main() -> int:
        await _read(start=start, until=None, limit=limit, idle=None, service="events-tail", emit=emit)
        return 0

    _run(main, stopped=0)  # Ctrl-C is how a tail ends


@events_app.command("export")
def export(
    from_: Annotated[str, typer.Option("--from", help=FROM_HELP)] = "first",
    to: Annotated[
        str | None,
        typer.Option(help="stop at the first event observed after this time (RFC 3339 or a duration ago)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many events")] = None,
    idle: Annotated[
        float, typer.Option(min=0.05, help="seconds without a new event that mean the end of the log")
    ] = 1.0,
) -> None:
    """Write the saved event log to stdout as CloudEvents JSON lines (what `kiln replay` reads),
    from --from to the end of what the stream holds (or --to, or --limit events)."""
    start = _start(from_)
    if start == "next":
        raise typer.BadParameter(
            "next would export nothing: use first, an offset or a time", param_hint="--from"
        )
    until = _time(to, hint="--to")

    def emit(entry: broker_replay.Entry) -> None:
        assert entry.event is not None
        _write(event_log.to_line(entry.event))

    async def main() -> int:
        count = await _read(
            start=start, until=until, limit=limit, idle=idle, service="events-export", emit=emit
        )
        typer.echo(f"exported {count} events", err=True)
        return 0

    _run(main)


def replay(
    file: Annotated[
        str | None,
        typer.Argument(
            help="a saved log (CloudEvents JSON lines, as `kiln events export` writes), or - for stdin; "
            "without it, the event log is printed from --offset"
        ),
    ] = None,
    speed: Annotated[
        str,
        typer.Option(
            help="replay speed: the original gaps between the events' times divided by this factor "
            "(1: as recorded, 10: ten times faster); 0 or max: as fast as possible"
        ),
    ] = "max",
    max_gap: Annotated[
        float | None,
        typer.Option(min=0, help="longest pause, in seconds, between two events (after --speed)"),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            help="publish the valid lines and skip the invalid ones; without it a file with an invalid "
            "line is refused and nothing is published"
        ),
    ] = False,
    offset: Annotated[
        str, typer.Option(help="without FILE: first, next, or a stream offset number")
    ] = "first",
    limit: Annotated[int | None, typer.Option(help="at most this many events")] = None,
) -> None:
    """Publish a saved event log again through Kiln's publisher, in order and with the same ids (a
    service that handled an event already sees a duplicate). Invalid lines are reported with their
    line number on stderr. Without FILE: print the event log as JSON lines from --offset."""
    if file is None:
        _print_log(offset=offset, limit=limit)
        return
    if offset != "first":
        raise typer.BadParameter(
            "--offset reads the broker's log; a FILE is replayed whole", param_hint="--offset"
        )
    try:
        pace = event_log.parse_speed(speed)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--speed") from None
    saved = _load(file, skip_invalid=skip_invalid)[:limit]
    due = event_log.schedule([event.time for event in saved], speed=pace, max_gap=max_gap)

    async def main() -> int:
        settings = broker_settings.BrokerSettings()
        connection = await connecting.connect(settings, service="replay")
        published = 0
        began = time.monotonic()
        try:
            await broker_replay.require_events_exchange(connection, settings=settings)
            async with await publishing.Publisher.open(connection, settings=settings) as publisher:
                async for published in broker_replay.republish(publisher, saved, due=due):  # noqa: B007
                    pass
        except (publishing.PublishError, asyncio.CancelledError):
            typer.echo(f"replay stopped: {published} of {len(saved)} events published", err=True)
            raise
        finally:
            await connection.close()
        typer.echo(f"replayed {published} events in {time.monotonic() - began:.1f} s", err=True)
        return 0

    _run(main)


def _load(file: str, *, skip_invalid: bool) -> list[events.Event[events.Payload]]:
    """The events of a saved log; each invalid line reported as ``FILE:LINE: reason`` on stderr,
    then the file refused (exit 1) unless ``skip_invalid``."""
    name = "<stdin>" if file == "-" else file
    try:
        with contextlib.ExitStack() as stack:
            source: TextIO = (
                sys.stdin if file == "-" else stack.enter_context(Path(file).open(encoding="utf-8"))
            )
            lines = list(event_log.read_lines(source))
    except (OSError, UnicodeDecodeError) as e:
        common.fail(f"{name}: cannot read: {e}")
    invalid = [line for line in lines if line.event is None]
    verdict = "skipped" if skip_invalid else "invalid"
    for line in invalid:
        typer.echo(f"{name}:{line.number}: {verdict}: {line.problem}", err=True)
    if invalid and not skip_invalid:
        common.fail(
            f"{name}: refused, nothing published: {len(invalid)} of {len(lines)} lines invalid "
            "(--skip-invalid publishes the valid ones)"
        )
    return [line.event for line in lines if line.event is not None]


def _print_log(*, offset: str, limit: int | None) -> None:
    """The event log from ``offset``, as JSON lines (``kiln replay`` without a file)."""

    async def main() -> int:
        settings = broker_settings.BrokerSettings()
        connection = await connecting.connect(settings, service="replay")
        try:
            where: event_log.Start = int(offset) if offset.isdigit() else offset
            found = await broker_replay.replay(connection, settings=settings, offset=where, limit=limit)
        finally:
            await connection.close()
        for event in found:
            _write(event_log.to_line(event))
        return 0

    _run(main)
