"""The status of a Build whose pod was just created (kpack's Build reconcile, spec §5.2 and 5.3).

kpack writes it in the reconcile that creates the pod: ``podName``, ``observedGeneration`` and
``Succeeded`` Unknown with no reason (the pod has no status yet), so ``kubectl get build`` shows
the Build running from then on; image-state writes its outcome once the pod finishes.

* A finished Build (``Succeeded`` True or False, a canceled one included) is never changed.
* A Build whose status already says it runs in that pod, for its generation, is left as it is:
  nothing to write.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

from datetime import datetime

from contracts import builds, meta

SUCCEEDED = "Succeeded"


def running_status(build: builds.Build, *, pod_name: str, now: datetime) -> builds.BuildStatus | None:
    """The status to write for ``build`` now that its pod ``pod_name`` exists, or None when there
    is nothing to write. ``now`` stamps ``lastTransitionTime`` when ``Succeeded`` becomes Unknown
    (a Build already Unknown keeps its time)."""
    if not build.running():
        return None
    previous = build.status.condition(SUCCEEDED)
    if (
        previous is not None
        and build.status.pod_name == pod_name
        and build.status.observed_generation == build.generation
    ):
        return None
    unknown = meta.Condition(type=SUCCEEDED, status="Unknown")
    return build.status.with_(
        observed_generation=build.generation,
        pod_name=pod_name,
        conditions=[meta.stamped(unknown, previous=previous, now=now)],
    )


def pod_recorded(build: builds.Build) -> bool:
    """Whether ``build``'s status names a pod made for it: only then may one exist already, short
    of a build-runner stopped between creating the pod and writing this status (its pod is then
    refused on create as already there)."""
    return bool(build.status.pod_name)
