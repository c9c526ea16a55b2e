"""One writer per status, and a build announced once: image-state writes the Build, never the Image;
a build whose pod finished is not announced again while its status waits for image-state.

Each test runs the real services it needs, and leaves out the one whose absence makes the point:
without the image-reconciler, whatever writes the Image's status can only be image-state; without
image-state, a finished build stays ``Succeeded``-less for as long as the test likes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import builds as build_models
from contracts import events
from services.image_state import build_status
from services.testbed.kubelet import failures
from services.testbed.sandbox import examples, harness

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"
WAIT_SECONDS = 20.0


def _metric(sb: harness.Sandbox, name: str, **labels: str) -> float:
    return sb.wiring.metrics.registry.get_sample_value(name, labels) or 0.0


def _scheduled(sb: harness.Sandbox) -> float:
    return _metric(sb, "kiln_events_published_total", type=events.BuildScheduled.event_type)


def _handled(sb: harness.Sandbox, service: str, event_type: str) -> float:
    return _metric(sb, "kiln_events_handled_total", service=service, type=event_type, outcome="ok")


async def _builder_settled(sb: harness.Sandbox) -> None:
    """Push the builder and wait until the image-reconciler handled each ``builder.changed`` the
    bridge published for it (while no Image exists, so no reconcile comes of them later)."""
    await sb.add_builder()

    def settled() -> bool:
        published = _metric(sb, "kiln_events_published_total", type=events.BuilderChanged.event_type)
        return (
            published >= 1 and _handled(sb, "image-reconciler", events.BuilderChanged.event_type) == published
        )

    for _ in range(2):  # and again after a pause: the status write is a second change
        await sb.wait_for(settled, seconds=WAIT_SECONDS, what="the builder's changes handled")
        await asyncio.sleep(0.5)


async def _reconciled_again(sb: harness.Sandbox, namespace: str, name: str) -> None:
    """Publish ``image.changed`` for the Image (as a resync does) and wait until it was reconciled:
    events about one Image are handled in order, so whatever was published before is handled too."""
    handled = _handled(sb, "image-reconciler", events.ImageChanged.event_type)
    changed = events.ImageChanged(namespace=namespace, name=name)
    await sb.wiring.publisher.publish_many(
        [events.new(changed, source="/kiln/tests", time=datetime.now(UTC), discriminator=uuid.uuid4().hex)]
    )
    await sb.wait_for(
        lambda: _handled(sb, "image-reconciler", events.ImageChanged.event_type) > handled,
        seconds=WAIT_SECONDS,
        what=f"the reconcile of {namespace}/{name}",
    )


@pytest.fixture
def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return f"owners-{suffix}", f"app-{suffix}"


@pytest.fixture
async def without_reconciler() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(
        registry_host=REGISTRY, step_seconds=0.02, services=("bridge", "build-runner", "image-state")
    ) as sb:
        await sb.add_builder()
        yield sb


@pytest.fixture
async def without_image_state() -> AsyncIterator[harness.Sandbox]:
    async with harness.sandbox(
        registry_host=REGISTRY, step_seconds=0.02, services=("bridge", "image-reconciler", "build-runner")
    ) as sb:
        await _builder_settled(sb)
        yield sb


def _first_build(sb: harness.Sandbox, image: dict[str, Any]) -> dict[str, Any]:
    """Build 1 of ``image`` as the image-reconciler would create it (registry cache, CONFIG)."""
    md, spec = image["metadata"], image["spec"]
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {
            "name": f"{md['name']}-build-1",
            "namespace": md["namespace"],
            "labels": {build_models.IMAGE_LABEL: md["name"], build_models.BUILD_NUMBER_LABEL: "1"},
            "annotations": {build_models.REASON_ANNOTATION: "CONFIG"},
        },
        "spec": {
            "tags": [spec["tag"]],
            "builder": {"image": sb.builder_image},
            "serviceAccountName": "default",
            "source": {"git": {"url": examples.GIT_URL, "revision": examples.commit(1)}},
            "cache": spec["cache"],
        },
    }


async def test_image_state_records_the_cache_digest_on_the_build_and_never_writes_the_image_status(
    without_reconciler: harness.Sandbox, names: tuple[str, str]
) -> None:
    sb = without_reconciler
    namespace, name = names
    image = examples.image(
        "registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default"
    )
    await sb.apply(image)
    build = await sb.apply(_first_build(sb, image))
    before = sb.emulator.answers()
    scheduled = events.BuildScheduled(namespace=namespace, image=name, build=build["metadata"]["name"])
    await sb.wiring.publisher.publish_many(
        [events.new(scheduled, source="/kiln/tests", time=datetime.now(UTC), discriminator="first")]
    )

    await sb.wait_for(
        lambda: _handled(sb, "image-state", events.CacheDigestUpdated.event_type) >= 1,
        seconds=WAIT_SECONDS,
        what="image-state to handle the build's cache.digest.updated",
    )

    [recorded] = sb.builds(namespace)
    assert recorded.succeeded(), recorded.status.condition("Succeeded")
    digest = await sb.wiring.registry.resolve_digest(f"{image['spec']['tag']}-cache")
    assert recorded.status.latest_cache_image == f"{image['spec']['tag']}-cache@{digest}"
    after = sb.emulator.answers()
    image_status_writes = {
        verb: after.count(code=200, verb=verb, resource="images/status")
        - before.count(code=200, verb=verb, resource="images/status")
        for verb in ("update", "patch")
    }
    assert image_status_writes == {"update": 0, "patch": 0}
    assert "status" not in (sb.emulator.get("images", name, namespace) or {})


async def test_a_finished_build_whose_status_is_not_written_yet_is_not_announced_again(
    without_image_state: harness.Sandbox, names: tuple[str, str]
) -> None:
    sb = without_image_state
    namespace, name = names
    await _first_pod_finished(sb, namespace, name)
    await sb.wait_for(
        lambda: _metric(sb, "kiln_events_published_total", type=events.BuildFinished.event_type) >= 1,
        seconds=WAIT_SECONDS,
        what="the bridge to announce the finished pod",
    )
    # a reconcile now (a resync, an edit) sees build 1 still running: its status waits for image-state
    await _reconciled_again(sb, namespace, name)

    [still] = sb.builds(namespace)
    assert still.running(), "image-state does not run here: nobody writes the Build's outcome"
    assert _scheduled(sb) == 1, "build 1 was announced once: its pod exists, it needs no other"


async def test_a_running_build_without_a_pod_is_announced_again(
    names: tuple[str, str],
) -> None:
    namespace, name = names
    async with harness.sandbox(
        registry_host=REGISTRY, step_seconds=0.02, services=("bridge", "image-reconciler")
    ) as sb:
        await _builder_settled(sb)
        await sb.apply(
            examples.image(
                "registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default"
            )
        )
        await sb.wait_for(lambda: _scheduled(sb) >= 1, seconds=WAIT_SECONDS, what="build 1 announced")
        await _reconciled_again(sb, namespace, name)

        [build] = sb.builds(namespace)
        assert build.running()
        assert sb.pod(build) is None
        assert _scheduled(sb) == 2, (
            "a Build without a pod (a worker died before announcing it) is announced again"
        )


async def test_a_build_recorded_but_never_announced_is_announced_when_its_finish_comes_again(
    without_image_state: harness.Sandbox, names: tuple[str, str], tmp_path: Path
) -> None:
    """image-state wrote the Build's outcome and died before publishing: the Image still shows the
    build running. The ``build.finished`` it had not acknowledged comes again (here: to a new
    image-state process), and the Image is told, without waiting for the bridge's resync."""
    sb = without_image_state
    namespace, name = names
    build = await _first_pod_finished(sb, namespace, name)
    pod = sb.pod(build)
    assert pod is not None
    status = build_status.build_status_from_pod(build, pod, now=datetime.now(UTC))
    await sb.wiring.cluster.replace_build_status(build.with_(status=status))  # and then it died
    assert _ready(sb, namespace, name) == ("Unknown", "BuildRunning")

    worker = await sb.start_process(["image-state"], log=tmp_path / "image-state.log")
    try:
        await sb.wait_for(
            lambda: _ready(sb, namespace, name) == ("True", "UpToDate"),
            seconds=WAIT_SECONDS,
            what="the Image to learn build 1's outcome",
        )
    finally:
        worker.terminate()
        await worker.wait()
    image_status = (sb.emulator.get("images", name, namespace) or {}).get("status") or {}
    assert image_status.get("latestCacheImage") == status.latest_cache_image
    assert image_status.get("latestCacheBuildNumber") == 1


