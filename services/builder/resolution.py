"""What a Builder or ClusterBuilder is made of: its stack, lifecycle and store checked (spec §2.5
steps 2-5) and its order resolved to buildpacks (§2.6, §2.7; kpack ``pkg/cnb/buildpack_resolver.go``,
``dependency_tree.go``, ``remote_buildpack_fetcher.go``).

A group entry resolves, by the first case that applies, to candidates:

* ``kind: Buildpack`` or ``ClusterBuildpack`` with ``id``: the entries of that id in the named object;
* another ``kind`` (no ``id``): the one root of the named object's buildpacks (an entry whose id no
  entry's order names);
* only ``id``: the entries of that id in the builder's namespace's Buildpacks, then in the
  ClusterBuildpacks, then in the ClusterStore (a ClusterBuilder gets no Buildpacks);

then, without ``version``, the highest semantic version among them (lenient: ``1.2``, ``v1.2.3``;
ties go to the *last* candidate, so store > ClusterBuildpack > Buildpack), with ``version`` the
*first* candidate of exactly that version (Buildpack > ClusterBuildpack > store). A meta-buildpack's
children are resolved again by the id-only rule, across every source; they go into the image before
their parent, depth first.

Every failure is a :class:`~services.builder.problems.BuilderProblem` with kpack's message. Pure:
no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from contracts import builders, buildpacks, golang, stacks
from services.builder.problems import BuilderProblem

_Store = buildpacks.ClusterStore | None
_Buildpacks = Sequence[buildpacks.Buildpack]
_ClusterBuildpacks = Sequence[buildpacks.ClusterBuildpack]
_Named = TypeVar("_Named", buildpacks.Buildpack, buildpacks.ClusterBuildpack)

# Stack, lifecycle and store (§2.5 steps 2-5) ---------------------------------------------------


@dataclass(frozen=True)
class BuilderInputs:
    """The objects a builder is made from, each found and (stack, lifecycle) Ready."""

    stack: stacks.ClusterStack
    lifecycle: stacks.ClusterLifecycle
    store: buildpacks.ClusterStore | None
    """The ClusterStore the spec names, or None when it names none."""


def builder_inputs(
    builder: builders.Builder,
    *,
    store: buildpacks.ClusterStore | None,
    stack: stacks.ClusterStack | None,
    lifecycle: stacks.ClusterLifecycle | None,
) -> BuilderInputs:
    """Check, in kpack's order, the objects found by the names ``builder`` gives (None: not found):
    the store (only when the spec names one), the stack and that it is Ready, the lifecycle
    (``default-lifecycle`` when unnamed) and that it is Ready."""
    spec = builder.spec
    if spec.store.name and store is None:
        raise BuilderProblem(_not_found("clusterstore", spec.store.name))
    if stack is None:
        raise BuilderProblem(_not_found("clusterstack", spec.stack.name))
    if not stack.ready():
        if builder.kind == builders.CLUSTER_BUILDER:
            raise BuilderProblem(f"stack {spec.stack.name} is not ready")
        raise BuilderProblem(f"Error: clusterstack '{spec.stack.name}' is not ready")
    if lifecycle is None:
        raise BuilderProblem(_not_found("clusterlifecycle", spec.lifecycle_name()))
    if not lifecycle.ready():
        raise BuilderProblem(f"Error: clusterlifecycle '{spec.lifecycle_name()}' is not ready")
    return BuilderInputs(stack=stack, lifecycle=lifecycle, store=store if spec.store.name else None)


def _not_found(resource: str, name: str) -> str:
    """A lister's NotFound: ``clusterstore.kpack.io "<name>" not found``."""
    return f"{resource}.kpack.io {golang.quote(name)} not found"


