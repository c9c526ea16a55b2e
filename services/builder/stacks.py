"""A ClusterStack resolved from its build and run images (spec §2.3; kpack
``pkg/cnb/remote_stack_reader.go``).

Checked in kpack's order, each failure with kpack's message:

1. both images carry the label ``io.buildpacks.stack.id`` (build image first) and it equals
   ``spec.id``;
2. the build image's env has integer ``CNB_USER_ID`` then ``CNB_GROUP_ID``;
3. the optional label ``io.buildpacks.stack.mixins`` (a JSON string array) of each image: the build
   image has no ``run:`` mixin, the run image no ``build:`` mixin, and the run image has every
   unprefixed mixin of the build image.

The status lists the mixins as kpack does: the build image's unprefixed ones, then its ``build:``
ones, then the run image's ``run:`` ones.

Pure: no I/O.
"""

from __future__ import annotations

import re

from contracts import golang, oci, stacks
from services.builder import labels
from services.builder.problems import BuilderProblem

STACK_ID_LABEL = "io.buildpacks.stack.id"
MIXINS_LABEL = "io.buildpacks.stack.mixins"
USER_ID_ENV = "CNB_USER_ID"
GROUP_ID_ENV = "CNB_GROUP_ID"
_ATOI = re.compile(r"[+-]?[0-9]+")


def resolve_stack(
    spec: stacks.ClusterStackSpec, *, build: oci.RemoteImage, run: oci.RemoteImage
) -> stacks.ClusterStackStatus:
    """The resolved part of a ClusterStack's status (no conditions, no observedGeneration) for
    ``spec`` fetched as ``build`` and ``run``; raise :class:`BuilderProblem` with kpack's message."""
    _check_stack_id(spec.id, build=build, run=run)
    user_id = _cnb_id(build, USER_ID_ENV)
    group_id = _cnb_id(build, GROUP_ID_ENV)
    mixins = _mixins(_mixins_label(build), run=_mixins_label(run))
    return stacks.ClusterStackStatus(
        **golang.omitempty(
            id=spec.id,
            build_image=_status_image(build, spec_image=spec.build_image.image),
            run_image=_status_image(run, spec_image=spec.run_image.image),
            mixins=mixins,
            user_id=user_id,
            group_id=group_id,
        )
    )


def _status_image(image: oci.RemoteImage, *, spec_image: str) -> stacks.StackStatusImage:
    return stacks.StackStatusImage(**golang.omitempty(latest_image=image.identifier, image=spec_image))


def _check_stack_id(expected: str, *, build: oci.RemoteImage, run: oci.RemoteImage) -> None:
    build_stack = labels.string_label(build, key=STACK_ID_LABEL)
    run_stack = labels.string_label(run, key=STACK_ID_LABEL)
    if build_stack != expected or run_stack != expected:
        raise BuilderProblem(
            f"invalid stack images. expected stack: {expected}, "
            f"build image stack: {build_stack}, run image stack: {run_stack}"
        )


def _cnb_id(image: oci.RemoteImage, key: str) -> int:
    """``key`` of the build image's env as ``strconv.Atoi`` reads it. Like kpack's
    ``imagehelpers.GetEnv`` an entry is split at every ``=`` and the text between the first and the
    second is the value; an entry of the bare name (where kpack's controller would panic) reads as
    an empty value."""
    value = next((f"{entry}=".split("=")[1] for entry in image.env if entry.split("=")[0] == key), None)
    if value is None:
        raise BuilderProblem(f"validating build image: ENV {key} not found")
    if not _ATOI.fullmatch(value):
        raise BuilderProblem(f"validating build image: env {key}: {_atoi_error(value, 'invalid syntax')}")
    number = int(value)
    if not golang.INT64_MIN <= number <= golang.INT64_MAX:
        raise BuilderProblem(f"validating build image: env {key}: {_atoi_error(value, 'value out of range')}")
    return number


def _atoi_error(value: str, problem: str) -> str:
    return f"strconv.Atoi: parsing {golang.quote(value)}: {problem}"


def _mixins_label(image: oci.RemoteImage) -> list[str]:
    if MIXINS_LABEL not in image.labels:
        return []
    return list(labels.json_label(image, key=MIXINS_LABEL, go_type=golang.STRINGS) or [])


def _mixins(build: list[str], *, run: list[str]) -> list[str]:
    build_stage, invalid, build_common = _classify(build, valid="build:", invalid="run:")
    if invalid:
        raise BuilderProblem(f"build image contains run-only mixin(s): {', '.join(invalid)}")
    run_stage, invalid, run_common = _classify(run, valid="run:", invalid="build:")
    if invalid:
        raise BuilderProblem(f"run image contains build-only mixin(s): {', '.join(invalid)}")
    missing = [mixin for mixin in build_common if mixin not in run_common]
    if missing:
        raise BuilderProblem(f"runImage missing required mixin(s): {', '.join(missing)}")
    return [*build_common, *build_stage, *run_stage]


def _classify(mixins: list[str], *, valid: str, invalid: str) -> tuple[list[str], list[str], list[str]]:
    """``(stage-specific, of the other stage, common)`` mixins, each in label order."""
    stage = [mixin for mixin in mixins if mixin.startswith(valid)]
    other = [mixin for mixin in mixins if not mixin.startswith(valid) and mixin.startswith(invalid)]
    common = [mixin for mixin in mixins if not mixin.startswith((valid, invalid))]
    return stage, other, common
