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
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from contracts import admission, builder_images, builds, events, meta
from services import errors, ports
from services.build_runner import bindings, builder_refs, pods
from services.build_runner import secrets as build_secrets
from services.registry import client as registry_client
from services.registry import config as registry_config
from services.registry import keychains as registry_keychains

logger = logging.getLogger(__name__)
SOURCE = "/kiln/build-runner"
DEFAULT_SERVICE_ACCOUNT = registry_keychains.DEFAULT_SERVICE_ACCOUNT


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
    _configs: dict[str, registry_config.ImageConfig] = dataclasses.field(default_factory=dict, init=False)

    async def handle(self, event: events.Event[events.Payload]) -> None:
        if isinstance(event.data, events.BuildScheduled):
            await self.run(event.data.namespace, event.data.build)

    async def run(self, namespace: str, name: str) -> None:
        build = await self.cluster.get_build(namespace, name)
        if build is None or not build.may_run():
            return
        if await self.cluster.get_pod(namespace, build.pod_name()) is not None:
            return
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
            await self.cluster.create_pod(pod)
        except errors.AlreadyExistsError:
            logger.info("pod of %s/%s already exists", namespace, name)
            return
        except errors.InvalidError as e:
            await self._fail(build, message=str(e))
            return
        logger.info("created pod %s/%s", namespace, pod["metadata"]["name"])

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
