"""Statuses of the builder half (spec §1.1, §1.6, checklist 3, 20-22; kpack status.go,
builder_lifecycle.go and the builder reconciler tests)."""

from __future__ import annotations

from typing import Any

import builder_fixtures as fx
import pytest

from contracts import builders, buildpacks, builds, meta, stacks
from services.builder import statuses

T, EARLIER = fx.NOW_TEXT, fx.EARLIER_TEXT
ENTRY = fx.status("bp", "1", storeImage={"image": "registry.io/store"}, diffId=fx.sha("1"))


def ready(status: str = "True", time: str = T, **fields: str) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "lastTransitionTime": time, **fields}


def with_status(obj: Any, status: dict[str, Any]) -> Any:
    return type(obj).model_validate({**obj.dump(), "status": status})


STORE = fx.cluster_store(entries=[ENTRY], generation=1).model_copy(
    update={"metadata": meta.ObjectMeta(name="some-store", generation=3)}
)


@pytest.mark.parametrize(
    ("obj", "resolved", "error", "expected"),
    [
        pytest.param(
            with_status(STORE, {}),
            [ENTRY],
            None,
            {"observedGeneration": 3, "conditions": [ready()], "buildpacks": [ENTRY.dump()]},
            id="a store read for the first time is Ready with its buildpacks",
        ),
        pytest.param(
            with_status(
                STORE,
                {"observedGeneration": 2, "conditions": [ready(time=EARLIER)], "buildpacks": [ENTRY.dump()]},
            ),
            None,
            "could not find label io.buildpacks.buildpack.layers",
            {
                "observedGeneration": 3,
                "conditions": [ready("False", message="could not find label io.buildpacks.buildpack.layers")],
            },
            id="checklist 3: an error replaces the status, wipes the buildpacks and sets no reason",
        ),
        pytest.param(
            with_status(STORE, {"conditions": [ready("False", time=EARLIER, message="old")], "x": 1}),
            None,
            "new",
            {"observedGeneration": 3, "conditions": [ready("False", time=EARLIER, message="new")]},
            id="a second failure keeps the transition time and drops what kpack does not know",
        ),
        pytest.param(
            with_status(STORE, {"conditions": [ready("False", time=EARLIER, message="old")]}),
            [],
            None,
            {"observedGeneration": 3, "conditions": [ready()]},
            id="a store with no buildpacks recovers without a buildpacks key",
        ),
        pytest.param(
            with_status(fx.buildpack("bp", []), {"conditions": [ready(time=EARLIER)]}),
            [ENTRY],
            None,
            {"conditions": [ready(time=EARLIER)], "buildpacks": [ENTRY.dump()]},
            id="a Buildpack without a generation leaves observedGeneration out, Ready kept since earlier",
        ),
        pytest.param(
            fx.cluster_buildpack("cbp", []),
            None,
            "",
            {"conditions": [ready("False")]},
            id="an error without text gives no message",
        ),
    ],
)
def test_store_statuses(
    obj: buildpacks.AnyStore,
    resolved: list[buildpacks.BuildpackStatus] | None,
    error: str | None,
    expected: dict[str, Any],
) -> None:
    status = statuses.store_status(obj, resolved=resolved or (), error=error, now=fx.NOW)
    assert status.dump() == expected


STACK_RESOLVED = stacks.ClusterStackStatus.model_validate(
    {
        "id": "org.some.stack",
        "buildImage": {"latestImage": "gcr.io/image/build@" + fx.sha("b"), "image": "gcr.io/image/build"},
        "runImage": {"latestImage": "gcr.io/image/run@" + fx.sha("r"), "image": "gcr.io/image/run"},
        "userId": 1000,
        "groupId": 2000,
    }
)


