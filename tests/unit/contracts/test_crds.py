"""The CRDs generated from the contracts: structural schemas that refuse what the services could not
read (the mistyped Images of issue 7 among them) and take every kpack object the contracts take."""

from __future__ import annotations

import copy
import pathlib
from typing import Any, Literal

import pydantic
import pytest
import yaml

from contracts import builders, buildpacks, builds, crds, images, meta, source_resolvers, stacks, v1alpha1

FIXTURES = pathlib.Path(__file__).parents[1] / "cli" / "fixtures"
MODELS: dict[str, type[meta.KubeObject]] = {
    "Image": images.Image,
    "Build": builds.Build,
    "Builder": builders.Builder,
    "ClusterBuilder": builders.Builder,
    "SourceResolver": source_resolvers.SourceResolver,
    "ClusterStore": buildpacks.ClusterStore,
    "ClusterStack": stacks.ClusterStack,
    "ClusterLifecycle": stacks.ClusterLifecycle,
    "Buildpack": buildpacks.Buildpack,
    "ClusterBuildpack": buildpacks.ClusterBuildpack,
}
FORBIDDEN_KEYWORDS = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "default", "title", "const"}


def _schema(kind: str, version: str = "v1alpha2") -> dict[str, Any]:
    (definition,) = [d for d in crds.DEFINITIONS if d.kind == kind]
    (served,) = [v for v in definition.crd()["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def _said(violations: list[tuple[str, str]]) -> list[str]:
    """As the API server joins them in its message."""
    return [f"{field}: {message}" for field, message in violations]


def _nodes(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, field in schema.get("properties", {}).items():
        found += _nodes(field, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _nodes(schema[key], f"{path}[{key}]")
    return found


def _every_node() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{definition.kind}/{version['name']}{path}", node)
        for definition in crds.DEFINITIONS
        for version in definition.crd()["spec"]["versions"]
        for path, node in _nodes(version["schema"]["openAPIV3Schema"])
    ]


def _kpack_fixtures() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") in MODELS]
    return documents


def test_every_node_is_structural() -> None:
    for where, node in _every_node():
        assert not FORBIDDEN_KEYWORDS & set(node), where
        if node.get(crds.INT_OR_STRING):
            assert "type" not in node, where
        else:
            assert node.get("type") or node.get(crds.PRESERVE), f"{where} has no type"
        assert not ("properties" in node and "additionalProperties" in node), where
        assert not (node.get(crds.PRESERVE) and "additionalProperties" in node), where
        if node.get("type") == "array":
            assert isinstance(node.get("items"), dict), where
        assert isinstance(node.get("additionalProperties", {}), dict), f"{where}: a boolean is not structural"
        for value in node.get("enum", []):
            assert crds.violations({"type": node["type"]}, value) == [], where
        assert not ("enum" in node and node.get("nullable")), (
            f"{where}: the API server checks null against an enum"
        )


def test_metadata_is_left_to_the_api_server_and_status_is_a_subresource() -> None:
    for definition in crds.DEFINITIONS:
        for version in definition.crd()["spec"]["versions"]:
            root = version["schema"]["openAPIV3Schema"]
            assert root["properties"]["metadata"] == {"type": "object"}
            assert version["subresources"] == {"status": {}}
            assert root["properties"]["status"]["type"] == "object"


def test_every_model_that_keeps_unknown_fields_keeps_them_in_the_api() -> None:
    objects = [
        (where, node)
        for where, node in _every_node()
        if node.get("type") == "object" and not where.endswith(".metadata")
    ]

    assert objects
    assert all(node.get(crds.PRESERVE) or "additionalProperties" in node for _, node in objects), [
        where for where, node in objects if not node.get(crds.PRESERVE) and "additionalProperties" not in node
    ]


def test_the_schema_types_what_the_contracts_type() -> None:
    spec = _schema("Image")["properties"]["spec"]["properties"]
    status = _schema("Image")["properties"]["status"]["properties"]

    assert spec["imageTaggingStrategy"]["enum"] == ["None", "BuildNumber", ""]
    assert spec["builder"]["properties"]["name"]["type"] == "string"
    assert spec["cache"]["properties"]["volume"]["properties"]["size"] == {
        "description": "Size of the cache PersistentVolumeClaim, a resource quantity such as `2G`.",
        "nullable": True,
        crds.INT_OR_STRING: True,
    }
    assert spec["build"]["properties"]["nodeSelector"]["additionalProperties"] == {"type": "string"}
    assert spec["failedBuildHistoryLimit"] == {
        "description": "Failed builds kept; defaults to 10.",
        "type": "integer",
        "nullable": True,
    }
    assert status["conditions"]["items"]["required"] == ["type"]
    assert status["conditions"]["items"]["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert _schema("Image", "v1alpha1")["properties"]["spec"]["properties"]["cacheSize"][crds.INT_OR_STRING]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param(
            ("imageTaggingStrategy",),
            "buildNumber",
            'spec.imageTaggingStrategy: Unsupported value: "buildNumber": supported values: "None", "BuildNumber", ""',
            id="an unknown tagging strategy",
        ),
        pytest.param(
            ("builder", "name"),
            42,
            'spec.builder.name: Invalid value: "integer": spec.builder.name in body must be of type string: "integer"',
            id="a number for the builder name",
        ),
        pytest.param(
            ("cache", "volume", "size"),
            ["2G"],
            'spec.cache.volume.size: Invalid value: "array": spec.cache.volume.size in body must be of type '
            'integer or string: "array"',
            id="a list for a quantity",
        ),
        pytest.param(
            ("additionalTags",),
            ["a", 1],
            'spec.additionalTags[1]: Invalid value: "integer": spec.additionalTags[1] in body must be of type '
            'string: "integer"',
            id="a number among the tags",
        ),
        pytest.param(
            ("build", "nodeSelector"),
            {"disk": True},
            'spec.build.nodeSelector.disk: Invalid value: "boolean": spec.build.nodeSelector.disk in body must be '
            'of type string: "boolean"',
            id="a boolean in a map of strings",
        ),
    ],
)
def test_the_image_schema_refuses_what_the_contracts_cannot_read(
    field: tuple[str, ...], value: Any, message: str
) -> None:
    image = copy.deepcopy(yaml.safe_load((FIXTURES / "image.yaml").read_text()))
    holder = image["spec"]
    for part in field[:-1]:
        holder = holder.setdefault(part, {})
    holder[field[-1]] = value

    assert _said(crds.violations(_schema("Image"), image)) == [message]
    with pytest.raises(pydantic.ValidationError):
        images.Image.model_validate(image)


def test_the_builder_half_schemas_type_what_the_contracts_type() -> None:
    store = _schema("ClusterStore")["properties"]
    stack = _schema("ClusterStack")["properties"]
    lifecycle = _schema("ClusterLifecycle")["properties"]
    group_entry = _schema("Builder")["properties"]["spec"]["properties"]["order"]["items"]["properties"][
        "group"
    ]

    assert store["spec"]["properties"]["sources"]["items"]["properties"]["image"]["type"] == "string"
    assert store["status"]["properties"]["buildpacks"]["items"]["properties"]["size"]["type"] == "integer"
    assert stack["spec"]["properties"]["buildImage"]["properties"]["image"]["type"] == "string"
    assert stack["status"]["properties"]["mixins"]["items"] == {"type": "string"}
    assert (
        lifecycle["status"]["properties"]["apis"]["properties"]["platform"]["properties"]["supported"]["type"]
        == "array"
    )
    assert group_entry["items"]["properties"]["optional"]["type"] == "boolean"
    assert (
        _schema("ClusterBuilder")["properties"]["spec"]["properties"]["serviceAccountRef"]["type"] == "object"
    )
    assert _schema("Buildpack")["properties"]["spec"]["properties"]["serviceAccountName"]["type"] == "string"


@pytest.mark.parametrize(
    ("kind", "spec", "message"),
    [
        pytest.param(
            "ClusterStore",
            {"sources": "registry.example/store"},
            'spec.sources: Invalid value: "string": spec.sources in body must be of type array: "string"',
            id="a ClusterStore source that is no list",
        ),
        pytest.param(
            "ClusterStack",
            {"buildImage": "registry.example/build"},
            'spec.buildImage: Invalid value: "string": spec.buildImage in body must be of type object: "string"',
            id="a ClusterStack build image given as a string",
        ),
        pytest.param(
            "Builder",
            {"order": [{"group": [{"id": "x", "optional": "maybe"}]}]},
            'spec.order[0].group[0].optional: Invalid value: "string": spec.order[0].group[0].optional in body '
            'must be of type boolean: "string"',
            id="a Builder group entry whose optional is no boolean",
        ),
        pytest.param(
            "ClusterBuildpack",
            {"image": ["registry.example/bp"]},
            'spec.image: Invalid value: "array": spec.image in body must be of type string: "array"',
            id="a ClusterBuildpack image given as a list",
        ),
    ],
)
def test_the_builder_half_schemas_refuse_what_the_contracts_cannot_read(
    kind: str, spec: dict[str, Any], message: str
) -> None:
    document = {"apiVersion": "kpack.io/v1alpha2", "kind": kind, "metadata": {"name": "x"}, "spec": spec}

    assert _said(crds.violations(_schema(kind), document)) == [message]
    with pytest.raises(pydantic.ValidationError):
        MODELS[kind].model_validate(document)


def test_a_missing_required_field_and_a_wrong_root_are_refused() -> None:
    image = {"status": {"conditions": [{"status": "True"}]}}

    assert _said(crds.violations(_schema("Image"), image)) == ["status.conditions[0].type: Required value"]
    assert _said(crds.violations(_schema("Image"), [])) == [
        '<root>: Invalid value: "array": <root> in body must be of type object: "array"'
    ]
    assert crds.violations({"type": "number"}, 1) == []
    assert crds.violations({"type": "number"}, 1.5) == []


V1ALPHA1_MODELS: dict[str, type[meta.KubeObject]] = {"Image": v1alpha1.Image, "Build": v1alpha1.Build}


@pytest.mark.parametrize("document", _kpack_fixtures(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_a_kpack_object_fits_its_crd_exactly_when_the_contracts_read_it(document: dict[str, Any]) -> None:
    version = document["apiVersion"].rsplit("/", 1)[-1]
    model = (V1ALPHA1_MODELS if version == "v1alpha1" else MODELS).get(
        document["kind"], MODELS[document["kind"]]
    )
    schema = _schema(document["kind"], version)
    try:
        read = model.model_validate(document)
    except pydantic.ValidationError:
        assert crds.violations(schema, document) != []
        return

    assert crds.violations(schema, document) == []
    assert crds.violations(schema, read.dump()) == []


def test_unknown_fields_and_nulls_are_not_refused() -> None:
    image = yaml.safe_load((FIXTURES / "image.yaml").read_text())
    image["spec"]["notary"] = {"v1": {"url": "https://notary.example"}}
    image["spec"]["imageTaggingStrategy"] = None
    image["spec"]["serviceAccountName"] = None

    assert crds.violations(_schema("Image"), image) == []


class _Union(meta.KubeModel):
    choice: str | bool = ""


class _Untyped(meta.KubeModel):
    value: Any = pydantic.Field(default=None, json_schema_extra={"minimum": 1})


class _Tuple(meta.KubeModel):
    pair: tuple[str, ...] = ()
    kind: Literal["a"] = "a"


def test_a_model_without_a_structural_schema_is_refused_naming_the_field() -> None:
    with pytest.raises(crds.NotStructuralError, match=r"_Union.choice: a union"):
        crds.object_schema(_Union)
    with pytest.raises(crds.NotStructuralError, match=r"_Untyped.value: .* has no type"):
        crds.object_schema(_Untyped)


def test_a_tuple_is_an_array_and_an_untyped_object_keeps_its_fields() -> None:
    schema = crds._structural(
        {"type": "object", "properties": {"pair": {"type": "array"}, "loose": {"type": "object"}}},
        defs={},
        path="x",
    )

    assert schema["properties"] == {
        "pair": {"type": "array", "items": {crds.PRESERVE: True}},
        "loose": {"type": "object", crds.PRESERVE: True},
    }
    with pytest.raises(crds.NotStructuralError, match="type 'null'"):
        crds._structural({"type": "null"}, defs={}, path="x")
    assert crds.object_schema(_Tuple)["properties"]["kind"] == {"type": "string", "enum": ["a"]}


def test_the_schemas_are_looked_up_by_kind_and_version() -> None:
    assert crds.schema_of("Image", "v1alpha1") == _schema("Image", "v1alpha1")
    assert crds.schema_of("ClusterBuilder", "v1alpha2") == _schema("ClusterBuilder")
    assert crds.schema_of("ClusterStack", "v1alpha1") == _schema("ClusterStack")
    assert crds.schema_of("ClusterLifecycle", "v1alpha1") is None, "served at v1alpha2 only, as kpack's"
    assert crds.schema_of("Pod", "v1") is None


def test_descriptions_are_docstrings_in_plain_backticks() -> None:
    assert crds._plain("At most :data:`~contracts.HISTORY`\n   of ``BuildNumber``.") == (
        "At most `contracts.HISTORY` of `BuildNumber`."
    )


def test_main_writes_every_crd_or_prints_them(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crds.main([str(tmp_path)])
    crds.main([])

    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == crds.rendered()
    printed = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [document["metadata"]["name"] for document in printed] == [
        f"{definition.plural}.kpack.io" for definition in crds.DEFINITIONS
    ]
