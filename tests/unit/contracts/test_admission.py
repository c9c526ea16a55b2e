"""Admission truth tables: kpack's defaults and messages word for word (spec §2, §10 items 1 to 16)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import admission, builds, images

DEFAULT_SC = admission.AdmissionContext(has_default_storage_class=True)
EXPANDABLE = admission.AdmissionContext(has_default_storage_class=True, is_expandable=True)
NOT_EXPANDABLE = admission.AdmissionContext(has_default_storage_class=True, is_expandable=False)
NO_SC = admission.AdmissionContext()
GIT = {"git": {"url": "http://github.com/repo", "revision": "master"}}
DIGEST = "sha256:" + "a" * 64
REMOVE = object()
NEEDS_STORAGE_CLASS = (
    "spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName"
    " or a default StorageClass: "
)
LONG_NAME = "this-image-name-that-is-too-long-some-sha-that-is-long-82cb521d636b282340378d80a6307a08e3d4a4c4"
LABEL_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character "
    "(e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def an_image(name: str = "image-name", **spec: Any) -> images.Image:
    """kpack's test fixture Image, with top-level spec keys replaced (``REMOVE`` drops one)."""
    base: dict[str, Any] = {
        "tag": "some/image",
        "builder": {"kind": "ClusterBuilder", "name": "builder-name"},
        "serviceAccountName": "some/service-account",
        "source": GIT,
        "cache": {"volume": {"size": "5G"}},
        "failedBuildHistoryLimit": 90,
        "successBuildHistoryLimit": 90,
        "imageTaggingStrategy": "None",
    }
    merged = {k: v for k, v in {**base, **spec}.items() if v is not REMOVE}
    doc = {"apiVersion": "kpack.io/v1alpha2", "kind": "Image", "metadata": {"name": name}, "spec": merged}
    return images.Image.model_validate(doc)


def a_build(**spec: Any) -> builds.Build:
    base: dict[str, Any] = {
        "tags": ["some/image"],
        "builder": {"image": f"builder/bionic-builder@{DIGEST}"},
        "serviceAccountName": "some/service-account",
        "source": GIT,
    }
    merged = {k: v for k, v in {**base, **spec}.items() if v is not REMOVE}
    return builds.Build.model_validate({"metadata": {"name": "build-name"}, "spec": merged})


def rendered(error: object) -> str | None:
    return None if error is None else str(error)


# Defaulting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "ctx", "defaulted"),
    [
        ({}, DEFAULT_SC, {"cache": {"volume": {"size": "2G"}}}),
        ({}, NO_SC, {}),
        ({}, None, {}),
        ({"cache": {"registry": {"tag": "test"}}}, None, {"cache": {"registry": {"tag": "test"}}}),
        ({"cache": {"registry": {"tag": "test"}}}, DEFAULT_SC, {"cache": {"registry": {"tag": "test"}}}),
        (
            {"cache": {"volume": {"size": "5G", "storageClassName": "sc-name"}}},
            DEFAULT_SC,
            {"cache": {"volume": {"size": "5G", "storageClassName": "sc-name"}}},
        ),
        ({"cache": {}}, DEFAULT_SC, {"cache": {}}),
        ({"cache": {"volume": {}}}, DEFAULT_SC, {"cache": {"volume": {}}}),
    ],
    ids=[
        "a nil cache with a default storage class gets a 2G volume",
        "a nil cache without a default storage class stays nil",
        "the controller's own defaulting (no context) never adds a cache",
        "a registry cache gets no volume without a context (item 3)",
        "a registry cache gets no volume even with a default storage class",
        "a volume with size and storage class is left unchanged",
        "an empty cache object is left untouched",
        "a volume without size is left untouched and stays no cache",
    ],
)
def test_image_cache_defaults(
    spec: dict[str, Any], ctx: admission.AdmissionContext | None, defaulted: dict[str, Any]
) -> None:
    image = images.Image.model_validate({"spec": spec})
    assert admission.default_image(image, ctx).dump()["spec"] == {
        "serviceAccountName": "default",
        "failedBuildHistoryLimit": 10,
        "successBuildHistoryLimit": 10,
        "imageTaggingStrategy": "BuildNumber",
        **defaulted,
    }