@pytest.mark.parametrize(
    ("stack", "resolved", "error", "expected"),
    [
        pytest.param(
            fx.cluster_stack(ready=None, generation=2),
            STACK_RESOLVED,
            None,
            {"observedGeneration": 2, "conditions": [ready()], **STACK_RESOLVED.dump()},
            id="a stack resolved is Ready with its images",
        ),
        pytest.param(
            fx.cluster_stack(ready=True, generation=2, status=STACK_RESOLVED.dump()),
            None,
            "invalid stack images. expected stack: a, build image stack: a, run image stack: b",
            {
                "observedGeneration": 2,
                "conditions": [
                    ready(
                        "False",
                        message="invalid stack images. expected stack: a, build image stack: a, run image stack: b",
                    )
                ],
            },
            id="a stack error wipes the resolved images",
        ),
        pytest.param(
            fx.cluster_stack(ready=True, generation=2),
            STACK_RESOLVED.with_(observed_generation=9, conditions=[]),
            None,
            {"observedGeneration": 2, "conditions": [ready(time=EARLIER)], **STACK_RESOLVED.dump()},
            id="observedGeneration and conditions come from the object, not the resolution",
        ),
    ],
)
def test_stack_statuses(
    stack: stacks.ClusterStack,
    resolved: stacks.ClusterStackStatus | None,
    error: str | None,
    expected: dict[str, Any],
) -> None:
    assert statuses.stack_status(stack, resolved=resolved, error=error, now=fx.NOW).dump() == expected


LIFECYCLE_RESOLVED = stacks.ResolvedLifecycle.model_validate(
    {
        "image": {"latestImage": "gcr.io/lifecycle@" + fx.sha("l"), "image": "gcr.io/lifecycle"},
        "version": "0.17.0",
        "api": {"buildpack": "0.7", "platform": "0.7"},
        "apis": {
            "buildpack": {"deprecated": None, "supported": ["0.7"]},
            "platform": {"deprecated": None, "supported": ["0.8"]},
        },
    }
)


def test_a_lifecycle_resolved_and_then_failing() -> None:
    lifecycle = fx.cluster_lifecycle(ready=None, generation=5)
    first = statuses.lifecycle_status(lifecycle, resolved=LIFECYCLE_RESOLVED, now=fx.NOW)
    assert first.dump() == {"observedGeneration": 5, "conditions": [ready()], **LIFECYCLE_RESOLVED.dump()}
    failing = statuses.lifecycle_status(with_status(lifecycle, first.dump()), error="boom", now=fx.NOW)
    assert failing.dump() == {"observedGeneration": 5, "conditions": [ready("False", message="boom")]}


# Builders --------------------------------------------------------------------------------------

RECORD = statuses.BuilderRecord(
    latest_image="example.com/custom-builder:builder-ns-b@" + fx.sha("1"),
    stack=builders.BuilderStack(run_image="example.com/run-image@sha256:123456", id="fake.stack.id"),
    lifecycle=statuses.builder_lifecycle(LIFECYCLE_RESOLVED),
    builder_metadata=(
        builds.BuildpackInfo(id="buildpack.id.1", version="1.0.0"),
        builds.BuildpackInfo(id="buildpack.id.2", version="2.0.0", homepage="h"),
    ),
    order=(buildpacks.OrderEntry(group=[buildpacks.BuildpackRef(id="buildpack.id.1", version="1.0.0")]),),
    observed_stack_generation=11,
    observed_store_generation=10,
    os="linux",
)
RECORDED = {
    "builderMetadata": [
        {"id": "buildpack.id.1", "version": "1.0.0"},
        {"id": "buildpack.id.2", "version": "2.0.0", "homepage": "h"},
    ],
    "order": [{"group": [{"id": "buildpack.id.1", "version": "1.0.0"}]}],
    "stack": {"runImage": "example.com/run-image@sha256:123456", "id": "fake.stack.id"},
    "lifecycle": {
        "image": {},
        "version": "0.17.0",
        "api": {"buildpack": "0.7", "platform": "0.7"},
        "apis": {
            "buildpack": {"deprecated": None, "supported": ["0.7"]},
            "platform": {"deprecated": None, "supported": ["0.8"]},
        },
    },
    "latestImage": RECORD.latest_image,
    "observedStackGeneration": 11,
    "observedStoreGeneration": 10,
    "os": "linux",
}


