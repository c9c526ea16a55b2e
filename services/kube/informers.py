"""Watch caches: one kind's objects as a list+watch last showed them, so a reconcile reads nothing
from the API server.

A :class:`Store` holds each object as compact JSON (parsed again when read: a few tens of
microseconds, and a fifth of the memory of a parsed model), by ``namespace/name`` and, for Builds,
by the value of one label (the Image a Build belongs to). The JSON is held at its exact size (the
bytes ``orjson`` returns keep their growth buffer, twice the JSON's size); a store made with
``compress`` (the services' caches) holds it deflated against a dictionary, the first object it
was given, since one object of a kind repeats most of another's keys and values: a finished
Build's 3.8 KB become about 0.45 KB and an Image's 1.3 KB about 0.2 KB, inflated again on each
read (3.5 µs for a Build). It takes:

* the watch's events and list answers (:class:`Informer` runs the list+watch);
* what the service itself read or wrote (:meth:`Store.offer`): the next read sees its own write
  at once, whatever the watch's delay.

Newer wins: an object's ``resourceVersion`` is compared as a number (the etcd revision every
Kubernetes API server and the emulator give), so a late event or answer never replaces a newer
one; a deleted object leaves a tombstone with the deletion's version, so an answer read before the
deletion does not bring it back. A version that is not a number disables the comparison for that
object (the last one seen wins).

A lookup answers :data:`FRESH` with the object, :data:`ABSENT` (the store is synced, the object is
not there), or :data:`UNKNOWN`: not synced yet, or marked stale (a conditional write was refused
on it, or an event asked for a version the watch did not bring in time); the caller then reads
the API server and offers the answer. So a cache older than the event never decides: the caller
waits for the version the event names (:meth:`Informer.catch_up`) or reads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal

import orjson

from services.kube import watching

logger = logging.getLogger(__name__)
Key = tuple[str, str]
FRESH: Final = "fresh"
ABSENT: Final = "absent"
UNKNOWN: Final = "unknown"
TOMBSTONES = 10_000
"""Deletions remembered (their versions), oldest forgotten first."""


def version_of(raw: dict[str, Any]) -> int | None:
    """``metadata.resourceVersion`` as a number; None when it is missing or not a number."""
    value = (raw.get("metadata") or {}).get("resourceVersion")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_version(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def key_of(raw: dict[str, Any]) -> Key:
    metadata = raw.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    version: int | None
    body: bytes
    """The object's JSON, deflated in a store that compresses."""
    indexed: str | None
    """The value of the store's index label, or None."""


class Packing:
    """How a store holds JSON: at its exact size, or deflated against a dictionary (``compress``).

    The dictionary is the first object packed, and stays for the packing's life: every packed
    body needs it to be inflated."""

    LEVEL: Final = 6

    def __init__(self, *, compress: bool) -> None:
        self.compress = compress
        self._dictionary: bytes | None = None

    def pack(self, data: bytes) -> bytes:
        if not self.compress:
            return bytes(memoryview(data))  # exact size: orjson's bytes keep their spare capacity
        if self._dictionary is None:
            self._dictionary = bytes(memoryview(data))
        deflate = zlib.compressobj(self.LEVEL, zlib.DEFLATED, -15, zdict=self._dictionary)
        return deflate.compress(data) + deflate.flush()

    def unpack(self, body: bytes) -> bytes:
        if not self.compress:
            return body
        assert self._dictionary is not None, "a packed body without the dictionary it was packed with"
        inflate = zlib.decompressobj(-15, zdict=self._dictionary)
        return inflate.decompress(body) + inflate.flush()


@dataclasses.dataclass(frozen=True)
class Lookup:
    state: Literal["fresh", "absent", "unknown"]
    body: bytes | None = None


