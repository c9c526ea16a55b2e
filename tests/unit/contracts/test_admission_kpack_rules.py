"""kpack's admission rules for services, CNB bindings, notary, cosign, the build environment and
creation time, a Build's builder ref and a blob source: word for word, each case naming the kpack
test it comes from (``image_validation_test.go``, ``build_validation_test.go``) or, where kpack
has none, the kpack function it reproduces."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import admission, builds, images

USER = admission.AdmissionContext(has_default_storage_class=True, is_expandable=True, user_request=True)
"""kpack's test context: a default expandable StorageClass, no user info (so a user's request)."""
CONTROLLER = admission.AdmissionContext(has_default_storage_class=True, is_expandable=True)
"""kpack's ``WithUserInfo(ctx, kpackControllerServiceAccountUsername)``; also Kiln's own check."""
DIGEST = "sha256:" + "e" * 64
NOTARY_DEPRECATED = (
    "use of this field has been deprecated in v1alpha2, please use v1alpha1 for notary image signing: "
)
BINDINGS_DEPRECATED = (
    "use of this field has been deprecated in v1alpha2, please use v1alpha1 for CNB bindings: "
)
SECRET_ENV = "secretKeyRef is not supported for build environment variables: "
SECRET_TOKEN = {
    "name": "SECRET_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": "victim-secret", "key": "token"}},
}
METADATA = {"name": "metadata"}
DUPLICATE_BINDINGS = [
    {"name": "apm", "metadataRef": METADATA},
    {"name": "not-apm", "metadataRef": METADATA, "secretRef": {"name": "secret"}},
    {"name": "apm", "metadataRef": METADATA},
]
DUPLICATE_SERVICES = [
    {"kind": "Secret", "name": "apm"},
    {"kind": "Secret", "name": "not-apm"},
    {"kind": "Secret", "name": "apm"},
]


def an_image(**spec: Any) -> images.Image:
    """kpack's image_validation_test.go fixture, with spec keys replaced."""
    base: dict[str, Any] = {
        "tag": "some/image",
        "builder": {"kind": "ClusterBuilder", "name": "builder-name"},
        "serviceAccountName": "some/service-account",
        "source": {"git": {"url": "http://github.com/repo", "revision": "master"}},
        "cache": {"volume": {"size": "5G", "storageClassName": "sc-name"}},
        "failedBuildHistoryLimit": 90,
        "successBuildHistoryLimit": 90,
        "imageTaggingStrategy": "None",
        "build": {"env": [{"name": "keyA", "value": "ValueA"}, {"name": "keyB", "value": "ValueB"}]},
    }
    doc = {"apiVersion": "kpack.io/v1alpha2", "kind": "Image", "metadata": {"name": "image-name"}}
    return images.Image.model_validate({**doc, "spec": {**base, **spec}})


def with_build(**build: Any) -> images.Image:
    """The fixture with ``spec.build`` keys replaced."""
    return an_image(build={"env": [{"name": "keyA", "value": "ValueA"}], **build})


def a_build(**spec: Any) -> builds.Build:
    """kpack's build_validation_test.go fixture (``build``), with spec keys replaced."""
    base: dict[str, Any] = {
        "tags": ["some/image"],
        "builder": {"image": f"builder/bionic-builder@{DIGEST}"},
        "serviceAccountName": "some/service-account",
        "source": {"git": {"url": "http://github.com/repo", "revision": "master"}},
    }
    return builds.Build.model_validate({"metadata": {"name": "build-name"}, "spec": {**base, **spec}})


def by_ref(**builder: Any) -> builds.Build:
    """kpack's ``buildUsingRef`` fixture."""
    return a_build(builder={"ref": {"name": "default", "kind": "ClusterBuilder"}, **builder})


def rendered(error: object) -> str | None:
    return None if error is None else str(error)


# Rules kpack checks on Images (under spec.build) and on Builds (under spec) ---------------------


