"""The commands that act on a cluster: ``kiln trigger`` and ``kiln cancel``.

Each reaches the cluster as kubectl does: ``--kubeconfig`` (else ``$KUBECONFIG`` or
``~/.kube/config``, or the pod's service account inside a cluster), ``--context``, and
``-n/--namespace`` (else the context's namespace, else ``default``); then sets one annotation on
one Build with a JSON merge patch (:mod:`.annotating` decides which).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from kubernetes_asyncio.config import ConfigException

from contracts import builds
from services import errors
from services.cli import annotating, common
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
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="namespace (default: the context's, else default)"),
]


def register(app: typer.Typer) -> None:
    app.command("trigger")(trigger)
    app.command("cancel")(cancel)


def trigger(
    image: Annotated[str, typer.Argument(help="the Image to build again")],
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Build IMAGE again now, as `kp image trigger` does: annotate its newest Build with
    image.kpack.io/additionalBuildNeeded (reason TRIGGER once that build has finished)."""
    settings = _settings(kubeconfig, context)

    async def decide(kube: resources.Kube, where: str) -> annotating.Annotation | annotating.Refusal:
        found = await kube.builds.list(namespace=where, label_selector=f"{builds.IMAGE_LABEL}={image}")
        exists = bool(found) or await kube.images.find(image, namespace=where) is not None
        return annotating.trigger(
            image, namespace=where, found=found, image_exists=exists, now=datetime.now(UTC)
        )

    _annotate(settings, namespace, decide)


def cancel(
    build: Annotated[str, typer.Argument(help="the running Build to cancel")],
    namespace: NamespaceOption = None,
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Cancel a running BUILD: annotate it with kiln.dev/cancel=true; Kiln deletes its pod and ends
    it Succeeded=False, reason BuildCanceled, keeping the Build."""
    settings = _settings(kubeconfig, context)

    async def decide(kube: resources.Kube, where: str) -> annotating.Annotation | annotating.Refusal:
        return annotating.cancel(build, namespace=where, build=await kube.builds.find(build, namespace=where))

    _annotate(settings, namespace, decide)


def _settings(kubeconfig: Path | None, context: str | None) -> kube_settings.KubeSettings:
    return kube_settings.KubeSettings(kubeconfig=kubeconfig, context=context, backoff=(0.2, 1.0))


def _annotate(settings: kube_settings.KubeSettings, namespace: str | None, decide: Decision) -> None:
    """Decide with what the cluster holds, write the annotation, print what was done."""
    if settings.kubeconfig is not None and not settings.kubeconfig.is_file():
        common.fail(f"cannot read the kubeconfig: {settings.kubeconfig} is not a file")
    try:
        where = namespace or kube_client.default_namespace(settings)
    except (ConfigException, OSError) as e:
        common.fail(f"cannot read the kubeconfig: {e}")

    async def main() -> annotating.Annotation | annotating.Refusal:
        async with kube_client.connected(settings) as api:
            kube = resources.Kube(api, settings=settings)
            decided = await decide(kube, where)
            if isinstance(decided, annotating.Annotation):
                await kube.builds.patch(decided.build, decided.patch(), namespace=where)
            return decided

    try:
        decided = asyncio.run(main())
    except ConfigException as e:
        common.fail(f"cannot read the kubeconfig: {e}")
    except errors.KilnError as e:
        common.fail(str(e))
    if isinstance(decided, annotating.Refusal):
        common.fail(decided.message)
    typer.echo(decided.message)
