"""Performing a scenario's steps against a running chaos system, as its users and their tools would.

Each input goes through the front door: Images and builders through the Kubernetes API, pushes as
signed webhooks to the triggers service, a manual trigger as the annotation ``kiln trigger``
writes, a recorded event through Kiln's publisher with its id. The API and the triggers service
may be failing on purpose meanwhile, so a step is tried again as its sender would (a webhook
redelivered with the same delivery id, an object created again and taken as done when it exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiormq.exceptions
import httpx

from contracts import builds as build_models
from contracts import meta
from services import errors
from services.testbed.chaos import scenarios, system
from services.testbed.registry import builders as registry_builders
from services.testbed.sandbox import examples, harness

logger = logging.getLogger(__name__)
T = TypeVar("T")
PERSIST_SECONDS = 180.0
"""How long a step is tried again: longer than a broker restart or a registry outage."""
PAUSE_SECONDS = 0.5


async def persist(what: str, action: Callable[[], Awaitable[T]]) -> T:
    """``action()``, tried again every half second while it fails, for :data:`PERSIST_SECONDS`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PERSIST_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            return await action()
        except (
            errors.TemporaryError,
            RuntimeError,
            httpx.HTTPError,
            OSError,
            aiormq.exceptions.AMQPError,
        ) as e:
            if loop.time() > deadline:
                raise
            logger.info("chaos: %s failed (attempt %d): %s; again", what, attempt, e)
            await asyncio.sleep(PAUSE_SECONDS)


async def perform(box: system.System, scenario: scenarios.Scenario, step: scenarios.Step) -> None:
    """Do one non-``quiesce`` step."""
    sb = box.sb
    if isinstance(step, scenarios.Builder):
        await persist(f"builder {step.name}", lambda: _builder(box, step.name, step.buildpacks))
    elif isinstance(step, scenarios.Image):
        await persist(f"image {step.name}", lambda: _create(sb, image_object(box, scenario, step)))
    elif isinstance(step, scenarios.GitPush):
        delivery = str(uuid.uuid4())
        revision, before = examples.commit(step.commit), examples.commit(step.commit - 1)
        await persist(
            f"GitHub push of {revision[:12]}",
            lambda: sb.github_push(
                revision, before=before, delivery=delivery, url=step.repository, branch=step.branch
            ),
        )
    elif isinstance(step, scenarios.WebhookPush):
        await persist(f"generic push of commit {step.commit}", lambda: _generic_push(box, step))
    elif isinstance(step, scenarios.BuilderUpdate):
        await persist(f"builder update of {step.name}", lambda: _builder(box, step.name, step.buildpacks))
    elif isinstance(step, scenarios.Trigger):
        await persist(f"trigger of {step.image}", lambda: _trigger(sb, scenario.namespace, step.image))
    elif isinstance(step, scenarios.RecordedEvent):
        event = step.parsed()
        await persist(f"event {event.id}", lambda: sb.wiring.publisher.publish_many([event]))


def image_object(box: system.System, scenario: scenarios.Scenario, step: scenarios.Image) -> dict[str, Any]:
    example = "volume-cache" if step.cache == "volume" else "registry-cache"
    image = examples.image(
        example,
        name=step.name,
        namespace=scenario.namespace,
        registry=f"{box.registry_prefix()}/{scenario.name}",
        builder=step.builder,
    )
    image["spec"]["source"]["git"] = {"url": step.repository, "revision": step.branch}
    return image


async def _create(sb: harness.Sandbox, obj: dict[str, Any]) -> None:
    """Create ``obj``; one that exists already (an earlier try got through) is done."""
    with contextlib.suppress(errors.AlreadyExistsError):
        await sb.apply(obj)


async def _builder(box: system.System, name: str, buildpacks: tuple[scenarios.Buildpack, ...]) -> None:
    """Push a builder image with ``buildpacks`` and make the ClusterBuilder ``name`` name it, ready
    (created, or its status written again: what kpack's builder controller does)."""
    sb = box.sb
    packs = [{"id": b.id, "version": b.version} for b in buildpacks] or examples.BUILDPACKS
    ref = f"{sb.registry_host}/sandbox/{sb.run_id}-{name}-builder"
    run_image = f"{sb.registry_host}/sandbox/run@sha256:{'0' * 64}"
    digest = await registry_builders.push_builder_image(
        sb.wiring.registry,
        ref,
        stack_id=examples.STACK_ID,
        run_image=run_image.split("@")[0],
        platform_apis=["0.7", "0.8", "0.9"],
        buildpacks=packs,
        lifecycle_version=examples.LIFECYCLE_VERSION,
    )
    wanted = examples.cluster_builder(name=name, builder_image=f"{ref}@{digest}", run_image=run_image)
    wanted["status"]["builderMetadata"] = packs
    builders = sb.wiring.kube.cluster_builders
    found = await builders.find(name)
    if found is None:
        await _create(sb, wanted)
        return
    current = found.dump()
    await builders.replace_status(builders.parse({**current, "status": wanted["status"]}))


async def _generic_push(box: system.System, step: scenarios.WebhookPush) -> None:
    url = box.sb.wiring.webhooks_url
    if url is None:
        raise RuntimeError("a push needs the triggers service")
    body = {"url": step.repository, "revision": examples.commit(step.commit), "ref": step.branch}
    headers = {"Authorization": f"Bearer {harness.WEBHOOK_SECRET}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(f"{url}/webhooks/generic", content=json.dumps(body), headers=headers)
    if response.status_code != httpx.codes.ACCEPTED:
        raise RuntimeError(f"the generic push was refused: {response.status_code} {response.text}")


async def _trigger(sb: harness.Sandbox, namespace: str, image: str) -> None:
    """What ``kiln trigger`` writes: the additional-build annotation on the Image's newest Build."""
    found = [
        b
        for b in sb.emulator.objects("builds", namespace)
        if (b["metadata"].get("labels") or {}).get(build_models.IMAGE_LABEL) == image
    ]
    if not found:
        raise RuntimeError(f"no Build of {image} to annotate yet")
    newest = max(found, key=lambda b: int(b["metadata"]["labels"].get(build_models.BUILD_NUMBER_LABEL, "0")))
    value = meta.rfc3339(datetime.now(UTC))
    patch = {"metadata": {"annotations": {build_models.ADDITIONAL_BUILD_NEEDED_ANNOTATION: value}}}
    await sb.wiring.kube.builds.patch(newest["metadata"]["name"], patch, namespace=namespace)