def test_defaulting_keeps_what_is_set() -> None:
    image = an_image()
    assert admission.default_image(image, DEFAULT_SC) is image


def test_defaulting_an_empty_service_account_and_strategy() -> None:
    image = an_image(serviceAccountName="", imageTaggingStrategy="")
    spec = admission.default_image(image, DEFAULT_SC).spec
    assert (spec.service_account_name, spec.image_tagging_strategy) == ("default", "BuildNumber")


@pytest.mark.parametrize(
    ("service_account", "defaulted"),
    [(REMOVE, "default"), ("", "default"), ("builder-sa", "builder-sa")],
    ids=["a build without service account gets default", "an empty one gets default", "a set one is kept"],
)
def test_build_defaults(service_account: object, defaulted: str) -> None:
    build = admission.default_build(a_build(serviceAccountName=service_account))
    assert build.dump()["spec"]["serviceAccountName"] == defaulted


# Image validation on create ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "ctx", "error"),
    [
        (an_image(), DEFAULT_SC, None),
        (an_image(builder={"kind": "Builder", "name": "b"}), DEFAULT_SC, None),
        (an_image(cache={"volume": {"size": "5G", "storageClassName": "sc-name"}}), DEFAULT_SC, None),
        (
            an_image(),
            NO_SC,
            NEEDS_STORAGE_CLASS,
        ),
        (
            an_image(cache={"volume": {}}),
            NO_SC,
            NEEDS_STORAGE_CLASS,
        ),
        (an_image(cache={"volume": {}}), DEFAULT_SC, None),
        (an_image(cache={"volume": {"size": "5G", "storageClassName": "sc-name"}}), NO_SC, None),
        (an_image(cache=REMOVE), NO_SC, None),
        (
            an_image(cache={"volume": {"size": "5G"}, "registry": {"tag": "some/cache"}}),
            DEFAULT_SC,
            "only one type of cache can be specified: spec.cache.registry, spec.cache.volume",
        ),
        (an_image(cache={"registry": {"tag": ""}}), NO_SC, None),
        (an_image(cache={"registry": {}}), NO_SC, None),
        (an_image(cache={"registry": {"tag": "some/image-cache"}}), NO_SC, None),
        (
            an_image(cache={"volume": {"size": "lots"}}),
            DEFAULT_SC,
            "invalid value: lots: spec.cache.volume.size",
        ),
    ],
    ids=[
        "the fixture image is valid",
        "a Builder kind is valid too",
        "a volume with size and storage class is valid with a default storage class",
        "a volume without storage class and no default storage class is rejected without a path",
        "that rule fires even when the volume has no size",
        "a volume without size is accepted with a default storage class",
        "a volume with its own storage class needs no default storage class",
        "a nil cache is valid",
        "volume and registry cache together are rejected",
        "an empty registry tag means no registry cache and is valid",
        "a registry object without tag is valid",
        "a registry cache with its own tag is valid",
        "a volume size that is no quantity is rejected (Kiln)",
    ],
)
def test_image_cache_rules_on_create(
    image: images.Image, ctx: admission.AdmissionContext, error: str | None
) -> None:
    assert rendered(admission.validate_image(image, ctx=ctx)) == error


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (an_image(tag=""), "missing field(s): spec.tag"),
        (an_image(tag="ftp//invalid/tag@@"), "invalid value: ftp//invalid/tag@@: spec.tag"),
        (an_image(tag=f"some/app@{DIGEST}"), f"invalid value: some/app@{DIGEST}: spec.tag"),
        (
            an_image(additionalTags=["valid/tag", f"invalid/tag@{DIGEST}", "also/invalid@@"]),
            f"invalid value: also/invalid@@: spec.additionalTags[2]\n"
            f"invalid value: invalid/tag@{DIGEST}: spec.additionalTags[1]",
        ),
        (
            an_image(additionalTags=["valid/tag", "gcr.io/valid/tag"]),
            "all additionalTags must have the same registry as tag: spec.additionalTags\n"
            "expected registry: index.docker.io, got: gcr.io",
        ),
        (an_image(additionalTags=["docker.io/some/other:tag"]), None),
        (an_image(tag="bad@@", additionalTags=["gcr.io/valid/tag"]), "invalid value: bad@@: spec.tag"),
        (an_image(builder={"kind": "ClusterBuilder"}), "missing field(s): spec.builder.name"),
        (
            an_image(builder={"name": "b", "kind": "FakeBuilder"}),
            "invalid value: FakeBuilder: spec.builder.kind",
        ),
        (
            an_image(source={}),
            "expected exactly one, got neither: spec.source.blob, spec.source.git, spec.source.registry",
        ),
        (
            an_image(source={**GIT, "blob": {"url": "http://blob.com/url"}}),
            "expected exactly one, got both: spec.source.blob, spec.source.git",
        ),
        (
            an_image(source={**GIT, "blob": {"url": "u"}, "registry": {"image": "registry.com/image"}}),
            "expected exactly one, got both: spec.source.blob, spec.source.git, spec.source.registry",
        ),
        (an_image(source={"git": {"revision": "master"}}), "missing field(s): spec.source.git.url"),
        (an_image(source={"git": {}}), "missing field(s): spec.source.git.revision, spec.source.git.url"),
        (an_image(source={"blob": {"url": ""}}), "missing field(s): spec.source.blob.url"),
        (an_image(source={"blob": {"url": "https://b/a.tgz"}}), None),
        (an_image(source={"registry": {"image": ""}}), "missing field(s): spec.source.registry.image"),
        (
            an_image(source={"registry": {"image": "NotValid@@!"}}),
            "invalid value: NotValid@@!: spec.source.registry.image",
        ),
        (an_image(source={"registry": {"image": f"reg.io/src@{DIGEST}"}}), None),
        (
            an_image(failedBuildHistoryLimit=0),
            "build history limit must be greater than 0: spec.failedBuildHistoryLimit",
        ),
        (
            an_image(successBuildHistoryLimit=0),
            "build history limit must be greater than 0: spec.successBuildHistoryLimit",
        ),
        (
            an_image(failedBuildHistoryLimit=0, successBuildHistoryLimit=0),
            "build history limit must be greater than 0: spec.failedBuildHistoryLimit",
        ),
        (
            an_image(build={"nodeSelector": {"kubernetes.io/os": "linux"}}),
            'invalid key name "kubernetes.io/os": spec.build.nodeSelector\nos is determined automatically',
        ),
        (an_image(build={"nodeSelector": {"disk": "ssd"}, "env": [{"name": "A", "value": "1"}]}), None),
        (
            an_image(name=LONG_NAME),
            f"invalid image name: {LONG_NAME}, name must be a valid label: metadata.name\n"
            "must be no more than 63 characters",
        ),
        (
            an_image(name="@NOT!!!VALID!!!"),
            "invalid image name: @NOT!!!VALID!!!, name must be a valid label: metadata.name\n" + LABEL_RULE,
        ),
        (
            an_image(name="-" * 64),
            "invalid image name: " + "-" * 64 + ", name must be a valid label: metadata.name\n"
            "must be no more than 63 characters," + LABEL_RULE,
        ),
        (
            an_image(tag="", builder={"name": "b", "kind": "FakeBuilder"}),
            "invalid value: FakeBuilder: spec.builder.kind\nmissing field(s): spec.tag",
        ),
    ],
    ids=[
        "a missing tag is reported",
        "an unparsable tag is an invalid value",
        "a digest is not a tag",
        "each invalid additional tag is reported at its index",
        "additional tags in another registry are rejected with both registries",
        "docker.io and index.docker.io are the same registry",
        "the registry check is skipped when the tag itself is invalid",
        "a builder without name is reported",
        "a builder kind other than Builder or ClusterBuilder is rejected",
        "an image without source is rejected naming all three",
        "git and blob together are rejected",
        "all three sources together are rejected",
        "a git source needs a url",
        "a git source needs url and revision, merged into one error",
        "a blob source needs a url",
        "a blob source with a url is valid",
        "a registry source needs an image",
        "a registry source needs a valid image reference",
        "a registry source may be a digest",
        "a failed history limit below 1 is rejected",
        "a success history limit below 1 is rejected",
        "only the first history limit error is reported",
        "the build node selector must not choose the os",
        "other node selectors and build settings are fine",
        "an image name longer than 63 characters is not a label value",
        "an image name with forbidden characters is not a label value",
        "both label problems are joined with a comma",
        "errors accumulate and print sorted by message",
    ],
)
def test_image_rules_on_create(image: images.Image, error: str | None) -> None:
    assert rendered(admission.validate_image(image, ctx=DEFAULT_SC)) == error


