"""One authorised HTTP request to a registry, with third-party errors translated at the edge.

The flow for each request: attach what we already hold for (host, scope) — a cached bearer
token, or basic credentials for a host that asked for basic — and send; on 401 parse the
``WWW-Authenticate`` challenge, answer it (basic, or GET the token realm with the host's basic
credentials for a ``token``/``access_token``), cache the token per scope and send once more.

Status translation: 404 → NotFoundError; 401/403 → auth.AuthError; 400 → InvalidError;
429, 5xx, timeouts, connection errors → TemporaryError (a 429's or 5xx's ``Retry-After`` kept as
its ``retry_after``, which the client's retries honour); other 4xx → PermanentError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

import httpx

from services import errors, retrying
from services.registry import auth

logger = logging.getLogger(__name__)

_DEFAULT_TOKEN_SECONDS = 60.0
_MAX_TOKENS = 1024


@dataclasses.dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


class Session:
    """Sends requests for a :class:`~services.registry.client.RegistryClient`; owns no client.

    Each request may bring its own keychain (a Build's service account's, say); bearer tokens are
    cached per (host, scope, credentials), so one identity's token never serves another."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        keychain: auth.Keychain,
        max_concurrency: int = 32,
        deadline: float = 60.0,
    ) -> None:
        """``keychain`` serves requests that bring none. At most ``max_concurrency`` requests are
        in flight at once (the rest wait here, not in the HTTP client's connection pool, whose
        queue can stall under contention), and each gets ``deadline`` seconds in all before it
        counts as a temporary failure."""
        self._http = http
        self._keychain = keychain
        self._slots = asyncio.Semaphore(max_concurrency)
        self._deadline = deadline
        self._tokens: dict[tuple[str, str, auth.Credentials | None], _Token] = {}
        self._basic_hosts: set[str] = set()

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        host: str,
        scope: str,
        subject: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        allow: Collection[int] = (),
        follow_redirects: bool = False,
        keychain: auth.Keychain | None = None,
    ) -> httpx.Response:
        """Send with auth; return a 2xx/3xx response or one whose status is in ``allow``.

        ``subject`` names what we were doing for error messages (``image 127.0.0.1:5000/app:v1``);
        ``keychain`` replaces the session's own for this request.
        """
        send = functools.partial(
            self._send, method, url, subject=subject, content=content, follow_redirects=follow_redirects
        )
        chain = self._keychain if keychain is None else keychain
        send_headers = dict(headers or {})
        authorization = self._held_authorization(host, scope, chain.get(host))
        if authorization:
            send_headers["Authorization"] = authorization
        response = await send(headers=send_headers)
        if response.status_code == 401:
            challenge = auth.parse_challenge(response.headers.get("WWW-Authenticate", ""))
            answer = await self._answer(challenge, host=host, scope=scope, subject=subject, keychain=chain)
            response = await send(headers={**send_headers, "Authorization": answer})
            if response.status_code in (401, 403):
                raise auth.AuthError(_refusal(response, host=host, subject=subject, keychain=chain))
        if response.status_code in allow:
            return response
        _raise_for_status(response, host=host, subject=subject)
        return response

    async def _send(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str],
        subject: str,
        content: bytes | None,
        follow_redirects: bool,
    ) -> httpx.Response:
        try:
            async with self._slots, asyncio.timeout(self._deadline):
                return await self._http.request(
                    method, url, headers=headers, content=content, follow_redirects=follow_redirects
                )
        except TimeoutError as e:
            raise errors.TemporaryError(
                f"{subject}: {method} {url}: no answer within {self._deadline:g} s"
            ) from e
        except httpx.UnsupportedProtocol as e:
            raise errors.PermanentError(f"{subject}: {method} {url}: {e}") from e
        except httpx.TransportError as e:
            raise errors.TemporaryError(f"{subject}: {method} {url}: {type(e).__name__}: {e}") from e

    def _held_authorization(self, host: str, scope: str, credentials: auth.Credentials | None) -> str | None:
        token = self._tokens.get((host, scope, credentials))
        if token is not None and token.expires_at > time.monotonic():
            return f"Bearer {token.value}"
        if host in self._basic_hosts and credentials is not None:
            return credentials.basic_header()
        return None

    async def _answer(
        self,
        challenge: auth.Challenge,
        *,
        host: str,
        scope: str,
        subject: str,
        keychain: auth.Keychain,
    ) -> str:
        credentials = keychain.get(host)
        if challenge.scheme == "basic":
            if credentials is None:
                raise auth.AuthError(
                    f"{subject}: registry {host} requires basic auth; {keychain.missing(host)}"
                )
            self._basic_hosts.add(host)
            return credentials.basic_header()
        if challenge.scheme == "bearer":
            token = await self._fetch_token(challenge, host=host, scope=scope, credentials=credentials)
            self._keep(token, key=(host, scope, credentials))
            return f"Bearer {token.value}"
        raise auth.AuthError(f"{subject}: registry {host} asks for unsupported auth {challenge.scheme!r}")

    def _keep(self, token: _Token, *, key: tuple[str, str, auth.Credentials | None]) -> None:
        """Cache ``token``; expired ones are dropped once the cache grows past a bound."""
        if len(self._tokens) >= _MAX_TOKENS:
            now = time.monotonic()
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
        self._tokens[key] = token

    async def _fetch_token(
        self, challenge: auth.Challenge, *, host: str, scope: str, credentials: auth.Credentials | None
    ) -> _Token:
        if not challenge.realm:
            raise auth.AuthError(f"registry {host} sent a bearer challenge without a realm")
        scopes = auth.split_scopes(scope, challenge.scope)
        url = httpx.URL(challenge.realm).copy_merge_params({"scope": scopes})
        if challenge.service:
            url = url.copy_add_param("service", challenge.service)
        headers = {"Authorization": credentials.basic_header()} if credentials else {}
        who = f"as {credentials.username!r}" if credentials else "anonymously (no credentials for the host)"
        subject = f"token for {host} ({scope}) {who}"
        response = await self._send(
            "GET", url, headers=headers, subject=subject, content=None, follow_redirects=True
        )
        if response.status_code in (401, 403):
            raise auth.AuthError(
                f"token server {challenge.realm} refused a {subject}: {response.status_code}"
            )
        _raise_for_status(response, host=host, subject=subject)
        return _token_from(response, subject=subject)


