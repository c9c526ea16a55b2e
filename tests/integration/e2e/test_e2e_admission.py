"""kpack's admission rules end to end: the image-reconciler's own check of a stored Image gives
kpack's answer, so an Image kpack's webhook would refuse never gets a Build or a pod.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from contracts import events

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

SECRET_TOKEN = {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "victim-secret", "key": "token"}}}


def ready(run: Run, namespace: str) -> dict[str, Any]:
    image = run.sb.emulator.get("images", run.name, namespace) or {}
    conditions = (image.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


async def test_a_build_env_reading_a_secret_is_refused_and_never_reaches_a_pod(run: Run) -> None:
    """kpack: disallows secretKeyRef in build env (the fix for a build env reading any Secret)."""
    bad = run.image("registry-cache")
    bad["metadata"]["namespace"] = bad_namespace = f"{run.namespace}-bad"
    bad["spec"]["build"] = {"env": [SECRET_TOKEN]}
    await run.sb.apply(bad)

    await run.sb.wait_for(
        lambda: ready(run, bad_namespace).get("status") == "False", seconds=10, what="Ready=False"
    )

    assert (ready(run, bad_namespace)["reason"], ready(run, bad_namespace)["message"]) == (
        "InvalidSpec",
        "secretKeyRef is not supported for build environment variables: spec.build.env[0].valueFrom.secretKeyRef",
    )
    good = run.image("registry-cache")
    good["spec"]["build"] = {"env": [{"name": "TOKEN", "value": "not-a-secret"}]}
    await run.sb.apply(good)
    [build] = await run.wait_finished(1)
    assert build.succeeded(), build.status.condition("Succeeded")
    pod = run.sb.pod(build)
    assert pod is not None
    env = [
        e
        for c in pod["spec"]["initContainers"]
        for e in c.get("env", [])
        if e["name"] == "PLATFORM_ENV_TOKEN"
    ]
    assert env
    assert all(e == {"name": "PLATFORM_ENV_TOKEN", "value": "not-a-secret"} for e in env)
    assert run.sb.builds(bad_namespace) == []
    assert run.sb.emulator.objects("pods", bad_namespace) == []


async def test_a_build_written_directly_with_a_secret_env_fails_and_gets_no_pod(run: Run) -> None:
    """A Build created directly meets no image-reconciler: the build-runner refuses to render what
    kpack's admission refuses (kpack: disallows secretKeyRef in build env, on Builds too)."""
    build = {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {"name": f"{run.name}-direct", "namespace": run.namespace},
        "spec": {
            "tags": [run.tag],
            "builder": {"image": run.sb.builder_image},
            "source": {"git": {"url": "https://github.com/example/app", "revision": "0" * 40}},
            "env": [SECRET_TOKEN],
        },
    }
    await run.sb.apply(build)
    announced = events.new(
        events.BuildScheduled(namespace=run.namespace, image=run.name, build=f"{run.name}-direct"),
        source="/e2e/test",
        time=datetime.now(UTC),
        discriminator="direct",
    )
    await run.sb.wiring.publisher.publish_many([announced])

    [failed] = await run.wait_finished(1)

    condition = failed.status.condition("Succeeded")
    assert condition is not None
    assert (condition.status, condition.reason, condition.message) == (
        "False",
        "InvalidSpec",
        "secretKeyRef is not supported for build environment variables: spec.env[0].valueFrom.secretKeyRef",
    )
    assert run.sb.emulator.objects("pods", run.namespace) == []
