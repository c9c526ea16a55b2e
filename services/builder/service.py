"""The builder service: kpack's builder half, one event at a time per object.

Consumes, keyed by the object they name (so one worker handles one object at a time):

* ``builder.input.changed`` — a ClusterStore, ClusterStack, ClusterLifecycle, Buildpack or
  ClusterBuildpack was created or changed, an image it names was pushed (registry notification),
  or it is due for re-resolution: read its images from the registry, resolve them with the pure
  readers (:mod:`.stores`, :mod:`.stacks`, :mod:`.lifecycles`), write its status when it differs,
  and publish ``builder.outdated`` for every builder it feeds (:mod:`.dependencies`);
* ``builder.changed`` — a Builder or ClusterBuilder whose spec this service has not yet made an
  image for (``status.observedGeneration`` behind ``metadata.generation``); its own status
  writes come back as ``builder.changed`` too and are skipped;
* ``builder.outdated`` — an input of the builder moved: make its image again.

Making a builder image: the ClusterStack, ClusterLifecycle and store are read and checked
(:mod:`.resolution`), the stack's build and run images and the lifecycle image are read, the run
image is relocated next to the builder (same manifest, so same digest), the order is resolved and
checked (:mod:`.compatibility`), and the image is planned (:mod:`.builder_images`) and written to
``spec.tag`` — layers mounted from the repositories that hold them — only when the tag is not
already at the planned digest. The Builder's status is then written as kpack writes it
(:mod:`.statuses`); the bridge sees it and announces ``builder.changed``, on which the
image-reconciler rebuilds (BUILDPACK, LIFECYCLE) or rebases (STACK) the Images built with it.

It writes the status of the builder half's seven kinds, and nothing else's.

Registry failures: a temporary one (5xx, 429, a timeout) leaves the status as it is and retries
the event (kpack would first write the failure, emptying a store's buildpacks, which then fails
every builder using it); anything else — a missing image, refused credentials, a missing label —
is the object's condition until something changes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from contracts import builders, buildpacks, events, oci, stacks
from services import errors, ports
from services.builder import (
    builder_images,
    compatibility,
    dependencies,
    lifecycles,
    resolution,
    statuses,
    stores,
)
from services.builder import stacks as stack_reading
from services.registry import auth as registry_auth
from services.registry import client as registry_client
from services.registry import keychains as registry_keychains

logger = logging.getLogger(__name__)
SOURCE = "/kiln/builder"
CREATED_BY_NAME = "Kiln Builder"
CREATED_BY_VERSION = "0.1.0"
"""What the builder image's ``createdBy`` says made it."""


