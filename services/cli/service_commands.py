"""The commands that run things: run, sandbox, replay, bench."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer

from services.broker import connecting
from services.broker import replay as broker_replay
from services.broker import settings as broker_settings
from services.cli import common
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.bench import broker as broker_bench
from services.testbed.bench import builds as sandbox_bench
from services.testbed.bench import emulator as emulator_bench
from services.testbed.registry import registry_process
from services.testbed.sandbox import examples, harness, reporting

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("sandbox")(sandbox)
    app.command("replay")(replay)
    app.command("bench")(bench)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}',
        stream=sys.stderr,
    )
    for noisy in ("httpx", "aio_pika", "aiormq"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(
    services: Annotated[
        list[str], typer.Argument(help=f"some of {', '.join(running.SERVICE_NAMES)}, or all")
    ],
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = True,
) -> None:
    """Run Kiln services in this process until SIGINT/SIGTERM (settings from KILN_* variables)."""
    unknown = [s for s in services if s not in (*running.SERVICE_NAMES, "all")]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}", param_hint="SERVICES")
    _logging(verbose)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running.running(
            services,
            settings=running.RunSettings(),
            broker=broker_settings.BrokerSettings(),
            kube=kube_settings.KubeSettings(),
        ):
            await stop.wait()

    try:
        asyncio.run(main())
    except ValueError as e:  # a setting that cannot work, e.g. the admission webhook's TLS files
        common.fail(str(e))


def sandbox(
    example: Annotated[
        Literal["registry-cache", "volume-cache", "stack-update", "none"],
        typer.Option(
            help="example Image to load; stack-update patches the stack's run image after the first "
            "build, on a registry of the sandbox's own that notifies Kiln of pushes"
        ),
    ] = "registry-cache",
    until_builds: Annotated[
        int, typer.Option(help="exit after this many builds finished (0: run until Ctrl-C)")
    ] = 0,
    output: Annotated[Literal["table", "json"], typer.Option("--output", "-o")] = "table",
    registry: Annotated[str, typer.Option(help="registry host; one is started if none answers there")] = (
        "127.0.0.1:5000"
    ),
    step_seconds: Annotated[float, typer.Option(help="simulated duration of each build step")] = 0.05,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Kiln on this machine: emulated Kubernetes, simulated kubelet, real broker and registry.

    Makes the builder image from a ClusterStore, ClusterStack and ClusterLifecycle, loads the
    example Image and, after each finished build, pushes a new commit (as a git webhook would;
    stack-update first pushes a patched run image, which rebases the Image) until --until-builds
    builds have finished. Prints each finished build.
    """
    _logging(verbose)
    reporter = reporting.Reporter(output=output)
    try:
        code = asyncio.run(_sandbox(example, until_builds, reporter, registry, step_seconds))
    except TimeoutError as e:
        common.fail(f"sandbox: {e}")
    raise typer.Exit(code)


async def _sandbox(
    example: str, until_builds: int, reporter: reporting.Reporter, registry: str, step_seconds: float
) -> int:
    async with contextlib.AsyncExitStack() as stack:
        own_registry = example == "stack-update"
        host = registry if own_registry else await _registry(registry, stack)
        box = await stack.enter_async_context(
            harness.sandbox(registry_host=host, step_seconds=step_seconds, notifying_registry=own_registry)
        )
        host = box.registry_host
        typer.echo(
            f"kubeconfig: {box.kubeconfig}  (kubectl --kubeconfig {box.kubeconfig} get images,builds,pods)\n"
            f"health and metrics: {box.wiring.admin_url}/metrics  webhooks: {box.wiring.webhooks_url}/webhooks/…",
            err=True,
        )
        await box.add_builder()
        if example == "none":
            await asyncio.Event().wait()
        image = examples.image(example, name="sample", namespace="default", registry=host, builder="default")
        await box.apply(image)
        reported: set[str] = set()
        while until_builds == 0 or len(reported) < until_builds:
            await box.wait_for(lambda: _finished(box, reported), seconds=120, what="the next build to finish")
            for build in box.builds("default"):
                if build.name in reported or build.running():
                    continue
                reported.add(build.name)
                report = reporting.build_report(
                    build, cache_args=box.cache_args(build), registry=host, rebase=box.rebased(build)
                )
                reporter.report(report)
            if until_builds == 0 or len(reported) < until_builds:
                await _next_change(box, example=example, builds=len(reported))
    return 0


