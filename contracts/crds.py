"""The kpack CustomResourceDefinitions, their OpenAPI schemas generated from the contracts' models.

Kiln refuses at the API what its services could not read: every field the contracts type is typed
in the CRD (``string``, ``integer``, ``boolean``, ``array``, ``object``), every ``Literal`` is an
``enum``, and every model that keeps unknown keys (all of ``meta.KubeModel``) keeps them in the
API too (``x-kubernetes-preserve-unknown-fields``), so kpack YAML with fields Kiln does not model
still applies. The schemas are Kubernetes *structural* schemas, derived from the models' JSON
Schema (:meth:`pydantic.BaseModel.model_json_schema`):

* ``$ref`` is inlined (the field's own description wins over the model's);
* ``X | None`` is ``X`` with ``nullable: true`` (an ``enum`` is left without it: the API server
  checks a null against the enum, which cannot list null, whereas a null for a non-nullable field
  is pruned, which the contracts read as unset all the same);
* ``str | int`` (a resource quantity) is ``x-kubernetes-int-or-string: true``; any other union
  has no structural form and is refused;
* ``dict[str, X]`` is ``additionalProperties: X``; ``dict[str, Any]`` and ``Any`` preserve
  whatever they hold; ``metadata`` is ``type: object`` only, as the API server requires;
* titles and defaults are dropped (defaulting is admission's job, with kpack's messages).

The committed files in ``deploy/crds/`` are this module's output; regenerate them after changing
a model with::

    python -m contracts.crds deploy/crds

(without a directory it prints every CRD as one YAML stream). A unit test fails when they differ.

Pure: no I/O outside :func:`main`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
import yaml

from contracts import builders, buildpacks, builds, images, meta, source_resolvers, stacks, v1alpha1

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
SCALARS = ("string", "integer", "number", "boolean")
LABELS = {"app.kubernetes.io/name": "kiln", "app.kubernetes.io/part-of": "kiln"}
REGENERATE = "python -m contracts.crds deploy/crds"
WEBHOOK_NAMESPACE = "kiln"
WEBHOOK_SERVICE = "kiln-admission"
"""The Service of ``kiln run admission`` (deploy/admission.yaml), which serves ``/convert``."""
WEBHOOK_CERTIFICATE = "kiln-admission"
"""The cert-manager Certificate whose CA the API server trusts the webhook with."""
INJECT_CA_FROM = "cert-manager.io/inject-ca-from"

KEY_ORDER = (
    "description",
    "type",
    "nullable",
    "enum",
    INT_OR_STRING,
    PRESERVE,
    "required",
    "items",
    "additionalProperties",
    "properties",
)
"""The order of a schema's keys in the committed files: what it is, then what it holds."""

Schema = dict[str, Any]


class NotStructuralError(ValueError):
    """A model has a field that no Kubernetes structural schema can express; the message names it."""


@dataclasses.dataclass(frozen=True)
class Column:
    """A ``kubectl get`` column."""

    name: str
    json_path: str
    type: str = "string"
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.priority:
            column["priority"] = self.priority
        return {**column, "jsonPath": self.json_path}


AGE = Column("Age", ".metadata.creationTimestamp", type="date")
LATEST_IMAGE = Column("LatestImage", ".status.latestImage")


def condition_column(condition: str) -> Column:
    return Column(condition, f'.status.conditions[?(@.type=="{condition}")].status')


READY_COLUMNS = (condition_column("Ready"), AGE)
"""The columns of the kinds whose status is a Ready condition and what it resolved."""


