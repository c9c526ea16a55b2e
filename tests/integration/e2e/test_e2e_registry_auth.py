"""``kiln run build-runner image-state`` against registries that want credentials.

Two real registries that refuse anonymous access: one with htpasswd basic auth, one with the
bearer-token flow (the test bed's token server). The build-runner and image-state run as a
separate ``python -m services.cli run build-runner image-state`` process on the sandbox's broker
prefix and kubeconfig, as in a deployment; the bridge, the image-reconciler and the simulated
kubelet run in the in-process sandbox. Each Image keeps its builder image, app image and registry
cache on one of the two registries:

* the htpasswd registry's credentials are only in a docker-registry secret of the Image's
  service account (as kpack users give them);
* the token registry's credentials are only in Kiln's own docker config (``KILN_REGISTRY_DOCKER_CONFIG``,
  a mounted Secret in a deployment).

Each build gets its pod rendered (the builder image's config read with those credentials) and its
cache digest recorded (the cache tag checked in the registry with them). The simulated kubelet,
which stands in for the build pod and its mounted secrets, gets both registries' credentials
through the sandbox's own ``KILN_REGISTRY_DOCKER_CONFIG``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts import builds as build_models
from services import registry
from services.testbed.registry import builders as registry_builders
from services.testbed.registry import registry_process, token_server
from services.testbed.sandbox import examples, harness
from tests.integration.registry import support

pytestmark = pytest.mark.integration

USER, PASSWORD = next(iter(support.USERS.items()))
WAIT_SECONDS = 30.0


@dataclass
class Setup:
    sb: harness.Sandbox
    worker: asyncio.subprocess.Process
    log: Path
    basic_host: str
    token_host: str
    registry: registry.RegistryClient
    """A client with both registries' credentials, to check what the builds wrote."""


def _docker_config(path: Path, *hosts: str) -> Path:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token} for host in hosts}}))
    return path


@pytest.fixture
async def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    async with (
        registry_process.running_registry(users=support.USERS) as basic,
        token_server.running_token_server(support.USERS, directory=tmp_path) as tokens,
        registry_process.running_registry(token_auth=tokens.settings) as token,
    ):
        everything = _docker_config(tmp_path / "kubelet.json", basic.host, token.host)
        kilns_own = _docker_config(tmp_path / "kiln.json", token.host)
        # The in-process sandbox (its simulated kubelet) reads the setting from the environment.
        monkeypatch.setenv("KILN_REGISTRY_DOCKER_CONFIG", str(everything))
        keychain = registry.Keychain.from_docker_config(json.loads(everything.read_text()))
        async with (
            registry.RegistryClient(keychain, backoff=()) as checking,
            harness.sandbox(step_seconds=0.05, services=("bridge", "image-reconciler")) as sb,
        ):
            log = tmp_path / "worker.log"
            worker = await sb.start_process(
                ["build-runner", "image-state"],
                log=log,
                env={"KILN_REGISTRY_DOCKER_CONFIG": str(kilns_own)},
            )
            try:
                yield Setup(sb, worker, log, basic.host, token.host, checking)
            finally:
                worker.terminate()
                await worker.wait()


async def _builder(setup: Setup, host: str, *, name: str) -> None:
    """Push a builder image to ``host`` and make it the ready ClusterBuilder ``name``."""
    ref = f"{host}/builders/{name}"
    run_image = f"{host}/sandbox/run"
    digest = await registry_builders.push_builder_image(
        setup.registry,
        ref,
        stack_id=examples.STACK_ID,
        run_image=run_image,
        platform_apis=["0.7", "0.8", "0.9"],
        buildpacks=examples.BUILDPACKS,
        lifecycle_version=examples.LIFECYCLE_VERSION,
    )
    await setup.sb.apply(
        examples.cluster_builder(
            name=name, builder_image=f"{ref}@{digest}", run_image=f"{run_image}@{digest}"
        )
    )


def _create(setup: Setup, obj: dict[str, Any]) -> None:
    setup.sb.emulator.create(obj, namespace=obj["metadata"]["namespace"])


async def _image(setup: Setup, host: str, *, builder: str, namespace: str, account: str) -> str:
    name = f"app-{uuid.uuid4().hex[:8]}"
    image = examples.image("registry-cache", name=name, namespace=namespace, registry=host, builder=builder)
    image["spec"]["serviceAccountName"] = account
    await setup.sb.apply(image)
    return name


async def _finished(setup: Setup, namespace: str) -> build_models.Build:
    def done() -> bool:
        return any(not b.running() for b in setup.sb.builds(namespace))

    try:
        await setup.sb.wait_for(done, seconds=WAIT_SECONDS, what=f"a finished build in {namespace}")
    except TimeoutError:
        raise AssertionError(f"no build finished; worker log:\n{setup.log.read_text()[-4000:]}") from None
    [build] = setup.sb.builds(namespace)
    return build


async def test_builds_on_authenticated_registries_get_their_pods_and_cache_digests(setup: Setup) -> None:
    suffix = uuid.uuid4().hex[:8]
    basic_namespace, token_namespace = f"auth-basic-{suffix}", f"auth-token-{suffix}"
    await _builder(setup, setup.basic_host, name=f"basic-{suffix}")
    await _builder(setup, setup.token_host, name=f"token-{suffix}")
    secret = support.docker_registry_secret(setup.basic_host, username=USER, password=PASSWORD)
    secret["metadata"] = {"name": "registry-credentials", "namespace": basic_namespace}
    _create(setup, secret)
    _create(
        setup,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "builder", "namespace": basic_namespace},
            "secrets": [{"name": "registry-credentials"}],
        },
    )
    _create(
        setup,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": token_namespace},
        },
    )
    images = {
        basic_namespace: await _image(
            setup, setup.basic_host, builder=f"basic-{suffix}", namespace=basic_namespace, account="builder"
        ),
        token_namespace: await _image(
            setup, setup.token_host, builder=f"token-{suffix}", namespace=token_namespace, account="default"
        ),
    }

    for namespace, name in images.items():
        build = await _finished(setup, namespace)

        assert build.succeeded(), build.status.condition("Succeeded")
        pod = setup.sb.pod(build)
        assert pod is not None, "the build-runner rendered and created the build pod"
        cache_tag = build.spec.registry_cache_tag()
        written = await setup.registry.digest_ref(cache_tag)
        assert build.status.latest_cache_image == written, "image-state checked the cache digest"

        def recorded(namespace: str = namespace, name: str = name, written: str = written) -> bool:
            image = setup.sb.emulator.get("images", name, namespace) or {}
            return (image.get("status") or {}).get("latestCacheImage") == written

        await setup.sb.wait_for(recorded, seconds=WAIT_SECONDS, what=f"{namespace}/{name}'s latestCacheImage")
