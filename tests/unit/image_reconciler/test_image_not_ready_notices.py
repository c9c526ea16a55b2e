"""The Warning Event of an Image that stops being buildable, as a truth table: told when its
``Ready`` turns ``False`` for a reason of its own or changes its message, and not again for an Image
reconciled in the same state, nor for a build's failure (told on the Build)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import images
from services.image_reconciler import notices


def ready(status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": reason, "message": message}


def image(*conditions: dict[str, Any]) -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": {"name": "app", "namespace": "ns", "uid": "image-uid"},
            "spec": {"tag": "reg.io/app", "builder": {"kind": "ClusterBuilder", "name": "default"}},
            "status": {"conditions": list(conditions)},
        }
    )


def status(*conditions: dict[str, Any]) -> images.ImageStatus:
    return images.ImageStatus.model_validate({"conditions": list(conditions)})


MISSING = "Error: ClusterBuilder 'default' not found"


@pytest.mark.parametrize(
    ("observed", "planned", "told"),
    [
        pytest.param(
            image(),
            status(ready("False", "BuilderNotFound", MISSING)),
            ("BuilderNotFound", MISSING),
            id="a new Image whose builder is missing is a warning",
        ),
        pytest.param(
            image(ready("True", "UpToDate")),
            status(ready("False", "InvalidSpec", "spec.tag: Invalid value")),
            ("InvalidSpec", "spec.tag: Invalid value"),
            id="an Image made invalid is a warning with the field",
        ),
        pytest.param(
            image(ready("False", "BuilderNotReady", "stack not ready")),
            status(ready("False", "BuilderNotReady", "buildpack missing")),
            ("BuilderNotReady", "buildpack missing"),
            id="a new reason's message is told again",
        ),
        pytest.param(
            image(ready("False", "BuilderNotFound", MISSING)),
            status(ready("False", "BuilderNotFound", MISSING)),
            None,
            id="an Image reconciled again in the same state says nothing more",
        ),
        pytest.param(
            image(ready("Unknown", "BuildRunning")),
            status(ready("False", "BuildFailed", "Error: export failed")),
            None,
            id="a build's failure is told on the Build, not again on the Image",
        ),
        pytest.param(
            image(ready("False", "InvalidSpec", "x")),
            status(ready("True", "UpToDate")),
            None,
            id="an Image ready again says nothing",
        ),
    ],
)
def test_an_image_that_cannot_build_is_a_warning_once(
    observed: images.Image, planned: images.ImageStatus, told: tuple[str, str] | None
) -> None:
    found = notices.not_ready(observed, planned)

    assert (None if found is None else (found.reason, found.note)) == told
    if found is not None:
        assert (found.type, found.regarding.kind, found.regarding.uid) == ("Warning", "Image", "image-uid")
