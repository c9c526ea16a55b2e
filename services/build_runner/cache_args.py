"""The cache argument matrix of the build pod (kpack [HEAD], platform API 0.7 to 0.9).

=====================  ==================  ==================  ==================  ===========
case                   analyze             restore             export              cache-dir
=====================  ==================  ==================  ==================  ===========
no cache               .                   .                   .                   no
volume                 .                   -cache-dir=/cache   -cache-dir=/cache   restore, export
registry, first build  -cache-image=TAG    -cache-image=TAG    -cache-image=TAG    no
registry, PREV digest  -cache-image=PREV   -cache-image=PREV   -cache-image=TAG    no
=====================  ==================  ==================  ==================  ===========

An empty claim name or an empty tag is no cache; a volume wins over a registry cache. The
exporter always writes to the tag; the readers use the digest the previous build pinned.
"""

from __future__ import annotations

from typing import Any

from contracts import builds

CACHE_DIR_VOLUME = "cache-dir"
CACHE_DIR = "/cache"
CACHE_DIR_ARG = f"-cache-dir={CACHE_DIR}"
CACHE_TAG_ENV = "CACHE_TAG"

_VOLUME_STEPS = ("restore", "export")
_REGISTRY_READERS = ("analyze", "restore")


def cache_args_for_step(step: str, build: builds.Build) -> list[str]:
    """The cache arguments of lifecycle step ``step`` (``analyze``, ``restore``, ``export``…)."""
    spec = build.spec
    if spec.volume_cache():
        return [CACHE_DIR_ARG] if step in _VOLUME_STEPS else []
    if not spec.registry_cache():
        return []
    if step == "export":
        return [f"-cache-image={spec.registry_cache_tag()}"]
    if step in _REGISTRY_READERS:
        return [f"-cache-image={cache_image_to_read(build)}"]
    return []


def cache_image_to_read(build: builds.Build) -> str:
    """The previous build's pinned cache digest when there is one, else the cache tag."""
    last = build.spec.last_build
    if last is not None and last.cache.image != "":
        return last.cache.image
    return build.spec.registry_cache_tag()


def cache_mounts_for_step(step: str, build: builds.Build) -> list[dict[str, Any]]:
    """``[cache-dir:/cache]`` on restore and export of a volume-cache build, else nothing."""
    if build.spec.volume_cache() and step in _VOLUME_STEPS:
        return [{"name": CACHE_DIR_VOLUME, "mountPath": CACHE_DIR}]
    return []


def cache_volume(build: builds.Build) -> list[dict[str, Any]]:
    """The ``cache-dir`` pod volume on the build's PVC: only for a volume cache."""
    cache = build.spec.cache
    if cache is None or cache.volume is None or not build.spec.volume_cache():
        return []
    claim = cache.volume.persistent_volume_claim_name
    return [{"name": CACHE_DIR_VOLUME, "persistentVolumeClaim": {"claimName": claim}}]


def cache_tag_env(build: builds.Build) -> dict[str, str]:
    """``CACHE_TAG`` of the completion container: the registry tag, or empty."""
    return {"name": CACHE_TAG_ENV, "value": build.spec.registry_cache_tag()}
