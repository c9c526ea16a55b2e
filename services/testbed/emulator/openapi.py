"""The OpenAPI documents kube-apiserver serves, for the kinds the emulator serves.

* ``/openapi/v3``: the index, one ``serverRelativeURL`` per group version (``api/v1``,
  ``apis/kpack.io/v1alpha2``…) carrying the hash of its document;
* ``/openapi/v3/api/v1``, ``/openapi/v3/apis/<group>/<version>``: paths with their operations
  (each with ``x-kubernetes-action`` and ``x-kubernetes-group-version-kind``) and the
  ``components.schemas`` of `schemas`;
* ``/openapi/v2``: everything in one Swagger 2.0 document.

kubectl reads them as against a cluster: ``kubectl explain`` renders the v3 schemas, and
``kubectl apply`` (``--validate=strict``, its default) finds ``fieldValidation`` among the PATCH
parameters of the kind, so it leaves validation to the server and sends
``fieldValidation=Strict`` (`schemas.unknown_fields`). Served as JSON only: a client asking for
protobuf alone (kubectl's v2 reader, only used when v3 fails) is answered 406. A v3 document
asked for with a stale ``hash`` is redirected to the current one; with the current hash it may be
cached for good, as the API server allows.

Pure: documents are built from `resources` and `schemas` once and kept encoded.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Any

from services.testbed.emulator import discovery, encoding, operations, resources, schemas

Document = dict[str, Any]
V3 = "/openapi/v3"
V2 = "/openapi/v2"
JSON = "application/json"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What to send back for a request under ``/openapi``."""

    status: int
    body: bytes
    headers: dict[str, str]


def answer(path: str, *, query_hash: str | None, accept: str) -> Answer | None:
    """The answer to ``GET path``, or None when no document is served there (404)."""
    if path.rstrip("/") == V2:
        if not _accepts_json(accept):
            return _not_acceptable(accept)
        return Answer(200, _encoded_v2(), {"Content-Type": JSON})
    if path.rstrip("/") == V3:
        return Answer(200, _encoded_index(), {"Content-Type": JSON})
    key = path.removeprefix(V3 + "/").strip("/")
    if not path.startswith(V3 + "/") or key not in _group_versions():
        return None
    if not _accepts_json(accept):
        return _not_acceptable(accept)
    body, digest = _encoded_group_version(key)
    if query_hash is not None and query_hash != digest:
        return Answer(301, b"", {"Location": f"{V3}/{key}?hash={digest}"})
    headers = {"Content-Type": JSON, "ETag": f'"{digest}"'}
    if query_hash is not None:
        headers["Cache-Control"] = "public, immutable, max-age=31536000"
    return Answer(200, body, headers)


def _accepts_json(accept: str) -> bool:
    media = [part.split(";")[0].strip() for part in accept.split(",") if part.strip()]
    return not media or any(m in (JSON, "application/*", "*/*") for m in media)


def _not_acceptable(accept: str) -> Answer:
    message = f"only application/json is served, not {accept}"
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    body = {**status, "message": message, "reason": "NotAcceptable", "code": 406}
    return Answer(406, encoding.dumps(body), {"Content-Type": JSON})


def _group_versions() -> dict[str, tuple[str, str]]:
    """``api/v1`` or ``apis/<group>/<version>`` → (group, version), for every one served."""
    served: dict[str, tuple[str, str]] = {}
    for group, versions in resources.groups().items():
        for version in versions:
            served[f"apis/{group}/{version}" if group else f"api/{version}"] = (group, version)
    return served


@functools.cache
def _encoded_group_version(key: str) -> tuple[bytes, str]:
    body = encoding.dumps(group_version_document(*_group_versions()[key]))
    return body, hashlib.sha512(body).hexdigest().upper()


@functools.cache
def _encoded_index() -> bytes:
    return encoding.dumps(index())


@functools.cache
def _encoded_v2() -> bytes:
    return encoding.dumps(v2_document())


def index() -> Document:
    """The ``/openapi/v3`` index: where each group version's document is."""
    paths = {
        key: {"serverRelativeURL": f"{V3}/{key}?hash={_encoded_group_version(key)[1]}"}
        for key in _group_versions()
    }
    return {"paths": paths}


def _info() -> dict[str, str]:
    return {"title": "Kubernetes", "version": discovery.version()["gitVersion"]}


def group_version_document(group: str, version: str) -> Document:
    """The OpenAPI v3 document of one group version."""
    served = [r for r in resources.RESOURCES if r.group == group and version in r.versions]
    paths: dict[str, Any] = {}
    for resource in served:
        paths.update(operations.path_items(resource, version))
    return {
        "openapi": "3.0.0",
        "info": _info(),
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas.components(group, version)},
    }


def v2_document() -> Document:
    """Every group version in one Swagger 2.0 document."""
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for group, version in _group_versions().values():
        document = group_version_document(group, version)
        for path, item in document["paths"].items():
            paths[path] = {method: _operation_v2(op) for method, op in item.items()}
        definitions.update(schemas.as_v2(document["components"]["schemas"]))
    return {
        "swagger": "2.0",
        "info": _info(),
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }


def _operation_v2(operation: Any) -> Any:
    if isinstance(operation, list):  # a path's common parameters
        return [_parameter_v2(parameter) for parameter in operation]
    converted = {key: value for key, value in operation.items() if key not in ("requestBody", "responses")}
    converted["parameters"] = [_parameter_v2(parameter) for parameter in operation.get("parameters", [])]
    body = operation.get("requestBody")
    if body is not None:
        content = next(iter(body["content"].values()))
        converted["consumes"] = list(body["content"])
        body_parameter = {"name": "body", "in": "body", "required": True}
        converted["parameters"].insert(0, {**body_parameter, "schema": schemas.as_v2(content["schema"])})
    converted["produces"] = [JSON, "application/yaml"]
    converted["responses"] = {
        code: {"description": response["description"]}
        | ({"schema": schemas.as_v2(response["content"][JSON]["schema"])} if "content" in response else {})
        for code, response in operation["responses"].items()
    }
    return converted


def _parameter_v2(parameter: dict[str, Any]) -> dict[str, Any]:
    flat = {key: value for key, value in parameter.items() if key != "schema"}
    return {**flat, **parameter["schema"]}