@dataclasses.dataclass(frozen=True)
class Definition:
    """One kpack kind: its names, scope, and per served version the model and the columns."""

    kind: str
    plural: str
    comment: str
    models: Mapping[str, type[meta.KubeObject]]
    """Served version → model; the first is the storage version."""
    columns: Mapping[str, Sequence[Column]]
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    converted_by_webhook: bool = False
    """The versions differ in shape: the API server converts through ``POST /convert`` of the
    admission webhook (:mod:`contracts.conversion`), its CA injected by cert-manager."""

    @property
    def file_name(self) -> str:
        return f"{self.plural}.yaml"

    def crd(self) -> dict[str, Any]:
        """The CustomResourceDefinition document."""
        names: dict[str, Any] = {
            "kind": self.kind,
            "listKind": f"{self.kind}List",
            "singular": self.kind.lower(),
            "plural": self.plural,
        }
        if self.short_names:
            names["shortNames"] = list(self.short_names)
        names["categories"] = ["kpack"]
        versions = [
            {
                "name": version,
                "served": True,
                "storage": index == 0,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [column.definition() for column in self.columns[version]],
                "schema": {"openAPIV3Schema": object_schema(model)},
            }
            for index, (version, model) in enumerate(self.models.items())
        ]
        metadata: dict[str, Any] = {"name": f"{self.plural}.{meta.API_GROUP}", "labels": dict(LABELS)}
        conversion: dict[str, Any] = {"strategy": "None"}
        if self.converted_by_webhook:
            metadata["annotations"] = {INJECT_CA_FROM: f"{WEBHOOK_NAMESPACE}/{WEBHOOK_CERTIFICATE}"}
            service = {
                "namespace": WEBHOOK_NAMESPACE,
                "name": WEBHOOK_SERVICE,
                "path": "/convert",
                "port": 443,
            }
            conversion = {
                "strategy": "Webhook",
                "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {"service": service}},
            }
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": metadata,
            "spec": {
                "group": meta.API_GROUP,
                "names": names,
                "scope": "Namespaced" if self.namespaced else "Cluster",
                "conversion": conversion,
                "versions": versions,
            },
        }

    def render(self) -> str:
        """The committed file: a comment, then the CRD as YAML."""
        header = "".join(f"# {line}".rstrip() + "\n" for line in self.comment.strip().splitlines())
        generated = f"# Generated from the contracts' models by `{REGENERATE}`: do not edit.\n#\n"
        return generated + header + yaml.safe_dump(self.crd(), sort_keys=False, width=1000)


def object_schema(model: type[pydantic.BaseModel]) -> Schema:
    """The structural OpenAPI v3 schema of a Kubernetes object ``model``."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    structural = _structural(schema, defs=schema.get("$defs", {}), path=model.__name__)
    structural["properties"]["metadata"] = {"type": "object"}
    return structural


def _structural(node: Schema, *, defs: Mapping[str, Schema], path: str) -> Schema:
    """``node`` (pydantic JSON Schema) as a structural schema; ``path`` names it in errors."""
    description = node.get("description")
    if "$ref" in node:
        resolved = _structural(defs[node["$ref"].rsplit("/", 1)[-1]], defs=defs, path=path)
    elif "anyOf" in node:
        resolved = _union(node["anyOf"], defs=defs, path=path)
    else:
        resolved = _typed(node, defs=defs, path=path)
    if description:
        resolved["description"] = _plain(description)
    return {key: resolved[key] for key in sorted(resolved, key=KEY_ORDER.index)}


def _union(members: list[Schema], *, defs: Mapping[str, Schema], path: str) -> Schema:
    present = [member for member in members if member.get("type") != "null"]
    nullable = len(present) < len(members)
    if len(present) == 1:
        schema = _structural(present[0], defs=defs, path=path)
    elif sorted(member.get("type", "") for member in present) == ["integer", "string"]:
        schema = {INT_OR_STRING: True}
    else:
        raise NotStructuralError(f"{path}: a union of {present} has no structural schema")
    if nullable and "enum" not in schema:
        schema["nullable"] = True
    return schema


def _typed(node: Schema, *, defs: Mapping[str, Schema], path: str) -> Schema:
    kind = node.get("type")
    description = {"description": _plain(node["description"])} if node.get("description") else {}
    if kind is None:
        if set(node) - {"description", "title", "default"}:
            raise NotStructuralError(f"{path}: {node} has no type")
        return {**description, PRESERVE: True}
    if kind in SCALARS:
        allowed = [node["const"]] if "const" in node else node.get("enum")
        return {**description, "type": kind, **({"enum": list(allowed)} if allowed is not None else {})}
    if kind == "array":
        items = _structural(node.get("items", {}), defs=defs, path=f"{path}[]")
        return {**description, "type": "array", "items": items}
    if kind != "object":
        raise NotStructuralError(f"{path}: type {kind!r} has no structural schema")
    schema: Schema = {**description, "type": "object"}
    extra = node.get("additionalProperties")
    if extra is True or (extra is None and "properties" not in node):
        schema[PRESERVE] = True
    elif isinstance(extra, dict):
        schema["additionalProperties"] = _structural(extra, defs=defs, path=f"{path}.*")
    if node.get("required"):
        schema["required"] = list(node["required"])
    if "properties" in node:
        schema["properties"] = {
            name: _structural(field, defs=defs, path=f"{path}.{name}")
            for name, field in node["properties"].items()
        }
    return schema


def _plain(text: str) -> str:
    """A docstring as ``kubectl explain`` shows it: reStructuredText literals and roles
    (``:data:`HISTORY```) in plain backticks, on one line."""
    return " ".join(_ROLE.sub("`", text.replace("``", "`")).split())


_ROLE = re.compile(r":[a-z]+:`~?")


IMAGE_COMMENT = """
kpack-compatible Image (kpack.io). The schema types every field Kiln's contracts model (enums for
kpack's fixed values), so a mistyped Image is refused at the API with the field named; fields Kiln
does not model are preserved, so kpack YAML applies unchanged. kpack's messages for values of the
right type (required fields, immutable fields, cache rules) come from Kiln's admission
(contracts.admission), and an Image stored before this schema still gets Ready=False naming the
field from the image-reconciler.

