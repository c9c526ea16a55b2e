"""The aiohttp application: Kubernetes REST verbs over the store, discovery, admin paths."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.testbed.emulator import (
    admitting,
    answers,
    discovery,
    encoding,
    faults,
    logs,
    patching,
    routing,
    schemas,
    selectors,
    statuses,
    store,
    streaming,
    tables,
    validating,
)
from services.testbed.emulator import openapi as openapi_documents

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Context:
    """What every handler needs; one per emulator."""

    store: store.Store
    faults: faults.Faults
    bookmark_interval: float
    clock: Callable[[], datetime.datetime]
    answers: answers.Answers = dataclasses.field(default_factory=answers.Answers)
    """Responses by status code, verb and resource."""
    admission: admitting.Webhook | None = None
    """The admission webhook kpack Image and Build writes go through, when one is set."""
    encodings: encoding.Encodings = dataclasses.field(default_factory=encoding.Encodings)
    """The JSON of the objects served last, shared by an answer and the watch events of a write."""
    logs: logs.LogStore = dataclasses.field(default_factory=logs.LogStore)
    """Containers' log lines, as the simulated kubelet appends them."""


CONTEXT = web.AppKey("context", Context)


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return _json_response(encoding.dumps(body), status=status, headers=headers)


def _json_response(data: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=data, status=status, headers=headers, content_type="application/json")


def _respond_object(
    ctx: Context, target: routing.Target, obj: dict[str, Any], status: int = 200
) -> web.Response:
    """One stored object as read through ``target`` (its ``apiVersion``), encoded once for the
    answer and the watch events of the same write."""
    version = target.resource.api_version(target.version)
    return _json_response(ctx.encodings.object(obj, version), status=status)


def error_response(error: statuses.ApiError, headers: dict[str, str] | None = None) -> web.Response:
    return respond(error.body, status=error.code, headers=headers)


def _not_served() -> statuses.ApiError:
    return statuses.ApiError(404, "NotFound", "the server could not find the requested resource")


def _versioned(target: routing.Target, obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "apiVersion": target.resource.api_version(target.version)}


async def api(request: web.Request) -> web.StreamResponse:
    """Every path under /api and /apis; each answer to a resource is counted (``Context.answers``)."""
    ctx = request.app[CONTEXT]
    parsed = routing.parse(request.path)
    if not isinstance(parsed, routing.Target):
        return await _answer(request, ctx, parsed, verb="")
    watch = request.query.get("watch", "").lower() in ("true", "1")
    verb = parsed.verb(request.method, watch=watch)
    agent = request.headers.get("User-Agent", "")
    ctx.answers.request(agent, verb=verb, group=parsed.resource.group, resource=parsed.fault_resource)
    response = await _answer(request, ctx, parsed, verb=verb)
    ctx.answers.add(response.status, verb=verb, resource=parsed.fault_resource)
    return response


async def _answer(
    request: web.Request, ctx: Context, parsed: routing.Target | routing.Discovery | None, *, verb: str
) -> web.StreamResponse:
    try:
        if parsed is None:
            raise _not_served()
        if isinstance(parsed, routing.Discovery):
            return _discovery(request, parsed)
        fault = ctx.faults.pick(verb, parsed.fault_resource, parsed.namespace, parsed.name)
        if fault is not None:
            return await _inject(request, fault)
        if parsed.subresource == routing.LOG_SUBRESOURCE:
            return await _log(request, ctx, parsed)
        if verb == "watch":
            return await streaming.watch(
                request, ctx.store, parsed, bookmark_interval=ctx.bookmark_interval, encodings=ctx.encodings
            )
        handler = _HANDLERS.get(verb)
        if handler is None:
            raise statuses.ApiError(
                405, "MethodNotAllowed", f"the server does not allow {request.method} here"
            )
        return await handler(request, ctx, parsed)
    except statuses.ApiError as e:
        return error_response(e)
    except selectors.SelectorError as e:
        return error_response(statuses.bad_request(str(e)))
    except patching.PatchError as e:
        return error_response(statuses.ApiError(422, "Invalid", str(e)))
    except KeyError as e:
        return error_response(statuses.bad_request(f"missing field {e}"))


