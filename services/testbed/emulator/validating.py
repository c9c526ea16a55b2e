"""The checks the emulator makes on a written object: only the obviously malformed is refused.

Missing ``metadata.name`` without ``generateName``, a name that is not a DNS subdomain, a name or
namespace that contradicts the URL, or a ``kind`` that contradicts the resource. A kpack object
written over HTTP is also checked against the CRD schema Kiln deploys (:func:`against_schema`,
``contracts.crds``: types and enums), as an API server with those CRDs checks it; objects stored
with ``Emulator.create`` are not, which is how tests hold what an old or schema-less cluster
holds. Core kinds' schemas are not checked (see ``kubernetes-validate`` for pods and PVCs).
"""

from __future__ import annotations

import re
from typing import Any

from contracts import crds
from services.testbed.emulator import resources, statuses

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def _metadata(resource: resources.ResourceType, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise statuses.bad_request("the request body must be a JSON object")
    meta = body.get("metadata", {})
    if not isinstance(meta, dict):
        raise statuses.invalid(resource, "", [("metadata", "Invalid value: must be an object")])
    kind = body.get("kind")
    if kind is not None and kind != resource.kind:
        raise statuses.bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )
    return meta


def _check_namespace(resource: resources.ResourceType, namespace: str, meta: dict[str, Any]) -> None:
    sent = meta.get("namespace")
    if resource.namespaced and sent not in (None, "", namespace):
        raise statuses.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )


def for_create(resource: resources.ResourceType, namespace: str, body: Any) -> dict[str, Any]:
    """A fresh copy of ``body`` fit to be stored, or an ApiError (400/422)."""
    meta = dict(_metadata(resource, body))
    name = meta.get("name") or ""
    if not name and not meta.get("generateName"):
        message = "Required value: name or generateName is required"
        raise statuses.invalid(resource, "", [("metadata.name", message)])
    if name:
        _check_name(resource, name)
    _check_namespace(resource, namespace, meta)
    if resource.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    obj = {**body, "metadata": meta}
    obj.setdefault("apiVersion", resource.api_version())
    obj.setdefault("kind", resource.kind)
    return obj


def for_update(resource: resources.ResourceType, namespace: str, name: str, body: Any) -> None:
    meta = _metadata(resource, body)
    sent = meta.get("name")
    if sent != name:
        field = "metadata.name"
        message = (
            f'Invalid value: "{sent}": the name of the object ({sent}) '
            f"does not match the name on the URL ({name})"
        )
        raise statuses.invalid(resource, name, [(field, message)])
    _check_namespace(resource, namespace, meta)


def _check_name(resource: resources.ResourceType, name: str) -> None:
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise statuses.invalid(
            resource, name, [("metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_MESSAGE}')]
        )


def against_schema(
    resource: resources.ResourceType, version: str, body: Any, *, current: dict[str, Any] | None = None
) -> None:
    """422 naming every field of a kpack ``body`` that the CRD schema for ``version`` refuses.

    On an update, what ``current`` already had wrong is let through, as the API server's validation
    ratcheting does (Kubernetes 1.30+): a status write to an object stored before the schema refused
    its spec succeeds."""
    schema = crds.schema_of(resource.kind, version) if resource.group == resources.KPACK else None
    if schema is None or not isinstance(body, dict):
        return
    kept = set(crds.violations(schema, current)) if current is not None else set()
    found = [violation for violation in crds.violations(schema, body) if violation not in kept]
    if found:
        metadata = body.get("metadata")
        name = str(metadata.get("name") or "") if isinstance(metadata, dict) else ""
        raise statuses.invalid(resource, name, found)
