"""One Image reconcile end to end, as ``kiln plan`` prints it (spec §4; checklist 43-59; §11)."""

from __future__ import annotations

from typing import Any

import image_fixtures as fx
import pytest

from contracts import builders, builds, images, source_resolvers
from services.image_reconciler import reconcile

T = fx.NOW_TEXT
BUILDER_CONDITIONS = [
    {"type": "BuilderReady", "status": "True", "reason": "BuilderReady", "lastTransitionTime": T},
    {"type": "BuilderUpToDate", "status": "True", "reason": "BuilderUpToDate", "lastTransitionTime": T},
]
NO_PVC = {"action": "none", "object": None}
VOLUME = {"cache": {"volume": {"size": "2G"}}}


def running(name: str) -> dict[str, Any]:
    message = f"Build '{name}' is executing"
    return {
        "type": "Ready",
        "status": "Unknown",
        "reason": "BuildRunning",
        "message": message,
        "lastTransitionTime": T,
    }


def plan(
    image: images.Image | None = None,
    *,
    builder: builders.Builder | None = None,
    resolver: source_resolvers.SourceResolver | None = None,
    all_builds: list[builds.Build] | None = None,
    pvc: dict[str, Any] | None = None,
    no_builder: bool = False,
    no_resolver: bool = False,
    **kwargs: Any,
) -> reconcile.ReconcilePlan:
    return reconcile.plan(
        image=image or fx.image(),
        builder=None if no_builder else builder or fx.builder(),
        source_resolver=None if no_resolver else resolver or fx.resolver(),
        builds=all_builds or [],
        pvc=pvc,
        now=fx.NOW,
        **kwargs,
    )


def test_a_first_build_without_cache() -> None:
    document = plan().to_document()
    build = document.pop("build")
    assert document == {
        "buildRequired": "True",
        "reasons": ["CONFIG"],
        "changes": fx.first_build_config_changes(),
        "cachePvc": NO_PVC,
        "deleteBuilds": [],
        "status": {
            "observedGeneration": 1,
            "conditions": [running("image-name-build-1"), *BUILDER_CONDITIONS],
            "latestBuildRef": "image-name-build-1",
            "latestBuildReason": "CONFIG",
            "latestBuildImageGeneration": 1,
            "buildCounter": 1,
        },
    }
    assert build["metadata"]["name"] == "image-name-build-1"
    assert build["spec"]["cache"] == {}
    assert "lastBuild" not in build["spec"]
    assert "priorityClassName" not in build["spec"]


def test_a_volume_cache_on_the_first_reconcile_creates_the_pvc_and_the_resolver() -> None:
    result = plan(fx.image(VOLUME, labels={"app": "web"}), no_resolver=True)
    pvc = result.cache_pvc.to_document()
    assert (pvc["action"], pvc["object"]["metadata"]["name"]) == ("create", "image-name-cache")
    assert result.source_resolver.action == "create"
    assert result.to_document()["buildRequired"] == "Unknown"
    assert result.build is None
    assert result.status.dump() == {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "ResolverNotReady",
                "message": "Error: SourceResolver 'image-name-source' is not ready",
                "lastTransitionTime": T,
            },
            *BUILDER_CONDITIONS,
        ],
        "buildCacheName": "image-name-cache",
    }


