"""Volume cache end to end: the ``<image>-cache`` PVC follows the Image's spec.cache.volume.

Real broker and registry, the Kubernetes emulator, every Kiln service and the simulated kubelet.
Spec updates reach the image-reconciler the way users' edits do: the bridge sees the Image's
generation change and publishes ``image.changed``.
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from contracts import admission, images

if TYPE_CHECKING:
    from tests.integration.e2e.conftest import Run

pytestmark = pytest.mark.integration

GROUP, VERSION = "kpack.io", "v1alpha2"
STORAGE_CLASS = "fast"
CONFLICT_RETRIES = 5


def volume_image(run: Run, *, size: str) -> dict[str, Any]:
    image = run.image("volume-cache")
    image["spec"]["cache"] = {"volume": {"size": size, "storageClassName": STORAGE_CLASS}}
    return image


async def edit_spec(run: Run, change: Any) -> None:
    """What ``kubectl edit`` does: read the Image, change its spec, replace it.

    The services write the Image's status meanwhile, which moves its resourceVersion: a replace
    built on a stale read gets 409 Conflict, and is read and applied again (client-go's
    ``RetryOnConflict``). Any other error, or a conflict that persists, fails the test.
    """
    custom = client.CustomObjectsApi(run.sb.wiring.api)
    for _ in range(CONFLICT_RETRIES):
        current = await custom.get_namespaced_custom_object(GROUP, VERSION, run.namespace, "images", run.name)
        change(current["spec"])
        try:
            await custom.replace_namespaced_custom_object(
                GROUP, VERSION, run.namespace, "images", run.name, current
            )
        except ApiException as error:
            if error.status != HTTPStatus.CONFLICT:
                raise
        else:
            return
    pytest.fail(f"the Image {run.name} stayed in conflict through {CONFLICT_RETRIES} edits")


def pvc(run: Run) -> dict[str, Any] | None:
    return run.sb.emulator.get("persistentvolumeclaims", f"{run.name}-cache", run.namespace)


def requested_storage(run: Run) -> str | None:
    claim = pvc(run)
    return claim["spec"]["resources"]["requests"]["storage"] if claim else None


async def test_the_cache_pvc_is_created_mounted_grown_and_deleted_with_the_image_spec(run: Run) -> None:
    created = await run.sb.apply(volume_image(run, size="1G"))

    [build] = await run.wait_finished(1)

    claim = pvc(run)
    assert claim is not None
    assert claim["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "name": run.name,
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1G"}},
        "storageClassName": STORAGE_CLASS,
    }
    assert build.succeeded(), build.status.condition("Succeeded")
    assert run.sb.cache_args(build) == {
        "prepare": [],
        "analyze": [],
        "detect": [],
        "restore": ["-cache-dir=/cache"],
        "build": [],
        "export": ["-cache-dir=/cache"],
    }
    pod = run.sb.pod(build)
    assert pod is not None
    cache_volumes = [v for v in pod["spec"]["volumes"] if v["name"] == "cache-dir"]
    assert cache_volumes == [
        {"name": "cache-dir", "persistentVolumeClaim": {"claimName": f"{run.name}-cache"}}
    ]
    mounts = {
        c["name"]: [m for m in c.get("volumeMounts", []) if m["name"] == "cache-dir"]
        for c in pod["spec"]["initContainers"]
    }
    cache_mount = [{"name": "cache-dir", "mountPath": "/cache"}]
    assert mounts == {
        "prepare": [],
        "analyze": [],
        "detect": [],
        "restore": cache_mount,
        "build": [],
        "export": cache_mount,
    }
    assert not build.status.latest_cache_image, "a volume cache has no cache image"

    await edit_spec(run, lambda spec: spec["cache"]["volume"].update(size="2G"))
    await run.sb.wait_for(lambda: requested_storage(run) == "2G", seconds=10, what="the PVC to grow to 2G")
    grown = pvc(run)
    assert grown is not None
    assert grown["metadata"]["uid"] == claim["metadata"]["uid"]
    assert grown["spec"]["storageClassName"] == STORAGE_CLASS

    await edit_spec(run, lambda spec: spec.pop("cache"))
    await run.sb.wait_for(lambda: pvc(run) is None, seconds=10, what="the PVC to be deleted")


async def test_shrinking_the_volume_cache_is_refused_with_kpacks_message(run: Run) -> None:
    """Shrinking is refused at admission, kpack's webhook: the services never validate an update
    against the previous spec, so this shows the admission rule on the stored Image and its edit."""
    await run.sb.apply(volume_image(run, size="2G"))
    await run.sb.wait_for(lambda: requested_storage(run) == "2G", seconds=10, what="the 2G PVC")
    stored = run.sb.emulator.get("images", run.name, run.namespace)
    assert stored is not None
    shrunk = copy.deepcopy(stored)
    shrunk["spec"]["cache"]["volume"]["size"] = "1G"

    error = admission.validate_image(
        images.Image.model_validate(shrunk), old=images.Image.model_validate(stored)
    )

    assert error is not None
    assert str(error) == "Field cannot be decreased: spec.cache.volume.size\ncurrent: 2G, requested: 1G"
    assert admission.validate_image(images.Image.model_validate(stored)) is None


async def test_the_volume_cache_example_as_shipped_gets_a_pvc_and_a_build(run: Run) -> None:
    await run.sb.apply(run.image("volume-cache"))

    await run.sb.wait_for(lambda: pvc(run) is not None, seconds=3, what="the example's PVC")
    [build] = await run.wait_finished(1)
    assert build.succeeded()
