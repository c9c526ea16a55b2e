"""What a user asks of a cluster: ``kiln images list``, ``kiln image status``, ``kiln builds list``
and ``kiln build status``, as ``kp`` shows them: ``rich`` tables, or ``-o json|yaml`` for the data.

They reach the cluster as ``kiln trigger`` does (``--kubeconfig``, ``$KUBECONFIG``, ``--context``,
``-n``), read Images and Builds through :class:`~services.kube.resources.Kube`, and print what
:mod:`.status_views` makes of them. An unknown Image or Build, or a cluster out of reach, ends
with one line on stderr and exit 1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
import yaml
from kubernetes_asyncio.config import ConfigException
from rich import box
from rich.console import Console
from rich.table import Table

from contracts import builds
from services import errors
from services.cli import cluster_commands, common, status_views
from services.kube import client as kube_client
from services.kube import resources
from services.kube import settings as kube_settings

T = TypeVar("T")
Format = Literal["table", "json", "yaml"]
FormatOption = Annotated[Format, typer.Option("--output", "-o", help="table (default), json or yaml")]
NamespaceOption = cluster_commands.NamespaceOption
KubeconfigOption = cluster_commands.KubeconfigOption
ContextOption = cluster_commands.ContextOption

images_app = typer.Typer(help="List Images.", no_args_is_help=True)
image_app = typer.Typer(help="Show one Image.", no_args_is_help=True)
builds_app = typer.Typer(help="List Builds.", no_args_is_help=True)
build_app = typer.Typer(help="Show one Build.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(images_app, name="images")
    app.add_typer(image_app, name="image")
    app.add_typer(builds_app, name="builds")
    app.add_typer(build_app, name="build")


@images_app.command("list")
def images_list(
    namespace: NamespaceOption = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Images of every namespace")
    ] = False,
    output: FormatOption = "table",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Images with their readiness, newest build and reason, latest image and cache, as
    `kp image list` shows them."""
    settings = _settings(kubeconfig, context)
    where = None if all_namespaces else _namespace(settings, namespace)

    async def read(kube: resources.Kube) -> list[dict[str, Any]]:
        found = await kube.images.list(namespace=where)
        ordered = sorted(found, key=lambda i: (i.namespace, i.name))
        return [status_views.image_row(image) for image in ordered]

    rows = _read(settings, read)
    if output != "table":
        _dump(rows, output=output)
        return
    if not rows:
        typer.echo(f'no Images in namespace "{where}"' if where else "no Images")
        return
    columns = status_views.IMAGE_COLUMNS
    if where is None:
        columns = (("NAMESPACE", "namespace"), *columns)
    _print(_table(rows, columns))


