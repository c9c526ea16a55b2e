"""Real, small Cloud Native Buildpacks images for the test bed: stack build and run images,
buildpackages and a lifecycle image, with the labels and files kpack reads (spec sections 2.2 to 2.4).

Each ``*_plan`` function is pure and deterministic — fixed tar mtimes and owners, gzip mtime 0,
sorted JSON — so equal arguments give equal bytes and so equal digests; each ``push_*`` writes its
plan with :meth:`RegistryClient.write_image` and returns ``<repository>@sha256:…``.

    build = await cnb_images.push_build_image(registry, f"{host}/stacks/build:v1", stack_id=STACK)
    run = await cnb_images.push_run_image(registry, f"{host}/stacks/run:v1", stack_id=STACK)
    patched = await cnb_images.push_run_image(registry, f"{host}/stacks/run:v1", stack_id=STACK, serial="2")
    store = await cnb_images.push_buildpackage(registry, f"{host}/store/node:v1", [meta, node, npm])
    lifecycle = await cnb_images.push_lifecycle_image(registry, f"{host}/lifecycle:v1", version="0.17.2")
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contracts import oci
from services.registry import auth, client
from services.testbed.registry import layers

STACK_ID_LABEL = "io.buildpacks.stack.id"
MIXINS_LABEL = "io.buildpacks.stack.mixins"
BUILDPACKAGE_LABEL = "io.buildpacks.buildpackage.metadata"
BUILDPACK_LAYERS_LABEL = "io.buildpacks.buildpack.layers"
BUILDER_METADATA_LABEL = "io.buildpacks.builder.metadata"
LIFECYCLE_APIS_LABEL = "io.buildpacks.lifecycle.apis"
UID_ENV = "CNB_USER_ID"
GID_ENV = "CNB_GROUP_ID"

DEFAULT_STACK = "io.buildpacks.stacks.kiln"
DEFAULT_APIS = ("0.7", "0.8", "0.9")
_PATH = "PATH=/cnb/process:/cnb/lifecycle:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

LabelOverrides = Mapping[str, str | None]
"""Labels to set (a string) or remove (None) after the image's own: to make faulty images."""


@dataclasses.dataclass(frozen=True)
class StackSupport:
    """A stack a buildpack runs on, as ``buildpack.toml`` ``[[stacks]]`` says."""

    id: str
    mixins: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class GroupEntry:
    """One buildpack in a meta-buildpack's order group."""

    id: str
    version: str = ""
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class PackagedBuildpack:
    """A buildpack inside a buildpackage: a plain one (``stacks``, ``bin/detect``, ``bin/build``)
    or a meta-buildpack (an ``order`` of groups naming its children, no scripts)."""

    id: str
    version: str
    stacks: tuple[StackSupport, ...] = ()
    order: tuple[tuple[GroupEntry, ...], ...] = ()
    homepage: str = ""
    api: str = "0.9"

    @property
    def escaped_id(self) -> str:
        """The id as a directory name: ``/`` → ``_``, as the CNB spec escapes it."""
        return self.id.replace("/", "_")


# --- images ---------------------------------------------------------------------------------


def _config(
    labels: Mapping[str, str], overrides: LabelOverrides, *, env: Sequence[str], user: str = ""
) -> dict[str, Any]:
    merged = {**labels, **overrides}
    inner: dict[str, Any] = {
        "Env": [_PATH, *env],
        "Labels": {k: v for k, v in merged.items() if v is not None},
    }
    if user:
        inner["User"] = user
    return {"architecture": "amd64", "os": "linux", "created": layers.CREATED, "config": inner}


def _stack_layer(*, stack_id: str, role: str, serial: str) -> layers.Layer:
    os_release = (
        f'PRETTY_NAME="Kiln test stack {stack_id} ({role}) {serial}"\n'
        f'ID=kiln\nVERSION_ID="{serial}"\nKILN_STACK_ROLE={role}\n'
    ).encode()
    return layers.tar_layer(
        [
            *layers.dirs("/etc"),
            layers.Entry("/etc/os-release", os_release, 0o644),
            *layers.dirs("/home", "/home/cnb"),
        ]
    )


def _stack_labels(stack_id: str, mixins: Sequence[str] | None) -> dict[str, str]:
    labels = {STACK_ID_LABEL: stack_id}
    if mixins is not None:
        labels[MIXINS_LABEL] = json.dumps(list(mixins))
    return labels


