"""The emulator's object store: API write semantics over plain dicts, no I/O.

* one global resourceVersion counter (answered as strings), bumped by every write;
* ``uid``, ``creationTimestamp``, ``generation`` (1 on create, +1 when anything outside
  ``metadata`` and ``status`` changes; status writes never bump it); ``generateName``;
* status subresource isolation: main-resource writes keep the stored ``status``, ``/status``
  writes change only ``status``;
* optimistic concurrency: a write carrying a stale ``metadata.resourceVersion`` is 409 Conflict;
  a write that changes nothing is a no-op (no new version, no event);
* deletion with preconditions, finalizers (``deletionTimestamp`` until they are removed) and
  garbage collection of dependents through ``ownerReferences`` (``Orphan`` strips the references
  instead); deleting a namespace deletes its contents.

Stored dicts are never mutated in place; every write stores a new dict, so snapshots handed to
watch events stay valid.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from contracts import meta
from services.testbed.emulator import encoding, indexes, resources, selectors, statuses, validating, watching

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str, str]
"""(resource key, namespace or "", name)"""

_INITIAL_STATUS: dict[str, Obj] = {
    "pods": {"phase": "Pending"},
    "persistentvolumeclaims": {"phase": "Pending"},
    "namespaces": {"phase": "Active"},
}
_NAME_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _timestamp(moment: datetime.datetime) -> str:
    return meta.rfc3339(moment)


def copy_of(obj: Obj) -> Obj:
    return encoding.copy_of(obj)


def _share_strings(value: Any) -> Any:
    """``value`` with its string values interned in place: the many strings build pods and Builds
    repeat (images, container, env and volume names, mount paths) are kept once, about 40 % of a
    build pod's memory. ``value`` is a written body, decoded for this write alone; the parts a patch
    left shared with the stored object hold interned strings already, so nothing stored changes."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _share_strings(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _share_strings(item)
    elif isinstance(value, str):
        return sys.intern(value)
    return value


def _spec_of(obj: Obj) -> Obj:
    return {
        key: value for key, value in obj.items() if key not in ("metadata", "status", "apiVersion", "kind")
    }


