"""The Image's SourceResolver end to end: kpack's spec keys, and a blob's ``stripComponents``
carried from the Image through the resolver and the Build to the build pod (kpack's blob resolver,
``pkg/blob/resolver.go``, drops it; Kiln carries it: one of Kiln's deliberate differences).

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from services.testbed.sandbox import examples

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

BLOB = {"url": "https://blobs.example.com/app.tgz", "stripComponents": 2}


def env_value(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


async def test_a_blob_images_strip_components_reaches_its_resolver_build_and_pod_and_the_resolver_has_kpacks_keys(
    run: Run,
) -> None:
    image = run.image("registry-cache")
    image["spec"]["source"] = {"blob": BLOB}
    await run.sb.apply(image)

    [build] = await run.wait_created(1)

    resolver = run.sb.emulator.get("sourceresolvers", f"{run.name}-source", run.namespace) or {}
    assert resolver["spec"] == {"serviceAccount": "default", "source": {"blob": BLOB}}
    assert resolver["status"]["source"] == {"blob": BLOB}
    assert build.spec.source.dump() == {"blob": BLOB}
    pod_name = f"{build.name}-build-pod"
    await run.sb.wait_for(lambda: run.sb.emulator.get("pods", pod_name, run.namespace), what="the build pod")
    pod = run.sb.emulator.get("pods", pod_name, run.namespace) or {}
    prepare = next(c for c in pod["spec"]["initContainers"] if c["name"] == "prepare")
    assert env_value(prepare, "BLOB_URL") == BLOB["url"]
    assert env_value(prepare, "BLOB_STRIP_COMPONENTS") == "2"
    assert examples.GIT_URL not in str(pod)