# Buildpacks (§2.6, §2.7) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """The object a buildpack was found in: its credentials pull the buildpack's layer."""

    kind: str
    """``Buildpack``, ``ClusterBuildpack`` or ``ClusterStore``."""
    namespace: str
    """A Buildpack's namespace; ``""`` for the cluster-scoped kinds."""
    name: str
    """The object's name."""
    service_account: buildpacks.ServiceAccountRef | None
    """Whose secrets pull the layer (kpack's ``SecretRef``): a Buildpack's
    ``spec.serviceAccountName`` (``default`` when empty) in its namespace; a cluster kind's
    ``spec.serviceAccountRef`` (its name ``default`` when empty); None — no service account (a cluster
    kind without a ref, or one without a namespace): anonymous and node credentials only."""


@dataclass(frozen=True)
class ResolvedBuildpack:
    """A buildpack of the builder image and where it was found."""

    buildpack: buildpacks.BuildpackStatus
    origin: Origin


@dataclass(frozen=True)
class ResolvedOrder:
    """A builder's order resolved."""

    order: tuple[buildpacks.OrderEntry, ...]
    """The spec's groups with resolved ids and versions and the spec's ``optional``: the status order."""
    buildpacks: tuple[ResolvedBuildpack, ...]
    """Every buildpack that goes into the image, group entry by group entry, each one's children
    (depth first) before it; a buildpack reached twice is listed twice."""
    observed_store_generation: int
    """The store's ``status.observedGeneration`` (0 without a store)."""


@dataclass(frozen=True)
class _Sources:
    store: buildpacks.ClusterStore | None
    cluster: tuple[buildpacks.ClusterBuildpack, ...]
    namespaced: tuple[buildpacks.Buildpack, ...]
    """The Buildpacks of the builder's namespace."""


def resolve_order(
    builder: builders.Builder,
    *,
    store: _Store,
    buildpacks: _Buildpacks,
    cluster_buildpacks: _ClusterBuildpacks,
) -> ResolvedOrder:
    """Resolve every group entry of ``builder``'s order against the store, the Buildpacks of the
    builder's namespace (none for a ClusterBuilder; ``buildpacks`` may hold other namespaces') and
    the ClusterBuildpacks, each in the order given (kpack's informer order); raise
    :class:`BuilderProblem` with kpack's message for the first entry that does not resolve."""
    namespaced = builder.kind != builders.CLUSTER_BUILDER
    own = tuple(bp for bp in buildpacks if namespaced and bp.namespace == builder.namespace)
    return _resolve_order(
        builder, sources=_Sources(store=store, cluster=tuple(cluster_buildpacks), namespaced=own)
    )


def _resolve_order(builder: builders.Builder, *, sources: _Sources) -> ResolvedOrder:
    order: list[buildpacks.OrderEntry] = []
    found: list[ResolvedBuildpack] = []
    for entry in builder.spec.order or []:
        group = []
        for ref in entry.group:
            resolved = _resolve(ref, sources=sources)
            found.extend(_with_children(resolved, sources=sources, chain=()))
            info = resolved.buildpack
            group.append(
                buildpacks.BuildpackRef(
                    id=info.id, **golang.omitempty(version=info.version, optional=ref.optional)
                )
            )
        order.append(buildpacks.OrderEntry(**golang.omitempty(group=group)))
    store = sources.store
    generation = (store.status.observed_generation or 0) if store is not None else 0
    return ResolvedOrder(order=tuple(order), buildpacks=tuple(found), observed_store_generation=generation)


def _with_children(
    resolved: ResolvedBuildpack, *, sources: _Sources, chain: tuple[str, ...]
) -> list[ResolvedBuildpack]:
    """``resolved`` after its children, recursively. kpack has no cycle check (its controller dies
    of a stack overflow); Kiln refuses a cycle with its own message."""
    name = str(resolved.buildpack)
    if name in chain:
        cycle = " -> ".join((*chain[chain.index(name) :], name))
        raise BuilderProblem(f"buildpack order has a cycle: {cycle}")
    children: list[ResolvedBuildpack] = []
    for entry in resolved.buildpack.order or []:
        for child in entry.group:
            ref = builders.BuilderBuildpackRef(id=child.id, version=child.version)
            children.extend(
                _with_children(_resolve(ref, sources=sources), sources=sources, chain=(*chain, name))
            )
    return [*children, resolved]


