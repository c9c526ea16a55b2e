"""List, then watch from the list's resourceVersion; resume where a dropped stream stopped.

A watch that answers 410 Gone (the resumption point is too old) starts over with a fresh list, so
nothing between the two is missed; objects seen again in the new list are handed over again,
which idempotent handlers absorb.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubernetes_asyncio import watch
from kubernetes_asyncio.client.exceptions import ApiException

logger = logging.getLogger(__name__)

Lister = Callable[..., Awaitable[Any]]
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


async def watch_forever(
    lister: Lister,
    *args: Any,
    handle: Handler,
    serialize: Callable[[Any], Any],
    timeout_seconds: int = 30,
    retry_delay: float = 1.0,
    **kwargs: Any,
) -> None:
    """Hand every ADDED/MODIFIED/DELETED object of ``lister`` to ``handle`` until cancelled."""
    resource_version = ""
    while True:
        try:
            if not resource_version:
                resource_version = await _list(lister, *args, handle=handle, serialize=serialize, **kwargs)
            resource_version = await _watch(
                lister,
                *args,
                resource_version=resource_version,
                handle=handle,
                timeout_seconds=timeout_seconds,
                **kwargs,
            )
        except ApiException as e:
            if e.status == 410:
                logger.info("watch of %s expired (410 Gone): listing again", lister.__name__)
                resource_version = ""
                continue
            logger.warning(
                "watch of %s failed (%s); retrying in %.1f s", lister.__name__, e.status, retry_delay
            )
            await asyncio.sleep(retry_delay)
        except (TimeoutError, OSError, ValueError) as e:
            logger.warning("watch of %s dropped (%s); retrying in %.1f s", lister.__name__, e, retry_delay)
            await asyncio.sleep(retry_delay)


async def _list(
    lister: Lister, *args: Any, handle: Handler, serialize: Callable[[Any], Any], **kwargs: Any
) -> str:
    listed = serialize(await lister(*args, **kwargs))
    for item in listed.get("items") or []:
        await handle("ADDED", item)
    return str((listed.get("metadata") or {}).get("resourceVersion") or "")


async def _watch(
    lister: Lister,
    *args: Any,
    resource_version: str,
    handle: Handler,
    timeout_seconds: int,
    **kwargs: Any,
) -> str:
    stream = watch.Watch()
    async with stream.stream(
        lister,
        *args,
        resource_version=resource_version,
        timeout_seconds=timeout_seconds,
        allow_watch_bookmarks=True,
        **kwargs,
    ) as events:
        async for event in events:
            kind, obj = event["type"], event.get("raw_object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if kind == "ERROR":
                code = obj.get("code", 500)
                raise ApiException(status=code, reason=obj.get("message", "watch error"))
            if version:
                resource_version = str(version)
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                await handle(kind, obj)
    return resource_version
