"""Client failures arrive as services.errors: 404/409/422 translated, stale writes are conflicts."""

from __future__ import annotations

import time

import pytest

from services import errors
from services.kube import resources
from services.testbed.emulator import Emulator
from tests.integration.kube import kube_support as support


async def test_a_missing_object_is_not_found(kube: resources.Kube, namespace: str) -> None:
    with pytest.raises(errors.NotFoundError, match="404"):
        await kube.images.get("missing", namespace=namespace)
    with pytest.raises(errors.NotFoundError):
        await kube.pods.delete("missing", namespace=namespace)
    assert await kube.builds.find("missing", namespace=namespace) is None
    await kube.pvcs.delete("missing", namespace=namespace, missing_ok=True)


async def test_creating_a_taken_name_is_already_exists_and_create_or_get_returns_the_first(
    kube: resources.Kube, namespace: str
) -> None:
    first = await kube.source_resolvers.create(support.source_resolver("r", namespace))

    with pytest.raises(errors.AlreadyExistsError, match="409"):
        await kube.source_resolvers.create(support.source_resolver("r", namespace))
    again = await kube.source_resolvers.create_or_get(support.source_resolver("r", namespace))
    fresh = await kube.pvcs.create_or_get(support.pvc("cache", namespace))

    assert again.metadata.uid == first.metadata.uid
    assert fresh["metadata"]["uid"]


async def test_an_invalid_object_is_invalid(kube: resources.Kube, namespace: str) -> None:
    with pytest.raises(errors.InvalidError, match="422"):
        await kube.images.create(support.image("Not_A_DNS_Name", namespace))


async def test_a_stale_replace_is_a_conflict_and_is_not_resent(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    stale = await kube.images.create(support.image("app", namespace))
    await kube.images.patch("app", {"metadata": {"labels": {"moved": "on"}}}, namespace=namespace)
    version_before = emulator.resource_version

    started = time.monotonic()
    with pytest.raises(errors.ConflictError, match="409"):
        await kube.images.replace(stale.with_(spec=stale.spec.with_(tag="registry.example/stale")))

    assert time.monotonic() - started < 0.5, "a conflict must go back to the caller at once"
    assert emulator.resource_version == version_before, "the stale write must not land"
    current = await kube.images.get("app", namespace=namespace)
    fresh = await kube.images.replace(current.with_(spec=current.spec.with_(tag="registry.example/new")))
    assert fresh.spec.tag == "registry.example/new"
    assert fresh.labels == {"moved": "on"}


async def test_a_replace_without_a_resource_version_is_refused(kube: resources.Kube, namespace: str) -> None:
    with pytest.raises(ValueError, match="needs a resourceVersion"):
        await kube.images.replace(support.image("app", namespace))


async def test_a_delete_with_another_uid_is_a_conflict_and_deletes_nothing(
    kube: resources.Kube, namespace: str
) -> None:
    pvc = await kube.pvcs.create(support.pvc("cache", namespace))

    with pytest.raises(errors.ConflictError):
        await kube.pvcs.delete("cache", namespace=namespace, uid="00000000-0000-0000-0000-000000000000")

    assert await kube.pvcs.find("cache", namespace=namespace) is not None
    await kube.pvcs.delete("cache", namespace=namespace, uid=pvc["metadata"]["uid"])
    assert await kube.pvcs.find("cache", namespace=namespace) is None
