"""Which builders an input feeds, and which inputs a registry push may have moved (spec §2.9).

kpack re-reconciles a Builder or ClusterBuilder on any event of what it tracks
(``pkg/reconciler/builder/builder.go``, ``clusterbuilder/clusterbuilder.go``):

* the ClusterStack named by ``spec.stack.name``;
* the ClusterLifecycle named by ``spec.lifecycle.name`` (``default-lifecycle`` when empty);
* the ClusterStore named by ``spec.store.name``, when it names one;
* every ClusterBuildpack (kpack tracks the whole kind);
* for a Builder, every Buildpack (the whole kind, any namespace). A Builder only ever resolves
  against the Buildpacks of its own namespace, so Kiln feeds a Buildpack's change to the Builders
  of that namespace only: the others would make the same image again.

A registry notification names a repository; :func:`inputs_naming` finds the stacks, lifecycles,
stores and buildpacks with an image tag in it (compared fully qualified, as
:mod:`contracts.references` normalises: ``docker.io/x`` is ``index.docker.io/library/x``). An image
named by digest cannot move and is left out.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import builders, buildpacks, references, stacks

Input = (
    stacks.ClusterStack
    | stacks.ClusterLifecycle
    | buildpacks.ClusterStore
    | buildpacks.Buildpack
    | buildpacks.ClusterBuildpack
)
"""Anything a builder image is made from."""
_Builder = builders.Builder
_Builders = Sequence[builders.Builder]


def builders_fed_by(*, kind: str, namespace: str, name: str, builders: _Builders) -> list[_Builder]:
    """Those of ``builders`` (Builders and ClusterBuilders) that an event on the ``kind`` object
    ``namespace/name`` must re-reconcile, in the order given."""
    return [builder for builder in builders if _feeds(builder, kind=kind, namespace=namespace, name=name)]


def _feeds(builder: builders.Builder, *, kind: str, namespace: str, name: str) -> bool:
    spec = builder.spec
    if kind == stacks.CLUSTER_STACK:
        return spec.stack.name == name
    if kind == stacks.CLUSTER_LIFECYCLE:
        return spec.lifecycle_name() == name
    if kind == buildpacks.CLUSTER_STORE:
        return bool(spec.store.name) and spec.store.name == name
    if kind == buildpacks.CLUSTER_BUILDPACK:
        return True
    if kind == buildpacks.BUILDPACK:
        return builder.kind != builders.CLUSTER_BUILDER and builder.namespace == namespace
    return False


def inputs_naming(repository_key: str, *, objects: Sequence[Input]) -> list[Input]:
    """Those of ``objects`` with an image tag in the repository ``repository_key``
    (``host/path``; a tag or digest on it is ignored), in the order given; none when the key does
    not parse."""
    wanted = _repository(repository_key)
    if wanted is None:
        return []
    return [obj for obj in objects if any(_tag_in(image, wanted) for image in obj.images())]


def _tag_in(image: str, repository: tuple[str, str]) -> bool:
    try:
        parsed = references.parse(image)
    except references.InvalidReferenceError:
        return False
    return not parsed.digest and _repository(image) == repository


def _repository(value: str) -> tuple[str, str] | None:
    try:
        parsed = references.parse(value)
    except references.InvalidReferenceError:
        return None
    return references.canonical_host(parsed.registry), parsed.repository
