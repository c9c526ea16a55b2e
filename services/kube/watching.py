"""List, then watch from the list's ``resourceVersion``; resume where a dropped stream stopped.

:func:`watch` is an informer loop without the cache's consumers: it yields typed
``WatchEvent(type, object)`` pairs (``ADDED``, ``MODIFIED``, ``DELETED``) for one kind:

1. **list** (retried like every request) and yield ``ADDED`` for each object;
2. **watch** from the list's ``resourceVersion`` with bookmarks; every event and bookmark
   moves the resumption point forward;
3. a stream that ends (``timeoutSeconds``) or drops (connection lost, 5xx in an ``ERROR``
   event) is **resumed from the last version seen**, so nothing is yielded twice;
4. ``410 Gone`` (the resumption point left the server's window) → **list again** and yield the
   difference with what was known: ``ADDED`` / ``MODIFIED`` for new or changed objects,
   ``DELETED`` for the ones that vanished, nothing for unchanged ones.

An object that does not fit its kind's model (:mod:`services.kube.parsing`) is not yielded and
never ends the watch: it is reported once per object and problem, and handed to ``on_unparsed``
(when given) as a ``WatchEvent`` of its :class:`~services.kube.parsing.Unparsed` record, in order
with the other events, so a caller can still act on its key.

Opening a stream retries temporary errors with ``services.retrying``; a permanent error (403,
404 for an unknown kind…) ends the generator with it. A :class:`WatchStatus`, when given, is told
whenever a stream opens or drops, so that readiness can say whether the watch is streaming now.
Cancel the consuming task, or close the generator (``contextlib.aclosing``), to stop: the open
stream is closed on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import aiohttp
import orjson
from kubernetes_asyncio.client.exceptions import ApiException

from services import errors, retrying
from services.kube import parsing, translating
from services.kube import settings as kube_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


class WatchEvent(NamedTuple, Generic[T]):
    """One change: ``type`` is ``ADDED``, ``MODIFIED`` or ``DELETED``."""

    type: str
    object: T


@dataclasses.dataclass(frozen=True)
class Listing(Generic[T]):
    """A list answer: the objects and the ``resourceVersion`` to watch from."""

    items: list[T]
    resource_version: str
    unparsed: list[parsing.Unparsed] = dataclasses.field(default_factory=list)
    """The listed objects that do not fit their model, left out of ``items``."""


class Watchable(Protocol[T_co]):
    """What :func:`watch` needs of a kind (:class:`services.kube.resources.Resource`)."""

    kind: str
    settings: kube_settings.KubeSettings
    skips: parsing.SkipLog

    async def list_raw(self, *, namespace: str | None, label_selector: str) -> dict[str, Any]: ...

    async def open_watch(
        self, *, namespace: str | None, label_selector: str, resource_version: str
    ) -> aiohttp.ClientResponse: ...

    def typed(self, raw: dict[str, Any]) -> T_co | parsing.Unparsed: ...


OnUnparsed = Callable[[WatchEvent[parsing.Unparsed]], Awaitable[None] | None]
"""Called with each change of an object that does not fit its model; may be sync or async."""
OnListed = Callable[[list[dict[str, Any]], str], None]
"""Called with every list answer's raw items and ``resourceVersion``, before the events it yields."""


class _Gone(Exception):
    """410: the resumption point is too old; list again."""


@dataclasses.dataclass
class WatchStatus:
    """Whether one followed watch is streaming now: a readiness check (``None`` when it is)."""

    where: str
    problem: str | None = "not started yet"
    """Why the watch is not streaming, or None while it is."""

    def streaming(self) -> None:
        self.problem = None

    def failed(self, reason: str) -> None:
        self.problem = reason

    def health(self) -> str | None:
        return None if self.problem is None else f"watch of {self.where}: {self.problem}"


