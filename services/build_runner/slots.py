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

:func:`admits` is the rule (pure); the build-runner's :class:`~services.build_runner.service.Slots`
counts the running build pods from a watch of them and holds the waiting builds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

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
