"""The emulator's OpenAPI documents, and the unknown fields strict field validation refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts import crds
from services.testbed.emulator import openapi, resources, schemas, statuses

GROUP_VERSIONS = [
    "api/v1",
    "apis/storage.k8s.io/v1",
    "apis/events.k8s.io/v1",
    "apis/kpack.io/v1alpha2",
    "apis/kpack.io/v1alpha1",
]


def _document(key: str) -> dict[str, Any]:
    answer = openapi.answer(f"/openapi/v3/{key}", query_hash=None, accept="application/json")
    assert answer is not None
    assert answer.status == 200
    document: dict[str, Any] = json.loads(answer.body)
    return document


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return {name for item in node for name in _references(item)}
    if not isinstance(node, dict):
        return set()
    own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
    return own | {name for value in node.values() for name in _references(value)}


def test_the_v3_index_points_at_every_served_group_version_by_its_current_hash() -> None:
    answer = openapi.answer("/openapi/v3", query_hash=None, accept="application/json, */*")

    assert answer is not None
    paths = json.loads(answer.body)["paths"]
    assert sorted(paths) == sorted(GROUP_VERSIONS)
    url = paths["apis/kpack.io/v1alpha2"]["serverRelativeURL"]
    path, digest = url.split("?hash=")
    current = openapi.answer(path, query_hash=digest, accept="application/json")
    assert current is not None
    assert current.status == 200
    assert current.headers["Cache-Control"].startswith("public, immutable")


def test_a_stale_hash_is_redirected_to_the_current_document() -> None:
    answer = openapi.answer("/openapi/v3/api/v1", query_hash="0" * 128, accept="application/json")

    assert answer is not None
    assert answer.status == 301
    assert answer.headers["Location"].startswith("/openapi/v3/api/v1?hash=")


@pytest.mark.parametrize(
    ("path", "accept", "status"),
    [
        ("/openapi/v2", "application/json", 200),
        ("/openapi/v2", "", 200),
        ("/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", 406),
        (
            "/openapi/v3/apis/kpack.io/v1alpha2",
            "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
            406,
        ),
        ("/openapi/v3/apis/kpack.io/v1beta1", "application/json", None),
        ("/openapi/v4", "application/json", None),
    ],
    ids=[
        "v2 is served as JSON",
        "v2 is served to a client that names no type",
        "v2 is refused to a client that takes protobuf alone",
        "v3 is refused to a client that takes protobuf alone",
        "a group version not served has no document",
        "an unknown path is not found",
    ],
)
def test_documents_are_served_as_json_only(path: str, accept: str, status: int | None) -> None:
    answer = openapi.answer(path, query_hash=None, accept=accept)

    assert (answer.status if answer is not None else None) == status


def test_the_image_schema_is_the_crd_schema_kiln_deploys_with_its_kind() -> None:
    components = _document("apis/kpack.io/v1alpha2")["components"]["schemas"]

    image = components["io.kpack.v1alpha2.Image"]
    deployed = crds.schema_of("Image", "v1alpha2")
    assert deployed is not None
    assert image["properties"]["spec"] == deployed["properties"]["spec"]
    assert image["x-kubernetes-group-version-kind"] == [
        {"group": "kpack.io", "kind": "Image", "version": "v1alpha2"}
    ]
    assert image["properties"]["metadata"]["allOf"] == [schemas.ref(schemas.OBJECT_META)]
    assert components["io.kpack.v1alpha2.ImageList"]["properties"]["items"]["items"] == schemas.ref(
        "io.kpack.v1alpha2.Image"
    )


@pytest.mark.parametrize("key", GROUP_VERSIONS)
def test_every_reference_in_a_v3_document_resolves_in_it(key: str) -> None:
    document = _document(key)

    names = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    assert _references(document) - names == set()


def test_every_reference_in_the_v2_document_resolves_in_it() -> None:
    answer = openapi.answer("/openapi/v2", query_hash=None, accept="application/json")
    assert answer is not None
    document = json.loads(answer.body)

    assert _references(document) - {f"#/definitions/{name}" for name in document["definitions"]} == set()
    assert '"nullable"' not in answer.body.decode()
    assert "io.k8s.api.core.v1.Pod" in document["definitions"]


@pytest.mark.parametrize("resource", resources.RESOURCES, ids=lambda r: r.key)
def test_every_kind_offers_field_validation_on_patch_so_kubectl_leaves_validation_to_the_server(
    resource: resources.ResourceType,
) -> None:
    key = f"apis/{resource.group}/{resource.versions[0]}" if resource.group else "api/v1"
    patches = [
        item["patch"]
        for item in _document(key)["paths"].values()
        if "patch" in item and item["patch"]["x-kubernetes-group-version-kind"]["kind"] == resource.kind
    ]

    assert patches
    for patch in patches:
        assert ("fieldValidation", "query") in [(p["name"], p["in"]) for p in patch["parameters"]]


def test_core_kinds_carry_the_official_schemas_with_their_patch_strategies() -> None:
    components = _document("api/v1")["components"]["schemas"]

    containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert components["io.k8s.api.core.v1.ConfigMap"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "ConfigMap", "version": "v1"}
    ]
    assert "enum" not in components["io.k8s.api.core.v1.ConfigMap"]["properties"]["kind"]


IMAGE = {
    "apiVersion": "kpack.io/v1alpha2",
    "kind": "Image",
    "metadata": {"name": "app", "labels": {"team": "a"}},
    "spec": {"tag": "registry.example/app", "cache": {"volume": {"size": "2G"}}},
}
POD_SPEC = {"containers": [{"name": "build", "image": "x"}]}


@pytest.mark.parametrize(
    ("kind", "value", "unknown"),
    [
        ("Image", IMAGE, []),
        ("Image", {**IMAGE, "metadata": {"name": "app", "lables": {}}}, ["metadata.lables"]),
        ("Image", {**IMAGE, "spec": {"cach": {}}}, []),
        ("Image", {**IMAGE, "spce": {}}, []),
        ("ConfigMap", {"metadata": {"name": "c"}, "data": {"a": "b"}}, []),
        ("ConfigMap", {"metadata": {"name": "c"}, "dta": {"a": "b"}}, ["dta"]),
        ("Pod", {"spec": POD_SPEC}, []),
        ("Pod", {"spec": {"containers": [{"name": "b", "imagee": "x"}]}}, ["spec.containers[0].imagee"]),
    ],
    ids=[
        "a well-formed Image has none",
        "a typo in an Image's metadata is unknown",
        "a field under an Image's spec is preserved, as Kiln's CRDs preserve them",
        "a field at an Image's top is preserved too",
        "a well-formed ConfigMap has none",
        "a typo at a ConfigMap's top is unknown",
        "a well-formed Pod has none",
        "a typo in a container is unknown, its index named",
    ],
)
def test_unknown_fields_are_those_the_schema_neither_declares_nor_preserves(
    kind: str, value: dict[str, Any], unknown: list[str]
) -> None:
    resource = resources.by_name(kind)
    components = schemas.components(resource.group, resource.versions[0])
    schema = components[schemas.definition_name(resource, resource.versions[0])]

    assert schemas.unknown_fields(schema, value, schemas=components) == unknown


@pytest.mark.parametrize(
    ("applying", "message"),
    [
        (
            False,
            'Image in version "v1alpha2" cannot be handled as a Image: '
            'strict decoding error: unknown field "metadata.lables"',
        ),
        (
            True,
            "failed to create typed patch object (team/app; kpack.io/v1alpha2, Kind=Image): "
            ".metadata.lables: field not declared in schema",
        ),
    ],
    ids=["a write is refused as a strict decoding error", "a server-side apply names the field as SSA does"],
)
def test_strict_field_validation_refuses_naming_the_field(applying: bool, message: str) -> None:
    body = {**IMAGE, "metadata": {"name": "app", "lables": {}}}

    with pytest.raises(statuses.ApiError) as refused:
        schemas.refuse_unknown_fields(
            resources.by_name("Image"), "v1alpha2", body, namespace="team", applying=applying
        )

    assert (refused.value.code, refused.value.message) == (400, message)