SHARED = [
    pytest.param(
        {"services": [{"kind": "Secret"}]},
        USER,
        "missing field(s): {at}.services[0].name",
        id="validates service bindings have a name",
    ),
    pytest.param(
        {"services": [{"kind": "Secret", "name": "&"}]},
        USER,
        "invalid value: &: {at}.services[0].name",
        id="validates service bindings have a valid name",
    ),
    pytest.param(
        {"services": [{"name": "my-ref"}]},
        USER,
        "missing field(s): {at}.services[0].kind",
        id="validates service bindings have a kind",
    ),
    pytest.param(
        {"services": DUPLICATE_SERVICES},
        USER,
        'duplicate service name "apm": {at}.services[0].name, {at}.services[2].name',
        id="validates service bindings name uniqueness",
    ),
    pytest.param(
        {"env": [SECRET_TOKEN]},
        USER,
        SECRET_ENV + "{at}.env[0].valueFrom.secretKeyRef",
        id="disallows secretKeyRef in build env",
    ),
    pytest.param(
        {"cnbBindings": [{"metadataRef": METADATA}]},
        USER,
        BINDINGS_DEPRECATED + "{at}.cnbBindings",
        id="validates cnb bindings have not been created by a user",
    ),
    pytest.param(
        {"cnbBindings": [{"metadataRef": METADATA}]},
        CONTROLLER,
        "missing field(s): {at}.cnbBindings[0].name",
        id="cnb bindings by the kpack controller: validates cnb bindings have a name",
    ),
    pytest.param(
        {"cnbBindings": [{"name": "&", "metadataRef": METADATA}]},
        CONTROLLER,
        "invalid value: &: {at}.cnbBindings[0].name",
        id="cnb bindings by the kpack controller: validates cnb bindings have a valid name",
    ),
    pytest.param(
        {"cnbBindings": [{"name": "apm"}]},
        CONTROLLER,
        "missing field(s): {at}.cnbBindings[0].metadataRef",
        id="cnb bindings by the kpack controller: validates cnb bindings have metadata",
    ),
    pytest.param(
        {"cnbBindings": [{"name": "apm", "metadataRef": {}}]},
        CONTROLLER,
        "missing field(s): {at}.cnbBindings[0].metadataRef.name",
        id="cnb bindings by the kpack controller: validates cnb bindings have non-empty metadata",
    ),
    pytest.param(
        {"cnbBindings": [{"name": "apm", "metadataRef": METADATA, "secretRef": {}}]},
        CONTROLLER,
        "missing field(s): {at}.cnbBindings[0].secretRef.name",
        id="cnb bindings by the kpack controller: validates cnb bindings have non-empty secrets",
    ),
    pytest.param(
        {"cnbBindings": DUPLICATE_BINDINGS},
        CONTROLLER,
        'duplicate binding name "apm": {at}.cnbBindings[0].name, {at}.cnbBindings[2].name',
        id="cnb bindings by the kpack controller: validates cnb bindings name uniqueness",
    ),
    pytest.param(
        {"cnbBindings": [{"name": "apm", "metadataRef": METADATA}]},
        CONTROLLER,
        None,
        id="cnb bindings by the kpack controller: a complete binding is valid",
    ),
]
"""kpack's build_validation_test.go and image_validation_test.go cases (the same cases in both)."""
NOTARY_CASES = [
    pytest.param(
        {"v1": {"url": "", "secretRef": {"name": "some-secret-name"}}},
        USER,
        NOTARY_DEPRECATED + "spec.notary",
        id="validates notary config has not been set by user",
    ),
    pytest.param(
        {"v1": {"url": "", "secretRef": {"name": "some-secret-name"}}},
        CONTROLLER,
        "missing field(s): spec.notary.v1.url",
        id="notary created by kpack controller: handles an empty notary url",
    ),
    pytest.param(
        {"v1": {"url": "some-url", "secretRef": {"name": ""}}},
        CONTROLLER,
        "missing field(s): spec.notary.v1.secretRef.name",
        id="notary created by kpack controller: handles an empty notary secret ref",
    ),
    pytest.param(
        {"v1": {"url": "some-url", "secretRef": {"name": "s"}}},
        CONTROLLER,
        None,
        id="notary created by kpack controller: a complete notary config is valid",
    ),
    pytest.param(
        {},
        CONTROLLER,
        None,
        id="notary created by kpack controller: a config without v1 has nothing to check",
    ),
    pytest.param(
        {}, USER, NOTARY_DEPRECATED + "spec.notary", id="an empty notary object counts as set by the user"
    ),
]


