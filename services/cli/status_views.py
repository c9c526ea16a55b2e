"""What ``kiln images list``, ``kiln image status``, ``kiln builds list`` and ``kiln build status``
show, as data: rows and documents made from Images and Builds, the ``buildChanges`` annotation as
a readable diff, and how long each build step took. Pure: the commands read the cluster and print.

Every view is a plain dict with camelCase keys, what ``-o json|yaml`` prints as is; the tables
take their cells from the same dicts (:data:`IMAGE_COLUMNS`, :data:`BUILD_COLUMNS`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from contracts import builds, images, meta

CacheKind = Literal["registry", "volume", "none"]
BuildState = Literal["SUCCEEDED", "FAILURE", "BUILDING", "CANCELED"]

Columns = tuple[tuple[str, str], ...]
"""Each column's header and the key of the row dict it shows."""

IMAGE_COLUMNS: Columns = (
    ("NAME", "name"),
    ("READY", "ready"),
    ("LATEST BUILD", "latestBuild"),
    ("REASON", "latestBuildReason"),
    ("LATEST IMAGE", "latestImage"),
    ("CACHE", "cache"),
)
"""``kiln images list``: header and the key of :func:`image_row` each column shows."""
BUILD_COLUMNS: Columns = (
    ("BUILD", "buildNumber"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("REASON", "reason"),
    ("IMAGE", "imageDigest"),
    ("STARTED", "started"),
    ("DURATION", "duration"),
)
"""``kiln builds list``: header and the key of :func:`build_row` each column shows."""

_CONTAINER_NAME = re.compile(r"^Container (\S+) ")


# images


def cache_kind(image: images.Image) -> CacheKind:
    """Which build cache the Image asks for: a registry tag, a volume, or none."""
    if image.spec.registry_cache_requested():
        return "registry"
    if image.spec.volume_cache_requested():
        return "volume"
    return "none"


def pinned_cache(image: images.Image, found: Iterable[builds.Build]) -> tuple[str | None, int | None]:
    """The registry cache image the next build reads, pinned by digest, and the number of the build
    that wrote it: the Image's ``status.latestCacheImage``, else the newest successful Build's."""
    if image.status.latest_cache_image:
        return image.status.latest_cache_image, image.status.latest_cache_build_number
    written = [b for b in found if b.succeeded() and b.status.latest_cache_image]
    if not written:
        return None, None
    newest = max(written, key=lambda b: b.build_number() or 0)
    return newest.status.latest_cache_image, newest.build_number()


def ready(image: images.Image) -> str:
    condition = image.status.condition("Ready")
    return condition.status if condition is not None else "Unknown"


def image_row(image: images.Image) -> dict[str, Any]:
    """One line of ``kiln images list``, as ``kp image list`` shows it."""
    return {
        "name": image.name,
        "namespace": image.namespace,
        "ready": ready(image),
        "latestBuild": image.status.latest_build_ref or "",
        "latestBuildReason": image.status.latest_build_reason or "",
        "latestImage": image.status.latest_image or "",
        "cache": cache_kind(image),
    }


def image_status(image: images.Image, found: Sequence[builds.Build]) -> dict[str, Any]:
    """``kiln image status``: the Image, its newest build and cache, conditions and source."""
    newest = newest_build(found)
    pinned, pinned_by = pinned_cache(image, found)
    cache: dict[str, Any] = {"kind": cache_kind(image)}
    if image.spec.cache is not None and image.spec.cache.registry is not None:
        cache["tag"] = image.spec.cache.registry.tag
    if image.status.build_cache_name:
        cache["volume"] = image.status.build_cache_name
    if pinned:
        cache |= {"image": pinned, "digest": digest_of(pinned), "buildNumber": pinned_by}
    return {
        "name": image.name,
        "namespace": image.namespace,
        "ready": ready(image),
        "tag": image.spec.tag,
        "latestBuild": image.status.latest_build_ref or "",
        "latestBuildNumber": image.status.build_counter,
        "latestBuildReasons": split_reasons(image.status.latest_build_reason or ""),
        "latestImage": image.status.latest_image or "",
        "latestImageDigest": digest_of(image.status.latest_image or ""),
        "cache": cache,
        "conditions": conditions(image.status.conditions or []),
        "source": source(newest, image=image),
    }


def source(build: builds.Build | None, *, image: images.Image) -> dict[str, Any]:
    """Where the source comes from: the newest Build's resolved source (the git commit it built),
    else what the Image asks for."""
    config = build.spec.source if build is not None else image.spec.source
    if config.git is not None:
        return {"type": "git", "url": config.git.url, "revision": config.git.revision}
    if config.blob is not None:
        return {"type": "blob", "url": config.blob.url}
    if config.registry is not None:
        return {"type": "registry", "image": config.registry.image}
    return {"type": "none"}


# builds


def build_state(build: builds.Build) -> BuildState:
    if build.canceled():
        return "CANCELED"
    if build.succeeded():
        return "SUCCEEDED"
    if build.failed():
        return "FAILURE"
    return "BUILDING"


def build_row(build: builds.Build, *, now: datetime) -> dict[str, Any]:
    """One line of ``kiln builds list``; a running build's duration runs to ``now``."""
    started, finished = build_times(build)
    return {
        "buildNumber": build.build_number(),
        "name": build.name,
        "image": build.image_name(),
        "status": build_state(build),
        "reason": build.reason(),
        "imageDigest": digest_of(build.status.latest_image or ""),
        "started": build.metadata.creation_timestamp or "",
        "duration": duration(started, finished or (now if build.running() else None)),
    }


def ordered_builds(found: Iterable[builds.Build]) -> list[builds.Build]:
    """By Image, then build number (a Build without one last), then name."""
    return sorted(found, key=lambda b: (b.image_name(), b.build_number() or 1 << 62, b.name))


def newest_build(found: Iterable[builds.Build]) -> builds.Build | None:
    """The Build with the highest build number (then the newest creation time)."""
    return max(
        found, key=lambda b: (b.build_number() or 0, b.metadata.creation_timestamp or ""), default=None
    )


def build_status(build: builds.Build, *, now: datetime) -> dict[str, Any]:
    """``kiln build status``: reasons, what changed, pod, timing per step, builder, run image,
    buildpacks."""
    started, finished = build_times(build)
    stack = build.status.stack
    return {
        "name": build.name,
        "namespace": build.namespace,
        "image": build.image_name(),
        "buildNumber": build.build_number(),
        "status": build_state(build),
        "reasons": split_reasons(build.reason()),
        "changes": changes(build.annotations.get(builds.CHANGES_ANNOTATION, "")),
        "conditions": conditions(build.status.conditions or []),
        "imageDigest": digest_of(build.status.latest_image or ""),
        "latestImage": build.status.latest_image or "",
        "latestCacheImage": build.status.latest_cache_image or "",
        "podName": build.status.pod_name or "",
        "started": build.metadata.creation_timestamp or "",
        "duration": duration(started, finished or (now if build.running() else None)),
        "steps": step_timings(build.status.step_states or [], completed=build.status.steps_completed or []),
        "builder": build.spec.builder.image,
        "runImage": stack.run_image if stack is not None else "",
        "stack": stack.id if stack is not None else "",
        "lifecycleVersion": build.status.lifecycle_version or "",
        "buildpacks": [{"id": bp.id, "version": bp.version} for bp in build.status.build_metadata or []],
    }


def build_times(build: builds.Build) -> tuple[datetime | None, datetime | None]:
    """When the Build was created and when its ``Succeeded`` condition turned True or False."""
    started = parse_time(build.metadata.creation_timestamp)
    succeeded = build.status.condition("Succeeded")
    if build.running() or succeeded is None:
        return started, None
    return started, parse_time(succeeded.last_transition_time)


# what changed


def changes(annotation: str) -> list[dict[str, Any]]:
    """The ``image.kpack.io/buildChanges`` annotation: kpack's JSON list of ``{reason, old, new}``
    (empty when absent or unreadable)."""
    if not annotation:
        return []
    try:
        parsed = json.loads(annotation)
    except ValueError:
        return []
    if not isinstance(parsed, list):
        return []
    return [
        {"reason": str(item.get("reason", "")), "old": item.get("old"), "new": item.get("new")}
        for item in parsed
        if isinstance(item, dict)
    ]


def changes_diff(found: Sequence[dict[str, Any]]) -> list[str]:
    """Each change as a heading and ``- old`` / ``+ new`` lines; objects (a CONFIG change) as a
    line diff of their indented JSON, unchanged lines kept as context."""
    lines: list[str] = []
    for change in found:
        lines.append(f"{change['reason']}:")
        old, new = change.get("old"), change.get("new")
        if isinstance(old, dict | list) or isinstance(new, dict | list):
            before, after = _json_lines(old), _json_lines(new)
            diff = difflib.unified_diff(before, after, lineterm="", n=max(len(before), len(after)))
            lines += [f"  {line}" for line in list(diff)[3:]]
        else:
            lines += [f"  - {_scalar(old)}", f"  + {_scalar(new)}"]
    return lines


def _json_lines(value: Any) -> list[str]:
    return [] if value is None else json.dumps(value, indent=2, sort_keys=True).splitlines()


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


# steps


def step_timings(states: Sequence[dict[str, Any]], *, completed: Sequence[str]) -> list[dict[str, Any]]:
    """Each build step's state and how long it ran, in pod order. A step is named by its message
    (``Container analyze terminated successfully``), else by ``stepsCompleted`` (the steps run one
    after another, so the completed ones come first), else by its position."""
    timings = []
    for index, state in enumerate(states):
        kind, detail = _state(state)
        started = parse_time(detail.get("startedAt"))
        finished = parse_time(detail.get("finishedAt"))
        timing: dict[str, Any] = {
            "step": _step_name(detail, index=index, completed=completed),
            "state": kind,
            "startedAt": detail.get("startedAt") or "",
            "finishedAt": detail.get("finishedAt") or "",
            "seconds": (finished - started).total_seconds() if started and finished else None,
            "duration": duration(started, finished),
        }
        if kind == "terminated":
            timing["exitCode"] = detail.get("exitCode")
        timings.append(timing)
    return timings


def _state(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for kind in ("terminated", "running", "waiting"):
        detail = state.get(kind)
        if isinstance(detail, dict):
            return kind, detail
    return "unknown", {}


def _step_name(detail: dict[str, Any], *, index: int, completed: Sequence[str]) -> str:
    named = _CONTAINER_NAME.match(str(detail.get("message") or ""))
    if named:
        return named.group(1)
    return completed[index] if index < len(completed) else f"step {index + 1}"


# shared


def conditions(found: Iterable[meta.Condition]) -> list[dict[str, str]]:
    return [
        {"type": c.type, "status": c.status, "reason": c.reason or "", "message": c.message or ""}
        for c in found
    ]


def split_reasons(joined: str) -> list[str]:
    return [reason.strip() for reason in joined.split(",") if reason.strip()]


def digest_of(reference: str) -> str:
    """``sha256:…`` of ``repo@sha256:…``; "" when the reference has no digest."""
    return reference.rpartition("@")[2] if "@" in reference else ""


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time, or None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(started: datetime | None, finished: datetime | None) -> str:
    """``1.5s``, ``2m03s``, ``1h02m``; "" when either end is unknown."""
    if started is None or finished is None:
        return ""
    seconds = max((finished - started).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