def _discovery(request: web.Request, parsed: routing.Discovery) -> web.Response:
    if parsed.legacy and parsed.version is None:
        return respond(discovery.core_versions(request.host))
    if parsed.group is None:
        return respond(discovery.group_list())
    document = (
        discovery.group(parsed.group)
        if parsed.version is None
        else discovery.resource_list(parsed.group, parsed.version)
    )
    if document is None:
        raise _not_served()
    return respond(document)


async def _inject(request: web.Request, fault: faults.Fault) -> web.Response:
    logger.info("injecting %s %s into %s %s", fault.action, fault.status, request.method, request.path_qs)
    if fault.action == "timeout":
        await asyncio.sleep(fault.hang_seconds)
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError
    reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
    error = statuses.ApiError(fault.status, reasons.get(fault.status, "InternalError"), "injected fault")
    headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else None
    return error_response(error, headers)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return encoding.loads(raw)
    except ValueError as e:
        raise statuses.bad_request(f"the request body is not JSON: {e}") from e


def _namespace_of(target: routing.Target) -> str:
    if target.resource.namespaced and target.namespace is None:
        raise _not_served()
    return target.namespace or ""


async def _get(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    assert target.name is not None
    stored = ctx.store.get(target.resource, _namespace_of(target), target.name)
    if tables.TABLE_ACCEPT in request.headers.get("Accept", ""):
        obj, version = _versioned(target, stored), stored["metadata"]["resourceVersion"]
        return respond(tables.table(target.resource, [obj], resource_version=version, now=ctx.clock()))
    return _respond_object(ctx, target, stored)


async def _list(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    labels, fields = _selectors(request)
    items = [
        _versioned(target, obj) for obj in ctx.store.select(target.resource, target.namespace, labels, fields)
    ]
    version = str(ctx.store.resource_version)
    if tables.TABLE_ACCEPT in request.headers.get("Accept", ""):
        return respond(tables.table(target.resource, items, resource_version=version, now=ctx.clock()))
    kind = f"{target.resource.kind}List"
    api_version = target.resource.api_version(target.version)
    return respond(
        {"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": version}, "items": items}
    )


def _selectors(request: web.Request) -> tuple[selectors.LabelSelector, selectors.Predicate | None]:
    fields = request.query.get("fieldSelector")
    labels = selectors.label_selector(request.query.get("labelSelector"))
    return labels, selectors.field_selector(fields) if fields else None


async def _create(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    if target.name is not None:
        raise statuses.ApiError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )
    body = _decoded(request, target, await _body(request))
    body = await _admitted(ctx, target, body)
    created = ctx.store.create(target.resource, _namespace_of(target), body)
    return _respond_object(ctx, target, created, status=201)


def _decoded(request: web.Request, target: routing.Target, body: Any, *, applying: bool = False) -> Any:
    """``body``, refused naming its unknown fields when the request asks ``fieldValidation=Strict``
    (as kubectl apply does) and its kind's schema (`schemas`) neither declares nor preserves them."""
    if request.query.get("fieldValidation") == "Strict" and isinstance(body, dict):
        namespace = target.namespace or ""
        schemas.refuse_unknown_fields(
            target.resource, target.version, body, namespace=namespace, applying=applying
        )
    return body


async def _admitted(ctx: Context, target: routing.Target, body: Any, *, current: Any = None) -> Any:
    """``body`` mutated by the admission webhook (when one is set), schema-checked, then validated."""
    webhook = admitting.admitted(ctx.admission, target)
    old = _versioned(target, current) if current is not None else None
    if webhook is not None:
        body = await admitting.mutate(webhook, target, body, old=old)
    validating.against_schema(target.resource, target.version, body, current=current)
    if webhook is not None:
        await admitting.validate(webhook, target, body, old=old)
    return body


async def _update(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    assert target.name is not None
    status = target.subresource == "status"
    body = _decoded(request, target, await _body(request))
    current = ctx.store.find(target.resource, _namespace_of(target), target.name)
    body = await _admitted(ctx, target, body, current=current)
    updated = ctx.store.update(target.resource, _namespace_of(target), target.name, body, status=status)
    return _respond_object(ctx, target, updated)


async def _patch(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    assert target.name is not None
    content_type = request.content_type
    if content_type not in patching.PATCH_TYPES:
        accepted = ", ".join(patching.PATCH_TYPES)
        message = (
            f"the body of the request was in an unknown format - accepted media types include: {accepted}"
        )
        raise statuses.ApiError(415, "UnsupportedMediaType", message)
    patch = patching.decode(content_type, await request.read())
    if content_type == patching.APPLY:
        patch = _decoded(request, target, patch, applying=True)
    namespace = _namespace_of(target)
    current = ctx.store.find(target.resource, namespace, target.name)
    if current is None and content_type == patching.APPLY:
        created = ctx.store.create(target.resource, namespace, await _admitted(ctx, target, patch))
        return _respond_object(ctx, target, created, status=201)
    if current is None:
        raise statuses.not_found(target.resource, target.name)
    merged = patching.apply(content_type, current, patch)
    if content_type != patching.APPLY:
        merged = _decoded(request, target, merged)
    patched = await _admitted(ctx, target, merged, current=current)
    status = target.subresource == "status"
    updated = ctx.store.update(target.resource, namespace, target.name, patched, status=status)
    return _respond_object(ctx, target, updated)


async def _delete_options(request: web.Request) -> dict[str, Any]:
    options = await _body(request)
    if not isinstance(options, dict):
        raise statuses.bad_request("DeleteOptions must be an object")
    if "propagationPolicy" in request.query:
        options["propagationPolicy"] = request.query["propagationPolicy"]
    return options


async def _delete(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    assert target.name is not None
    options = await _delete_options(request)
    preconditions = options.get("preconditions") or {}
    deleted = ctx.store.delete(
        target.resource,
        _namespace_of(target),
        target.name,
        uid=preconditions.get("uid"),
        resource_version=preconditions.get("resourceVersion"),
        propagation=options.get("propagationPolicy"),
    )
    return _respond_object(ctx, target, deleted)


async def _delete_collection(request: web.Request, ctx: Context, target: routing.Target) -> web.Response:
    options = await _delete_options(request)
    doomed = ctx.store.select(target.resource, target.namespace, *_selectors(request))
    for obj in doomed:
        meta = obj["metadata"]
        if ctx.store.find(target.resource, meta.get("namespace", ""), meta["name"]) is not None:
            ctx.store.delete(
                target.resource,
                meta.get("namespace", ""),
                meta["name"],
                propagation=options.get("propagationPolicy"),
            )
    return respond({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})


async def _log(request: web.Request, ctx: Context, target: routing.Target) -> web.StreamResponse:
    assert target.name is not None
    namespace = _namespace_of(target)
    return await logs.serve(
        request, objects=ctx.store, logs=ctx.logs, namespace=namespace, name=target.name, clock=ctx.clock
    )


async def append_logs(request: web.Request) -> web.Response:
    """``POST`` `logs.APPEND_PATH`: lines a kubelet appends to a pod's containers."""
    ctx = request.app[CONTEXT]
    return await logs.append(request, objects=ctx.store, logs=ctx.logs, clock=ctx.clock)


_HANDLERS = {
    "get": _get,
    "list": _list,
    "create": _create,
    "update": _update,
    "patch": _patch,
    "delete": _delete,
    "deletecollection": _delete_collection,
}


async def version(request: web.Request) -> web.Response:
    return respond(discovery.version())


async def openapi(request: web.Request) -> web.Response:
    """``/openapi/v2``, ``/openapi/v3`` and its group versions' documents (`openapi`)."""
    found = None
    if request.method in ("GET", "HEAD"):
        accept = request.headers.get("Accept", "")
        found = openapi_documents.answer(request.path, query_hash=request.query.get("hash"), accept=accept)
    if found is None:
        return error_response(_not_served())
    return web.Response(body=found.body, status=found.status, headers=found.headers)