def build_image_plan(
    *,
    stack_id: str = DEFAULT_STACK,
    mixins: Sequence[str] | None = None,
    uid: int | None = 1000,
    gid: int | None = 1000,
    serial: str = "1",
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
) -> oci.ImagePlan:
    """A stack build image: stack labels, env ``CNB_USER_ID``/``CNB_GROUP_ID`` (left out when
    None), one layer whose ``/etc/os-release`` names the stack, role and ``serial``."""
    env = [f"{name}={value}" for name, value in ((UID_ENV, uid), (GID_ENV, gid)) if value is not None]
    env.append(f"CNB_STACK_ID={stack_id}")
    user = f"{uid}:{gid}" if uid is not None and gid is not None else ""
    config = _config(_stack_labels(stack_id, mixins), label_overrides, env=env, user=user)
    return layers.image_plan(
        config, [_stack_layer(stack_id=stack_id, role="build", serial=serial)], docker=docker
    )


def run_image_plan(
    *,
    stack_id: str = DEFAULT_STACK,
    mixins: Sequence[str] | None = None,
    serial: str = "1",
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
) -> oci.ImagePlan:
    """A stack run image; a new ``serial`` (a patched run image) gives new content and digest."""
    config = _config(_stack_labels(stack_id, mixins), label_overrides, env=[], user="1000:1000")
    return layers.image_plan(
        config, [_stack_layer(stack_id=stack_id, role="run", serial=serial)], docker=docker
    )


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of printable text is a TOML basic string


def buildpack_toml(buildpack: PackagedBuildpack) -> bytes:
    """``buildpack.toml``: api, ``[buildpack]``, then ``[[stacks]]`` or ``[[order]]`` tables."""
    lines = [f"api = {_toml_string(buildpack.api)}", "", "[buildpack]"]
    lines += [f"  id = {_toml_string(buildpack.id)}", f"  version = {_toml_string(buildpack.version)}"]
    if buildpack.homepage:
        lines.append(f"  homepage = {_toml_string(buildpack.homepage)}")
    for stack in buildpack.stacks:
        lines += ["", "[[stacks]]", f"  id = {_toml_string(stack.id)}"]
        if stack.mixins is not None:
            lines.append(f"  mixins = [{', '.join(_toml_string(m) for m in stack.mixins)}]")
    for group in buildpack.order:
        lines += ["", "[[order]]"]
        for entry in group:
            lines += ["", "  [[order.group]]", f"    id = {_toml_string(entry.id)}"]
            lines.append(f"    version = {_toml_string(entry.version)}")
            if entry.optional:
                lines.append("    optional = true")
    return ("\n".join(lines) + "\n").encode()


def buildpack_layer(buildpack: PackagedBuildpack) -> layers.Layer:
    """``/cnb/buildpacks/<escaped id>/<version>/`` with ``buildpack.toml`` and, for a plain
    buildpack, ``bin/detect`` and ``bin/build`` scripts."""
    root = f"/cnb/buildpacks/{buildpack.escaped_id}"
    home = f"{root}/{buildpack.version}"
    entries = [
        *layers.dirs("/cnb", "/cnb/buildpacks", root, home),
        layers.Entry(f"{home}/buildpack.toml", buildpack_toml(buildpack), 0o644),
    ]
    if not buildpack.order:
        detect = f"#!/bin/sh\n# {buildpack.id}@{buildpack.version}\nexit 0\n".encode()
        build = f"#!/bin/sh\necho '---> {buildpack.id}@{buildpack.version}'\n".encode()
        entries += [
            layers.Entry(f"{home}/bin"),
            layers.Entry(f"{home}/bin/detect", detect),
            layers.Entry(f"{home}/bin/build", build),
        ]
    return layers.tar_layer(entries)


def _layer_info(buildpack: PackagedBuildpack, diff_id: str) -> dict[str, Any]:
    """kpack's ``BuildpackLayerInfo``: api, layerDiffID, order?, stacks?, homepage?."""
    info: dict[str, Any] = {"api": buildpack.api, "layerDiffID": diff_id}
    if buildpack.order:
        info["order"] = [{"group": [_group_entry(entry) for entry in group]} for group in buildpack.order]
    if buildpack.stacks:
        info["stacks"] = [
            {"id": s.id, **({"mixins": list(s.mixins)} if s.mixins is not None else {})}
            for s in buildpack.stacks
        ]
    if buildpack.homepage:
        info["homepage"] = buildpack.homepage
    return info


def _group_entry(entry: GroupEntry) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": entry.id}
    if entry.version:
        wire["version"] = entry.version
    if entry.optional:
        wire["optional"] = True
    return wire


