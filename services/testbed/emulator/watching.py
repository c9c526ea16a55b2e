"""The watch side of the store: a bounded log of change events and the watchers fed from it.

Every change gets the next global resourceVersion and is appended to the log, which keeps the
last ``window`` events. A watch that resumes from a resourceVersion is first fed the retained
events after it (never older ones), then live events; one that asks for a version older than the
window gets 410 Gone, as from a real API server after etcd compaction.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from typing import Any

from services.testbed.emulator import selectors, statuses


@dataclasses.dataclass(frozen=True)
class Change:
    """One write: ``obj`` is the object after it (for DELETED, the last state), ``old`` before."""

    rv: int
    type: str
    resource: str
    namespace: str
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclasses.dataclass(eq=False)
class Watcher:
    """One open watch: which changes it wants and the queue they are put on (None ends it)."""

    resource: str
    namespace: str | None
    predicate: selectors.Predicate
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = dataclasses.field(default_factory=asyncio.Queue)

    def offer(self, change: Change) -> None:
        if change.resource != self.resource:
            return
        if self.namespace is not None and change.namespace != self.namespace:
            return
        event = self._event_for(change)
        if event is not None:
            self.queue.put_nowait(event)

    def _event_for(self, change: Change) -> tuple[str, dict[str, Any]] | None:
        """Translate a change as seen through this watch's selector (moving in → ADDED, out → DELETED)."""
        now = self.predicate(change.obj)
        if change.type != "MODIFIED" or change.old is None:
            return (change.type, change.obj) if now else None
        before = self.predicate(change.old)
        if now:
            return ("MODIFIED" if before else "ADDED", change.obj)
        return ("DELETED", change.obj) if before else None


class EventLog:
    """Retained changes plus live fan-out to watchers."""

    def __init__(self, *, window: int) -> None:
        self._log: collections.deque[Change] = collections.deque(maxlen=window)
        self._floor = 0
        """Every change with rv > floor is still in the log."""
        self._watchers: set[Watcher] = set()

    def append(self, change: Change) -> None:
        if self._log.maxlen is not None and len(self._log) == self._log.maxlen:
            self._floor = self._log[0].rv
        self._log.append(change)
        for watcher in self._watchers:
            watcher.offer(change)

    def subscribe(self, watcher: Watcher, *, since: int | None) -> None:
        """Start feeding ``watcher``; with ``since``, first replay the retained changes after it."""
        if since is not None:
            if since < self._floor:
                raise statuses.gone(f"too old resource version: {since} ({self._floor + 1})")
            for change in self._log:
                if change.rv > since:
                    watcher.offer(change)
        self._watchers.add(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def compact(self, rv: int) -> None:
        """Forget every change up to ``rv``: resuming from an older version is then 410 Gone."""
        while self._log and self._log[0].rv <= rv:
            self._log.popleft()
        self._floor = max(self._floor, rv)

    def close(self) -> None:
        """End every open watch (on shutdown)."""
        for watcher in self._watchers:
            watcher.queue.put_nowait(None)
        self._watchers.clear()
