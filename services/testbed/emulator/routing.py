"""Where a request goes: URL → resource target, HTTP method → Kubernetes verb."""

from __future__ import annotations

import dataclasses

from services.testbed.emulator import resources


@dataclasses.dataclass(frozen=True)
class Target:
    """A resolved resource URL: ``namespace`` None for cluster-scoped or all-namespaces."""

    resource: resources.ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None

    def verb(self, method: str, *, watch: bool) -> str:
        if method == "GET":
            if self.name is not None:
                return "get"
            return "watch" if watch else "list"
        if method == "DELETE":
            return "delete" if self.name is not None else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())

    @property
    def fault_resource(self) -> str:
        return f"{self.resource.plural}/{self.subresource}" if self.subresource else self.resource.plural


@dataclasses.dataclass(frozen=True)
class Discovery:
    """A discovery URL: ``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>``."""

    group: str | None
    version: str | None
    legacy: bool


def parse(path: str) -> Target | Discovery | None:
    """Resolve a path under ``/api`` or ``/apis``; None when nothing is served there."""
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    if parts[0] == "api":
        group, rest = "", parts[1:]
        if not rest:
            return Discovery(None, None, legacy=True)
    else:
        if len(parts) < 3:
            return Discovery(parts[1] if len(parts) == 2 else None, None, legacy=False)
        group, rest = parts[1], parts[2:]
    version, rest = rest[0], rest[1:]
    if not rest:
        return Discovery(group, version, legacy=not group)
    return _target(group, version, rest)


LOG_SUBRESOURCE = "log"
"""``pods/{name}/log``: a container's log (:mod:`.logs`)."""


def _serves(resource: resources.ResourceType, subresource: str) -> bool:
    if subresource == "status":
        return resource.status_subresource
    return subresource == LOG_SUBRESOURCE and resource.group == "" and resource.plural == "pods"


def _target(group: str, version: str, rest: list[str]) -> Target | None:
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] != "status":
        namespace, rest = rest[1], rest[2:]
    resource = resources.by_url(group, version, rest[0])
    if resource is None or len(rest) > 3:
        return None
    if namespace is not None and not resource.namespaced:
        return None
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    if subresource is not None and not _serves(resource, subresource):
        return None
    if resource.namespaced and name is not None and namespace is None:
        return None
    return Target(resource, version, namespace if resource.namespaced else None, name, subresource)
