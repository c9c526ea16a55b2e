"""Which builders an input feeds, and which inputs name a pushed repository (spec §2.5 step 1, §2.9;
kpack builder and clusterbuilder reconcilers' tracking)."""

from __future__ import annotations

from typing import Any

import builder_fixtures as fx
import pytest

from contracts import builders, buildpacks, stacks
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


def stack(name: str, build: str, run: str) -> stacks.ClusterStack:
    obj = fx.cluster_stack(name)
    spec = obj.spec.with_(
        build_image=stacks.StackSpecImage(image=build), run_image=stacks.StackSpecImage(image=run)
    )
    return obj.with_(spec=spec)


def lifecycle(name: str, image: str) -> stacks.ClusterLifecycle:
    obj = fx.cluster_lifecycle(name)
    return obj.with_(spec=obj.spec.with_(image=image))


def store(name: str, *images: str) -> buildpacks.ClusterStore:
    obj = fx.cluster_store(name)
    return obj.with_(spec=obj.spec.with_(sources=[buildpacks.ImageSource(image=i) for i in images]))


def buildpack(name: str, image: str) -> buildpacks.Buildpack:
    obj = fx.buildpack(name)
    return obj.with_(spec=obj.spec.with_(image=image))


def cluster_buildpack(name: str, image: str) -> buildpacks.ClusterBuildpack:
    obj = fx.cluster_buildpack(name)
    return obj.with_(spec=obj.spec.with_(image=image))


OBJECTS: list[dependencies.Input] = [
    stack("base", "registry.io/stacks/build:1", "registry.io/stacks/run:1"),
    stack("pinned", "registry.io/stacks/build@" + fx.sha("1"), "registry.io/stacks/run@" + fx.sha("2")),
    lifecycle("default-lifecycle", "buildpacksio/lifecycle"),
    store("store", "registry.io/buildpacks/java", "Registry.IO/buildpacks/node:2", "not a reference"),
    buildpack("bp", "docker.io/library/go"),
    cluster_buildpack("cbp", "localhost:5000/python"),
]


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        pytest.param(
            "registry.io/stacks/run", ["base"], id="a run image tag names the stack; a digest does not move"
        ),
        pytest.param("registry.io/stacks/build:7", ["base"], id="a tag on the key is ignored"),
        pytest.param(
            "index.docker.io/buildpacksio/lifecycle", ["default-lifecycle"], id="Docker Hub fully qualified"
        ),
        pytest.param("docker.io/buildpacksio/lifecycle", ["default-lifecycle"], id="a Docker Hub alias"),
        pytest.param(
            "registry.io/buildpacks/node", ["store"], id="a store source, the host compared in lower case"
        ),
        pytest.param("go", ["bp"], id="an official Docker Hub image by its short name"),
        pytest.param("localhost:5000/python", ["cbp"], id="a registry with a port"),
        pytest.param("registry.io/buildpacks", [], id="a parent repository names nothing"),
        pytest.param("Not A Repository", [], id="a key that does not parse names nothing"),
    ],
)
def test_inputs_naming(repository: str, expected: list[str]) -> None:
    assert names(dependencies.inputs_naming(repository, objects=OBJECTS)) == expected


def test_a_cluster_builder_is_never_fed_by_a_buildpack_even_if_it_carries_a_namespace() -> None:
    cluster = fx.builder(kind=builders.CLUSTER_BUILDER, name="cluster")
    cluster = cluster.with_(metadata=cluster.metadata.with_(namespace=fx.NAMESPACE))
    found = dependencies.builders_fed_by(
        kind="Buildpack", namespace=fx.NAMESPACE, name="bp", builders=[cluster]
    )
    assert found == []
