"""The commands that act on a cluster: ``kiln trigger`` and ``kiln cancel``.

Each reaches the cluster as kubectl does: ``--kubeconfig`` (else ``$KUBECONFIG`` or
``~/.kube/config``, or the pod's service account inside a cluster), ``--context``, and
``-n/--namespace`` (else the context's namespace, else ``default``); then sets one annotation on
one Build with a JSON merge patch (:mod:`.annotating` decides which).

With ``--wait`` each then shows the build's progress, its steps' logs as they run
(:mod:`.following`, as ``kiln logs --follow``), until it ends: ``trigger`` follows the Image's
next build (exit 0 if it succeeds, 1 if not), ``cancel`` the canceled one (exit 0 once it ends
canceled, 1 if it ended otherwise). The outcome is the last line, on stderr.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from kubernetes_asyncio.config import ConfigException

from contracts import builds
from services import errors
from services.cli import annotating, common, following, log_views
from services.kube import client as kube_client
from services.kube import resources
from services.kube import settings as kube_settings

KubeconfigOption = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)"),
]
ContextOption = Annotated[str | None, typer.Option("--context", help="kubeconfig context (default: current)")]
Decision = Callable[[resources.Kube, str], Awaitable[annotating.Annotation | annotating.Refusal]]
"""Given the cluster and the namespace: what to annotate, or why not."""
Waiting = Callable[[resources.Kube, str, annotating.Annotation], Awaitable[log_views.Outcome]]
"""Given the cluster, the namespace and what was annotated: follow the build to its outcome."""
WaitOption = Annotated[
    bool, typer.Option("--wait", "-w", help="show the build's steps as they run, until it ends")
]
T = TypeVar("T")
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="namespace (default: the context's, else default)"),
]


def register(app: typer.Typer) -> None:
    app.command("trigger")(trigger)
    app.command("cancel")(cancel)


def trigger(
    image: Annotated[str, typer.Argument(help="the Image to build again")],
    wait: WaitOption = False,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Build IMAGE again now, as `kp image trigger` does: annotate its newest Build with
    image.kpack.io/additionalBuildNeeded (reason TRIGGER once that build has finished)."""
    settings = connection_settings(kubeconfig, context)

    async def decide(kube: resources.Kube, where: str) -> annotating.Annotation | annotating.Refusal:
        found = await kube.builds.list(namespace=where, label_selector=f"{builds.IMAGE_LABEL}={image}")
        exists = bool(found) or await kube.images.find(image, namespace=where) is not None
        return annotating.trigger(
            image, namespace=where, found=found, image_exists=exists, now=datetime.now(UTC)
        )

    async def follow(kube: resources.Kube, where: str, done: annotating.Annotation) -> log_views.Outcome:
        annotated = await kube.builds.get(done.build, namespace=where)
        after = annotated.build_number() or 0
        _note(f'Waiting for build {after + 1} of Image "{image}"...')
        build = await following.next_build(kube, image, namespace=where, after=after)
        return await _follow(kube, build)

    _annotate(settings, namespace, decide, wait=follow if wait else None)


def cancel(
    build: Annotated[str, typer.Argument(help="the running Build to cancel")],
    wait: WaitOption = False,
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Cancel a running BUILD: annotate it with kiln.dev/cancel=true; Kiln deletes its pod and ends
    it Succeeded=False, reason BuildCanceled, keeping the Build."""
    settings = connection_settings(kubeconfig, context)

    async def decide(kube: resources.Kube, where: str) -> annotating.Annotation | annotating.Refusal:
        return annotating.cancel(build, namespace=where, build=await kube.builds.find(build, namespace=where))

    async def follow(kube: resources.Kube, where: str, done: annotating.Annotation) -> log_views.Outcome:
        ended = await _follow(kube, await kube.builds.get(done.build, namespace=where))
        final = await kube.builds.find(done.build, namespace=where)
        return dataclasses.replace(ended, succeeded=final is not None and final.canceled())

    _annotate(settings, namespace, decide, wait=follow if wait else None)


def connection_settings(kubeconfig: Path | None, context: str | None) -> kube_settings.KubeSettings:
    """How a command reaches the cluster; a ``--kubeconfig`` that is no file fails at once."""
    if kubeconfig is not None and not kubeconfig.is_file():
        common.fail(f"cannot read the kubeconfig: {kubeconfig} is not a file")
    return kube_settings.KubeSettings(kubeconfig=kubeconfig, context=context, backoff=(0.2, 1.0))


def namespace_or_fail(settings: kube_settings.KubeSettings, namespace: str | None) -> str:
    """``namespace``, else the kubeconfig context's, else ``default``."""
    try:
        return namespace or kube_client.default_namespace(settings)
    except (ConfigException, OSError) as e:
        common.fail(f"cannot read the kubeconfig: {e}")


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; a cluster out of reach or a refused request fails with one line,
    Ctrl-C ends quietly (exit 130)."""
    try:
        return asyncio.run(main())
    except ConfigException as e:
        common.fail(f"cannot read the kubeconfig: {e}")
    except errors.KilnError as e:
        common.fail(str(e))
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None


def _note(message: str) -> None:
    typer.echo(message, err=True)


async def _follow(kube: resources.Kube, build: builds.Build) -> log_views.Outcome:
    return await following.follow_to_the_end(kube, build, printer=following.printer())


def _annotate(
    settings: kube_settings.KubeSettings,
    namespace: str | None,
    decide: Decision,
    *,
    wait: Waiting | None = None,
) -> None:
    """Decide with what the cluster holds, write the annotation, print what was done; with
    ``wait``, then follow the build to its end (exit 1 unless it ended as hoped)."""
    where = namespace_or_fail(settings, namespace)

    async def main() -> log_views.Outcome | None:
        async with kube_client.connected(settings) as api:
            kube = resources.Kube(api, settings=settings)
            decided = await decide(kube, where)
            if isinstance(decided, annotating.Refusal):
                common.fail(decided.message)
            await kube.builds.patch(decided.build, decided.patch(), namespace=where)
            typer.echo(decided.message)
            return None if wait is None else await wait(kube, where, decided)

    ended = run(main)
    if ended is not None:
        _note(ended.message)
        if not ended.succeeded:
            raise typer.Exit(code=1)
