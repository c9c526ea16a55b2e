"""The build-runner service: turns a scheduled Build into its build (or rebase) pod.

Consumes ``build.scheduled``, published for every Build that may need its pod, whoever made it:
the image-reconciler for the Builds it creates, the bridge for a Build created directly or whose
pod was deleted while it ran. Reads the Build; a finished Build, one whose cancellation was asked
for (``kiln.dev/cancel``), or an existing pod means there is nothing to do (kpack never re-runs a
finished Build, and makes a new pod for a running one whose pod is gone). Reads the builder
image's config from the registry (cached by digest: a digest reference never changes) with the
keychain kpack uses for it: the Build's service account's secrets, Kiln's own credentials, then
the builder's and the account's image pull secrets (:mod:`services.registry.keychains`); and, for
a Build with bindings, what they need from the cluster (the namespace's service accounts, whose
secrets no binding may use, and each provisioned service); renders the pod with the pure
:func:`services.build_runner.pods.render_pod` and creates it. A Build whose pod cannot be rendered
(windows builder, unsupported platform API, missing builder image, a forbidden or missing binding)
fails with the message in its ``Succeeded`` condition, and the Image is told to look again.

Once the pod is created, the Build's status says it runs (:mod:`.started`: ``podName``,
``observedGeneration``, ``Succeeded`` Unknown), as kpack writes it with the pod; image-state writes
the outcome when the pod finishes. The write is conditional on the Build as it was read, so it never
replaces an outcome written meanwhile (the conflict is logged), and a failed write leaves the pod
to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from contracts import admission, builder_images, builds, events, meta
from services import errors, ports
from services.build_runner import bindings, builder_refs, notices, pods, started
from services.build_runner import secrets as build_secrets
from services.build_runner import slots as build_slots
from services.registry import client as registry_client
from services.registry import config as registry_config
from services.registry import keychains as registry_keychains

logger = logging.getLogger(__name__)
SOURCE = "/kiln/build-runner"
DEFAULT_SERVICE_ACCOUNT = registry_keychains.DEFAULT_SERVICE_ACCOUNT
ACCOUNTS_REMEMBERED = 10_000


@dataclasses.dataclass(frozen=True)
class ServiceAccountSecrets:
    """What the pod generator gets from the Build's service account."""

    secrets: list[build_secrets.BuildSecret] = dataclasses.field(default_factory=list)
    image_pull_secrets: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class BuildRunner:
    """Handles ``build.scheduled`` for one build-runner worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    registry: registry_client.RegistryClient
    _: dataclasses.KW_ONLY
    keychains: registry_keychains.Keychains
    clock: Callable[[], datetime]
    slots: Slots = dataclasses.field(default_factory=lambda: Slots(build_slots.Limits()))
    """The running-build limits (none by default): a build that finds no free slot is deferred."""
    account_ttl_seconds: float = 30.0
    """How long a service account's secrets are reused for the pods of its Builds (as the registry
    keychains reuse them) before they are read again; 0: read for every pod."""
    monotonic: Callable[[], float] = time.monotonic
    recorder: ports.Recorder = dataclasses.field(default_factory=ports.NoRecorder)
    """Writes the Kubernetes Event of a Build failed before its pod (:mod:`.notices`)."""
    metrics: ports.BuildMetrics = dataclasses.field(default_factory=ports.NoMetrics)
    """Counts a Build failed before its pod as finished (``failed``)."""
    _configs: dict[str, registry_config.ImageConfig] = dataclasses.field(default_factory=dict, init=False)
    _accounts: dict[tuple[str, str], tuple[ServiceAccountSecrets, float]] = dataclasses.field(
        default_factory=dict, init=False
    )

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.BuildScheduled):
            if data.resource_version:
                await self.cluster.catch_up(
                    "Build", data.namespace, data.build, data.resource_version, image=data.image
                )
            await self.run(data.namespace, data.build)

    async def run(self, namespace: str, name: str) -> None:
        build = await self.cluster.get_build(namespace, name)
        if build is None or not build.may_run():
            return
        if (
            started.pod_recorded(build)
            and await self.cluster.get_pod(namespace, build.pod_name()) is not None
        ):
            return  # a pod was made for it; one that never was is refused on create (already exists)
        invalid = admission.validate_build(build)
        if invalid is not None:
            # A Build the image-reconciler made is valid by construction; one created directly has
            # met no admission webhook yet: never render what kpack's admission refuses.
            await self._fail(build, message="\n".join(str(e) for e in invalid.merged()), reason="InvalidSpec")
            return
        try:
            lookups = await self.binding_lookups(build)
            account = await self.service_account(build)
            config = await self.builder_config(build)
            pod = pods.render_pod(
                build,
                config=config,
                now=self.clock(),
                secrets=account.secrets,
                image_pull_secrets=account.image_pull_secrets,
                lookups=lookups,
            )
        except (pods.PodGenerationError, errors.PermanentError) as e:
            await self._fail(build, message=str(e))
            return
        try:
            async with self.slots.admitted(namespace, build.pod_name(), storm=build.storm()):
                await self.cluster.create_pod(pod)
        except errors.AlreadyExistsError:
            logger.info("pod of %s/%s already exists", namespace, name)
            await self._mark_running(build, pod_name=build.pod_name())
            return
        except errors.InvalidError as e:
            await self._fail(build, message=str(e))
            return
        logger.info("created pod %s/%s", namespace, pod["metadata"]["name"])
        await self._mark_running(build, pod_name=pod["metadata"]["name"])

    async def binding_lookups(self, build: builds.Build) -> bindings.Lookups:
        """What the Build's bindings need from the cluster; nothing is read for a Build without any."""
        if not bindings.requested(build):
            return bindings.Lookups()
        accounts = await self.cluster.list_service_accounts(build.namespace)
        forbidden = bindings.forbidden_secrets(accounts)
        provisioned: dict[bindings.ServiceKey, str | None] = {}
        for service in bindings.provisioned_services(build):
            found = await self.cluster.get_custom_object(
                build.namespace,
                api_version=service.api_version,
                plural=bindings.resource_plural(service.kind),
                name=service.name,
            )
            if found is not None:
                provisioned[bindings.key(service)] = bindings.binding_secret(found)
        return bindings.Lookups(forbidden_secrets=forbidden, provisioned=provisioned)

    async def service_account(self, build: builds.Build) -> ServiceAccountSecrets:
        """The secrets of the Build's service account (``default`` when unset) that the pod hands to
        the lifecycle, and its image pull secrets. A missing account or secret is left out with a
        warning: the API server's service-account admission then refuses the pod, and the Build
        fails with its message."""
        name = build.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT
        key = (build.namespace, name)
        kept, read_at = self._accounts.get(key, (None, 0.0))
        if kept is not None and self.monotonic() - read_at < self.account_ttl_seconds:
            return kept
        found = await self._read_service_account(build, name)
        if len(self._accounts) >= ACCOUNTS_REMEMBERED:
            self._accounts.clear()
        self._accounts[key] = (found, self.monotonic())
        return found

    async def _read_service_account(self, build: builds.Build, name: str) -> ServiceAccountSecrets:
        account, secrets = await registry_keychains.account_secrets(self.cluster, build.namespace, name)
        if account is None:
            # Every namespace of a real cluster has "default"; only an emulated one may lack it.
            level = logging.INFO if name == DEFAULT_SERVICE_ACCOUNT else logging.WARNING
            logger.log(level, "build %s/%s: service account %s not found", build.namespace, build.name, name)
            return ServiceAccountSecrets()
        return ServiceAccountSecrets(
            [build_secrets.from_secret(secret) for secret in secrets],
            meta.reference_names(account.get("imagePullSecrets")),
        )

    async def builder_config(self, build: builds.Build) -> builder_images.BuilderImageConfig:
        """The builder image as the pod generator sees it; fetched once per digest. For
        ``spec.builder.image``, with the keychain of the Build's service account and the Build's
        builder pull secrets; for ``spec.builder.ref``, the referenced builder's ``latestImage``
        with the keychain of the builder's own service account (:mod:`.builder_refs`)."""
        image = build.spec.builder.image
        if image:
            account = registry_keychains.Account(
                build.namespace,
                build.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT,
                image_pull_secrets=tuple(ref.name for ref in build.spec.builder.image_pull_secrets or ()),
            )
        else:
            wanted = builder_refs.lookup(build)
            found = await self.cluster.get_builder(wanted.kind, wanted.namespace, wanted.name)
            resolved = builder_refs.resolve(build, found=found)
            image = resolved.image
            account = registry_keychains.Account(resolved.account_namespace, resolved.account_name)
        config = self._configs.get(image)
        if config is None:
            fetched = image
            config = await self.keychains.using(
                account, lambda keychain: self.registry.fetch_config(fetched, keychain=keychain)
            )
            if "@" in image:
                self._configs[image] = config
        return builder_images.BuilderImageConfig(
            image=image,
            stack_id=config.stack_id,
            run_image=config.run_image,
            platform_apis=config.platform_apis,
            uid=config.uid if config.uid is not None else 1000,
            gid=config.gid if config.gid is not None else 1000,
            os=config.os or "linux",
            lifecycle_version=config.lifecycle_version or None,
        )

    async def _mark_running(self, build: builds.Build, *, pod_name: str) -> None:
        """``podName`` and ``Succeeded=Unknown`` on the Build whose pod was just created (kpack
        writes them with the pod), unless its status says so already. The write is conditional on
        the Build as it was read: a conflict means someone wrote it meanwhile (image-state's
        outcome, a cancellation), which is left as it is. A failed write never undoes the pod: the
        Build runs, and image-state writes its status when the pod finishes."""
        status = started.running_status(build, pod_name=pod_name, now=self.clock())
        if status is None:
            return
        try:
            await self.cluster.replace_build_status(build.with_(status=status))
        except errors.ConflictError:
            logger.info(
                "build %s/%s changed since it was read; its running status is not written",
                build.namespace,
                build.name,
            )
        except errors.KilnError as e:
            logger.warning(
                "build %s/%s runs in pod %s, but its running status was not written: %s",
                build.namespace,
                build.name,
                pod_name,
                e,
            )

    async def _fail(self, build: builds.Build, *, message: str, reason: str = "PodGenerationFailed") -> None:
        """``Succeeded=False`` with ``reason`` and ``message``, then let the Image reconcile see it."""
        now = meta.rfc3339(self.clock())
        failed = meta.Condition(
            type="Succeeded",
            status="False",
            reason=reason,
            message=message,
            last_transition_time=now,
        )
        status = build.status.with_(observed_generation=build.generation, conditions=[failed])
        await self.cluster.replace_build_status(build.with_(status=status))
        image = build.labels.get(builds.IMAGE_LABEL, "")
        logger.warning("build %s/%s failed before its pod: %s", build.namespace, build.name, message)
        if image:
            changed = events.ImageChanged(namespace=build.namespace, name=image)
            await self.publisher.publish_many(
                [events.new(changed, source=SOURCE, time=self.clock(), discriminator=f"failed:{build.name}")]
            )
        cache = "registry" if build.spec.registry_cache() else "volume" if build.spec.volume_cache() else ""
        self.metrics.build_finished(
            "failed",
            namespace=build.namespace,
            queue_seconds=None,
            run_seconds=None,
            cache=cache,
            cache_restored=False,
        )
        await self.recorder.record(notices.failed_before_pod(build, message=message))