@dataclasses.dataclass
class BuilderService:
    """Handles the events of one builder worker."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    registry: registry_client.RegistryClient
    _: dataclasses.KW_ONLY
    keychains: registry_keychains.Keychains
    clock: Callable[[], datetime]

    async def handle(self, event: events.Event[events.Payload]) -> None:
        data = event.data
        if isinstance(data, events.BuilderInputChanged):
            await self.resolve_input(data.kind, data.namespace, data.name, discriminator=event.id)
        elif isinstance(data, events.BuilderChanged):
            await self.reconcile_builder(data.kind, data.namespace, data.name, only_new_generation=True)
        elif isinstance(data, events.BuilderOutdated):
            await self.reconcile_builder(data.kind, data.namespace, data.name, only_new_generation=False)

    # inputs: stores, buildpacks, stacks, lifecycles

    async def resolve_input(self, kind: str, namespace: str, name: str, *, discriminator: str) -> None:
        """Resolve the object from the registry, write its status if it changed, and tell every
        builder it feeds (a deleted object's builders too: they now fail naming it)."""
        obj = await self.cluster.get_builder_input(kind, namespace, name)
        if obj is not None and not obj.metadata.deletion_timestamp:
            status = await self._input_status(obj)
            if not statuses.same_status(obj.status, status):
                await self.cluster.replace_builder_input_status(obj.with_(status=status))
                ready = status.condition(statuses.READY)
                logger.info("%s: %s", _input_key(obj), (ready.message if ready else None) or "resolved")
        await self._outdate(kind, namespace, name, discriminator=discriminator)

    async def _input_status(
        self, obj: ports.BuilderInput
    ) -> buildpacks.StoreStatus | stacks.ClusterStackStatus | stacks.ClusterLifecycleStatus:
        """The status ``obj`` should have: what its images resolve to, or why they do not."""
        keychain = await self._keychain(_input_account(obj))
        now = self.clock()
        try:
            if isinstance(obj, stacks.ClusterStack):
                build = await self.registry.fetch_image(obj.spec.build_image.image, keychain=keychain)
                run = await self.registry.fetch_image(obj.spec.run_image.image, keychain=keychain)
                resolved = stack_reading.resolve_stack(obj.spec, build=build, run=run)
                return statuses.stack_status(obj, resolved=resolved, now=now)
            if isinstance(obj, stacks.ClusterLifecycle):
                image = await self.registry.fetch_image(obj.spec.image, keychain=keychain)
                return statuses.lifecycle_status(
                    obj, resolved=lifecycles.resolve_lifecycle(obj.spec.image, image), now=now
                )
            found = []
            for source in obj.images():
                image = await self.registry.fetch_image(source, keychain=keychain)
                found.append(stores.read_buildpackage(source, image))
            return statuses.store_status(obj, resolved=stores.store_buildpacks(found), now=now)
        except (errors.PermanentError, registry_auth.AuthError) as e:
            return _failed_input_status(obj, error=str(e), now=now)

    async def _outdate(self, kind: str, namespace: str, name: str, *, discriminator: str) -> None:
        listed = [
            *await self.cluster.list_builders(builders.BUILDER),
            *await self.cluster.list_builders(builders.CLUSTER_BUILDER),
        ]
        fed = dependencies.builders_fed_by(kind=kind, namespace=namespace, name=name, builders=listed)
        now, cause = self.clock(), f"{kind}/{_key(namespace, name)}"
        await self.publisher.publish_many(
            events.new(
                events.BuilderOutdated(
                    kind="ClusterBuilder" if b.kind == builders.CLUSTER_BUILDER else "Builder",
                    namespace="" if b.kind == builders.CLUSTER_BUILDER else b.namespace,
                    name=b.name,
                    cause=cause,
                ),
                source=SOURCE,
                time=now,
                discriminator=discriminator,
            )
            for b in fed
        )
        if fed:
            logger.info("%s: %d builder(s) to make again", cause, len(fed))

    # builders

    async def reconcile_builder(
        self, kind: str, namespace: str, name: str, *, only_new_generation: bool
    ) -> None:
        """Make the builder's image and write its status (kpack's builder reconcile)."""
        builder = await self.cluster.get_builder(kind, namespace, name)
        if builder is None or builder.metadata.deletion_timestamp:
            return
        if only_new_generation and builder.status.observed_generation == builder.generation:
            return
        try:
            record = await self._make(builder)
            status = statuses.builder_ready(builder, record=record, now=self.clock())
        except (errors.PermanentError, registry_auth.AuthError) as e:
            status = statuses.builder_failed(builder, error=str(e), now=self.clock())
            logger.warning("%s: %s", builder.key(), e)
        if not statuses.same_status(builder.status, status):
            await self.cluster.replace_builder_status(builder.with_(status=status))
            logger.info("%s: status written (latest image %s)", builder.key(), status.latest_image)

    async def _make(self, builder: builders.Builder) -> statuses.BuilderRecord:
        """Make the builder's image in the registry, in kpack's order of checks."""
        spec, cluster = builder.spec, self.cluster
        store = None
        if spec.store.name:
            store = await cluster.get_builder_input(buildpacks.CLUSTER_STORE, "", spec.store.name)
        namespaced = []
        if builder.kind == builders.BUILDER:
            namespaced = await cluster.list_builder_inputs(buildpacks.BUILDPACK, builder.namespace)
        clustered = await cluster.list_builder_inputs(buildpacks.CLUSTER_BUILDPACK)
        stack = await cluster.get_builder_input(stacks.CLUSTER_STACK, "", spec.stack.name)
        lifecycle = await cluster.get_builder_input(stacks.CLUSTER_LIFECYCLE, "", spec.lifecycle_name())
        inputs = resolution.builder_inputs(
            builder,
            store=store if isinstance(store, buildpacks.ClusterStore) else None,
            stack=stack if isinstance(stack, stacks.ClusterStack) else None,
            lifecycle=lifecycle if isinstance(lifecycle, stacks.ClusterLifecycle) else None,
        )
        tag = builder_images.resolved_tag(
            kind=builder.kind, namespace=builder.namespace, name=builder.name, tag=spec.tag
        )
        own = await self._keychain(_builder_account(builder))
        stack_keychain = await self._keychain(_input_account(inputs.stack), default=own)
        lifecycle_keychain = await self._keychain(_input_account(inputs.lifecycle), default=own)
        stack_status, lifecycle_status = inputs.stack.status, inputs.lifecycle.status
        build = await self.registry.fetch_image(_latest(stack_status.build_image), keychain=stack_keychain)
        run = await self.registry.fetch_image(_latest(stack_status.run_image), keychain=stack_keychain)
        lifecycle_image = await self.registry.fetch_image(
            _latest(lifecycle_status.image), keychain=lifecycle_keychain
        )
        run_image = await self._save(
            builder_images.relocated_run_image_tag(tag),
            builder_images.relocated_run_image_plan(run),
            keychain=own,
            sources={run.repository: stack_keychain},
        )
        compatibility.check_platform(
            build_image=build,
            lifecycle_image=lifecycle_image,
            lifecycle_spec_image=inputs.lifecycle.spec.image,
        )
        order = resolution.resolve_order(
            builder,
            store=inputs.store,
            buildpacks=[b for b in namespaced if isinstance(b, buildpacks.Buildpack)],
            cluster_buildpacks=[b for b in clustered if isinstance(b, buildpacks.ClusterBuildpack)],
        )
        resolved = [found.buildpack for found in order.buildpacks]
        for buildpack in resolved:
            builder_images.buildpack_blob(buildpack)  # a bad store image fails before the API checks
        compatibility.check_platform_apis(lifecycle_status)
        compatibility.check_buildpacks(
            buildpacks_in_layer_order=builder_images.buildpacks_in_layer_order(resolved),
            lifecycle=lifecycle_status,
            stack_id=stack_status.id,
            mixins=stack_status.mixins or [],
        )
        planned = builder_images.plan_builder_image(
            build_image=build,
            lifecycle_image=lifecycle_image,
            run_image=run_image,
            uid=stack_status.user_id,
            gid=stack_status.group_id,
            resolved_buildpacks=resolved,
            order=list(order.order),
            lifecycle=lifecycle_status,
            additional_labels=spec.additional_labels,
            created_by_version=CREATED_BY_VERSION,
            created_by_name=CREATED_BY_NAME,
        )
        # a layer copied from another registry is read with the keychain of the object it came from
        sources = {build.repository: stack_keychain, lifecycle_image.repository: lifecycle_keychain}
        for found in order.buildpacks:
            repository = builder_images.buildpack_blob(found.buildpack).repository
            sources[repository] = await self._keychain(_origin_account(found.origin), default=own)
        latest = await self._save(tag, planned.plan, keychain=own, sources=sources)
        return statuses.BuilderRecord(
            latest_image=latest,
            stack=builders.BuilderStack(run_image=run_image, id=stack_status.id),
            lifecycle=statuses.builder_lifecycle(lifecycle_status),
            builder_metadata=tuple(planned.builder_metadata),
            order=tuple(planned.order),
            observed_stack_generation=stack_status.observed_generation or 0,
            observed_store_generation=order.observed_store_generation,
            os=planned.os,
        )

    async def _save(
        self,
        tag: str,
        plan: oci.ImagePlan,
        *,
        keychain: registry_auth.Keychain,
        sources: Mapping[str, registry_auth.Keychain],
    ) -> str:
        """kpack's "save": write ``plan`` to ``tag`` unless the tag is already at its digest, and
        then to a ``<YYYYMMDDHHMMSS>`` tag of the same repository too; ``tag@digest``."""
        identifier = f"{tag}@{plan.digest}"
        if await self.registry.find_digest(tag, keychain=keychain) == plan.digest:
            return identifier
        outcome = await self.registry.write_image(tag, plan, keychain=keychain, source_keychains=sources)
        stamp = self.clock().strftime("%Y%m%d%H%M%S")
        repository = tag.rsplit(":", 1)[0]
        await self.registry.write_image(f"{repository}:{stamp}", plan, keychain=keychain)
        logger.info("wrote %s (%s)", identifier, outcome)
        return identifier

    async def _keychain(
        self, account: registry_keychains.Account | None, *, default: registry_auth.Keychain | None = None
    ) -> registry_auth.Keychain:
        """The account's keychain; without an account, ``default`` or Kiln's own credentials."""
        if account is None:
            return default if default is not None else self.keychains.own()
        return await self.keychains.keychain(account)


def _key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def _latest(image: stacks.StackStatusImage | None) -> str:
    return image.latest_image if image is not None else ""


def _input_account(obj: ports.BuilderInput) -> registry_keychains.Account | None:
    """kpack's keychain for an input: a Buildpack's service account in its namespace, the others'
    ``serviceAccountRef``; None for none (Kiln's own credentials, kpack's node keychain)."""
    if isinstance(obj, buildpacks.Buildpack):
        if not obj.spec.service_account_name:
            return None
        return registry_keychains.Account(obj.namespace, obj.spec.service_account_name)
    ref = obj.spec.service_account_ref
    if ref is None or not ref.name:
        return None
    return registry_keychains.Account(ref.namespace, ref.name)


def _builder_account(builder: builders.Builder) -> registry_keychains.Account:
    """A ClusterBuilder's ``serviceAccountRef``; a Builder's effective account in its namespace."""
    if builder.kind == builders.CLUSTER_BUILDER:
        ref = builder.spec.service_account_ref or buildpacks.ServiceAccountRef()
        return registry_keychains.Account(
            ref.namespace, ref.name or registry_keychains.DEFAULT_SERVICE_ACCOUNT
        )
    name = builder.spec.effective_service_account() or registry_keychains.DEFAULT_SERVICE_ACCOUNT
    return registry_keychains.Account(builder.namespace, name)


def _origin_account(origin: resolution.Origin) -> registry_keychains.Account | None:
    """The account whose secrets pull a buildpack's layer, as resolution found it."""
    ref = origin.service_account
    return registry_keychains.Account(ref.namespace, ref.name) if ref is not None else None


def _input_key(obj: ports.BuilderInput) -> str:
    return f"{obj.kind}/{_key(obj.namespace, obj.name)}"


def _failed_input_status(
    obj: ports.BuilderInput, *, error: str, now: datetime
) -> buildpacks.StoreStatus | stacks.ClusterStackStatus | stacks.ClusterLifecycleStatus:
    if isinstance(obj, stacks.ClusterStack):
        return statuses.stack_status(obj, error=error, now=now)
    if isinstance(obj, stacks.ClusterLifecycle):
        return statuses.lifecycle_status(obj, error=error, now=now)
    return statuses.store_status(obj, error=error, now=now)