def _resolve(ref: builders.BuilderBuildpackRef, *, sources: _Sources) -> ResolvedBuildpack:
    candidates = _candidates(ref, sources=sources)
    if not candidates:
        raise BuilderProblem(f"could not find buildpack with id '{ref.id}'")
    if not ref.version:
        return _highest(candidates)
    for candidate in candidates:
        if candidate.buildpack.version == ref.version:
            return candidate
    raise BuilderProblem(f"could not find buildpack with id '{ref.id}' and version '{ref.version}'")


def _candidates(ref: builders.BuilderBuildpackRef, *, sources: _Sources) -> list[ResolvedBuildpack]:
    if ref.kind == buildpacks.BUILDPACK and ref.id:
        buildpack = _named(sources.namespaced, ref.name)
        if buildpack is None:
            raise BuilderProblem(f"buildpack not found: {ref.name}")
        return _entries(buildpack, ref.id)
    if ref.kind == buildpacks.CLUSTER_BUILDPACK and ref.id:
        cluster_buildpack = _named(sources.cluster, ref.name)
        if cluster_buildpack is None:
            raise BuilderProblem(f"cluster buildpack not found: {ref.name}")
        return _entries(cluster_buildpack, ref.id)
    if ref.kind:
        return [_root(ref, sources=sources)]
    if ref.id:
        objects: list[buildpacks.AnyStore] = [*sources.namespaced, *sources.cluster]
        objects += [sources.store] if sources.store is not None else []
        return [candidate for obj in objects for candidate in _entries(obj, ref.id)]
    if ref.image:
        raise BuilderProblem("using images in builders not currently supported")
    raise BuilderProblem("invalid buildpack reference")


def _root(ref: builders.BuilderBuildpackRef, *, sources: _Sources) -> ResolvedBuildpack:
    """The one root of the named object's buildpacks (kpack's dependency tree)."""
    obj: buildpacks.Buildpack | buildpacks.ClusterBuildpack | None
    if ref.kind == buildpacks.BUILDPACK:
        obj = _named(sources.namespaced, ref.name)
        missing = f"no buildpack with name '{ref.name}'"
    elif ref.kind == buildpacks.CLUSTER_BUILDPACK:
        obj = _named(sources.cluster, ref.name)
        missing = f"no cluster buildpack with name '{ref.name}'"
    else:
        raise BuilderProblem("kind must be either Buildpack or ClusterBuildpack")
    if obj is None:
        raise BuilderProblem(missing)
    statuses = obj.status.buildpacks or []
    used = {child.id for status in statuses for entry in status.order or [] for child in entry.group}
    roots = [status for status in statuses if status.id not in used]
    if len(roots) != 1:
        raise BuilderProblem(f"unexpected number of root buildpacks: {len(roots)}")
    return ResolvedBuildpack(buildpack=roots[0], origin=_origin(obj))


def _named(objects: Sequence[_Named], name: str) -> _Named | None:
    return next((obj for obj in objects if obj.name == name), None)


def _entries(obj: buildpacks.AnyStore, bp_id: str) -> list[ResolvedBuildpack]:
    origin = _origin(obj)
    return [
        ResolvedBuildpack(buildpack=s, origin=origin) for s in obj.status.buildpacks or [] if s.id == bp_id
    ]