# The Kiln registry cache tag rule ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (an_image(cache={"registry": {"tag": "registry.example.com/team/app-cache"}}), None),
        (
            an_image(cache={"registry": {"tag": "Not A Tag"}}),
            "invalid value: Not A Tag: spec.cache.registry.tag\n"
            "must be an image tag such as registry.example.com/team/app-cache (no digest)",
        ),
        (
            an_image(cache={"registry": {"tag": f"some/image-cache@{DIGEST}"}}),
            f"invalid value: some/image-cache@{DIGEST}: spec.cache.registry.tag\n"
            "must be an image tag such as registry.example.com/team/app-cache (no digest)",
        ),
        (
            an_image(cache={"registry": {"tag": "index.docker.io/some/image:latest"}}),
            "the registry cache would overwrite the app image: spec.cache.registry.tag, spec.tag\n"
            "spec.cache.registry.tag must differ from spec.tag; use a separate tag such as some/image-cache",
        ),
        (
            an_image(
                additionalTags=["some/image:v2"], cache={"registry": {"tag": "docker.io/some/image:v2"}}
            ),
            "the registry cache would overwrite the app image: "
            "spec.additionalTags[0], spec.cache.registry.tag\n"
            "spec.cache.registry.tag must differ from spec.additionalTags[0]; "
            "use a separate tag such as some/image-cache",
        ),
        (an_image(tag="bad@@", cache={"registry": {"tag": "bad"}}), "invalid value: bad@@: spec.tag"),
        (
            an_image(additionalTags=["bad@@"], cache={"registry": {"tag": "bad"}}),
            "invalid value: bad@@: spec.additionalTags[0]",
        ),
    ],
    ids=[
        "a separate cache tag is valid",
        "a cache tag that is no image reference is rejected with an example",
        "a cache tag with a digest is rejected",
        "a cache tag naming the image's own tag (after normalisation) is rejected with a suggestion",
        "a cache tag naming an additional tag is rejected",
        "an invalid image tag is reported by its own rule and not compared",
        "an invalid additional tag is reported by its own rule and not compared",
    ],
)
def test_kiln_registry_cache_tag_rule(image: images.Image, error: str | None) -> None:
    assert rendered(admission.validate_image(image, ctx=NO_SC)) == error


