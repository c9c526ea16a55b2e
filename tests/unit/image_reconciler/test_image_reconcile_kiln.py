"""What Kiln's reconcile adds to kpack's, in the one plan per event: the invalid-spec and deletion
stops, the SourceResolver resolved in the same reconcile (the pushed revision recorded), a running
build announced again only without a pod, and the Image's cache fields derived from the Builds."""

from __future__ import annotations

from typing import Any

import image_fixtures as fx
import pytest

from contracts import builds, events, images, source_resolvers
from services.image_reconciler import reconcile, resolving, statuses

PUSHED = "c" * 40
VOLUME = {"cache": {"volume": {"size": "2G"}}}
REGISTRY = {"cache": {"registry": {"tag": "reg.io/app-cache"}}}
CACHE_1 = "reg.io/app-cache@sha256:" + "1" * 64
CACHE_2 = "reg.io/app-cache@sha256:" + "2" * 64


def push(revision: str = PUSHED, *, before: str | None = fx.NEW_COMMIT) -> events.SourceChanged:
    return events.SourceChanged(
        namespace=fx.NAMESPACE, image="image-name", url=fx.REPO_URL, revision=revision, before=before
    )


def plan(
    image: images.Image | None = None,
    *,
    resolver: source_resolvers.SourceResolver | None = None,
    no_resolver: bool = False,
    all_builds: list[builds.Build] | None = None,
    pushed: events.SourceChanged | None = None,
    listed: events.SourceChanged | None = None,
    pod: dict[str, Any] | None = None,
    no_builder: bool = False,
    pvc: dict[str, Any] | None = None,
) -> reconcile.ReconcilePlan:
    return reconcile.plan(
        image=image or fx.image(),
        builder=None if no_builder else fx.builder(),
        source_resolver=None if no_resolver else resolver or fx.resolver(),
        builds=all_builds or [],
        pvc=pvc,
        now=fx.NOW,
        resolution=reconcile.Resolution(pushed=pushed, listed=listed),
        pod=pod,
    )


def as_written(resolver: source_resolvers.SourceResolver) -> source_resolvers.SourceResolver:
    """``resolver`` with the status Kiln itself writes for it (as stored: what the next event reads)."""
    return resolver.with_(status=resolving.resolved(resolver, now=fx.EARLIER_TEXT))


def pod_of(build: builds.Build) -> dict[str, Any]:
    return {"metadata": {"name": build.pod_name()}, "status": {"phase": "Succeeded"}}


# --- early stops ---------------------------------------------------------------------------------


def test_an_image_being_deleted_is_left_alone() -> None:
    image = fx.image(status={"buildCounter": 2})
    image = image.with_(metadata=image.metadata.with_(deletion_timestamp=fx.EARLIER_TEXT))
    result = plan(image, pushed=push(), no_resolver=True)
    assert (result.outcome, result.build, result.status_changed) == ("Deleting", None, False)
    assert result.source_resolver == reconcile.SourceResolverPlan(action="none")


def test_an_invalid_image_gets_ready_false_and_nothing_else_not_even_its_push() -> None:
    image = fx.image({"failedBuildHistoryLimit": 0})
    result = plan(image, pushed=push())
    assert (result.outcome, result.build, result.source_resolver.status) == ("InvalidSpec", None, None)
    assert result.status.dump() == {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "InvalidSpec",
                "message": "build history limit must be greater than 0: spec.failedBuildHistoryLimit",
                "lastTransitionTime": fx.NOW_TEXT,
            }
        ],
    }
    assert result.status_changed


def test_an_invalid_image_keeps_the_rest_of_its_status_and_is_planned_from_itself_alone() -> None:
    kept = {"latestCacheImage": CACHE_1, "latestCacheBuildNumber": 1, "buildCounter": 1}
    image = fx.image({"failedBuildHistoryLimit": 0}, status=kept)
    stopped = reconcile.early_stop(image, now=fx.NOW)
    assert stopped is not None
    assert stopped == plan(image, all_builds=[cached(2, cache=CACHE_2)])
    assert {k: v for k, v in stopped.status.dump().items() if k != "conditions"} == {
        **kept,
        "observedGeneration": 1,
    }
    assert reconcile.early_stop(fx.image(), now=fx.NOW) is None


