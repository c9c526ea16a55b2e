"""Which builders an input feeds, and which inputs name a pushed repository (spec §2.5 step 1, §2.9;
kpack builder and clusterbuilder reconcilers' tracking)."""

from __future__ import annotations

from typing import Any

import builder_fixtures as fx
import pytest

from contracts import builders
from services.builder import dependencies

DEFAULT = fx.builder(name="default")
OTHER_STACK = fx.builder(name="other-stack", spec={"stack": {"kind": "ClusterStack", "name": "other-stack"}})
NAMED_LIFECYCLE = fx.builder(name="named-lifecycle", spec={"lifecycle": {"name": "my-lifecycle"}})
NO_STORE = fx.builder(name="no-store", spec={"store": {"kind": "ClusterStore"}})
ELSEWHERE = fx.builder(name="elsewhere", namespace="other-namespace")
CLUSTER = fx.builder(kind=builders.CLUSTER_BUILDER, name="cluster")
ALL = [DEFAULT, OTHER_STACK, NAMED_LIFECYCLE, NO_STORE, ELSEWHERE, CLUSTER]


def names(found: list[Any]) -> list[str]:
    return [obj.name for obj in found]


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "expected"),
    [
        pytest.param(
            "ClusterStack",
            "",
            "some-stack",
            ["default", "named-lifecycle", "no-store", "elsewhere", "cluster"],
            id="a ClusterStack feeds the builders naming it",
        ),
        pytest.param(
            "ClusterStack",
            "",
            "other-stack",
            ["other-stack"],
            id="another ClusterStack feeds only its builder",
        ),
        pytest.param(
            "ClusterLifecycle",
            "",
            "default-lifecycle",
            ["default", "other-stack", "no-store", "elsewhere", "cluster"],
            id="the default lifecycle feeds the builders naming none",
        ),
        pytest.param(
            "ClusterLifecycle",
            "",
            "my-lifecycle",
            ["named-lifecycle"],
            id="a named lifecycle feeds its builder",
        ),
        pytest.param(
            "ClusterStore",
            "",
            "some-store",
            ["default", "other-stack", "named-lifecycle", "elsewhere", "cluster"],
            id="a ClusterStore feeds the builders naming it",
        ),
        pytest.param("ClusterStore", "", "", [], id="a store without name feeds no builder naming no store"),
        pytest.param(
            "ClusterBuildpack",
            "",
            "anything",
            ["default", "other-stack", "named-lifecycle", "no-store", "elsewhere", "cluster"],
            id="every ClusterBuildpack feeds every builder, as kpack tracks the kind",
        ),
        pytest.param(
            "Buildpack",
            fx.NAMESPACE,
            "anything",
            ["default", "other-stack", "named-lifecycle", "no-store"],
            id="a Buildpack feeds every Builder of its namespace and no ClusterBuilder",
        ),
        pytest.param(
            "Buildpack", "other-namespace", "x", ["elsewhere"], id="a Buildpack of another namespace"
        ),
        pytest.param("Image", fx.NAMESPACE, "x", [], id="other kinds feed nothing"),
    ],
)
def test_builders_fed_by(kind: str, namespace: str, name: str, expected: list[str]) -> None:
    found = dependencies.builders_fed_by(kind=kind, namespace=namespace, name=name, builders=ALL)
    assert names(found) == expected


def test_kpacks_case_a_builder_naming_no_buildpack_of_the_kind_is_still_fed() -> None:
    """kpack tracks Buildpacks by kind: a Builder whose order names only store ids is re-reconciled
    too, so a new Buildpack of a higher version of such an id is picked up."""
    builder = fx.builder(order=[[{"id": "x"}]])
    found = dependencies.builders_fed_by(
        kind="Buildpack", namespace=fx.NAMESPACE, name="new", builders=[builder]
    )
    assert found == [builder]


def test_a_cluster_builder_is_never_fed_by_a_buildpack_even_if_it_carries_a_namespace() -> None:
    cluster = fx.builder(kind=builders.CLUSTER_BUILDER, name="cluster")
    cluster = cluster.with_(metadata=cluster.metadata.with_(namespace=fx.NAMESPACE))
    found = dependencies.builders_fed_by(
        kind="Buildpack", namespace=fx.NAMESPACE, name="bp", builders=[cluster]
    )
    assert found == []
