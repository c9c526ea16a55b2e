"""A mistyped object in the cluster beside valid ones, as an old or schema-less cluster holds it: the
valid Images still build, git pushes are accepted, the resync runs, no watch restarts, and the
mistyped Image is told which field is wrong and how to fix it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from services.bridge import service as bridge_service

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

SKIPS_LOGGER = "services.kube.parsing"
WATCH_LOGGER = "services.kube.watching"


def _ready(run: Run, name: str) -> dict[str, Any]:
    image = run.sb.emulator.get("images", name, run.namespace) or {}
    conditions = (image.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Ready"), {})


def _mistyped_image(run: Run, field: str, value: Any) -> dict[str, Any]:
    """The sandbox Image with ``spec.<field>`` (dotted) set to ``value``, stored directly in the
    emulator as a cluster without Kiln's CRD schema keeps it."""
    bad = run.image("registry-cache")
    bad["metadata"]["name"] = f"{run.name}-mistyped"
    bad["spec"]["cache"]["registry"]["tag"] = f"{run.tag}-mistyped-cache"
    bad["spec"]["tag"] = f"{run.tag}-mistyped"
    *parents, last = field.split(".")
    holder = bad["spec"]
    for part in parents:
        holder = holder[part]
    holder[last] = value
    return run.sb.emulator.create(bad)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            "imageTaggingStrategy",
            "buildNumber",
            "invalid value: buildNumber: spec.imageTaggingStrategy\nmust be one of 'None', 'BuildNumber' or ''",
            id="an-unknown-tagging-strategy",
        ),
        pytest.param(
            "builder.name",
            42,
            "invalid value: 42: spec.builder.name\nmust be a string",
            id="a-number-for-the-builder-name",
        ),
    ],
)
async def test_a_mistyped_image_gets_its_condition_while_every_other_image_builds_and_pushes_are_taken(
    run: Run, field: str, value: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bad = _mistyped_image(run, field, value)
    await run.sb.apply(run.image("registry-cache"))

    [first] = await run.wait_finished(1, what="the valid Image's first build beside the mistyped one")
    await run.sb.push_commit()  # raises unless the triggers service answers 202
    builds = await run.wait_finished(2, what="the build the push triggers")
    await run.sb.wait_for(
        lambda: _ready(run, bad["metadata"]["name"]).get("status") == "False",
        seconds=10,
        what="Ready=False on the mistyped Image",
    )
    bridge = bridge_service.Bridge(
        run.sb.wiring.kube, run.sb.wiring.publisher, clock=lambda: datetime.now(UTC)
    )
    # the condition gone (a status the watch does not announce), the resync alone must bring it back
    raw_images = run.sb.wiring.kube.custom_objects("kpack.io/v1alpha2", "images")
    await raw_images.patch_status_raw(bad["metadata"]["name"], {"status": None}, namespace=run.namespace)
    await bridge.resync()
    await run.sb.wait_for(
        lambda: _ready(run, bad["metadata"]["name"]).get("status") == "False",
        seconds=10,
        what="Ready=False on the mistyped Image again, after the resync announced it",
    )

    assert first.succeeded(), first.status.condition("Succeeded")
    assert [b.reason() for b in builds] == ["CONFIG", "COMMIT"]
    assert all(b.labels["image.kpack.io/image"] == run.name for b in builds)
    ready = _ready(run, bad["metadata"]["name"])
    assert (ready["reason"], ready["message"]) == ("InvalidSpec", message)
    stored = run.sb.emulator.get("images", bad["metadata"]["name"], run.namespace) or {}
    assert stored["status"]["observedGeneration"] == stored["metadata"]["generation"]
    restarts = [
        r.getMessage() for r in caplog.records if r.name == WATCH_LOGGER and r.levelno >= logging.WARNING
    ]
    assert restarts == []
    key = f"{run.namespace}/{bad['metadata']['name']}"
    skipped = [r for r in caplog.records if r.name == SKIPS_LOGGER and r.levelno == logging.WARNING]
    assert [key in r.getMessage() and f"spec.{field}" in r.getMessage() for r in skipped] == [True], (
        "reported once, with its key and the field, however often it was listed or watched"
    )


async def test_a_finished_pod_whose_labels_name_no_valid_image_does_not_stop_the_pod_watch(run: Run) -> None:
    run.sb.emulator.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{run.name}-a-stray",  # listed before the build pod
                "namespace": run.namespace,
                "labels": {"kpack.io/build": "Stray_Build", "image.kpack.io/image": "Not_An_Image"},
            },
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            "status": {"phase": "Succeeded"},
        }
    )
    await run.sb.apply(run.image("registry-cache"))

    [build] = await run.wait_finished(1, what="a build beside the stray pod")

    assert build.succeeded(), build.status.condition("Succeeded")