def test_the_created_source_resolver() -> None:
    image = fx.image({"serviceAccountName": "robot"}, labels={"app": "web"})
    created = plan(image, no_resolver=True).source_resolver.object
    assert created is not None
    assert created.dump() == {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "SourceResolver",
        "metadata": {
            "name": "image-name-source",
            "namespace": fx.NAMESPACE,
            "labels": {"app": "web"},
            "ownerReferences": [
                {
                    "apiVersion": "kpack.io/v1alpha2",
                    "kind": "Image",
                    "name": "image-name",
                    "uid": "image-uid",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"serviceAccount": "robot", "source": {"git": {"url": fx.REPO_URL, "revision": "main"}}},
    }


@pytest.mark.parametrize(
    ("image", "resolver", "action", "labels", "build_required"),
    [
        pytest.param(fx.image(), fx.resolver(), "none", None, "True", id="an equal resolver is left alone"),
        pytest.param(
            fx.image(labels={"app": "web"}),
            fx.resolver(labels={"app": "old"}),
            "update",
            {"app": "web"},
            "True",
            id="new labels update the resolver, which stays ready",
        ),
        pytest.param(
            fx.image(),
            fx.resolver(labels={"app": "old"}),
            "update",
            None,
            "True",
            id="removed labels are removed from the resolver",
        ),
        pytest.param(
            fx.image({"source": {"git": {"url": fx.REPO_URL, "revision": "develop"}}}),
            fx.resolver(),
            "update",
            None,
            "Unknown",
            id="a new source updates the resolver, which is then not ready for this reconcile",
        ),
    ],
)
def test_source_resolver_updates(
    image: images.Image,
    resolver: source_resolvers.SourceResolver,
    action: str,
    labels: dict[str, str] | None,
    build_required: str,
) -> None:
    result = plan(image, resolver=resolver)
    assert (result.source_resolver.action, result.build_required) == (action, build_required)
    if action == "update":
        updated = result.source_resolver.object
        assert updated is not None
        assert updated.dump()["metadata"].get("labels") == labels
        assert updated.spec == reconcile.desired_source_resolver(reconcile.controller_defaults(image)).spec
        assert updated.status == resolver.status


def test_builder_not_found_writes_only_the_condition() -> None:
    image = fx.image(status={"buildCounter": 3, "latestBuildRef": "image-name-build-3"})
    assert plan(image, no_builder=True, all_builds=[fx.build(3)]).to_document() == {
        "buildRequired": "Unknown",
        "reasons": [],
        "changes": "",
        "build": None,
        "cachePvc": NO_PVC,
        "deleteBuilds": [],
        "status": {
            "buildCounter": 3,
            "latestBuildRef": "image-name-build-3",
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "BuilderNotFound",
                    "message": "Error: Unable to find builder 'some-builder' in namespace ''.",
                    "lastTransitionTime": T,
                }
            ],
        },
    }


@pytest.mark.parametrize(
    "newest",
    [
        pytest.param(
            fx.build(2, succeeded=None, created="2024-02-01T00:00:00Z"), id="without a Succeeded condition"
        ),
        pytest.param(
            fx.build(2, succeeded="Unknown", created=None), id="with an Unknown one and no timestamp"
        ),
    ],
)
def test_a_running_newest_build_blocks_builds_pvc_and_cleanup(newest: builds.Build) -> None:
    failures = [fx.build(1, succeeded="False", created=f"2023-01-0{n}T00:00:00Z") for n in range(1, 4)]
    image = fx.image({"cache": {"volume": {"size": "9G"}}, "failedBuildHistoryLimit": 1})
    result = plan(image, all_builds=[newest, *failures], pvc={"metadata": {"name": "image-name-cache"}})
    assert result.outcome == "BuildRunning"
    assert (result.build, result.cache_pvc.action, result.delete_builds) == (None, "none", ())
    assert result.source_resolver.action == "none"
    assert result.status.dump()["conditions"][0]["reason"] == "BuildRunning"


def test_a_volume_cache_build_reads_the_claim_from_the_previous_status() -> None:
    image = fx.image(VOLUME, status={"buildCacheName": "image-name-cache"})
    pvc = {"metadata": {"name": "image-name-cache"}, "spec": {"resources": {"requests": {"storage": "2G"}}}}
    result = plan(image, pvc=pvc)
    assert result.build is not None
    assert result.build.dump()["spec"]["cache"] == {
        "volume": {"persistentVolumeClaimName": "image-name-cache"}
    }
    assert result.status.build_cache_name == "image-name-cache"
    assert result.cache_pvc.action == "none"


