"""ClusterStacks resolved from their images (spec §2.3, checklist 5-8; kpack remote_stack_reader_test.go)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import builder_fixtures as fx
import pytest

from contracts import oci, stacks
from services.builder import stacks as stack_reader
from services.builder.problems import BuilderProblem

STACK_ID = "org.some.stack"
RUN_TAG = "gcr.io/image/run"
BUILD_TAG = "gcr.io/image/build"
IDS = ("CNB_USER_ID=1000", "CNB_GROUP_ID=2000")


def stack_image(
    repository: str,
    stack_id: str | None = STACK_ID,
    mixins: Sequence[str] = (),
    *,
    env: Sequence[str] = (),
    mixins_label: str | None = None,
) -> oci.RemoteImage:
    labels = {} if stack_id is None else {"io.buildpacks.stack.id": stack_id}
    if mixins:
        labels["io.buildpacks.stack.mixins"] = json.dumps(list(mixins))
    if mixins_label is not None:
        labels["io.buildpacks.stack.mixins"] = mixins_label
    return fx.image(repository=repository, labels=labels, env=env, layers=[(fx.sha("a"), fx.sha("1"), 10)])


def run_image(stack_id: str | None = STACK_ID, mixins: Sequence[str] = ()) -> oci.RemoteImage:
    return stack_image(RUN_TAG, stack_id, mixins)


def build_image(
    stack_id: str | None = STACK_ID, mixins: Sequence[str] = (), *, env: Sequence[str] = IDS
) -> oci.RemoteImage:
    return stack_image(BUILD_TAG, stack_id, mixins, env=env)


SPEC = stacks.ClusterStackSpec.model_validate(
    {"id": STACK_ID, "buildImage": {"image": BUILD_TAG}, "runImage": {"image": RUN_TAG}}
)


def test_resolves_the_images_and_mixins_of_the_stack() -> None:
    run = run_image(mixins=["shared-mixin", "run:run-mixin"])
    build = build_image(mixins=["shared-mixin", "build:build-mixin"])
    resolved = stack_reader.resolve_stack(SPEC, build=build, run=run)
    assert resolved.dump() == {
        "id": STACK_ID,
        "buildImage": {"latestImage": f"{BUILD_TAG}@{build.digest}", "image": BUILD_TAG},
        "runImage": {"latestImage": f"{RUN_TAG}@{run.digest}", "image": RUN_TAG},
        "mixins": ["shared-mixin", "build:build-mixin", "run:run-mixin"],
        "userId": 1000,
        "groupId": 2000,
    }


@pytest.mark.parametrize(
    ("build_mixins", "run_mixins", "expected"),
    [
        pytest.param(
            ["common", "build:bm"],
            ["common", "run:rm"],
            ["common", "build:bm", "run:rm"],
            id="checklist 8 order",
        ),
        pytest.param(
            ["build:b1", "c1", "build:b2", "c2"],
            ["run:r1", "c2", "extra", "c1", "run:r2"],
            ["c1", "c2", "build:b1", "build:b2", "run:r1", "run:r2"],
            id="common mixins come first, each stage in label order, the run image's own common ones are not repeated",
        ),
        pytest.param(
            [], ["run:only", "extra"], ["run:only"], id="a run image may add common mixins of its own"
        ),
        pytest.param([], [], None, id="no mixins at all are left out"),
    ],
)
def test_the_mixins_the_stack_provides(
    build_mixins: list[str], run_mixins: list[str], expected: list[str] | None
) -> None:
    resolved = stack_reader.resolve_stack(
        SPEC, build=build_image(mixins=build_mixins), run=run_image(mixins=run_mixins)
    )
    assert resolved.mixins == expected


@pytest.mark.parametrize(
    ("build", "run", "message"),
    [
        pytest.param(
            build_image(),
            run_image("something.else"),
            "invalid stack images. expected stack: org.some.stack, build image stack: org.some.stack, "
            "run image stack: something.else",
            id="the run image of another stack",
        ),
        pytest.param(
            build_image("something.wrong"),
            run_image(),
            "invalid stack images. expected stack: org.some.stack, build image stack: something.wrong, "
            "run image stack: org.some.stack",
            id="the build image of another stack",
        ),
        pytest.param(
            build_image(None),
            run_image("something.else"),
            "could not find label io.buildpacks.stack.id",
            id="a build image without a stack id",
        ),
        pytest.param(
            build_image("something.wrong"),
            run_image(None),
            "could not find label io.buildpacks.stack.id",
            id="a run image without a stack id is reported before a mismatch",
        ),
        pytest.param(
            build_image(mixins=["some-required-mixin", "some-required-mixin2"]),
            run_image(),
            "runImage missing required mixin(s): some-required-mixin, some-required-mixin2",
            id="the run image lacks mixins the build image has",
        ),
        pytest.param(
            build_image(mixins=["a", "b"]),
            run_image(mixins=["a", "run:b", "build:x"]),
            "run image contains build-only mixin(s): build:x",
            id="a build-only mixin on the run image is reported before missing ones",
        ),
        pytest.param(
            build_image(),
            run_image(mixins=["build:invalid", "build:invalid2"]),
            "run image contains build-only mixin(s): build:invalid, build:invalid2",
            id="the run image has build-only mixins",
        ),
        pytest.param(
            build_image(mixins=["run:invalid", "run:invalid2"]),
            run_image(mixins=["build:x"]),
            "build image contains run-only mixin(s): run:invalid, run:invalid2",
            id="the build image has run-only mixins, reported first",
        ),
        pytest.param(
            build_image(env=()),
            run_image(),
            "validating build image: ENV CNB_USER_ID not found",
            id="a build image without CNB_USER_ID",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID=1000",)),
            run_image(),
            "validating build image: ENV CNB_GROUP_ID not found",
            id="a build image without CNB_GROUP_ID",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID=abc", "CNB_GROUP_ID=x")),
            run_image(),
            'validating build image: env CNB_USER_ID: strconv.Atoi: parsing "abc": invalid syntax',
            id="a user id that is not a number",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID=1", "CNB_GROUP_ID=1.5")),
            run_image(),
            'validating build image: env CNB_GROUP_ID: strconv.Atoi: parsing "1.5": invalid syntax',
            id="a group id that is not an integer",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID=9223372036854775808", "CNB_GROUP_ID=1")),
            run_image(),
            'validating build image: env CNB_USER_ID: strconv.Atoi: parsing "9223372036854775808": value out of range',
            id="a user id beyond int64",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID", "CNB_GROUP_ID=1")),
            run_image(),
            'validating build image: env CNB_USER_ID: strconv.Atoi: parsing "": invalid syntax',
            id="a bare name reads as an empty value",
        ),
        pytest.param(
            build_image(env=("CNB_USER_ID= 1", "CNB_GROUP_ID=1")),
            run_image(),
            'validating build image: env CNB_USER_ID: strconv.Atoi: parsing " 1": invalid syntax',
            id="spaces are not trimmed",
        ),
        pytest.param(
            stack_image(BUILD_TAG, env=IDS, mixins_label='"a"'),
            run_image(),
            "json: cannot unmarshal string into Go value of type []string",
            id="a mixins label that is not a list",
        ),
        pytest.param(
            build_image(),
            stack_image(RUN_TAG, mixins_label="[a]"),
            "invalid character 'a' looking for beginning of value",
            id="a run image mixins label that is not JSON",
        ),
    ],
)
def test_stacks_that_do_not_resolve(build: oci.RemoteImage, run: oci.RemoteImage, message: str) -> None:
    with pytest.raises(BuilderProblem) as problem:
        stack_reader.resolve_stack(SPEC, build=build, run=run)
    assert str(problem.value) == message


@pytest.mark.parametrize(
    ("env", "user", "group"),
    [
        pytest.param(["CNB_USER_ID=+5", "CNB_GROUP_ID=-3"], 5, -3, id="a sign is allowed"),
        pytest.param(
            ["CNB_USER_ID=1=2", "CNB_GROUP_ID=007"], 1, 7, id="the value ends at the next equals sign"
        ),
        pytest.param(
            ["CNB_USER_ID=1", "CNB_USER_ID=2", "CNB_GROUP_ID=0"], 1, 0, id="the first entry of a name counts"
        ),
        pytest.param(["X_CNB_USER_ID=9", "CNB_USER_ID=4", "CNB_GROUP_ID=4"], 4, 4, id="names match exactly"),
    ],
)
def test_the_user_and_group_of_the_build_image(env: list[str], user: int, group: int) -> None:
    resolved = stack_reader.resolve_stack(SPEC, build=build_image(env=env), run=run_image())
    assert (resolved.user_id, resolved.group_id) == (user, group)


def test_zero_ids_and_an_empty_stack_id_are_left_out_as_go_omits_them() -> None:
    spec = SPEC.with_(id="")
    build = build_image("", env=("CNB_USER_ID=0", "CNB_GROUP_ID=0"))
    resolved = stack_reader.resolve_stack(spec, build=build, run=run_image(""))
    assert set(resolved.dump()) == {"buildImage", "runImage"}
