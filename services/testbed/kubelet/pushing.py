"""What a simulated build writes to the registry, and the completion container's message.

``push_images`` stands in for the exporter: a small app image (one gzipped tar layer holding the
build's name, pod uid and a serial) to the build's first tag and, when ``CACHE_TAG`` is set, a
cache image to that tag, with contents new for every build so each build yields a new digest.
``completion_message`` stands in for kpack's completion container: it resolves what was pushed
and encodes base64(gzip(JSON)) with :func:`contracts.completion.encode_completion_message`. The
builder image's config it reports from is read once per builder digest (`BuilderConfigs`): every
build pod of one builder reads the same, and at hundreds of pods at once those reads were a good
part of the registry requests a build makes.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import logging
import tarfile
from datetime import datetime
from typing import Any

from contracts import builds, completion
from services import errors
from services.registry import client as registry_client
from services.registry import config as registry_config
from services.testbed.kubelet import build_pods

logger = logging.getLogger(__name__)
SIMULATED_LABEL = "dev.kiln.simulated"
BUILDER_LABEL = "dev.kiln.simulated.builder"
"""On a simulated app image: the builder image that made it, which a rebase carries forward (as the
lifecycle's rebaser keeps an app image's build metadata and changes only its run image)."""


@dataclasses.dataclass(frozen=True)
class Pushed:
    """Manifest digests the image step pushed."""

    image_tag: str
    image_digest: str
    cache_tag: str = ""
    cache_digest: str = ""


async def push_images(
    registry: registry_client.RegistryClient, pod: dict[str, Any], *, step: str, serial: int, now: datetime
) -> Pushed:
    """Push the app image (and, on export with ``CACHE_TAG``, the cache image)."""
    tags = build_pods.tags(pod)
    if not tags:
        raise errors.InvalidError(f"step {step} has no tag to push to")
    metadata = pod.get("metadata") or {}
    content = {
        "build": build_pods.build_name(pod),
        "pod": metadata.get("uid", ""),
        "serial": serial,
        "at": now.isoformat(),
    }
    layer, diff_id = _layer("app/build.json", content)
    builder = await _builder_of(registry, pod)
    app = _config("app", diff_id, labels={BUILDER_LABEL: builder} if builder else {})
    # every blob holds the pod's uid and a serial: new to the registry, so nothing is asked first
    image_digest = await registry.push_image(tags[0], config=app, layers=[layer], new_blobs=True)
    cache_tag = build_pods.cache_tag(pod) if step == "export" else ""
    if not cache_tag:
        return Pushed(image_tag=tags[0], image_digest=image_digest)
    cache_layer, cache_diff_id = _layer("cache/layers.json", {**content, "cacheOf": tags[0]})
    cache_digest = await registry.push_image(
        cache_tag, config=_config("cache", cache_diff_id), layers=[cache_layer], new_blobs=True
    )
    return Pushed(tags[0], image_digest, cache_tag, cache_digest)


class BuilderConfigs:
    """Builder image configs read so far, by digest reference (what a digest names never changes;
    a builder named by tag is read every time); at most ``size``, the oldest forgotten first."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._known: dict[str, registry_config.ImageConfig] = {}

    async def read(self, registry: registry_client.RegistryClient, image: str) -> registry_config.ImageConfig:
        found = self._known.get(image)
        if found is not None:
            return found
        config = await registry.fetch_config(image)
        if "@sha256:" in image:
            if len(self._known) >= self._size:
                del self._known[next(iter(self._known))]
            self._known[image] = config
        return config


async def completion_message(
    registry: registry_client.RegistryClient,
    pod: dict[str, Any],
    *,
    configs: BuilderConfigs | None = None,
    pushed: Pushed | None = None,
) -> str:
    """The completion container's termination message for a pod whose image step succeeded
    (``configs``: the builder configs read before, shared between pods).

    ``pushed`` is what this pod's image step wrote, as the exporter's report hands it on to
    kpack's completion container; without it, the tags are resolved in the registry."""
    tags = build_pods.tags(pod)
    if not tags:
        raise errors.InvalidError("the build pod has no tag")
    cache_tag = build_pods.cache_tag(pod)
    if pushed is not None and pushed.image_tag == tags[0] and pushed.cache_tag == cache_tag:
        latest_image = registry.pinned(tags[0], pushed.image_digest)
        latest_cache = registry.pinned(cache_tag, pushed.cache_digest) if cache_tag else ""
        return await _encoded(registry, pod, latest_image, latest_cache, configs=configs)
    latest_image = await registry.digest_ref(tags[0])
    latest_cache = ""
    if cache_tag:
        try:
            latest_cache = await registry.digest_ref(cache_tag)
        except errors.KilnError as e:
            logger.warning("cache tag %s could not be resolved: %s", cache_tag, e)
    return await _encoded(registry, pod, latest_image, latest_cache, configs=configs)


async def _encoded(
    registry: registry_client.RegistryClient,
    pod: dict[str, Any],
    latest_image: str,
    latest_cache: str,
    *,
    configs: BuilderConfigs | None,
) -> str:
    builder = await builder_config(registry, pod, configs=configs or BuilderConfigs())
    metadata = completion.CompletionMetadata(
        buildpack_metadata=[
            builds.BuildpackInfo(id=bp.id, version=bp.version, homepage=bp.homepage or None)
            for bp in builder.buildpacks
        ],
        latest_image=latest_image,
        latest_cache_image=latest_cache,
        stack_id=builder.stack_id,
        stack_run_image=build_pods.run_image(pod),
        lifecycle_version=builder.lifecycle_version,
    )
    return completion.encode_completion_message(metadata)


async def _builder_of(registry: registry_client.RegistryClient, pod: dict[str, Any]) -> str:
    """The builder image the pod builds with; for a rebase, the one that made the last built image."""
    named = build_pods.builder_image(pod)
    last = build_pods.last_built_image(pod)
    if named or not last:
        return named
    try:
        return (await registry.fetch_config(last)).labels.get(BUILDER_LABEL, "")
    except errors.KilnError as e:
        logger.warning("last built image %s unreadable (%s): its builder is unknown", last, e)
        return ""


async def builder_config(
    registry: registry_client.RegistryClient, pod: dict[str, Any], *, configs: BuilderConfigs
) -> registry_config.ImageConfig:
    """The builder image's config (stack, buildpacks, lifecycle); empty if it cannot be read."""
    image = await _builder_of(registry, pod)
    try:
        return await configs.read(registry, image)
    except errors.KilnError as e:
        logger.warning("builder image %s unreadable (%s): no stack or buildpacks reported", image, e)
        return registry_config.ImageConfig()


def _layer(path: str, content: dict[str, Any]) -> tuple[bytes, str]:
    """A gzipped tar holding ``path`` with ``content`` as JSON; returns (blob, diff id)."""
    data = json.dumps(content, sort_keys=True).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(path)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def _config(kind: str, diff_id: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {SIMULATED_LABEL: kind, **(labels or {})}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
