"""A sick API server (emulator fault injection): temporary faults are retried and the call succeeds."""

from __future__ import annotations

import pytest

from services import errors
from services.kube import client, resources, settings
from services.testbed.emulator import Emulator
from tests.integration.kube import kube_support as support


@pytest.mark.parametrize("status", [500, 503, 429], ids=lambda s: f"answering {s}")
async def test_a_read_failing_twice_is_retried_and_succeeds(
    kube: resources.Kube, emulator: Emulator, namespace: str, status: int
) -> None:
    await kube.images.create(support.image("app", namespace))
    fault = emulator.fail_next(2, status=status, verb="get", resource="images")

    image = await kube.images.get("app", namespace=namespace)

    assert image.name == "app"
    assert fault.hits == 2


async def test_a_create_failing_with_429_is_retried_and_creates_one_object(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    fault = emulator.fail_next(1, status=429, verb="create", resource="pods")

    await kube.pods.create(support.pod("p", namespace))

    assert fault.hits == 1
    assert [p["metadata"]["name"] for p in await kube.pods.list(namespace=namespace)] == ["p"]


async def test_a_status_write_that_hangs_times_out_and_is_retried(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    await kube.builds.create(support.build("b", namespace))
    fault = emulator.hang_next(1, seconds=3.0, verb="patch", resource="builds/status")

    patched = await kube.builds.patch_status("b", {"status": {"podName": "b-pod"}}, namespace=namespace)

    assert fault.hits == 1
    assert patched.status.pod_name == "b-pod"


async def test_a_server_that_keeps_failing_gives_a_temporary_error_after_the_back_off(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    fault = emulator.add_fault(verb="list", resource="builds", status=503)

    with pytest.raises(errors.TemporaryError, match="503"):
        await kube.builds.list(namespace=namespace)

    assert fault.hits == len(kube.settings.backoff) + 1


async def test_a_forbidden_request_is_permanent_and_not_retried(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    fault = emulator.add_fault(verb="list", resource="pods", status=403)

    with pytest.raises(errors.PermanentError, match="403"):
        await kube.pods.list(namespace=namespace)

    assert fault.hits == 1


async def test_a_429_with_retry_after_is_retried_no_sooner_than_the_server_asked(
    kube: resources.Kube, emulator: Emulator, namespace: str
) -> None:
    await kube.images.create(support.image("app", namespace))
    throttled = emulator.add_fault(verb="list", resource="images", status=429, retry_after=1, count=1)
    # The retry meets this second rule, so the emulator records when it arrived.
    retried = emulator.add_fault(verb="list", resource="images", status=500, count=1)

    images = await kube.images.list(namespace=namespace)

    assert [image.name for image in images] == ["app"]
    assert kube.settings.backoff[0] < 0.1, "the back-off table alone would retry at once"
    waited = retried.hit_at[0] - throttled.hit_at[0]
    assert waited >= 1.0, f"retried {waited:.3f} s after a 429 with Retry-After: 1"


async def test_a_retry_after_longer_than_the_setting_allows_waits_only_as_long_as_the_setting(
    kube_settings: settings.KubeSettings, emulator: Emulator, namespace: str
) -> None:
    patient = kube_settings.model_copy(update={"max_retry_after": 0.3})
    async with client.connected(patient) as api:
        kube = resources.Kube(api, settings=patient)
        await kube.images.create(support.image("app", namespace))
        throttled = emulator.add_fault(verb="list", resource="images", status=429, retry_after=30, count=1)
        retried = emulator.add_fault(verb="list", resource="images", status=500, count=1)

        images = await kube.images.list(namespace=namespace)

    assert [image.name for image in images] == ["app"]
    waited = retried.hit_at[0] - throttled.hit_at[0]
    assert 0.3 <= waited < 5.0, f"retried {waited:.3f} s after a 429 asking for 30 s with a 0.3 s cap"