def validated(
    kind: str, ctx: admission.AdmissionContext, *, build: dict[str, Any] | None = None, **spec: Any
) -> str | None:
    """The errors of kpack's Image fixture with ``build`` settings, or of its Build fixture with
    them at the top of its spec; ``spec`` keys are set on either."""
    if kind == "Image":
        return rendered(admission.validate_image(an_image(**spec, build=build or {}), ctx=ctx))
    return rendered(admission.validate_build(a_build(**spec, **(build or {})), ctx=ctx))


@pytest.mark.parametrize(("settings", "ctx", "error"), SHARED)
@pytest.mark.parametrize(("kind", "at"), [("Image", "spec.build"), ("Build", "spec")])
def test_rules_kpack_checks_on_images_and_builds(
    kind: str, at: str, settings: dict[str, Any], ctx: admission.AdmissionContext, error: str | None
) -> None:
    assert validated(kind, ctx, build=settings) == (None if error is None else error.format(at=at))


@pytest.mark.parametrize(("notary", "ctx", "error"), NOTARY_CASES)
@pytest.mark.parametrize("kind", ["Image", "Build"])
def test_notary_rules_on_images_and_builds(
    kind: str, notary: dict[str, Any], ctx: admission.AdmissionContext, error: str | None
) -> None:
    assert validated(kind, ctx, notary=notary) == error


# Image only -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (an_image(), None),
        (with_build(services=[{"kind": "Secret"}]), "missing field(s): spec.build.services[0].name"),
        (with_build(creationTime="now"), None),
        (with_build(creationTime="1566172801"), None),
        (
            with_build(creationTime="invalidTimestamp"),
            "invalid value: invalidTimestamp: spec.build.creationTime",
        ),
        (an_image(cosign=None), None),
        (an_image(cosign={"annotations": None}), None),
        (an_image(cosign={"annotations": []}), None),
        (an_image(cosign={"annotations": [{"name": "1", "value": "1"}]}), None),
        (
            an_image(cosign={"annotations": [{"value": "1"}, {"name": "1"}]}),
            "missing field(s): spec.cosign.annotations[0].name, spec.cosign.annotations[1].value",
        ),
    ],
    ids=[
        "returns nil on no validation error",
        "validates service bindings",
        "creation time: pass if it sets to 'now'",
        "creation time: pass if it sets to a valid timestamp",
        "creation time: fails if the creation time is not 'now' or a valid timestamp",
        "cosign: handles nil cosign",
        "cosign: handles nil annotations",
        "cosign: handles empty annotations",
        "cosign: handles annotations",
        "cosign: errors on missing annotation fields",
    ],
)
def test_image_rules_from_kpacks_image_validation_test(image: images.Image, error: str | None) -> None:
    assert rendered(admission.validate_image(image, ctx=USER)) == error


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (with_build(creationTime="+1566172801"), None),
        (with_build(creationTime="-1"), None),
        (with_build(creationTime=""), None),
        (with_build(creationTime="1_566_172_801"), "invalid value: 1_566_172_801: spec.build.creationTime"),
        (with_build(creationTime=" 1566172801"), "invalid value:  1566172801: spec.build.creationTime"),
        (
            with_build(creationTime="9223372036854775808"),
            "invalid value: 9223372036854775808: spec.build.creationTime",
        ),
        (
            with_build(nodeSelector={"kubernetes.io/os": "linux"}, creationTime="x", env=[SECRET_TOKEN]),
            'invalid key name "kubernetes.io/os": spec.build.nodeSelector\nos is determined automatically',
        ),
        (with_build(creationTime="x", env=[SECRET_TOKEN]), "invalid value: x: spec.build.creationTime"),
        (
            with_build(env=[{"name": "A", "value": "1"}, SECRET_TOKEN, SECRET_TOKEN]),
            SECRET_ENV + "spec.build.env[1].valueFrom.secretKeyRef, spec.build.env[2].valueFrom.secretKeyRef",
        ),
        (with_build(env=[{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]), None),
        (with_build(env=[{"name": "A", "valueFrom": {"secretKeyRef": None}}]), None),
        (
            with_build(env=[{"name": "A", "ValueFrom": {"SecretKeyRef": {"name": "s", "key": "k"}}}]),
            SECRET_ENV + "spec.build.env[0].valueFrom.secretKeyRef",
        ),
        (with_build(services=[{"KIND": "Secret", "Name": "s"}]), None),
        (
            with_build(services=[{"kind": "Secret", "name": 5}]),
            "cannot decode incoming new object: expected a string, got a number: spec.build.services[0].name",
        ),
        (
            with_build(services=[{}, {}]),
            'duplicate service name "": spec.build.services[0].name, spec.build.services[1].name\n'
            "missing field(s): spec.build.services[0].kind, spec.build.services[0].name, "
            "spec.build.services[1].kind, spec.build.services[1].name",
        ),
        (with_build(cnbBindings=[]), None),
        (
            an_image(cosign={"annotations": [{"name": "", "value": ""}]}),
            "missing field(s): spec.cosign.annotations[0].name, spec.cosign.annotations[0].value",
        ),
    ],
    ids=[
        "a creation time is Go's ParseInt: a sign is allowed",
        "a negative timestamp parses",
        "an empty creation time is not checked",
        "underscores do not parse in base 10",
        "a leading space does not parse",
        "a timestamp beyond int64 does not parse",
        "an os node selector is reported alone (ImageBuild.Validate returns first)",
        "an invalid creation time is reported alone, before services, bindings and env",
        "every env var reading a secret is reported at its index",
        "other valueFrom sources are allowed",
        "a null secretKeyRef is no secretKeyRef, as in Go",
        "Go matches field names case-insensitively, so the rule cannot be dodged by case",
        "service fields match case-insensitively too",
        "a service Go cannot read is reported naming the field",
        "services without names are duplicates of each other, as kpack reports them",
        "an empty binding list is no bindings",
        "an annotation with neither name nor value misses both",
    ],
)
def test_image_rules_edge_cases_as_kpack_decides_them(image: images.Image, error: str | None) -> None:
    assert rendered(admission.validate_image(image, ctx=USER)) == error