async def _next_change(box: harness.Sandbox, *, example: str, builds: int) -> None:
    """What makes the next build: a patched run image after stack-update's first build (the
    registry notifies the triggers service), else a pushed commit (a git webhook)."""
    if example == "stack-update" and builds == 1 and box.kit is not None:
        await box.kit.patch_run_image()
        return
    await box.push_commit()


def _finished(box: harness.Sandbox, reported: set[str]) -> bool:
    return any(not b.running() and b.name not in reported for b in box.builds("default"))


async def _registry(host: str, stack: contextlib.AsyncExitStack) -> str:
    """``host`` if a registry answers there, else a registry started for this run."""
    try:
        async with httpx.AsyncClient(timeout=2.0) as probe:
            await probe.get(f"http://{host}/v2/")
        return host
    except httpx.HTTPError:
        started = await registry_process.start_registry()
        stack.push_async_callback(started.stop)
        typer.echo(f"no registry at {host}: started one at {started.host}", err=True)
        return started.host


def replay(
    offset: Annotated[str, typer.Option(help="first, next, or a stream offset number")] = "first",
    limit: Annotated[int | None, typer.Option(help="at most this many events")] = None,
) -> None:
    """Print the event log (the broker's event stream) as JSON lines, from --offset."""

    async def main() -> list[Any]:
        settings = broker_settings.BrokerSettings()
        connection = await connecting.connect(settings, service="replay")
        try:
            where: Any = int(offset) if offset.isdigit() else offset
            return await broker_replay.replay(connection, settings=settings, offset=where, limit=limit)
        finally:
            await connection.close()

    for event in asyncio.run(main()):
        print(json.dumps({**event.attributes(), "data": event.data.model_dump(mode="json")}))


def bench(
    messages: Annotated[int, typer.Option(help="messages per broker measurement")] = 5000,
    requests: Annotated[int, typer.Option(help="requests per emulator measurement")] = 2000,
    images: Annotated[int, typer.Option(help="Images rebuilt for the requests-per-build measurement")] = 10,
    registry: Annotated[str, typer.Option(help="registry host for the build measurement")] = "127.0.0.1:5000",
) -> None:
    """Measure: API requests per build and memory, our publisher vs raw aio-pika in the same run,
    and the Kubernetes emulator's requests/s."""

    async def main() -> tuple[sandbox_bench.BuildFigures, broker_bench.Figures, list[emulator_bench.Figure]]:
        builds = await sandbox_bench.measure(images=images, registry_host=registry)
        prefix = f"kiln-bench-{Path.cwd().name}"
        settings = broker_settings.BrokerSettings(prefix=prefix)
        figures = await broker_bench.run(settings, count=messages, awaited_count=min(messages, 1000))
        return builds, figures, await emulator_bench.measure_in_child(requests=requests)

    _logging(False)
    build_figures, broker_figures, emulator_figures = asyncio.run(main())
    typer.echo(
        f"builds ({build_figures.images} Images rebuilt by one git push, all services in this process)"
    )
    typer.echo(f"  Kubernetes API requests per build     {build_figures.requests_per_build:>9.1f}")
    typer.echo(f"  build.scheduled events per build      {build_figures.scheduled_per_build:>9.2f}")
    typer.echo(f"  peak RSS of the process               {build_figures.peak_rss_mib:>9.0f} MiB")
    raw = broker_figures.raw_pipelined_msg_s
    typer.echo(
        f"broker (persistent ~300-byte events, quorum queues, publisher confirms; "
        f"pipelined: median of {broker_figures.rounds} alternating rounds)"
    )
    typer.echo(f"  raw aio-pika, awaiting each confirm   {broker_figures.raw_awaited_msg_s:>9,.0f} msg/s")
    typer.echo(f"  raw aio-pika, pipelined confirms      {raw:>9,.0f} msg/s")
    typer.echo(
        f"  kiln publisher (pipelined, confirmed)  {broker_figures.publisher_msg_s:>9,.0f} msg/s"
        f"  ({broker_figures.publisher_msg_s / raw:.2f}x raw pipelined)"
    )
    typer.echo(f"  consume + ack, prefetch               {broker_figures.consume_msg_s:>9,.0f} msg/s")
    typer.echo("kubernetes emulator (child process)")
    typer.echo("  " + emulator_bench.render(emulator_figures).replace("\n", "\n  "))
