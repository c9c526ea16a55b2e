"""The builder a Build names by ``spec.builder.ref`` instead of ``spec.builder.image``.

kpack's pod generator (``pkg/buildpod/generator.go`` ``resolveBuilderRef``) reads the referenced
ClusterBuilder or Builder and builds with its ``status.latestImage``, fetched with the keychain of
the builder's own service account: a ClusterBuilder's ``spec.serviceAccountRef``, a Builder's
``spec.serviceAccountName`` in the Builder's namespace. The pod's image pull secrets stay the
Build's ``spec.builder.imagePullSecrets`` (``build_pod.go``), as for a Build with an image.

Kiln differs in two places, both to say what is wrong rather than fail further on: a referenced
builder without a ``latestImage`` or whose ``Ready`` is not ``True`` fails the Build here (kpack
would try to fetch an empty image name); and a Builder reference without a namespace means the
Build's namespace (kpack would look in no namespace and not find it).

Pure: the look-up to make (:func:`lookup`) and what the found builder gives (:func:`resolve`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts import admission, builders, builds
from services.build_runner import pods

FIELD = "spec.builder.ref"


class Lookup(BaseModel):
    """The builder object to read: its kind, namespace (empty for a ClusterBuilder) and name."""

    model_config = ConfigDict(frozen=True)

    kind: str
    namespace: str
    name: str

    def describe(self) -> str:
        where = f" in namespace {self.namespace!r}" if self.namespace else ""
        return f"{self.kind} {self.name!r}{where}"


class ResolvedBuilder(BaseModel):
    """The builder image to build with, and whose credentials read it."""

    model_config = ConfigDict(frozen=True)

    image: str
    """The referenced builder's ``status.latestImage``."""
    account_namespace: str
    """Namespace of the builder's service account (its keychain fetches the builder image)."""
    account_name: str
    """Name of that service account."""


def lookup(build: builds.Build) -> Lookup:
    """What to read for the Build's ``spec.builder.ref``; an unknown kind is kpack's error."""
    ref = build.spec.builder.ref
    if ref is None:
        raise pods.PodGenerationError(f"the Build has no builder: set spec.builder.image or {FIELD}")
    if ref.kind not in builders.KINDS:
        raise pods.PodGenerationError(
            f"unable to parse builder kind {ref.kind!r} ({FIELD}.kind): use Builder or ClusterBuilder"
        )
    namespace = "" if ref.kind == builders.CLUSTER_BUILDER else ref.namespace or build.namespace
    return Lookup(kind=ref.kind, namespace=namespace, name=ref.name)


def resolve(build: builds.Build, *, found: builders.Builder | None) -> ResolvedBuilder:
    """The referenced builder's image and service account, or why the Build cannot use it."""
    wanted = lookup(build)
    if found is None:
        raise pods.PodGenerationError(
            f"unable to resolve builder image: {wanted.describe()} not found ({FIELD}): "
            "create it, or name an existing Builder or ClusterBuilder"
        )
    image = found.status.latest_image or ""
    if not image or not found.status.is_true("Ready"):
        said = found.ready_message()
        raise pods.PodGenerationError(
            f"{wanted.describe()} is not ready ({FIELD})"
            + (f": {said}" if said else "")
            + "; wait until its Ready condition is True, or name a ready builder"
        )
    namespace, name = builder_account(found, build=build)
    return ResolvedBuilder(image=image, account_namespace=namespace, account_name=name)


def builder_account(found: builders.Builder, *, build: builds.Build) -> tuple[str, str]:
    """kpack's keychain for the builder, as (namespace, name): a ClusterBuilder's
    ``spec.serviceAccountRef``, a Builder's ``spec.serviceAccountName`` (else ``default``) in its
    namespace; a ClusterBuilder without a complete ``serviceAccountRef``: the Build's account."""
    spec = found.spec
    if found.kind == builders.CLUSTER_BUILDER:
        ref = spec.service_account_ref
        if ref is not None and ref.name and ref.namespace:
            return ref.namespace, ref.name
        return build.namespace, build.spec.service_account_name or admission.DEFAULT_SERVICE_ACCOUNT
    name = spec.effective_service_account()
    return found.namespace or build.namespace, name or admission.DEFAULT_SERVICE_ACCOUNT
