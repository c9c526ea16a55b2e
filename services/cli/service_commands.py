"""The commands that run things: run, sandbox, bench (``kiln replay`` is with the event log's, in
``event_commands``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from typing import Annotated, Literal

import httpx
import typer

from services.broker import settings as broker_settings
from services.cli import common
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.bench import figures as bench_figures
from services.testbed.bench import measuring as bench_measuring
from services.testbed.registry import registry_process
from services.testbed.sandbox import examples, harness, reporting

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("sandbox")(sandbox)
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
            f"status page: {box.wiring.admin_url}/  health and metrics: {box.wiring.admin_url}/metrics  "
            f"webhooks: {box.wiring.webhooks_url}/webhooks/…",
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


def bench(
    quick: Annotated[
        bool,
        typer.Option(
            help="a reduced run in under two minutes on two idle cores: the 10,000-Image figures "
            "measured at 280 Images (named by images_large, under the same keys), 20 Images per "
            "push in the one vs two reconciler runs, 8 latency pushes, 1,000 round-trip messages"
        ),
    ] = False,
    output: Annotated[Literal["table", "json"], typer.Option("--output", "-o")] = "table",
    images_large: Annotated[
        int | None,
        typer.Option(help="Images in the cluster for the large figures (default 10,000; 280 quick)"),
    ] = None,
    registry: Annotated[str, typer.Option(help="registry host; one is started if none answers there")] = (
        "127.0.0.1:5000"
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Measure Kiln end to end in one run: the raw broker round trip, git pushes → build pods
    through the real services (each in a `kiln run` process of its own), broker deliveries and
    Kubernetes API requests per trigger and per build by service, latency at a fixed load with one
    and two image-reconciler processes, and the cost per trigger, memory and resync time at
    10,000 Images. Progress goes to stderr; stdout gets the table or one JSON object."""
    _logging(verbose)
    logging.getLogger(bench_measuring.__package__).setLevel(logging.INFO)  # progress, on stderr
    plan = bench_measuring.QUICK if quick else bench_measuring.FULL
    if images_large is not None:
        plan = dataclasses.replace(plan, images_large=images_large)

    async def main() -> bench_figures.Figures:
        async with contextlib.AsyncExitStack() as stack:
            host = await _registry(registry, stack)
            return await bench_measuring.run(plan, registry_host=host)

    try:
        figures = asyncio.run(main())
    except TimeoutError as e:
        common.fail(f"bench: {e}")
    if output == "json":
        typer.echo(figures.model_dump_json())
    else:
        typer.echo(bench_figures.render(figures))
