"""Admission of builds to a limited number of running build pods: users' builds ahead of storms.

A builder or stack change can rebuild thousands of Images at once (kpack #774: every pod created
at the same moment, users' own builds stuck behind them). Kiln schedules storm builds
(:meth:`contracts.builds.Build.storm`: made only for BUILDPACK, STACK or LIFECYCLE) on a lane of
their own (``build.scheduled.storm``, its own queue), and the build-runner admits a build to a pod
only within the limits:

* ``max_running``: build pods running at once, all builds (0: no limit);
* ``max_running_per_namespace``: the same per namespace (0: no limit);
* ``storm_max_running``: storm build pods running at once (0: no limit), and never more than
  ``max_running`` less a fifth of it, so that a user's build finds a free slot at once.

A build that does not fit waits (:class:`Slots`): in the process for up to ``hold_seconds``, a
user's build ahead of every storm build, then in its lane's wait queue (the broker delivers it
again), as often as it takes. Nothing is dropped.

:func:`admits` is the pure rule; :class:`Slots` counts the running build pods from a watch of
them (and the pods this process created that the watch has not shown yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from services import errors

FINISHED_PHASES = ("Succeeded", "Failed")


@dataclasses.dataclass(frozen=True)
class Limits:
    """How many build pods may run at once (0: no limit)."""

    max_running: int = 0
    max_running_per_namespace: int = 0
    storm_max_running: int = 0
    hold_seconds: float = 10.0
    """How long a build that does not fit waits in the process before it goes to its wait queue."""

    def limited(self) -> bool:
        return bool(self.max_running or self.max_running_per_namespace or self.storm_max_running)

    def storm_cap(self) -> int:
        """Storm build pods allowed at once; 0: no limit."""
        caps = [self.storm_max_running] if self.storm_max_running else []
        if self.max_running:
            caps.append(max(1, self.max_running - max(1, self.max_running // 5)))
        return min(caps) if caps else 0


@dataclasses.dataclass(frozen=True)
class Running:
    """Build pods running now."""

    total: int = 0
    storm: int = 0
    in_namespace: int = 0


def admits(limits: Limits, running: Running, *, storm: bool, users_waiting: int = 0) -> bool:
    """Whether one more build (a storm build if ``storm``) may start now; a storm build never
    starts while a user's build waits."""
    if limits.max_running and running.total >= limits.max_running:
        return False
    if limits.max_running_per_namespace and running.in_namespace >= limits.max_running_per_namespace:
        return False
    if not storm:
        return True
    cap = limits.storm_cap()
    return users_waiting == 0 and not (cap and running.storm >= cap)


def pod_running(pod: dict[str, Any]) -> bool:
    """A build pod holds a slot until it ends or is being deleted."""
    md = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase")
    return phase not in FINISHED_PHASES and not md.get("deletionTimestamp")


class Slots:
    """The running build pods, as a watch of them shows them, and admission to them.

    ``observe`` takes every watch event of the build pods; ``admitted`` holds a slot while the
    caller creates the pod; ``ready`` says whether the watch has listed them yet."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._running: dict[str, tuple[str, bool]] = {}
        """``namespace/name`` of each running build pod → (namespace, whether a storm build's)."""
        self._changed = asyncio.Condition()
        self._users_waiting = 0
        self.ready = asyncio.Event()
        self.peak = 0
        """The most build pods counted running at once."""

    def running(self, namespace: str) -> Running:
        values = self._running.values()
        return Running(
            total=len(self._running),
            storm=sum(1 for _, storm in values if storm),
            in_namespace=sum(1 for ns, _ in values if ns == namespace),
        )

    async def observe(self, kind: str, pod: dict[str, Any]) -> None:
        """A watch event (``ADDED``, ``MODIFIED``, ``DELETED``) of a build pod. Whether it is a
        storm build's is known for the pods this process admitted; others count as users' (after
        a restart the storm cap may let a few more storm builds in; the other limits hold)."""
        md = pod.get("metadata") or {}
        key = f"{md.get('namespace', '')}/{md.get('name', '')}"
        async with self._changed:
            if kind != "DELETED" and pod_running(pod):
                known = self._running.get(key)
                self._running[key] = (md.get("namespace", ""), known[1] if known else False)
            else:
                self._running.pop(key, None)
            self.peak = max(self.peak, len(self._running))
            self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def admitted(self, namespace: str, name: str, *, storm: bool) -> AsyncIterator[None]:
        """Hold a slot for the pod ``namespace/name`` while the body creates it; raise
        :class:`~services.errors.DeferredError` if none frees within ``hold_seconds``. Without
        limits, admit at once."""
        if not self.limits.limited():
            yield
            return
        key = f"{namespace}/{name}"
        async with self._changed:
            if not storm:
                self._users_waiting += 1
            try:
                admitted = await self._wait(namespace, storm=storm)
            finally:
                if not storm:
                    self._users_waiting -= 1
            if not admitted:
                raise errors.DeferredError(
                    f"no free build slot for {key} within {self.limits.hold_seconds:.0f} s"
                )
            self._running[key] = (namespace, storm)  # counted before the watch shows it
            self.peak = max(self.peak, len(self._running))
            try:
                yield
            except BaseException:
                self._running.pop(key, None)
                self._changed.notify_all()
                raise

    async def _wait(self, namespace: str, *, storm: bool) -> bool:
        """Wait (holding the condition's lock between checks) until a slot fits; False past the hold."""

        def fits() -> bool:
            waiting = self._users_waiting if storm else 0
            return self.ready.is_set() and admits(
                self.limits, self.running(namespace), storm=storm, users_waiting=waiting
            )

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.limits.hold_seconds):
                await self._changed.wait_for(fits)
                return True
        return False