class Slots:
    """The running build pods, as a watch of them shows them, and admission to them.

    ``observe`` takes every watch event of the build pods; ``admitted`` holds a slot while the
    caller creates the pod; ``ready`` says whether the watch has listed them yet."""

    def __init__(self, limits: build_slots.Limits) -> None:
        self.limits = limits
        self._running: dict[str, tuple[str, bool]] = {}
        """``namespace/name`` of each running build pod → (namespace, whether a storm build's)."""
        self._changed = asyncio.Condition()
        self._users_waiting = 0
        self.ready = asyncio.Event()
        self.peak = 0
        """The most build pods counted running at once."""

    def running(self, namespace: str) -> build_slots.Running:
        values = self._running.values()
        return build_slots.Running(
            total=len(self._running),
            storm=sum(1 for _, storm in values if storm),
            in_namespace=sum(1 for ns, _ in values if ns == namespace),
        )

    async def observe(self, kind: str, pod: dict[str, Any]) -> None:
        """A watch event (``ADDED``, ``MODIFIED``, ``DELETED``) of a build pod. Whether it is a
        storm build's is known for the pods this process admitted; others count as users' (after
        a restart the storm cap may let a few more storm builds in; the other limits hold)."""
        md = pod.get("metadata") or {}
        key = f"{md.get('namespace', '')}/{md.get('name', '')}"
        async with self._changed:
            if kind != "DELETED" and build_slots.pod_running(pod):
                known = self._running.get(key)
                self._running[key] = (md.get("namespace", ""), known[1] if known else False)
            else:
                self._running.pop(key, None)
            self.peak = max(self.peak, len(self._running))
            self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def admitted(self, namespace: str, name: str, *, storm: bool) -> AsyncIterator[None]:
        """Hold a slot for the pod ``namespace/name`` while the body creates it; raise
        :class:`~services.errors.DeferredError` if none frees within ``hold_seconds``. Without
        limits, admit at once."""
        if not self.limits.limited():
            yield
            return
        key = f"{namespace}/{name}"
        async with self._changed:
            if not storm:
                self._users_waiting += 1
            try:
                admitted = await self._wait(namespace, storm=storm)
            finally:
                if not storm:
                    self._users_waiting -= 1
            if not admitted:
                raise errors.DeferredError(
                    f"no free build slot for {key} within {self.limits.hold_seconds:.0f} s"
                )
            self._running[key] = (namespace, storm)  # counted before the watch shows it
            self.peak = max(self.peak, len(self._running))
            try:
                yield
            except BaseException:
                self._running.pop(key, None)
                self._changed.notify_all()
                raise

    async def _wait(self, namespace: str, *, storm: bool) -> bool:
        """Wait (holding the condition's lock between checks) until a slot fits; False past the hold."""

        def fits() -> bool:
            waiting = self._users_waiting if storm else 0
            return self.ready.is_set() and build_slots.admits(
                self.limits, self.running(namespace), storm=storm, users_waiting=waiting
            )

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.limits.hold_seconds):
                await self._changed.wait_for(fits)
                return True
        return False
