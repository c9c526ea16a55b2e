"""Which builders an input feeds (spec §2.9).

kpack re-reconciles a Builder or ClusterBuilder on any event of what it tracks
(``pkg/reconciler/builder/builder.go``, ``clusterbuilder/clusterbuilder.go``):

* the ClusterStack named by ``spec.stack.name``;
* the ClusterLifecycle named by ``spec.lifecycle.name`` (``default-lifecycle`` when empty);
* the ClusterStore named by ``spec.store.name``, when it names one;
* every ClusterBuildpack (kpack tracks the whole kind);
* for a Builder, every Buildpack (the whole kind, any namespace). A Builder only ever resolves
  against the Buildpacks of its own namespace, so Kiln feeds a Buildpack's change to the Builders
  of that namespace only: the others would make the same image again.

Which inputs a registry push moved is the triggers service's to decide
(:func:`services.triggers.matching.input_changed`).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import builders, buildpacks, stacks

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
