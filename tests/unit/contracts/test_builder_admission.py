"""kpack's admission of the builder half, word for word: each case reproduces a case of kpack's
``*_validation_test.go`` (named as kpack names it) or a line of the spec's behaviour checklist
(``§6 n``), or pins a rule of kpack's code that its tests leave out."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from contracts import builder_admission, builders, buildpacks, meta, stacks

DIGEST = "sha256:78c1b9419976227e05be9d243b7fa583bea44a5258e52018b2af4cdfe23d148d"
STORE_IMAGES = [f"some-registry.io/store-image-{i}@{DIGEST}" for i in (1, 2, 3)]
SERVICE_ACCOUNT_REF = {"name": "some-sa-name", "namespace": "some-sa-namespace"}
LIFECYCLE_DEFAULTS = {"name": "default-lifecycle", "kind": "ClusterLifecycle"}


def _object(kind: str, name: str, spec: dict[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
    """A kpack.io/v1alpha2 document; a spec key given as None is left out."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    spec = {key: value for key, value in spec.items() if value is not None}
    return {"apiVersion": "kpack.io/v1alpha2", "kind": kind, "metadata": metadata, "spec": spec}


def a_cluster_store(**spec: Any) -> buildpacks.ClusterStore:
    """kpack's cluster_store_validation_test.go fixture, with spec keys replaced."""
    base = {"sources": [{"image": image} for image in STORE_IMAGES]}
    return buildpacks.ClusterStore.model_validate(_object("ClusterStore", "store-name", {**base, **spec}))


def a_cluster_stack(**spec: Any) -> stacks.ClusterStack:
    """kpack's cluster_stack_validation_test.go fixture."""
    base = {
        "id": "io.my.stack",
        "buildImage": {"image": "gcr.io/my/buildimage"},
        "runImage": {"image": "gcr.io/my/runimage"},
    }
    return stacks.ClusterStack.model_validate(_object("ClusterStack", "stack-name", {**base, **spec}))


def a_cluster_lifecycle(**spec: Any) -> stacks.ClusterLifecycle:
    """kpack has no test of its own: its default-lifecycle, by tag."""
    base = {"image": "buildpacksio/lifecycle:0.20.0"}
    return stacks.ClusterLifecycle.model_validate(_object("ClusterLifecycle", "lifecycle", {**base, **spec}))


def a_buildpack(**spec: Any) -> buildpacks.Buildpack:
    """kpack's buildpack_validation_test.go fixture."""
    base = {"image": STORE_IMAGES[0], "serviceAccountName": "some-service-account"}
    return buildpacks.Buildpack.model_validate(
        _object("Buildpack", "custom-builder-name", {**base, **spec}, namespace="custom-builder-namespace")
    )


def a_cluster_buildpack(**spec: Any) -> buildpacks.ClusterBuildpack:
    """kpack's cluster_buildpack_validation_test.go fixture."""
    base = {"image": STORE_IMAGES[0], "serviceAccountRef": SERVICE_ACCOUNT_REF}
    return buildpacks.ClusterBuildpack.model_validate(
        _object("ClusterBuildpack", "custom-builder-name", {**base, **spec})
    )


BUILDER_ORDER = [
    {
        "group": [
            {"id": "some-buildpack", "version": "v1", "optional": True},
            {"name": "some-buildpack", "kind": "Buildpack"},
            {
                "name": "some-clusterbuildpack",
                "kind": "ClusterBuildpack",
                "id": "some-buildpack",
                "version": "v1",
            },
        ]
    }
]


def a_builder(**spec: Any) -> builders.Builder:
    """kpack's builder_validation_test.go fixture, with spec keys replaced."""
    base = {
        "tag": "some-registry.io/custom-builder",
        "stack": {"kind": "ClusterStack", "name": "some-stack"},
        "store": {"kind": "ClusterStore", "name": "some-registry.io/store"},
        "order": BUILDER_ORDER,
        "serviceAccountName": "some-service-account",
    }
    return builders.Builder.model_validate(
        _object("Builder", "custom-builder-name", {**base, **spec}, namespace="custom-builder-namespace")
    )


