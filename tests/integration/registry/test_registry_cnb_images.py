"""The test bed's CNB images, pushed to the real registry and read back as kpack reads them: the
labels parse as JSON, each buildpack's ``layerDiffID`` names a real layer whose tar holds its
``buildpack.toml``, the lifecycle image's last layer holds the lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import io
import json
import tarfile
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from contracts import oci
from services import registry
from services.testbed.registry import cnb_images, registry_process

pytestmark = pytest.mark.integration

STACK = "io.buildpacks.stacks.kiln-test"


@pytest.fixture
async def host(plain_registry: registry_process.RegistryProcess) -> str:
    return plain_registry.host


async def _layer_tar(image: oci.RemoteImage, layer: oci.Descriptor) -> tuple[tarfile.TarFile, str]:
    """The layer's tar (opened) and its diff ID, from the registry's bytes."""
    host, _, repository = image.repository.partition("/")
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"http://{host}/v2/{repository}/blobs/{layer.digest}", follow_redirects=True
        )
        response.raise_for_status()
    assert hashlib.sha256(response.content).hexdigest() == layer.digest.removeprefix("sha256:")
    raw = gzip.decompress(response.content)
    return tarfile.open(fileobj=io.BytesIO(raw)), "sha256:" + hashlib.sha256(raw).hexdigest()


def _file(tar: tarfile.TarFile, path: str) -> bytes:
    member = tar.extractfile(path)
    assert member is not None, f"{path} is not a file"
    return member.read()


# --- determinism (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "changed"),
    [
        pytest.param(
            lambda **kw: cnb_images.run_image_plan(stack_id=STACK, **kw),
            {"serial": "2"},
            id="a run image with a new serial is a new image",
        ),
        pytest.param(
            lambda **kw: cnb_images.build_image_plan(stack_id=STACK, **kw),
            {"uid": 1001},
            id="a build image with another user id is a new image",
        ),
        pytest.param(
            lambda **kw: cnb_images.lifecycle_plan(**kw), {"version": "0.18.0"}, id="a new lifecycle version"
        ),
        pytest.param(
            lambda **kw: cnb_images.buildpackage_plan(cnb_images.sample_buildpacks(**kw)["nodejs"]),
            {"version": "1.0.1"},
            id="a buildpackage of new buildpack versions",
        ),
    ],
)
def test_equal_arguments_give_equal_bytes_and_new_ones_a_new_digest(
    make: Callable[..., oci.ImagePlan], changed: dict[str, Any]
) -> None:
    first, again, other = make(), make(), make(**changed)

    assert first.manifest == again.manifest
    assert [b.model_dump() for b in first.blobs] == [b.model_dump() for b in again.blobs]
    assert other.digest != first.digest


# --- stacks ----------------------------------------------------------------------------------


async def test_stack_images_read_back_with_stack_labels_env_and_a_real_layer(
    client: registry.RegistryClient, host: str, repository: str
) -> None:
    build_ref = await cnb_images.push_build_image(
        client,
        f"{host}/{repository}/build:v1",
        stack_id=STACK,
        mixins=["git", "build:make"],
        uid=1001,
        gid=1002,
    )
    run_ref = await cnb_images.push_run_image(
        client, f"{host}/{repository}/run:v1", stack_id=STACK, mixins=["git"]
    )

    build, run = await client.fetch_image(build_ref), await client.fetch_image(run_ref)

    assert build.identifier == build_ref
    assert run.identifier == run_ref
    for image in (build, run):
        assert image.labels["io.buildpacks.stack.id"] == STACK
        assert (image.os, image.architecture) == ("linux", "amd64")
    assert json.loads(build.labels["io.buildpacks.stack.mixins"]) == ["git", "build:make"]
    assert json.loads(run.labels["io.buildpacks.stack.mixins"]) == ["git"]
    assert {"CNB_USER_ID=1001", "CNB_GROUP_ID=1002"} <= set(build.env)
    tar, diff_id = await _layer_tar(run, run.layers[0])
    assert run.diff_ids == [diff_id]
    assert b'VERSION_ID="1"' in _file(tar, "/etc/os-release")


async def test_a_patched_run_image_has_new_content_and_a_new_digest_under_the_same_tag(
    client: registry.RegistryClient, host: str, repository: str
) -> None:
    ref = f"{host}/{repository}/run:jammy"
    first = await cnb_images.push_run_image(client, ref, stack_id=STACK)
    same = await cnb_images.push_run_image(client, ref, stack_id=STACK)

    patched = await cnb_images.push_run_image(client, ref, stack_id=STACK, serial="2")

    assert same == first
    assert patched != first
    assert await client.find_digest(ref) == patched.partition("@")[2]
    image = await client.fetch_image(ref)
    tar, _ = await _layer_tar(image, image.layers[0])
    assert b'VERSION_ID="2"' in _file(tar, "/etc/os-release")


async def test_label_overrides_make_faulty_images(
    client: registry.RegistryClient, host: str, repository: str
) -> None:
    ref = await cnb_images.push_build_image(
        client,
        f"{host}/{repository}/build:bad",
        uid=None,
        label_overrides={"io.buildpacks.stack.id": None, "io.buildpacks.stack.mixins": "not json"},
    )

    image = await client.fetch_image(ref)

    assert "io.buildpacks.stack.id" not in image.labels
    assert image.labels["io.buildpacks.stack.mixins"] == "not json"
    assert not [e for e in image.env if e.startswith("CNB_USER_ID=")]


# --- buildpackages ---------------------------------------------------------------------------


async def test_a_buildpackage_labels_each_buildpack_with_the_diff_id_of_its_real_layer(
    client: registry.RegistryClient, host: str, repository: str
) -> None:
    node = cnb_images.PackagedBuildpack(
        "kiln/node", "1.2.0", stacks=(cnb_images.StackSupport(STACK, ("git",)),)
    )
    node_old = cnb_images.PackagedBuildpack("kiln/node", "1.1.0", stacks=(cnb_images.StackSupport("*"),))
    meta = cnb_images.PackagedBuildpack(
        "kiln/meta",
        "2.0.0",
        order=(
            (cnb_images.GroupEntry("kiln/node", "1.2.0"), cnb_images.GroupEntry("kiln/x", optional=True)),
        ),
        homepage="https://example.com/meta",
    )
    ref = await cnb_images.push_buildpackage(client, f"{host}/{repository}/store:v1", [meta, node, node_old])

    image = await client.fetch_image(ref)

    assert json.loads(image.labels["io.buildpacks.buildpackage.metadata"]) == {
        "id": "kiln/meta",
        "version": "2.0.0",
        "homepage": "https://example.com/meta",
    }
    layers_label = json.loads(image.labels["io.buildpacks.buildpack.layers"])
    assert layers_label["kiln/meta"]["2.0.0"]["order"] == [
        {"group": [{"id": "kiln/node", "version": "1.2.0"}, {"id": "kiln/x", "optional": True}]}
    ]
    assert layers_label["kiln/node"]["1.2.0"]["stacks"] == [{"id": STACK, "mixins": ["git"]}]
    assert layers_label["kiln/node"]["1.1.0"]["stacks"] == [{"id": "*"}]
    assert {info["api"] for versions in layers_label.values() for info in versions.values()} == {"0.9"}
    for buildpack in (meta, node, node_old):
        info = layers_label[buildpack.id][buildpack.version]
        position = image.diff_ids.index(info["layerDiffID"])
        tar, diff_id = await _layer_tar(image, image.layers[position])
        assert diff_id == info["layerDiffID"]
        home = f"/cnb/buildpacks/{buildpack.escaped_id}/{buildpack.version}"
        toml = tomllib.loads(_file(tar, f"{home}/buildpack.toml").decode())
        assert toml["api"] == "0.9"
        assert (toml["buildpack"]["id"], toml["buildpack"]["version"]) == (buildpack.id, buildpack.version)
        scripts = {name for name in tar.getnames() if name.startswith(f"{home}/bin/")}
        if buildpack is meta:
            assert toml["order"][0]["group"][1] == {"id": "kiln/x", "version": "", "optional": True}
            assert not scripts
        else:
            assert toml["stacks"][0]["id"] == buildpack.stacks[0].id
            assert scripts == {f"{home}/bin/detect", f"{home}/bin/build"}
            assert tar.getmember(f"{home}/bin/build").mode == 0o755


# --- lifecycle -------------------------------------------------------------------------------


async def test_the_lifecycle_image_carries_its_labels_and_the_lifecycle_in_its_last_layer(
    client: registry.RegistryClient, host: str, repository: str
) -> None:
    ref = await cnb_images.push_lifecycle_image(
        client,
        f"{host}/{repository}/lifecycle:0.18.1",
        version="0.18.1",
        platform_apis=("0.8", "0.9", "0.10"),
    )

    image = await client.fetch_image(ref)

    assert json.loads(image.labels["io.buildpacks.builder.metadata"]) == {
        "lifecycle": {"version": "0.18.1"},
        "api": {"buildpack": "0.9", "platform": "0.10"},
    }
    assert json.loads(image.labels["io.buildpacks.lifecycle.apis"]) == {
        "buildpack": {"deprecated": [], "supported": ["0.7", "0.8", "0.9"]},
        "platform": {"deprecated": [], "supported": ["0.8", "0.9", "0.10"]},
    }
    tar, diff_id = await _layer_tar(image, image.layers[-1])
    assert diff_id == image.diff_ids[-1]
    assert b"0.18.1" in _file(tar, "/cnb/lifecycle/lifecycle")
    assert tar.getmember("/cnb/lifecycle/lifecycle").mode == 0o755
    assert tar.getmember("/cnb/lifecycle/detector").linkname == "lifecycle"


async def test_the_sample_set_resolves_in_the_shared_registry(
    client: registry.RegistryClient, repository: str
) -> None:
    prefix = f"127.0.0.1:5000/{repository}"
    try:
        images = await cnb_images.push_sample_images(client, prefix, stack_id=STACK)
    except Exception as e:  # the machine's registry is down
        pytest.skip(f"no shared registry: {e}")

    for tag, identifier in images.identifiers.items():
        assert (await client.fetch_image(tag)).identifier == identifier
    store = await client.fetch_image(images.store_images["nodejs"])
    assert set(json.loads(store.labels["io.buildpacks.buildpack.layers"])) == {
        "kiln/nodejs",
        "kiln/node",
        "kiln/npm",
    }


# --- notifications ---------------------------------------------------------------------------


async def test_registry_notifications_carry_the_configured_headers(
    client: registry.RegistryClient, repository: str
) -> None:
    received: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue()

    async def notified(request: web.Request) -> web.Response:
        await received.put((request.headers.get("Authorization", ""), await request.json()))
        return web.Response()

    async with (
        _receiver(notified) as url,
        registry_process.running_registry(
            notify_url=url, notify_headers={"Authorization": ["Bearer kiln-triggers"]}
        ) as notifying,
    ):
        await cnb_images.push_run_image(client, f"{notifying.host}/{repository}/run:v1", stack_id=STACK)

        authorization, envelope = await asyncio.wait_for(received.get(), timeout=10)

    assert authorization == "Bearer kiln-triggers"
    assert envelope["events"]


@contextlib.asynccontextmanager
async def _receiver(handler: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """An HTTP endpoint on a free port for the length of an ``async with``; yields its URL."""
    app = web.Application()
    app.router.add_post("/notify", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/notify"
    finally:
        await runner.cleanup()
