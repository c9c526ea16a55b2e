"""What a Build the bridge sees means: the events it announces for Builds and their pods (pure).

kpack's Build controller reconciles every Build, whoever made it (spec §5). Kiln splits that work:
the build-runner makes pods, image-state writes Build status, and the bridge tells them which
Build to look at:

* A running Build that no Image made (no controller owner of kind Image: a Build created
  directly, kpack's ``docs/build.md``) and whose status names no pod yet → ``build.scheduled``: the
  build-runner gives it its pod if it has none (a pod deleted later is announced by its deletion
  and by the resync). A Build an Image made is announced by the image-reconciler, which made it (and again by
  its reconcile while it runs without a pod), so the bridge stays quiet about it.
* A running Build carrying ``kiln.dev/cancel: "true"`` → ``build.cancel.requested`` (image-state
  ends it ``BuildCanceled`` and deletes its pod), never ``build.scheduled``.
* A Build of an Image carrying ``image.kpack.io/additionalBuildNeeded`` → ``image.changed`` for that
  Image, once per Build and annotation value (later writes of the Build bring the same annotation
  again): the manual trigger is reconciled at once, not at the next resync (kpack §5.4).
* A build pod deleted while its Build may still run → ``build.scheduled``: a running Build whose pod
  is gone gets a new one (kpack §5.3); the build-runner reads the Build and does nothing for a
  finished or deleted one. A Build the bridge already saw finished or deleted is skipped.
* The resync: every running Build without a pod (whoever made it) → ``build.scheduled``; every
  running Build whose cancellation was asked for → ``build.cancel.requested``.

Each announcement is a payload model, its fields and the event id's discriminator; the bridge
builds the payload (skipping, once reported, an object whose names make no valid event).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import builds, events, images


class Announcement(BaseModel):
    """One event to publish: ``model(**fields)``, with the id's discriminator."""

    model_config = ConfigDict(frozen=True)

    model: type[events.Payload]
    """The payload model."""
    fields: dict[str, Any]
    """Its fields."""
    discriminator: str
    """What makes the event's id (the same fact, the same id)."""


def build_fields(build: builds.Build) -> dict[str, Any]:
    """The fields naming ``build`` in a build event: namespace, its Image (or ""), its name."""
    return {"namespace": build.namespace, "image": build.image_name(), "build": build.name}


def trigger_value(build: builds.Build) -> str | None:
    """The ``additionalBuildNeeded`` annotation of a Build of an Image, or None."""
    if not build.image_name():
        return None
    return build.annotations.get(builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION)


def seen(build: builds.Build, *, announced_trigger: str | None) -> list[Announcement]:
    """What the watch's ADDED or MODIFIED ``build`` announces; ``announced_trigger`` is the
    ``additionalBuildNeeded`` value already announced for this Build (None: none)."""
    uid = build.metadata.uid or build.name
    found: list[Announcement] = []
    if build.running() and build.cancel_requested():
        found.append(
            Announcement(
                model=events.BuildCancelRequested, fields=build_fields(build), discriminator=f"cancel:{uid}"
            )
        )
    elif build.may_run() and not build.made_by_image() and not build.status.pod_name:
        version = build.metadata.resource_version or ""
        found.append(
            Announcement(
                model=events.BuildScheduled, fields=build_fields(build), discriminator=f"rv:{uid}:{version}"
            )
        )
    trigger = trigger_value(build)
    if trigger is not None and trigger != announced_trigger:
        found.append(
            Announcement(
                model=events.ImageChanged,
                fields={"namespace": build.namespace, "name": build.image_name()},
                discriminator=f"trigger:{uid}:{trigger}",
            )
        )
    return found


def pod_deleted(pod: dict[str, Any], *, settled_builds: Set[str]) -> Announcement | None:
    """``build.scheduled`` for the Build of a deleted build pod, unless its Build (the pod's
    controller owner) is one of ``settled_builds`` (uids of Builds seen finished or deleted)."""
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    build = labels.get(builds.BUILD_LABEL)
    if not build:
        return None
    owner = next((ref.get("uid") for ref in md.get("ownerReferences") or () if ref.get("controller")), None)
    if owner is not None and owner in settled_builds:
        return None
    fields = {"namespace": md.get("namespace"), "image": labels.get(builds.IMAGE_LABEL, ""), "build": build}
    return Announcement(model=events.BuildScheduled, fields=fields, discriminator=f"deleted:{md.get('uid')}")


def resynced(listed: Iterable[builds.Build], *, pods: Set[tuple[str, str]], stamp: str) -> list[Announcement]:
    """The resync's announcements for every listed Build: ``build.cancel.requested`` for a running
    Build to cancel, ``build.scheduled`` for any other running Build without a pod (``pods`` holds
    the ``(namespace, name)`` of every build pod)."""
    found = []
    for build in listed:
        if not build.running():
            continue
        if build.cancel_requested():
            model: type[events.Payload] = events.BuildCancelRequested
        elif (build.namespace, build.pod_name()) not in pods:
            model = events.StormBuildScheduled if build.storm() else events.BuildScheduled
        else:
            continue
        found.append(Announcement(model=model, fields=build_fields(build), discriminator=f"resync:{stamp}"))
    return found


def unrecorded(listed: Iterable[builds.Build], known: Iterable[images.Image]) -> set[tuple[str, str]]:
    """``(namespace, name)`` of the Builds whose finished pod is still news: running ones (their
    outcome not recorded), and finished ones their Image still shows running (recorded, not told)."""
    running = {(build.namespace, build.name) for build in listed if build.running()}
    shown = {
        (image.namespace, image.status.latest_build_ref or "")
        for image in known
        if image.shows_running(image.status.latest_build_ref or "")
    }
    return running | shown
