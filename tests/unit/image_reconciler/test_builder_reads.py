"""When a reconcile may decide with a builder read before: young enough, not older than the
event's builder version, and the one the Image's newest Build was made with."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builders, builds
from services.image_reconciler import builder_reads

IMAGE_V1 = "registry.io/builder@sha256:" + "1" * 64
IMAGE_V2 = "registry.io/builder@sha256:" + "2" * 64


def builder(version: str | None = "20", latest: str | None = IMAGE_V1) -> builders.Builder:
    doc: dict[str, Any] = {"metadata": {"name": "default"}, "status": {}}
    if version is not None:
        doc["metadata"]["resourceVersion"] = version
    if latest is not None:
        doc["status"]["latestImage"] = latest
    return builders.Builder.model_validate(doc)


def build(image: str = IMAGE_V1) -> builds.Build:
    return builds.Build.model_validate(
        {"metadata": {"name": "app-build-1"}, "spec": {"builder": {"image": image}}}
    )


@pytest.mark.parametrize(
    ("cached", "age", "wanted", "newest", "expected"),
    [
        (builder(), 1.0, None, build(), True),
        (builder(), 1.0, "20", build(), True),
        (builder(), 1.0, "19", build(), True),
        (builder(), 1.0, "21", build(), False),
        (builder(version=None), 1.0, "21", build(), False),
        (builder(version="x"), 1.0, "21", build(), False),
        (builder(), 30.0, None, build(), False),
        (None, 1.0, None, build(), False),
        (builder(), 1.0, None, None, False),
        (builder(), 1.0, None, build(IMAGE_V2), False),
        (builder(latest=None), 1.0, None, build(""), False),
    ],
    ids=[
        "a young builder the newest build was made with",
        "at the event's version",
        "newer than the event's version",
        "older than the event's version",
        "no version",
        "a version that is no number",
        "too old",
        "never read",
        "no build yet",
        "the newest build was made with another builder image",
        "a builder with no image yet",
    ],
)
def test_when_a_builder_read_before_decides(
    cached: builders.Builder | None,
    age: float,
    wanted: str | None,
    newest: builds.Build | None,
    expected: bool,
) -> None:
    assert (
        builder_reads.reusable(
            cached, age_seconds=age, ttl_seconds=30.0, wanted_version=wanted, newest=newest
        )
        is expected
    )