def _refusal(response: httpx.Response, *, host: str, subject: str, keychain: auth.Keychain) -> str:
    credentials = keychain.get(host)
    who = (
        f"the credentials of {credentials.username!r}{keychain.described()}"
        if credentials
        else f"no credentials ({keychain.missing(host)})"
    )
    request = f"{response.request.method} {response.url} → {response.status_code}"
    return f"{subject}: registry {host} refused access with {who} ({request}{_registry_error(response)})"


def _token_from(response: httpx.Response, *, subject: str) -> _Token:
    try:
        body = response.json()
        value = body.get("token") or body.get("access_token")
        seconds = float(body.get("expires_in") or _DEFAULT_TOKEN_SECONDS)
    except (ValueError, AttributeError) as e:
        raise auth.AuthError(f"{subject}: token server answered without JSON: {e}") from e
    if not value:
        raise auth.AuthError(f"{subject}: token server answered without a token")
    # Renew a little early so a token never expires between our check and the registry's.
    return _Token(value=str(value), expires_at=time.monotonic() + max(seconds - 5.0, 1.0))


def _raise_for_status(response: httpx.Response, *, host: str, subject: str) -> None:
    status = response.status_code
    if status < 400:
        return
    request = f"{response.request.method} {response.url} → {status}{_registry_error(response)}"
    reason = f"{subject}: {request}"
    if status == 404:
        raise errors.NotFoundError(f"{subject} not found ({request})")
    if status in (401, 403):
        raise auth.AuthError(f"{reason} (registry {host} refused the credentials)")
    if status == 429 or status >= 500:
        asked = retrying.parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
        raise errors.TemporaryError(reason, retry_after=asked)
    if status == 400:
        raise errors.InvalidError(reason)
    raise errors.PermanentError(reason)


def _registry_error(response: httpx.Response) -> str:
    """``: MANIFEST_UNKNOWN manifest unknown`` from the distribution error body, if any."""
    if not response.content:
        return ""
    try:
        first = json.loads(response.content)["errors"][0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""