def test_a_push_is_recorded_on_the_resolver_while_the_builder_is_missing() -> None:
    result = plan(no_builder=True, pushed=push())
    assert result.outcome == "BuilderNotFound"
    assert (result.source_resolver.action, result.source_resolver.push) == ("none", "move")
    assert result.source_resolver.status is not None
    assert result.source_resolver.status.source.git is not None
    assert result.source_resolver.status.source.git.revision == PUSHED


@pytest.mark.parametrize(
    ("pod", "announced"),
    [
        pytest.param(None, True, id="a running build without a pod is announced again"),
        pytest.param("own", False, id="a running build whose pod finished is not announced again"),
        pytest.param("other", True, id="another build's pod does not count"),
    ],
)
def test_a_running_build_is_announced_again_only_without_its_pod(pod: str | None, announced: bool) -> None:
    running = fx.build(4, succeeded=None, created="2024-02-01T00:00:00Z")
    observed = {None: None, "own": pod_of(running), "other": pod_of(fx.build(3))}[pod]
    result = plan(all_builds=[fx.build(3), running], pushed=push(), pod=observed)
    assert result.outcome == "BuildRunning"
    assert result.build is None
    assert result.reannounce == (running if announced else None)
    # the push is recorded all the same: the build that follows builds it
    assert result.source_resolver.push == "move"
    assert result.source_resolver.status is not None


# --- the resolver resolved in the same reconcile --------------------------------------------------


def test_a_new_image_gets_its_resolver_its_resolution_and_its_first_build_in_one_plan() -> None:
    result = plan(fx.image(VOLUME), no_resolver=True)
    assert result.source_resolver.action == "create"
    status = result.source_resolver.status
    assert status is not None
    assert (status.observed_generation, status.is_true("Ready")) == (1, True)
    assert result.cache_pvc.action == "create"
    assert result.build is not None
    assert result.reasons == ("CONFIG",)
    # kpack would have written buildCacheName in the reconcile that created the resolver
    assert result.build.dump()["spec"]["cache"] == {
        "volume": {"persistentVolumeClaimName": "image-name-cache"}
    }
    assert result.status.build_cache_name == "image-name-cache"


def test_a_first_reconcile_done_again_after_its_resolver_was_written_still_claims_the_cache() -> None:
    """The first reconcile created the resolver (and resolved it), then failed before the Image's
    status was written: the one done again must build as the first would have, as kpack always
    does for an Image's first Build (found by kiln chaos, with API faults)."""
    resolved = as_written(fx.resolver())
    result = plan(fx.image(VOLUME), resolver=resolved, all_builds=[])
    assert result.source_resolver.action == "none"
    assert result.build is not None
    assert result.build.dump()["spec"]["cache"] == {
        "volume": {"persistentVolumeClaimName": "image-name-cache"}
    }


def test_a_new_image_builds_the_commit_its_branch_is_listed_at() -> None:
    result = plan(no_resolver=True, listed=push(before=None))
    status = result.source_resolver.status
    assert status is not None
    assert status.source.git is not None
    assert status.source.git.revision == PUSHED
    assert result.build is not None
    assert result.build.spec.source.git is not None
    assert result.build.spec.source.git.revision == PUSHED


def test_a_branch_never_resolved_is_moved_to_the_listed_commit() -> None:
    result = plan(resolver=as_written(fx.resolver()), all_builds=[fx.build(3)], listed=push(before=None))
    assert result.source_resolver.status is not None
    assert result.source_resolver.status.source.git is not None
    assert result.source_resolver.status.source.git.revision == PUSHED
    assert result.source_resolver.push is None, "a listing is no push: nothing to report of it"


