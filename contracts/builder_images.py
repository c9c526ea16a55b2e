"""The builder image as the build pod generator sees it (kpack's ``BuildPodBuilderConfig``).

This is the ``--builder-config`` file of ``kiln render-pod``::

    {"image": "<resolved builder ref>", "stackId": "io.buildpacks.stacks.jammy",
     "runImage": "registry.io/run", "platformApis": ["0.7", "0.8", "0.9"],
     "uid": 1000, "gid": 1000, "os": "linux"}

The input is ours, so unknown keys are refused.
"""

from __future__ import annotations

from pydantic import Field

from contracts import meta


class BuilderImageConfig(meta.WireModel):
    """What the builder image tells the pod generator: stack, run image, lifecycle APIs, user."""

    image: str
    """Resolved builder image (digest reference); the image of every lifecycle step."""
    stack_id: str = ""
    """Stack id, label ``io.buildpacks.stack.id``; a STACK-only rebuild rebases when it is unchanged."""
    run_image: str = ""
    """Run image from the builder metadata; used when the Build has no ``spec.runImage``."""
    platform_apis: list[str] = Field(default_factory=list)
    """Platform API versions the builder's lifecycle supports (deprecated and supported)."""
    uid: int = 1000
    """User id the build runs as (``CNB_USER_ID``)."""
    gid: int = 1000
    """Group id the build runs as (``CNB_GROUP_ID``)."""
    os: str = "linux"
    """Operating system of the builder image; ``windows`` is refused."""
    lifecycle_version: str | None = None
    """Version of the lifecycle in the builder, when known."""
