"""Reading a Build's step logs from the cluster, and following a running Build to its end.

As ``kp build logs`` does it: watch the Build's pod, and as each step container starts (init
containers in order, then ``completion``) print a ``===> STEP`` header and stream that
container's log (``GET pods/{name}/log?container=STEP&follow=true``) until it terminates; then
wait for the Build's ``Succeeded`` condition (a Build still without a pod after `NO_POD_SECONDS`
is named on stderr, with where to look: kpack-cli #216). A pod deleted under the build (a cancel)
ends its steps; a pod made again under the same name is followed from its first step not yet shown.
Waiting for an Image's next Build (kpack-cli #77) watches the Image's Builds for a higher build
number.

Decisions and wording are in :mod:`.log_views`; this module does the watches and the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, TextIO, cast

import aiohttp
from kubernetes_asyncio import client

from contracts import builds
from services import errors
from services.cli import log_views
from services.kube import resources, translating, watching

NO_POD_SECONDS = 10.0
"""How long a followed Build may go without a pod before the user is told (kpack-cli #216)."""


@dataclasses.dataclass
class Printer:
    """Where lines go: stdout, with colored headers on a terminal."""

    out: TextIO = dataclasses.field(default_factory=lambda: sys.stdout)
    color: bool = False
    timestamps: bool = False
    notes: TextIO = dataclasses.field(default_factory=lambda: sys.stderr)
    """Where what is not a log line goes (a build that waits for its pod)."""

    def line(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def header(self, step: str) -> None:
        self.line(log_views.header(step, color=self.color))

    def note(self, text: str) -> None:
        self.notes.write(text + "\n")
        self.notes.flush()


async def print_step(
    kube: resources.Kube, pod: dict[str, Any], step: str, *, follow: bool, printer: Printer
) -> None:
    """The header and the log of one started step; with ``follow``, until the step terminates."""
    meta = pod["metadata"]
    core = client.CoreV1Api(kube.api)
    settings = kube.settings
    timeout = aiohttp.ClientTimeout(
        total=None if follow else settings.request_timeout, sock_connect=settings.connect_timeout
    )
    try:
        answer = await core.read_namespaced_pod_log(
            meta["name"],
            meta["namespace"],
            container=step,
            follow=follow,
            timestamps=printer.timestamps,
            _preload_content=False,
            _request_timeout=timeout,
        )
    except translating.CLIENT_ERRORS as e:
        raise translating.translate(e) from e
    response = cast(aiohttp.ClientResponse, answer)  # the raw answer: _preload_content=False
    try:
        if response.status != 200:
            raise translating.translate(translating.api_error(response, await response.read()))
        printer.header(step)
        async for raw in response.content:
            printer.line(raw.decode(errors="replace"))
    except translating.TRANSPORT_ERRORS as e:
        raise translating.translate(e) from e
    finally:
        response.release()


async def print_build(kube: resources.Kube, build: builds.Build, *, printer: Printer) -> None:
    """Every started step's log as it is now (no following)."""
    pod = await kube.pods.find(build.pod_name(), namespace=build.namespace)
    if pod is None:
        raise errors.NotFoundError(
            f'the pod of Build "{build.name}" ({build.pod_name()}) is gone, and its logs with it'
        )
    for step in log_views.steps(pod):
        if log_views.started(pod, step):
            await print_step(kube, pod, step, follow=False, printer=printer)


def printer(*, timestamps: bool = False) -> Printer:
    """Lines to stdout; headers in color on a terminal (unless ``NO_COLOR`` is set)."""
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return Printer(color=color, timestamps=timestamps)


async def follow_to_the_end(
    kube: resources.Kube, build: builds.Build, *, printer: Printer
) -> log_views.Outcome:
    """Follow ``build``'s steps until it ends (a finished one: print them); how it ended."""
    if not build.running():
        await print_build(kube, build, printer=printer)
        return log_views.outcome(build)
    ended = await follow_build(kube, build, printer=printer)
    if ended is None:
        return log_views.Outcome(False, f'Build "{build.name}" was deleted before it ended')
    return log_views.outcome(ended)


class _Seen:
    """The Build and its pod as the watches last saw them."""

    def __init__(self) -> None:
        self.build: builds.Build | None = None
        self.build_deleted = False
        self.pod: dict[str, Any] | None = None
        self.changed = asyncio.Condition()

    async def set(self, **fields: Any) -> None:
        async with self.changed:
            for name, value in fields.items():
                setattr(self, name, value)
            self.changed.notify_all()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await self.changed.wait_for(predicate)

    async def within(self, seconds: float, predicate: Callable[[], bool]) -> bool:
        """Whether ``predicate`` came true within ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                await self.until(predicate)
        except TimeoutError:
            return False
        return True

    def build_over(self) -> bool:
        return self.build_deleted or (self.build is not None and not self.build.running())


@contextlib.asynccontextmanager
async def _watching(kube: resources.Kube, build: builds.Build) -> AsyncIterator[_Seen]:
    seen = _Seen()
    seen.build = build
    seen.pod = None

    async def pods() -> None:
        selector = f"{builds.BUILD_LABEL}={build.name}"
        async for event in kube.pods.watch(namespace=build.namespace, label_selector=selector):
            deleted = event.type == watching.DELETED
            if deleted and log_views.uid(event.object) != log_views.uid(seen.pod):
                continue
            await seen.set(pod=None if deleted else event.object)

    async def builds_() -> None:
        one = kube.builds.with_fields(f"metadata.name={build.name}")
        async for event in watching.watch(one, namespace=build.namespace):
            deleted = event.type == watching.DELETED
            await seen.set(build=event.object, build_deleted=deleted)

    tasks = [asyncio.create_task(pods()), asyncio.create_task(builds_())]
    try:
        yield seen
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def follow_build(kube: resources.Kube, build: builds.Build, *, printer: Printer) -> builds.Build | None:
    """Print each step's log as it runs, until the Build ends; the Build as it ended (None when it
    was deleted)."""
    shown: set[tuple[str, str]] = set()
    async with _watching(kube, build) as seen:
        found = await kube.pods.find(build.pod_name(), namespace=build.namespace)
        if seen.pod is None:  # the watch may not have listed yet: a finished build shows its pod too
            await seen.set(pod=found)
        if not await seen.within(NO_POD_SECONDS, lambda: seen.pod is not None or seen.build_over()):
            printer.note(
                f'Build "{build.name}" has no pod yet; waiting for it '
                f"(kubectl describe build {build.name} -n {build.namespace} says why)"
            )
        while True:
            await seen.until(lambda: seen.pod is not None or seen.build_over())
            pod = seen.pod
            if pod is not None:
                await _follow_pod(kube, seen, pod, shown=shown, printer=printer)
            if seen.build_over():
                break
            await seen.until(functools.partial(_replaced_or_over, seen, log_views.uid(pod)))
        return None if seen.build_deleted else seen.build


def _replaced_or_over(seen: _Seen, uid: str) -> bool:
    """Whether the Build has ended, or a pod other than the one with ``uid`` runs it now."""
    return seen.build_over() or (seen.pod is not None and log_views.uid(seen.pod) != uid)


async def _follow_pod(
    kube: resources.Kube, seen: _Seen, pod: dict[str, Any], *, shown: set[tuple[str, str]], printer: Printer
) -> None:
    """The steps of one pod, each once it starts, until the pod ends, goes or the Build ends."""
    uid = log_views.uid(pod)

    def gone() -> bool:
        return seen.pod is None or log_views.uid(seen.pod) != uid

    for step in log_views.steps(pod):
        if (uid, step) in shown:
            continue

        def ready(step: str = step) -> bool:
            current = seen.pod
            if gone() or current is None:
                return True
            return log_views.started(current, step) or log_views.pod_over(current) or seen.build_over()

        await seen.until(ready)
        current = seen.pod
        if gone() or current is None or not log_views.started(current, step):
            return
        shown.add((uid, step))
        follow = log_views.state(current, step) != "terminated"
        try:
            await print_step(kube, current, step, follow=follow, printer=printer)
        except errors.NotFoundError:
            return


async def next_build(kube: resources.Kube, image: str, *, namespace: str, after: int) -> builds.Build:
    """The first Build of Image ``image`` numbered above ``after`` (waits for it to be made)."""
    selector = f"{builds.IMAGE_LABEL}={image}"
    async for event in kube.builds.watch(namespace=namespace, label_selector=selector):
        number = event.object.build_number() or 0
        if event.type != watching.DELETED and number > after:
            return event.object
    raise errors.TemporaryError(f"the watch of Image {image}'s Builds ended")