# Image validation on update ---------------------------------------------------------------------


def volume(size: str | None = None, storage_class: str | None = None) -> dict[str, Any]:
    v: dict[str, Any] = {}
    if size is not None:
        v["size"] = size
    if storage_class is not None:
        v["storageClassName"] = storage_class
    return {"volume": v}


@pytest.mark.parametrize(
    ("old", "new", "ctx", "error"),
    [
        (
            volume("5G"),
            volume("4G"),
            EXPANDABLE,
            "Field cannot be decreased: spec.cache.volume.size\ncurrent: 5G, requested: 4G",
        ),
        (
            volume("5G"),
            volume("6G"),
            NOT_EXPANDABLE,
            "Field cannot be changed, default storage class is not expandable: spec.cache.volume.size\n"
            "current: 5G, requested: 6G",
        ),
        (
            volume("5G"),
            volume("4G"),
            NOT_EXPANDABLE,
            "Field cannot be changed, default storage class is not expandable: spec.cache.volume.size\n"
            "current: 5G, requested: 4G",
        ),
        (volume("5G"), volume("6G"), EXPANDABLE, None),
        (volume("5G"), volume("6G"), DEFAULT_SC, None),
        (volume("5G"), volume("5000M"), NOT_EXPANDABLE, None),
        (
            volume("2Gi"),
            volume("2G"),
            EXPANDABLE,
            "Field cannot be decreased: spec.cache.volume.size\ncurrent: 2Gi, requested: 2G",
        ),
        (
            volume("1.5Gi"),
            volume("1500M"),
            EXPANDABLE,
            "Field cannot be decreased: spec.cache.volume.size\ncurrent: 1536Mi, requested: 1500M",
        ),
        (
            volume("5G", "sc-name"),
            volume("5G", "sc-different"),
            EXPANDABLE,
            "Immutable field changed: spec.cache.volume.storageClassName\ngot: sc-different, want: sc-name",
        ),
        (
            volume("5G", "sc-name"),
            volume("4G", "sc-different"),
            EXPANDABLE,
            "Field cannot be decreased: spec.cache.volume.size\ncurrent: 5G, requested: 4G",
        ),
        (volume(None, "sc-name"), volume("5G", "sc-different"), EXPANDABLE, None),
        (volume("5G", "sc-name"), volume(None, "sc-different"), EXPANDABLE, None),
        (REMOVE, volume("5G"), EXPANDABLE, None),
        (volume("5G"), REMOVE, EXPANDABLE, None),
        (volume("5G"), {"registry": {"tag": "some/cache"}}, EXPANDABLE, None),
        (
            volume("5G"),
            volume("4G"),
            NO_SC,
            NEEDS_STORAGE_CLASS,
        ),
        (volume("lots"), volume("4G"), EXPANDABLE, None),
        (
            {"volume": {"size": "5G"}, "registry": {"tag": "a/b"}},
            {"volume": {"size": "5G"}, "registry": {"tag": "a/b"}},
            EXPANDABLE,
            "only one type of cache can be specified: spec.cache.registry, spec.cache.volume",
        ),
    ],
    ids=[
        "a volume size decrease is rejected with both sizes",
        "a size change is rejected when the default class is explicitly not expandable",
        "not-expandable wins over decrease",
        "a size increase is fine when expandable",
        "a size increase is fine when expandability is unknown",
        "sizes compare numerically, so 5G to 5000M is no change",
        "2G is less than 2Gi",
        "sizes print in Kubernetes' canonical form",
        "the storage class of a volume cache is immutable",
        "size rules come first and only the first hit is reported",
        "no storage class rule when the old volume had no size",
        "no storage class rule when the new volume has no size",
        "adding a volume cache is allowed",
        "removing the volume cache is allowed",
        "switching volume to registry is allowed",
        "the missing storage class rule returns before the update rules",
        "an old size that is no quantity is not compared",
        "both cache kinds are rejected on update too",
    ],
)
def test_image_cache_rules_on_update(
    old: object, new: object, ctx: admission.AdmissionContext, error: str | None
) -> None:
    result = admission.validate_image(an_image(cache=new), old=an_image(cache=old), ctx=ctx)
    assert rendered(result) == error