class Store:
    """One kind's objects, newest version of each, with an optional index by one label."""

    def __init__(
        self,
        kind: str,
        *,
        index_label: str | None = None,
        covers: Callable[[dict[str, Any]], bool] = lambda _raw: True,
        compress: bool = False,
    ) -> None:
        self.kind = kind
        self.packing = Packing(compress=compress)
        self.index_label = index_label
        self.covers = covers
        """Whether an object is one the watch shows (its label selector): only those are kept,
        since the watch would never bring the changes of another."""
        self.synced = False
        """Whether a list answer was taken: from then on, a missing object is absent."""
        self._entries: dict[Key, Entry] = {}
        self._index: dict[Key, set[str]] = collections.defaultdict(set)
        self._tombstones: collections.OrderedDict[Key, int | None] = collections.OrderedDict()
        self._stale: set[Key] = set()
        self._stale_index: set[Key] = set()
        self.changed: Callable[[], None] = lambda: None
        """Called after every change the watch brings."""

    def __len__(self) -> int:
        return len(self._entries)

    def memory_bytes(self) -> int:
        """The bytes held for the objects (deflated where the store compresses; not counting the
        dictionaries around them)."""
        return sum(len(entry.body) for entry in self._entries.values())

    # what comes in

    def listed(self, items: list[dict[str, Any]], version: str = "") -> None:
        """A list answer (at ``version``): it replaces what is held, but for objects written or
        read since that are newer than the list."""
        at = parse_version(version)
        fresh = {key_of(raw) for raw in items}
        for key in [k for k in self._entries if k not in fresh]:
            if not _newer(self._entries[key].version, at) or at is None:
                self._drop(key, version=at)
        for raw in items:
            self._put(raw)
        self._stale.clear()
        self._stale_index.clear()
        self.synced = True
        self.changed()

    def apply(self, kind: str, raw: dict[str, Any]) -> None:
        """One watch event (``ADDED``, ``MODIFIED``, ``DELETED``)."""
        if kind == watching.DELETED:
            self._delete(raw)
        else:
            self._put(raw)
        self.changed()

    def offer(self, raw: dict[str, Any]) -> None:
        """What the service read or wrote: kept unless the store holds a newer version; a read
        answer ends the object's staleness."""
        if not self.covers(raw):
            return
        key = key_of(raw)
        self._put(raw)
        self._stale.discard(key)

    def offer_deleted(self, namespace: str, name: str) -> None:
        """The service deleted that object."""
        self._drop((namespace, name), version=None)

    def mark_stale(self, namespace: str, name: str) -> None:
        """Do not answer for that object until a read or the watch brings it again."""
        self._stale.add((namespace, name))

    def mark_index_stale(self, namespace: str, value: str) -> None:
        """Do not answer for the objects of that label value until they are listed again."""
        self._stale_index.add((namespace, value))

    def indexed_listed(self, namespace: str, value: str, items: list[dict[str, Any]], version: str) -> None:
        """A list answer (at ``version``) for one label value: taken as :meth:`offer` takes a
        read; those of that value it does not show, and not newer than it, were deleted since."""
        at = parse_version(version)
        shown = {key_of(raw) for raw in items}
        for name in list(self._index.get((namespace, value), ())):
            held = self._entries[(namespace, name)]
            if (namespace, name) not in shown and (at is None or not _newer(held.version, at)):
                self._drop((namespace, name), version=at)
        for raw in items:
            self.offer(raw)
        self._stale_index.discard((namespace, value))

    # what goes out

    def lookup(self, namespace: str, name: str, *, at_least: int | None = None) -> Lookup:
        key = (namespace, name)
        if not self.synced or key in self._stale:
            return Lookup(UNKNOWN)
        entry = self._entries.get(key)
        if entry is None:
            if at_least is not None and (
                key not in self._tombstones or not _reached(self._tombstones[key], at_least)
            ):
                return Lookup(UNKNOWN)  # not seen at that version yet
            return Lookup(ABSENT)
        if at_least is not None and not _reached(entry.version, at_least):
            return Lookup(UNKNOWN)
        return Lookup(FRESH, self.packing.unpack(entry.body))

    def everything(self) -> list[bytes] | None:
        """Every object held; None when not synced yet."""
        if not self.synced:
            return None
        return [self.packing.unpack(entry.body) for entry in self._entries.values()]

    def deleted(self, namespace: str, name: str) -> bool:
        """Whether that object was seen deleted (and not created again since)."""
        return (namespace, name) in self._tombstones and (namespace, name) not in self._entries

    def reached(self, namespace: str, name: str, version: int) -> bool:
        """Whether the store shows that object at ``version`` or newer (or deleted since)."""
        return self.lookup(namespace, name, at_least=version).state != UNKNOWN

    def by_index(self, namespace: str, value: str) -> list[bytes] | None:
        """The objects whose index label has ``value``; None when unknown (not synced, stale)."""
        if not self.synced or (namespace, value) in self._stale_index:
            return None
        names = self._index.get((namespace, value), ())
        if any((namespace, name) in self._stale for name in names):
            return None
        return [self.packing.unpack(self._entries[(namespace, name)].body) for name in sorted(names)]

    # plumbing

    def _put(self, raw: dict[str, Any]) -> None:
        key = key_of(raw)
        version = version_of(raw)
        held = self._entries.get(key)
        if held is not None and not _newer(version, held.version):
            return
        if held is None and key in self._tombstones and not _newer(version, self._tombstones[key]):
            return
        self._tombstones.pop(key, None)
        indexed = None
        if self.index_label is not None:
            indexed = ((raw.get("metadata") or {}).get("labels") or {}).get(self.index_label)
        if held is not None and held.indexed is not None and held.indexed != indexed:
            self._unindex(key, held.indexed)
        body = self.packing.pack(orjson.dumps(_without_managed_fields(raw)))
        self._entries[key] = Entry(version, body, indexed)
        if indexed is not None:
            self._index[(key[0], indexed)].add(key[1])

    def _delete(self, raw: dict[str, Any]) -> None:
        key = key_of(raw)
        version = version_of(raw)
        held = self._entries.get(key)
        if held is not None and held.version is not None and version is not None and held.version > version:
            return  # recreated since
        self._drop(key, version=version)

    def _drop(self, key: Key, *, version: int | None) -> None:
        held = self._entries.pop(key, None)
        if held is not None and held.indexed is not None:
            self._unindex(key, held.indexed)
        if version is None and held is not None:
            version = held.version
        self._tombstones[key] = version
        self._tombstones.move_to_end(key)
        while len(self._tombstones) > TOMBSTONES:
            self._tombstones.popitem(last=False)

    def _unindex(self, key: Key, value: str) -> None:
        names = self._index.get((key[0], value))
        if names is not None:
            names.discard(key[1])
            if not names:
                del self._index[(key[0], value)]