Conversion strategy Webhook: the API server converts between v1alpha1 and v1alpha2 (stored) with
POST /convert of `kiln run admission` (Service kiln-admission in namespace kiln, deploy/admission.yaml;
contracts.conversion: spec.serviceAccount ⇄ spec.serviceAccountName, spec.cacheSize ⇄
spec.cache.volume.size, spec.build.bindings ⇄ spec.build.cnbBindings, the rest in kpack's
annotations). cert-manager injects the webhook's CA (cert-manager.io/inject-ca-from). The same
server defaults and validates v1alpha2 Images at admission with kpack's messages.
"""

DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        kind=images.KIND,
        plural="images",
        comment=IMAGE_COMMENT,
        models={"v1alpha2": images.Image, "v1alpha1": v1alpha1.Image},
        columns={
            "v1alpha2": [
                LATEST_IMAGE,
                condition_column("Ready"),
                Column("Reason", ".status.latestBuildReason", priority=1),
                AGE,
            ],
            "v1alpha1": [LATEST_IMAGE, condition_column("Ready"), AGE],
        },
        short_names=("cnbimage", "cnbimages", "img", "imgs"),
        converted_by_webhook=True,
    ),
    Definition(
        kind=builds.KIND,
        plural="builds",
        comment="""
kpack-compatible Build (kpack.io). Builds are created by Kiln's image-reconciler from an Image
(or by users directly); Kiln's build-runner turns each into a build pod.

Conversion strategy Webhook, as for Images (spec.cacheName ⇄
spec.cache.volume.persistentVolumeClaimName, spec.serviceAccount ⇄ spec.serviceAccountName);
see images.yaml.
""",
        models={"v1alpha2": builds.Build, "v1alpha1": v1alpha1.Build},
        columns={
            version: [Column("Image", ".status.latestImage"), condition_column("Succeeded"), AGE]
            for version in ("v1alpha2", "v1alpha1")
        },
        short_names=("cnbbuild", "cnbbuilds", "bld", "blds"),
        converted_by_webhook=True,
    ),
    Definition(
        kind=builders.BUILDER,
        plural="builders",
        comment="""
kpack-compatible Builder (kpack.io), namespaced: usable by Images in its namespace. Its spec
names a ClusterStack, a ClusterLifecycle, optionally a ClusterStore, and an order of buildpack
groups; Kiln's builder service makes the builder image from them and writes the status
(latestImage, builderMetadata, stack.runImage, lifecycle, Ready, UpToDate), which the
image-reconciler reads to decide rebuilds (builder.changed events from the bridge). kpack's
defaults and messages (`missing field(s): spec.tag`, …) come from Kiln's admission webhook
(contracts.builder_admission).