def test_kilns_own_check_of_a_stored_image_allows_bindings_and_notary_but_not_a_secret_env() -> None:
    """The image-reconciler's context (no user): what a v1alpha1 request stored is valid."""
    stored = with_build(cnbBindings=[{"name": "apm", "metadataRef": METADATA}])
    reconciler = admission.AdmissionContext(has_default_storage_class=True)
    assert admission.validate_image(stored, ctx=reconciler) is None
    assert rendered(admission.validate_image(with_build(env=[SECRET_TOKEN]), ctx=reconciler)) == (
        SECRET_ENV + "spec.build.env[0].valueFrom.secretKeyRef"
    )


@pytest.mark.parametrize(
    ("username", "user"),
    [
        (None, True),
        ("system:serviceaccount:kpack:controller", False),
        ("system:serviceaccount:kiln:kiln", False),
        ("system:serviceaccount:team:kpack-controller", True),
        ("alice", True),
    ],
    ids=[
        "no user info is a user (resourceCreatedByKpackController(nil) is false)",
        "kpack's controller service account is the controller",
        "Kiln's service account is the controller",
        "another service account is a user",
        "a person is a user",
    ],
)
def test_who_counts_as_a_user(username: str | None, user: bool) -> None:
    assert admission.requested_by_user(username) is user


# Build only -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (a_build(), None),
        (a_build(builder={"image": ""}), "missing field(s): spec.builder.image, spec.builder.ref"),
        (
            a_build(builder={"image": "foo.ioo/builder-but-not-a-builder@sha256:alksdifhjalsouidfh"}),
            "invalid value: foo.ioo/builder-but-not-a-builder@sha256:alksdifhjalsouidfh: spec.builder.image",
        ),
        (by_ref(), None),
        (
            by_ref(image=f"builder/bionic-builder@{DIGEST}"),
            "expected exactly one, got both: spec.builder.image, spec.builder.ref",
        ),
        (
            a_build(
                builder={"ref": {"kind": "Builder", "name": "namespaced-builder", "namespace": "default"}}
            ),
            None,
        ),
        (
            a_build(tags=[], builder={"image": ""}),
            "missing field(s): spec.builder.image, spec.builder.ref, spec.tags",
        ),
    ],
    ids=[
        "returns nil on no validation error",
        "missing builder name",
        "invalid builder name",
        "valid cluster builder by ref",
        "both image and builder by ref present",
        "validate namespaced builder by ref",
        "combining errors",
    ],
)
def test_build_rules_from_kpacks_build_validation_test(build: builds.Build, error: str | None) -> None:
    assert rendered(admission.validate_build(build, ctx=USER)) == error


