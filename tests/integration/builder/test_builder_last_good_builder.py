"""Images keep building with their builder's last good image when its stack goes bad (spec §2.10,
§7), end to end: the whole Kiln in a sandbox (real broker, real registry, the emulator, the
simulated kubelet) makes its ClusterBuilder from a stack, store and lifecycle; a run image of
another stack pushed to the stack's tag, announced as the registry would, fails the ClusterStack;
the ClusterBuilder stays Ready on its last image with UpToDate False, and the Image's next build
uses that image."""

from __future__ import annotations

import uuid

import pytest

from contracts import builds as build_models
from services.testbed.registry import cnb_images
from services.testbed.sandbox import builder_kit, examples, harness
from tests.integration.builder import builder_bed

pytestmark = pytest.mark.integration

OTHER_STACK = "io.buildpacks.stacks.other"
SECONDS = 30.0


async def test_an_image_builds_with_the_last_good_builder_after_its_stack_goes_bad() -> None:
    suffix = uuid.uuid4().hex[:10]
    namespace, name = f"bldr-{suffix}", f"app-{suffix}"
    async with harness.sandbox(registry_host=builder_bed.REGISTRY, step_seconds=0.05) as sb:
        await sb.add_builder()
        assert sb.kit is not None
        good = sb.builder_image
        made = sb.cluster_builder()
        await sb.apply(
            examples.image(
                "registry-cache",
                name=name,
                namespace=namespace,
                registry=builder_bed.REGISTRY,
                builder="default",
            )
        )

        def builds() -> list[build_models.Build]:
            return sb.builds(namespace)

        await sb.wait_for(
            lambda: any(not b.running() for b in builds()), seconds=SECONDS, what="the first build"
        )
        [first] = builds()
        assert first.succeeded(), first.status.condition("Succeeded")
        assert first.spec.builder.image == good

        bad = await cnb_images.push_run_image(
            sb.wiring.registry, sb.kit.run_image, stack_id=OTHER_STACK, serial="9"
        )
        await sb.announce_push(bad, tag="latest")
        await sb.wait_for(
            lambda: builder_bed.conditions(sb.cluster_builder()).get("UpToDate", {}).get("status") == "False",
            seconds=SECONDS,
            what="the ClusterBuilder to be out of date",
        )

        stack = sb.emulator.get("clusterstacks", builder_kit.STACK, "")
        assert stack is not None
        assert builder_bed.conditions(stack)["Ready"]["status"] == "False"
        assert builder_bed.conditions(stack)["Ready"]["message"].startswith(
            "invalid stack images. expected stack: "
        )
        failed = sb.cluster_builder()
        assert builder_bed.conditions(failed) == {
            "Ready": {"type": "Ready", "status": "True"},
            "UpToDate": {
                "type": "UpToDate",
                "status": "False",
                "reason": "ReconcileFailed",
                "message": f"stack {builder_kit.STACK} is not ready",
            },
        }
        assert failed["status"]["latestImage"] == good
        assert failed["status"]["stack"] == made["status"]["stack"]

        await sb.push_commit()
        await sb.wait_for(
            lambda: len([b for b in builds() if not b.running()]) >= 2,
            seconds=SECONDS,
            what="the second build",
        )
        second = builds()[-1]
        assert second.reason() == "COMMIT"
        assert second.spec.builder.image == good
        assert second.succeeded(), second.status.condition("Succeeded")
        image = sb.emulator.get("images", name, namespace)
        assert image is not None
        up_to_date = builder_bed.conditions(image)["BuilderUpToDate"]
        assert (up_to_date["status"], up_to_date["message"]) == (
            "False",
            "Builder is not up to date. The latest stack and buildpacks may not be in use.",
        )
