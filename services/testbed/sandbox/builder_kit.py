"""The images behind the sandbox's builder, pushed to the real registry, and the moves a platform
team makes on them: a patched run image, a new buildpack release, a new lifecycle.

Kiln's builder service makes the sandbox's ClusterBuilder image from these (a ClusterStack of a
build and a run image, a ClusterStore of one buildpackage, a ClusterLifecycle), as kpack's
controllers would; each move pushes a new image to the tag the resource names, which the registry
announces to the triggers service (or :meth:`Sandbox.announce_push` does, for a registry that
sends no notifications).

    kit = BuilderKit(registry, prefix="127.0.0.1:5000/sandbox/3f2a")
    await kit.push()                      # stack, lifecycle, buildpackage
    await kit.patch_run_image()           # the run image's tag now names serial 2
"""

from __future__ import annotations

import dataclasses
from typing import Any

from services.registry import client
from services.testbed.registry import cnb_images
from services.testbed.sandbox import examples

STORE = "default"
STACK = "base"
LIFECYCLE = "default-lifecycle"


@dataclasses.dataclass
class BuilderKit:
    """Where the builder's inputs live (``<prefix>/…``) and which versions are pushed now."""

    registry: client.RegistryClient
    prefix: str
    """``host/repository-prefix`` of every image of the kit."""
    stack_id: str = examples.STACK_ID
    run_serial: int = 1
    buildpack_version: str = examples.BUILDPACKS[0]["version"]
    lifecycle_version: str = examples.LIFECYCLE_VERSION

    @property
    def build_image(self) -> str:
        return f"{self.prefix}/stack/build"

    @property
    def run_image(self) -> str:
        return f"{self.prefix}/stack/run"

    @property
    def lifecycle_image(self) -> str:
        return f"{self.prefix}/lifecycle"

    @property
    def buildpackage(self) -> str:
        return f"{self.prefix}/buildpacks/go"

    @property
    def builder_tag(self) -> str:
        return f"{self.prefix}/builder"

    async def push(self) -> None:
        """The stack's build and run images, the lifecycle image and the buildpackage."""
        await cnb_images.push_build_image(self.registry, self.build_image, stack_id=self.stack_id)
        await self._push_run_image()
        await self._push_lifecycle()
        await self._push_buildpackage()

    async def patch_run_image(self) -> str:
        """A patched run image (new contents, same stack) to the tag the ClusterStack names."""
        self.run_serial += 1
        return await self._push_run_image()

    async def release_buildpack(self, version: str) -> str:
        """A new version of the buildpack to the tag the ClusterStore names."""
        self.buildpack_version = version
        return await self._push_buildpackage()

    async def release_lifecycle(self, version: str) -> str:
        """A new lifecycle to the tag the ClusterLifecycle names."""
        self.lifecycle_version = version
        return await self._push_lifecycle()

    def resources(self, *, builder: str) -> list[dict[str, Any]]:
        """The ClusterStore, ClusterStack, ClusterLifecycle and ClusterBuilder, as a user applies them."""
        order = [{"group": [{"id": examples.BUILDPACKS[0]["id"]}]}]
        return [
            examples.cluster_store(name=STORE, sources=[self.buildpackage]),
            examples.cluster_stack(
                name=STACK, build_image=self.build_image, run_image=self.run_image, stack_id=self.stack_id
            ),
            examples.cluster_lifecycle(name=LIFECYCLE, image=self.lifecycle_image),
            examples.made_cluster_builder(
                name=builder, tag=self.builder_tag, stack=STACK, store=STORE, lifecycle=LIFECYCLE, order=order
            ),
        ]

    async def _push_run_image(self) -> str:
        return await cnb_images.push_run_image(
            self.registry, self.run_image, stack_id=self.stack_id, serial=str(self.run_serial)
        )

    async def _push_lifecycle(self) -> str:
        return await cnb_images.push_lifecycle_image(
            self.registry, self.lifecycle_image, version=self.lifecycle_version
        )

    async def _push_buildpackage(self) -> str:
        stacks = (cnb_images.StackSupport(self.stack_id),)
        buildpack = cnb_images.PackagedBuildpack(
            examples.BUILDPACKS[0]["id"], self.buildpack_version, stacks=stacks, homepage=examples.HOMEPAGE
        )
        return await cnb_images.push_buildpackage(self.registry, self.buildpackage, [buildpack])
