"""The registry cache digest a Build records, and what image-state announces once it recorded it.

A successful Build with a registry cache records in ``status.latestCacheImage`` the cache image it
wrote, as ``<repository>@sha256:…``; the next build of the Image reads exactly that digest
(``spec.lastBuild.cache.image``), so a later writer of the same tag cannot change what it reads.
image-state writes the digest in the same status write as the build's outcome: no Build is ever
``Succeeded`` without it. Then:

* :func:`recorded_events`: a Build with a registry cache that succeeded announces its digest
  (``cache.digest.updated``); any other recorded Build announces ``image.changed`` at once.
* :func:`unannounced`: a ``build.finished`` for a Build already recorded (the bridge's resync
  re-reports every finished pod; a retry follows a publish that failed after the write) is
  announced again only while the Image still shows that build running, i.e. was never told.
* :func:`recorded_digest`: ``cache.digest.updated``, consumed by image-state, is checked against
  the Build it names, which is told to the Image (``image.changed``) after. The digest a Build
  records is never replaced, so a late, duplicate or replayed event changes nothing; the event
  writes its digest only on the succeeded Build it names that records none yet.

The Image shows the digest of its newest successful build (the image-reconciler derives it from
the Builds), so a newer build's digest is never replaced by an older one's, in whatever order
events arrive.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from contracts import builds, events, images

SOURCE = "/kiln/image-state"


class CacheLookup(BaseModel):
    """What to look up in the registry for a build's cache image."""

    model_config = ConfigDict(frozen=True)

    tag: str
    """The registry cache tag the build exported to."""
    reported: str
    """The digest reference the completion container reported, or "" (then the tag is resolved)."""


def cache_lookup(build: builds.Build, status: builds.BuildStatus) -> CacheLookup | None:
    """The cache image to confirm in the registry, for a build that succeeded with a registry
    cache; None for any other."""
    if not status.is_true("Succeeded") or not build.spec.registry_cache():
        return None
    return CacheLookup(tag=build.spec.registry_cache_tag(), reported=status.latest_cache_image or "")


def recorded_events(
    build: builds.Build, status: builds.BuildStatus, *, now: datetime, version: str | None = None
) -> list[events.Event[events.Payload]]:
    """What to publish once ``status`` is recorded on ``build`` (its ``resourceVersion`` now
    ``version``): ``cache.digest.updated`` for a numbered build that succeeded with a registry
    cache, else ``image.changed``; nothing for a Build of no Image."""
    image = build.labels.get(builds.IMAGE_LABEL, "")
    if not image:
        return []
    number = build.build_number()
    if status.is_true("Succeeded") and build.spec.registry_cache() and number:
        updated = events.CacheDigestUpdated(
            namespace=build.namespace,
            image=image,
            build=build.name,
            build_number=number,
            cache_tag=build.spec.registry_cache_tag(),
            latest_cache_image=status.latest_cache_image or "",
        )
        return [events.new(updated, source=SOURCE, time=now, discriminator=build.name)]
    return [image_changed(build.namespace, image=image, build=build.name, now=now, version=version)]


def image_changed(
    namespace: str, *, image: str, build: str, now: datetime, version: str | None = None
) -> events.Event[events.Payload]:
    """``image.changed`` for the Image of ``build``, whose outcome is recorded (the Build at
    ``version``: the reconcile decides with it, or a newer one)."""
    changed = events.ImageChanged(namespace=namespace, name=image, build=build, build_version=version)
    return events.new(changed, source=SOURCE, time=now, discriminator=f"finished:{build}")


def recorded_digest(build: builds.Build, updated: events.CacheDigestUpdated) -> builds.BuildStatus | None:
    """The status of ``build`` with the digest of ``updated`` recorded; None when it has nothing to
    record: another build of that name (number or cache tag differ), a build that did not succeed,
    or one that records a digest already (the same, or one the event must not replace)."""
    if build.build_number() != updated.build_number or build.spec.registry_cache_tag() != updated.cache_tag:
        return None
    if not build.succeeded() or build.status.latest_cache_image or not updated.latest_cache_image:
        return None
    return build.status.with_(latest_cache_image=updated.latest_cache_image)


def unannounced(build: builds.Build, image: images.Image | None) -> bool:
    """Whether the recorded ``build`` is still to be told to its Image: the Image's status shows it
    as its newest build, still running (``Ready`` ``BuildRunning``)."""
    return image is not None and image.shows_running(build.name)
