"""The REST operations of each kind the emulator serves, as OpenAPI v3 path items.

One path item per URL, as kube-apiserver publishes it: the collection (list, create, delete
collection), for a namespaced kind the list across namespaces, the object (read, replace, patch,
delete) and the status subresource (read, replace, patch). Every operation names its
``x-kubernetes-action`` and ``x-kubernetes-group-version-kind``; the write operations take
``fieldValidation``, which is what tells kubectl to leave validation to the server.
"""

from __future__ import annotations

from typing import Any

from services.testbed.emulator import resources, schemas

Operation = dict[str, Any]

_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_LIST = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "timeoutSeconds",
    "watch",
)
_DELETE = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_QUERY = {
    "allowWatchBookmarks": ("boolean", "Ask for BOOKMARK watch events."),
    "continue": ("string", "The continue token of the previous page of a list."),
    "dryRun": ("string", "When present, modifications are not persisted (All)."),
    "fieldManager": ("string", "A name for the actor making these changes."),
    "fieldSelector": ("string", "Restrict the list to objects whose fields match."),
    "fieldValidation": (
        "string",
        "What the server does with an object holding unknown or duplicate fields: Ignore drops "
        "them, Warn drops them with a warning per field, Strict refuses the request naming them.",
    ),
    "force": ("boolean", "Force an Apply request: take the conflicting fields from other managers."),
    "gracePeriodSeconds": ("integer", "The seconds before the object is deleted."),
    "labelSelector": ("string", "Restrict the list to objects whose labels match."),
    "limit": ("integer", "The most objects a list returns."),
    "pretty": ("string", "If 'true', the output is pretty printed."),
    "propagationPolicy": ("string", "Whether and how dependents are garbage collected."),
    "resourceVersion": ("string", "Which version of the objects is served."),
    "resourceVersionMatch": ("string", "How resourceVersion is applied to a list."),
    "timeoutSeconds": ("integer", "Timeout for a list or watch call."),
    "watch": ("boolean", "Watch for changes instead of listing."),
}
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "query",
            "description": _QUERY[name][1],
            "schema": {"type": _QUERY[name][0], "uniqueItems": True},
        }
        for name in names
    ]


def _path_parameters(*, namespaced: bool, named: bool) -> list[dict[str, Any]]:
    names = [("name", "name of the object")] if named else []
    names += (
        [("namespace", "object name and auth scope, such as for teams and projects")] if namespaced else []
    )
    path = [
        {"name": name, "in": "path", "description": text, "required": True, "schema": {"type": "string"}}
        for name, text in names
    ]
    return path + _query("pretty")


def path_items(resource: resources.ResourceType, version: str) -> dict[str, Any]:
    """URL template → path item, for every URL of ``resource`` at ``version``."""
    prefix = f"/apis/{resource.group}/{version}" if resource.group else f"/api/{version}"
    scoped = f"{prefix}/namespaces/{{namespace}}" if resource.namespaced else prefix
    collection, item = f"{scoped}/{resource.plural}", f"{scoped}/{resource.plural}/{{name}}"
    one = schemas.ref(schemas.definition_name(resource, version))
    many = schemas.ref(schemas.list_definition_name(resource, version))
    status = schemas.ref(schemas.STATUS)
    kind = _Kind(resource, version)
    items: dict[str, Any] = {
        collection: {
            "get": kind.operation("list", response=many, query=_LIST),
            "post": kind.operation("create", body=one, response=one, query=_WRITE, created=True),
            "delete": kind.operation("deletecollection", response=status, query=_LIST + _DELETE),
            "parameters": _path_parameters(namespaced=resource.namespaced, named=False),
        },
        item: {
            "get": kind.operation("get", response=one),
            "put": kind.operation("put", body=one, response=one, query=_WRITE, created=True),
            "patch": kind.patch(response=one),
            "delete": kind.operation("delete", response=one, query=_DELETE),
            "parameters": _path_parameters(namespaced=resource.namespaced, named=True),
        },
    }
    if resource.namespaced:
        every = kind.operation("list", response=many, query=_LIST, everywhere=True)
        items[f"{prefix}/{resource.plural}"] = {"get": every, "parameters": _query("pretty")}
    if resource.status_subresource:
        items[f"{item}/status"] = {
            "get": kind.operation("get", response=one, status=True),
            "put": kind.operation("put", body=one, response=one, query=_WRITE, status=True),
            "patch": kind.patch(response=one, status=True),
            "parameters": _path_parameters(namespaced=resource.namespaced, named=True),
        }
    return items


class _Kind:
    """Operations on one kind at one version."""

    _VERBS = {
        "list": "list",
        "create": "create",
        "deletecollection": "deleteCollection",
        "get": "read",
        "put": "replace",
        "patch": "patch",
        "delete": "delete",
    }

    def __init__(self, resource: resources.ResourceType, version: str) -> None:
        self.resource = resource
        self.version = version
        group = "".join(part.capitalize() for part in resource.group.split(".")) or "Core"
        self.tag = f"{group}{version.capitalize()}"

    def operation(
        self,
        action: str,
        *,
        response: dict[str, Any],
        body: dict[str, Any] | None = None,
        query: tuple[str, ...] = (),
        created: bool = False,
        status: bool = False,
        everywhere: bool = False,
        content_types: tuple[str, ...] = ("*/*",),
    ) -> Operation:
        r = self.resource
        scope = "ForAllNamespaces" if everywhere else "Namespaced" if r.namespaced else ""
        suffix = "Status" if status else ""
        what = f"status of the specified {r.kind}" if status else f"the specified {r.kind}"
        if action in ("list", "create", "deletecollection"):
            what = f"objects of kind {r.kind}" if action != "create" else f"a {r.kind}"
        operation: Operation = {
            "tags": [self.tag],
            "description": f"{self._VERBS[action]} {what}",
            "operationId": f"{self._VERBS[action]}{self.tag}{scope}{r.kind}{suffix}",
            "parameters": _query(*query),
        }
        if body is not None:
            content = {content_type: {"schema": body} for content_type in content_types}
            operation["requestBody"] = {"content": content, "required": True}
        answered = {
            "description": "OK",
            "content": {media_type: {"schema": response} for media_type in _ANSWERED_AS},
        }
        responses = {"200": answered}
        if created:
            responses["201"] = {**answered, "description": "Created"}
        operation["responses"] = {**responses, "401": {"description": "Unauthorized"}}
        operation["x-kubernetes-action"] = "post" if action == "create" else action
        gvk = {"group": r.group, "version": self.version, "kind": r.kind}
        operation["x-kubernetes-group-version-kind"] = gvk
        return operation

    def patch(self, *, response: dict[str, Any], status: bool = False) -> Operation:
        """Custom resources take every patch but a strategic merge patch."""
        custom = self.resource.group == resources.KPACK
        patch_types = tuple(t for t in _PATCH_TYPES if not (custom and "strategic" in t))
        return self.operation(
            "patch",
            response=response,
            body=schemas.ref(schemas.PATCH),
            query=(*_WRITE, "force"),
            created=True,
            status=status,
            content_types=patch_types,
        )


_ANSWERED_AS = ("application/json", "application/yaml")
