"""The OpenAPI schemas of the kinds the emulator serves, as kube-apiserver publishes them.

* kpack kinds: the CRD schemas Kiln deploys (`contracts.crds.schema_of`, not written twice),
  published as the API server publishes a CRD's: named ``io.kpack.<version>.<Kind>`` (the group
  reversed), ``metadata`` a reference to ObjectMeta, ``apiVersion`` and ``kind`` with the standard
  descriptions, the kind's ``x-kubernetes-group-version-kind``, and a ``<Kind>List`` beside it.
* core and storage kinds, and the ``meta/v1`` types everything references: the official
  Kubernetes 1.30 definitions that ``kubernetes-validate`` ships (descriptions, patch strategies,
  list types and kinds as the API server publishes them), turned from JSON Schema back into
  OpenAPI: a nullable type list is its one type, a reference with a description is an ``allOf``
  of the reference, a quantity is a string, an int-or-string is ``format: int-or-string``, and the
  ``apiVersion``/``kind`` enums the JSON Schema conversion added are dropped.

A schema refers to another as ``#/components/schemas/<name>`` (OpenAPI v3); `as_v2` rewrites one
for the v2 document. `unknown_fields` is what the API server's strict field validation reports.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Iterator, Mapping
from typing import Any

from contracts import crds
from services.testbed.emulator import resources, statuses

Schema = dict[str, Any]
REF = "#/components/schemas/"
GVK = "x-kubernetes-group-version-kind"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
PATCH = META + "Patch"
KUBERNETES_SCHEMAS = "v1.30.0-local"
"""The kubernetes-validate schema set matching the version the emulator reports (`discovery.version`)."""

_API_VERSION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer "
    "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More "
    "info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
_METADATA = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#lists-and-kinds"
)


def ref(name: str) -> Schema:
    return {"$ref": REF + name}


def _referring(name: str, description: str) -> Schema:
    return {"description": description, "allOf": [ref(name)], "default": {}}


def _type_meta(metadata: Schema) -> Schema:
    return {
        "apiVersion": {"description": _API_VERSION, "type": "string"},
        "kind": {"description": _KIND, "type": "string"},
        "metadata": metadata,
    }


def definition_name(resource: resources.ResourceType, version: str) -> str:
    """The name of ``resource``'s schema at ``version`` in the OpenAPI documents."""
    if resource.group == resources.KPACK:
        return f"{_reversed(resource.group)}.{version}.{resource.kind}"
    return _core_names()[(resource.group, version, resource.kind)]


def list_definition_name(resource: resources.ResourceType, version: str) -> str:
    if resource.group == resources.KPACK:
        return definition_name(resource, version) + "List"
    return _core_names()[(resource.group, version, resource.kind + "List")]


def _reversed(group: str) -> str:
    return ".".join(reversed(group.split(".")))


def components(group: str, version: str) -> dict[str, Schema]:
    """Every schema the document of one group version needs: its kinds, their lists, and what
    they reference."""
    served = [r for r in resources.RESOURCES if r.group == group and version in r.versions]
    found: dict[str, Schema] = {}
    for resource in served:
        if resource.group == resources.KPACK:
            found[definition_name(resource, version)] = _kpack_schema(resource, version)
            found[list_definition_name(resource, version)] = _kpack_list_schema(resource, version)
    pending = [name for name in _core_names().values() if _served_kind(name, served, version)]
    pending += [STATUS, DELETE_OPTIONS, PATCH, OBJECT_META, LIST_META]
    pending += [name for schema in found.values() for name in _references(schema)]
    core = core_definitions()
    while pending:
        name = pending.pop()
        if name not in found:
            found[name] = core[name]
            pending.extend(_references(core[name]))
    return dict(sorted(found.items()))


def _served_kind(name: str, served: list[resources.ResourceType], version: str) -> bool:
    return any(
        resource.group != resources.KPACK
        and name in (definition_name(resource, version), list_definition_name(resource, version))
        for resource in served
    )


def _references(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _references(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"].removeprefix(REF)] if isinstance(node.get("$ref"), str) else []
    return own + [name for value in node.values() for name in _references(value)]


_SCHEMALESS: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}}
"""A version the emulator serves that Kiln's CRDs do not (v1alpha1 of the kinds kpack added in
v1alpha2): anything is kept, as the emulator keeps it."""


def _kpack_schema(resource: resources.ResourceType, version: str) -> Schema:
    schema = crds.schema_of(resource.kind, version) or _SCHEMALESS
    properties = {
        **schema["properties"],
        **_type_meta(_referring(OBJECT_META, _METADATA)),
    }
    gvk = [{"group": resource.group, "kind": resource.kind, "version": version}]
    return {**schema, "properties": properties, GVK: gvk}


def _kpack_list_schema(resource: resources.ResourceType, version: str) -> Schema:
    items = {
        "description": f"List of {resource.plural}. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
        "type": "array",
        "items": ref(definition_name(resource, version)),
    }
    metadata = _referring(LIST_META, _LIST_METADATA)
    return {
        "description": f"{resource.kind}List is a list of {resource.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {"items": items, **_type_meta(metadata)},
        GVK: [{"group": resource.group, "kind": f"{resource.kind}List", "version": version}],
    }