Conversion strategy None: v1alpha1 and v1alpha2 Builders have the same shape, so rewriting
apiVersion is the whole conversion.
""",
        models={"v1alpha2": builders.Builder, "v1alpha1": builders.Builder},
        columns={
            "v1alpha2": [LATEST_IMAGE, condition_column("Ready"), condition_column("UpToDate"), AGE],
            "v1alpha1": [LATEST_IMAGE, condition_column("Ready"), AGE],
        },
        short_names=("bldr", "bldrs"),
    ),
    Definition(
        kind=builders.CLUSTER_BUILDER,
        plural="clusterbuilders",
        comment="""
kpack-compatible ClusterBuilder (kpack.io), cluster-scoped: usable by Images in any namespace
(spec.builder.kind: ClusterBuilder). Made and read exactly as a Builder, its pushing account named
by spec.serviceAccountRef. Admission as kpack's: only the lifecycle is defaulted, so stack.kind:
ClusterStack must be spelt, and the messages name the spec's fields without `spec.`
(`missing field(s): tag`).

Conversion strategy None: v1alpha1 and v1alpha2 ClusterBuilders have the same shape, so
rewriting apiVersion is the whole conversion.
""",
        models={"v1alpha2": builders.Builder, "v1alpha1": builders.Builder},
        columns={
            "v1alpha2": [LATEST_IMAGE, condition_column("Ready"), condition_column("UpToDate"), AGE],
            "v1alpha1": [LATEST_IMAGE, condition_column("Ready"), AGE],
        },
        short_names=("clstbldr", "clstbldrs"),
        namespaced=False,
    ),
    Definition(
        kind=buildpacks.CLUSTER_STORE,
        plural="clusterstores",
        comment="""
kpack-compatible ClusterStore (kpack.io), cluster-scoped: buildpackage images (spec.sources) whose
buildpacks Kiln's builder service lists in status.buildpacks for Builders to resolve their order
against. Admission (contracts.builder_admission) refuses a store without sources or with a source
that is no image reference, with kpack's messages.

Conversion strategy None, as kpack's: v1alpha1 is served with the same shape.
""",
        models={"v1alpha2": buildpacks.ClusterStore, "v1alpha1": buildpacks.ClusterStore},
        columns=dict.fromkeys(("v1alpha2", "v1alpha1"), READY_COLUMNS),
        namespaced=False,
    ),
    Definition(
        kind=stacks.CLUSTER_STACK,
        plural="clusterstacks",
        comment="""
kpack-compatible ClusterStack (kpack.io), cluster-scoped: the build and run images builders are
made from, with the stack id they must carry. Kiln's builder service resolves them to digests
(status.buildImage, status.runImage), and a new run image reaches every Image as a rebase.

Conversion strategy None, as kpack's: v1alpha1 is served with the same shape.
""",
        models={"v1alpha2": stacks.ClusterStack, "v1alpha1": stacks.ClusterStack},
        columns=dict.fromkeys(("v1alpha2", "v1alpha1"), READY_COLUMNS),
        namespaced=False,
    ),
    Definition(
        kind=stacks.CLUSTER_LIFECYCLE,
        plural="clusterlifecycles",
        comment="""
kpack-compatible ClusterLifecycle (kpack.io), cluster-scoped: the CNB lifecycle image builders
carry. A Builder that names none uses the one named default-lifecycle. Served at v1alpha2 only,
as kpack's.
""",
        models={"v1alpha2": stacks.ClusterLifecycle},
        columns={"v1alpha2": READY_COLUMNS},
        namespaced=False,
    ),
    Definition(
        kind=buildpacks.BUILDPACK,
        plural="buildpacks",
        comment="""