def a_cluster_builder(**spec: Any) -> builders.Builder:
    """kpack's cluster_builder_validation_test.go fixture (no order)."""
    base = {
        "tag": "some-registry.io/custom-builder",
        "stack": {"kind": "ClusterStack", "name": "some-stack-ref"},
        "store": {"kind": "ClusterStore", "name": "some-registry.io/store"},
        "serviceAccountRef": SERVICE_ACCOUNT_REF,
    }
    return builders.Builder.model_validate(_object("ClusterBuilder", "custom-builder-name", {**base, **spec}))


def one_entry(**entry: Any) -> list[dict[str, Any]]:
    """An order of one group of one entry (kpack's ``order`` cases)."""
    return [{"group": [entry]}]


def rendered(error: object) -> str | None:
    return None if error is None else str(error)


# Defaults -----------------------------------------------------------------------------------------


def test_stores_stacks_lifecycles_and_cluster_buildpacks_have_no_defaults() -> None:
    store = a_cluster_store(sources=None)
    stack = a_cluster_stack(id="")
    lifecycle = a_cluster_lifecycle(image="")
    cluster_buildpack = a_cluster_buildpack(serviceAccountRef=None)

    assert builder_admission.default_cluster_store(store) is store
    assert builder_admission.default_cluster_stack(stack) is stack
    assert builder_admission.default_cluster_lifecycle(lifecycle) is lifecycle
    assert builder_admission.default_cluster_buildpack(cluster_buildpack) is cluster_buildpack


def test_buildpack_does_not_modify_already_set_fields() -> None:
    buildpack = a_buildpack()

    assert builder_admission.default_buildpack(buildpack) is buildpack


def test_buildpack_defaults_service_account_to_default() -> None:
    defaulted = builder_admission.default_buildpack(a_buildpack(serviceAccountName=""))

    assert defaulted.dump()["spec"]["serviceAccountName"] == "default"


def test_builder_does_not_modify_already_set_fields_but_the_lifecycle() -> None:
    builder = a_builder()

    defaulted = builder_admission.default_builder(builder).dump()

    assert defaulted == {
        **builder.dump(),
        "spec": {**builder.dump()["spec"], "lifecycle": LIFECYCLE_DEFAULTS},
    }


def test_builder_keeps_a_lifecycle_it_names() -> None:
    builder = a_builder(lifecycle={"kind": "ClusterLifecycle", "name": "mine"})

    assert builder_admission.default_builder(builder) is builder


BUILDER_DEFAULTS = [
    pytest.param(
        {"serviceAccountName": ""},
        {"serviceAccountName": "default"},
        id="defaults service account to default",
    ),
    pytest.param(
        {"serviceAccountName": "", "serviceAccount": "legacy"},
        {"serviceAccountName": "", "serviceAccount": "legacy"},
        id="the deprecated serviceAccount is the service account: nothing is defaulted",
    ),
    pytest.param(
        {"stack": {"name": "some-stack"}},
        {"stack": {"kind": "ClusterStack", "name": "some-stack"}},
        id="defaults stack.kind to ClusterStack",
    ),
    pytest.param(
        {"store": {"name": "some-store"}},
        {"store": {"kind": "ClusterStore", "name": "some-store"}},
        id="defaults store.kind to ClusterStore",
    ),
    pytest.param(
        {"store": None},
        {"store": {"kind": "ClusterStore"}},
        id="defaults store.kind to ClusterStore even when no store is named",
    ),
    pytest.param(
        {"lifecycle": {"name": "mine"}},
        {"lifecycle": {"name": "mine", "kind": "ClusterLifecycle"}},
        id="defaults lifecycle.kind to ClusterLifecycle",
    ),
    pytest.param(
        {"lifecycle": {"kind": "Other"}},
        {"lifecycle": {"kind": "Other", "name": "default-lifecycle"}},
        id="defaults lifecycle.name to default-lifecycle and keeps its kind, which is never checked",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), BUILDER_DEFAULTS)
