"""v1alpha1 ⇄ v1alpha2 conversion truth tables (spec §3, §10 items 65 to 70)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contracts import builds, conversion, images, v1alpha1

V1 = "kpack.io/v1alpha1"
V2 = "kpack.io/v1alpha2"
SC = "kpack.io/cache.volume.storageClassName"
TAG = "kpack.io/cache.registry.tag"
DIGEST = "sha256:" + "b" * 64
GIT = {"git": {"url": "https://github.com/org/app", "revision": "main"}}


def image_v2(cache: object = None, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "image-name", "namespace": "ns"}
    if annotations is not None:
        metadata["annotations"] = annotations
    body: dict[str, Any] = {"tag": "reg.io/app", "serviceAccountName": "sa", "source": GIT, **spec}
    if cache is not None:
        body["cache"] = cache
    return {
        "apiVersion": V2,
        "kind": "Image",
        "metadata": metadata,
        "spec": body,
        "status": {
            "buildCacheName": "image-name-cache",
            "latestImage": f"reg.io/app@{DIGEST}",
            "buildCounter": 3,
        },
    }


def image_v1(
    cache_size: object = None, annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    doc = image_v2(annotations=annotations)
    doc["apiVersion"] = V1
    body = {"tag": "reg.io/app", "serviceAccount": "sa", "source": GIT, **spec}
    if cache_size is not None:
        body["cacheSize"] = cache_size
    doc["spec"] = body
    return doc


# Image ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v2", "v1"),
    [
        (
            image_v2(
                {
                    "volume": {"size": "5G", "storageClassName": "some-storage-class"},
                    "registry": {"tag": "some-tag"},
                }
            ),
            image_v1("5G", {SC: "some-storage-class", TAG: "some-tag"}),
        ),
        (image_v2(), image_v1()),
        (image_v2({"registry": {"tag": "some-tag"}}), image_v1(None, {TAG: "some-tag"})),
        (image_v2({"volume": {"size": "2G"}}), image_v1("2G")),
        (image_v2({"volume": {"size": "2G"}}, {"team": "a"}), image_v1("2G", {"team": "a"})),
        (
            image_v2({"volume": {"storageClassName": "fast"}}, {"team": "a"}),
            image_v1(None, {"team": "a", SC: "fast"}),
        ),
        (
            image_v2(build={"cnbBindings": [{"name": "b"}], "env": [{"name": "A", "value": "1"}]}),
            image_v1(build={"bindings": [{"name": "b"}], "env": [{"name": "A", "value": "1"}]}),
        ),
        (
            image_v2(additionalTags=["reg.io/app:v2"], futureField={"kept": True}),
            image_v1(additionalTags=["reg.io/app:v2"], futureField={"kept": True}),
        ),
    ],
    ids=[
        "volume with storage class and registry become cacheSize and two annotations (item 65)",
        "a nil cache gives no cacheSize and no annotations (item 66)",
        "a registry-only cache survives in the tag annotation (item 67)",
        "a volume cache without storage class needs no annotation",
        "cache annotations join the existing annotations",
        "a storage class without size travels alone",
        "cnbBindings are v1alpha1 bindings and the rest of build is kept",
        "fields v1alpha1 lacks and unknown fields are kept",
    ],
)
def test_image_round_trip(v2: dict[str, Any], v1: dict[str, Any]) -> None:
    assert conversion.convert(v2, V1) == v1
    assert conversion.convert(v1, V2) == v2


@pytest.mark.parametrize(
    ("v2", "v1"),
    [
        (image_v2({"volume": {"size": "5G", "storageClassName": ""}}), image_v1("5G")),
        (image_v2({"registry": {"tag": ""}}), image_v1()),
        (image_v2({}), image_v1()),
        (image_v2({"volume": {}}), image_v1()),
        (image_v2(cacheSize="9G"), image_v1()),
    ],
    ids=[
        "an empty storage class is not carried",
        "an empty registry tag is not carried",
        "an empty cache object converts to nothing",
        "a volume without size converts to nothing",
        "a stray cacheSize on a v1alpha2 image does not leak into v1alpha1",
    ],
)
def test_image_to_v1alpha1_drops_what_means_nothing(v2: dict[str, Any], v1: dict[str, Any]) -> None:
    assert conversion.convert(v2, V1) == v1


@pytest.mark.parametrize(
    ("v1", "v2"),
    [
        (image_v1(None, {SC: "sc"}), image_v2({"volume": {"storageClassName": "sc"}})),
        (image_v1(None, {SC: ""}), image_v2({"volume": {}})),
        (image_v1(None, {TAG: ""}), image_v2({"registry": {"tag": ""}})),
        (
            image_v1("5G", {TAG: "t", "keep": "me"}),
            image_v2({"volume": {"size": "5G"}, "registry": {"tag": "t"}}, {"keep": "me"}),
        ),
        (image_v1("5G", {}), image_v2({"volume": {"size": "5G"}}, {})),
        (image_v1(7, cache={"registry": {"tag": "ignored"}}), image_v2({"volume": {"size": 7}})),
    ],
    ids=[
        "a storage class annotation alone yields a volume without size, i.e. no volume cache",
        "an empty storage class annotation yields an empty volume",
        "an empty registry tag annotation yields a registry with an empty tag",
        "other annotations stay and the cache annotations are removed",
        "empty annotations without cache annotations are left as they are",
        "a stray cache key on a v1alpha1 image is replaced by cacheSize",
    ],
)
def test_image_to_v1alpha2_reads_the_annotations(v1: dict[str, Any], v2: dict[str, Any]) -> None:
    assert conversion.convert(v1, V2) == v2


def test_converted_image_has_the_registry_cache_after_a_round_trip_through_models() -> None:
    image = images.Image.model_validate(image_v2({"registry": {"tag": "reg.io/app-cache"}}))
    old = conversion.image_to_v1alpha1(image)
    assert isinstance(old, v1alpha1.Image)
    assert old.spec.cache_size is None
    back = conversion.image_to_v1alpha2(old)
    assert back.spec.registry_cache_requested()
    assert not back.spec.volume_cache_requested()


# Build ------------------------------------------------------------------------------------------


def build_v2(cache: object = None, last_build: object = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tags": ["reg.io/app", "reg.io/app:b1"],
        "builder": {"image": f"reg.io/builder@{DIGEST}"},
        "serviceAccountName": "sa",
        "source": GIT,
        **spec,
    }
    if cache is not None:
        body["cache"] = cache
    if last_build is not None:
        body["lastBuild"] = last_build
    return {
        "apiVersion": V2,
        "kind": "Build",
        "metadata": {"name": "image-name-build-1", "labels": {"image.kpack.io/buildNumber": "1"}},
        "spec": body,
        "status": {"latestImage": f"reg.io/app@{DIGEST}", "podName": "image-name-build-1-build-pod"},
    }


def build_v1(cache_name: str | None = None, last_build: object = None, **spec: Any) -> dict[str, Any]:
    doc = build_v2()
    doc["apiVersion"] = V1
    body = {k: v for k, v in doc["spec"].items() if k != "serviceAccountName"}
    body = {**body, "serviceAccount": "sa", **spec}
    if cache_name is not None:
        body["cacheName"] = cache_name
    if last_build is not None:
        body["lastBuild"] = last_build
    doc["spec"] = body
    return doc


@pytest.mark.parametrize(
    ("v2", "v1"),
    [
        (build_v2({"volume": {"persistentVolumeClaimName": "some-claim-name"}}), build_v1("some-claim-name")),
        (build_v2(), build_v1()),
        (
            build_v2(None, {"image": f"reg.io/app@{DIGEST}", "cache": {}, "stackId": "io.stacks.jammy"}),
            build_v1(None, {"image": f"reg.io/app@{DIGEST}", "stackId": "io.stacks.jammy"}),
        ),
        (build_v2(cnbBindings=[{"name": "b"}]), build_v1(bindings=[{"name": "b"}])),
        (
            build_v2(builder={"ref": {"kind": "ClusterBuilder", "name": "default"}}),
            build_v1(builder={"ref": {"kind": "ClusterBuilder", "name": "default"}}),
        ),
    ],
    ids=[
        "a volume claim name is cacheName and back (item 68)",
        "a nil cache gives no cacheName and back to nil (item 69)",
        "lastBuild keeps image and stack id and comes back with an empty cache",
        "cnbBindings are v1alpha1 bindings",
        "a builder named by ref is the same in both versions (core/v1alpha1 BuildBuilderSpec)",
    ],
)
def test_build_round_trip(v2: dict[str, Any], v1: dict[str, Any]) -> None:
    assert conversion.convert(v2, V1) == v1
    assert conversion.convert(v1, V2) == v2


def test_registry_cache_data_of_a_build_is_lost_in_v1alpha1() -> None:
    v2 = build_v2(
        {"registry": {"tag": "reg.io/app-cache"}},
        {"image": f"reg.io/app@{DIGEST}", "cache": {"image": f"reg.io/app-cache@{DIGEST}"}, "stackId": "s"},
        runImage={"image": "reg.io/run"},
        cacheName="stray",
    )
    v2["status"]["latestCacheImage"] = f"reg.io/app-cache@{DIGEST}"
    v1 = conversion.convert(v2, V1)
    assert v1 == build_v1(None, {"image": f"reg.io/app@{DIGEST}", "stackId": "s"})
    assert conversion.convert(v1, V2) == build_v2(
        None, {"image": f"reg.io/app@{DIGEST}", "cache": {}, "stackId": "s"}
    )


@pytest.mark.parametrize(
    ("v2_cache", "v1"),
    [
        ({"volume": {"persistentVolumeClaimName": ""}}, build_v1()),
        ({"volume": {}}, build_v1()),
        ({}, build_v1()),
    ],
    ids=[
        "an empty claim name gives no cacheName",
        "a volume without claim gives no cacheName",
        "an empty cache gives no cacheName",
    ],
)
def test_build_without_a_claim_has_no_cache_name(v2_cache: dict[str, Any], v1: dict[str, Any]) -> None:
    assert conversion.convert(build_v2(v2_cache), V1) == v1


def test_a_v1alpha1_build_with_an_empty_cache_name_has_no_cache() -> None:
    assert conversion.convert(build_v1(""), V2) == build_v2()


def test_a_v1alpha1_build_without_status_converts_without_status() -> None:
    doc = build_v1("pvc")
    del doc["status"]
    converted = conversion.build_to_v1alpha2(v1alpha1.Build.model_validate(doc))
    assert isinstance(converted, builds.Build)
    assert converted.spec.volume_cache()
    assert "status" not in conversion.convert(conversion.convert(doc, V2), V1)


# Dispatch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "to"),
    [
        (image_v2(), V2),
        (image_v1(), V1),
        (build_v2(), V2),
        ({"apiVersion": V2, "kind": "ClusterBuilder", "spec": {"anything": 1}}, V2),
    ],
    ids=[
        "a v1alpha2 image asked for v1alpha2",
        "a v1alpha1 image asked for v1alpha1",
        "a v1alpha2 build asked for v1alpha2",
        "any kind already at the target version",
    ],
)
def test_a_document_at_the_target_version_is_returned_unchanged(doc: dict[str, Any], to: str) -> None:
    before = copy.deepcopy(doc)
    result = conversion.convert(doc, to)
    assert result == before
    assert result is not doc


@pytest.mark.parametrize(
    ("doc", "to", "message"),
    [
        (
            image_v2(),
            "kpack.io/v1",
            "cannot convert to kpack.io/v1: expected one of kpack.io/v1alpha1, kpack.io/v1alpha2",
        ),
        (
            {"apiVersion": V2, "kind": "ClusterBuilder"},
            V1,
            "cannot convert ClusterBuilder kpack.io/v1alpha2 to kpack.io/v1alpha1: "
            "only kpack Images and Builds convert",
        ),
        (
            {"apiVersion": "v1", "kind": "Image"},
            V2,
            "cannot convert Image v1 to kpack.io/v1alpha2: only kpack Images and Builds convert",
        ),
    ],
    ids=["an unknown target version", "a kind that does not convert", "an apiVersion that is not kpack's"],
)
def test_what_cannot_be_converted(doc: dict[str, Any], to: str, message: str) -> None:
    with pytest.raises(conversion.ConversionError) as raised:
        conversion.convert(doc, to)
    assert str(raised.value) == message


def test_an_invalid_document_is_a_conversion_error() -> None:
    doc = image_v2()
    doc["spec"]["cache"] = "big"
    with pytest.raises(conversion.ConversionError, match=r"^Image kpack.io/v1alpha2 is not valid: "):
        conversion.convert(doc, V1)
