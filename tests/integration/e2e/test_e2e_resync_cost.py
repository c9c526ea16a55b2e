"""The bridge's resync costs what the services have not settled: settled Images and the finished
pods of recorded Builds are not announced again, except on every ``full_resync_every``-th (full)
resync; an Image whose status does not observe its generation is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from contracts import events
from services.bridge import service as bridge_service

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


class Recorder:
    """A publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[list[events.Event[events.Payload]]] = []

    async def publish_many(self, batch: Iterable[events.Event[events.Payload]]) -> None:
        self.batches.append(list(batch))

    def last(self) -> list[tuple[str, str]]:
        return sorted((event.type, event.subject) for event in self.batches[-1])


async def test_a_resync_announces_only_what_is_not_settled(run: Run) -> None:
    await run.sb.apply(run.image("registry-cache"))
    await run.wait_finished(1, what="build 1")
    key = f"{run.namespace}/{run.name}"

    def settled() -> bool:
        raw = run.sb.emulator.get("images", run.name, run.namespace) or {}
        ready = next(
            (c for c in (raw.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {}
        )
        return ready.get("status") == "True"

    await run.sb.wait_for(settled, seconds=10, what="the Image's Ready=True")
    recorder = Recorder()
    bridge = bridge_service.Bridge(
        run.sb.wiring.kube, recorder, clock=lambda: datetime.now(UTC), full_resync_every=3
    )

    await bridge.resync()  # the first is full
    full = recorder.last()
    await bridge.resync()
    partial = recorder.last()
    images = run.sb.wiring.kube.custom_objects("kpack.io/v1alpha2", "images")
    await images.patch_status_raw(run.name, {"status": {"observedGeneration": 0}}, namespace=run.namespace)
    await bridge.resync()
    unsettled = recorder.last()

    assert ("kiln.image.changed", key) in full
    assert ("kiln.build.finished", key) in full
    assert not [subject for _, subject in partial if subject == key]
    assert [subject for _, subject in unsettled if subject == key] == [key]
    assert ("kiln.image.changed", key) in unsettled
