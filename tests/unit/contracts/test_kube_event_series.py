"""Kubernetes Events as Kiln writes them: a deterministic name per object, reason and note, the
``events.k8s.io/v1`` body of a first occurrence, and the series patch of each repeat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import kube_events

NOW = datetime(2026, 12, 6, 17, 0, 1, 250000, tzinfo=UTC)
IMAGE = kube_events.Regarding(
    api_version="kpack.io/v1alpha2", kind="Image", namespace="ns", name="app", uid="u1"
)


def notice(**changes: object) -> kube_events.Notice:
    given: dict[str, object] = {
        "regarding": IMAGE,
        "reason": "BuildScheduled",
        "action": "Schedule",
        "note": "Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7",
    }
    return kube_events.Notice.model_validate(given | changes)


def test_the_same_notice_always_gets_the_same_name() -> None:
    assert kube_events.event_name(notice()) == kube_events.event_name(notice())
    assert kube_events.event_name(notice()).startswith("app.")


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(
            notice(note="Scheduled build 8: COMMIT 4d5e6f7 → 9a8b7c6"), id="another note is another Event"
        ),
        pytest.param(notice(reason="BuildFailed"), id="another reason is another Event"),
        pytest.param(
            notice(regarding=IMAGE.model_copy(update={"uid": "u2"})), id="an Image made again is another"
        ),
        pytest.param(
            notice(regarding=IMAGE.model_copy(update={"name": "web"})), id="another object is another"
        ),
    ],
)
def test_a_different_notice_gets_a_different_name(other: kube_events.Notice) -> None:
    assert kube_events.event_name(other) != kube_events.event_name(notice())


def test_a_long_object_name_still_makes_a_valid_event_name() -> None:
    long = notice(regarding=IMAGE.model_copy(update={"name": "a" * 253}))

    assert len(kube_events.event_name(long)) == 253


def test_a_first_occurrence_is_an_events_k8s_io_v1_event_without_a_series() -> None:
    related = kube_events.Regarding(
        api_version="kpack.io/v1alpha2", kind="Build", namespace="ns", name="app-build-7"
    )
    body = kube_events.new_event(
        notice(related=related),
        controller="kiln.dev/image-reconciler",
        instance="image-reconciler-h1",
        now=NOW,
    )

    assert body == {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": kube_events.event_name(notice(related=related)), "namespace": "ns"},
        "eventTime": "2026-12-06T17:00:01.250000Z",
        "reportingController": "kiln.dev/image-reconciler",
        "reportingInstance": "image-reconciler-h1",
        "action": "Schedule",
        "reason": "BuildScheduled",
        "regarding": {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "namespace": "ns",
            "name": "app",
            "uid": "u1",
        },
        "related": {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "namespace": "ns",
            "name": "app-build-7",
        },
        "note": "Scheduled build 7: COMMIT 1a2b3c4 → 4d5e6f7",
        "type": "Normal",
    }


@pytest.mark.parametrize(
    ("series", "count"),
    [
        pytest.param(None, 2, id="the first repeat starts a series of two"),
        pytest.param(
            {"count": 2, "lastObservedTime": "2026-12-06T16:00:00.000000Z"}, 3, id="a series counts one more"
        ),
        pytest.param({"count": 41}, 42, id="a long series goes on"),
        pytest.param({"count": "x"}, 2, id="an unreadable count starts again at two"),
    ],
)
def test_a_repeat_counts_one_more_in_the_series(series: dict[str, object] | None, count: int) -> None:
    existing: dict[str, object] = {"metadata": {"name": "app.x", "resourceVersion": "17"}}
    if series is not None:
        existing["series"] = series

    assert kube_events.repeated(existing, now=NOW) == {
        "series": {"count": count, "lastObservedTime": "2026-12-06T17:00:01.250000Z"},
        "metadata": {"resourceVersion": "17"},
    }


def test_a_note_over_a_kilobyte_is_cut_as_the_api_server_requires() -> None:
    body = kube_events.new_event(notice(note="é" * 2000), controller="c", instance="i", now=NOW)

    assert len(body["note"].encode()) < 1024
    assert body["note"].endswith("...")