async def watch(
    resource: Watchable[T],
    *,
    namespace: str | None = None,
    label_selector: str = "",
    on_unparsed: OnUnparsed | None = None,
    status: WatchStatus | None = None,
    on_listed: OnListed | None = None,
    slim: bool = False,
) -> AsyncGenerator[WatchEvent[T], None]:
    """Every change of ``resource``'s objects in ``namespace`` (None: all) matching the selector;
    those of objects that do not fit their model go to ``on_unparsed`` instead.

    ``on_listed`` sees every list answer whole (a cache replaces its contents with it). ``slim``
    is for a caller that holds the objects itself and takes each list answer whole through
    ``on_listed`` (a cache): the watch then remembers nothing of the objects between events (at
    10,000 Images that was 2 KB per Image), and a list answer comes as an ``ADDED`` event for every
    object it shows and none for those it no longer shows (``on_listed`` tells what is gone)."""
    if slim and on_listed is None:
        raise ValueError("a slim watch needs on_listed: it does not tell what a relist no longer shows")
    where = f"the watch of {resource.kind} in {namespace or 'all namespaces'}"
    changes = _changes(
        resource,
        namespace=namespace,
        label_selector=label_selector,
        status=status,
        on_listed=on_listed,
        remember=not slim,
    )
    async with contextlib.aclosing(changes):
        async for kind, found in changes:
            if not isinstance(found, parsing.Unparsed):
                yield WatchEvent(kind, found)
                continue
            if kind == DELETED:
                resource.skips.forget(found)
            else:
                resource.skips.skipped(found, where=where)
            # called here, not inside _changes: a failure of on_unparsed must end the watch, not be
            # taken for a dropped stream and resumed past the event
            handled = on_unparsed(WatchEvent(kind, found)) if on_unparsed is not None else None
            if handled is not None:
                await handled


async def _changes(
    resource: Watchable[T],
    *,
    namespace: str | None,
    label_selector: str,
    status: WatchStatus | None,
    on_listed: OnListed | None = None,
    remember: bool = True,
) -> AsyncGenerator[tuple[str, T | parsing.Unparsed], None]:
    """The list+watch loop: (type, typed object or what is wrong with it) for every change;
    ``known`` holds every object between events, unless not ``remember``."""
    known: dict[str, dict[str, Any]] | None = {} if remember else None
    version = ""
    where = f"{resource.kind} in {namespace or 'all namespaces'}"
    while True:
        if not version:
            listed = await resource.list_raw(namespace=namespace, label_selector=label_selector)
            version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
            if on_listed is not None:
                on_listed(listed.get("items") or [], version)
            for kind, raw in _relisted(known, listed.get("items") or []):
                yield kind, resource.typed(raw)
        try:
            response = await _open(resource, namespace=namespace, selector=label_selector, version=version)
        except _Gone:
            if status is not None:
                status.failed(f"version {version} is gone (410); listing again")
            logger.info("watch of %s: version %s is gone (410); listing again", where, version)
            version = ""
            continue
        if status is not None:
            status.streaming()
        try:
            buffer = b""
            async for chunk in response.content.iter_any():
                lines, buffer = _split(buffer + chunk)
                for event in lines:
                    kind, raw, version = _step(event, known, version=version)
                    if kind in (ADDED, MODIFIED, DELETED):
                        yield kind, resource.typed(raw)
        except _Gone:
            logger.info("watch of %s: version %s is gone (410); listing again", where, version)
            version = ""
        except (errors.TemporaryError, ValueError, *translating.TRANSPORT_ERRORS) as e:
            delay = resource.settings.backoff[0] if resource.settings.backoff else 0.0
            logger.warning("watch of %s dropped (%s); resuming from %s in %.1f s", where, e, version, delay)
            if status is not None:
                status.failed(f"dropped ({e}); resuming")
            await asyncio.sleep(delay)
        finally:
            response.close()


async def _open(
    resource: Watchable[T], *, namespace: str | None, selector: str, version: str
) -> aiohttp.ClientResponse:
    """A watch stream answering 200, retrying temporary failures; _Gone for 410."""
    settings = resource.settings
    async for attempt in retrying.retrying(settings.backoff, max_retry_after=settings.max_retry_after):
        with attempt:
            try:
                response = await resource.open_watch(
                    namespace=namespace, label_selector=selector, resource_version=version
                )
            except translating.TRANSPORT_ERRORS as e:
                raise translating.translate(e) from e
            if response.status == 200:
                return response
            try:
                data = await response.read()
            finally:
                response.release()
            if response.status == 410:
                raise _Gone()
            error = translating.api_error(response, data)
            raise translating.translate(error) from error
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


