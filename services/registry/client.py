"""An async client for the OCI distribution API: resolve digests, read configs, push images.

Every public method retries temporary errors with ``services.retrying`` (waiting as long as a
registry's ``Retry-After`` asks, up to ``max_retry_after``) and raises only the
``services.errors`` tree (plus :class:`~services.registry.auth.AuthError`). Each takes an optional
``keychain`` that replaces the client's own for that call (one client serves every service
account; see :mod:`services.registry.keychains`).

    async with RegistryClient(Keychain.from_secrets(secrets)) as registry:
        digest = await registry.resolve_digest("127.0.0.1:5000/app:v1")
        config = await registry.fetch_config(builder_image, keychain=service_account_keychain)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from services import errors, retrying
from services.registry import _references, auth, config, manifests, requesting

logger = logging.getLogger(__name__)

T = TypeVar("T")

_LOCAL_PREFIXES = ("localhost", "127.", "[::1]")


class RegistryClient:
    """A registry client over one ``httpx.AsyncClient``; close it (``async with``/``aclose``)."""

    def __init__(
        self,
        keychain: auth.Keychain | None = None,
        *,
        backoff: Sequence[float] = retrying.DEFAULT_BACKOFF,
        timeout: float = 30.0,
        insecure_hosts: Collection[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
        max_retry_after: float = retrying.DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        """``insecure_hosts`` speak plain HTTP, as do localhost/127.x hosts; all others HTTPS.

        ``timeout`` bounds each phase of a request (connect, write, read, pool); twice it bounds a
        request in all. At most ``max_connections`` requests run at once. A registry's
        ``Retry-After`` makes a retry wait up to ``max_retry_after`` seconds."""
        self._backoff = tuple(backoff)
        self._max_retry_after = max_retry_after
        self._insecure = frozenset(_references.canonical_host(h) for h in insecure_hosts)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, limits=limits)
        self._session = requesting.Session(
            self._http,
            keychain=keychain or auth.Keychain(),
            max_concurrency=max_connections,
            deadline=2 * timeout,
        )

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def resolve_digest(self, ref: str, *, keychain: auth.Keychain | None = None) -> str:
        """The ``sha256:…`` digest the tag (or digest) in ``ref`` points at; NotFoundError if none."""
        reference = _references.parse(ref)
        return await self._retry(lambda: self._resolve(reference, keychain=keychain))

    async def digest_ref(self, ref: str, *, keychain: auth.Keychain | None = None) -> str:
        """``<fully qualified repository>@sha256:…``, the identifier kpack writes in statuses."""
        reference = _references.parse(ref)
        digest = await self._retry(lambda: self._resolve(reference, keychain=keychain))
        return f"{reference.qualified_repository}@{digest}"

    async def fetch_config(self, ref: str, *, keychain: auth.Keychain | None = None) -> config.ImageConfig:
        """The image's config (labels, env, os); for an index, linux/amd64's or the first's."""
        reference = _references.parse(ref)
        return await self._retry(lambda: self._fetch_config(reference, keychain=keychain))

    async def push_image(
        self,
        ref: str,
        *,
        config: Mapping[str, Any],
        layers: Sequence[bytes],
        layer_media_type: str = manifests.OCI_LAYER_GZIP,
        keychain: auth.Keychain | None = None,
    ) -> str:
        """Push config + layers (blobs already there are skipped) and tag an OCI manifest.

        Returns the manifest digest: sha256 of the exact manifest bytes sent.
        """
        reference = _references.parse(ref)
        if reference.digest:
            raise _references.InvalidReferenceError(f"cannot push to {ref!r}: name a tag, not a digest")
        config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        manifest = manifests.image_manifest(
            config=config_bytes, layers=layers, layer_media_type=layer_media_type
        )
        blobs = [config_bytes, *layers]
        return await self._retry(
            lambda: self._push(reference, blobs=blobs, manifest=manifest, keychain=keychain)
        )

    async def _retry(self, operation: Callable[[], Awaitable[T]]) -> T:
        async for attempt in retrying.retrying(self._backoff, max_retry_after=self._max_retry_after):
            with attempt:
                return await operation()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _url(self, reference: _references.Reference, path: str) -> str:
        host = reference.api_host
        local = host.startswith(_LOCAL_PREFIXES) or reference.host in self._insecure
        return f"{'http' if local else 'https'}://{host}/v2/{reference.repository}/{path}"

    async def _request(
        self,
        method: str,
        reference: _references.Reference,
        url: str | httpx.URL,
        *,
        keychain: auth.Keychain | None,
        push: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request for ``reference``, authorised for pulling it (or pushing, if ``push``)."""
        return await self._session.request(
            method,
            url,
            host=reference.host,
            scope=auth.repository_scope(reference.repository, push=push),
            subject=f"image {reference}",
            keychain=keychain,
            **kwargs,
        )

    async def _resolve(self, reference: _references.Reference, *, keychain: auth.Keychain | None) -> str:
        url = self._url(reference, f"manifests/{reference.identifier}")
        headers = {"Accept": manifests.ACCEPT}
        response = await self._request("HEAD", reference, url, headers=headers, keychain=keychain)
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        logger.debug("HEAD %s gave no Docker-Content-Digest; falling back to GET", url)
        response = await self._request("GET", reference, url, headers=headers, keychain=keychain)
        return manifests.sha256_digest(response.content)

    async def _fetch_manifest(
        self, reference: _references.Reference, identifier: str, *, keychain: auth.Keychain | None
    ) -> tuple[str, Mapping[str, Any]]:
        url = self._url(reference, f"manifests/{identifier}")
        headers = {"Accept": manifests.ACCEPT}
        response = await self._request("GET", reference, url, headers=headers, keychain=keychain)
        if identifier.startswith("sha256:") and manifests.sha256_digest(response.content) != identifier:
            raise errors.PermanentError(f"image {reference}: manifest {identifier} failed digest check")
        return manifests.decode(
            response.content,
            content_type=response.headers.get("Content-Type", ""),
            subject=f"image {reference}",
        )

    async def _fetch_config(
        self, reference: _references.Reference, *, keychain: auth.Keychain | None
    ) -> config.ImageConfig:
        media_type, manifest = await self._fetch_manifest(reference, reference.identifier, keychain=keychain)
        if media_type in manifests.INDEXES:
            chosen = manifests.pick_platform(manifest)
            media_type, manifest = await self._fetch_manifest(reference, chosen, keychain=keychain)
            if media_type not in manifests.IMAGE_MANIFESTS:
                raise manifests.ManifestError(f"image {reference}: index entry {chosen} is not an image")
        digest = manifests.config_digest(manifest, subject=f"image {reference}")
        url = self._url(reference, f"blobs/{digest}")
        response = await self._request("GET", reference, url, follow_redirects=True, keychain=keychain)
        if manifests.sha256_digest(response.content) != digest:
            raise errors.PermanentError(f"image {reference}: config blob {digest} failed digest check")
        try:
            blob = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise config.ImageConfigError(f"image {reference}: config blob is not JSON: {e}") from e
        if not isinstance(blob, Mapping):
            raise config.ImageConfigError(f"image {reference}: config blob is not a JSON object")
        return config.image_config_from_blob(blob)

    async def _push(
        self,
        reference: _references.Reference,
        *,
        blobs: list[bytes],
        manifest: bytes,
        keychain: auth.Keychain | None,
    ) -> str:
        for blob in blobs:
            await self._upload_blob(reference, blob, keychain=keychain)
        url = self._url(reference, f"manifests/{reference.tag or 'latest'}")
        headers = {"Content-Type": manifests.OCI_MANIFEST}
        response = await self._request(
            "PUT", reference, url, headers=headers, content=manifest, push=True, keychain=keychain
        )
        digest = manifests.sha256_digest(manifest)
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            logger.warning("registry stored %s as %s, expected %s", reference, echoed, digest)
        logger.info("pushed %s@%s", reference, digest)
        return digest

    async def _upload_blob(
        self, reference: _references.Reference, blob: bytes, *, keychain: auth.Keychain | None
    ) -> None:
        digest = manifests.sha256_digest(blob)
        blob_url = self._url(reference, f"blobs/{digest}")
        head = await self._request("HEAD", reference, blob_url, allow=(404,), push=True, keychain=keychain)
        if head.status_code == 200:
            return
        uploads = self._url(reference, "blobs/uploads/")
        started = await self._request("POST", reference, uploads, push=True, keychain=keychain)
        location = started.headers.get("Location")
        if not location:
            raise errors.PermanentError(f"image {reference}: blob upload started without a Location")
        # httpx ``params=`` would drop the upload URL's own query (``_state``); add to it instead.
        url = started.url.join(location).copy_add_param("digest", digest)
        headers = {"Content-Type": "application/octet-stream"}
        await self._request(
            "PUT", reference, url, headers=headers, content=blob, push=True, keychain=keychain
        )