def test_a_new_commit_after_a_success_pins_the_previous_outputs() -> None:
    newest = fx.build(
        4,
        status={"latestImage": "L", "latestCacheImage": "C", "stack": {"runImage": fx.RUN_IMAGE, "id": "S"}},
    )
    image = fx.image({"cache": {"registry": {"tag": "reg.io/cache"}}})
    result = plan(image, all_builds=[newest])
    assert result.reasons == ("COMMIT",)
    assert result.build is not None
    assert result.build.dump()["spec"]["lastBuild"] == {"image": "L", "cache": {"image": "C"}, "stackId": "S"}
    assert result.build.dump()["spec"]["cache"] == {"registry": {"tag": "reg.io/cache"}}
    assert result.status.latest_image == "L"


def test_a_new_build_after_a_failure_carries_its_last_build_forward() -> None:
    pinned = {"image": "X", "cache": {"image": "reg.io/cache@sha256:d1"}, "stackId": "S"}
    failed = fx.build(6, succeeded="False", spec={"lastBuild": pinned})
    resolved = {"git": {"url": "https://other/repo", "revision": fx.NEW_COMMIT}}
    image = fx.image(
        {"source": {"git": {"url": "https://other/repo", "revision": "main"}}},
        status={"latestImage": "previous"},
    )
    result = plan(
        image,
        all_builds=[fx.build(5, created="2023-01-01T00:00:00Z"), failed],
        resolver=fx.resolver(
            resolved=resolved,
            spec=reconcile.desired_source_resolver(reconcile.controller_defaults(image)).spec.dump(),
        ),
    )
    assert result.reasons == ("COMMIT", "CONFIG")
    assert result.build is not None
    assert result.build.name == "image-name-build-7"
    assert result.build.dump()["spec"]["lastBuild"] == pinned
    assert (result.status.build_counter, result.status.latest_image) == (7, "previous")


def test_the_newest_build_is_the_latest_creation_timestamp_and_numbers_follow_its_label() -> None:
    newest = fx.build(3, created="2024-02-01T10:00:00+00:00")
    older_with_higher_number = fx.build(9, created="2024-02-01T09:00:00Z")
    undated = fx.build(8, succeeded="False", created="not a time")
    other_image = fx.build(20, created="2025-01-01T00:00:00Z", image_name="other")
    result = plan(all_builds=[undated, newest, other_image, older_with_higher_number])
    # the undated failed build sorts last, so it is the newest: COMMIT from its source
    assert result.build is not None
    assert result.build.name == "image-name-build-9"
    result = plan(all_builds=[newest, other_image, older_with_higher_number])
    assert result.build is not None
    assert result.build.name == "image-name-build-4"


@pytest.mark.parametrize(
    "revision",
    [
        pytest.param(fx.NEW_COMMIT, id="a bad build number aborts when a build is required"),
        pytest.param(fx.OLD_COMMIT, id="a bad build number aborts when no build is required"),
    ],
)
def test_a_bad_build_number_on_the_newest_build_aborts(revision: str) -> None:
    newest = fx.build(3, labels={"image.kpack.io/buildNumber": "three"})
    resolver = fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": revision}})
    with pytest.raises(reconcile.ReconcileError) as raised:
        plan(all_builds=[newest], resolver=resolver)
    assert str(raised.value) == (
        'error parsing the image build number: strconv.ParseInt: parsing "three": invalid syntax'
    )


def test_stack_detection_errors_abort_the_reconcile() -> None:
    newest = fx.build(3, status={"stack": {"runImage": "", "id": "S"}})
    with pytest.raises(reconcile.ReconcileError) as raised:
        plan(all_builds=[newest])
    assert str(raised.value) == (
        "error determining if an image build is needed: "
        "error determining if build is required for reason 'STACK': could not parse reference: "
    )