def test_a_push_moves_the_resolver_and_builds_the_pushed_commit() -> None:
    result = plan(all_builds=[fx.build(3)], pushed=push())
    assert (result.source_resolver.action, result.source_resolver.push) == ("none", "move")
    assert result.reasons == ("COMMIT",)
    assert result.build is not None
    assert result.build.spec.source.git is not None
    assert result.build.spec.source.git.revision == PUSHED


def test_a_stale_push_records_nothing_new_and_builds_the_recorded_commit() -> None:
    recorded = fx.resolver(
        resolved={"git": {"url": fx.REPO_URL, "revision": fx.NEW_COMMIT, "type": "Commit"}},
    )
    recorded = recorded.with_(
        status=recorded.status.with_(
            pushes=source_resolvers.PushHistory(commits=[fx.OLD_COMMIT, fx.NEW_COMMIT], deliveries=[])
        )
    )
    result = plan(resolver=recorded, all_builds=[fx.build(3)], pushed=push(fx.OLD_COMMIT, before=None))
    assert result.source_resolver.push == "stale"
    assert result.build is not None
    assert result.build.spec.source.git is not None
    assert result.build.spec.source.git.revision == fx.NEW_COMMIT


def test_a_changed_source_updates_the_resolver_and_resolves_it_at_its_next_generation() -> None:
    image = fx.image({"source": {"git": {"url": fx.REPO_URL, "revision": PUSHED}}})
    result = plan(image, all_builds=[fx.build(3)])
    assert result.source_resolver.action == "update"
    status = result.source_resolver.status
    assert status is not None
    assert status.observed_generation == 2
    assert result.build is not None
    assert result.build.spec.source.git is not None
    assert result.build.spec.source.git.revision == PUSHED


def test_a_label_change_keeps_kpacks_lagging_claim_name() -> None:
    image = fx.image({**VOLUME}, labels={"app": "web"}, status={"buildCacheName": ""})
    pvc = {
        "metadata": {"name": "image-name-cache", "labels": {"app": "web"}},
        "spec": {"resources": {"requests": {"storage": "2G"}}},
    }
    result = plan(image, resolver=as_written(fx.resolver()), all_builds=[fx.build(3)], pvc=pvc)
    assert (result.source_resolver.action, result.source_resolver.status) == ("update", None)
    assert result.build is not None
    assert result.build.dump()["spec"]["cache"] == {"volume": {"persistentVolumeClaimName": ""}}


def test_an_unresolved_resolver_is_resolved_and_built_from() -> None:
    result = plan(resolver=fx.resolver(ready=False), all_builds=[fx.build(3)])
    assert result.source_resolver.action == "none"
    assert result.source_resolver.status is not None
    assert result.build is not None


def test_an_up_to_date_resolver_is_not_written() -> None:
    same = as_written(fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}}))
    result = plan(resolver=same, all_builds=[fx.build(3)])
    assert (result.source_resolver.status, result.build, result.build_required) == (None, None, "False")


# --- the Image's cache fields --------------------------------------------------------------------


