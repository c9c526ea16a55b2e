"""``kiln logs IMAGE|BUILD``: a build's step logs, in order, each under a ``===> STEP`` header.

As ``kp build logs`` reads it: the argument is first taken as an Image (its newest Build by build
number, or ``--build N``), else as a Build's name. Without ``--follow`` the steps that have run so
far are printed and the command ends. With ``--follow`` a running build is followed step by step
until it ends, and the exit code says how (0 succeeded, 1 failed or canceled, the outcome on
stderr); for an Image with no build running, ``--follow`` waits for its next build (kpack-cli #77).

It reaches the cluster as ``kiln trigger`` does (``--kubeconfig``, ``$KUBECONFIG``, ``--context``,
``-n``). ``kiln trigger --wait`` and ``kiln cancel --wait`` follow a build with the same code
(:mod:`.following`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from contracts import builds
from services.cli import cluster_commands, common, following, log_views
from services.kube import client as kube_client
from services.kube import resources


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)


def logs(
    name: Annotated[
        str, typer.Argument(metavar="IMAGE|BUILD", help="an Image (its newest build) or a Build")
    ],
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="follow a running build until it ends; for an Image, wait for its next build",
        ),
    ] = False,
    build_number: Annotated[
        int | None, typer.Option("--build", "-b", min=1, help="the Image's build number (default: newest)")
    ] = None,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="each line after its time")] = False,
    namespace: cluster_commands.NamespaceOption = None,
    kubeconfig: cluster_commands.KubeconfigOption = None,
    context: cluster_commands.ContextOption = None,
) -> None:
    """Print a build's step logs (prepare, analyze, detect, restore, build, export, completion, or
    rebase), as `kp build logs` does."""
    settings = cluster_commands.connection_settings(kubeconfig, context)
    where = cluster_commands.namespace_or_fail(settings, namespace)
    out = following.printer(timestamps=timestamps)

    async def main() -> log_views.Outcome | None:
        async with kube_client.connected(settings) as api:
            kube = resources.Kube(api, settings=settings)
            build = await _chosen(kube, name, namespace=where, number=build_number, follow=follow)
            if not follow:
                await following.print_build(kube, build, printer=out)
                return None
            return await following.follow_to_the_end(kube, build, printer=out)

    ended = cluster_commands.run(main)
    if ended is not None:
        typer.echo(ended.message, err=True)
        if not ended.succeeded:
            raise typer.Exit(code=1)


async def _chosen(
    kube: resources.Kube, name: str, *, namespace: str, number: int | None, follow: bool
) -> builds.Build:
    """The Build ``name`` means (see :func:`.log_views.pick`); with ``follow`` and an Image whose
    builds have all finished, its next one, once made."""
    image_builds = await kube.builds.list(namespace=namespace, label_selector=f"{builds.IMAGE_LABEL}={name}")
    named = None if image_builds else await kube.builds.find(name, namespace=namespace)
    picked = log_views.pick(name, namespace=namespace, image_builds=image_builds, named=named, number=number)
    newest = log_views.newest(image_builds)
    if follow and number is None and named is None and (newest is None or not newest.running()):
        if newest is None and await kube.images.find(name, namespace=namespace) is None:
            common.fail(picked.problem)
        after = (newest.build_number() or 0) if newest is not None else 0
        typer.echo(f'Waiting for the next build of Image "{name}" (after build {after})...', err=True)
        return await following.next_build(kube, name, namespace=namespace, after=after)
    if picked.build is None:
        if not image_builds and await kube.images.find(name, namespace=namespace) is not None:
            common.fail(
                f'Image "{name}" in namespace "{namespace}" has no builds yet; '
                "--follow waits for its first one"
            )
        common.fail(picked.problem)
    return picked.build