@pytest.mark.parametrize(
    ("image", "builder", "resolver", "expected_reason"),
    [
        pytest.param(
            fx.image(), fx.builder(ready=False), fx.resolver(), "BuilderNotReady", id="builder not ready"
        ),
        pytest.param(
            fx.image(), fx.builder(), fx.resolver(ready=False), "ResolverNotReady", id="resolver not ready"
        ),
        pytest.param(
            fx.image({"cache": {"registry": {"tag": "reg.io/new-cache"}}}),
            fx.builder(),
            fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}}),
            "UpToDate",
            id="a cache change alone",
        ),
    ],
)
def test_no_build_is_created(
    image: images.Image,
    builder: builders.Builder,
    resolver: source_resolvers.SourceResolver,
    expected_reason: str,
) -> None:
    result = plan(image, builder=builder, resolver=resolver, all_builds=[fx.build(3)])
    assert (result.build, result.build_required in ("False", "Unknown")) == (None, True)
    assert result.status.dump()["conditions"][0]["reason"] == expected_reason
    assert result.status.build_counter == 3


def test_history_limits_delete_one_failed_and_one_successful_build() -> None:
    old = [
        fx.build(n, succeeded="False" if n % 2 else "True", created=f"2023-01-0{n}T00:00:00Z")
        for n in range(1, 6)
    ]
    image = fx.image({"failedBuildHistoryLimit": 1, "successBuildHistoryLimit": 1})
    result = plan(image, all_builds=old)
    assert result.delete_builds == ("image-name-build-1", "image-name-build-2")


def test_the_default_history_limit_is_ten() -> None:
    old = [fx.build(n, succeeded="False", created=f"2023-01-{n:02}T00:00:00Z") for n in range(1, 12)]
    assert plan(all_builds=old).delete_builds == ("image-name-build-1",)
    assert plan(all_builds=old[1:]).delete_builds == ()


def test_priority_classes_are_written_when_enabled() -> None:
    builder = fx.builder(lifecycle="9.9.9")
    same = fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}})
    result = plan(builder=builder, resolver=same, all_builds=[fx.build(3)], enable_priority_classes=True)
    assert (result.priority, result.priority_class_name) == (1, "kpack-build-low-priority")
    assert result.build is not None
    assert result.build.spec.priority_class_name == "kpack-build-low-priority"


def test_rewriting_an_unchanged_status_is_not_a_change() -> None:
    same = fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}})
    first = plan(resolver=same, all_builds=[fx.build(3)])
    assert first.status_changed
    again = plan(fx.image(status=first.status.dump()), resolver=same, all_builds=[fx.build(3)])
    assert not again.status_changed
    assert again.status == first.status


def test_controller_defaults_never_add_a_cache() -> None:
    defaulted = reconcile.controller_defaults(fx.image())
    assert defaulted.spec.dump() == {
        "tag": "some/image",
        "builder": {"kind": "Builder", "name": "some-builder"},
        "source": {"git": {"url": fx.REPO_URL, "revision": "main"}},
        "serviceAccountName": "default",
        "imageTaggingStrategy": "BuildNumber",
        "failedBuildHistoryLimit": 10,
        "successBuildHistoryLimit": 10,
    }


def test_removing_the_volume_cache_deletes_the_pvc_and_clears_the_cache_name() -> None:
    image = fx.image({"cache": {"volume": {}}}, status={"buildCacheName": "image-name-cache"})
    pvc = {"metadata": {"name": "image-name-cache", "uid": "pvc-uid"}}
    document = plan(image, pvc=pvc).to_document()
    assert document["cachePvc"] == {
        "action": "delete",
        "object": {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "image-name-cache", "namespace": fx.NAMESPACE, "uid": "pvc-uid"},
        },
    }
    assert "buildCacheName" not in document["status"]
    assert document["build"]["spec"]["cache"] == {}
