"""An async client for the OCI distribution API: resolve digests, read configs, push images.

Every public method retries temporary errors with ``services.retrying`` and raises only the
``services.errors`` tree (plus :class:`~services.registry.auth.AuthError`).

    async with RegistryClient(Keychain.from_secrets(secrets)) as registry:
        digest = await registry.resolve_digest("127.0.0.1:5000/app:v1")
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
    ) -> None:
        """``insecure_hosts`` speak plain HTTP, as do localhost/127.x hosts; all others HTTPS.

        ``timeout`` bounds each phase of a request (connect, write, read, pool); twice it bounds a
        request in all. At most ``max_connections`` requests run at once."""
        self._backoff = tuple(backoff)
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

    async def resolve_digest(self, ref: str) -> str:
        """The ``sha256:…`` digest the tag (or digest) in ``ref`` points at; NotFoundError if none."""
        reference = _references.parse(ref)
        return await self._retry(lambda: self._resolve(reference))

    async def digest_ref(self, ref: str) -> str:
        """``<fully qualified repository>@sha256:…``, the identifier kpack writes in statuses."""
        reference = _references.parse(ref)
        digest = await self._retry(lambda: self._resolve(reference))
        return f"{reference.qualified_repository}@{digest}"

    async def fetch_config(self, ref: str) -> config.ImageConfig:
        """The image's config (labels, env, os); for an index, linux/amd64's or the first's."""
        reference = _references.parse(ref)
        return await self._retry(lambda: self._fetch_config(reference))

    async def push_image(
        self,
        ref: str,
        *,
        config: Mapping[str, Any],
        layers: Sequence[bytes],
        layer_media_type: str = manifests.OCI_LAYER_GZIP,
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
        return await self._retry(lambda: self._push(reference, blobs=blobs, manifest=manifest))

    async def _retry(self, operation: Callable[[], Awaitable[T]]) -> T:
        async for attempt in retrying.retrying(self._backoff):
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
            **kwargs,
        )

    async def _resolve(self, reference: _references.Reference) -> str:
        url = self._url(reference, f"manifests/{reference.identifier}")
        headers = {"Accept": manifests.ACCEPT}
        response = await self._request("HEAD", reference, url, headers=headers)
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        logger.debug("HEAD %s gave no Docker-Content-Digest; falling back to GET", url)
        response = await self._request("GET", reference, url, headers=headers)
        return manifests.sha256_digest(response.content)

    async def _fetch_manifest(
        self, reference: _references.Reference, identifier: str
    ) -> tuple[str, Mapping[str, Any]]:
        url = self._url(reference, f"manifests/{identifier}")
        response = await self._request("GET", reference, url, headers={"Accept": manifests.ACCEPT})
        if identifier.startswith("sha256:") and manifests.sha256_digest(response.content) != identifier:
            raise errors.PermanentError(f"image {reference}: manifest {identifier} failed digest check")
        return manifests.decode(
            response.content,
            content_type=response.headers.get("Content-Type", ""),
            subject=f"image {reference}",
        )

    async def _fetch_config(self, reference: _references.Reference) -> config.ImageConfig:
        media_type, manifest = await self._fetch_manifest(reference, reference.identifier)
        if media_type in manifests.INDEXES:
            chosen = manifests.pick_platform(manifest)
            media_type, manifest = await self._fetch_manifest(reference, chosen)
            if media_type not in manifests.IMAGE_MANIFESTS:
                raise manifests.ManifestError(f"image {reference}: index entry {chosen} is not an image")
        digest = manifests.config_digest(manifest, subject=f"image {reference}")
        url = self._url(reference, f"blobs/{digest}")
        response = await self._request("GET", reference, url, follow_redirects=True)
        if manifests.sha256_digest(response.content) != digest:
            raise errors.PermanentError(f"image {reference}: config blob {digest} failed digest check")
        try:
            blob = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise config.ImageConfigError(f"image {reference}: config blob is not JSON: {e}") from e
        if not isinstance(blob, Mapping):
            raise config.ImageConfigError(f"image {reference}: config blob is not a JSON object")
        return config.image_config_from_blob(blob)

    async def _push(self, reference: _references.Reference, *, blobs: list[bytes], manifest: bytes) -> str:
        for blob in blobs:
            await self._upload_blob(reference, blob)
        url = self._url(reference, f"manifests/{reference.tag or 'latest'}")
        headers = {"Content-Type": manifests.OCI_MANIFEST}
        response = await self._request("PUT", reference, url, headers=headers, content=manifest, push=True)
        digest = manifests.sha256_digest(manifest)
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            logger.warning("registry stored %s as %s, expected %s", reference, echoed, digest)
        logger.info("pushed %s@%s", reference, digest)
        return digest

    async def _upload_blob(self, reference: _references.Reference, blob: bytes) -> None:
        digest = manifests.sha256_digest(blob)
        head = await self._request(
            "HEAD", reference, self._url(reference, f"blobs/{digest}"), allow=(404,), push=True
        )
        if head.status_code == 200:
            return
        started = await self._request("POST", reference, self._url(reference, "blobs/uploads/"), push=True)
        location = started.headers.get("Location")
        if not location:
            raise errors.PermanentError(f"image {reference}: blob upload started without a Location")
        # httpx ``params=`` would drop the upload URL's own query (``_state``); add to it instead.
        url = started.url.join(location).copy_add_param("digest", digest)
        headers = {"Content-Type": "application/octet-stream"}
        await self._request("PUT", reference, url, headers=headers, content=blob, push=True)
