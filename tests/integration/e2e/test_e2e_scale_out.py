"""Scenario 6: image-reconciler workers in separate processes, many images, shuffled and duplicated
triggers, and a worker killed mid-run.

The in-process sandbox runs the bridge, the emulator and the simulated kubelet; the
image-reconciler runs only as ``python -m services.cli run image-reconciler`` worker processes,
and build-runner with image-state as one more process, on the sandbox's broker prefix and
kubeconfig (in the test's own process they shared one interpreter lock with the emulator and the
kubelet, which made that process the run's bottleneck). Every Image must end with exactly its three builds
(the first, and one per push round); no build of an Image may start while another of the same
Image still runs (checked at the moment the simulated kubelet starts each pod); and killing the
busiest worker (SIGKILL) during the second round loses nothing: its shards fail over, and the
survivors schedule the whole third round. No write is refused with 409: each status has one
writer, so Kiln's services never race each other (the run prints the emulator's 409 count).
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import builds as build_models
from contracts import events
from services.testbed.kubelet import failures
from services.testbed.sandbox import examples, harness

REGISTRY = "127.0.0.1:5000"
IMAGES = int(os.environ.get("KILN_SCALE_OUT_IMAGES", "300"))
WORKERS = 3
DUPLICATED = 0.10
POLL_SECONDS = 2.0
STALL_SECONDS = 60.0
"""A wait fails when the cluster stops changing this long (no write anywhere: a lost build stalls
it for good); while pods and builds move, a slow machine (or coverage tracing) only makes the run
longer. Progress is the emulator's resourceVersion: 300 pods run side by side, so no build may
finish for a while even though every pod advances."""


@dataclass
class Worker:
    """One ``kiln run image-reconciler`` process and its log."""

    process: asyncio.subprocess.Process
    log: Path

    def scheduled(self) -> int:
        """Builds this worker has scheduled so far (its ``scheduled …`` log lines)."""
        return self.log.read_text(errors="replace").count('"message":"scheduled ')


class Overlaps:
    """A kubelet failure plan that fails nothing but records pods started while a sibling runs."""

    def __init__(self) -> None:
        self.sandbox: harness.Sandbox | None = None
        self.started: dict[str, list[str]] = {}
        self.overlapping: list[tuple[str, str]] = []

    def __call__(self, pod: dict[str, Any]) -> failures.Failure | None:
        assert self.sandbox is not None
        md = pod["metadata"]
        image = f"{md['namespace']}/{md['labels'][build_models.IMAGE_LABEL]}"
        for sibling in self.started.get(image, []):
            record = self.sandbox.kubelet.record(md["namespace"], sibling)
            if record is not None and not record.done:
                self.overlapping.append((sibling, md["name"]))
        self.started.setdefault(image, []).append(md["name"])
        return None


@pytest.fixture
async def workers_sandbox(
    tmp_path: Path,
) -> AsyncIterator[tuple[harness.Sandbox, list[asyncio.subprocess.Process]]]:
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.01, services=("bridge",)) as sb:
        workers = []
        for index in range(WORKERS):
            path = tmp_path / f"worker-{index}.log"
            workers.append(Worker(await sb.start_process(["image-reconciler"], log=path), path))
        others = await sb.start_process(["build-runner", "image-state"], log=tmp_path / "build-runner.log")
        try:
            yield sb, workers
        finally:
            for process in (*(w.process for w in workers), others):
                if process.returncode is None:
                    process.terminate()
            await asyncio.gather(*(w.process.wait() for w in workers), others.wait())


def _pod_phases(sb: harness.Sandbox, namespace: str) -> dict[str, int]:
    phases: dict[str, int] = {}
    for pod in sb.emulator.objects("pods", namespace):
        phase = (pod.get("status") or {}).get("phase", "")
        phases[phase] = phases.get(phase, 0) + 1
    return phases


def _kubelet_state(sb: harness.Sandbox, namespace: str) -> str:
    """Where the simulated kubelet's pods stand (phase, last step started, done), for a stall report."""
    states: collections.Counter[str] = collections.Counter()
    for record in sb.kubelet.records.values():
        if record.namespace == namespace:
            last = record.steps[-1].name if record.steps else "-"
            states[f"{record.phase}/{last}/{'done' if record.done else 'running'}"] += 1
    unseen = [
        pod["metadata"]["name"]
        for pod in sb.emulator.objects("pods", namespace)
        if sb.kubelet.record(namespace, pod["metadata"]["name"]) is None
    ]
    return f"kubelet pods by phase/step/state: {dict(states)}, pods it never saw: {len(unseen)}"


def _counts(sb: harness.Sandbox, namespace: str) -> tuple[int, int]:
    """(Builds, finished Builds), read from the raw objects: the poll shares the event loop with the
    services and the kubelet, so it stays cheap (no model validation of hundreds of Builds)."""
    objects = sb.emulator.objects("builds", namespace)
    finished = [b for b in objects if _succeeded_status(b) in ("True", "False")]
    return len(objects), len(finished)


def _succeeded_status(build: dict[str, Any]) -> str:
    conditions = (build.get("status") or {}).get("conditions") or []
    return next((c.get("status", "") for c in conditions if c.get("type") == "Succeeded"), "")


