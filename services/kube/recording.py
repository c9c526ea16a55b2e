"""``EventRecorder``: writes the services' :class:`~contracts.kube_events.Notice` as ``events.k8s.io/v1`` Events.

One notice is one create in the usual case (an Event is news, so a write costs no read). The
Event's name is deterministic (:func:`contracts.kube_events.event_name`), so a notice given again —
a redelivered message, a retried reconcile, the same failure once more — finds the Event already
there (409): it is read and counted as a repeat of the series (:func:`contracts.kube_events.repeated`,
a merge patch conditional on the version read; a conflict with another writer reads it again).

A write is bounded by ``timeout_seconds`` and never fails its caller: an Event that could not be
written is logged and dropped, as client-go's recorder drops it (the decision it reports stands).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from contracts import kube_events
from services import errors, ports

logger = logging.getLogger(__name__)
CONFLICTS = 3
"""Conditional patches tried when other writers count the same Event at the same moment."""


@dataclasses.dataclass
class EventRecorder:
    """Writes Events as ``controller`` (``kiln.dev/image-reconciler``) from ``instance`` (a worker)."""

    cluster: ports.Cluster
    _: dataclasses.KW_ONLY
    controller: str
    instance: str
    clock: Callable[[], datetime]
    timeout_seconds: float = 5.0
    written: int = 0
    """Events created or counted again so far."""
    dropped: int = 0
    """Notices that could not be written."""

    async def record(self, notice: kube_events.Notice) -> None:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._write(notice)
            self.written += 1
        except Exception as e:  # an Event is news about a decision: never the reason it fails
            self.dropped += 1
            logger.warning(
                "event %s on %s %s/%s not recorded: %s",
                notice.reason,
                notice.regarding.kind,
                notice.regarding.namespace,
                notice.regarding.name,
                e if str(e) else type(e).__name__,
            )

    async def _write(self, notice: kube_events.Notice) -> None:
        body = kube_events.new_event(
            notice, controller=self.controller, instance=self.instance, now=self.clock()
        )
        namespace, name = notice.regarding.namespace, body["metadata"]["name"]
        for _ in range(CONFLICTS):
            try:
                await self.cluster.create_event(body)
                return
            except errors.AlreadyExistsError:
                pass
            existing = await self.cluster.get_event(namespace, name)
            if existing is None:
                continue  # expired between the two requests: create it again
            try:
                await self.cluster.patch_event(
                    namespace, name, kube_events.repeated(existing, now=self.clock())
                )
                return
            except errors.ConflictError:
                continue
        raise errors.ConflictError(f"event {namespace}/{name} kept changing under {CONFLICTS} writes")
