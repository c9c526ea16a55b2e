"""Watch responses: a chunked stream of JSON lines, one event per line, as the API server sends.

``resourceVersion`` unset or ``"0"``: synthetic ADDED events for what exists, then live events.
Any other version: only the events after it (410 Gone as an ERROR event when it is older than the
retained window). ``timeoutSeconds`` ends the stream; ``allowWatchBookmarks`` adds BOOKMARK events
every ``bookmark_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from services.testbed.emulator import encoding, routing, selectors, statuses, store, watching

logger = logging.getLogger(__name__)
_LIVENESS_SECONDS = 1.0
"""How often an idle watch checks that its client is still connected."""


def _line(kind: str, obj: dict[str, Any], api_version: str | None = None) -> bytes:
    """A line for an object that is not stored (a bookmark, an error)."""
    if api_version is not None:
        obj = {**obj, "apiVersion": api_version}
    return encoding.dumps({"type": kind, "object": obj}) + b"\n"


def _since(request: web.Request) -> int | None:
    text = request.query.get("resourceVersion", "")
    if text in ("", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        raise statuses.bad_request(f"invalid resource version: {text!r}") from None


def _subscribe(request: web.Request, objects: store.Store, target: routing.Target) -> watching.Watcher:
    labels = selectors.label_selector(request.query.get("labelSelector"))
    fields = selectors.field_selector(request.query.get("fieldSelector"))
    watcher = watching.Watcher(target.resource.key, target.namespace, lambda obj: labels(obj) and fields(obj))
    since = _since(request)
    if since is None:
        for obj in objects.select(target.resource, target.namespace, labels, fields):
            watcher.queue.put_nowait(("ADDED", obj))
    objects.events.subscribe(watcher, since=since)
    return watcher


async def watch(
    request: web.Request,
    objects: store.Store,
    target: routing.Target,
    *,
    bookmark_interval: float,
    encodings: encoding.Encodings,
) -> web.StreamResponse:
    """Serve one watch until its timeout, the client leaving, or the emulator stopping."""
    timeout = float(request.query.get("timeoutSeconds", 0)) or None
    bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        watcher = _subscribe(request, objects, target)
    except statuses.ApiError as e:
        if e.code != 410:
            raise
        await response.prepare(request)
        await response.write(_line("ERROR", e.body))
        return response
    await response.prepare(request)
    try:
        await _pump(
            request,
            response,
            watcher,
            objects,
            encodings,
            api_version=target.resource.api_version(target.version),
            seconds=timeout,
            bookmark=bookmark_interval if bookmarks else None,
        )
    except (ConnectionResetError, asyncio.CancelledError):
        logger.debug("watch client left: %s", request.path_qs)
    finally:
        objects.events.unsubscribe(watcher)
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    watcher: watching.Watcher,
    objects: store.Store,
    encodings: encoding.Encodings,
    *,
    api_version: str,
    seconds: float | None,
    bookmark: float | None,
) -> None:
    now = time.monotonic()
    deadline = now + seconds if seconds else None
    next_bookmark = now + bookmark if bookmark else None
    while True:
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return
        if next_bookmark is not None and now >= next_bookmark:
            marker = {"kind": "", "metadata": {"resourceVersion": str(objects.resource_version)}}
            await response.write(_line("BOOKMARK", marker, api_version))
            next_bookmark = now + (bookmark or 0)
        waits = [_LIVENESS_SECONDS] + [t - now for t in (deadline, next_bookmark) if t is not None]
        try:
            event = await asyncio.wait_for(watcher.queue.get(), timeout=max(0.0, min(waits)))
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return
            continue
        if event is None:
            return
        chunk = [encodings.event(*event, api_version)]
        while not watcher.queue.empty():
            more = watcher.queue.get_nowait()
            if more is None:
                await response.write(b"".join(chunk))
                return
            chunk.append(encodings.event(*more, api_version))
        await response.write(b"".join(chunk))
