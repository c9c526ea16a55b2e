"""Kubernetes Events (``events.k8s.io/v1``) about Images and Builds: what to say, and its wire form.

A service decides a :class:`Notice` — the object it regards, a reason, a note, Normal or Warning —
as a pure function of a decision or an outcome; the recorder (:mod:`services.kube.recording`)
writes it. Notices are aggregated as the API defines it, not written once per retry:

* :func:`event_name` is deterministic — the regarded object's name and a hash of its uid, the
  reason and the note — so a redelivered message or a retried reconcile finds the Event it
  wrote before instead of creating a second one;
* :func:`new_event` is the first occurrence (no ``series``);
* :func:`repeated` is the patch of a later one: ``series.count`` (2 on the first repeat) and
  ``series.lastObservedTime``, conditional on the ``resourceVersion`` read, so two writers racing
  count twice, not once.

Limits the API server enforces (kube-apiserver ``ValidateEventCreate``): reason and action at most
128 characters, note under 1 kB, ``reportingController`` and ``reportingInstance`` at most 128.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import builds, images, meta

API_VERSION = "events.k8s.io/v1"
KIND = "Event"
NORMAL: Literal["Normal"] = "Normal"
WARNING: Literal["Warning"] = "Warning"
MAX_NOTE_BYTES = 1023
"""The API server refuses a note of 1 kB or more."""
MAX_FIELD = 128
"""Longest reason, action, reportingController and reportingInstance."""
MAX_NAME = 253


class Regarding(BaseModel):
    """The object an Event is about (``regarding``) or that it relates to (``related``)."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    api_version: str
    """``group/version``, e.g. ``kpack.io/v1alpha2``."""
    kind: str
    """Kind, e.g. ``Image``."""
    namespace: str
    """Namespace of the object, and of the Event."""
    name: str
    """Name of the object."""
    uid: str = ""
    """Its uid, when known: an object deleted and made again under the same name gets Events of its own."""

    def wire(self) -> dict[str, str]:
        found = {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace}
        found["name"] = self.name
        if self.uid:
            found["uid"] = self.uid
        return found


def regarding_image(image: images.Image) -> Regarding:
    """An Image as an Event's ``regarding`` or ``related``."""
    return _regarding(image, images.KIND)


def regarding_build(build: builds.Build) -> Regarding:
    """A Build as an Event's ``regarding`` or ``related``."""
    return _regarding(build, builds.KIND)


def _regarding(obj: meta.KubeObject, kind: str) -> Regarding:
    return Regarding(
        api_version=obj.api_version or meta.V1ALPHA2,
        kind=kind,
        namespace=obj.namespace,
        name=obj.name,
        uid=obj.metadata.uid or "",
    )


def image_of_build(build: builds.Build) -> Regarding | None:
    """The Image a Build was made for (its label; the uid from its controller reference), if any."""
    name = build.image_name()
    if not name:
        return None
    uid = next(
        (
            ref.uid or ""
            for ref in build.metadata.owner_references or ()
            if ref.kind == images.KIND and ref.name == name
        ),
        "",
    )
    return Regarding(
        api_version=meta.V1ALPHA2, kind=images.KIND, namespace=build.namespace, name=name, uid=uid
    )


class Notice(BaseModel):
    """What a service has to say about an object: one Event, aggregated with its repeats."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    regarding: Regarding
    """The object it is about."""
    reason: str
    """Why, in UpperCamelCase: ``BuildScheduled``, ``BuildFailed``…"""
    note: str
    """What happened, for a human: ``Scheduled build 7: COMMIT 1a2b3c → 4d5e6f``."""
    type: Literal["Normal", "Warning"] = NORMAL
    """``Warning`` for what a user should look at."""
    action: str
    """What the service did: ``Schedule``, ``Record``…"""
    related: Regarding | None = None
    """A second object involved (the Build of an Image's Event, the Image of a Build's)."""


def event_name(notice: Notice) -> str:
    """``<regarded name>.<16 hex>``: the same object (uid), reason and note always give the same name."""
    key = "\x00".join(
        (
            notice.regarding.kind,
            notice.regarding.namespace,
            notice.regarding.name,
            notice.regarding.uid,
            notice.reason,
            _note(notice.note),
        )
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{notice.regarding.name[: MAX_NAME - len(digest) - 1]}.{digest}"


def micro_time(moment: datetime) -> str:
    """A ``MicroTime`` as the API server writes it: ``2026-12-01T20:15:00.123456Z``."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_event(notice: Notice, *, controller: str, instance: str, now: datetime) -> dict[str, Any]:
    """The ``events.k8s.io/v1`` Event of the first occurrence of ``notice``."""
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": event_name(notice), "namespace": notice.regarding.namespace},
        "eventTime": micro_time(now),
        "reportingController": controller[:MAX_FIELD],
        "reportingInstance": instance[:MAX_FIELD],
        "action": notice.action[:MAX_FIELD],
        "reason": notice.reason[:MAX_FIELD],
        "regarding": notice.regarding.wire(),
        "note": _note(notice.note),
        "type": notice.type,
    }
    if notice.related is not None:
        body["related"] = notice.related.wire()
    return body


def repeated(existing: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The merge patch that counts one more occurrence of the Event ``existing`` (as read):
    ``series.count`` one more (2 for the first repeat), ``lastObservedTime`` now; conditional on
    the ``resourceVersion`` read."""
    series = existing.get("series") if isinstance(existing.get("series"), dict) else {}
    count = series.get("count") if isinstance(series, dict) else None
    previous = count if isinstance(count, int) and count >= 2 else 1
    patch: dict[str, Any] = {"series": {"count": previous + 1, "lastObservedTime": micro_time(now)}}
    version = (existing.get("metadata") or {}).get("resourceVersion")
    if version:
        patch["metadata"] = {"resourceVersion": version}
    return patch


def _note(note: str) -> str:
    """``note`` cut to what the API server takes (under 1 kB of UTF-8), on a character boundary."""
    encoded = note.encode()
    if len(encoded) <= MAX_NOTE_BYTES:
        return note
    return encoded[: MAX_NOTE_BYTES - 3].decode(errors="ignore") + "..."