def _ready(sb: harness.Sandbox, namespace: str, name: str) -> tuple[str, str] | None:
    conditions = ((sb.emulator.get("images", name, namespace) or {}).get("status") or {}).get(
        "conditions"
    ) or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    return None if ready is None else (ready.get("status", ""), ready.get("reason", ""))


async def _first_pod_finished(sb: harness.Sandbox, namespace: str, name: str) -> build_models.Build:
    """Apply the registry-cache Image ``namespace/name``; its first Build once that build's pod
    finished, as image-state would read it then (with the running status the build-runner wrote)."""
    await sb.apply(
        examples.image("registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default")
    )
    await sb.wait_for(lambda: len(sb.builds(namespace)) == 1, seconds=WAIT_SECONDS, what="build 1")
    [build] = sb.builds(namespace)
    await sb.wait_for(
        lambda: (record := sb.kubelet.record(namespace, build.pod_name())) is not None and record.done,
        seconds=WAIT_SECONDS,
        what="build 1's pod to finish",
    )
    [finished] = sb.builds(namespace)
    return finished


async def test_a_cancellation_is_image_states_to_write_and_the_build_runner_never_writes_it(
    without_image_state: harness.Sandbox, names: tuple[str, str]
) -> None:
    """The bridge announces the cancellation; without image-state nobody ends the Build or deletes
    its pod: the build-runner, which made the pod, writes no Build outcome but its own refusals."""
    sb = without_image_state
    namespace, name = names
    await sb.apply(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": {failures.HOLD_AT_ANNOTATION: "build"},
            },
            "spec": {
                "tags": [f"{REGISTRY}/sandbox/{name}"],
                "builder": {"image": sb.builder_image},
                "source": {"git": {"url": examples.GIT_URL, "revision": examples.commit(1)}},
            },
        }
    )
    await sb.wait_for(
        lambda: (
            (record := sb.kubelet.record(namespace, f"{name}-build-pod")) is not None
            and any(step.name == "build" for step in record.steps)
        ),
        seconds=WAIT_SECONDS,
        what="the Build's pod to run its build step",
    )

    await sb.wiring.kube.builds.patch(
        name, {"metadata": {"annotations": {build_models.CANCEL_ANNOTATION: "true"}}}, namespace=namespace
    )

    await sb.wait_for(
        lambda: _metric(sb, "kiln_events_published_total", type=events.BuildCancelRequested.event_type) >= 1,
        seconds=WAIT_SECONDS,
        what="the bridge to announce the cancellation",
    )
    await asyncio.sleep(1.0)
    [build] = sb.builds(namespace)
    assert build.running(), "only image-state writes a Build's outcome, and it does not run here"
    assert sb.pod(build) is not None