async def _wait(
    sb: harness.Sandbox, namespace: str, *, created: int = 0, finished: int = 0, what: str
) -> None:
    """Until at least ``created`` Builds exist and ``finished`` have finished; fails on a stall."""
    loop = asyncio.get_running_loop()
    counts, version, moved = _counts(sb, namespace), sb.emulator.resource_version, loop.time()
    while counts[0] < created or counts[1] < finished:
        await asyncio.sleep(POLL_SECONDS)
        counts = _counts(sb, namespace)
        if sb.emulator.resource_version != version:
            version, moved = sb.emulator.resource_version, loop.time()
        elif loop.time() - moved > STALL_SECONDS:
            raise TimeoutError(
                f"no cluster change for {STALL_SECONDS:.0f} s at {counts} (builds, finished) waiting for "
                f"{what}; pods by phase: {_pod_phases(sb, namespace)}; {_kubelet_state(sb, namespace)}"
            )


@pytest.mark.timeout(2400)
async def test_three_workers_build_every_image_exactly_as_often_as_it_should_and_survive_a_kill(
    workers_sandbox: tuple[harness.Sandbox, list[Worker]], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, workers = workers_sandbox
    overlaps = Overlaps()
    overlaps.sandbox = sb
    sb.fail(overlaps)
    await sb.add_builder()
    namespace = f"scale-{uuid.uuid4().hex[:8]}"
    names = [f"app-{index:03d}" for index in range(IMAGES)]
    for name in names:
        await sb.apply(
            examples.image(
                "registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default"
            )
        )
    await _wait(sb, namespace, finished=IMAGES, what=f"{IMAGES} first builds")

    rng = random.Random(7)
    await sb.wiring.publisher.publish_many(_pushes(namespace, names, commit=2, rng=rng))
    await _wait(sb, namespace, created=IMAGES + IMAGES // 3, what="a third of the second builds")
    busiest = max(workers, key=Worker.scheduled)
    survivors = [w for w in workers if w is not busiest]
    assert all(w.scheduled() > 0 for w in workers), (
        f"the shards are spread over every worker: {[w.scheduled() for w in workers]}"
    )
    busiest.process.kill()
    await busiest.process.wait()
    before = {id(w): w.scheduled() for w in survivors}
    await _wait(sb, namespace, finished=2 * IMAGES, what=f"{2 * IMAGES} finished builds")
    await sb.wiring.publisher.publish_many(_pushes(namespace, names, commit=3, rng=rng))
    await _wait(sb, namespace, finished=3 * IMAGES, what=f"{3 * IMAGES} finished builds")
    await asyncio.sleep(2.0)  # late duplicates would create one more build now
    refused = sb.emulator.answers().of(409)
    with capsys.disabled():
        print(f"\n{IMAGES} Images: the emulator answered {sum(refused.values())} 409(s): {refused}")

    all_builds = [build_models.Build.model_validate(b) for b in sb.emulator.objects("builds", namespace)]
    by_image: dict[str, list[build_models.Build]] = {}
    for build in all_builds:
        by_image.setdefault(build.labels[build_models.IMAGE_LABEL], []).append(build)
    assert sorted(by_image) == names
    wrong = {
        name: sorted((b.name, b.reason()) for b in found)
        for name, found in by_image.items()
        if sorted((b.name, b.reason()) for b in found)
        != [(f"{name}-build-1", "CONFIG"), (f"{name}-build-2", "COMMIT"), (f"{name}-build-3", "COMMIT")]
    }
    assert wrong == {}
    # Every write here is a Kiln service's but the test's creates (new names) and the simulated
    # kubelet's pod status merge patches (no resourceVersion). One writer per status leaves only
    # the image-reconciler's writes to be refused: a worker that just took a shard over may plan
    # from a watch cache that has not yet seen its predecessor's last writes (the start's
    # balancing, the kill); the refused write (or a Build created again: already there) marks the
    # object stale and is retried from a fresh read. So: only those kinds, and few.
    reconcilers_own = {
        "update images/status",
        "create sourceresolvers",
        "update sourceresolvers/status",
        "create builds",
    }
    assert set(refused) <= reconcilers_own, "Kiln's services never refuse each other's writes"
    assert sum(refused.values()) <= IMAGES // 3, refused  # 4 in a quiet run, 50 beside a storm
    assert [b.name for b in all_builds if not b.succeeded()] == []
    assert overlaps.overlapping == []
    assert busiest.process.returncode == -9
    assert [w.process.returncode for w in survivors] == [None] * (WORKERS - 1)
    # the killed worker's shards failed over: the survivors scheduled every third build
    assert sum(w.scheduled() - before[id(w)] for w in survivors) >= IMAGES


def _pushes(
    namespace: str, names: list[str], *, commit: int, rng: random.Random
) -> list[events.Event[events.Payload]]:
    """A git push for every Image, shuffled, with a tenth of them delivered twice (same event id)."""
    revision = examples.commit(commit)
    pushes: list[events.Event[events.Payload]] = [
        events.new(
            events.SourceChanged(namespace=namespace, image=name, url=examples.GIT_URL, revision=revision),
            source="/kiln/tests",
            time=datetime.now(UTC),
            discriminator=revision,
        )
        for name in names
    ]
    batch = [*pushes, *rng.sample(pushes, int(len(pushes) * DUPLICATED))]
    rng.shuffle(batch)
    return batch