def cached(
    number: int, *, succeeded: str = "True", cache: str = CACHE_1, spec: dict[str, Any] | None = None
) -> builds.Build:
    return fx.build(
        number,
        succeeded=succeeded,
        created=f"2024-01-0{number}T00:00:00Z",
        spec={"cache": {"registry": {"tag": "reg.io/app-cache"}}} if spec is None else spec,
        status={"latestCacheImage": cache} if succeeded == "True" else {},
    )


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        pytest.param([], {}, id="no build, no cache fields"),
        pytest.param(
            [cached(1)],
            {"latestCacheImage": CACHE_1, "latestCacheBuildNumber": 1},
            id="the one success's digest",
        ),
        pytest.param(
            [cached(2, cache=CACHE_2), cached(1)],
            {"latestCacheImage": CACHE_2, "latestCacheBuildNumber": 2},
            id="the newest success by number, in whatever order the builds come",
        ),
        pytest.param(
            [cached(1), cached(2, succeeded="False")],
            {"latestCacheImage": CACHE_1, "latestCacheBuildNumber": 1},
            id="a failed build leaves the last good digest",
        ),
        pytest.param(
            [cached(1), cached(2, succeeded="Unknown")],
            {"latestCacheImage": CACHE_1, "latestCacheBuildNumber": 1},
            id="a running build leaves the last good digest",
        ),
        pytest.param(
            [cached(1), cached(2, cache="")],
            {"latestCacheBuildNumber": 2},
            id="a success whose cache image was unavailable shows no digest",
        ),
        pytest.param(
            [cached(1), cached(2, spec={"cache": {}})],
            {},
            id="a newest success without a registry cache shows none",
        ),
        pytest.param(
            [fx.build(7, labels={"image.kpack.io/buildNumber": "x"}, status={"latestCacheImage": CACHE_2})],
            {},
            id="a build without a number is not counted",
        ),
    ],
)
def test_the_cache_fields_come_from_the_newest_successful_build(
    observed: list[builds.Build], expected: dict[str, Any]
) -> None:
    assert statuses.registry_cache(observed) == expected


def test_the_cache_fields_are_written_in_every_outcome_and_stale_ones_removed() -> None:
    stale = {"latestCacheImage": CACHE_2, "latestCacheBuildNumber": 9, "buildCounter": 1}
    running = cached(2, succeeded="Unknown")
    during = plan(fx.image(REGISTRY, status=stale), all_builds=[cached(1), running], pod=pod_of(running))
    assert (during.outcome, during.status.latest_cache_image, during.status.latest_cache_build_number) == (
        "BuildRunning",
        CACHE_1,
        1,
    )
    gone = plan(fx.image(REGISTRY, status=stale), no_builder=True)
    assert "latestCacheImage" not in gone.status.dump()
    assert "latestCacheBuildNumber" not in gone.status.dump()


def test_an_unchanged_status_with_its_cache_fields_is_not_written_again() -> None:
    same = fx.resolver(resolved={"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT, "type": "Commit"}})
    first = plan(fx.image(REGISTRY), resolver=same, all_builds=[cached(1)])
    again = plan(fx.image(REGISTRY, status=first.status.dump()), resolver=same, all_builds=[cached(1)])
    assert first.status.latest_cache_image == CACHE_1
    assert not again.status_changed


# --- helpers the service uses --------------------------------------------------------------------


def test_the_newest_build_is_the_last_created() -> None:
    assert reconcile.newest_build([], image_name="image-name") is None
    newest = fx.build(2, created="2024-02-01T00:00:00Z")
    assert reconcile.newest_build([newest, fx.build(1)], image_name="image-name") == newest


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        pytest.param(
            events.BuilderChanged(kind="ClusterBuilder", namespace="", name="shared"),
            ["a/cluster", "b/cluster"],
            id="a ClusterBuilder's Images in every namespace",
        ),
        pytest.param(
            events.BuilderChanged(kind="Builder", namespace="a", name="shared"),
            ["a/namespaced"],
            id="a Builder's Images in its namespace only",
        ),
        pytest.param(
            events.BuilderChanged(kind="Builder", namespace="a", name="other"),
            [],
            id="another builder's none",
        ),
    ],
)
def test_the_images_a_builder_change_reconciles(changed: events.BuilderChanged, expected: list[str]) -> None:
    def image(namespace: str, name: str, kind: str) -> images.Image:
        return images.Image.model_validate(
            {
                "metadata": {"namespace": namespace, "name": name},
                "spec": {"builder": {"kind": kind, "name": "shared"}},
            }
        )

    observed = [
        image("a", "cluster", "ClusterBuilder"),
        image("b", "cluster", "ClusterBuilder"),
        image("a", "namespaced", "Builder"),
        image("b", "namespaced", "Builder"),
    ]
    assert [i.key for i in reconcile.images_using(observed, builder=changed)] == expected