@pytest.mark.parametrize(
    ("builder", "error"),
    [
        ({"ref": {}}, "missing field(s): spec.builder.ref.kind, spec.builder.ref.name"),
        ({"ref": {"name": "b"}}, "missing field(s): spec.builder.ref.kind"),
        ({"ref": {"kind": "AnyKind", "name": "b"}}, None),
        ({"ref": None}, "missing field(s): spec.builder.image, spec.builder.ref"),
        (
            {"image": "NotValid@@!", "ref": {}},
            "expected exactly one, got both: spec.builder.image, spec.builder.ref\n"
            "invalid value: NotValid@@!: spec.builder.image\n"
            "missing field(s): spec.builder.ref.kind, spec.builder.ref.name",
        ),
    ],
    ids=[
        "an empty ref misses its name and kind (validateBuilderRef)",
        "a ref needs a kind",
        "any kind is accepted in a Build's ref, as kpack only checks it is set",
        "a null ref is no ref",
        "every builder rule reports at once",
    ],
)
def test_build_builder_ref_rules(builder: dict[str, Any], error: str | None) -> None:
    assert rendered(admission.validate_build(a_build(builder=builder), ctx=USER)) == error


def test_a_builds_ref_is_kept_in_its_wire_form() -> None:
    ref = {"kind": "Builder", "name": "namespaced-builder", "namespace": "default"}
    assert by_ref().dump()["spec"]["builder"] == {"ref": {"name": "default", "kind": "ClusterBuilder"}}
    assert a_build(builder={"ref": ref}).spec.builder.ref == builds.BuildBuilderSpec(ref=ref).ref


# Blob source (core/v1alpha1 source_validation.go Blob.Validate; kpack has no test of it) ----------


BLOB_AUTH = "must be one of '', 'helper', or 'secret'"


@pytest.mark.parametrize(
    ("blob", "error"),
    [
        ({"url": "https://b/a.tgz"}, None),
        ({"url": "https://b/a.tgz", "auth": ""}, None),
        ({"url": "https://b/a.tgz", "auth": "helper"}, None),
        ({"url": "https://b/a.tgz", "auth": "secret"}, None),
        ({"url": "https://b/a.tgz", "auth": "basic"}, f"invalid value: basic: {{at}}.auth\n{BLOB_AUTH}"),
        (
            {"url": "", "auth": "Secret", "stripComponents": -1},
            f"invalid value: Secret: {{at}}.auth\n{BLOB_AUTH}",
        ),
        ({"url": "https://b/a.tgz", "stripComponents": 0}, None),
        ({"url": "https://b/a.tgz", "stripComponents": 2}, None),
        (
            {"url": "https://b/a.tgz", "stripComponents": -1},
            "expected positive integer got -1: {at}.stripComponents",
        ),
        (
            {"url": "", "stripComponents": -3},
            "expected positive integer got -3: {at}.stripComponents\nmissing field(s): {at}.url",
        ),
    ],
    ids=[
        "a blob with a url is valid",
        "an empty auth is valid",
        "auth helper is valid",
        "auth secret is valid",
        "any other auth is an invalid value listing the three",
        "an invalid auth is reported alone (Blob.Validate returns first), and auth is case-sensitive",
        "stripComponents 0 is valid",
        "a positive stripComponents is valid",
        "a negative stripComponents is rejected (validate.StripComponents)",
        "a negative stripComponents and a missing url are both reported",
    ],
)
@pytest.mark.parametrize("kind", ["Image", "Build"])
def test_blob_source_rules_for_images_and_builds(kind: str, blob: dict[str, Any], error: str | None) -> None:
    source = {"blob": blob}
    if kind == "Image":
        result = admission.validate_image(an_image(source=source), ctx=USER)
    else:
        result = admission.validate_build(a_build(source=source), ctx=USER)
    assert rendered(result) == (None if error is None else error.format(at="spec.source.blob"))
