"""The objects of one resource, kept by namespace and indexed by label, so a list costs what it returns.

A list with a label selector used to test every stored object of its resource: at 10,000 Images
and their Builds and pods, listing one Image's Builds (what the image-reconciler does for every
reconcile) scanned tens of thousands of objects. `Shelf` keeps

* the objects by namespace, then name: a namespaced list reads one namespace;
* an index label key → label value → the (namespace, name) keys carrying it, which answers the
  narrowing terms of a selector (``k=v``, ``k in (a,b)``, ``k``) at the cost of what they match;
  the negative terms (``k!=v``, ``k notin (…)``, ``!k``) and field selectors are checked on those
  candidates only.

Pure data, no I/O; the store (`store`) writes through it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from services.testbed.emulator import selectors

Obj = dict[str, Any]
Name = tuple[str, str]
"""(namespace or "", name)"""
_NONE: frozenset[Name] = frozenset()


def labels_of(obj: Obj) -> dict[str, str]:
    """``metadata.labels`` as the index keeps them: values as strings, a malformed map as none."""
    labels = (obj.get("metadata") or {}).get("labels")
    if not isinstance(labels, dict):
        return {}
    return {str(key): value if isinstance(value, str) else str(value) for key, value in labels.items()}


class Shelf:
    """The stored objects of one resource."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        self._by_label: dict[str, dict[str, set[Name]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: Name) -> bool:
        return key[1] in self._by_namespace.get(key[0], {})

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._by_namespace.get(namespace, {}).get(name)

    def put(self, namespace: str, name: str, obj: Obj) -> None:
        """Store ``obj`` under its key, replacing what was there (and its index entries)."""
        objects = self._by_namespace.setdefault(namespace, {})
        old = objects.get(name)
        objects[name] = obj
        if old is None:
            self._count += 1
        old_labels = labels_of(old) if old is not None else {}
        new_labels = labels_of(obj)
        if old_labels == new_labels:
            return
        key = (namespace, name)
        for label, value in old_labels.items():
            if new_labels.get(label) != value:
                self._unindex(label, value, key)
        for label, value in new_labels.items():
            if old_labels.get(label) != value:
                self._by_label.setdefault(label, {}).setdefault(value, set()).add(key)

    def remove(self, namespace: str, name: str) -> Obj | None:
        objects = self._by_namespace.get(namespace, {})
        old = objects.pop(name, None)
        if old is None:
            return None
        self._count -= 1
        if not objects:
            del self._by_namespace[namespace]
        for label, value in labels_of(old).items():
            self._unindex(label, value, (namespace, name))
        return old

    def _unindex(self, label: str, value: str, key: Name) -> None:
        values = self._by_label.get(label, {})
        keys = values.get(value)
        if keys is None:
            return
        keys.discard(key)
        if not keys:
            del values[value]
            if not values:
                del self._by_label[label]

    def names(self) -> Iterator[Name]:
        for namespace, objects in self._by_namespace.items():
            for name in objects:
                yield namespace, name

    def names_in(self, namespace: str) -> list[str]:
        return list(self._by_namespace.get(namespace, {}))

    def candidates(self, namespace: str | None, labels: selectors.LabelSelector) -> Iterable[Obj]:
        """The objects in ``namespace`` (None: all) that may match ``labels``: those the narrowest
        indexed term of the selector names, or the namespace's (or every) object when that is
        fewer or no term narrows. The caller still checks each against the whole selector."""
        narrowest: Collection[Name] | None = None
        for term in labels.requirements:
            if term.narrows:
                matching = self._matching(term)
                if narrowest is None or len(matching) < len(narrowest):
                    narrowest = matching
        in_scope = len(self._by_namespace.get(namespace, {})) if namespace is not None else self._count
        if narrowest is None or len(narrowest) >= in_scope:
            return self._scope(namespace)
        found = []
        for key in narrowest:
            if namespace is None or key[0] == namespace:
                obj = self.get(*key)
                if obj is not None:
                    found.append(obj)
        return found

    def _scope(self, namespace: str | None) -> Iterable[Obj]:
        if namespace is not None:
            return list(self._by_namespace.get(namespace, {}).values())
        return [obj for objects in self._by_namespace.values() for obj in objects.values()]

    def _matching(self, term: selectors.Requirement) -> Collection[Name]:
        """The keys of the objects a narrowing term can match (never to be changed by the caller)."""
        values = self._by_label.get(term.key, {})
        sets = list(values.values()) if term.op == "exists" else [values.get(v, _NONE) for v in term.values]
        if len(sets) == 1:
            return sets[0]
        matching: set[Name] = set()
        for keys in sets:
            matching |= keys
        return matching