def _newer(version: int | None, held: int | None) -> bool:
    """Whether ``version`` is newer than ``held``: a larger number, or either not a number."""
    return version is None or held is None or version > held


def _reached(version: int | None, wanted: int) -> bool:
    return version is None or version >= wanted


def _without_managed_fields(raw: dict[str, Any]) -> dict[str, Any]:
    metadata = raw.get("metadata")
    if not metadata or "managedFields" not in metadata:
        return raw
    return {**raw, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


class Informer:
    """Keeps a :class:`Store` filled by a list+watch of one kind (all namespaces) until cancelled."""

    def __init__(
        self,
        resource: watching.Watchable[Any],
        *,
        label_selector: str = "",
        index_label: str | None = None,
        compress: bool = False,
    ) -> None:
        self.resource = resource
        self.label_selector = label_selector
        self.store = Store(
            resource.kind, index_label=index_label, covers=_selected_by(label_selector), compress=compress
        )
        self.store.changed = self._notify
        self.status = watching.WatchStatus(f"the {resource.kind} cache")
        self._moved = asyncio.Event()

    async def run(self) -> None:
        await watching.follow(
            _Raw(self.resource),
            handle=lambda event: self.store.apply(event.type, event.object),
            label_selector=self.label_selector,
            status=self.status,
            on_listed=self.store.listed,
            slim=True,
        )

    def health(self) -> str | None:
        return self.status.health()

    async def catch_up(self, namespace: str, name: str, version: int, *, seconds: float) -> bool:
        """Until the store shows that object at ``version`` or newer (True), or ``seconds``
        passed (False: the object is then marked stale, so the next read asks the API)."""
        if await self.until(lambda: self.store.reached(namespace, name, version), seconds=seconds):
            return True
        self.store.mark_stale(namespace, name)
        return False

    async def until(self, reached: Callable[[], bool], *, seconds: float) -> bool:
        """Until ``reached()`` (True), checked after each change, or ``seconds`` passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not reached():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            moved = self._moved
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never lost
                async with asyncio.timeout(remaining):
                    await moved.wait()
        return True

    def _notify(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()


def _selected_by(label_selector: str) -> Callable[[dict[str, Any]], bool]:
    """Whether an object matches ``label_selector``: empty, or labels that must exist (``a,b``),
    the selectors these caches watch with."""
    required = [part.strip() for part in label_selector.split(",") if part.strip()]
    if not all(re.fullmatch(r"[A-Za-z0-9./_-]+", part) for part in required):
        raise ValueError(f"a watch cache takes label-exists selectors only, not {label_selector!r}")

    def covers(raw: dict[str, Any]) -> bool:
        labels = (raw.get("metadata") or {}).get("labels") or {}
        return all(label in labels for label in required)

    return covers


class _Raw:
    """A kind whose watch yields the raw objects: the store keeps them as JSON, unparsed."""

    def __init__(self, resource: watching.Watchable[Any]) -> None:
        self.resource = resource
        self.kind = resource.kind
        self.settings = resource.settings
        self.skips = resource.skips

    async def list_raw(self, *, namespace: str | None, label_selector: str) -> dict[str, Any]:
        return await self.resource.list_raw(namespace=namespace, label_selector=label_selector)

    async def open_watch(self, *, namespace: str | None, label_selector: str, resource_version: str) -> Any:
        return await self.resource.open_watch(
            namespace=namespace, label_selector=label_selector, resource_version=resource_version
        )

    def typed(self, raw: dict[str, Any]) -> dict[str, Any]:
        return raw


def bodies(found: list[bytes]) -> Iterator[dict[str, Any]]:
    for body in found:
        yield orjson.loads(body)
