"""An async client for the OCI distribution API: resolve digests, read images, write images.

Every public method retries temporary errors with ``services.retrying`` (waiting as long as a
registry's ``Retry-After`` asks, up to ``max_retry_after``) and raises only the
``services.errors`` tree (plus :class:`~services.registry.auth.AuthError`). Each takes an optional
``keychain`` that replaces the client's own for that call (one client serves every service
account; see :mod:`services.registry.keychains`).

    async with RegistryClient(Keychain.from_secrets(secrets)) as registry:
        digest = await registry.resolve_digest("127.0.0.1:5000/app:v1")
        config = await registry.fetch_config(builder_image, keychain=service_account_keychain)
        image = await registry.fetch_image("127.0.0.1:5000/stack/run:jammy")
        outcome = await registry.write_image("127.0.0.1:5000/builders/b:v1", plan)

Writing a plan mounts blobs across repositories of one registry instead of moving their bytes
(:mod:`services.registry.copying`); :attr:`RegistryClient.stats` counts what every write did.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

import httpx
import httpx_aiohttp

from contracts import oci
from services import errors, retrying
from services.registry import _references, auth, config, copying, manifests, requesting

logger = logging.getLogger(__name__)

T = TypeVar("T")

_LOCAL_PREFIXES = ("localhost", "127.", "[::1]")


class _Manifest(NamedTuple):
    media_type: str
    body: Mapping[str, Any]
    content: bytes


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
        if transport is None:
            # httpx's own transport (httpcore over anyio) spends 1.5-2.3 ms of CPU on a request to a
            # local registry, most of it rescanning its pool; aiohttp's spends about a third of that
            transport = httpx_aiohttp.AiohttpTransport(limits=limits)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, limits=limits)
        self._session = requesting.Session(
            self._http,
            keychain=keychain or auth.Keychain(),
            max_concurrency=max_connections,
            deadline=2 * timeout,
        )
        self.stats = copying.TransferStats()
        """What this client's writes did so far: mounts, uploads, copies, skips, manifests."""

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

    @staticmethod
    def pinned(ref: str, digest: str) -> str:
        """What :meth:`digest_ref` answers for ``ref`` once it is known to be at ``digest`` (a push
        just wrote it), without asking the registry."""
        return f"{_references.parse(ref).qualified_repository}@{digest}"

    async def fetch_config(self, ref: str, *, keychain: auth.Keychain | None = None) -> config.ImageConfig:
        """The image's config (labels, env, os); for an index, linux/amd64's or the first's."""
        image = await self.fetch_image(ref, keychain=keychain)
        return config.image_config_from_blob(image.config)

    async def fetch_image(self, ref: str, *, keychain: auth.Keychain | None = None) -> oci.RemoteImage:
        """The image ``ref`` names — for an index, its linux/amd64 manifest (else the first) — with
        the manifest bytes exactly as served and the parsed config; its repository fully qualified.

        The manifest's digest is checked against a pinned ``ref`` (or the registry's
        ``Docker-Content-Digest``) and the config blob's against the manifest."""
        reference = _references.parse(ref)
        return await self._retry(lambda: self._fetch_image(reference, keychain=keychain))

    async def find_digest(self, ref: str, *, keychain: auth.Keychain | None = None) -> str | None:
        """The ``sha256:…`` digest the tag in ``ref`` points at now; None if there is no such tag
        (or repository)."""
        try:
            return await self.resolve_digest(ref, keychain=keychain)
        except errors.NotFoundError:
            return None

    async def write_image(
        self,
        ref: str,
        plan: oci.ImagePlan,
        *,
        keychain: auth.Keychain | None = None,
        source_keychains: Mapping[str, auth.Keychain] | None = None,
    ) -> copying.WriteOutcome:
        """Make every blob of ``plan`` exist in ``ref``'s repository, then put its manifest to the tag.

        Blobs there already are skipped; existing blobs elsewhere on the same registry are mounted
        (never downloaded), others copied; new blobs uploaded (see :mod:`~services.registry.copying`).
        An existing blob is read with its repository's keychain in ``source_keychains`` (fully
        qualified repository → keychain), else with ``keychain``. Each blob is retried on its own.
        """
        reference = self._tag_reference(ref)
        copying.check_new_blobs(plan, subject=f"image {reference}")

        async def place(blob: oci.NewBlob | oci.ExistingBlob) -> copying.Placement:
            chain = keychain
            if isinstance(blob, oci.ExistingBlob):
                chain = copying.source_keychain(blob.repository, keychains=source_keychains, default=keychain)
            return await self._retry(
                lambda: self._place(reference, blob, keychain=keychain, source_keychain=chain)
            )

        placements = await _all(place(blob) for blob in copying.unique_blobs(plan))
        digest = await self._retry(
            lambda: self._put_manifest(reference, plan.manifest, plan.media_type, keychain=keychain)
        )
        outcome = copying.WriteOutcome.tally(placements, reference=reference, digest=digest)
        logger.info(
            "wrote %s: %d mounted, %d copied, %d uploaded, %d skipped",
            outcome.identifier,
            outcome.mounted,
            outcome.copied,
            outcome.uploaded,
            outcome.skipped,
        )
        return outcome

    async def tag_image(
        self, ref: str, manifest: bytes, media_type: str, *, keychain: auth.Keychain | None = None
    ) -> str:
        """Put ``manifest`` (whose blobs the repository holds already) to the tag in ``ref`` and
        return its digest: kpack tags each builder image it saves ``<repository>:<timestamp>`` too."""
        reference = self._tag_reference(ref)
        return await self._retry(
            lambda: self._put_manifest(reference, manifest, media_type, keychain=keychain)
        )

    async def push_image(
        self,
        ref: str,
        *,
        config: Mapping[str, Any],
        layers: Sequence[bytes],
        layer_media_type: str = manifests.OCI_LAYER_GZIP,
        keychain: auth.Keychain | None = None,
        new_blobs: bool = False,
    ) -> str:
        """Push config + layers (blobs already there are skipped) and tag an OCI manifest.

        ``new_blobs`` says the caller knows none of the blobs is there yet (their content is new
        to this push): each is uploaded without asking first, one request fewer per blob.
        Returns the manifest digest: sha256 of the exact manifest bytes sent.
        """
        reference = self._tag_reference(ref)
        config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        manifest = manifests.image_manifest(
            config=config_bytes, layers=layers, layer_media_type=layer_media_type
        )
        blobs = [config_bytes, *layers]
        return await self._retry(
            lambda: self._push(
                reference, blobs=blobs, manifest=manifest, keychain=keychain, new_blobs=new_blobs
            )
        )

    @staticmethod
    def _tag_reference(ref: str) -> _references.Reference:
        reference = _references.parse(ref)
        if reference.digest:
            raise _references.InvalidReferenceError(f"cannot push to {ref!r}: name a tag, not a digest")
        return reference

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
        pull_from: Sequence[str] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request for ``reference``, authorised for pulling it (or pushing, if ``push``) and
        for pulling the repositories ``pull_from`` of the same registry (a mount's source)."""
        return await self._session.request(
            method,
            url,
            host=reference.host,
            scope=auth.repository_scope(reference.repository, push=push, pull_from=pull_from),
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
    ) -> _Manifest:
        url = self._url(reference, f"manifests/{identifier}")
        headers = {"Accept": manifests.ACCEPT}
        response = await self._request("GET", reference, url, headers=headers, keychain=keychain)
        digest = manifests.sha256_digest(response.content)
        expected = (
            identifier if identifier.startswith("sha256:") else response.headers.get("Docker-Content-Digest")
        )
        if expected and expected.startswith("sha256:") and digest != expected:
            raise errors.PermanentError(f"image {reference}: manifest {expected} failed digest check")
        media_type, body = manifests.decode(
            response.content,
            content_type=response.headers.get("Content-Type", ""),
            subject=f"image {reference}",
        )
        return _Manifest(media_type, body, response.content)

    async def _fetch_image(
        self, reference: _references.Reference, *, keychain: auth.Keychain | None
    ) -> oci.RemoteImage:
        subject = f"image {reference}"
        fetched = await self._fetch_manifest(reference, reference.identifier, keychain=keychain)
        if fetched.media_type in manifests.INDEXES:
            chosen = manifests.pick_platform(fetched.body)
            fetched = await self._fetch_manifest(reference, chosen, keychain=keychain)
            if fetched.media_type not in manifests.IMAGE_MANIFESTS:
                raise manifests.ManifestError(f"{subject}: index entry {chosen} is not an image")
        digest = manifests.config_digest(fetched.body, subject=subject)
        config_blob = await self._fetch_blob(reference, digest, keychain=keychain)
        return manifests.remote_image(
            repository=reference.qualified_repository,
            media_type=fetched.media_type,
            manifest=fetched.content,
            body=fetched.body,
            config_blob=config_blob,
            subject=subject,
        )

    async def _fetch_blob(
        self, reference: _references.Reference, digest: str, *, keychain: auth.Keychain | None
    ) -> bytes:
        """The blob's bytes, checked against its digest (a registry may redirect to storage)."""
        url = self._url(reference, f"blobs/{digest}")
        response = await self._request("GET", reference, url, follow_redirects=True, keychain=keychain)
        if manifests.sha256_digest(response.content) != digest:
            raise errors.PermanentError(f"image {reference}: blob {digest} failed digest check")
        return response.content

    async def _place(
        self,
        target: _references.Reference,
        blob: oci.NewBlob | oci.ExistingBlob,
        *,
        keychain: auth.Keychain | None,
        source_keychain: auth.Keychain | None,
    ) -> copying.Placement:
        """Make one blob of a plan exist in ``target``'s repository; say how."""
        digest = blob.descriptor.digest
        placement = copying.route(blob, target=target)
        if await self._blob_exists(target, digest, keychain=keychain):
            placement = copying.Placement.SKIPPED
        elif isinstance(blob, oci.NewBlob):
            await self._upload(target, blob.content, keychain=keychain)
        else:
            source = _references.parse(blob.repository)
            location = None
            if placement is copying.Placement.MOUNTED:
                mounted, location = await self._mount(target, source, digest, keychain=keychain)
                if not mounted:
                    placement = copying.Placement.COPIED
                    self.stats.mount_fallbacks += 1
            if placement is copying.Placement.COPIED:
                content = await self._fetch_blob(source, digest, keychain=source_keychain)
                self.stats.downloaded_bytes += len(content)
                await self._upload(target, content, keychain=keychain, location=location)
        self.stats.count(placement)
        return placement

    async def _mount(
        self,
        target: _references.Reference,
        source: _references.Reference,
        digest: str,
        *,
        keychain: auth.Keychain | None,
    ) -> tuple[bool, httpx.URL | None]:
        """Mount ``digest`` from ``source`` (same host): (True, None) on 201; on 202 (False, the
        upload the registry opened instead); (False, None) when the mount was refused."""
        url = httpx.URL(self._url(target, "blobs/uploads/")).copy_merge_params(
            {"mount": digest, "from": source.repository}
        )
        try:
            response = await self._request(
                "POST", target, url, push=True, pull_from=[source.repository], keychain=keychain
            )
        except auth.AuthError as e:
            logger.info("mount of %s from %s into %s refused (%s); copying", digest, source, target, e)
            return False, None
        if response.status_code == 201:
            return True, None
        logger.info("registry did not mount %s from %s into %s; copying", digest, source, target)
        location = response.headers.get("Location")
        return False, response.url.join(location) if location else None

    async def _push(
        self,
        reference: _references.Reference,
        *,
        blobs: list[bytes],
        manifest: bytes,
        keychain: auth.Keychain | None,
        new_blobs: bool = False,
    ) -> str:
        for blob in blobs:
            if not new_blobs and await self._blob_exists(
                reference, manifests.sha256_digest(blob), keychain=keychain
            ):
                self.stats.skipped += 1
            else:
                await self._upload(reference, blob, keychain=keychain)
                self.stats.uploads += 1
        return await self._put_manifest(reference, manifest, manifests.OCI_MANIFEST, keychain=keychain)

    async def _put_manifest(
        self,
        reference: _references.Reference,
        manifest: bytes,
        media_type: str,
        *,
        keychain: auth.Keychain | None,
    ) -> str:
        url = self._url(reference, f"manifests/{reference.tag or 'latest'}")
        headers = {"Content-Type": media_type}
        response = await self._request(
            "PUT", reference, url, headers=headers, content=manifest, push=True, keychain=keychain
        )
        self.stats.manifests += 1
        digest = manifests.sha256_digest(manifest)
        echoed = response.headers.get("Docker-Content-Digest")
        if echoed and echoed != digest:
            logger.warning("registry stored %s as %s, expected %s", reference, echoed, digest)
        logger.info("pushed %s@%s", reference, digest)
        return digest

    async def _blob_exists(
        self, reference: _references.Reference, digest: str, *, keychain: auth.Keychain | None
    ) -> bool:
        blob_url = self._url(reference, f"blobs/{digest}")
        head = await self._request("HEAD", reference, blob_url, allow=(404,), push=True, keychain=keychain)
        return head.status_code == 200

    async def _upload(
        self,
        reference: _references.Reference,
        blob: bytes,
        *,
        keychain: auth.Keychain | None,
        location: httpx.URL | None = None,
    ) -> None:
        """Upload ``blob`` in one PUT, to ``location`` if an upload is open there already."""
        if location is None:
            uploads = self._url(reference, "blobs/uploads/")
            started = await self._request("POST", reference, uploads, push=True, keychain=keychain)
            opened = started.headers.get("Location")
            if not opened:
                raise errors.PermanentError(f"image {reference}: blob upload started without a Location")
            location = started.url.join(opened)
        # httpx ``params=`` would drop the upload URL's own query (``_state``); add to it instead.
        url = location.copy_add_param("digest", manifests.sha256_digest(blob))
        headers = {"Content-Type": "application/octet-stream"}
        await self._request(
            "PUT", reference, url, headers=headers, content=blob, push=True, keychain=keychain
        )


async def _all(operations: Iterable[Awaitable[T]]) -> list[T]:
    """Run ``operations`` at once and return their results in order; if any fails, cancel the rest
    and raise its error itself (not an exception group), so callers see the errors tree."""
    failure: BaseException | None = None
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(operation)) for operation in operations]
    except ExceptionGroup as failed:
        failure = _first_leaf(failed)
    if failure is not None:
        raise failure
    return [task.result() for task in tasks]


async def _awaited(operation: Awaitable[T]) -> T:
    return await operation


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