@image_app.command("status")
def image_status(
    name: Annotated[str, typer.Argument(help="the Image")],
    namespace: NamespaceOption = None,
    output: FormatOption = "table",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """An Image's newest build and its reasons, latest image, cache (and the cache image pinned by
    digest that the next build reads), conditions and source."""
    settings = _settings(kubeconfig, context)
    where = _namespace(settings, namespace)

    async def read(kube: resources.Kube) -> dict[str, Any]:
        image = await kube.images.find(name, namespace=where)
        if image is None:
            common.fail(f'Image "{name}" in namespace "{where}" not found')
        found = await kube.builds.list(namespace=where, label_selector=f"{builds.IMAGE_LABEL}={name}")
        return status_views.image_status(image, found)

    view = _read(settings, read)
    if output != "table":
        _dump(view, output=output)
        return
    cache = view["cache"]
    source = view["source"]
    _print(
        _fields(
            [
                ("Image", f"{view['namespace']}/{view['name']}"),
                ("Ready", view["ready"]),
                ("Tag", view["tag"]),
                ("Latest build", view["latestBuild"]),
                ("Reasons", ", ".join(view["latestBuildReasons"])),
                ("Latest image", view["latestImage"]),
                ("Cache", cache["kind"]),
                *([("Cache tag", cache["tag"])] if "tag" in cache else []),
                *([("Cache volume", cache["volume"])] if "volume" in cache else []),
                *([("Pinned cache", cache["image"])] if "image" in cache else []),
                *([("Pinned by build", str(cache["buildNumber"]))] if "image" in cache else []),
                ("Source", " ".join(str(v) for k, v in source.items() if k != "type") or "none"),
                ("Source type", source["type"]),
            ]
        )
    )
    _print(_conditions_table(view["conditions"]))


@builds_app.command("list")
def builds_list(
    image: Annotated[str | None, typer.Argument(help="only this Image's Builds")] = None,
    namespace: NamespaceOption = None,
    output: FormatOption = "table",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """Builds, oldest first: number, status, reason, image digest, start and duration, as
    `kp build list` shows them."""
    settings = _settings(kubeconfig, context)
    where = _namespace(settings, namespace)
    now = datetime.now(UTC)

    async def read(kube: resources.Kube) -> list[dict[str, Any]]:
        selector = f"{builds.IMAGE_LABEL}={image}" if image else ""
        found = await kube.builds.list(namespace=where, label_selector=selector)
        if image and not found and await kube.images.find(image, namespace=where) is None:
            common.fail(f'Image "{image}" in namespace "{where}" not found')
        return [status_views.build_row(b, now=now) for b in status_views.ordered_builds(found)]

    rows = _read(settings, read)
    if output != "table":
        _dump(rows, output=output)
        return
    if not rows:
        of = f' of Image "{image}"' if image else ""
        typer.echo(f'no Builds{of} in namespace "{where}"')
        return
    _print(_table(rows, status_views.BUILD_COLUMNS))


@build_app.command("status")
def build_status(
    name: Annotated[str, typer.Argument(help="the Build; or, with --build or alone, its Image")],
    number: Annotated[
        int | None, typer.Option("--build", "-b", help="the build number of the Image NAME")
    ] = None,
    namespace: NamespaceOption = None,
    output: FormatOption = "table",
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
) -> None:
    """A Build's reasons and what changed, its pod and the time each step took, builder, run image
    and buildpacks. NAME is a Build, or an Image: its Build number --build, else its newest."""
    settings = _settings(kubeconfig, context)
    where = _namespace(settings, namespace)
    now = datetime.now(UTC)

    async def read(kube: resources.Kube) -> dict[str, Any]:
        found = await _find_build(kube, name, number=number, namespace=where)
        return status_views.build_status(found, now=now)

    view = _read(settings, read)
    if output != "table":
        _dump(view, output=output)
        return
    _print_build(view)


async def _find_build(kube: resources.Kube, name: str, *, number: int | None, namespace: str) -> builds.Build:
    """The Build ``name``; or of the Image ``name``, build ``number`` (else its newest)."""
    if number is None:
        found = await kube.builds.find(name, namespace=namespace)
        if found is not None:
            return found
    of_image = await kube.builds.list(namespace=namespace, label_selector=f"{builds.IMAGE_LABEL}={name}")
    if number is not None:
        numbered = [b for b in of_image if b.build_number() == number]
        if numbered:
            return numbered[0]
        common.fail(f'Build {number} of Image "{name}" in namespace "{namespace}" not found')
    newest = status_views.newest_build(of_image)
    if newest is None:
        common.fail(
            f'Build "{name}" in namespace "{namespace}" not found (nor an Image of that name with builds)'
        )
    return newest


def _print_build(view: dict[str, Any]) -> None:
    _print(
        _fields(
            [
                ("Build", f"{view['namespace']}/{view['name']}"),
                ("Image", view["image"]),
                ("Number", str(view["buildNumber"] or "")),
                ("Status", view["status"]),
                ("Reasons", ", ".join(view["reasons"])),
                ("Image digest", view["imageDigest"]),
                ("Cache image", view["latestCacheImage"]),
                ("Pod", view["podName"]),
                ("Started", view["started"]),
                ("Duration", view["duration"]),
                ("Builder", view["builder"]),
                ("Run image", view["runImage"]),
                ("Lifecycle", view["lifecycleVersion"]),
            ]
        )
    )
    if view["changes"]:
        typer.echo("\nChanges:")
        for line in status_views.changes_diff(view["changes"]):
            typer.echo(f"  {line}")
    if view["steps"]:
        typer.echo("\nSteps:")
        _print(_table(view["steps"], (("STEP", "step"), ("STATE", "state"), ("DURATION", "duration"))))
    if view["buildpacks"]:
        typer.echo("\nBuildpacks:")
        _print(_table(view["buildpacks"], (("ID", "id"), ("VERSION", "version"))))
    if view["conditions"]:
        typer.echo("")
        _print(_conditions_table(view["conditions"]))


# reading


def _settings(kubeconfig: Path | None, context: str | None) -> kube_settings.KubeSettings:
    """No retries: a read is the user's to run again, and a cluster out of reach says so at once,
    in one line."""
    if kubeconfig is not None and not kubeconfig.is_file():
        common.fail(f"cannot read the kubeconfig: {kubeconfig} is not a file")
    return kube_settings.KubeSettings(kubeconfig=kubeconfig, context=context, backoff=())


def _namespace(settings: kube_settings.KubeSettings, namespace: str | None) -> str:
    try:
        return namespace or kube_client.default_namespace(settings)
    except (ConfigException, OSError) as e:
        common.fail(f"cannot read the kubeconfig: {_one_line(e)}")


def _read(settings: kube_settings.KubeSettings, read: Callable[[resources.Kube], Awaitable[T]]) -> T:
    """``read`` what the cluster holds; a cluster out of reach fails with one line."""

    async def main() -> T:
        async with kube_client.connected(settings) as api:
            return await read(resources.Kube(api, settings=settings))

    try:
        return asyncio.run(main())
    except ConfigException as e:
        common.fail(f"cannot read the kubeconfig: {_one_line(e)}")
    except errors.KilnError as e:
        common.fail(f"cannot read from the cluster: {_one_line(e)}")


def _one_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


# printing


def _dump(data: Any, *, output: Format) -> None:
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)


def _console() -> Console:
    """Wide enough off a terminal that no digest is folded across lines in a pipe or a file."""
    console = Console()
    if not console.is_terminal:
        console.width = 1000
    return console


def _print(renderable: Table) -> None:
    """Print ``renderable`` without the spaces ``rich`` pads each line's last cell with."""
    console = _console()
    with console.capture() as captured:
        console.print(renderable)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _table(rows: list[dict[str, Any]], columns: status_views.Columns) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, _ in columns:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*("" if row.get(key) is None else str(row[key]) for _, key in columns))
    return table


def _fields(pairs: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(no_wrap=True)
    for label, value in pairs:
        grid.add_row(f"{label}:", value)
    return grid


def _conditions_table(found: list[dict[str, str]]) -> Table:
    columns = (("TYPE", "type"), ("STATUS", "status"), ("REASON", "reason"), ("MESSAGE", "message"))
    return _table(found, columns)
