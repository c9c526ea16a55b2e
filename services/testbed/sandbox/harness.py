"""The sandbox harness: emulator + simulated kubelet + every service, on the local broker and registry.

Used by ``kiln sandbox`` and by the end-to-end tests. Every run declares its own broker topology
(a unique name prefix) and deletes it on exit, so runs never see each other's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from contracts import builds as build_models
from services.broker import connecting, topology
from services.broker import settings as broker_settings
from services.kube import resources as kube_resources
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.emulator import Emulator
from services.testbed.kubelet import failures
from services.testbed.kubelet import kubelet as simulated_kubelet
from services.testbed.registry import builders as registry_builders
from services.testbed.registry import registry_process
from services.testbed.sandbox import builder_kit, examples
from services.triggers import settings as triggers_settings
from services.triggers import webhooks

logger = logging.getLogger(__name__)
WEBHOOK_SECRET = "kiln-sandbox"
"""The sandbox's webhook secret (GitHub signatures) and token (generic webhooks): it listens on localhost only."""
BUILDER_NAME = "default"


@dataclass
class Sandbox:
    """A running sandbox; build with :func:`sandbox`."""

    emulator: Emulator
    wiring: running.Wiring
    kubelet: simulated_kubelet.Kubelet
    registry_host: str
    kubeconfig: Path
    prefix: str
    run_id: str
    services: tuple[str, ...] = running.ALL
    """The services running in this sandbox's process."""
    builder_image: str = ""
    commits: dict[str, int] = field(default_factory=dict)
    kit: builder_kit.BuilderKit | None = None
    """The images behind the builder Kiln made, once :meth:`add_builder` made one."""

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create a kpack object, then write its ``status`` (if any) through the status subresource."""
        resource = _resource_of(self.wiring.kube, obj["kind"])
        created = await resource.create(resource.parse(obj))
        if "status" in obj:
            created = await resource.replace_status(
                resource.parse({**created.dump(), "status": obj["status"]})
            )
        written: dict[str, Any] = created.dump()
        return written

    async def add_builder(self, *, name: str = BUILDER_NAME, seconds: float = 30.0) -> None:
        """The builder Images build with: made by Kiln's builder service from a ClusterStore,
        ClusterStack and ClusterLifecycle whose images are pushed to the registry first, when the
        builder service runs here; else one made elsewhere (:meth:`add_prebuilt_builder`)."""
        if "builder" not in self.services:
            await self.add_prebuilt_builder(name=name)
            return
        kit = builder_kit.BuilderKit(
            self.wiring.registry, prefix=f"{self.registry_host}/sandbox/{self.run_id}"
        )
        await kit.push()
        for obj in kit.resources(builder=name):
            await self.apply(obj)
        self.kit = kit
        await self.wait_for(
            lambda: self._builder_ready(name), seconds=seconds, what=f"ClusterBuilder {name} to be made"
        )
        self.builder_image = str(self.cluster_builder(name)["status"]["latestImage"])

    def _builder_ready(self, name: str) -> bool:
        status = self.cluster_builder(name).get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
        )
        return ready and bool(status.get("latestImage"))

    def cluster_builder(self, name: str = BUILDER_NAME) -> dict[str, Any]:
        """The ClusterBuilder as the API holds it."""
        found: dict[str, Any] = self.emulator.get("clusterbuilders", name) or {}
        return found

    async def announce_push(self, identifier: str, *, tag: str) -> dict[str, Any]:
        """The notification a registry sends for a manifest pushed to ``tag`` (``identifier`` is
        ``host/repository@sha256:…``), posted to the triggers service: for a registry that sends
        none (the sandbox's own may be one that does, see :func:`sandbox`). The answer."""
        if self.wiring.webhooks_url is None:
            raise RuntimeError("announcing a push needs the triggers service in the sandbox")
        repository, _, digest = identifier.partition("@")
        host, _, path = repository.partition("/")
        envelope = {
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "action": "push",
                    "target": {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "repository": path,
                        "digest": digest,
                        "tag": tag,
                    },
                    "request": {"host": host},
                }
            ]
        }
        headers = {
            "Content-Type": webhooks.REGISTRY_MEDIA_TYPE,
            "Authorization": f"Bearer {WEBHOOK_SECRET}",
        }
        async with httpx.AsyncClient(timeout=30.0) as http:
            response = await http.post(
                f"{self.wiring.webhooks_url}/webhooks/registry", content=json.dumps(envelope), headers=headers
            )
        if response.status_code != HTTPStatus.ACCEPTED:
            raise RuntimeError(
                f"the registry notification was refused: {response.status_code} {response.text}"
            )
        answer: dict[str, Any] = response.json()
        return answer

    async def add_prebuilt_builder(
        self, *, name: str = BUILDER_NAME, buildpacks: list[dict[str, str]] | None = None
    ) -> None:
        """Push a builder image made elsewhere to the registry and create a ready ClusterBuilder for
        it (its status written as kpack's builder controller would)."""
        ref = f"{self.registry_host}/sandbox/{self.run_id}-builder"
        run_image = f"{self.registry_host}/sandbox/run@sha256:{'0' * 64}"
        digest = await registry_builders.push_builder_image(
            self.wiring.registry,
            ref,
            stack_id=examples.STACK_ID,
            run_image=run_image.split("@")[0],
            platform_apis=["0.7", "0.8", "0.9"],
            buildpacks=buildpacks or examples.BUILDPACKS,
            lifecycle_version=examples.LIFECYCLE_VERSION,
        )
        self.builder_image = f"{ref}@{digest}"
        await self.apply(
            examples.cluster_builder(name=name, builder_image=self.builder_image, run_image=run_image)
        )

    async def push_commit(self, *, url: str = examples.GIT_URL, branch: str = examples.BRANCH) -> str:
        """What a git host does on a push: a signed GitHub push webhook to the triggers service,
        which publishes ``source.changed`` for every Image following ``branch`` of ``url``.
        Returns the new commit."""
        number = self.commits.get(url, 1) + 1
        self.commits[url] = number
        revision = examples.commit(number)
        await self.github_push(
            revision, before=examples.commit(number - 1), delivery=str(uuid.uuid4()), url=url, branch=branch
        )
        return revision

    async def github_push(
        self,
        revision: str,
        *,
        before: str,
        delivery: str,
        url: str = examples.GIT_URL,
        branch: str = examples.BRANCH,
        forced: bool = False,
    ) -> dict[str, Any]:
        """The signed GitHub push webhook of ``before`` → ``revision`` on ``branch`` of ``url``, as
        delivery ``delivery`` (the same id again is what GitHub's "Redeliver" sends); the answer."""
        if self.wiring.webhooks_url is None:
            raise RuntimeError("a push needs the triggers service in the sandbox")
        body = json.dumps(
            {
                "ref": f"refs/heads/{branch}",
                "before": before,
                "after": revision,
                "forced": forced,
                "repository": {"clone_url": f"{url}.git", "html_url": url},
                "head_commit": {"id": revision},
            }
        ).encode()
        signature = webhooks.github_digest(body, secret=WEBHOOK_SECRET)
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        async with httpx.AsyncClient(timeout=30.0) as http:
            response = await http.post(
                f"{self.wiring.webhooks_url}/webhooks/github", content=body, headers=headers
            )
        if response.status_code != HTTPStatus.ACCEPTED:
            raise RuntimeError(f"the push webhook was refused: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        logger.info("pushed %s to %s@%s (delivery %s): %s", revision, url, branch, delivery, answer)
        return answer

    async def start_process(
        self, services: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process:
        """A separate ``kiln run SERVICES…`` process on this sandbox's broker prefix and cluster,
        writing its output to ``log``; ``env`` adds or overrides variables. Its admin endpoint
        listens on a free port of 127.0.0.1 (the process logs where)."""
        environment = {
            **os.environ,
            "KILN_BROKER_PREFIX": self.prefix,
            "KILN_KUBE_KUBECONFIG": str(self.kubeconfig),
            "KILN_KUBE_IN_CLUSTER": "false",
            "KILN_ADMIN_HOST": "127.0.0.1",
            "KILN_ADMIN_PORT": "0",
            "KILN_GIT_LISTING": "false",  # the examples' repository exists only in pushed webhooks
            "KILN_GIT_POLLING": "false",
            **(env or {}),
        }
        with log.open("wb") as out:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli",
                "run",
                *services,
                env=environment,
                stdout=out,
                stderr=out,
            )

    def fail(self, plan: failures.FailurePlan) -> None:
        """From now on, build pods fail as ``plan`` says."""
        self.kubelet.config = dataclasses.replace(self.kubelet.config, fail=plan)

    def builds(self, namespace: str | None = None) -> list[build_models.Build]:
        """Every Build in the emulator, oldest first."""
        found = [build_models.Build.model_validate(b) for b in self.emulator.objects("builds", namespace)]
        return sorted(found, key=lambda b: (b.metadata.creation_timestamp or "", b.build_number() or 0))

    def pod(self, build: build_models.Build) -> dict[str, Any] | None:
        return self.emulator.get("pods", build.pod_name(), build.namespace)

    def rebased(self, build: build_models.Build) -> bool:
        """Whether the build's pod ran kpack's rebase step alone (a STACK-only rebuild)."""
        pod = self.pod(build) or {"spec": {}}
        return [c["name"] for c in pod["spec"].get("initContainers", [])] == ["rebase"]

    def cache_args(self, build: build_models.Build) -> dict[str, list[str]]:
        """Each step of the build's pod → its cache arguments (``-cache-image=…``, ``-cache-dir=…``)."""
        pod = self.pod(build) or {"spec": {}}
        return {
            c["name"]: [a for a in c.get("args", []) if a.startswith(("-cache-image=", "-cache-dir="))]
            for c in pod["spec"].get("initContainers", [])
        }

    async def wait_for(
        self, predicate: Callable[[], bool], *, seconds: float = 30.0, what: str = "", poll: float = 0.05
    ) -> None:
        """Until ``predicate()``, asked every ``poll`` seconds (a predicate reading thousands of
        objects from the emulator blocks the services' event loop while it reads: ask it less often)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what or predicate}")
            await asyncio.sleep(poll)


@contextlib.asynccontextmanager
async def sandbox(
    *,
    registry_host: str = "127.0.0.1:5000",
    broker: broker_settings.BrokerSettings | None = None,
    step_seconds: float = 0.05,
    fail: failures.FailurePlan = failures.from_annotations,
    workdir: Path | None = None,
    services: tuple[str, ...] = ("all",),
    admin_port: int | None = 0,
    notifying_registry: bool = False,
    resync_seconds: float = 30.0,
    git_listing: bool = False,
    git_poll_seconds: float = 60.0,
    run_settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[Sandbox]:
    """Start everything; stop it and delete the run's broker topology on exit.

    The bridge resyncs every ``resync_seconds`` (a test that shows something happens without a
    resync sets it far beyond its own length). ``git_listing``: a new Image's branch is listed
    from its remote, and remotes are polled every ``git_poll_seconds`` (off by default: the
    examples' repository exists only in pushed webhooks).

    The admin endpoint (health, metrics) listens on ``admin_port`` (0: a free port; None: none);
    ``wiring.admin_url`` says where. ``notifying_registry`` starts a registry of the sandbox's own
    (instead of using ``registry_host``) that sends its push notifications to the triggers
    service, as a production registry would be set up. ``run_settings``: more ``kiln run`` settings
    (:class:`~services.runtime.running.RunSettings` fields, e.g. the build limits)."""
    async with contextlib.AsyncExitStack() as stack:
        hooks_port = 0
        if notifying_registry:
            hooks_port = registry_process.free_port()
            started = await registry_process.start_registry(
                notify_url=f"http://127.0.0.1:{hooks_port}/webhooks/registry",
                notify_headers={"Authorization": [f"Bearer {WEBHOOK_SECRET}"]},
            )
            stack.push_async_callback(started.stop)
            registry_host = started.host
        box = await stack.enter_async_context(
            _sandbox(
                registry_host=registry_host,
                broker=broker,
                step_seconds=step_seconds,
                fail=fail,
                workdir=workdir,
                services=services,
                admin_port=admin_port,
                hooks_port=hooks_port,
                resync_seconds=resync_seconds,
                git_listing=git_listing,
                git_poll_seconds=git_poll_seconds,
                overrides=run_settings or {},
            )
        )
        yield box


@contextlib.asynccontextmanager
async def _sandbox(
    *,
    registry_host: str,
    broker: broker_settings.BrokerSettings | None,
    step_seconds: float,
    fail: failures.FailurePlan,
    workdir: Path | None,
    services: tuple[str, ...],
    admin_port: int | None,
    hooks_port: int,
    resync_seconds: float,
    git_listing: bool,
    git_poll_seconds: float,
    overrides: Mapping[str, Any],
) -> AsyncIterator[Sandbox]:
    run_id = uuid.uuid4().hex[:8]
    base = broker or broker_settings.BrokerSettings()
    settings = base.model_copy(update={"prefix": f"{base.prefix}-sandbox-{run_id}"})
    directory = workdir or Path(tempfile.mkdtemp(prefix="kiln-sandbox-"))
    emulator = Emulator(bookmark_interval=1.0)
    await emulator.start()
    try:
        kubeconfig = emulator.write_kubeconfig(directory / "kubeconfig")
        run_settings = running.RunSettings(
            resync_seconds=resync_seconds,
            admin_host="127.0.0.1",
            admin_port=admin_port,
            git_listing=git_listing,
            git_polling=git_listing,
            git_poll_seconds=git_poll_seconds,
            **overrides,
        )
        kube = kube_settings.KubeSettings(kubeconfig=kubeconfig, in_cluster=False)
        hooks = triggers_settings.TriggersSettings(
            host="127.0.0.1",
            port=hooks_port,
            github_secret=SecretStr(WEBHOOK_SECRET),
            generic_token=SecretStr(WEBHOOK_SECRET),
            registry_token=SecretStr(WEBHOOK_SECRET),
            rate_per_second=0.0,  # every webhook here comes from this machine: the pusher, the registry
        )
        async with running.running(
            services, settings=run_settings, broker=settings, kube=kube, triggers=hooks
        ) as wiring:
            config = simulated_kubelet.KubeletConfig(step_seconds=step_seconds, fail=fail)
            async with simulated_kubelet.Kubelet(wiring.kube, wiring.registry, config=config) as kubelet:
                chosen = tuple(
                    dict.fromkeys(n for s in services for n in (running.ALL if s == "all" else (s,)))
                )
                yield Sandbox(
                    emulator, wiring, kubelet, registry_host, kubeconfig, settings.prefix, run_id, chosen
                )
    finally:
        await emulator.stop()
        await _delete_topology(settings)


async def _delete_topology(settings: broker_settings.BrokerSettings) -> None:
    connection = await connecting.connect(settings, service="sandbox-cleanup")
    try:
        channel = await connection.channel()
        await topology.delete(channel, settings=settings)
    finally:
        await connection.close()


def _resource_of(kube: kube_resources.Kube, kind: str) -> kube_resources.Resource[Any]:
    resources: dict[str, kube_resources.Resource[Any]] = {
        "Image": kube.images,
        "Build": kube.builds,
        "Builder": kube.builders,
        "ClusterBuilder": kube.cluster_builders,
        "SourceResolver": kube.source_resolvers,
        "ClusterStore": kube.cluster_stores,
        "ClusterStack": kube.cluster_stacks,
        "ClusterLifecycle": kube.cluster_lifecycles,
        "Buildpack": kube.buildpacks,
        "ClusterBuildpack": kube.cluster_buildpacks,
    }
    if kind not in resources:
        raise ValueError(f"the sandbox applies kpack objects only, not {kind}")
    return resources[kind]