def buildpackage_plan(
    buildpacks: Sequence[PackagedBuildpack],
    *,
    package: PackagedBuildpack | None = None,
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
) -> oci.ImagePlan:
    """A buildpackage: one layer per buildpack (in the given order) and the labels
    ``io.buildpacks.buildpackage.metadata`` (``package``'s id, version, homepage; the first
    buildpack's by default) and ``io.buildpacks.buildpack.layers`` (id → version → layer info)."""
    if not buildpacks:
        raise ValueError("a buildpackage holds at least one buildpack")
    top = package or buildpacks[0]
    package_layers = [buildpack_layer(buildpack) for buildpack in buildpacks]
    infos: dict[str, dict[str, Any]] = {}
    for buildpack, layer in zip(buildpacks, package_layers, strict=True):
        infos.setdefault(buildpack.id, {})[buildpack.version] = _layer_info(buildpack, layer.diff_id)
    metadata = {"id": top.id, "version": top.version, "homepage": top.homepage}
    labels = {
        BUILDPACKAGE_LABEL: json.dumps(metadata, sort_keys=True),
        BUILDPACK_LAYERS_LABEL: json.dumps(infos, sort_keys=True),
    }
    return layers.image_plan(_config(labels, label_overrides, env=[]), package_layers, docker=docker)


def lifecycle_plan(
    *,
    version: str = "0.17.2",
    buildpack_apis: Sequence[str] = DEFAULT_APIS,
    platform_apis: Sequence[str] = DEFAULT_APIS,
    deprecated_buildpack_apis: Sequence[str] = (),
    deprecated_platform_apis: Sequence[str] = (),
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
) -> oci.ImagePlan:
    """A lifecycle image: a base layer, then (last, the layer kpack takes) ``/cnb/lifecycle/``
    with a ``lifecycle`` script and the phases as symlinks to it; labels
    ``io.buildpacks.builder.metadata`` (version, newest APIs) and ``io.buildpacks.lifecycle.apis``."""
    script = f'#!/bin/sh\necho "kiln test lifecycle {version}: $(basename "$0") $*"\n'.encode()
    phases = ("analyzer", "builder", "creator", "detector", "exporter", "launcher", "rebaser", "restorer")
    lifecycle = layers.tar_layer(
        [
            *layers.dirs("/cnb", "/cnb/lifecycle"),
            layers.Entry("/cnb/lifecycle/lifecycle", script),
            *(layers.Entry(f"/cnb/lifecycle/{phase}", link="lifecycle", mode=0o777) for phase in phases),
        ]
    )
    base = layers.tar_layer(
        [*layers.dirs("/etc"), layers.Entry("/etc/kiln-lifecycle", f"{version}\n".encode(), 0o644)]
    )
    apis = {
        "buildpack": {"deprecated": list(deprecated_buildpack_apis), "supported": list(buildpack_apis)},
        "platform": {"deprecated": list(deprecated_platform_apis), "supported": list(platform_apis)},
    }
    newest = {"buildpack": _last(buildpack_apis), "platform": _last(platform_apis)}
    labels = {
        BUILDER_METADATA_LABEL: json.dumps(
            {"lifecycle": {"version": version}, "api": newest}, sort_keys=True
        ),
        LIFECYCLE_APIS_LABEL: json.dumps(apis, sort_keys=True),
    }
    return layers.image_plan(_config(labels, label_overrides, env=[]), [base, lifecycle], docker=docker)


def _last(values: Sequence[str]) -> str:
    return values[-1] if values else ""


# --- pushing --------------------------------------------------------------------------------


async def push_plan(
    registry: client.RegistryClient, ref: str, plan: oci.ImagePlan, *, keychain: auth.Keychain | None = None
) -> str:
    """Write ``plan`` to the tag ``ref``; ``<fully qualified repository>@sha256:…``."""
    outcome = await registry.write_image(ref, plan, keychain=keychain)
    return outcome.digest_ref


async def push_build_image(
    registry: client.RegistryClient,
    ref: str,
    *,
    stack_id: str = DEFAULT_STACK,
    mixins: Sequence[str] | None = None,
    uid: int | None = 1000,
    gid: int | None = 1000,
    serial: str = "1",
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
    keychain: auth.Keychain | None = None,
) -> str:
    """:func:`build_image_plan` pushed to ``ref``; ``<repository>@sha256:…``."""
    plan = build_image_plan(
        stack_id=stack_id,
        mixins=mixins,
        uid=uid,
        gid=gid,
        serial=serial,
        docker=docker,
        label_overrides=label_overrides,
    )
    return await push_plan(registry, ref, plan, keychain=keychain)


async def push_run_image(
    registry: client.RegistryClient,
    ref: str,
    *,
    stack_id: str = DEFAULT_STACK,
    mixins: Sequence[str] | None = None,
    serial: str = "1",
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
    keychain: auth.Keychain | None = None,
) -> str:
    """:func:`run_image_plan` pushed to ``ref``; ``<repository>@sha256:…``."""
    plan = run_image_plan(
        stack_id=stack_id, mixins=mixins, serial=serial, docker=docker, label_overrides=label_overrides
    )
    return await push_plan(registry, ref, plan, keychain=keychain)