def up_to_date(status: str = "True", time: str = T, **fields: str) -> dict[str, Any]:
    return {"type": "UpToDate", "status": status, "lastTransitionTime": time, **fields}


def test_checklist_20_first_success_sets_every_record_field() -> None:
    status = statuses.builder_ready(fx.builder(generation=1), record=RECORD, now=fx.NOW)
    assert status.dump() == {"observedGeneration": 1, "conditions": [ready(), up_to_date()], **RECORDED}


def test_success_overwrites_every_record_field_and_keeps_true_conditions_times() -> None:
    previous = {
        **RECORDED,
        "observedGeneration": 1,
        "conditions": [
            ready(time=EARLIER),
            up_to_date("False", time=EARLIER, reason="ReconcileFailed", message="x"),
        ],
        "order": [{"group": [{"id": "old"}]}],
        "signaturePaths": [{"signingSecret": "k8s://ns/s", "targetDigest": "t"}],
    }
    record = statuses.BuilderRecord(
        latest_image="example.com/b@" + fx.sha("2"),
        stack=builders.BuilderStack(),
        lifecycle=statuses.builder_lifecycle(stacks.ResolvedLifecycle()),
        builder_metadata=(),
        order=(),
    )
    status = statuses.builder_ready(fx.builder(generation=2, status=previous), record=record, now=fx.NOW)
    assert status.dump() == {
        "observedGeneration": 2,
        "conditions": [ready(time=EARLIER), up_to_date()],
        "stack": {},
        "lifecycle": {
            "image": {},
            "api": {},
            "apis": {
                "buildpack": {"deprecated": None, "supported": None},
                "platform": {"deprecated": None, "supported": None},
            },
        },
        "latestImage": "example.com/b@" + fx.sha("2"),
    }


def test_signature_paths_are_recorded() -> None:
    signature = builders.SignaturePath(
        signing_secret="k8s://ns/cosign", target_digest="registry.io/sig@" + fx.sha("5")
    )
    record = statuses.BuilderRecord(**{**RECORD.__dict__, "signature_paths": (signature,)})
    status = statuses.builder_ready(fx.builder(), record=record, now=fx.NOW)
    assert status.dump()["signaturePaths"] == [signature.dump()]


@pytest.mark.parametrize(
    ("previous", "error", "expected_conditions"),
    [
        pytest.param(
            {},
            "create error",
            [
                ready("False", reason="NoLatestImage", message="Builder has no latestImage"),
                up_to_date("False", reason="ReconcileFailed", message="create error"),
            ],
            id="a builder that never succeeded is not Ready",
        ),
        pytest.param(
            {
                **RECORDED,
                "observedGeneration": 1,
                "conditions": [ready(time=EARLIER), up_to_date(time=EARLIER)],
            },
            "Error: clusterstack 'some-stack' is not ready",
            [
                ready(time=EARLIER),
                up_to_date(
                    "False", reason="ReconcileFailed", message="Error: clusterstack 'some-stack' is not ready"
                ),
            ],
            id="checklist 21: a later failure keeps Ready True and every record field",
        ),
        pytest.param(
            {
                "latestImage": "x@" + fx.sha("1"),
                "conditions": [
                    ready(time=EARLIER),
                    up_to_date("False", time=EARLIER, reason="ReconcileFailed", message="a"),
                ],
            },
            "b",
            [ready(time=EARLIER), up_to_date("False", time=EARLIER, reason="ReconcileFailed", message="b")],
            id="a new failure message keeps the transition time",
        ),
        pytest.param(
            {
                "conditions": [
                    ready("False", time=EARLIER, reason="NoLatestImage", message="Builder has no latestImage")
                ]
            },
            "",
            [
                ready("False", time=EARLIER, reason="NoLatestImage", message="Builder has no latestImage"),
                up_to_date("False", reason="ReconcileFailed"),
            ],
            id="an error without text gives UpToDate without a message",
        ),
    ],
)
def test_builder_failures(
    previous: dict[str, Any], error: str, expected_conditions: list[dict[str, Any]]
) -> None:
    builder = fx.builder(generation=2, status=previous)
    status = statuses.builder_failed(builder, error=error, now=fx.NOW)
    kept = {key: value for key, value in previous.items() if key not in ("observedGeneration", "conditions")}
    assert status.dump() == {**kept, "observedGeneration": 2, "conditions": expected_conditions}