kpack-compatible Buildpack (kpack.io), namespaced: one buildpackage image whose buildpacks the
Builders of its namespace may name in their order (kind: Buildpack). Served at v1alpha2 only, as
kpack's; spec.serviceAccountName defaults to default at admission.
""",
        models={"v1alpha2": buildpacks.Buildpack},
        columns={"v1alpha2": READY_COLUMNS},
        short_names=("bp", "bps"),
    ),
    Definition(
        kind=buildpacks.CLUSTER_BUILDPACK,
        plural="clusterbuildpacks",
        comment="""
kpack-compatible ClusterBuildpack (kpack.io), cluster-scoped: one buildpackage image whose
buildpacks any Builder or ClusterBuilder may name in its order (kind: ClusterBuildpack). Served at
v1alpha2 only, as kpack's.
""",
        models={"v1alpha2": buildpacks.ClusterBuildpack},
        columns={"v1alpha2": READY_COLUMNS},
        short_names=("clstbp", "clstbps"),
        namespaced=False,
    ),
    Definition(
        kind=source_resolvers.KIND,
        plural="sourceresolvers",
        comment="""
kpack-compatible SourceResolver (kpack.io): one per Image, named <image>-source and owned by it.
Kiln resolves git revisions from push webhooks (the triggers service) instead of polling.

Conversion strategy None: v1alpha1 and v1alpha2 SourceResolvers differ only in
spec.serviceAccount(Name), which Kiln's admission webhook converts before storage (see
images.yaml).
""",
        models={"v1alpha2": source_resolvers.SourceResolver, "v1alpha1": source_resolvers.SourceResolver},
        columns={version: [condition_column("Ready"), AGE] for version in ("v1alpha2", "v1alpha1")},
    ),
)


def violations(schema: Schema, value: Any, *, path: str = "") -> list[tuple[str, str]]:
    """What the API server says of ``value`` against a structural ``schema`` (types, enums,
    nullable, required, int-or-string): ``(field, message)`` as it words them; [] when it fits.

    Enough for the emulator and the tests to refuse what a real API server with these CRDs refuses;
    not a general OpenAPI validator (no formats, patterns or bounds: the contracts declare none)."""
    where = path or "<root>"
    if value is None:  # kept where nullable, pruned elsewhere: never refused
        return []
    if schema.get(INT_OR_STRING):
        return (
            []
            if _json_type(value) in ("integer", "string")
            else [_wrong_type(where, value, "integer or string")]
        )
    expected = schema.get("type")
    if expected is not None and not _fits(expected, value):
        return [_wrong_type(where, value, expected)]
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(f'"{v}"' for v in schema["enum"])
        return [(where, f'Unsupported value: "{value}": supported values: {supported}')]
    if isinstance(value, list):
        return [
            v
            for i, item in enumerate(value)
            for v in violations(schema.get("items", {}), item, path=f"{path}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    found = [
        (_joined(path, name), "Required value") for name in schema.get("required", []) if name not in value
    ]
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
    for name, item in value.items():
        field = properties.get(name, extra if isinstance(extra, dict) else None)
        if field is not None:
            found += violations(field, item, path=_joined(path, name))
    return found


def _fits(expected: str, value: Any) -> bool:
    actual = _json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "null"


def _wrong_type(where: str, value: Any, expected: str) -> tuple[str, str]:
    actual = _json_type(value)
    return where, f'Invalid value: "{actual}": {where} in body must be of type {expected}: "{actual}"'


def _joined(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def schema_of(kind: str, version: str) -> Schema | None:
    """The ``openAPIV3Schema`` of kpack ``kind`` at ``version``, or None for a kind not defined here."""
    return _SCHEMAS.get((kind, version))


def rendered() -> dict[str, str]:
    """File name → the committed text, for every CRD."""
    return {definition.file_name: definition.render() for definition in DEFINITIONS}


_SCHEMAS: Mapping[tuple[str, str], Schema] = {
    (definition.kind, version): object_schema(model)
    for definition in DEFINITIONS
    for version, model in definition.models.items()
}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m contracts.crds [DIR]``: write one file per CRD into DIR, or print them all."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("---\n".join(rendered().values()), end="")
        return
    directory = pathlib.Path(args[0])
    for name, text in rendered().items():
        (directory / name).write_text(text)


if __name__ == "__main__":
    main()
