"""kpack's checks during builder creation, as truth tables with kpack's exact messages (spec §2.8,
checklist 25 to 28; kpack's create_builder_test.go "validating buildpacks" / "validating platform api")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts import buildpacks, oci, stacks
from services.builder import compatibility, problems

STACK_ID = "io.buildpacks.stacks.some-stack"
LIFECYCLE_SPEC_IMAGE = "buildpacksio/lifecycle:latest"
MISMATCH = f"validating lifecycle image {LIFECYCLE_SPEC_IMAGE}: expected platform to be"
STACK_MIXINS = [
    "some-unused-mixin",
    "some-mixin",
    "common-mixin",
    "build:another-common-mixin",
    "run:another-common-mixin",
]


def image(*, os: str = "linux", arch: str = "amd64", variant: str = "", layers: int = 1) -> oci.RemoteImage:
    config: dict[str, Any] = {
        "os": os,
        "architecture": arch,
        "rootfs": {"diff_ids": ["sha256:" + "d" * 64] * layers},
    }
    if variant:
        config["variant"] = variant
    descriptors = [
        oci.Descriptor(media_type=oci.DOCKER_LAYER_GZIP, digest="sha256:" + "c" * 64, size=1)
    ] * layers
    config_descriptor = oci.Descriptor(media_type=oci.DOCKER_CONFIG, digest="sha256:" + "e" * 64, size=2)
    manifest = oci.manifest_bytes(
        media_type=oci.DOCKER_MANIFEST, config=config_descriptor, layers=descriptors
    )
    return oci.RemoteImage(
        repository="r.io/x",
        digest=oci.sha256_digest(manifest),
        media_type=oci.DOCKER_MANIFEST,
        manifest=manifest,
        config=json.loads(json.dumps(config)),
        config_descriptor=config_descriptor,
        layers=descriptors,
    )


def lifecycle(
    *,
    platform: tuple[list[str], list[str]] = (["0.3"], ["0.4"]),
    buildpack: tuple[list[str], list[str]] = (["0.2"], ["0.3"]),
) -> stacks.ResolvedLifecycle:
    return stacks.ResolvedLifecycle.model_validate(
        {
            "version": "0.5.0",
            "apis": {
                "buildpack": {"deprecated": buildpack[0], "supported": buildpack[1]},
                "platform": {"deprecated": platform[0], "supported": platform[1]},
            },
        }
    )


def bp(bp_id: str = "io.buildpack.x", api: str = "0.2", **fields: Any) -> buildpacks.BuildpackStatus:
    return buildpacks.BuildpackStatus.model_validate({"id": bp_id, "version": "v4", "api": api, **fields})


def failure(check: Any, **arguments: Any) -> str | None:
    try:
        check(**arguments)
    except problems.BuilderProblem as e:
        return str(e)
    return None


# Platform ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "lifecycle_image", "expected"),
    [
        pytest.param(image(), image(), None, id="equal platforms fit"),
        pytest.param(
            image(os="windows"),
            image(layers=0),
            "windows base images are not supported",
            id="a windows build image fails before the lifecycle is looked at",
        ),
        pytest.param(
            image(),
            image(os="darwin", layers=0),
            "failed to find lifecycle layer: failed to find lifecycle image layers",
            id="a lifecycle image without layers fails before its platform is compared",
        ),
        pytest.param(
            image(),
            image(os="darwin"),
            f"{MISMATCH} linux/amd64/ but got darwin/amd64/",
            id="another OS fails naming the ClusterLifecycle's spec image",
        ),
        pytest.param(
            image(arch="amd64"),
            image(arch="arm64"),
            f"{MISMATCH} linux/amd64/ but got linux/arm64/",
            id="another architecture fails",
        ),
        pytest.param(
            image(arch=""), image(arch="arm64"), None, id="a build image without architecture fits any"
        ),
        pytest.param(
            image(arch="amd64"), image(arch=""), None, id="a lifecycle without architecture fits any"
        ),
        pytest.param(
            image(arch="arm", variant="v7"),
            image(arch="arm", variant="v6"),
            f"{MISMATCH} linux/arm/v7 but got linux/arm/v6",
            id="another variant fails",
        ),
        pytest.param(
            image(arch="arm", variant="v7"), image(arch="arm"), None, id="a missing variant fits any"
        ),
        pytest.param(image(os=""), image(os=""), None, id="two images without OS fit"),
        pytest.param(
            image(os=""),
            image(),
            f"{MISMATCH} /amd64/ but got linux/amd64/",
            id="an OS is compared even when one is empty",
        ),
    ],
)
def test_check_platform(
    build: oci.RemoteImage, lifecycle_image: oci.RemoteImage, expected: str | None
) -> None:
    arguments = {
        "build_image": build,
        "lifecycle_image": lifecycle_image,
        "lifecycle_spec_image": LIFECYCLE_SPEC_IMAGE,
    }
    assert failure(compatibility.check_platform, **arguments) == expected


# Platform APIs ----------------------------------------------------------------------------------

EXPECTING = "expecting one of: 0.3, 0.4, 0.5, 0.6, 0.7, 0.8"


@pytest.mark.parametrize(
    ("apis", "expected"),
    [
        pytest.param((["0.3"], ["0.4"]), None, id="kpack's test lifecycle fits"),
        pytest.param(([], ["0.8", "0.9"]), None, id="one supported API is enough"),
        pytest.param((["0.3"], []), None, id="a deprecated API counts"),
        pytest.param(
            (["0.1"], ["0.2", "0.999"]),
            f"unsupported platform apis in kpack lifecycle: 0.1, 0.2, 0.999, {EXPECTING}",
            id="checklist 28: none of kpack's APIs fails listing deprecated then supported",
        ),
        pytest.param(
            ([], ["0.9", "0.10"]),
            f"unsupported platform apis in kpack lifecycle: 0.9, 0.10, {EXPECTING}",
            id="APIs after 0.8 alone are not accepted",
        ),
        pytest.param(
            ([], []), f"unsupported platform apis in kpack lifecycle: , {EXPECTING}", id="no APIs at all fail"
        ),
    ],
)
def test_check_platform_apis(apis: tuple[list[str], list[str]], expected: str | None) -> None:
    assert failure(compatibility.check_platform_apis, lifecycle=lifecycle(platform=apis)) == expected


def test_a_lifecycle_without_apis_speaks_no_platform_api() -> None:
    bare = stacks.ResolvedLifecycle(version="0.5.0")
    assert failure(compatibility.check_platform_apis, lifecycle=bare) == (
        f"unsupported platform apis in kpack lifecycle: , {EXPECTING}"
    )


@pytest.mark.parametrize(
    ("apis", "relaxed"),
    [
        pytest.param(["0.7"], True, id="platform 0.7 relaxes mixins"),
        pytest.param(["0.3", "0.8"], True, id="any API at or after 0.7 relaxes"),
        pytest.param(["0.10"], True, id="0.10 is after 0.7 as a number"),
        pytest.param(["0.6"], False, id="0.6 is strict"),
        pytest.param(["0.7-rc.1"], False, id="a pre-release of 0.7 is before 0.7"),
        pytest.param(["v0.7"], True, id="a leading v is allowed"),
        pytest.param(["0.7.1+build.5"], True, id="a patch and build metadata are allowed"),
        pytest.param(["1"], True, id="a lone major version counts"),
        pytest.param(["latest", "0.4"], False, id="an API that is no version counts as before"),
        pytest.param(["0.\u0667"], False, id="only ASCII digits are version digits"),
        pytest.param([], False, id="no APIs are strict"),
    ],
)
def test_relaxed_mixins(apis: list[str], relaxed: bool) -> None:
    assert compatibility.relaxed_mixins(lifecycle(platform=([], apis))) is relaxed


# Buildpacks -------------------------------------------------------------------------------------

STRICT = lifecycle()
RELAXED = lifecycle(platform=([], ["0.7"]))
ANY_STACK_LIFECYCLE = lifecycle(buildpack=(["0.2"], ["0.3", "0.4", "0.5", "0.10"]))


@pytest.mark.parametrize(
    ("buildpack", "resolved_lifecycle", "expected"),
    [
        pytest.param(
            bp("io.buildpack.unsupported.buildpack.api", api="0.1", stacks=[{"id": STACK_ID}]),
            STRICT,
            "validating buildpack io.buildpack.unsupported.buildpack.api@v4: "
            "unsupported buildpack api: 0.1, expecting: 0.2, 0.3",
            id="checklist 25: a buildpack API the lifecycle does not speak",
        ),
        pytest.param(
            bp(api="0.2.0"),
            STRICT,
            "validating buildpack io.buildpack.x@v4: unsupported buildpack api: 0.2.0, expecting: 0.2, 0.3",
            id="buildpack APIs compare as strings",
        ),
        pytest.param(
            bp("io.buildpack.unsupported.stack", stacks=[{"id": "io.buildpacks.stacks.unsupported"}]),
            STRICT,
            f"validating buildpack io.buildpack.unsupported.stack@v4: stack {STACK_ID} is not supported",
            id="checklist 26: a stack the buildpack does not name",
        ),
        pytest.param(bp(stacks=[]), STRICT, None, id="a buildpack without stacks fits any stack"),
        pytest.param(bp(), STRICT, None, id="a buildpack with no stacks field fits any stack"),
        pytest.param(
            bp(api="0.5", stacks=[{"id": "*"}]), ANY_STACK_LIFECYCLE, None, id="any stack from API 0.5"
        ),
        pytest.param(
            bp(api="0.10", stacks=[{"id": "*"}]), ANY_STACK_LIFECYCLE, None, id="any stack at API 0.10"
        ),
        pytest.param(
            bp(api="0.4", stacks=[{"id": "*"}]),
            ANY_STACK_LIFECYCLE,
            f"validating buildpack io.buildpack.x@v4: stack {STACK_ID} is not supported",
            id="any stack means nothing before API 0.5",
        ),
        pytest.param(
            bp(
                "io.buildpack.unsupported.mixin",
                stacks=[{"id": STACK_ID, "mixins": ["some-mixin", "x", "y"]}],
            ),
            STRICT,
            "validating buildpack io.buildpack.unsupported.mixin@v4: stack missing mixin(s): x, y",
            id="checklist 27: missing mixins are listed in the buildpack's order",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["build:common-mixin"]}]),
            RELAXED,
            None,
            id="relaxed: build:m is met by m",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["build:common-mixin"]}]),
            STRICT,
            "validating buildpack io.buildpack.x@v4: stack missing mixin(s): build:common-mixin",
            id="strict: build:m is not met by m",
        ),
        pytest.param(
            bp(
                stacks=[
                    {
                        "id": STACK_ID,
                        "mixins": [
                            "some-mixin",
                            "build:common-mixin",
                            "run:common-mixin",
                            "another-common-mixin",
                        ],
                    }
                ]
            ),
            RELAXED,
            None,
            id="kpack's relaxed mixin contract case passes with platform 0.7",
        ),
        pytest.param(
            bp(
                stacks=[
                    {
                        "id": STACK_ID,
                        "mixins": [
                            "some-mixin",
                            "build:common-mixin",
                            "run:common-mixin",
                            "another-common-mixin",
                        ],
                    }
                ]
            ),
            STRICT,
            "validating buildpack io.buildpack.x@v4: stack missing mixin(s): "
            "build:common-mixin, run:common-mixin, another-common-mixin",
            id="the same case fails with an older platform API",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["build:some-unused-mixin", "run:unknown"]}]),
            RELAXED,
            "validating buildpack io.buildpack.x@v4: stack missing mixin(s): run:unknown",
            id="relaxed: run:m without m is missing",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["another-common-mixin"]}]),
            RELAXED,
            None,
            id="relaxed: m is met by both build:m and run:m",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["half"]}]),
            lifecycle(platform=([], ["0.7"])),
            "validating buildpack io.buildpack.x@v4: stack missing mixin(s): half",
            id="relaxed: m is not met by build:m alone",
        ),
        pytest.param(
            bp(stacks=[{"id": STACK_ID, "mixins": ["missing"]}, {"id": "*"}]),
            ANY_STACK_LIFECYCLE,
            "validating buildpack io.buildpack.x@v4: stack missing mixin(s): missing",
            id="the first matching stack entry decides",
        ),
        pytest.param(
            bp(api="0.5", stacks=[{"id": "*"}, {"id": STACK_ID, "mixins": ["missing"]}]),
            ANY_STACK_LIFECYCLE,
            None,
            id="an earlier any-stack entry decides too",
        ),
        pytest.param(
            bp(api="0.1", order=[{"group": [{"id": "child"}]}], stacks=[{"id": "other"}]),
            STRICT,
            None,
            id="a meta-buildpack is not checked",
        ),
        pytest.param(
            bp(api="dev", stacks=[{"id": STACK_ID}]),
            lifecycle(buildpack=([], ["dev"])),
            "validating buildpack io.buildpack.x@v4: invalid semantic version",
            id="an API that is no version fails once stacks are compared",
        ),
        pytest.param(
            bp(api="dev"), lifecycle(buildpack=([], ["dev"])), None, id="without stacks it is not parsed"
        ),
    ],
)
def test_check_buildpacks(
    buildpack: buildpacks.BuildpackStatus, resolved_lifecycle: stacks.ResolvedLifecycle, expected: str | None
) -> None:
    arguments = {
        "buildpacks_in_layer_order": [buildpack],
        "lifecycle": resolved_lifecycle,
        "stack_id": STACK_ID,
        "mixins": [*STACK_MIXINS, "build:half"],
    }
    assert failure(compatibility.check_buildpacks, **arguments) == expected


def test_the_first_unfit_buildpack_in_layer_order_is_named() -> None:
    arguments = {
        "buildpacks_in_layer_order": [bp("fine"), bp("first", api="0.1"), bp("second", api="0.0")],
        "lifecycle": STRICT,
        "stack_id": STACK_ID,
        "mixins": STACK_MIXINS,
    }
    assert failure(compatibility.check_buildpacks, **arguments) == (
        "validating buildpack first@v4: unsupported buildpack api: 0.1, expecting: 0.2, 0.3"
    )


def test_a_stack_without_mixins_provides_none() -> None:
    arguments = {
        "buildpacks_in_layer_order": [bp(stacks=[{"id": STACK_ID, "mixins": ["m"]}])],
        "lifecycle": STRICT,
        "stack_id": STACK_ID,
        "mixins": None,
    }
    assert failure(compatibility.check_buildpacks, **arguments) == (
        "validating buildpack io.buildpack.x@v4: stack missing mixin(s): m"
    )


def test_a_lifecycle_without_apis_speaks_no_buildpack_api() -> None:
    arguments = {
        "buildpacks_in_layer_order": [bp()],
        "lifecycle": stacks.ResolvedLifecycle(version="0.5.0"),
        "stack_id": STACK_ID,
        "mixins": [],
    }
    assert failure(compatibility.check_buildpacks, **arguments) == (
        "validating buildpack io.buildpack.x@v4: unsupported buildpack api: 0.2, expecting: "
    )


def test_no_buildpacks_fit_any_lifecycle() -> None:
    arguments = {"buildpacks_in_layer_order": [], "lifecycle": STRICT, "stack_id": STACK_ID, "mixins": []}
    assert failure(compatibility.check_buildpacks, **arguments) is None
