"""A builder's stack, lifecycle and store checked, and its order resolved (spec §2.5-§2.7, checklist
18-19, 23-24, 30; kpack buildpack_resolver_test.go, dependency_tree_test.go, builder and
clusterbuilder reconciler tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import builder_fixtures as fx
import pytest

from contracts import builders, buildpacks
from services.builder import resolution
from services.builder.problems import BuilderProblem

STORE_IMAGE = {"storeImage": {"image": "some.registry.io/build-package"}}
ENGINE = fx.status("io.buildpack.engine", "1.0.0", diffId=fx.sha("1"), size=50, api="0.1", **STORE_IMAGE)
PACKAGE_MANAGER = fx.status(
    "io.buildpack.package-manager", "1.0.0", diffId=fx.sha("2"), size=40, api="0.2", **STORE_IMAGE
)
META = fx.status(
    "io.buildpack.meta",
    "1.0.0",
    diffId=fx.sha("3"),
    size=30,
    api="0.3",
    order=[
        {
            "group": [
                {"id": "io.buildpack.engine", "version": "1.0.0"},
                {"id": "io.buildpack.package-manager", "version": "1.0.0", "optional": True},
            ]
        }
    ],
    **STORE_IMAGE,
)
V8 = fx.status("io.buildpack.multi", "8.0.0", diffId=fx.sha("8"), size=20, **STORE_IMAGE)
V9 = fx.status("io.buildpack.multi", "9.0.0", diffId=fx.sha("9"), size=10, **STORE_IMAGE)

STORE = fx.cluster_store("some-store", [META, ENGINE, PACKAGE_MANAGER, V8, V9], generation=4)
BUILDPACKS = [
    fx.buildpack("io.buildpack.meta", [META, ENGINE, PACKAGE_MANAGER]),
    fx.buildpack("io.buildpack.multi-8.0.0", [V8]),
    fx.buildpack("io.buildpack.multi-9.0.0", [V9]),
    fx.buildpack("io.buildpack.multi", [V8, V9]),
]
CLUSTER_BUILDPACKS = [
    fx.cluster_buildpack("io.buildpack.meta", [META, ENGINE, PACKAGE_MANAGER]),
    fx.cluster_buildpack("io.buildpack.multi-8.0.0", [V8]),
    fx.cluster_buildpack("io.buildpack.multi-9.0.0", [V9]),
    fx.cluster_buildpack("io.buildpack.multi", [V8, V9]),
]


def ref(bp_id: str = "", version: str = "", **fields: Any) -> dict[str, Any]:
    return {**({"id": bp_id} if bp_id else {}), **({"version": version} if version else {}), **fields}


def resolve_one(
    entry: dict[str, Any],
    *,
    store: buildpacks.ClusterStore | None = None,
    bps: Sequence[buildpacks.Buildpack] = (),
    cbps: Sequence[buildpacks.ClusterBuildpack] = (),
    kind: str = builders.BUILDER,
) -> resolution.ResolvedBuildpack:
    """The buildpack one group entry resolves to (the last one into the image)."""
    builder = fx.builder(kind=kind, order=[[entry]])
    resolved = resolution.resolve_order(builder, store=store, buildpacks=bps, cluster_buildpacks=cbps)
    return resolved.buildpacks[-1]


# kpack's buildpack_resolver_test.go -------------------------------------------------------------

SOURCES = {
    "store": {"store": STORE},
    "buildpacks": {"bps": BUILDPACKS},
    "cluster buildpacks": {"cbps": CLUSTER_BUILDPACKS},
}


@pytest.mark.parametrize(
    ("sources", "entry", "expected"),
    [
        pytest.param("store", ref("io.buildpack.engine"), ENGINE, id="the store finds a buildpack by id"),
        pytest.param("store", ref("io.buildpack.multi", "8.0.0"), V8, id="the store finds an id and version"),
        pytest.param("buildpacks", ref("io.buildpack.meta"), META, id="buildpacks find a buildpack by id"),
        pytest.param("buildpacks", ref("io.buildpack.engine"), ENGINE, id="buildpacks find a nested id"),
        pytest.param(
            "buildpacks", ref("io.buildpack.multi", "8.0.0"), V8, id="buildpacks find an id and version"
        ),
        pytest.param(
            "buildpacks",
            ref(kind="Buildpack", name="io.buildpack.meta"),
            META,
            id="a Buildpack by name is its root",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.meta", kind="Buildpack", name="io.buildpack.meta"),
            META,
            id="an id in a named Buildpack",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.engine", kind="Buildpack", name="io.buildpack.meta"),
            ENGINE,
            id="a nested id in a named Buildpack",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.multi", "8.0.0", kind="Buildpack", name="io.buildpack.multi"),
            V8,
            id="the version asked for in a named Buildpack",
        ),
        pytest.param(
            "cluster buildpacks", ref("io.buildpack.meta"), META, id="cluster buildpacks find an id"
        ),
        pytest.param(
            "cluster buildpacks", ref("io.buildpack.engine"), ENGINE, id="cluster buildpacks find a nested id"
        ),
        pytest.param(
            "cluster buildpacks",
            ref("io.buildpack.multi", "8.0.0"),
            V8,
            id="cluster buildpacks find an id and version",
        ),
        pytest.param(
            "cluster buildpacks",
            ref(kind="ClusterBuildpack", name="io.buildpack.meta"),
            META,
            id="a ClusterBuildpack by name is its root",
        ),
        pytest.param(
            "cluster buildpacks",
            ref("io.buildpack.engine", kind="ClusterBuildpack", name="io.buildpack.meta"),
            ENGINE,
            id="a nested id in a named ClusterBuildpack",
        ),
        pytest.param(
            "cluster buildpacks",
            ref("io.buildpack.multi", "8.0.0", kind="ClusterBuildpack", name="io.buildpack.multi"),
            V8,
            id="the version asked for in a named ClusterBuildpack",
        ),
        pytest.param("store", ref("io.buildpack.multi"), V9, id="without a version the highest is taken"),
    ],
)
def test_kpack_resolver_finds(
    sources: str, entry: dict[str, Any], expected: buildpacks.BuildpackStatus
) -> None:
    assert resolve_one(entry, **SOURCES[sources]).buildpack == expected


@pytest.mark.parametrize(
    ("sources", "entry", "message"),
    [
        pytest.param(
            "store",
            ref("fake-buildpack"),
            "could not find buildpack with id 'fake-buildpack'",
            id="an unknown id in the store",
        ),
        pytest.param(
            "store",
            ref("io.buildpack.multi", "8.0.1"),
            "could not find buildpack with id 'io.buildpack.multi' and version '8.0.1'",
            id="an unknown version in the store",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.multi", "8.0.1"),
            "could not find buildpack with id 'io.buildpack.multi' and version '8.0.1'",
            id="an unknown version in buildpacks",
        ),
        pytest.param(
            "buildpacks",
            ref(kind="FakeBuildpack", name="io.buildpack.meta"),
            "kind must be either Buildpack or ClusterBuildpack",
            id="an unknown kind",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.meta", kind="FakeBuildpack", name="io.buildpack.meta"),
            "kind must be either Buildpack or ClusterBuildpack",
            id="an unknown kind with an id",
        ),
        pytest.param(
            "buildpacks",
            ref(kind="Buildpack", name="fake-buildpack"),
            "no buildpack with name 'fake-buildpack'",
            id="an unknown Buildpack",
        ),
        pytest.param(
            "buildpacks",
            ref("fake-buildpack", kind="Buildpack", name="io.buildpack.meta"),
            "could not find buildpack with id 'fake-buildpack'",
            id="an id not in the named Buildpack",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.multi", "8.0.1", kind="Buildpack", name="io.buildpack.multi"),
            "could not find buildpack with id 'io.buildpack.multi' and version '8.0.1'",
            id="a version not in the named Buildpack",
        ),
        pytest.param(
            "buildpacks",
            ref("io.buildpack.meta", kind="Buildpack", name="fake"),
            "buildpack not found: fake",
            id="an id in an unknown Buildpack",
        ),
        pytest.param(
            "cluster buildpacks",
            ref(kind="ClusterBuildpack", name="fake-buildpack"),
            "no cluster buildpack with name 'fake-buildpack'",
            id="an unknown ClusterBuildpack",
        ),
        pytest.param(
            "cluster buildpacks",
            ref("io.buildpack.meta", kind="ClusterBuildpack", name="fake"),
            "cluster buildpack not found: fake",
            id="an id in an unknown ClusterBuildpack",
        ),
        pytest.param(
            "cluster buildpacks",
            ref("fake-buildpack", kind="ClusterBuildpack", name="io.buildpack.meta"),
            "could not find buildpack with id 'fake-buildpack'",
            id="an id not in the named ClusterBuildpack",
        ),
        pytest.param(
            "cluster buildpacks",
            ref(kind="ClusterBuildpack", name="io.buildpack.meta", version="2.0.0"),
            "could not find buildpack with id '' and version '2.0.0'",
            id="a named root of another version prints an empty id",
        ),
        pytest.param(
            "store",
            ref(image="some/buildpack"),
            "using images in builders not currently supported",
            id="an image",
        ),
        pytest.param("store", ref(optional=True), "invalid buildpack reference", id="an empty entry"),
    ],
)
def test_kpack_resolver_fails(sources: str, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(BuilderProblem) as problem:
        resolve_one(entry, **SOURCES[sources])
    assert str(problem.value) == message


# Where a buildpack comes from, and the tie rules (§2.6, checklist 23) ----------------------------


def origin(
    kind: str, name: str, namespace: str = "", account: tuple[str, str] | None = None
) -> resolution.Origin:
    ref = buildpacks.ServiceAccountRef(name=account[0], namespace=account[1]) if account else None
    return resolution.Origin(kind=kind, namespace=namespace, name=name, service_account=ref)


ONE = fx.status("x", "1.0.0", digest=fx.sha("1"))
TWO = fx.status("x", "2.0.0", digest=fx.sha("2"))
MIXED = {
    "store": fx.cluster_store("store", [ONE.with_(digest=fx.sha("5"))]),
    "bps": [fx.buildpack("bp", [ONE.with_(digest=fx.sha("3"))])],
    "cbps": [fx.cluster_buildpack("cbp", [ONE.with_(digest=fx.sha("4"))])],
}


@pytest.mark.parametrize(
    ("entry", "sources", "digest", "expected_origin"),
    [
        pytest.param(
            ref("x"),
            {"store": fx.cluster_store("store", [TWO]), "bps": [fx.buildpack("bp", [ONE])]},
            fx.sha("2"),
            origin("ClusterStore", "store"),
            id="checklist 23: the higher version in the store beats a Buildpack",
        ),
        pytest.param(
            ref("x", "1.0.0"),
            {
                "store": fx.cluster_store("store", [ONE.with_(digest=fx.sha("5"))]),
                "bps": [fx.buildpack("bp", [ONE])],
            },
            fx.sha("1"),
            origin("Buildpack", "bp", fx.NAMESPACE, ("default", fx.NAMESPACE)),
            id="checklist 23: an exact version in a Buildpack beats the store",
        ),
        pytest.param(
            ref("x"),
            MIXED,
            fx.sha("5"),
            origin("ClusterStore", "store"),
            id="a tie at the highest goes to the store",
        ),
        pytest.param(
            ref("x"),
            {**MIXED, "store": None},
            fx.sha("4"),
            origin("ClusterBuildpack", "cbp"),
            id="a tie at the highest goes to a ClusterBuildpack before a Buildpack",
        ),
        pytest.param(
            ref("x", "1.0.0"),
            MIXED,
            fx.sha("3"),
            origin("Buildpack", "bp", fx.NAMESPACE, ("default", fx.NAMESPACE)),
            id="an exact version goes to a Buildpack first",
        ),
        pytest.param(
            ref("x", "1.0.0"),
            {**MIXED, "bps": []},
            fx.sha("4"),
            origin("ClusterBuildpack", "cbp"),
            id="an exact version goes to a ClusterBuildpack before the store",
        ),
        pytest.param(
            ref("x"),
            {"store": fx.cluster_store("store", [ONE, fx.status("x", "1.0", digest=fx.sha("6"))])},
            fx.sha("6"),
            origin("ClusterStore", "store"),
            id="versions equal as semver tie and the later wins",
        ),
        pytest.param(
            ref("x"),
            {"store": fx.cluster_store("store", [ONE.with_(version="v1.2"), TWO.with_(version="1.10")])},
            fx.sha("2"),
            origin("ClusterStore", "store"),
            id="lenient versions compare by number",
        ),
        pytest.param(
            ref("x"),
            {
                "store": fx.cluster_store(
                    "store", [ONE.with_(version="2.0.0"), TWO.with_(version="2.0.0-rc.1")]
                )
            },
            fx.sha("1"),
            origin("ClusterStore", "store"),
            id="a release beats its prerelease",
        ),
        pytest.param(
            ref("x"),
            {
                "bps": [fx.buildpack("bp", [ONE], namespace="elsewhere")],
                "cbps": [fx.cluster_buildpack("cbp", [TWO])],
            },
            fx.sha("2"),
            origin("ClusterBuildpack", "cbp"),
            id="Buildpacks of other namespaces are not used",
        ),
        pytest.param(
            ref("x"),
            {
                "bps": [fx.buildpack("bp", [ONE], service_account_name="puller")],
                "store": fx.cluster_store("s", [ONE.with_(version="0.1.0")]),
            },
            fx.sha("1"),
            origin("Buildpack", "bp", fx.NAMESPACE, ("puller", fx.NAMESPACE)),
            id="a Buildpack's layer is pulled with its service account",
        ),
        pytest.param(
            ref("x"),
            {"store": fx.cluster_store("s", [ONE], service_account_ref={"name": "sa", "namespace": "ns"})},
            fx.sha("1"),
            origin("ClusterStore", "s", "", ("sa", "ns")),
            id="a store's layer is pulled with its service account ref",
        ),
        pytest.param(
            ref("x"),
            {"cbps": [fx.cluster_buildpack("c", [ONE], service_account_ref={"namespace": "ns"})]},
            fx.sha("1"),
            origin("ClusterBuildpack", "c", "", ("default", "ns")),
            id="a ref without a name means the default service account",
        ),
        pytest.param(
            ref("x"),
            {"cbps": [fx.cluster_buildpack("c", [ONE], service_account_ref={"name": "sa"})]},
            fx.sha("1"),
            origin("ClusterBuildpack", "c"),
            id="a ref without a namespace gives no credentials",
        ),
    ],
)
def test_which_candidate_is_chosen(
    entry: dict[str, Any], sources: dict[str, Any], digest: str, expected_origin: resolution.Origin
) -> None:
    found = resolve_one(entry, **sources)
    assert (found.buildpack.digest, found.origin) == (digest, expected_origin)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        pytest.param(
            [ONE, ONE.with_(version="latest")],
            "cannot find buildpack 'x' with latest version due to invalid semver 'latest'",
            id="a word is not a version",
        ),
        pytest.param(
            [ONE.with_(version="1.0.0-01"), TWO],
            "cannot find buildpack 'x' with latest version due to invalid semver '1.0.0-01'",
            id="a numeric prerelease with a leading zero is invalid",
        ),
        pytest.param(
            [ONE.with_(version="")],
            "cannot find buildpack 'x' with latest version due to invalid semver ''",
            id="an empty version",
        ),
    ],
)
def test_highest_version_needs_semantic_versions(
    entries: list[buildpacks.BuildpackStatus], message: str
) -> None:
    with pytest.raises(BuilderProblem) as problem:
        resolve_one(ref("x"), store=fx.cluster_store("s", entries))
    assert str(problem.value) == message


def test_an_exact_version_is_found_even_when_another_is_not_semver() -> None:
    found = resolve_one(ref("x", "1.0.0"), store=fx.cluster_store("s", [ONE.with_(version="latest"), ONE]))
    assert found.buildpack == ONE


# Named objects: the root of their buildpacks (checklist 24; dependency_tree_test.go) --------------


def child(bp_id: str) -> buildpacks.BuildpackStatus:
    return fx.status(bp_id, "1")


@pytest.mark.parametrize(
    ("entries", "outcome"),
    [
        pytest.param(
            [
                fx.status(
                    "parent-buildpack",
                    "1",
                    order=[
                        {"group": [{"id": "child-buildpack-1"}, {"id": "child-buildpack-2"}]},
                        {"group": [{"id": "child-buildpack-3"}]},
                    ],
                ),
                child("child-buildpack-1"),
                child("child-buildpack-2"),
                child("child-buildpack-3"),
            ],
            "parent-buildpack",
            id="one parent of three children in two groups",
        ),
        pytest.param(
            [
                fx.meta("parent-buildpack", "1", ("child-buildpack-1", "1")),
                fx.meta("child-buildpack-1", "1", ("grandchild-buildpack-1", "1")),
                child("grandchild-buildpack-1"),
            ],
            "parent-buildpack",
            id="nested children",
        ),
        pytest.param(
            [
                fx.meta("parent-buildpack-1", "1", ("child-buildpack-1", "1")),
                fx.status("parent-buildpack-2", "1"),
                child("child-buildpack-1"),
            ],
            "unexpected number of root buildpacks: 2",
            id="two trees",
        ),
        pytest.param([], "unexpected number of root buildpacks: 0", id="no buildpacks"),
        pytest.param(
            [fx.status("java", "1"), fx.status("java", "2")],
            "unexpected number of root buildpacks: 2",
            id="two versions of one root",
        ),
        pytest.param(
            [fx.meta("a", "1", ("b", "1")), fx.meta("b", "1", ("a", "1"))],
            "unexpected number of root buildpacks: 0",
            id="a cycle has no root",
        ),
    ],
)
def test_the_root_of_a_named_cluster_buildpack(
    entries: list[buildpacks.BuildpackStatus], outcome: str
) -> None:
    cbps = [fx.cluster_buildpack("java", entries)]
    entry = ref(kind="ClusterBuildpack", name="java")
    if outcome.startswith("unexpected"):
        with pytest.raises(BuilderProblem, match=f"^{outcome}$"):
            resolve_one(entry, cbps=cbps)
    else:
        resolved = resolution.resolve_order(
            fx.builder(order=[[entry]]), store=None, buildpacks=[], cluster_buildpacks=cbps
        )
        assert resolved.order[0].group[0].id == outcome


# The order and the buildpacks that go into the image (§2.7, checklist 30) -------------------------


def names(resolved: resolution.ResolvedOrder) -> list[str]:
    return [f"{r.buildpack}:{r.origin.kind}/{r.origin.name}" for r in resolved.buildpacks]


def test_children_go_in_depth_first_before_their_parent_and_are_resolved_across_sources() -> None:
    store = fx.cluster_store(
        "store",
        [
            fx.meta("meta", "1", ("mid", "1"), ("leaf", "")),
            fx.meta("mid", "1", ("leaf", "2")),
            fx.status("leaf", "2"),
        ],
    )
    cbps = [fx.cluster_buildpack("cbp", [fx.status("leaf", "3")])]
    builder = fx.builder(order=[[ref("meta")], [ref("leaf", "2", optional=True), ref("other")]])
    other = [fx.buildpack("other-bp", [fx.status("other", "0.1")])]
    resolved = resolution.resolve_order(builder, store=store, buildpacks=other, cluster_buildpacks=cbps)
    assert names(resolved) == [
        "leaf@2:ClusterStore/store",
        "mid@1:ClusterStore/store",
        "leaf@3:ClusterBuildpack/cbp",
        "meta@1:ClusterStore/store",
        "leaf@2:ClusterStore/store",
        "other@0.1:Buildpack/other-bp",
    ]
    assert [entry.dump() for entry in resolved.order] == [
        {"group": [{"id": "meta", "version": "1"}]},
        {"group": [{"id": "leaf", "version": "2", "optional": True}, {"id": "other", "version": "0.1"}]},
    ]


def test_kpack_meta_buildpack_keeps_its_children_optional_only_in_its_own_order() -> None:
    resolved = resolution.resolve_order(
        fx.builder(order=[[ref("io.buildpack.meta", optional=True)]]),
        store=STORE,
        buildpacks=[],
        cluster_buildpacks=[],
    )
    assert [str(r.buildpack) for r in resolved.buildpacks] == [
        "io.buildpack.engine@1.0.0",
        "io.buildpack.package-manager@1.0.0",
        "io.buildpack.meta@1.0.0",
    ]
    assert resolved.order[0].dump() == {
        "group": [{"id": "io.buildpack.meta", "version": "1.0.0", "optional": True}]
    }
    assert resolved.observed_store_generation == 4


def test_a_missing_child_fails_with_its_id() -> None:
    store = fx.cluster_store("store", [fx.meta("meta", "1", ("gone", "1"))])
    with pytest.raises(BuilderProblem, match=r"^could not find buildpack with id 'gone'$"):
        resolution.resolve_order(
            fx.builder(order=[[ref("meta")]]), store=store, buildpacks=[], cluster_buildpacks=[]
        )


def test_a_cycle_of_meta_buildpacks_is_refused() -> None:
    store = fx.cluster_store("store", [fx.meta("a", "1", ("b", "1")), fx.meta("b", "1", ("a", "1"))])
    with pytest.raises(BuilderProblem, match=r"^buildpack order has a cycle: a@1 -> b@1 -> a@1$"):
        resolution.resolve_order(
            fx.builder(order=[[ref("a")]]), store=store, buildpacks=[], cluster_buildpacks=[]
        )


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        pytest.param([], [], id="no order resolves to nothing"),
        pytest.param([[]], [{}], id="an empty group stays an empty entry"),
    ],
)
def test_empty_orders(order: list[list[dict[str, Any]]], expected: list[dict[str, Any]]) -> None:
    resolved = resolution.resolve_order(
        fx.builder(order=order), store=None, buildpacks=[], cluster_buildpacks=[]
    )
    assert ([e.dump() for e in resolved.order], resolved.buildpacks, resolved.observed_store_generation) == (
        expected,
        (),
        0,
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param(
            ref("x", kind="Buildpack", name="bp"), "buildpack not found: bp", id="an id in a Buildpack"
        ),
        pytest.param(
            ref(kind="Buildpack", name="bp"), "no buildpack with name 'bp'", id="a Buildpack by name"
        ),
        pytest.param(ref("x"), "could not find buildpack with id 'x'", id="an id only in a Buildpack"),
    ],
)
def test_a_cluster_builder_gets_no_buildpacks(entry: dict[str, Any], message: str) -> None:
    bps = [fx.buildpack("bp", [ONE])]
    with pytest.raises(BuilderProblem) as problem:
        resolve_one(entry, bps=bps, kind=builders.CLUSTER_BUILDER)
    assert str(problem.value) == message


# Stack, lifecycle and store (§2.5, checklist 18-19) ---------------------------------------------

BUILDER = fx.builder()
CLUSTER_BUILDER = fx.builder(kind=builders.CLUSTER_BUILDER)
READY_STACK, READY_LIFECYCLE = fx.cluster_stack(), fx.cluster_lifecycle()


@pytest.mark.parametrize(
    ("builder", "found", "message"),
    [
        pytest.param(
            BUILDER, {"store": None}, 'clusterstore.kpack.io "some-store" not found', id="a missing store"
        ),
        pytest.param(
            BUILDER,
            {"store": None, "stack": None},
            'clusterstore.kpack.io "some-store" not found',
            id="the store is checked first",
        ),
        pytest.param(
            BUILDER, {"stack": None}, 'clusterstack.kpack.io "some-stack" not found', id="a missing stack"
        ),
        pytest.param(
            BUILDER,
            {"stack": fx.cluster_stack(ready=False), "lifecycle": None},
            "Error: clusterstack 'some-stack' is not ready",
            id="a Builder's stack that is not ready, before the lifecycle",
        ),
        pytest.param(
            CLUSTER_BUILDER,
            {"stack": fx.cluster_stack(ready=False)},
            "stack some-stack is not ready",
            id="a ClusterBuilder's stack that is not ready",
        ),
        pytest.param(
            BUILDER,
            {"stack": fx.cluster_stack(ready=None)},
            "Error: clusterstack 'some-stack' is not ready",
            id="a stack without conditions is not ready",
        ),
        pytest.param(
            BUILDER,
            {"lifecycle": None},
            'clusterlifecycle.kpack.io "default-lifecycle" not found',
            id="a missing default lifecycle",
        ),
        pytest.param(
            fx.builder(spec={"lifecycle": {"name": "my-lifecycle"}}),
            {"lifecycle": None},
            'clusterlifecycle.kpack.io "my-lifecycle" not found',
            id="a missing named lifecycle",
        ),
        pytest.param(
            CLUSTER_BUILDER,
            {"lifecycle": fx.cluster_lifecycle(ready=False)},
            "Error: clusterlifecycle 'default-lifecycle' is not ready",
            id="a lifecycle that is not ready, the same message for both kinds",
        ),
        pytest.param(
            fx.builder(spec={"stack": {"name": 'we"ird'}}),
            {"stack": None},
            'clusterstack.kpack.io "we\\"ird" not found',
            id="the name is quoted as Go quotes it",
        ),
    ],
)
def test_inputs_that_stop_a_builder(builder: builders.Builder, found: dict[str, Any], message: str) -> None:
    observed = {"store": fx.cluster_store(), "stack": READY_STACK, "lifecycle": READY_LIFECYCLE, **found}
    with pytest.raises(BuilderProblem) as problem:
        resolution.builder_inputs(builder, **observed)
    assert str(problem.value) == message


@pytest.mark.parametrize(
    ("builder", "store", "expected_store"),
    [
        pytest.param(BUILDER, fx.cluster_store(), "some-store", id="the named store is used"),
        pytest.param(
            fx.builder(spec={"store": {"kind": "ClusterStore"}}), None, None, id="no store named, none needed"
        ),
        pytest.param(
            fx.builder(spec={"store": {}}),
            fx.cluster_store(),
            None,
            id="a store given but not named is not used",
        ),
    ],
)
def test_inputs_that_let_a_builder_proceed(
    builder: builders.Builder, store: buildpacks.ClusterStore | None, expected_store: str | None
) -> None:
    inputs = resolution.builder_inputs(builder, store=store, stack=READY_STACK, lifecycle=READY_LIFECYCLE)
    assert (inputs.stack, inputs.lifecycle) == (READY_STACK, READY_LIFECYCLE)
    assert (inputs.store.name if inputs.store else None) == expected_store


# Semantic versions (Masterminds/semver v3.4.0) ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1.2.3", ((1, 2, 3), ""), id="a full version"),
        pytest.param("v1.2", ((1, 2, 0), ""), id="a v prefix and a missing patch"),
        pytest.param("7", ((7, 0, 0), ""), id="a major only"),
        pytest.param("01.02.03", ((1, 2, 3), ""), id="leading zeros in numbers are coerced"),
        pytest.param("1.2.3-rc.1+build.5", ((1, 2, 3), "rc.1"), id="prerelease kept, build metadata dropped"),
        pytest.param("1.2.3-0a", ((1, 2, 3), "0a"), id="an alphanumeric prerelease part may start with zero"),
        pytest.param("1.2.3-01", None, id="a numeric prerelease part may not"),
        pytest.param("18446744073709551616.0.0", None, id="a number beyond uint64"),
        pytest.param("1.2.3.4", None, id="four numbers"),
        pytest.param("V1.0.0", None, id="a capital V"),
        pytest.param("1.0.0\n", None, id="a trailing newline"),
        pytest.param("", None, id="nothing"),
    ],
)
def test_parse_version(text: str, expected: tuple[tuple[int, int, int], str] | None) -> None:
    version = resolution.parse_version(text)
    assert (None if version is None else (version.numbers, version.prerelease)) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("1.0.0", "1.0.1", -1, id="patch"),
        pytest.param("2.0.0", "1.9.9", 1, id="major"),
        pytest.param("1.0.0+a", "1.0.0+b", 0, id="build metadata is ignored"),
        pytest.param("1.0.0-rc.1", "1.0.0", -1, id="a prerelease is below its release"),
        pytest.param("1.0.0", "1.0.0-rc.1", 1, id="a release is above its prerelease"),
        pytest.param("1.0.0-alpha", "1.0.0-alpha.1", -1, id="fewer parts are lower"),
        pytest.param("1.0.0-alpha.1", "1.0.0-alpha", 1, id="more parts are higher"),
        pytest.param("1.0.0-2", "1.0.0-10", -1, id="numbers by value"),
        pytest.param("1.0.0-10", "1.0.0-2", 1, id="numbers by value, reversed"),
        pytest.param("1.0.0-1", "1.0.0-a", -1, id="numbers below words"),
        pytest.param("1.0.0-a", "1.0.0-1", 1, id="words above numbers"),
        pytest.param("1.0.0-beta", "1.0.0-alpha", 1, id="words by bytes"),
        pytest.param("1.0.0-Beta", "1.0.0-alpha", -1, id="capitals sort before lower case"),
        pytest.param("1.0.0-rc.1", "1.0.0-rc.1", 0, id="equal prereleases"),
        pytest.param(
            "1.0.0-99999999999999999999", "1.0.0-1", 1, id="a part beyond uint64 compares as a word"
        ),
    ],
)
def test_compare_versions(a: str, b: str, expected: int) -> None:
    first, second = resolution.parse_version(a), resolution.parse_version(b)
    assert first is not None
    assert second is not None
    assert resolution.compare_versions(first, second) == expected