@pytest.mark.parametrize(
    ("old_tag", "new_tag", "error"),
    [
        (
            "some/image",
            "something/different",
            "Immutable field changed: spec.tag\ngot: something/different, want: some/image",
        ),
        ("some/image", "some/image", None),
        ("bad@@", "bad@@", None),
    ],
    ids=[
        "the tag cannot change",
        "an unchanged tag is fine",
        "on update the tag is only checked for change, as kpack does",
    ],
)
def test_tag_on_update(old_tag: str, new_tag: str, error: str | None) -> None:
    result = admission.validate_image(an_image(tag=new_tag), old=an_image(tag=old_tag), ctx=DEFAULT_SC)
    assert rendered(result) == error


# Build validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (a_build(), None),
        (a_build(tags=[]), "missing field(s): spec.tags"),
        (a_build(tags=REMOVE), "missing field(s): spec.tags"),
        (
            a_build(tags=["valid/tag", f"invalid/tag@{DIGEST}", "also/invalid@@"]),
            f"invalid value: also/invalid@@: spec.tags[2]\ninvalid value: invalid/tag@{DIGEST}: spec.tags[1]",
        ),
        (
            a_build(cache={"volume": {"persistentVolumeClaimName": "pvc"}, "registry": {"tag": "test"}}),
            "only one type of cache can be specified: spec.cache.registry, spec.cache.volume",
        ),
        (a_build(cache={"registry": {"tag": "anything @@ goes"}}), None),
        (a_build(builder={"image": ""}), "missing field(s): spec.builder.image, spec.builder.ref"),
        (
            a_build(builder={"image": "foo.ioo/builder-but-not-a-builder@sha256:alksdifhjalsouidfh"}),
            "invalid value: foo.ioo/builder-but-not-a-builder@sha256:alksdifhjalsouidfh: spec.builder.image",
        ),
        (
            a_build(source={}),
            "expected exactly one, got neither: spec.source.blob, spec.source.git, spec.source.registry",
        ),
        (a_build(lastBuild={"image": "invalid@@"}), "invalid value: invalid@@: spec.lastBuild.image"),
        (a_build(lastBuild={"image": "", "cache": {"image": "invalid@@"}}), None),
        (a_build(lastBuild={"image": f"some/image@{DIGEST}", "cache": {"image": "??"}}), None),
        (
            a_build(nodeSelector={"kubernetes.io/os": "linux"}),
            'invalid key name "kubernetes.io/os": spec.nodeSelector\nos is determined automatically',
        ),
        (
            a_build(tags=[], builder={"image": ""}),
            "missing field(s): spec.builder.image, spec.builder.ref, spec.tags",
        ),
    ],
    ids=[
        "the fixture build is valid",
        "a build needs tags",
        "a build without the tags key needs tags",
        "each invalid tag is reported at its index",
        "volume and registry cache together are rejected",
        "a registry cache tag is never validated on a build",
        "a build needs a builder image or ref, naming both (kpack: missing builder name)",
        "the builder image must be a reference",
        "a build needs a source",
        "an invalid last build image is rejected",
        "the last build cache image is never validated, nor an empty last image",
        "a valid last build image with any cache image is fine",
        "the node selector must not choose the os",
        "missing fields merge into one error (kpack: combining errors)",
    ],
)
def test_build_rules(build: builds.Build, error: str | None) -> None:
    assert rendered(admission.validate_build(build)) == error