def test_a_failure_of_a_builder_without_generation_leaves_observed_generation_out() -> None:
    status = statuses.builder_failed(
        fx.builder(generation=0, status={"observedGeneration": 3}), error="e", now=fx.NOW
    )
    assert "observedGeneration" not in status.dump()


def test_a_cluster_builder_stack_not_ready_keeps_its_previous_image() -> None:
    builder = fx.builder(kind=builders.CLUSTER_BUILDER, status={"latestImage": "i@" + fx.sha("1")})
    status = statuses.builder_failed(builder, error="stack some-stack is not ready", now=fx.NOW)
    assert (status.is_true("Ready"), status.is_false("UpToDate"), status.latest_image) == (
        True,
        True,
        "i@" + fx.sha("1"),
    )


# Comparing -------------------------------------------------------------------------------------


def builder_status(**wire: Any) -> builders.BuilderStatus:
    return builders.BuilderStatus.model_validate(wire)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(
            builder_status(conditions=[ready(time=EARLIER)]),
            builder_status(conditions=[ready()]),
            True,
            id="transition times are ignored",
        ),
        pytest.param(
            builder_status(conditions=[ready()]),
            builder_status(conditions=[ready("False")]),
            False,
            id="a changed condition status is a change",
        ),
        pytest.param(
            builder_status(conditions=[ready(message="a")]),
            builder_status(conditions=[ready(message="b")]),
            False,
            id="a changed message is a change",
        ),
        pytest.param(builder_status(order=[]), builder_status(), True, id="an empty list equals none"),
        pytest.param(
            builder_status(order=[{}]), builder_status(order=[]), False, id="an empty entry is not no entry"
        ),
        pytest.param(
            builder_status(observedStoreGeneration=0, os=""),
            builder_status(),
            True,
            id="zero values equal absent ones",
        ),
        pytest.param(
            builder_status(lifecycle={"image": {}}), builder_status(), True, id="an empty struct equals none"
        ),
        pytest.param(
            builder_status(observedGeneration=1),
            builder_status(observedGeneration=2),
            False,
            id="a new generation is a change",
        ),
        pytest.param(
            builder_status(builderMetadata=[{"id": "a", "version": "1"}]),
            builder_status(builderMetadata=[{"id": "a", "version": "2"}]),
            False,
            id="a new buildpack version is a change",
        ),
    ],
)
def test_same_status(a: meta.Status, b: meta.Status, same: bool) -> None:
    assert statuses.same_status(a, b) is same
    assert statuses.same_status(b, a) is same


def test_checklist_22_an_equal_re_reconcile_writes_nothing() -> None:
    first = statuses.builder_ready(fx.builder(), record=RECORD, now=fx.NOW)
    builder = fx.builder(status=first.dump())
    later = statuses.builder_ready(builder, record=RECORD, now=fx.NOW.replace(year=2030))
    assert statuses.same_status(later, builder.status)
    assert later.dump() == first.dump()


def test_a_store_error_after_success_is_a_change_but_repeating_it_is_not() -> None:
    good = statuses.store_status(STORE, resolved=[ENTRY], now=fx.NOW)
    failed = statuses.store_status(with_status(STORE, good.dump()), error="e", now=fx.NOW)
    again = statuses.store_status(with_status(STORE, failed.dump()), error="e", now=fx.NOW.replace(year=2030))
    assert (statuses.same_status(failed, good), statuses.same_status(again, failed)) == (False, True)
