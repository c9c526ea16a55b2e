"""When the image-reconciler may decide with the builder it read before, instead of reading it again.

A reconcile needs the Image's Builder or ClusterBuilder; thousands of Images share a handful of
builders, and a builder changes rarely. A builder read before is used again only when all hold:

* it was read less than ``ttl`` seconds ago;
* it is not older than the version the event names (``image.changed`` of a builder's fan-out
  carries the ``resourceVersion`` the fan-out saw, so every Image of a changed builder is decided
  with the change, whichever worker holds it);
* the Image's newest Build was made with it (its ``spec.builder.image`` is the builder's
  ``latestImage``): a builder that disagrees with the newest Build is read again, so a worker that
  took an Image over from another never decides with a builder older than that Image's builds.

Else it is read from the API. A reconcile with no Build yet always reads it.

Pure: no I/O; ages are parameters.
"""

from __future__ import annotations

from contracts import builders, builds


def newer_or_same(version: str | None, than: str | None) -> bool:
    """Whether resourceVersion ``version`` is at least ``than`` (Kubernetes' are etcd revisions,
    compared as integers; anything else is taken as older: it is read again)."""
    if not than:
        return True
    try:
        return version is not None and int(version) >= int(than)
    except ValueError:
        return False


def reusable(
    cached: builders.Builder | None,
    *,
    age_seconds: float,
    ttl_seconds: float,
    wanted_version: str | None,
    newest: builds.Build | None,
) -> bool:
    """Whether ``cached`` (read ``age_seconds`` ago) may decide this reconcile (see the module)."""
    if cached is None or age_seconds >= ttl_seconds or newest is None:
        return False
    if not newer_or_same(cached.metadata.resource_version, wanted_version):
        return False
    return bool(cached.status.latest_image) and newest.spec.builder.image == cached.status.latest_image
