"""Whether a builder can be made from its stack, lifecycle and buildpacks: kpack's checks during
builder creation (``builder_builder.go``, ``buildpack_validation.go``, ``create_builder.go``),
each failing with kpack's message as a :class:`~services.builder.problems.BuilderProblem`.

In kpack's order:

1. :func:`check_platform` — the build image is not Windows; the lifecycle image has a layer; the
   lifecycle image's platform matches the build image's (OS always, architecture and variant
   when both name one);
2. (the buildpacks are resolved and fetched);
3. :func:`check_platform_apis` — the lifecycle speaks a platform API kpack supports;
4. :func:`check_buildpacks` — every buildpack, in layer order, meta-buildpacks skipped: its
   buildpack API is one the lifecycle speaks, and the stack is one it supports (by id, or ``*``
   from buildpack API 0.5) with every mixin it requires — matched loosely (``build:m`` / ``run:m``
   against ``m`` and back) once the lifecycle speaks platform API 0.7 or later.

API versions compare as numbers (``0.10`` is after ``0.9``), as Masterminds semver does.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from contracts import buildpacks, oci, stacks
from services.builder import builder_images, problems

SUPPORTED_PLATFORM_APIS = ("0.3", "0.4", "0.5", "0.6", "0.7", "0.8")
"""Platform APIs kpack's builder creation accepts (at least one must be spoken)."""
ANY_STACK = "*"
_RELAXED_MIXIN_MIN_PLATFORM_API = (0, 7, 0, 1)
_ANY_STACK_MIN_BUILDPACK_API = (0, 5, 0, 1)
_STAGES = ("build:", "run:")
_SEMVER = re.compile(
    r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


def check_platform(
    *, build_image: oci.RemoteImage, lifecycle_image: oci.RemoteImage, lifecycle_spec_image: str
) -> None:
    """The images a builder is made of fit together; ``lifecycle_spec_image`` is the
    ClusterLifecycle's ``spec.image``, as kpack's message names it."""
    if build_image.os == "windows":
        raise problems.BuilderProblem("windows base images are not supported")
    builder_images.lifecycle_layer(lifecycle_image)
    want = (build_image.os, build_image.architecture, build_image.variant)
    got = (lifecycle_image.os, lifecycle_image.architecture, lifecycle_image.variant)
    if not _platform_matches(want, got):
        raise problems.BuilderProblem(
            f"validating lifecycle image {lifecycle_spec_image}: "
            f"expected platform to be {'/'.join(want)} but got {'/'.join(got)}"
        )


def _platform_matches(want: tuple[str, str, str], got: tuple[str, str, str]) -> bool:
    (want_os, *want_rest), (got_os, *got_rest) = want, got
    if want_os != got_os:
        return False
    return all(not w or not g or w == g for w, g in zip(want_rest, got_rest, strict=True))


def platform_apis(lifecycle: stacks.ResolvedLifecycle) -> list[str]:
    """The lifecycle's platform APIs: deprecated, then supported."""
    return lifecycle.apis.platform.all() if lifecycle.apis else []


def check_platform_apis(lifecycle: stacks.ResolvedLifecycle) -> None:
    spoken = platform_apis(lifecycle)
    if not any(api in spoken for api in SUPPORTED_PLATFORM_APIS):
        raise problems.BuilderProblem(
            f"unsupported platform apis in kpack lifecycle: {', '.join(spoken)}, "
            f"expecting one of: {', '.join(SUPPORTED_PLATFORM_APIS)}"
        )


def relaxed_mixins(lifecycle: stacks.ResolvedLifecycle) -> bool:
    """Any platform API at or after 0.7 (an API that is no version counts as before)."""
    versions = [_version(api) for api in platform_apis(lifecycle)]
    return any(version is not None and version >= _RELAXED_MIXIN_MIN_PLATFORM_API for version in versions)


def check_buildpacks(
    *,
    buildpacks_in_layer_order: Sequence[buildpacks.BuildpackStatus],
    lifecycle: stacks.ResolvedLifecycle,
    stack_id: str,
    mixins: Sequence[str] | None,
) -> None:
    """Every buildpack fits the lifecycle and the stack; the first that does not fails."""
    apis = lifecycle.apis.buildpack.all() if lifecycle.apis else []
    relaxed = relaxed_mixins(lifecycle)
    for bp in buildpacks_in_layer_order:
        problem = _unsupported(
            bp, buildpack_apis=apis, stack_id=stack_id, mixins=mixins or [], relaxed=relaxed
        )
        if problem:
            raise problems.BuilderProblem(f"validating buildpack {bp.id}@{bp.version}: {problem}")


def _unsupported(
    bp: buildpacks.BuildpackStatus,
    *,
    buildpack_apis: list[str],
    stack_id: str,
    mixins: Sequence[str],
    relaxed: bool,
) -> str | None:
    """Why ``bp`` does not fit (kpack's ``BuildpackLayerInfo.supports``), or None."""
    if bp.order:
        return None  # a meta-buildpack has no code of its own
    if bp.api not in buildpack_apis:
        return f"unsupported buildpack api: {bp.api}, expecting: {', '.join(buildpack_apis)}"
    if not bp.stacks:
        return None  # stacks are optional (and deprecated) from buildpack API 0.10
    api = _version(bp.api)
    if api is None:
        return "invalid semantic version"  # Masterminds semver's error
    for stack in bp.stacks:
        if stack.id == stack_id or (stack.id == ANY_STACK and api >= _ANY_STACK_MIN_BUILDPACK_API):
            missing = [
                mixin for mixin in stack.mixins or [] if not _mixin_present(mixin, mixins, relaxed=relaxed)
            ]
            return f"stack missing mixin(s): {', '.join(missing)}" if missing else None
    return f"stack {stack_id} is not supported"


def _mixin_present(mixin: str, provided: Sequence[str], *, relaxed: bool) -> bool:
    """Strictly the same name; relaxed, ``build:m`` / ``run:m`` is met by ``m`` too, and ``m`` by
    ``m`` or by both ``build:m`` and ``run:m``."""
    if mixin in provided:
        return True
    if not relaxed:
        return False
    if mixin.startswith(_STAGES):
        return mixin.split(":", 1)[1] in provided
    return all(f"{stage}{mixin}" in provided for stage in _STAGES)


def _version(text: str) -> tuple[int, int, int, int] | None:
    """``major, minor, patch`` and 1 for a release, 0 for a pre-release (which sorts before its
    release; pre-releases are not ordered among themselves, no threshold needs it); None for what
    Masterminds semver (coercing, as kpack uses it) cannot parse."""
    match = _SEMVER.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, prerelease = match.groups()
    return int(major), int(minor or 0), int(patch or 0), 0 if prerelease else 1
