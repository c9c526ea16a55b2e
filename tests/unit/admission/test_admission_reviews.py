"""Truth tables of the webhook's pure answers: AdmissionReview and ConversionReview in, responses out."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import jsonpatch
import pytest

from contracts import admission, builds, conversion, images
from services.admission import reviews

DEFAULT_SC = admission.AdmissionContext(has_default_storage_class=True)
NO_SC = admission.AdmissionContext()
USER = {"username": "alice"}
CONTROLLER = {"username": "system:serviceaccount:kpack:controller"}


def an_image(version: str = "kpack.io/v1alpha2", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tag": "registry.example/team/app",
        "builder": {"kind": "ClusterBuilder", "name": "default"},
        "source": {"git": {"url": "https://github.com/team/app", "revision": "main"}},
    }
    return {
        "apiVersion": version,
        "kind": "Image",
        "metadata": {"name": "app", "namespace": "team"},
        "spec": {**base, **spec},
    }


def a_build(**spec: Any) -> dict[str, Any]:
    base = {
        "tags": ["registry.example/team/app"],
        "builder": {"image": "registry.example/builder@sha256:" + "a" * 64},
        "source": {"git": {"url": "https://github.com/team/app", "revision": "main"}},
    }
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {"name": "app-build-1", "namespace": "team"},
        "spec": {**base, **spec},
    }


def a_review(
    obj: object, *, operation: str = "CREATE", old: object = None, user: object = USER
) -> dict[str, Any]:
    request: dict[str, Any] = {"uid": "u-1", "operation": operation, "object": obj, "userInfo": user}
    if old is not None:
        request["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def patched(answer: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    response = answer["response"]
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    result: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(obj), patch)
    return result


# mutate -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ctx", [DEFAULT_SC, NO_SC], ids=["default storage class", "none"])
def test_mutate_patches_an_image_to_its_defaulted_form(ctx: admission.AdmissionContext) -> None:
    image = an_image()
    answer = reviews.mutate(a_review(image), ctx=ctx)
    expected = admission.default_image(images.Image.model_validate(image), ctx).dump()
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == "u-1"
    assert answer["response"]["allowed"] is True
    assert patched(answer, image) == expected
    assert ("cache" in patched(answer, image)["spec"]) is ctx.has_default_storage_class


def test_mutate_patches_a_build_with_its_service_account() -> None:
    build = a_build()
    answer = reviews.mutate(a_review(build), ctx=NO_SC)
    assert patched(answer, build)["spec"]["serviceAccountName"] == "default"
    assert patched(answer, build) == admission.default_build(builds.Build.model_validate(build)).dump()


def test_mutate_answers_no_patch_for_a_defaulted_object() -> None:
    image = admission.default_image(images.Image.model_validate(an_image()), DEFAULT_SC).dump()
    response = reviews.mutate(a_review(image, operation="UPDATE", old=image), ctx=DEFAULT_SC)["response"]
    assert response == {"uid": "u-1", "allowed": True}


def test_mutate_keeps_a_v1alpha1_request_in_v1alpha1() -> None:
    image = conversion.convert(an_image(), "kpack.io/v1alpha1")
    result = patched(reviews.mutate(a_review(image), ctx=NO_SC), image)
    assert result["apiVersion"] == "kpack.io/v1alpha1"
    assert result["spec"]["serviceAccount"] == "default"


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_other_operations_are_allowed_as_they_are(operation: str) -> None:
    review = a_review(None, operation=operation)
    assert reviews.mutate(review, ctx=NO_SC)["response"] == {"uid": "u-1", "allowed": True}
    assert reviews.validate(review, ctx=NO_SC)["response"] == {"uid": "u-1", "allowed": True}


# validate ---------------------------------------------------------------------------------------


def test_validate_allows_a_valid_image() -> None:
    assert reviews.validate(a_review(an_image()), ctx=DEFAULT_SC)["response"] == {
        "uid": "u-1",
        "allowed": True,
    }


def refusal(message: str) -> dict[str, Any]:
    status = {"status": "Failure", "reason": "BadRequest", "code": 400, "message": message}
    return {"uid": "u-1", "allowed": False, "status": status}


def kpack_message(
    image: dict[str, Any], *, old: dict[str, Any] | None, ctx: admission.AdmissionContext
) -> str:
    """What ``kiln validate`` prints: defaulted, then validated by contracts.admission."""
    defaulted = admission.default_image(images.Image.model_validate(image), ctx)
    old_image = images.Image.model_validate(old) if old else None
    return str(admission.validate_image(defaulted, old=old_image, ctx=ctx))


UPDATES = {
    "the tag is immutable": (an_image(), an_image(tag="registry.example/team/other"), DEFAULT_SC),
    "the cache size cannot decrease": (
        an_image(cache={"volume": {"size": "5G"}}),
        an_image(cache={"volume": {"size": "4G"}}),
        DEFAULT_SC,
    ),
    "the storage class is immutable": (
        an_image(cache={"volume": {"size": "5G", "storageClassName": "fast"}}),
        an_image(cache={"volume": {"size": "5G", "storageClassName": "slow"}}),
        NO_SC,
    ),
}


@pytest.mark.parametrize(("old", "new", "ctx"), UPDATES.values(), ids=UPDATES.keys())
def test_validate_refuses_an_update_with_kpacks_message(
    old: dict[str, Any], new: dict[str, Any], ctx: admission.AdmissionContext
) -> None:
    answer = reviews.validate(a_review(new, operation="UPDATE", old=old), ctx=ctx)
    message = kpack_message(new, old=old, ctx=ctx)
    assert message
    assert answer["response"] == refusal(f"validation failed: {message}")


def test_validate_states_kpacks_immutable_tag_message() -> None:
    old, new = an_image(), an_image(tag="registry.example/team/other")
    message = reviews.validate(a_review(new, operation="UPDATE", old=old), ctx=NO_SC)["response"]["status"][
        "message"
    ]
    assert message == (
        "validation failed: Immutable field changed: spec.tag\n"
        "got: registry.example/team/other, want: registry.example/team/app"
    )


def test_a_volume_cache_needs_a_default_storage_class() -> None:
    image = an_image(cache={"volume": {"size": "2G"}})
    assert reviews.validate(a_review(image), ctx=DEFAULT_SC)["response"]["allowed"] is True
    refused = reviews.validate(a_review(image), ctx=NO_SC)["response"]
    assert refused == refusal("validation failed: " + kpack_message(image, old=None, ctx=NO_SC))


@pytest.mark.parametrize(("user", "allowed"), [(USER, False), (None, False), (CONTROLLER, True)])
def test_only_a_users_v1alpha2_request_refuses_cnb_bindings(user: object, allowed: bool) -> None:
    build = a_build(cnbBindings=[{"name": "b", "metadataRef": {"name": "m"}}])
    assert reviews.validate(a_review(build, user=user), ctx=NO_SC)["response"]["allowed"] is allowed


def test_validate_checks_a_build_update() -> None:
    old, new = a_build(), a_build(tags=["registry.example/team/other"])
    response = reviews.validate(a_review(new, operation="UPDATE", old=old), ctx=NO_SC)["response"]
    expected = admission.validate_build(
        admission.default_build(builds.Build.model_validate(new)), old=builds.Build.model_validate(old)
    )
    assert expected
    assert response == refusal(f"validation failed: {expected}")


UNREADABLE = {
    "no object": (None, "request.object: expected the kpack.io object being admitted"),
    "another kind": (
        {"apiVersion": "v1", "kind": "Pod"},
        "kind: expected a kpack.io Image, Build, ClusterStore, ClusterStack, ClusterLifecycle, Buildpack, "
        "ClusterBuildpack, Builder or ClusterBuilder, got v1 Pod",
    ),
    "a spec that is not an object": (
        {**an_image(), "spec": "oops"},
        "Image kpack.io/v1alpha2 is not valid: spec: Input should be a valid dictionary or instance of ImageSpec",
    ),
    "a v1alpha1 spec that is not an object": (
        {**an_image("kpack.io/v1alpha1"), "spec": "oops"},
        "Image kpack.io/v1alpha1 is not valid: spec: Input should be a valid dictionary or instance of ImageSpec",
    ),
}


@pytest.mark.parametrize(("obj", "message"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_object_is_refused_naming_the_field(obj: object, message: str) -> None:
    for answer in (reviews.validate, reviews.mutate):
        assert answer(a_review(obj), ctx=NO_SC)["response"] == refusal(message)


# the builder half ---------------------------------------------------------------------------------


def a_kpack_object(kind: str, spec: dict[str, Any], *, version: str = "kpack.io/v1alpha2") -> dict[str, Any]:
    metadata = {"name": "x", "namespace": "team"} if kind in ("Builder", "Buildpack") else {"name": "x"}
    return {"apiVersion": version, "kind": kind, "metadata": metadata, "spec": spec}


SERVICE_ACCOUNT_REF = {"name": "sa", "namespace": "kiln"}
LIFECYCLE = {"name": "default-lifecycle", "kind": "ClusterLifecycle"}
STACK = {"kind": "ClusterStack", "name": "base"}
DEFAULTED = {
    "a Builder gets kpack's Builder defaults": (
        a_kpack_object("Builder", {"tag": "registry.example/builder", "stack": {"name": "base"}}),
        {
            "tag": "registry.example/builder",
            "stack": STACK,
            "store": {"kind": "ClusterStore"},
            "lifecycle": LIFECYCLE,
            "serviceAccountName": "default",
        },
    ),
    "a ClusterBuilder gets only the lifecycle": (
        a_kpack_object("ClusterBuilder", {"tag": "registry.example/builder", "stack": {"name": "base"}}),
        {"tag": "registry.example/builder", "stack": {"name": "base"}, "lifecycle": LIFECYCLE},
    ),
    "a Buildpack gets its service account": (
        a_kpack_object("Buildpack", {"image": "registry.example/bp"}),
        {"image": "registry.example/bp", "serviceAccountName": "default"},
    ),
}


@pytest.mark.parametrize(("obj", "spec"), DEFAULTED.values(), ids=DEFAULTED.keys())
def test_mutate_patches_the_builder_halfs_kinds_to_kpacks_defaults(
    obj: dict[str, Any], spec: dict[str, Any]
) -> None:
    assert patched(reviews.mutate(a_review(obj), ctx=NO_SC), obj) == {**obj, "spec": spec}


@pytest.mark.parametrize(
    "obj",
    [
        a_kpack_object("ClusterStore", {"sources": [{"image": "registry.example/store"}]}),
        a_kpack_object("ClusterStack", {}),
        a_kpack_object("ClusterLifecycle", {"image": "registry.example/lifecycle"}),
        a_kpack_object("ClusterBuildpack", {}),
        a_kpack_object(
            "Builder",
            {
                "stack": STACK,
                "store": {"kind": "ClusterStore"},
                "lifecycle": LIFECYCLE,
                "serviceAccount": "legacy",
            },
        ),
    ],
    ids=lambda obj: f"a {obj['kind']} that kpack leaves as it is",
)
def test_mutate_answers_no_patch_where_kpack_sets_nothing(obj: dict[str, Any]) -> None:
    assert reviews.mutate(a_review(obj), ctx=NO_SC)["response"] == {"uid": "u-1", "allowed": True}


REFUSED = {
    "§6 1: a ClusterStore without sources": (
        a_kpack_object("ClusterStore", {}),
        "missing field(s): spec.sources",
    ),
    "a ClusterStore source that is no reference": (
        a_kpack_object("ClusterStore", {"sources": [{"image": "invalid image"}]}),
        "invalid value: {invalid image}: spec.sources[0]",
    ),
    "a ClusterStack without images": (
        a_kpack_object("ClusterStack", {"id": "io.buildpacks.stacks.jammy"}),
        "missing field(s): spec.buildImage.image, spec.runImage.image",
    ),
    "a ClusterLifecycle without image": (
        a_kpack_object("ClusterLifecycle", {}),
        "missing field(s): spec.image",
    ),
    "a Buildpack image that is no reference": (
        a_kpack_object("Buildpack", {"image": "ftp//invalid/tag@@"}),
        "invalid value: ftp//invalid/tag@@: spec.image",
    ),
    "a ClusterBuildpack serviceAccountRef without namespace": (
        a_kpack_object("ClusterBuildpack", {"image": "r/bp", "serviceAccountRef": {"name": "sa"}}),
        "missing field(s): spec.serviceAccountRef.namespace",
    ),
    "§6 11: a Builder store of kind FakeStore": (
        a_kpack_object(
            "Builder", {"tag": "r/b", "stack": STACK, "store": {"kind": "FakeStore", "name": "s"}}
        ),
        "invalid value: FakeStore: spec.store.kind\nmust be one of ClusterStore",
    ),
    "§6 10: a ClusterBuilder without stack kind, its paths without spec": (
        a_kpack_object(
            "ClusterBuilder",
            {"tag": "r/b", "stack": {"name": "base"}, "serviceAccountRef": SERVICE_ACCOUNT_REF},
        ),
        "invalid value: : stack.kind",
    ),
    "§6 15: a ClusterBuilder without serviceAccountRef.name reports nothing else": (
        a_kpack_object("ClusterBuilder", {}),
        "missing field(s): spec.serviceAccountRef.name",
    ),
}


@pytest.mark.parametrize(("obj", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_validate_refuses_the_builder_halfs_kinds_with_kpacks_messages(
    obj: dict[str, Any], message: str
) -> None:
    answer = reviews.validate(a_review(obj), ctx=NO_SC)

    assert answer["response"] == refusal(f"validation failed: {message}")


def test_validate_allows_a_valid_builder_after_its_defaults() -> None:
    builder = a_kpack_object("Builder", {"tag": "registry.example/builder", "stack": {"name": "base"}})

    assert reviews.validate(a_review(builder), ctx=NO_SC)["response"] == {"uid": "u-1", "allowed": True}


def test_an_update_of_the_builder_half_is_checked_as_a_create() -> None:
    old = a_kpack_object("ClusterLifecycle", {"image": "registry.example/lifecycle:1"})
    new = a_kpack_object("ClusterLifecycle", {"image": "registry.example/lifecycle:2"})
    emptied = a_kpack_object("ClusterLifecycle", {})

    allowed = reviews.validate(a_review(new, operation="UPDATE", old=old), ctx=NO_SC)["response"]
    refused = reviews.validate(a_review(emptied, operation="UPDATE", old=old), ctx=NO_SC)["response"]

    assert allowed == {"uid": "u-1", "allowed": True}
    assert refused == refusal("validation failed: missing field(s): spec.image")


BUILDER_HALF_UNREADABLE = {
    "a v1alpha1 ClusterStack": (
        a_kpack_object("ClusterStack", {}, version="kpack.io/v1alpha1"),
        "apiVersion: a ClusterStack is admitted at kpack.io/v1alpha2 only, got kpack.io/v1alpha1",
    ),
    "a v1alpha1 Builder": (
        a_kpack_object("Builder", {}, version="kpack.io/v1alpha1"),
        "apiVersion: a Builder is admitted at kpack.io/v1alpha2 only, got kpack.io/v1alpha1",
    ),
    "a ClusterStore whose sources are no list": (
        a_kpack_object("ClusterStore", {"sources": "oops"}),
        "ClusterStore kpack.io/v1alpha2 is not valid: spec.sources: Input should be a valid list",
    ),
}


@pytest.mark.parametrize(
    ("obj", "message"), BUILDER_HALF_UNREADABLE.values(), ids=BUILDER_HALF_UNREADABLE.keys()
)
def test_a_builder_half_object_that_cannot_be_admitted_is_refused_saying_why(
    obj: dict[str, Any], message: str
) -> None:
    for answer in (reviews.validate, reviews.mutate):
        assert answer(a_review(obj), ctx=NO_SC)["response"] == refusal(message)


BAD_REVIEWS = {
    "not an object": ([], "expected a admission.k8s.io/v1 AdmissionReview object, got list"),
    "another kind": (
        {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"},
        "apiVersion/kind: expected admission.k8s.io/v1 AdmissionReview, got admission.k8s.io/v1beta1 AdmissionReview",
    ),
    "no request": (
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
        "request.uid: a AdmissionReview needs a request with a uid",
    ),
    "no uid": (
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": ""}},
        "request.uid: a AdmissionReview needs a request with a uid",
    ),
}


@pytest.mark.parametrize(("review", "message"), BAD_REVIEWS.values(), ids=BAD_REVIEWS.keys())
def test_a_body_that_is_no_admission_review_is_a_bad_review(review: object, message: str) -> None:
    with pytest.raises(reviews.BadReview) as raised:
        reviews.validate(review, ctx=NO_SC)
    assert str(raised.value) == message


# convert ----------------------------------------------------------------------------------------


def a_conversion(objects: object, desired: object = "kpack.io/v1alpha1") -> dict[str, Any]:
    request = {"uid": "c-1", "desiredAPIVersion": desired, "objects": objects}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": request}


def test_convert_round_trips_images_and_builds() -> None:
    originals = [
        admission.default_image(images.Image.model_validate(an_image()), DEFAULT_SC).dump(),
        admission.default_build(builds.Build.model_validate(a_build())).dump(),
    ]
    down = reviews.convert(a_conversion(originals))
    assert down["apiVersion"] == "apiextensions.k8s.io/v1"
    assert down["kind"] == "ConversionReview"
    assert down["response"]["uid"] == "c-1"
    assert down["response"]["result"] == {"status": "Success"}
    converted = down["response"]["convertedObjects"]
    assert [o["apiVersion"] for o in converted] == ["kpack.io/v1alpha1"] * 2
    assert converted == [conversion.convert(o, "kpack.io/v1alpha1") for o in originals]
    up = reviews.convert(a_conversion(converted, "kpack.io/v1alpha2"))["response"]
    assert up["convertedObjects"] == originals


FAILED_CONVERSIONS = {
    "an unknown version": (
        [an_image()],
        "kpack.io/v9",
        "cannot convert to kpack.io/v9: expected one of kpack.io/v1alpha1, kpack.io/v1alpha2",
    ),
    "no version": ([an_image()], None, "desiredAPIVersion: expected kpack.io/v1alpha1 or kpack.io/v1alpha2"),
    "objects not a list": ({"a": 1}, "kpack.io/v1alpha1", "objects: expected a list of objects"),
    "an object that is not valid": (
        [{**an_image(), "spec": "oops"}],
        "kpack.io/v1alpha1",
        "Image kpack.io/v1alpha2 is not valid: spec: Input should be a valid dictionary or instance of ImageSpec",
    ),
    "another kind": (
        [{"apiVersion": "kpack.io/v1alpha2", "kind": "Builder"}],
        "kpack.io/v1alpha1",
        "cannot convert Builder kpack.io/v1alpha2 to kpack.io/v1alpha1: only kpack Images and Builds convert",
    ),
}


@pytest.mark.parametrize(
    ("objects", "desired", "message"), FAILED_CONVERSIONS.values(), ids=FAILED_CONVERSIONS.keys()
)
def test_a_failed_conversion_says_why(objects: object, desired: object, message: str) -> None:
    response = reviews.convert(a_conversion(objects, desired))["response"]
    assert response == {
        "uid": "c-1",
        "convertedObjects": [],
        "result": {"status": "Failure", "message": message},
    }


def test_a_body_that_is_no_conversion_review_is_a_bad_review() -> None:
    with pytest.raises(reviews.BadReview, match=r"expected apiextensions\.k8s\.io/v1 ConversionReview"):
        reviews.convert({"apiVersion": "v1", "kind": "ConversionReview"})