class Store:
    """All objects of every served resource, with the change log watches read from."""

    def __init__(
        self,
        *,
        event_window: int = 10_000,
        require_namespaces: bool = False,
        clock: Callable[[], datetime.datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.events = watching.EventLog(window=event_window)
        self.require_namespaces = require_namespaces
        self._clock = clock
        self._rng = rng or random.Random()
        self._counter = itertools.count(1)
        self.resource_version = 0
        self._objects: dict[str, indexes.Shelf] = {r.key: indexes.Shelf() for r in resources.RESOURCES}
        self._dependents: dict[str, set[Key]] = {}
        for name in ("default", "kube-system", "kube-public"):
            self.create(resources.by_name("namespaces"), "", {"metadata": {"name": name}})

    # reads

    def get(self, resource: resources.ResourceType, namespace: str, name: str) -> Obj:
        obj = self._objects[resource.key].get(namespace, name)
        if obj is None:
            raise statuses.not_found(resource, name)
        return obj

    def find(self, resource: resources.ResourceType, namespace: str, name: str) -> Obj | None:
        return self._objects[resource.key].get(namespace, name)

    def select(
        self,
        resource: resources.ResourceType,
        namespace: str | None,
        labels: selectors.LabelSelector | None = None,
        fields: selectors.Predicate | None = None,
    ) -> list[Obj]:
        """Objects of ``resource`` in ``namespace`` (all namespaces for None) matching the label and
        field selectors, by namespace and name; the label index picks the candidates."""
        labels = labels or selectors.LabelSelector()
        candidates = self._objects[resource.key].candidates(namespace, labels)
        found = [obj for obj in candidates if labels(obj) and (fields is None or fields(obj))]
        found.sort(key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
        return found

    def copies(self, resource: resources.ResourceType, namespace: str | None) -> list[Obj]:
        return [copy_of(obj) for obj in self.select(resource, namespace)]

    # writes

    def _next_version(self) -> str:
        self.resource_version = next(self._counter)
        return str(self.resource_version)

    def _record(self, kind: str, resource: resources.ResourceType, obj: Obj, old: Obj | None = None) -> None:
        namespace = obj["metadata"].get("namespace", "")
        change = watching.Change(self.resource_version, kind, resource.key, namespace, obj, old)
        self.events.append(change)

    def _save(self, resource: resources.ResourceType, obj: Obj, old: Obj | None) -> None:
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        self._objects[resource.key].put(namespace, name, obj)
        self._index_owners((resource.key, namespace, name), old, obj)

    def _index_owners(self, key: Key, old: Obj | None, new: Obj | None) -> None:
        for obj, add in ((old, False), (new, True)):
            for ref in (obj or {}).get("metadata", {}).get("ownerReferences") or []:
                uid = ref.get("uid") if isinstance(ref, dict) else None
                if not uid:
                    continue
                dependents = self._dependents.setdefault(uid, set())
                if add:
                    dependents.add(key)
                else:
                    dependents.discard(key)

    def create(self, resource: resources.ResourceType, namespace: str, body: Obj) -> Obj:
        """Store a new object from ``body``, which becomes the store's (the caller keeps no part of it)."""
        obj: Obj = _share_strings(validating.for_create(resource, namespace, body))
        meta = obj["metadata"]
        if resource.namespaced and self.require_namespaces:
            self.get(resources.by_name("namespaces"), "", namespace)
        if not meta.get("name"):
            meta["name"] = self._generate_name(resource, namespace, meta["generateName"])
        if (namespace, meta["name"]) in self._objects[resource.key]:
            raise statuses.already_exists(resource, meta["name"])
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            meta.pop(field, None)
        meta.update(
            uid=str(uuid.uuid4()),
            creationTimestamp=_timestamp(self._clock()),
            generation=1,
            resourceVersion=self._next_version(),
        )
        if resource.status_subresource:
            obj.pop("status", None)
            if resource.plural in _INITIAL_STATUS:
                obj["status"] = dict(_INITIAL_STATUS[resource.plural])
        self._save(resource, obj, None)
        self._record("ADDED", resource, obj)
        return obj

    def _generate_name(self, resource: resources.ResourceType, namespace: str, prefix: str) -> str:
        while True:
            name = prefix + "".join(self._rng.choice(_NAME_SUFFIX) for _ in range(5))
            if (namespace, name) not in self._objects[resource.key]:
                return name

    def update(
        self, resource: resources.ResourceType, namespace: str, name: str, body: Obj, *, status: bool = False
    ) -> Obj:
        """PUT (or the end of a PATCH): replace the object, or only its status with ``status=True``."""
        current = self.get(resource, namespace, name)
        validating.for_update(resource, namespace, name, body)
        sent_version = body["metadata"].get("resourceVersion") or None
        if sent_version is None and not resource.unconditional_update:
            field = "metadata.resourceVersion"
            raise statuses.invalid(
                resource, name, [(field, "Invalid value: 0x0: must be specified for an update")]
            )
        if sent_version is not None and str(sent_version) != current["metadata"]["resourceVersion"]:
            raise statuses.conflict(resource, name)
        if status:
            new = {**current, "status": _share_strings(body.get("status"))}
            if new["status"] is None:
                del new["status"]
            new["metadata"] = dict(current["metadata"])
        else:
            new = self._merge_managed(resource, current, _share_strings(body))
        return self._write(resource, current, new)

    def _merge_managed(self, resource: resources.ResourceType, current: Obj, body: Obj) -> Obj:
        new = dict(body)
        meta = new["metadata"] = dict(body["metadata"])
        for field in ("uid", "creationTimestamp", "generation", "namespace", "deletionTimestamp"):
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
            else:
                meta.pop(field, None)
        new.setdefault("apiVersion", current.get("apiVersion"))
        new.setdefault("kind", current.get("kind"))
        if resource.status_subresource:
            new.pop("status", None)
            if "status" in current:
                new["status"] = current["status"]
        if _spec_of(new) != _spec_of(current):
            meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        return new

    def _write(self, resource: resources.ResourceType, current: Obj, new: Obj) -> Obj:
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if new == current:
            return current
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(resource, current)
        meta["resourceVersion"] = self._next_version()
        self._save(resource, new, current)
        self._record("MODIFIED", resource, new, current)
        return new

    def delete(
        self,
        resource: resources.ResourceType,
        namespace: str,
        name: str,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: str | None = None,
    ) -> Obj:
        """Delete with preconditions; dependents are collected unless ``propagation`` is Orphan."""
        current = self.get(resource, namespace, name)
        meta = current["metadata"]
        if uid is not None and uid != meta["uid"]:
            why = f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta['uid']}"
            raise statuses.conflict(resource, name, why)
        if resource_version is not None and resource_version != meta["resourceVersion"]:
            why = (
                f"Precondition failed: ResourceVersion in precondition: {resource_version}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}"
            )
            raise statuses.conflict(resource, name, why)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return current
            new = {**current, "metadata": {**meta, "deletionTimestamp": _timestamp(self._clock())}}
            return self._write(resource, current, new)
        if propagation == "Orphan":
            self._orphan(meta["uid"])
        return self._remove(resource, current)

    def _remove(self, resource: resources.ResourceType, current: Obj) -> Obj:
        meta = current["metadata"]
        namespace = meta.get("namespace", "")
        self._objects[resource.key].remove(namespace, meta["name"])
        self._index_owners((resource.key, namespace, meta["name"]), current, None)
        gone = {**current, "metadata": {**meta, "resourceVersion": self._next_version()}}
        self._record("DELETED", resource, gone)
        self._collect(resource, current)
        return gone

    def _collect(self, resource: resources.ResourceType, owner: Obj) -> None:
        """Background garbage collection, done at once: dependents of a deleted owner go too."""
        keys = sorted(self._dependents.pop(owner["metadata"]["uid"], set()))
        if resource.plural == "namespaces":
            keys += self._keys_in_namespace(owner["metadata"]["name"])
        for resource_key, namespace, name in keys:
            dependent_type = resources.by_name(resource_key)
            if self.find(dependent_type, namespace, name) is not None:
                logger.debug("collecting %s %s/%s", resource_key, namespace, name)
                self.delete(dependent_type, namespace, name)

    def _keys_in_namespace(self, namespace: str) -> list[Key]:
        return [
            (resource_key, namespace, name)
            for resource_key, objects in self._objects.items()
            for name in objects.names_in(namespace)
        ]

    def _orphan(self, owner_uid: str) -> None:
        for resource_key, namespace, name in sorted(self._dependents.pop(owner_uid, set())):
            dependent_type = resources.by_name(resource_key)
            current = self.find(dependent_type, namespace, name)
            if current is None:
                continue
            refs = [
                ref for ref in current["metadata"].get("ownerReferences", []) if ref.get("uid") != owner_uid
            ]
            new = {**current, "metadata": {**current["metadata"], "ownerReferences": refs}}
            if not refs:
                del new["metadata"]["ownerReferences"]
            self._write(dependent_type, current, new)

    def compact(self) -> None:
        """Drop the watch history: resuming from any earlier version is now 410 Gone."""
        self.events.compact(self.resource_version)

    def all_keys(self) -> Iterator[Key]:
        for resource_key, objects in self._objects.items():
            for namespace, name in objects.names():
                yield resource_key, namespace, name
