"""What ``kiln trigger`` and ``kiln cancel`` annotate, or why they refuse, as truth tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import builds
from services.cli import annotating

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
TRIGGER = builds.ADDITIONAL_BUILD_NEEDED_ANNOTATION


def build(
    name: str, *, created: str, succeeded: str | None = "True", image: str = "app", reason: str = "Completed"
) -> builds.Build:
    status: dict[str, Any] = {}
    if succeeded is not None:
        status["conditions"] = [
            {"type": "Succeeded", "status": succeeded} | ({"reason": reason} if reason else {})
        ]
    return builds.Build.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "creationTimestamp": created,
                "labels": {builds.IMAGE_LABEL: image},
            },
            "status": status,
        }
    )


ONE = build("app-build-1", created="2024-05-06T07:00:00Z")
TWO = build("app-build-2", created="2024-05-06T07:05:00Z")
RUNNING = build("app-build-3", created="2024-05-06T07:06:00Z", succeeded=None)


@pytest.mark.parametrize(
    ("found", "exists", "expected"),
    [
        ([TWO, ONE], True, ("app-build-2", f'"app" triggered: annotated build app-build-2 with {TRIGGER}')),
        (
            [ONE, RUNNING, TWO],
            True,
            (
                "app-build-3",
                f'"app" triggered: annotated build app-build-3 with {TRIGGER}; it is still running, '
                "so the new build starts once it has finished",
            ),
        ),
        (
            [],
            True,
            'no builds found for Image "app" in namespace "ns": a trigger annotates the Image\'s newest '
            "Build, and its first build comes once its builder and source are ready",
        ),
        ([], False, 'Image "app" in namespace "ns" not found'),
        ([build("other-build-1", created="2024-05-06T07:00:00Z", image="other")], True, "no builds found"),
    ],
    ids=[
        "the newest build by creation is annotated",
        "a running newest build is annotated and the user told the build waits for it",
        "an image without builds is refused",
        "a missing image is refused",
        "another image's builds are not this image's",
    ],
)
def test_what_kiln_trigger_annotates(
    found: list[builds.Build], exists: bool, expected: tuple[str, str] | str
) -> None:
    decided = annotating.trigger("app", namespace="ns", found=found, image_exists=exists, now=NOW)

    if isinstance(expected, str):
        assert isinstance(decided, annotating.Refusal)
        assert decided.message.startswith(expected)
    else:
        assert isinstance(decided, annotating.Annotation)
        assert (decided.build, decided.message) == expected
        assert decided.patch() == {"metadata": {"annotations": {TRIGGER: "2024-05-06T07:08:09Z"}}}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (RUNNING, {"metadata": {"annotations": {"kiln.dev/cancel": "true"}}}),
        (
            build("app-build-3", created="2024-05-06T07:06:00Z", succeeded="Unknown"),
            {"metadata": {"annotations": {"kiln.dev/cancel": "true"}}},
        ),
        (None, 'Build "app-build-3" in namespace "ns" not found'),
        (
            build("app-build-3", created="2024-05-06T07:06:00Z"),
            'Build "app-build-3" in namespace "ns" has already finished (Succeeded=True, reason Completed): '
            "there is nothing to cancel",
        ),
        (
            build("app-build-3", created="2024-05-06T07:06:00Z", succeeded="False", reason=""),
            'Build "app-build-3" in namespace "ns" has already finished (Succeeded=False): '
            "there is nothing to cancel",
        ),
    ],
    ids=[
        "a running build is annotated",
        "a build whose Succeeded is Unknown runs",
        "a missing build is refused",
        "a finished build is refused: it would ignore the annotation",
        "a build that failed without a reason is refused",
    ],
)
def test_what_kiln_cancel_annotates(found: builds.Build | None, expected: dict[str, Any] | str) -> None:
    decided = annotating.cancel("app-build-3", namespace="ns", build=found)

    if isinstance(expected, str):
        assert decided == annotating.Refusal(message=expected)
    else:
        assert isinstance(decided, annotating.Annotation)
        assert decided.patch() == expected
        assert decided.message == (
            '"app-build-3" cancel requested: annotated with kiln.dev/cancel=true; it ends Succeeded=False, '
            "reason BuildCanceled, and its pod is deleted"
        )
