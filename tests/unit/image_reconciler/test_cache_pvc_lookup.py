"""When a reconcile reads the cache PVC: only when it may have something to do with it."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import images
from services.image_reconciler import cache_volumes


def image(
    cache: dict[str, Any] | None, *, status: dict[str, Any] | None = None, generation: int = 2
) -> images.Image:
    spec: dict[str, Any] = {"cache": cache} if cache is not None else {}
    return images.Image.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns", "generation": generation},
            "spec": spec,
            "status": status or {},
        }
    )


SETTLED = {"observedGeneration": 2}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (image({"volume": {"size": "2G"}}, status=SETTLED), True),
        (image({"registry": {"tag": "r/app-cache"}}, status=SETTLED | {"buildCacheName": "app-cache"}), True),
        (image({"registry": {"tag": "r/app-cache"}}, status={"observedGeneration": 1}), True),
        (image({"registry": {"tag": "r/app-cache"}}), True),
        (image({"registry": {"tag": "r/app-cache"}}, status=SETTLED), False),
        (image(None, status=SETTLED), False),
    ],
    ids=[
        "a volume cache",
        "a registry cache after a volume cache",
        "a changed spec",
        "a new Image",
        "a settled registry-cache Image",
        "a settled Image without a cache",
    ],
)
def test_when_the_cache_pvc_is_read(found: images.Image, expected: bool) -> None:
    assert cache_volumes.needs_lookup(found) is expected
