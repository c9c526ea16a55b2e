"""Reading whole images and writing image plans against real distribution registries: the shared
one at 127.0.0.1:5000 and throw-away ones (plain, htpasswd, token auth), with mounts proven by
what the registry was asked, not by what the client says."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from contracts import oci
from services import errors, registry
from services.registry import manifests
from services.testbed.registry import cnb_images, layers, registry_process
from tests.integration.registry import support

pytestmark = pytest.mark.integration

SHARED_REGISTRY = "127.0.0.1:5000"


@pytest.fixture
async def shared_registry() -> str:
    """The machine's registry at 127.0.0.1:5000 (skips when it is down)."""
    async with httpx.AsyncClient(timeout=2.0) as http:
        try:
            await http.get(f"http://{SHARED_REGISTRY}/v2/")
        except httpx.TransportError:
            pytest.skip(f"no registry at {SHARED_REGISTRY}")
    return SHARED_REGISTRY


def _copy_plan(image: oci.RemoteImage) -> oci.ImagePlan:
    """``image`` as a plan whose every blob is an existing one in its repository."""
    blobs: list[oci.NewBlob | oci.ExistingBlob] = [
        oci.ExistingBlob(descriptor=d, repository=image.repository)
        for d in [image.config_descriptor, *image.layers]
    ]
    return oci.ImagePlan(manifest=image.manifest, media_type=image.media_type, blobs=blobs)


async def _raw_manifest(host: str, repository: str, tag: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{host}/v2/{repository}/manifests/{tag}", headers={"Accept": manifests.ACCEPT}
        )
        response.raise_for_status()
        return response


# --- reading ---------------------------------------------------------------------------------


