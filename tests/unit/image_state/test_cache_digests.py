"""The cache digest a Build records and what image-state announces, as truth tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds, events, images
from services.image_state import cache_digests

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
TAG = "reg.io/app-cache"
WRITTEN = f"{TAG}@sha256:{'1' * 64}"
OTHER = f"{TAG}@sha256:{'2' * 64}"
REGISTRY = {"registry": {"tag": TAG}}
VOLUME = {"volume": {"persistentVolumeClaimName": "app-cache"}}


def build(
    *,
    succeeded: str | None = "True",
    cache: dict[str, Any] | None = None,
    latest_cache_image: str | None = None,
    number: str | None = "3",
    image: str | None = "app",
) -> builds.Build:
    labels = {}
    if number is not None:
        labels[builds.BUILD_NUMBER_LABEL] = number
    if image is not None:
        labels[builds.IMAGE_LABEL] = image
    status: dict[str, Any] = {}
    if succeeded is not None:
        status["conditions"] = [{"type": "Succeeded", "status": succeeded}]
    if latest_cache_image is not None:
        status["latestCacheImage"] = latest_cache_image
    return builds.Build.model_validate(
        {
            "metadata": {"name": "app-build-3", "namespace": "ns", "labels": labels},
            "spec": {"tags": ["reg.io/app"], "cache": REGISTRY if cache is None else cache},
            "status": status,
        }
    )


def updated(*, number: int = 3, tag: str = TAG, digest: str = WRITTEN) -> events.CacheDigestUpdated:
    return events.CacheDigestUpdated(
        namespace="ns",
        image="app",
        build="app-build-3",
        build_number=number,
        cache_tag=tag,
        latest_cache_image=digest,
    )


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        pytest.param(
            build(latest_cache_image=WRITTEN),
            (TAG, WRITTEN),
            id="a registry cache success confirms the reported digest",
        ),
        pytest.param(
            build(latest_cache_image=""), (TAG, ""), id="a success that reported none resolves the tag"
        ),
        pytest.param(build(succeeded="False"), None, id="a failed build's cache is not looked up"),
        pytest.param(build(succeeded="Unknown"), None, id="a running build's cache is not looked up"),
        pytest.param(build(cache=VOLUME), None, id="a volume cache has no cache image"),
        pytest.param(build(cache={}), None, id="no cache has no cache image"),
    ],
)
def test_which_cache_image_is_looked_up(observed: builds.Build, expected: tuple[str, str] | None) -> None:
    lookup = cache_digests.cache_lookup(observed, observed.status)
    assert (None if lookup is None else (lookup.tag, lookup.reported)) == expected


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        pytest.param(
            build(latest_cache_image=WRITTEN),
            [("kiln.cache.digest.updated", {"buildNumber": 3, "cacheTag": TAG, "latestCacheImage": WRITTEN})],
            id="a registry cache success announces its digest",
        ),
        pytest.param(
            build(latest_cache_image=""),
            [("kiln.cache.digest.updated", {"buildNumber": 3, "cacheTag": TAG, "latestCacheImage": ""})],
            id="an unavailable cache image is announced as none",
        ),
        pytest.param(
            build(succeeded="False"),
            [("kiln.image.changed", {})],
            id="a failed build tells the Image at once",
        ),
        pytest.param(
            build(cache=VOLUME),
            [("kiln.image.changed", {})],
            id="a volume cache build tells the Image at once",
        ),
        pytest.param(
            build(number=None),
            [("kiln.image.changed", {})],
            id="a build without a number tells the Image at once",
        ),
        pytest.param(build(image=None), [], id="a build of no Image announces nothing"),
    ],
)
def test_what_a_recorded_build_announces(
    observed: builds.Build, expected: list[tuple[str, dict[str, Any]]]
) -> None:
    published = cache_digests.recorded_events(observed, observed.status, now=NOW)
    seen = [
        (
            e.type,
            {
                k: v
                for k, v in e.data.model_dump(by_alias=True).items()
                if k in ("buildNumber", "cacheTag", "latestCacheImage")
            },
        )
        for e in published
    ]
    assert seen == expected
    assert all(e.subject == "ns/app" and e.source == cache_digests.SOURCE for e in published)


def test_the_announcements_have_stable_ids() -> None:
    first = cache_digests.recorded_events(build(succeeded="False"), build(succeeded="False").status, now=NOW)
    again = cache_digests.recorded_events(build(succeeded="False"), build(succeeded="False").status, now=NOW)
    after_digest = cache_digests.image_changed("ns", image="app", build="app-build-3", now=NOW)
    assert [e.id for e in first] == [e.id for e in again] == [after_digest.id]


@pytest.mark.parametrize(
    ("observed", "event", "recorded"),
    [
        pytest.param(
            build(latest_cache_image=WRITTEN),
            updated(),
            None,
            id="the digest the build records already is not written again",
        ),
        pytest.param(
            build(latest_cache_image=OTHER),
            updated(),
            None,
            id="a recorded digest is never replaced by an event",
        ),
        pytest.param(
            build(latest_cache_image=""),
            updated(),
            WRITTEN,
            id="a success that records none gets the event's digest",
        ),
        pytest.param(build(), updated(), WRITTEN, id="a success without the field gets the event's digest"),
        pytest.param(
            build(latest_cache_image=""), updated(digest=""), None, id="an event of no digest records nothing"
        ),
        pytest.param(
            build(succeeded="False", latest_cache_image=""),
            updated(),
            None,
            id="a failed build records no cache",
        ),
        pytest.param(
            build(succeeded=None),
            updated(),
            None,
            id="a build whose outcome is not recorded gets no digest before it",
        ),
        pytest.param(
            build(number="2", latest_cache_image=""),
            updated(),
            None,
            id="an event of another build number is not this build's",
        ),
        pytest.param(
            build(latest_cache_image=""),
            updated(tag="reg.io/other-cache"),
            None,
            id="an event of another cache tag is not this build's",
        ),
        pytest.param(
            build(cache=VOLUME, latest_cache_image=""),
            updated(),
            None,
            id="a build without a registry cache records none",
        ),
    ],
)
def test_the_digest_recorded_on_the_build(
    observed: builds.Build, event: events.CacheDigestUpdated, recorded: str | None
) -> None:
    status = cache_digests.recorded_digest(observed, event)
    assert (None if status is None else status.latest_cache_image) == recorded
    if status is not None:
        assert status.conditions == observed.status.conditions


def image(*, latest: str | None = "app-build-3", reason: str | None = "BuildRunning") -> images.Image:
    status: dict[str, Any] = {}
    if latest is not None:
        status["latestBuildRef"] = latest
    if reason is not None:
        status["conditions"] = [{"type": "Ready", "status": "Unknown", "reason": reason}]
    return images.Image.model_validate({"metadata": {"name": "app", "namespace": "ns"}, "status": status})


@pytest.mark.parametrize(
    ("observed", "again"),
    [
        pytest.param(image(), True, id="an Image still showing the build running was never told"),
        pytest.param(image(reason="UpToDate"), False, id="an Image that saw the outcome was told"),
        pytest.param(image(latest="app-build-4"), False, id="an Image on a newer build was told"),
        pytest.param(
            image(reason=None), False, id="an Image without a Ready condition is not waiting for it"
        ),
        pytest.param(None, False, id="a deleted Image needs nothing"),
    ],
)
def test_a_recorded_build_is_announced_again_only_to_an_image_that_was_never_told(
    observed: images.Image | None, again: bool
) -> None:
    assert cache_digests.unannounced(build(), observed) is again