def test_builder_defaults(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    defaulted = builder_admission.default_builder(a_builder(**spec)).dump()["spec"]

    assert {key: defaulted.get(key, "") for key in expected} == expected
    assert defaulted["lifecycle"]["kind"]
    assert defaulted["lifecycle"]["name"]


CLUSTER_BUILDER_DEFAULTS = [
    pytest.param(
        {},
        {"lifecycle": LIFECYCLE_DEFAULTS},
        id="defaults the lifecycle name and kind",
    ),
    pytest.param(
        {"stack": {"name": "some-stack"}, "store": {"name": "some-store"}},
        {"stack": {"name": "some-stack"}, "store": {"name": "some-store"}, "lifecycle": LIFECYCLE_DEFAULTS},
        id="does not default stack.kind or store.kind",
    ),
    pytest.param(
        {"serviceAccountRef": None},
        {"lifecycle": LIFECYCLE_DEFAULTS},
        id="adds no service account",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), CLUSTER_BUILDER_DEFAULTS)
def test_cluster_builder_defaults_only_the_lifecycle(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    builder = a_cluster_builder(**spec)

    defaulted = builder_admission.default_cluster_builder(builder).dump()["spec"]

    assert defaulted == {**builder.dump()["spec"], **expected}
    assert "serviceAccountName" not in defaulted


def test_cluster_builder_keeps_a_lifecycle_it_names() -> None:
    builder = a_cluster_builder(lifecycle={"kind": "ClusterLifecycle", "name": "mine"})

    assert builder_admission.default_cluster_builder(builder) is builder


# Stores, stacks, lifecycles, buildpacks -----------------------------------------------------------

CLUSTER_STORES = [
    pytest.param(a_cluster_store(), None, id="returns nil on no validation error"),
    pytest.param(a_cluster_store(sources=None), "missing field(s): spec.sources", id="missing field sources"),
    pytest.param(
        a_cluster_store(sources=[]), "missing field(s): spec.sources", id="an empty list of sources"
    ),
    pytest.param(
        a_cluster_store(sources=[{"image": image} for image in [*STORE_IMAGES, "invalid image"]]),
        "invalid value: {invalid image}: spec.sources[3]",
        id="sources should contain a valid image",
    ),
    pytest.param(
        a_cluster_store(sources=[{"image": "a b"}, {"image": STORE_IMAGES[0]}, {}]),
        "invalid value: {a b}: spec.sources[0]\ninvalid value: {}: spec.sources[2]",
        id="every invalid source is reported, a source without image too",
    ),
    pytest.param(
        a_cluster_store(serviceAccountRef={"name": "test"}),
        "missing field(s): spec.serviceAccountRef.namespace",
        id="missing namespace in serviceAccountRef",
    ),
    pytest.param(
        a_cluster_store(serviceAccountRef={"namespace": "test"}),
        "missing field(s): spec.serviceAccountRef.name",
        id="missing name in serviceAccountRef",
    ),
    pytest.param(
        a_cluster_store(serviceAccountRef={}, sources=None),
        "missing field(s): spec.serviceAccountRef.name",
        id="an empty serviceAccountRef is reported alone, before the name's namespace and the sources",
    ),
    pytest.param(
        a_cluster_store(serviceAccountRef={"name": "x"}, sources=None),
        "missing field(s): spec.serviceAccountRef.namespace",
        id="§6 1: a store without sources and a serviceAccountRef without namespace reports only the namespace",
    ),
    pytest.param(
        a_cluster_store(serviceAccountRef=SERVICE_ACCOUNT_REF),
        None,
        id="a complete serviceAccountRef is valid",
    ),
]


@pytest.mark.parametrize(("store", "message"), CLUSTER_STORES)
def test_cluster_store_validation(store: buildpacks.ClusterStore, message: str | None) -> None:
    assert rendered(builder_admission.validate_cluster_store(store)) == message


CLUSTER_STACKS = [
    pytest.param(a_cluster_stack(), None, id="returns nil on no validation error"),
    pytest.param(a_cluster_stack(id=""), "missing field(s): spec.id", id="missing id"),
    pytest.param(
        a_cluster_stack(buildImage={"image": "@INAVALID!"}),
        "invalid value: @INAVALID!: spec.buildImage.image",
        id="invalid build image",
    ),
    pytest.param(
        a_cluster_stack(buildImage={"image": ""}),
        "missing field(s): spec.buildImage.image",
        id="missing build image",
    ),
    pytest.param(
        a_cluster_stack(runImage={"image": "@INAVALID!"}),
        "invalid value: @INAVALID!: spec.runImage.image",
        id="invalid run image",
    ),
    pytest.param(
        a_cluster_stack(runImage={}), "missing field(s): spec.runImage.image", id="missing run image"
    ),
    pytest.param(
        a_cluster_stack(id="", buildImage={}, runImage={"image": "@x"}),
        "invalid value: @x: spec.runImage.image\nmissing field(s): spec.buildImage.image, spec.id",
        id="every problem is reported, missing fields merged",
    ),
    pytest.param(
        a_cluster_stack(serviceAccountRef={"name": "test"}),
        "missing field(s): spec.serviceAccountRef.namespace",
        id="missing namespace in serviceAccountRef",
    ),
    pytest.param(
        a_cluster_stack(serviceAccountRef={"namespace": "test"}, id=""),
        "missing field(s): spec.serviceAccountRef.name",
        id="missing name in serviceAccountRef, reported alone",
    ),
]


@pytest.mark.parametrize(("stack", "message"), CLUSTER_STACKS)
def test_cluster_stack_validation(stack: stacks.ClusterStack, message: str | None) -> None:
    assert rendered(builder_admission.validate_cluster_stack(stack)) == message


CLUSTER_LIFECYCLES = [
    pytest.param(a_cluster_lifecycle(), None, id="returns nil on no validation error"),
    pytest.param(a_cluster_lifecycle(image=""), "missing field(s): spec.image", id="missing image"),
    pytest.param(a_cluster_lifecycle(image="@not a reference!"), None, id="the image is not parsed"),
    pytest.param(
        a_cluster_lifecycle(serviceAccountRef={"name": "test"}, image=""),
        "missing field(s): spec.serviceAccountRef.namespace",
        id="missing namespace in serviceAccountRef, reported alone",
    ),
    pytest.param(
        a_cluster_lifecycle(serviceAccountRef={"namespace": "test"}),
        "missing field(s): spec.serviceAccountRef.name",
        id="missing name in serviceAccountRef",
    ),
]


@pytest.mark.parametrize(("lifecycle", "message"), CLUSTER_LIFECYCLES)
def test_cluster_lifecycle_validation(lifecycle: stacks.ClusterLifecycle, message: str | None) -> None:
    assert rendered(builder_admission.validate_cluster_lifecycle(lifecycle)) == message


BUILDPACKS = [
    pytest.param(a_buildpack(), None, id="returns nil on no validation error"),
    pytest.param(a_buildpack(image=""), "missing field(s): spec.image", id="missing source image"),
    pytest.param(
        a_buildpack(image="ftp//invalid/tag@@"),
        "invalid value: ftp//invalid/tag@@: spec.image",
        id="invalid source image",
    ),
    pytest.param(a_buildpack(serviceAccountName=""), None, id="the service account is not checked"),
    pytest.param(a_buildpack(image="gcr.io/team/bp:1.0"), None, id="a tag is a valid image"),
]


@pytest.mark.parametrize(("buildpack", "message"), BUILDPACKS)
def test_buildpack_validation(buildpack: buildpacks.Buildpack, message: str | None) -> None:
    assert rendered(builder_admission.validate_buildpack(buildpack)) == message


CLUSTER_BUILDPACKS = [
    pytest.param(a_cluster_buildpack(), None, id="returns nil on no validation error"),
    pytest.param(a_cluster_buildpack(image=""), "missing field(s): spec.image", id="missing source image"),
    pytest.param(
        a_cluster_buildpack(image="ftp//invalid/tag@@"),
        "invalid value: ftp//invalid/tag@@: spec.image",
        id="invalid source image",
    ),
    pytest.param(
        a_cluster_buildpack(serviceAccountRef={"name": "test"}),
        "missing field(s): spec.serviceAccountRef.namespace",
        id="missing namespace in serviceAccountRef",
    ),
    pytest.param(
        a_cluster_buildpack(serviceAccountRef={"namespace": "test"}, image=""),
        "missing field(s): spec.serviceAccountRef.name",
        id="missing name in serviceAccountRef, reported alone",
    ),
    pytest.param(a_cluster_buildpack(serviceAccountRef=None), None, id="a serviceAccountRef is optional"),
]


@pytest.mark.parametrize(("buildpack", "message"), CLUSTER_BUILDPACKS)
def test_cluster_buildpack_validation(buildpack: buildpacks.ClusterBuildpack, message: str | None) -> None:
    assert rendered(builder_admission.validate_cluster_buildpack(buildpack)) == message


# Builders -----------------------------------------------------------------------------------------

TAG_WITH_DIGEST = "some/app@sha256:72d10a33e3233657832967acffce652b729961da5247550ea58b2c2389cddc68"
BUILDER_SPECS = [
    pytest.param({}, None, id="returns nil on no validation error"),
    pytest.param({"tag": ""}, "missing field(s): {at}tag", id="missing field tag"),
    pytest.param(
        {"tag": "ftp//invalid/tag@@"}, "invalid value: ftp//invalid/tag@@: {at}tag", id="invalid image tag"
    ),
    pytest.param(
        {"tag": TAG_WITH_DIGEST},
        f"invalid value: {TAG_WITH_DIGEST}: {{at}}tag",
        id="tag should not contain a fully qualified digest",
    ),
    pytest.param(
        {"tag": "some-registry.io/b@" + DIGEST},
        f"invalid value: some-registry.io/b@{DIGEST}: {{at}}tag",
        id="§6 14: a tag with a digest is refused",
    ),
    pytest.param(
        {"tag": "example.com/invalid::builder"},
        "invalid value: example.com/invalid::builder: {at}tag",
        id="a tag with an empty repository part does not parse",
    ),
    pytest.param({"tag": "builder"}, None, id="a bare name is a tag under weak parsing"),
    pytest.param(
        {"stack": {"kind": "ClusterStack"}}, "missing field(s): {at}stack.name", id="missing stack name"
    ),
    pytest.param(
        {"stack": {"kind": "FakeStack"}},
        "missing field(s): {at}stack.name",
        id="a stack without a name is reported alone, its kind unchecked",
    ),
    pytest.param(
        {"stack": {"kind": "FakeStack", "name": "some-stack"}},
        "invalid value: FakeStack: {at}stack.kind",
        id="invalid stack kind",
    ),
    pytest.param(
        {"store": {"kind": "FakeStore", "name": "some-store"}},
        "invalid value: FakeStore: {at}store.kind\nmust be one of ClusterStore",
        id="invalid store kind",
    ),
    pytest.param(
        {"store": {"kind": "FakeStore"}},
        "invalid value: FakeStore: {at}store.kind\nmust be one of ClusterStore\nmissing field(s): {at}store.name",
        id="a store of an invalid kind without a name reports both",
    ),
    pytest.param(
        {"store": {"kind": "ClusterStore"}},
        None,
        id="a store of a valid kind without a name is no store",
    ),
    pytest.param({"store": {}}, None, id="no store name and no store kind is no store"),
    pytest.param(
        {"order": one_entry(name="some-buildpack", kind="FakeBuildpack")},
        "invalid value: FakeBuildpack: {at}order[0].group[0].kind\nmust be one of Buildpack, ClusterBuildpack",
        id="invalid object kind",
    ),
    pytest.param(
        {"order": one_entry(image="some-registry.io/buildpack")},
        "must not set the field(s): {at}order[0].group[0].image reference currently not supported",
        id="invalid when image is used",
    ),
    pytest.param(
        {"order": one_entry(id="some-buildpack", version="v1", name="some-buildpack", kind="Buildpack")},
        None,
        id="valid when both id and object are defined",
    ),
    pytest.param(
        {"order": one_entry(optional=True)},
        "expected exactly one, got neither: {at}order[0].group[0].id, {at}order[0].group[0].image, "
        "{at}order[0].group[0].name + kind",
        id="an entry naming no buildpack",
    ),
    pytest.param(
        {"order": one_entry(name="some-buildpack")},
        "invalid value: : {at}order[0].group[0].kind\nmust be one of Buildpack, ClusterBuildpack",
        id="an entry named without a kind",
    ),
    pytest.param(
        {"order": one_entry(kind="ClusterBuildpack")},
        None,
        id="an entry of a valid kind without a name is not refused",
    ),
    pytest.param(
        {"order": one_entry(kind="FakeBuildpack")},
        "invalid value: FakeBuildpack: {at}order[0].group[0].kind\nmust be one of Buildpack, ClusterBuildpack"
        "\nmissing field(s): {at}order[0].group[0].name",
        id="an entry of an invalid kind without a name reports both",
    ),
    pytest.param(
        {"order": one_entry(image="some-registry.io/buildpack", id="x", kind="Fake", name="x")},
        "invalid value: Fake: {at}order[0].group[0].kind\nmust be one of Buildpack, ClusterBuildpack\n"
        "must not set the field(s): {at}order[0].group[0].image reference currently not supported",
        id="an image beside an invalid object reference reports both",
    ),
    pytest.param(
        {"order": [{"group": [{"id": "a"}]}, {"group": [{"id": "b"}, {"id": "c"}, {}]}, {"group": [{}]}]},
        "expected exactly one, got neither: {at}order[1].group[2].id, {at}order[1].group[2].image, "
        "{at}order[1].group[2].name + kind, {at}order[2].group[0].id, {at}order[2].group[0].image, "
        "{at}order[2].group[0].name + kind",
        id="entries are named by group and position, like errors merged",
    ),
    pytest.param(
        {"order": [{"group": [{"id": "a"}, {"id": "a"}]}]}, None, id="duplicate ids are not checked"
    ),
    pytest.param({"order": []}, None, id="an empty order is valid"),
    pytest.param({"order": [{"group": []}, {}]}, None, id="empty groups are valid"),
    pytest.param(
        {"tag": "", "stack": {"kind": "FakeStack", "name": "s"}, "store": {"kind": "FakeStore", "name": "s"}},
        "invalid value: FakeStack: {at}stack.kind\ninvalid value: FakeStore: {at}store.kind\n"
        "must be one of ClusterStore\nmissing field(s): {at}tag",
        id="every problem of the spec is reported, sorted by message",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BUILDER_SPECS)
def test_builder_validation(spec: dict[str, Any], message: str | None) -> None:
    builder = a_builder(**spec)

    assert rendered(builder_admission.validate_builder(builder)) == (message and message.format(at="spec."))


@pytest.mark.parametrize(("spec", "message"), BUILDER_SPECS)
def test_cluster_builder_validation_names_the_builder_spec_without_spec(
    spec: dict[str, Any], message: str | None
) -> None:
    builder = a_cluster_builder(**{"order": BUILDER_ORDER, **spec})

    assert rendered(builder_admission.validate_cluster_builder(builder)) == (
        message and message.format(at="")
    )


BUILDER_ONLY = [
    pytest.param(
        {"serviceAccountName": ""},
        "missing field(s): spec.serviceAccountName",
        id="a builder without service account (not defaulted) is refused",
    ),
    pytest.param(
        {"serviceAccountName": "", "serviceAccount": "legacy"},
        None,
        id="the deprecated serviceAccount is a service account",
    ),
    pytest.param(
        {"serviceAccountName": "", "tag": ""},
        "missing field(s): spec.serviceAccountName, spec.tag",
        id="the service account is reported with the spec's problems",
    ),
    pytest.param(
        {"store": {"kind": "FakeStore", "name": "x"}},
        "invalid value: FakeStore: spec.store.kind\nmust be one of ClusterStore",
        id="§6 11: a Builder's store kind FakeStore",
    ),
    pytest.param(
        {"order": one_entry(kind="FakeBuildpack", name="x")},
        "invalid value: FakeBuildpack: spec.order[0].group[0].kind\nmust be one of Buildpack, ClusterBuildpack",
        id="§6 12: a group entry of kind FakeBuildpack",
    ),
    pytest.param(
        {"order": one_entry(image="registry.example/bp")},
        "must not set the field(s): spec.order[0].group[0].image reference currently not supported",
        id="§6 13: a group entry naming an image",
    ),
]


@pytest.mark.parametrize(("spec", "message"), BUILDER_ONLY)
def test_builder_only_rules(spec: dict[str, Any], message: str | None) -> None:
    assert rendered(builder_admission.validate_builder(a_builder(**spec))) == message


CLUSTER_BUILDER_ONLY = [
    pytest.param(
        {"serviceAccountRef": {"namespace": "some-sa-namespace"}},
        "missing field(s): spec.serviceAccountRef.name",
        id="missing service account name",
    ),
    pytest.param(
        {"serviceAccountRef": {"name": "some-sa-name"}},
        "missing field(s): spec.serviceAccountRef.namespace",
        id="missing service account namespace",
    ),
    pytest.param(
        {"serviceAccountRef": None, "tag": "", "stack": {}},
        "missing field(s): spec.serviceAccountRef.name",
        id="§6 15: without serviceAccountRef.name nothing else is reported",
    ),
    pytest.param(
        {"stack": {"name": "some-stack"}},
        "invalid value: : stack.kind",
        id="§6 10: a ClusterBuilder must spell its stack kind",
    ),
    pytest.param(
        {"store": {"name": "some-store"}},
        "invalid value: : store.kind\nmust be one of ClusterStore",
        id="a ClusterBuilder must spell its store kind",
    ),
    pytest.param({"serviceAccountName": ""}, None, id="a ClusterBuilder needs no serviceAccountName"),
]


@pytest.mark.parametrize(("spec", "message"), CLUSTER_BUILDER_ONLY)
def test_cluster_builder_only_rules(spec: dict[str, Any], message: str | None) -> None:
    builder = builder_admission.default_cluster_builder(a_cluster_builder(**spec))

    assert rendered(builder_admission.validate_cluster_builder(builder)) == message


def test_checklist_10_a_builder_without_stack_kind_is_defaulted_to_cluster_stack() -> None:
    builder = builder_admission.default_builder(a_builder(stack={"name": "some-stack"}))

    assert builder.spec.stack == meta.ObjectReference(kind="ClusterStack", name="some-stack")
    assert builder_admission.validate_builder(builder) is None


# Dispatch -----------------------------------------------------------------------------------------


def _doc(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _object(kind, "x", spec, namespace="team" if kind in ("Buildpack", "Builder") else None)


ADMITTED = [
    pytest.param(
        _doc("ClusterStore", {}), {}, "missing field(s): spec.sources", id="a ClusterStore is a store"
    ),
    pytest.param(
        _doc("ClusterStack", {"id": "s"}),
        {"id": "s"},
        "missing field(s): spec.buildImage.image, spec.runImage.image",
        id="a ClusterStack is a stack",
    ),
    pytest.param(
        _doc("ClusterLifecycle", {"image": "x"}), {"image": "x"}, None, id="a ClusterLifecycle is a lifecycle"
    ),
    pytest.param(
        _doc("Buildpack", {"image": "x"}),
        {"image": "x", "serviceAccountName": "default"},
        None,
        id="a Buildpack is defaulted",
    ),
    pytest.param(
        _doc("ClusterBuildpack", {}), {}, "missing field(s): spec.image", id="a ClusterBuildpack is checked"
    ),
    pytest.param(
        _doc("Builder", {"tag": "r/b", "stack": {"name": "s"}}),
        {
            "tag": "r/b",
            "stack": {"name": "s", "kind": "ClusterStack"},
            "store": {"kind": "ClusterStore"},
            "lifecycle": LIFECYCLE_DEFAULTS,
            "serviceAccountName": "default",
        },
        None,
        id="a Builder gets a Builder's defaults",
    ),
    pytest.param(
        _doc(
            "ClusterBuilder", {"tag": "r/b", "stack": {"name": "s"}, "serviceAccountRef": SERVICE_ACCOUNT_REF}
        ),
        {
            "tag": "r/b",
            "stack": {"name": "s"},
            "lifecycle": LIFECYCLE_DEFAULTS,
            "serviceAccountRef": SERVICE_ACCOUNT_REF,
        },
        "invalid value: : stack.kind",
        id="a ClusterBuilder gets a ClusterBuilder's defaults and rules",
    ),
]


@pytest.mark.parametrize(("doc", "spec", "message"), ADMITTED)
def test_admit_reads_defaults_and_validates_each_kind(
    doc: dict[str, Any], spec: dict[str, Any], message: str | None
) -> None:
    admitted = builder_admission.admit(doc)

    assert admitted.received.dump() == doc
    assert admitted.defaulted.dump() == {**doc, "spec": spec}
    assert rendered(admitted.error) == message


def test_admit_covers_every_kind_of_the_builder_half() -> None:
    assert set(builder_admission.RULES) == set(builder_admission.KINDS)
    assert len(builder_admission.KINDS) == 7


def test_admit_refuses_another_kind_and_an_unreadable_document() -> None:
    with pytest.raises(KeyError):
        builder_admission.admit({"apiVersion": "kpack.io/v1alpha2", "kind": "Image"})
    with pytest.raises(pydantic.ValidationError):
        builder_admission.admit(_doc("ClusterStore", {"sources": "oops"}))
