"""The admission webhook server: kpack's admission and conversion for the API server, over HTTPS.

Routes of :meth:`AdmissionWebhook.app`::

    POST /mutate    admission.k8s.io/v1 AdmissionReview → the JSONPatch to the defaulted object
    POST /validate  admission.k8s.io/v1 AdmissionReview → allowed, or kpack's messages (code 400)
    POST /convert   apiextensions.k8s.io/v1 ConversionReview → the objects at desiredAPIVersion

The answers are :mod:`services.admission.reviews`'. The default StorageClass is discovered as
kpack's webhook does (``storageclass.kubernetes.io/is-default-class: "true"`` on
``storage.k8s.io/v1`` StorageClasses), listed at most every ``storage_class_seconds``; when the
list fails, the last one read is used (none read yet: the request is answered 503, and the API
server applies the webhook's ``failurePolicy``). A body that is not JSON or not a review is a 400
``{"error": …}``, one over ``max_body_bytes`` a 413.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from kubernetes_asyncio import client

from contracts import admission, json_bounds
from services import errors
from services.admission import reviews
from services.admission import settings as admission_settings
from services.kube import endpoints, resources
from services.kube import settings as kube_settings

logger = logging.getLogger(__name__)
STORAGE_GROUP, STORAGE_VERSION = "storage.k8s.io", "v1"


class StorageClasses:
    """The cluster's StorageClasses as an :class:`~contracts.admission.AdmissionContext`, reused briefly."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        settings: kube_settings.KubeSettings,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        endpoint = endpoints.CustomEndpoint(
            client.CustomObjectsApi(api), STORAGE_GROUP, STORAGE_VERSION, "storageclasses", namespaced=False
        )
        self._resource: resources.Resource[dict[str, Any]] = resources.Resource(
            endpoint, kind="StorageClass", parse=_same, dump=_same, settings=settings
        )
        self._ttl, self._clock = ttl, clock
        self._context: admission.AdmissionContext | None = None
        self._read_at = 0.0

    async def context(self) -> admission.AdmissionContext:
        """The context from the StorageClasses, listed again once ``ttl`` seconds have passed."""
        now = self._clock()
        if self._context is not None and now - self._read_at < self._ttl:
            return self._context
        try:
            classes = await self._resource.list()
        except errors.KilnError:
            if self._context is None:
                raise
            logger.warning(
                "listing StorageClasses failed; using the ones read %.0f s ago", now - self._read_at
            )
            return self._context
        self._context, self._read_at = admission.AdmissionContext.from_storage_classes(classes), now
        return self._context


@dataclasses.dataclass
class AdmissionWebhook:
    """The webhook endpoints over the cluster's StorageClasses."""

    storage_classes: StorageClasses
    _: dataclasses.KW_ONLY
    settings: admission_settings.AdmissionSettings

    def app(self) -> web.Application:
        """The aiohttp application serving ``/mutate``, ``/validate`` and ``/convert``."""
        application = web.Application(client_max_size=self.settings.max_body_bytes + 1)
        application.add_routes(
            [
                web.post("/mutate", self._admission(reviews.mutate)),
                web.post("/validate", self._admission(reviews.validate)),
                web.post("/convert", self._convert),
            ]
        )
        return application

    def _admission(self, answer: Callable[..., dict[str, Any]]) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            review = await _review(request, max_bytes=self.settings.max_body_bytes)
            try:
                ctx = await self.storage_classes.context()
            except errors.KilnError as e:
                return _error(f"cannot read the cluster's StorageClasses: {e}", status=503)
            try:
                return web.json_response(answer(review, ctx=ctx))
            except reviews.BadReview as e:
                return _error(str(e), status=400)

        return handle

    async def _convert(self, request: web.Request) -> web.Response:
        review = await _review(request, max_bytes=self.settings.max_body_bytes)
        try:
            return web.json_response(reviews.convert(review))
        except reviews.BadReview as e:
            return _error(str(e), status=400)


async def _review(request: web.Request, *, max_bytes: int) -> object:
    body = await request.read()  # over client_max_size: aiohttp answers 413
    try:
        return json_bounds.loads(body, max_bytes=max_bytes)
    except ValueError as e:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body: expected a JSON review: {e}"}), content_type="application/json"
        ) from e


def _same(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


def _error(message: str, *, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def ssl_context(settings: admission_settings.AdmissionSettings) -> ssl.SSLContext | None:
    """The server's TLS context from ``cert_file`` / ``key_file``; None only when ``insecure``.

    Raises ValueError naming the settings to set when they are missing or do not load."""
    if settings.cert_file is None or settings.key_file is None:
        if settings.insecure:
            return None
        raise ValueError(
            "the admission webhook serves https: set KILN_ADMISSION_CERT_FILE and KILN_ADMISSION_KEY_FILE"
            " (or KILN_ADMISSION_INSECURE=true, for tests only)"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(
            f"KILN_ADMISSION_CERT_FILE / KILN_ADMISSION_KEY_FILE: cannot load {settings.cert_file}: {e}"
        ) from e
    return context
