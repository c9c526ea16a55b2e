"""What each simulated step prints, in the words the CNB lifecycle and kpack's build-init use (pure).

Nothing runs, so these are made up from what the pod says (its source, cache flags, tags, run
image, the Build's reasons and changes) and what the builder image holds (its buildpacks): enough
for ``kiln logs`` and ``kubectl logs`` to show a build the way a real one reads.

A step prints its `opening` lines as it starts; the image step prints `pushed` once the images are
in the registry; a failing step ends with `failure`.
"""

from __future__ import annotations

import json
from typing import Any

from contracts import builds
from services.registry import config as registry_config
from services.testbed.kubelet import build_pods


def opening(
    pod: dict[str, Any], step: str, *, builder: registry_config.ImageConfig | None = None
) -> list[str]:
    """The lines ``step`` prints as it starts."""
    buildpacks = list(builder.buildpacks) if builder is not None else []
    if step == "prepare":
        return _prepare(pod)
    if step == "analyze":
        tag = (build_pods.tags(pod) or ["the image"])[0]
        return [f'Analyzing image "{tag}"', f"Run image: {build_pods.run_image(pod) or 'from the builder'}"]
    if step == "detect":
        listed = [f"{bp.id} {bp.version}".strip() for bp in buildpacks]
        return [f"{len(listed)} of {len(listed)} buildpacks participating", *listed]
    if step == "restore":
        return _restore(pod)
    if step == "build":
        lines = []
        for bp in buildpacks:
            lines += [f"{bp.id} {bp.version}".strip(), f'  Contributing layer "{bp.id}:app"']
        return lines or ["No buildpacks to run"]
    if step == "export":
        return [
            "Adding layer 'buildpacksio/lifecycle:launcher'",
            "Adding 1/1 app layer(s)",
            "Adding label 'io.buildpacks.lifecycle.metadata'",
            f"Saving {(build_pods.tags(pod) or [''])[0]}...",
        ]
    if step == "rebase":
        last = build_pods.last_built_image(pod) or "the last built image"
        return [f'Rebasing "{last}" on run image "{build_pods.run_image(pod)}"']
    if step == build_pods.COMPLETION:
        return ["Build successful"]
    return [f"Running {step}"]


def _prepare(pod: dict[str, Any]) -> list[str]:
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    lines = [f"Build reason(s): {notes.get(builds.REASON_ANNOTATION) or 'none given'}"]
    lines += _changes(notes.get(builds.CHANGES_ANNOTATION, ""))
    source = build_pods.env(build_pods.container(pod, "prepare"))
    if source.get("GIT_URL"):
        url, revision = source["GIT_URL"], source.get("GIT_REVISION", "")
        lines += [
            f'Cloning "{url}" @ "{revision}"...',
            f'Successfully cloned "{url}" @ "{revision}" in path "/workspace"',
        ]
    elif source.get("BLOB_URL"):
        url = source["BLOB_URL"]
        lines += [f'Downloading "{url}"...', f'Successfully downloaded "{url}" in path "/workspace"']
    elif source.get("REGISTRY_IMAGE"):
        image = source["REGISTRY_IMAGE"]
        lines += [f'Pulling "{image}"...', f'Successfully pulled "{image}" in path "/workspace"']
    return lines


def _changes(annotation: str) -> list[str]:
    """``REASON: old -> new`` for each change the Build was made for."""
    try:
        changes = json.loads(annotation) if annotation else []
    except ValueError:
        return []
    if not isinstance(changes, list):
        return []
    return [_change(change) for change in changes if isinstance(change, dict)]


def _change(change: dict[str, Any]) -> str:
    reason, old, new = change.get("reason", ""), change.get("old"), change.get("new")
    if old in (None, "", {}):
        return f"{reason}: {_short(new)}"
    return f"{reason}: {_short(old)} -> {_short(new)}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _restore(pod: dict[str, Any]) -> list[str]:
    for flag in build_pods.cache_args(build_pods.container(pod, "restore")):
        if flag.startswith("-cache-image="):
            return [f'Restoring data from cache image "{flag.partition("=")[2]}"']
        if flag.startswith("-cache-dir="):
            return [f'Restoring data from cache volume "{flag.partition("=")[2]}"']
    return ["No cached data will be used, no cache specified."]


def pushed(
    pod: dict[str, Any], *, image_digest: str, cache_tag: str = "", cache_digest: str = ""
) -> list[str]:
    """What the image step prints once it has written the image (and the cache image)."""
    lines = [f"*** Images ({image_digest.removeprefix('sha256:')[:12]}):"]
    lines += [f"      {tag}" for tag in build_pods.tags(pod)]
    if cache_tag:
        lines.append(f'Saving cache image "{cache_tag}" ({cache_digest})')
    return [*lines, f"*** Digest: {image_digest}"]


def failure(message: str) -> list[str]:
    """The last line of a step that fails."""
    return [f"ERROR: {message}"]