def test_a_build_spec_change_on_update_shows_old_and_new_values() -> None:
    old = a_build()
    new = a_build(source={"git": {"url": "http://something/different", "revision": "master"}})
    assert rendered(admission.validate_build(new, old=old)) == (
        "Immutable fields changed (-old +new): spec.spec\n"
        "{.source.git.url}:\n"
        '\t-: "http://github.com/repo"\n'
        '\t+: "http://something/different"'
    )


def test_a_build_update_that_adds_a_key_shows_it_as_null_before() -> None:
    result = admission.validate_build(a_build(runImage={"image": "run"}), old=a_build())
    assert rendered(result) == (
        'Immutable fields changed (-old +new): spec.spec\n{.runImage}:\n\t-: null\n\t+: {"image": "run"}'
    )


def test_a_build_update_with_the_same_spec_is_valid() -> None:
    assert admission.validate_build(a_build(), old=a_build()) is None


def test_a_status_change_is_not_a_spec_change() -> None:
    finished = a_build().with_(status=builds.BuildStatus(latest_image="some/image@" + DIGEST))
    assert admission.validate_build(finished, old=a_build()) is None


# Context ----------------------------------------------------------------------------------------


def storage_class(default: str | None, *, expansion: object = None) -> dict[str, Any]:
    sc: dict[str, Any] = {"metadata": {"name": "sc"}}
    if default is not None:
        sc["metadata"]["annotations"] = {admission.DEFAULT_CLASS_ANNOTATION: default}
    if expansion is not None:
        sc["allowVolumeExpansion"] = expansion
    return sc


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ([], NO_SC),
        ([storage_class(None), storage_class("false")], NO_SC),
        ([storage_class("true")], DEFAULT_SC),
        ([storage_class("true", expansion=True)], EXPANDABLE),
        ([storage_class("true", expansion=False)], DEFAULT_SC),
        ([{}, storage_class("true"), storage_class("true", expansion=True)], DEFAULT_SC),
    ],
    ids=[
        "no storage classes give an empty context",
        "classes not annotated as default give an empty context",
        "a default class sets has_default_storage_class",
        "a default class allowing expansion sets is_expandable",
        "is_expandable is never set to false",
        "the first default class decides",
    ],
)
def test_context_from_storage_classes(
    classes: list[dict[str, Any]], expected: admission.AdmissionContext
) -> None:
    assert admission.AdmissionContext.from_storage_classes(classes) == expected