def _split(buffer: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """Complete JSON lines of ``buffer`` decoded, and the incomplete rest."""
    *complete, rest_ = buffer.split(b"\n")
    return [orjson.loads(line) for line in complete if line.strip()], rest_


def _step(
    event: dict[str, Any],
    known: dict[str, dict[str, Any]] | None,
    *,
    version: str,
) -> tuple[str, Any, str]:
    """Apply one watch event to ``known`` (if kept); returns (type, raw object, new resumption version)."""
    kind: str = event.get("type", "")
    raw: dict[str, Any] = event.get("object") or {}
    if kind == "ERROR":
        code = int(raw.get("code") or 500)
        if code == 410:
            raise _Gone()
        error = ApiException(status=code, reason=f"{raw.get('reason', '')}: {raw.get('message', '')}")
        raise translating.translate(error) from error
    version = str((raw.get("metadata") or {}).get("resourceVersion") or version)
    if known is None:
        pass
    elif kind in (ADDED, MODIFIED):
        known[_key(raw)] = raw
    elif kind == DELETED:
        known.pop(_key(raw), None)
    return kind, raw, version


def _relisted(known: dict[str, dict[str, Any]] | None, items: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Events that take ``known`` to ``items`` (a fresh list), updating ``known`` in place; with
    nothing known (a slim watch), every listed object as ``ADDED``."""
    if known is None:
        return [(ADDED, raw) for raw in items]
    fresh = {_key(raw): raw for raw in items}
    changes: list[tuple[str, Any]] = []
    for key, old in list(known.items()):
        new = fresh.get(key)
        if new is None or _meta(new, "uid") != _meta(old, "uid"):
            changes.append((DELETED, old))
            del known[key]
    for key, raw in fresh.items():
        seen = known.get(key)
        if seen is None:
            changes.append((ADDED, raw))
        elif _meta(seen, "resourceVersion") != _meta(raw, "resourceVersion"):
            changes.append((MODIFIED, raw))
        known[key] = raw
    return changes


def _meta(raw: dict[str, Any], field: str) -> str:
    return str((raw.get("metadata") or {}).get(field) or "")


def _key(raw: dict[str, Any]) -> str:
    return f"{_meta(raw, 'namespace')}/{_meta(raw, 'name')}"


async def follow(
    resource: Watchable[T],
    *,
    handle: Callable[[WatchEvent[T]], Awaitable[None] | None],
    on_unparsed: OnUnparsed | None = None,
    namespace: str | None = None,
    label_selector: str = "",
    restart_delay: float = 1.0,
    status: WatchStatus | None = None,
    on_listed: OnListed | None = None,
    slim: bool = False,
) -> None:
    """Hand every event of :func:`watch` to ``handle`` (and those of objects that do not fit their
    model to ``on_unparsed``), watching again whenever the watch gives up.

    Runs until cancelled; ``handle`` may be sync or async. ``status`` says whether it is streaming;
    ``on_listed`` and ``slim`` are :func:`watch`'s.
    """
    where = f"{resource.kind} in {namespace or 'all namespaces'}"
    while True:
        try:
            async with contextlib.aclosing(
                watch(
                    resource,
                    namespace=namespace,
                    label_selector=label_selector,
                    on_unparsed=on_unparsed,
                    status=status,
                    on_listed=on_listed,
                    slim=slim,
                )
            ) as events:
                async for event in events:
                    handled = handle(event)
                    if handled is not None:
                        await handled
        except errors.KilnError as e:
            logger.warning("watch of %s failed (%s); again in %.1f s", where, e, restart_delay)
            if status is not None:
                status.failed(f"failed ({e}); watching again")
        except Exception as e:
            logger.exception("watch of %s broke; again in %.1f s", where, restart_delay)
            if status is not None:
                status.failed(f"broke ({type(e).__name__}: {e}); watching again")
        await asyncio.sleep(restart_delay)