class _CoreDefinitions(Mapping[str, Schema]):
    """The Kubernetes definitions by name, each turned into OpenAPI v3 when first asked for."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw
        self._converted: dict[str, Schema] = {}

    def __getitem__(self, name: str) -> Schema:
        if name not in self._converted:
            self._converted[name] = _openapi(self._raw[name])
        return self._converted[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@functools.cache
def core_definitions() -> Mapping[str, Schema]:
    """The Kubernetes definitions by name, in OpenAPI v3 form (the file read once)."""
    folder = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    text = (folder / KUBERNETES_SCHEMAS / "_definitions.json").read_text(encoding="utf-8")
    return _CoreDefinitions(json.loads(text)["$defs"])


@functools.cache
def _core_names() -> Mapping[tuple[str, str, str], str]:
    """(group, version, kind) → definition name, from each definition's group-version-kind."""
    definitions = core_definitions()
    assert isinstance(definitions, _CoreDefinitions)
    return {
        (gvk["group"], gvk["version"], gvk["kind"]): name
        for name, raw in definitions._raw.items()
        for gvk in raw.get(GVK, [])
        if name.startswith(("io.k8s.api.", META))
    }


def _openapi(node: Any) -> Any:
    """One JSON Schema node of kubernetes-validate as the API server's OpenAPI v3 has it."""
    if isinstance(node, list):
        return [_openapi(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "oneOf" in node:  # Quantity (string | number), IntOrString (string | integer)
        types = {t for member in node["oneOf"] for t in _types(member)}
        integer_or_string = {"type": "string", "format": "int-or-string"} if "integer" in types else {}
        described = {"description": node["description"]} if "description" in node else {}
        return {**described, "type": "string", **integer_or_string}
    converted: Schema = {}
    for key, value in node.items():
        if key == "enum":
            continue
        if key == "type":
            converted[key] = next(iter(_types(node)), "object")
        elif key == "$ref":
            converted[key] = REF + value.rsplit("/", 1)[-1]
        elif key in ("properties", "definitions"):
            converted[key] = {name: _openapi(field) for name, field in value.items()}
        else:
            converted[key] = _openapi(value)
    if "$ref" in converted and len(converted) > 1:
        converted = {**converted, "allOf": [{"$ref": converted.pop("$ref")}]}
    return converted


def _types(node: Schema) -> list[str]:
    declared = node.get("type", [])
    return [t for t in ([declared] if isinstance(declared, str) else declared) if t != "null"]


def as_v2(node: Any) -> Any:
    """A v3 schema as Swagger 2.0 has it: ``#/definitions/`` references (a single ``allOf``
    reference made a ``$ref`` again, its description beside it) and no ``nullable``."""
    if isinstance(node, list):
        return [as_v2(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_v2(value) for key, value in node.items() if key != "nullable"}
    if isinstance(converted.get("$ref"), str):
        converted["$ref"] = "#/definitions/" + converted["$ref"].removeprefix(REF)
    members = converted.get("allOf")
    if isinstance(members, list) and len(members) == 1 and set(members[0]) == {"$ref"}:
        converted.pop("allOf")
        converted.pop("default", None)
        converted = {"$ref": members[0]["$ref"], **converted}
    return converted


def unknown_fields(schema: Schema, value: Any, *, schemas: Mapping[str, Schema], path: str = "") -> list[str]:
    """The paths in ``value`` that ``schema`` neither declares nor preserves, as the API server's
    strict field validation names them (``spec.containers[0].imagee``, ``metadata.lables``)."""
    schema = _resolved(schema, schemas)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [
            found
            for index, item in enumerate(value)
            for found in unknown_fields(schema["items"], item, schemas=schemas, path=f"{path}[{index}]")
        ]
    if not isinstance(value, dict) or schema.get("x-kubernetes-embedded-resource"):
        return []
    properties: Mapping[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    free = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or (not properties and extra is None)
    found: list[str] = []
    for name, item in value.items():
        where = f"{path}.{name}" if path else name
        field = properties.get(name, extra if isinstance(extra, dict) else None)
        if field is not None:
            found += unknown_fields(field, item, schemas=schemas, path=where)
        elif not free and extra is not True:
            found.append(where)
    return found


def _resolved(schema: Schema, schemas: Mapping[str, Schema]) -> Schema:
    while True:
        members = schema.get("allOf")
        target = schema.get("$ref") or (members[0].get("$ref") if isinstance(members, list) else None)
        if not isinstance(target, str):
            return schema
        schema = schemas[target.removeprefix(REF)]


def refuse_unknown_fields(
    resource: resources.ResourceType, version: str, body: Any, *, namespace: str, applying: bool
) -> None:
    """What ``fieldValidation=Strict`` refuses: a 400 naming every field of ``body`` that the
    kind's schema neither declares nor preserves, worded as the API server words it when it
    decodes an object, or (``applying``) a server-side apply configuration."""
    components = _components_of(resource.group, version)
    found = unknown_fields(components[definition_name(resource, version)], body, schemas=components)
    if not found:
        return
    if applying:
        metadata = body.get("metadata") or {}
        key = "/".join(part for part in (namespace, str(metadata.get("name") or "")) if part)
        group_version = f"{resource.group}/{version}" if resource.group else f"/{version}"
        paths = ", ".join(f".{path}: field not declared in schema" for path in found)
        message = (
            f"failed to create typed patch object ({key}; {group_version}, Kind={resource.kind}): {paths}"
        )
    else:
        unknown = ", ".join(f'unknown field "{path}"' for path in found)
        kind = resource.kind
        message = (
            f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {unknown}'
        )
    raise statuses.bad_request(message)


@functools.cache
def _components_of(group: str, version: str) -> Mapping[str, Schema]:
    return components(group, version)
