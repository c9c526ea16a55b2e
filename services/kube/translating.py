"""The edge where ``kubernetes_asyncio`` and aiohttp failures become :mod:`services.errors`.

==========================================  =============================================
client failure                               Kiln error
==========================================  =============================================
404                                          NotFoundError
409 on create                                AlreadyExistsError
409 on update, patch or delete               ConflictError (stale resourceVersion / uid)
400, 422                                     InvalidError
429, 5xx                                     TemporaryError (with the ``Retry-After`` seconds)
other 4xx (401, 403, 405, 410…)              PermanentError
timeouts, connection errors, broken bodies   TemporaryError
==========================================  =============================================

:func:`call` sends one request and retries temporary errors with ``services.retrying``, waiting
at least as long as a 429's or 5xx's ``Retry-After`` asks (as client-go does); a
:class:`~services.errors.ConflictError` is *not* retried here: sending the same stale body again
cannot succeed, so it goes to the caller, who re-reads and decides again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio.client.exceptions import ApiException

from services import errors, retrying

logger = logging.getLogger(__name__)

TRANSPORT_ERRORS = (aiohttp.ClientError, OSError)
"""Failures below HTTP (``TimeoutError`` is an ``OSError``): the request may not have reached the
server, or its answer was lost."""
CLIENT_ERRORS = (ApiException, aiohttp.ClientError, OSError)
"""Every failure a request through the client can raise."""


def translate(
    error: BaseException, *, creating: bool = False, now: datetime | None = None
) -> errors.KilnError:
    """The Kiln error for a client failure (``creating``: the request was a create).

    A temporary answer keeps its ``Retry-After`` (an HTTP-date counts from ``now``, by default
    the current time) as the error's ``retry_after``."""
    if not isinstance(error, ApiException):
        return errors.TemporaryError(f"Kubernetes API unreachable: {type(error).__name__}: {error}")
    status, text = error.status or 0, f"{error.status} {error.reason}: {status_message(error)}"
    if status == 404:
        return errors.NotFoundError(text)
    if status == 409:
        return errors.AlreadyExistsError(text) if creating else errors.ConflictError(text)
    if status in (400, 422):
        return errors.InvalidError(text)
    if status == 429 or status >= 500 or status == 0:
        return errors.TemporaryError(text, retry_after=retry_after(error, now=now or datetime.now(UTC)))
    return errors.PermanentError(text)


def retry_after(error: ApiException, *, now: datetime) -> float | None:
    """The seconds the answer's ``Retry-After`` header asks for, if it has one."""
    headers = error.headers
    value = headers.get("Retry-After") if headers is not None else None
    return retrying.parse_retry_after(str(value) if value is not None else None, now=now)


def status_message(error: ApiException) -> str:
    """The ``message`` of the ``Status`` body the API server sent, else the raw body."""
    body = error.body or b""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return str(parsed.get("message", text)) if isinstance(parsed, dict) else text


async def read_json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """The JSON body of a ``_preload_content=False`` response; ApiException for non-2xx."""
    try:
        data = await response.read()
    finally:
        response.release()
    if not 200 <= response.status <= 299:
        raise api_error(response, data)
    try:
        parsed = orjson.loads(data) if data else {}
    except ValueError as e:
        raise errors.TemporaryError(f"Kubernetes API answered {response.status} with non-JSON") from e
    return parsed if isinstance(parsed, dict) else {}


def api_error(response: aiohttp.ClientResponse, data: bytes) -> ApiException:
    """The ``ApiException`` the client raises for a non-2xx answer with body ``data``."""
    error = ApiException(status=response.status, reason=response.reason)
    error.body = data
    error.headers = response.headers
    return error


async def call(
    operation: Callable[[], Awaitable[aiohttp.ClientResponse]],
    *,
    backoff: Sequence[float],
    creating: bool = False,
    deadline: float | None = None,
    max_retry_after: float = retrying.DEFAULT_MAX_RETRY_AFTER,
) -> dict[str, Any]:
    """Send ``operation`` (a raw-response API call) and return its JSON, retrying temporary errors.

    A :class:`~services.errors.ConflictError` is not retried (see the module docstring). An
    attempt that takes longer than ``deadline`` seconds in all is a temporary error, whatever the
    client's own timeouts cover. A ``Retry-After`` lengthens a wait up to ``max_retry_after`` s.
    """
    async for attempt in retrying.retrying(backoff, conflicts=False, max_retry_after=max_retry_after):
        with attempt:
            window = asyncio.timeout(deadline)
            try:
                async with window:
                    return await read_json(await operation())
            except CLIENT_ERRORS as e:
                if window.expired():
                    raise errors.TemporaryError(f"Kubernetes API: no answer within {deadline:g} s") from e
                raise translate(e, creating=creating) from e
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