def _origin(obj: buildpacks.AnyStore) -> Origin:
    if isinstance(obj, buildpacks.Buildpack):
        account = obj.spec.service_account_name or buildpacks.DEFAULT_SERVICE_ACCOUNT
        ref: buildpacks.ServiceAccountRef | None = buildpacks.ServiceAccountRef(
            name=account, namespace=obj.namespace
        )
        return Origin(kind=buildpacks.BUILDPACK, namespace=obj.namespace, name=obj.name, service_account=ref)
    kind = (
        buildpacks.CLUSTER_STORE if isinstance(obj, buildpacks.ClusterStore) else buildpacks.CLUSTER_BUILDPACK
    )
    ref = obj.spec.service_account_ref
    if ref is not None and ref.namespace:
        ref = buildpacks.ServiceAccountRef(
            name=ref.name or buildpacks.DEFAULT_SERVICE_ACCOUNT, namespace=ref.namespace
        )
    else:
        ref = None
    return Origin(kind=kind, namespace="", name=obj.name, service_account=ref)


# Semantic versions (Masterminds/semver v3.4.0 NewVersion, as kpack calls it) -------------------

_LOOSE_SEMVER = re.compile(
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_UINT64_MAX = 2**64 - 1


@dataclass(frozen=True)
class Version:
    """A parsed version: numbers and prerelease (build metadata never counts)."""

    numbers: tuple[int, int, int]
    prerelease: str


def parse_version(text: str) -> Version | None:
    """``semver.NewVersion`` (coercing): ``1``, ``1.2``, ``v1.2.3-rc.1+build``; None when it fails."""
    found = _LOOSE_SEMVER.fullmatch(text)
    if found is None:
        return None
    numbers = (int(found[1]), int((found[2] or ".0")[1:]), int((found[3] or ".0")[1:]))
    prerelease = found[5] or ""
    if max(numbers) > _UINT64_MAX or any(_leading_zero(part) for part in prerelease.split(".")):
        return None
    return Version(numbers=numbers, prerelease=prerelease)


def _leading_zero(part: str) -> bool:
    return part.isdigit() and part.isascii() and len(part) > 1 and part.startswith("0")


def compare_versions(a: Version, b: Version) -> int:
    """``Version.Compare``: -1, 0 or 1; a prerelease is lower than its release."""
    if a.numbers != b.numbers:
        return -1 if a.numbers < b.numbers else 1
    if not a.prerelease or not b.prerelease:
        return (not a.prerelease) - (not b.prerelease)
    ours, theirs = a.prerelease.split("."), b.prerelease.split(".")
    for i in range(max(len(ours), len(theirs))):
        ordered = _compare_part(ours[i] if i < len(ours) else "", theirs[i] if i < len(theirs) else "")
        if ordered:
            return ordered
    return 0


def _compare_part(ours: str, theirs: str) -> int:
    """``comparePrePart``: numbers below words, numbers by value, words by bytes."""
    if ours == theirs:
        return 0
    if not ours or not theirs:
        return -1 if not ours else 1
    our_number, their_number = _uint(ours), _uint(theirs)
    if our_number is None and their_number is None:
        return 1 if ours > theirs else -1
    if our_number is None or their_number is None:
        return 1 if our_number is None else -1
    return 1 if our_number > their_number else -1


def _uint(text: str) -> int | None:
    """``strconv.ParseUint(text, 10, 64)``, or None."""
    if not (text.isascii() and text.isdigit()) or int(text) > _UINT64_MAX:
        return None
    return int(text)


def _highest(candidates: list[ResolvedBuildpack]) -> ResolvedBuildpack:
    """The highest version; of equal ones the last (kpack sorts stably and takes the last)."""
    versions = []
    for candidate in candidates:
        version = parse_version(candidate.buildpack.version)
        if version is None:
            info = candidate.buildpack
            raise BuilderProblem(
                f"cannot find buildpack '{info.id}' with latest version due to invalid semver '{info.version}'"
            )
        versions.append(version)
    best = 0
    for i in range(1, len(candidates)):
        if compare_versions(versions[i], versions[best]) >= 0:
            best = i
    return candidates[best]
