"""``kiln images list``, ``kiln image status``, ``kiln builds list`` and ``kiln build status`` as a
user runs them, with the kubeconfig the sandbox prints, after an Image with a registry cache has
built twice: CONFIG, then COMMIT reading the cache image build 1 wrote, pinned by digest.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.sandbox import examples
from tests.integration.e2e.conftest import Run
from tests.integration.e2e.user_commands import Done, kiln

pytestmark = pytest.mark.integration
STEPS = ("prepare", "analyze", "detect", "restore", "build", "export")


def image_status(run: Run) -> dict[str, Any]:
    return (run.sb.emulator.get("images", run.name, run.namespace) or {}).get("status") or {}


async def built_twice(run: Run) -> tuple[build_models.Build, build_models.Build]:
    """Build 1 (CONFIG), a push, build 2 (COMMIT); once the Image records build 2's cache image."""
    await run.sb.apply(run.image("registry-cache"))
    await run.wait_finished(1)
    await run.sb.push_commit()
    first, second = await run.wait_finished(2)
    await run.sb.wait_for(
        lambda: (
            image_status(run).get("latestCacheBuildNumber") == 2
            and image_status(run).get("latestImage") == second.status.latest_image
        ),
        seconds=10,
        what="the Image to record build 2",
    )
    return first, second


def ok(done: Done) -> str:
    assert (done.code, done.stderr) == (0, ""), done.stderr
    return done.stdout


def line_with(stdout: str, *words: str) -> str:
    """The one line holding every word, in order."""
    pattern = re.compile(r"\s+".join(re.escape(word) for word in words))
    found = [line for line in stdout.splitlines() if pattern.search(line)]
    assert len(found) == 1, f"no single line with {words} in:\n{stdout}"
    return found[0]


async def test_the_status_commands_show_two_builds_the_pinned_cache_and_what_changed(run: Run) -> None:
    first, second = await built_twice(run)
    pinned = second.status.latest_cache_image or ""
    digest = pinned.partition("@")[2]
    assert digest.startswith("sha256:")
    where = ("-n", run.namespace)

    listed = ok(await kiln(run, "images", "list", *where))
    status = ok(await kiln(run, "image", "status", run.name, *where))
    history = ok(await kiln(run, "builds", "list", run.name, *where))
    shown = ok(await kiln(run, "build", "status", second.name, *where))
    by_number = ok(await kiln(run, "build", "status", run.name, "--build", "2", *where))

    line_with(listed, run.name, "True", second.name, "COMMIT", second.status.latest_image or "", "registry")
    line_with(status, "Ready:", "True")
    line_with(status, "Pinned cache:", pinned)
    line_with(status, "Source:", examples.GIT_URL, examples.commit(2))
    line_with(status, "Ready", "True", "UpToDate")
    line_with(history, "1", first.name, "SUCCEEDED", "CONFIG")
    line_with(history, "2", second.name, "SUCCEEDED", "COMMIT")
    assert by_number == shown
    line_with(shown, "Reasons:", "COMMIT")
    line_with(shown, "COMMIT:")
    [change] = json.loads(second.annotations[build_models.CHANGES_ANNOTATION])
    assert change["new"] == examples.commit(2)
    line_with(shown, "-", change["old"])
    line_with(shown, "+", change["new"])
    line_with(shown, "Pod:", second.pod_name())
    for step in STEPS:
        assert re.search(rf"(?m)^\s*{step}\s+terminated\s+\d+\.\ds\s*$", shown), shown


async def test_json_output_carries_the_same(run: Run) -> None:
    _, second = await built_twice(run)
    where = ("-n", run.namespace, "-o", "json")

    [listed] = json.loads(ok(await kiln(run, "images", "list", *where)))
    status = json.loads(ok(await kiln(run, "image", "status", run.name, *where)))
    history = json.loads(ok(await kiln(run, "builds", "list", run.name, *where)))
    shown = json.loads(ok(await kiln(run, "build", "status", second.name, *where)))

    assert (listed["name"], listed["ready"], listed["cache"]) == (run.name, "True", "registry")
    assert status["ready"] == "True"
    assert status["cache"]["image"] == second.status.latest_cache_image
    assert status["cache"]["digest"].startswith("sha256:")
    assert status["cache"]["buildNumber"] == 2
    assert status["source"]["revision"] == examples.commit(2)
    assert [(b["buildNumber"], b["status"], b["reason"]) for b in history] == [
        (1, "SUCCEEDED", "CONFIG"),
        (2, "SUCCEEDED", "COMMIT"),
    ]
    assert history[1]["imageDigest"] == (second.status.latest_image or "").partition("@")[2]
    assert shown["changes"] == json.loads(second.annotations[build_models.CHANGES_ANNOTATION])
    assert shown["changes"][0]["new"] == examples.commit(2)
    assert shown["podName"] == second.pod_name()
    steps = {step["step"]: step for step in shown["steps"]}
    assert set(STEPS) <= set(steps)
    assert all(steps[s]["state"] == "terminated" and steps[s]["seconds"] >= 0 for s in STEPS)


async def test_unknown_images_and_builds_are_named_with_their_namespace(run: Run) -> None:
    where = ("-n", run.namespace)

    image = await kiln(run, "image", "status", "absent", *where)
    build = await kiln(run, "build", "status", "absent-build-1", *where)
    numbered = await kiln(run, "builds", "list", "absent", *where)

    assert (image.code, image.stdout) == (1, "")
    assert image.stderr == f'Image "absent" in namespace "{run.namespace}" not found\n'
    assert (build.code, build.stdout) == (1, "")
    assert f'Build "absent-build-1" in namespace "{run.namespace}" not found' in build.stderr
    assert numbered.code == 1
    assert numbered.stderr == f'Image "absent" in namespace "{run.namespace}" not found\n'
