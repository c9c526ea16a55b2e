"""A hand-written Build that names its builder by ``spec.builder.ref`` (kpack
``pkg/buildpod/generator.go`` ``resolveBuilderRef``), end to end: the build-runner reads the
ClusterBuilder through the API server and builds with its ``status.latestImage``.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from test_e2e_kpack_pods import announced, scheduled_pods, step

from contracts.builds import IMAGE_LABEL
from tests.integration.e2e.conftest import BUILDER

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration


def build_with_ref(run: Run, name: str, *, builder: str) -> dict[str, Any]:
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        # labelled with an Image that does not exist: its events are keyed by that Image, and the
        # Build runs as one created directly (test_e2e_standalone_builds: one without the label)
        "metadata": {"name": name, "namespace": run.namespace, "labels": {IMAGE_LABEL: run.name}},
        "spec": {
            "tags": [run.tag],
            "builder": {"ref": {"kind": "ClusterBuilder", "name": builder}},
            "source": {"git": {"url": "https://github.com/example/app", "revision": "a" * 40}},
        },
    }


async def test_a_build_with_a_builder_ref_gets_the_cluster_builders_image_and_finishes(run: Run) -> None:
    [(_, pod)] = await scheduled_pods(run, [build_with_ref(run, "by-ref", builder=BUILDER)])

    assert {c["image"] for c in pod["spec"]["initContainers"] if c["name"] != "prepare"} == {
        run.sb.builder_image
    }
    assert step(pod, "detect")["image"] == run.sb.builder_image
    [build] = await run.wait_finished(1)
    assert build.succeeded(), build.status.condition("Succeeded")
    assert build.status.latest_image.startswith(f"{run.tag}@sha256:")


async def test_a_build_whose_builder_ref_is_missing_fails_naming_the_field_and_the_fix(run: Run) -> None:
    await announced(run, [build_with_ref(run, "missing-ref", builder="absent")])

    [build] = await run.wait_finished(1)

    failed = build.status.condition("Succeeded")
    assert failed is not None
    assert (failed.status, failed.reason, failed.message) == (
        "False",
        "PodGenerationFailed",
        "unable to resolve builder image: ClusterBuilder 'absent' not found (spec.builder.ref): "
        "create it, or name an existing Builder or ClusterBuilder",
    )
    assert run.sb.emulator.get("pods", "missing-ref-build-pod", run.namespace) is None
