"""The registry client against the real distribution registry (no auth)."""

from __future__ import annotations

import hashlib
import json
import socket

import httpx
import pytest

from services import errors, registry
from services.registry import manifests
from services.testbed.registry import builders as registry_builders
from services.testbed.registry import registry_process
from tests.integration.registry import support

pytestmark = pytest.mark.integration

BUILDER = {
    "stack_id": "io.buildpacks.stacks.jammy",
    "run_image": "index.docker.io/paketobuildpacks/run-jammy-base:latest",
    "platform_apis": ["0.7", "0.8", "0.9"],
    "buildpacks": [
        {"id": "paketo-buildpacks/go", "version": "4.1.0", "homepage": "https://github.com/paketo"},
        {"id": "paketo-buildpacks/node", "version": "2.0.0"},
    ],
    "lifecycle_version": "0.17.2",
}


async def _manifest_bytes(host: str, repository: str, tag: str) -> bytes:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{host}/v2/{repository}/manifests/{tag}", headers={"Accept": manifests.ACCEPT}
        )
        response.raise_for_status()
        return response.content


async def test_pushed_image_resolves_to_the_sha256_of_its_manifest_bytes(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    ref = f"{plain_registry.host}/{repository}:v1"

    pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"layer one", b"layer two"])

    stored = await _manifest_bytes(plain_registry.host, repository, "v1")
    assert pushed == "sha256:" + hashlib.sha256(stored).hexdigest()
    assert await client.resolve_digest(ref) == pushed
    assert await client.resolve_digest(f"{plain_registry.host}/{repository}@{pushed}") == pushed


async def test_digest_ref_is_the_fully_qualified_repository_at_the_digest(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    ref = f"{plain_registry.host}/{repository}:cache"
    pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"cache"])

    assert await client.digest_ref(ref) == f"{plain_registry.host}/{repository}@{pushed}"
    assert client.pinned(ref, pushed) == await client.digest_ref(ref)


async def test_resolve_falls_back_to_get_when_head_carries_no_digest(
    client: registry.RegistryClient,
    plain_registry: registry_process.RegistryProcess,
    proxy: support.RegistryProxy,
    repository: str,
) -> None:
    pushed = await client.push_image(
        f"{plain_registry.host}/{repository}:v1", config={"os": "linux"}, layers=[b"x"]
    )

    resolved = await client.resolve_digest(f"{proxy.host}/{repository}:v1")

    assert resolved == pushed
    path = f"/v2/{repository}/manifests/v1"
    assert proxy.seen == [("HEAD", path), ("GET", path)]


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param("{repo}:no-such-tag", id="a missing tag"),
        pytest.param("{host}/nobody/here:v1", id="a missing repository"),
    ],
)
async def test_a_missing_image_is_not_found_naming_the_reference(
    client: registry.RegistryClient,
    plain_registry: registry_process.RegistryProcess,
    repository: str,
    missing: str,
) -> None:
    await client.push_image(f"{plain_registry.host}/{repository}:v1", config={}, layers=[])
    ref = missing.format(repo=f"{plain_registry.host}/{repository}", host=plain_registry.host)

    with pytest.raises(errors.NotFoundError, match="not found") as caught:
        await client.resolve_digest(ref)
    assert ref in str(caught.value)
    with pytest.raises(errors.NotFoundError):
        await client.fetch_config(ref)