async def test_fetch_image_keeps_an_oci_manifest_byte_for_byte_with_its_config_and_layers(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    ref = f"{shared_registry}/{repository}:run"
    pushed = await cnb_images.push_run_image(client, ref, stack_id="kiln.stack", mixins=["curl"])

    image = await client.fetch_image(ref)

    served = await _raw_manifest(shared_registry, repository, "run")
    assert image.manifest == served.content
    assert (
        image.identifier
        == pushed
        == f"{shared_registry}/{repository}@{manifests.sha256_digest(served.content)}"
    )
    assert image.media_type == oci.OCI_MANIFEST
    assert (image.os, image.architecture) == ("linux", "amd64")
    assert image.labels["io.buildpacks.stack.id"] == "kiln.stack"
    assert image.config_descriptor.media_type == oci.OCI_CONFIG
    assert [layer.media_type for layer in image.layers] == [oci.OCI_LAYER_GZIP]
    assert len(image.diff_ids) == 1


async def test_fetch_image_reads_a_docker_typed_manifest(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    ref = f"{plain_registry.host}/{repository}:docker"
    await cnb_images.push_build_image(client, ref, stack_id="kiln.stack", docker=True)

    image = await client.fetch_image(ref)

    assert image.media_type == oci.DOCKER_MANIFEST
    assert image.config_descriptor.media_type == oci.DOCKER_CONFIG
    assert [layer.media_type for layer in image.layers] == [oci.DOCKER_LAYER_GZIP]
    assert "CNB_USER_ID=1000" in image.env
    assert image.manifest == (await _raw_manifest(plain_registry.host, repository, "docker")).content


async def test_fetch_image_of_an_index_is_its_linux_amd64_image_fully_qualified(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    base = f"{plain_registry.host}/{repository}"
    arm = await client.fetch_image(await cnb_images.push_run_image(client, f"{base}:arm", stack_id="arm"))
    amd = await client.fetch_image(await cnb_images.push_run_image(client, f"{base}:amd", stack_id="amd"))
    index = {
        "schemaVersion": 2,
        "mediaType": manifests.OCI_INDEX,
        "manifests": [_index_entry(arm, "arm64"), _index_entry(amd, "amd64")],
    }
    index_bytes = json.dumps(index).encode()
    await client.tag_image(f"{base}:multi", index_bytes, manifests.OCI_INDEX)

    image = await client.fetch_image(f"{base}:multi")

    assert image.identifier == amd.identifier == f"{plain_registry.host}/{repository}@{amd.digest}"
    assert image.labels["io.buildpacks.stack.id"] == "amd"
    assert await client.find_digest(f"{base}:multi") == manifests.sha256_digest(index_bytes)


def _index_entry(image: oci.RemoteImage, architecture: str) -> dict[str, object]:
    entry = manifests.descriptor(image.manifest, media_type=image.media_type)
    return {**entry, "platform": {"os": "linux", "architecture": architecture}}


async def test_find_digest_is_the_tags_digest_and_none_for_a_missing_tag_or_repository(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    ref = f"{shared_registry}/{repository}:v1"
    pushed = await client.push_image(ref, config={"os": "linux"}, layers=[b"find me"])

    assert await client.find_digest(ref) == pushed
    assert await client.find_digest(f"{shared_registry}/{repository}:no-such-tag") is None
    assert await client.find_digest(f"{shared_registry}/{repository}-absent:v1") is None


async def test_fetch_image_of_a_missing_tag_is_not_found(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    with pytest.raises(errors.NotFoundError, match="not found"):
        await client.fetch_image(f"{shared_registry}/{repository}:absent")


# --- writing ---------------------------------------------------------------------------------


async def test_write_image_of_new_blobs_uploads_them_and_reads_back_identical(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    plan = cnb_images.lifecycle_plan(version="0.17.2")
    ref = f"{shared_registry}/{repository}:lifecycle"

    outcome = await client.write_image(ref, plan)

    assert (outcome.uploaded, outcome.mounted, outcome.copied, outcome.skipped) == (3, 0, 0, 0)
    assert outcome.digest == plan.digest
    assert outcome.identifier == f"{ref}@{plan.digest}"
    assert outcome.digest_ref == f"{shared_registry}/{repository}@{plan.digest}"
    assert (await client.fetch_image(ref)).manifest == plan.manifest


async def test_layers_in_another_repository_of_the_same_registry_are_mounted_never_moved(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    async with support.registry_proxy(plain_registry.url) as proxy:
        source = await client.fetch_image(
            await cnb_images.push_lifecycle_image(client, f"{proxy.host}/{repository}/lifecycle:v1")
        )
        proxy.seen.clear()
        before = client.stats.downloaded_bytes

        outcome = await client.write_image(f"{proxy.host}/{repository}/builder:v1", _copy_plan(source))

        assert (outcome.mounted, outcome.copied, outcome.uploaded, outcome.skipped) == (3, 0, 0, 0)
        assert client.stats.downloaded_bytes == before
        builder = f"/v2/{repository}/builder"
        assert sorted(proxy.seen) == sorted(
            [("HEAD", f"{builder}/blobs/{d.digest}") for d in [source.config_descriptor, *source.layers]]
            + [("POST", f"{builder}/blobs/uploads/")] * 3
            + [("PUT", f"{builder}/manifests/v1")]
        ), "blob HEADs, one mount POST a blob and the manifest PUT: no blob read or sent"

    copy = await client.fetch_image(f"{plain_registry.host}/{repository}/builder:v1")
    assert copy.manifest == source.manifest
    assert copy.digest == source.digest
    assert copy.repository == f"{plain_registry.host}/{repository}/builder"


async def test_a_second_write_of_the_same_plan_skips_every_blob(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    source = await client.fetch_image(
        await cnb_images.push_build_image(client, f"{shared_registry}/{repository}/build:v1")
    )
    target = f"{shared_registry}/{repository}/builder:v1"
    first = await client.write_image(target, _copy_plan(source))

    again = await client.write_image(target, _copy_plan(source))
    stamped = await client.write_image(
        f"{shared_registry}/{repository}/builder:20260617124823", _copy_plan(source)
    )

    assert (first.mounted, first.skipped) == (2, 0)
    assert (again.mounted, again.copied, again.uploaded, again.skipped) == (0, 0, 0, 2)
    assert (stamped.skipped, stamped.digest) == (2, first.digest)


async def test_blobs_on_another_registry_host_are_copied_with_that_sources_keychain(
    plain_registry: registry_process.RegistryProcess,
    basic_registry: registry_process.RegistryProcess,
    repository: str,
) -> None:
    secret = support.docker_registry_secret(
        basic_registry.host, username="alice", password=support.USERS["alice"]
    )
    source_keychain = registry.Keychain.from_secrets([secret])
    async with registry.RegistryClient(backoff=()) as client:
        pushed = await cnb_images.push_buildpackage(
            client,
            f"{basic_registry.host}/{repository}/store:v1",
            cnb_images.sample_buildpacks()["nodejs"],
            keychain=source_keychain,
        )
        source = await client.fetch_image(pushed, keychain=source_keychain)
        target = f"{plain_registry.host}/{repository}/builder:v1"

        outcome = await client.write_image(
            target, _copy_plan(source), source_keychains={source.repository: source_keychain}
        )

        assert (outcome.copied, outcome.mounted, outcome.uploaded) == (4, 0, 0)
        assert client.stats.downloaded_bytes == sum(
            d.size for d in [source.config_descriptor, *source.layers]
        )
        copy = await client.fetch_image(target)
    assert (copy.manifest, copy.digest) == (source.manifest, source.digest)


async def test_a_registry_that_declines_the_mount_gets_the_blob_copied(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    async with _mount_ignoring_proxy(plain_registry.url) as host:
        source = await client.fetch_image(
            await cnb_images.push_run_image(client, f"{host}/{repository}/run:v1", serial="7")
        )
        fallbacks = client.stats.mount_fallbacks

        outcome = await client.write_image(f"{host}/{repository}/run-copy:v1", _copy_plan(source))

        assert (outcome.copied, outcome.mounted) == (2, 0)
        assert client.stats.mount_fallbacks == fallbacks + 2
        assert (await client.fetch_image(f"{host}/{repository}/run-copy:v1")).digest == source.digest


@contextlib.asynccontextmanager
async def _mount_ignoring_proxy(upstream_url: str) -> AsyncIterator[str]:
    """A proxy that drops ``mount``/``from`` from upload requests, as a registry without
    cross-repository mounts would: it answers 202 and opens an ordinary upload."""
    async with httpx.AsyncClient(base_url=upstream_url) as upstream:

        async def forward(request: web.Request) -> web.Response:
            query = {k: v for k, v in request.query.items() if k not in ("mount", "from")}
            headers = {
                k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
            }
            answer = await upstream.request(
                request.method, request.path, params=query, headers=headers, content=await request.read()
            )
            kept = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection")
            }
            return web.Response(status=answer.status_code, headers=kept, body=answer.content)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()


async def test_mounts_work_with_basic_auth(
    basic_registry: registry_process.RegistryProcess, repository: str
) -> None:
    secret = support.docker_registry_secret(
        basic_registry.host, username="alice", password=support.USERS["alice"]
    )
    keychain = registry.Keychain.from_secrets([secret])
    async with registry.RegistryClient(keychain, backoff=()) as client:
        source = await client.fetch_image(
            await cnb_images.push_run_image(client, f"{basic_registry.host}/{repository}/run:v1")
        )

        outcome = await client.write_image(
            f"{basic_registry.host}/{repository}/relocated:v1", _copy_plan(source)
        )

        assert (outcome.mounted, outcome.copied) == (2, 0)
        assert await client.find_digest(f"{basic_registry.host}/{repository}/relocated:v1") == source.digest


async def test_mounts_work_with_one_bearer_token_for_both_repositories(
    token_registry: support.TokenRegistry, repository: str
) -> None:
    host = token_registry.process.host
    secret = support.docker_registry_secret(host, username="alice", password=support.USERS["alice"])
    async with registry.RegistryClient(registry.Keychain.from_secrets([secret]), backoff=()) as client:
        source = await client.fetch_image(
            await cnb_images.push_run_image(client, f"{host}/{repository}/run:v1")
        )

        outcome = await client.write_image(f"{host}/{repository}/relocated:v1", _copy_plan(source))

        assert (outcome.mounted, outcome.copied) == (2, 0)
        assert await client.find_digest(f"{host}/{repository}/relocated:v1") == source.digest


async def test_an_existing_blob_that_is_nowhere_is_not_found(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    plan = cnb_images.run_image_plan(serial="never pushed")
    missing = [
        oci.ExistingBlob(descriptor=blob.descriptor, repository=f"{plain_registry.host}/{repository}/nowhere")
        for blob in plan.blobs
    ]
    absent = plan.model_copy(update={"blobs": missing})

    with pytest.raises(errors.NotFoundError):
        await client.write_image(f"{plain_registry.host}/{repository}/target:v1", absent)
    assert await client.find_digest(f"{plain_registry.host}/{repository}/target:v1") is None


async def test_a_new_blob_whose_bytes_do_not_match_its_digest_is_refused_before_writing(
    client: registry.RegistryClient, plain_registry: registry_process.RegistryProcess, repository: str
) -> None:
    plan = layers.image_plan({"os": "linux"}, [layers.tar_layer([layers.Entry("/x", b"x", 0o644)])])
    config, layer = plan.blobs
    assert isinstance(layer, oci.NewBlob)
    wrong = plan.model_copy(update={"blobs": [config, layer.model_copy(update={"content": b"other"})]})

    with pytest.raises(errors.InvalidError, match="new blob bytes are not"):
        await client.write_image(f"{plain_registry.host}/{repository}:v1", wrong)
    assert await client.find_digest(f"{plain_registry.host}/{repository}:v1") is None


async def test_tag_image_puts_the_same_manifest_to_another_tag(
    client: registry.RegistryClient, shared_registry: str, repository: str
) -> None:
    image = await client.fetch_image(
        await cnb_images.push_run_image(client, f"{shared_registry}/{repository}:v1")
    )

    digest = await client.tag_image(f"{shared_registry}/{repository}:stamp", image.manifest, image.media_type)

    assert digest == image.digest
    assert await client.find_digest(f"{shared_registry}/{repository}:stamp") == image.digest


async def test_writing_to_a_digest_reference_is_refused(
    client: registry.RegistryClient, shared_registry: str
) -> None:
    plan = cnb_images.run_image_plan()
    with pytest.raises(ValueError, match="name a tag, not a digest"):
        await client.write_image(f"{shared_registry}/app@{plan.digest}", plan)