async def push_buildpackage(
    registry: client.RegistryClient,
    ref: str,
    buildpacks: Sequence[PackagedBuildpack],
    *,
    package: PackagedBuildpack | None = None,
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
    keychain: auth.Keychain | None = None,
) -> str:
    """:func:`buildpackage_plan` pushed to ``ref``; ``<repository>@sha256:…``."""
    plan = buildpackage_plan(buildpacks, package=package, docker=docker, label_overrides=label_overrides)
    return await push_plan(registry, ref, plan, keychain=keychain)


async def push_lifecycle_image(
    registry: client.RegistryClient,
    ref: str,
    *,
    version: str = "0.17.2",
    buildpack_apis: Sequence[str] = DEFAULT_APIS,
    platform_apis: Sequence[str] = DEFAULT_APIS,
    deprecated_buildpack_apis: Sequence[str] = (),
    deprecated_platform_apis: Sequence[str] = (),
    docker: bool = False,
    label_overrides: LabelOverrides = {},  # noqa: B006 - never mutated
    keychain: auth.Keychain | None = None,
) -> str:
    """:func:`lifecycle_plan` pushed to ``ref``; ``<repository>@sha256:…``."""
    plan = lifecycle_plan(
        version=version,
        buildpack_apis=buildpack_apis,
        platform_apis=platform_apis,
        deprecated_buildpack_apis=deprecated_buildpack_apis,
        deprecated_platform_apis=deprecated_platform_apis,
        docker=docker,
        label_overrides=label_overrides,
    )
    return await push_plan(registry, ref, plan, keychain=keychain)


# --- a ready-made set -----------------------------------------------------------------------


def sample_buildpacks(
    *, stack_id: str = DEFAULT_STACK, version: str = "1.0.0"
) -> dict[str, list[PackagedBuildpack]]:
    """Two buildpackages, by short name: ``nodejs`` (the meta-buildpack ``kiln/nodejs`` ordering
    ``kiln/node`` and an optional ``kiln/npm``) and ``go`` (``kiln/go`` alone)."""
    stacks = (StackSupport(stack_id),)
    node = PackagedBuildpack("kiln/node", version, stacks=stacks, homepage="https://example.com/node")
    npm = PackagedBuildpack("kiln/npm", version, stacks=stacks)
    meta = PackagedBuildpack(
        "kiln/nodejs",
        version,
        order=((GroupEntry(node.id, node.version), GroupEntry(npm.id, npm.version, optional=True)),),
        homepage="https://example.com/nodejs",
    )
    go = PackagedBuildpack("kiln/go", version, stacks=stacks)
    return {"nodejs": [meta, node, npm], "go": [go]}


@dataclasses.dataclass(frozen=True)
class SampleImages:
    """Tags (``host/prefix/…:<tag>``) of a ready-made set, and what each resolved to."""

    build_image: str
    run_image: str
    lifecycle_image: str
    store_images: dict[str, str]
    """Short name (``nodejs``, ``go``) → buildpackage tag."""
    identifiers: dict[str, str]
    """Each tag above → ``<repository>@sha256:…``."""


async def push_sample_images(
    registry: client.RegistryClient,
    prefix: str,
    *,
    stack_id: str = DEFAULT_STACK,
    serial: str = "1",
    buildpack_version: str = "1.0.0",
    lifecycle_version: str = "0.17.2",
    keychain: auth.Keychain | None = None,
) -> SampleImages:
    """A stack, a lifecycle and the :func:`sample_buildpacks` packages under ``prefix``
    (``127.0.0.1:5000/kiln-sample``): ``<prefix>/build:<stack tag>``, ``<prefix>/run:…``,
    ``<prefix>/lifecycle:<version>``, ``<prefix>/buildpacks/<name>:<version>``."""
    tag = stack_id.replace("/", "-")[:100]
    build, run = f"{prefix}/build:{tag}", f"{prefix}/run:{tag}"
    lifecycle = f"{prefix}/lifecycle:{lifecycle_version}"
    stores = {
        name: f"{prefix}/buildpacks/{name}:{buildpack_version}"
        for name in sample_buildpacks(stack_id=stack_id, version=buildpack_version)
    }
    identifiers = {
        build: await push_build_image(registry, build, stack_id=stack_id, serial=serial, keychain=keychain),
        run: await push_run_image(registry, run, stack_id=stack_id, serial=serial, keychain=keychain),
        lifecycle: await push_lifecycle_image(
            registry, lifecycle, version=lifecycle_version, keychain=keychain
        ),
    }
    for name, packaged in sample_buildpacks(stack_id=stack_id, version=buildpack_version).items():
        identifiers[stores[name]] = await push_buildpackage(
            registry, stores[name], packaged, keychain=keychain
        )
    return SampleImages(
        build_image=build,
        run_image=run,
        lifecycle_image=lifecycle,
        store_images=stores,
        identifiers=identifiers,
    )