async def test_fetch_config_reads_back_what_push_builder_image_wrote(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    ref = f"{plain_registry.host}/{repository}:builder"
    await registry_builders.push_builder_image(client, ref, uid=1001, gid=1002, **BUILDER)  # type: ignore[arg-type]

    image = await client.fetch_config(ref)

    assert image.stack_id == "io.buildpacks.stacks.jammy"
    assert image.run_image == "index.docker.io/paketobuildpacks/run-jammy-base:latest"
    assert image.platform_apis == ["0.7", "0.8", "0.9"]
    assert (image.uid, image.gid, image.os) == (1001, 1002, "linux")
    assert image.lifecycle_version == "0.17.2"
    assert [(bp.id, bp.version) for bp in image.buildpacks] == [
        ("paketo-buildpacks/go", "4.1.0"),
        ("paketo-buildpacks/node", "2.0.0"),
    ]
    assert image.labels["io.buildpacks.stack.id"] == "io.buildpacks.stacks.jammy"


async def test_fetch_config_of_an_index_picks_linux_amd64(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    base = f"{plain_registry.host}/{repository}"
    arm = await registry_builders.push_builder_image(client, f"{base}:arm", **{**BUILDER, "stack_id": "arm"})  # type: ignore[arg-type]
    amd = await registry_builders.push_builder_image(client, f"{base}:amd", **{**BUILDER, "stack_id": "amd"})  # type: ignore[arg-type]
    index = {
        "schemaVersion": 2,
        "mediaType": manifests.OCI_INDEX,
        "manifests": [
            _index_entry(await _manifest_bytes(plain_registry.host, repository, arm), "arm64"),
            _index_entry(await _manifest_bytes(plain_registry.host, repository, amd), "amd64"),
        ],
    }
    async with httpx.AsyncClient() as http:
        response = await http.put(
            f"http://{plain_registry.host}/v2/{repository}/manifests/multi",
            content=json.dumps(index).encode(),
            headers={"Content-Type": manifests.OCI_INDEX},
        )
        response.raise_for_status()

    assert (await client.fetch_config(f"{base}:multi")).stack_id == "amd"


def _index_entry(manifest: bytes, architecture: str) -> dict[str, object]:
    entry = manifests.descriptor(manifest, media_type=manifests.OCI_MANIFEST)
    return {**entry, "platform": {"os": "linux", "architecture": architecture}}


async def test_pushing_blobs_the_registry_already_has_skips_their_upload(
    client: registry.RegistryClient,
    proxy: support.RegistryProxy,
    repository: str,
) -> None:
    ref = f"{proxy.host}/{repository}"
    await client.push_image(f"{ref}:one", config={"os": "linux"}, layers=[b"shared layer"])
    proxy.seen.clear()

    await client.push_image(f"{ref}:two", config={"os": "linux"}, layers=[b"shared layer"])

    methods = [method for method, _ in proxy.seen]
    assert methods == ["HEAD", "HEAD", "PUT"]


async def test_pushing_blobs_known_to_be_new_uploads_them_without_asking_first(
    client: registry.RegistryClient,
    proxy: support.RegistryProxy,
    repository: str,
) -> None:
    ref = f"{proxy.host}/{repository}:new"

    pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"new layer"], new_blobs=True)

    # each upload starts here (its PUT goes to the Location the registry answers, past the proxy);
    # no HEAD asks whether a blob is there
    methods = [method for method, _ in proxy.seen]
    assert methods == ["POST", "POST", "PUT"]
    assert await client.resolve_digest(ref) == pushed


async def test_an_unreachable_registry_is_a_temporary_error(client: registry.RegistryClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(errors.TemporaryError, match=f"127.0.0.1:{port}/app:v1"):
        await client.resolve_digest(f"127.0.0.1:{port}/app:v1")


async def test_temporary_registry_failures_are_retried_with_back_off(
    plain_registry: registry_process.RegistryProcess, proxy: support.RegistryProxy, repository: str
) -> None:
    async with registry.RegistryClient(backoff=(0.01, 0.01)) as patient:
        pushed = await patient.push_image(f"{plain_registry.host}/{repository}:v1", config={}, layers=[])
        proxy.fail_next = 2

        assert await patient.resolve_digest(f"{proxy.host}/{repository}:v1") == pushed


async def test_a_registry_failing_past_the_back_off_is_a_temporary_error(
    client: registry.RegistryClient, proxy: support.RegistryProxy, repository: str
) -> None:
    proxy.fail_next = 1

    with pytest.raises(errors.TemporaryError, match="503"):
        await client.resolve_digest(f"{proxy.host}/{repository}:v1")


async def test_pushing_to_a_digest_reference_is_refused_before_any_request(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess
) -> None:
    with pytest.raises(ValueError, match="name a tag, not a digest"):
        await client.push_image(f"{plain_registry.host}/app@sha256:{'0' * 64}", config={}, layers=[])


async def test_a_429_with_retry_after_is_retried_no_sooner_than_the_registry_asked(
    plain_registry: registry_process.RegistryProcess, proxy: support.RegistryProxy, repository: str
) -> None:
    async with registry.RegistryClient(backoff=(0.01, 0.01)) as patient:
        pushed = await patient.push_image(f"{plain_registry.host}/{repository}:v1", config={}, layers=[])
        proxy.throttle_next, proxy.retry_after = 1, "1"

        assert await patient.resolve_digest(f"{proxy.host}/{repository}:v1") == pushed

    throttled, retried = proxy.arrived_at[:2]
    assert retried - throttled >= 1.0, f"retried {retried - throttled:.3f} s after Retry-After: 1"
