"""The Event recorder against the emulator over HTTP: one Event per notice, counted as a series when
the same notice comes again (a redelivery, a retry), and an Event that cannot be written never fails
its caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts import kube_events
from services.kube import cluster, recording, resources
from services.testbed.emulator import Emulator

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def notice(namespace: str, note: str = "Scheduled build 1: CONFIG") -> kube_events.Notice:
    return kube_events.Notice(
        regarding=kube_events.Regarding(
            api_version="kpack.io/v1alpha2", kind="Image", namespace=namespace, name="app", uid="uid-1"
        ),
        reason="BuildScheduled",
        action="Schedule",
        note=note,
    )


def recorder(kube: resources.Kube) -> recording.EventRecorder:
    return recording.EventRecorder(
        cluster.KubeCluster(kube), controller="kiln.dev/image-reconciler", instance="test-1", clock=Clock()
    )


def events(emulator: Emulator, namespace: str) -> list[dict[str, object]]:
    return emulator.objects("events.events.k8s.io", namespace)


async def test_a_notice_is_one_event_regarding_its_object(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    await recorder(kube).record(notice(namespace))

    [event] = events(emulator, namespace)
    assert event["apiVersion"] == "events.k8s.io/v1"
    assert event["regarding"] == {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "namespace": namespace,
        "name": "app",
        "uid": "uid-1",
    }
    assert (event["reason"], event["note"], event["type"]) == (
        "BuildScheduled",
        "Scheduled build 1: CONFIG",
        "Normal",
    )
    assert (event["reportingController"], event["reportingInstance"]) == (
        "kiln.dev/image-reconciler",
        "test-1",
    )
    assert "series" not in event


async def test_the_same_notice_again_is_counted_in_the_series_of_one_event(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    first, second = recorder(kube), recorder(kube)  # two workers, or one before and after a restart
    await first.record(notice(namespace))
    await second.record(notice(namespace))
    await first.record(notice(namespace))

    [event] = events(emulator, namespace)
    series = event["series"]
    assert isinstance(series, dict)
    assert series["count"] == 3
    assert series["lastObservedTime"] == "2026-12-06T17:00:03.000000Z"
    assert event["eventTime"] == "2026-12-06T17:00:01.000000Z"


async def test_another_note_is_another_event(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    writer = recorder(kube)
    await writer.record(notice(namespace))
    await writer.record(notice(namespace, note="Scheduled build 2: COMMIT 1a2b3c4 → 4d5e6f7"))

    assert sorted(str(e["note"]) for e in events(emulator, namespace)) == [
        "Scheduled build 1: CONFIG",
        "Scheduled build 2: COMMIT 1a2b3c4 → 4d5e6f7",
    ]


async def test_an_event_the_api_server_refuses_is_dropped_and_the_caller_goes_on(
    kube: resources.Kube, emulator: Emulator, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = recorder(kube)
    emulator.fail_next(1, status=403, verb="create", resource="events")

    await writer.record(notice(namespace))

    assert events(emulator, namespace) == []
    assert (writer.written, writer.dropped) == (0, 1)
    assert "event BuildScheduled on Image" in caplog.text
