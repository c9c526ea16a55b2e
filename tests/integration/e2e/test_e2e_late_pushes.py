"""Late and redelivered webhooks end to end: a push GitHub delivers again never rolls an Image back
to an older commit, while a force-push to an older commit builds it.

Signed GitHub push webhooks to the triggers service, every Kiln service over the real broker, the
Kubernetes emulator and the simulated kubelet. The image-reconciler handles an Image's events in
order, so once its count of handled ``source.changed`` has moved past a delivery, whatever that
delivery was going to do is done: the tests wait for that, not for a fixed time.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from test_e2e_admin_endpoint import samples

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

COMMIT_A = "a1" * 20
COMMIT_B = "b2" * 20
BEFORE_A = "0f" * 20


async def handled_pushes(run: Run) -> float:
    """How many ``source.changed`` the image-reconciler has handled."""
    assert run.sb.wiring.admin_url is not None
    async with httpx.AsyncClient(base_url=run.sb.wiring.admin_url) as http:
        text = (await http.get("/metrics")).text
    labels = (("outcome", "ok"), ("service", "image-reconciler"), ("type", "kiln.source.changed"))
    return samples(text).get(("kiln_events_handled_total", labels), 0.0)


async def push(run: Run, revision: str, *, before: str, delivery: str, forced: bool = False) -> None:
    """Deliver the push and wait until the image-reconciler has handled it."""
    handled = await handled_pushes(run)
    answer = await run.sb.github_push(revision, before=before, delivery=delivery, forced=forced)
    assert answer["images"] == [f"{run.namespace}/{run.name}"]
    for _ in range(400):
        if await handled_pushes(run) > handled:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the image-reconciler did not handle the push of {revision} (delivery {delivery})")


def resolved_revision(run: Run) -> str:
    resolver = run.sb.emulator.get("sourceresolvers", f"{run.name}-source", run.namespace) or {}
    revision: str = resolver["status"]["source"]["git"]["revision"]
    return revision


def image_status(run: Run) -> dict[str, Any]:
    image = run.sb.emulator.get("images", run.name, run.namespace) or {}
    status: dict[str, Any] = image.get("status") or {}
    return status


async def built(run: Run, count: int) -> list[str]:
    """The revisions of the Image's builds, oldest first, once ``count`` have finished."""
    builds = await run.wait_finished(count)
    assert all(build.succeeded() for build in builds), [b.status.condition("Succeeded") for b in builds]
    return [build.spec.source.git.revision if build.spec.source.git else "" for build in builds]


async def pushed_a_then_b(run: Run) -> tuple[str, str]:
    """The Image built from its branch, then from A, then from B; the deliveries of both pushes."""
    await run.sb.apply(run.image("volume-cache"))
    await built(run, 1)
    delivery_a, delivery_b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    await push(run, COMMIT_A, before=BEFORE_A, delivery=delivery_a)
    await built(run, 2)
    await push(run, COMMIT_B, before=COMMIT_A, delivery=delivery_b)
    assert await built(run, 3) == ["main", COMMIT_A, COMMIT_B]
    return delivery_a, delivery_b


async def test_a_redelivered_older_push_builds_nothing_and_leaves_the_image_at_the_newer_commit(
    run: Run,
) -> None:
    delivery_a, _ = await pushed_a_then_b(run)
    latest = image_status(run)["latestBuildRef"]

    await push(run, COMMIT_A, before=BEFORE_A, delivery=delivery_a)

    assert [build.spec.source.git.revision for build in run.builds() if build.spec.source.git] == [
        "main",
        COMMIT_A,
        COMMIT_B,
    ]
    assert resolved_revision(run) == COMMIT_B
    assert image_status(run)["latestBuildRef"] == latest


async def test_a_force_push_to_an_older_commit_builds_it_and_the_overwritten_push_redelivered_does_not(
    run: Run,
) -> None:
    _, delivery_b = await pushed_a_then_b(run)

    await push(run, COMMIT_A, before=COMMIT_B, delivery=f"force-{uuid.uuid4()}", forced=True)
    revisions = await built(run, 4)
    await push(run, COMMIT_B, before=COMMIT_A, delivery=delivery_b)

    assert revisions == ["main", COMMIT_A, COMMIT_B, COMMIT_A]
    assert run.builds()[-1].reason() == "COMMIT"
    assert len(run.builds()) == 4
    assert resolved_revision(run) == COMMIT_A
    assert image_status(run)["latestBuildRef"] == run.builds()[-1].name
