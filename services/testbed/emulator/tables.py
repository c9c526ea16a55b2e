"""``meta.k8s.io/v1`` Tables, what ``kubectl get`` asks for, with a few columns per resource."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from services.testbed.emulator import resources

Column = tuple[str, Callable[[dict[str, Any]], Any]]
TABLE_ACCEPT = "as=Table"


def _path(obj: dict[str, Any], *parts: str) -> Any:
    value: Any = obj
    for part in parts:
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else value


def _condition(kind: str) -> Callable[[dict[str, Any]], Any]:
    def status_of(obj: dict[str, Any]) -> Any:
        for condition in _path(obj, "status", "conditions") or []:
            if isinstance(condition, dict) and condition.get("type") == kind:
                return condition.get("status", "")
        return ""

    return status_of


def _ready(obj: dict[str, Any]) -> str:
    statuses = _path(obj, "status", "containerStatuses") or []
    ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
    return f"{ready}/{len(_path(obj, 'spec', 'containers') or [])}"


def _restarts(obj: dict[str, Any]) -> int:
    statuses = _path(obj, "status", "containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses if isinstance(s, dict))


_LATEST: Column = ("LatestImage", lambda obj: _path(obj, "status", "latestImage"))
_COLUMNS: dict[str, list[Column]] = {
    "pods": [("Ready", _ready), ("Status", lambda o: _path(o, "status", "phase")), ("Restarts", _restarts)],
    "persistentvolumeclaims": [
        ("Status", lambda o: _path(o, "status", "phase")),
        ("Volume", lambda o: _path(o, "spec", "volumeName")),
        ("Capacity", lambda o: _path(o, "status", "capacity", "storage")),
        ("StorageClass", lambda o: _path(o, "spec", "storageClassName")),
    ],
    "images.kpack.io": [_LATEST, ("Ready", _condition("Ready"))],
    "builds.kpack.io": [_LATEST, ("Succeeded", _condition("Succeeded"))],
    "builders.kpack.io": [_LATEST, ("Ready", _condition("Ready"))],
    "clusterbuilders.kpack.io": [_LATEST, ("Ready", _condition("Ready"))],
}


def age(created: str, now: datetime.datetime) -> str:
    """kubectl's short human duration: 42s, 7m, 5h, 3d."""
    if not created:
        return "<unknown>"
    then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(
    resource: resources.ResourceType,
    objects: list[dict[str, Any]],
    *,
    resource_version: str,
    now: datetime.datetime,
) -> dict[str, Any]:
    columns = _COLUMNS.get(resource.key, [])
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [
        {"name": n, "type": "string", "format": "", "description": n, "priority": 0} for n, _ in columns
    ]
    definitions.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for obj in objects:
        meta = obj["metadata"]
        cells = [
            meta["name"],
            *(value(obj) for _, value in columns),
            age(meta.get("creationTimestamp", ""), now),
        ]
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        rows.append({"cells": cells, "object": partial})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
