"""The triggers service: git push webhooks and registry notifications in, events out.

Routes of :meth:`Triggers.app`::

    POST /webhooks/github    X-GitHub-Event, X-Hub-Signature-256, X-GitHub-Delivery
    POST /webhooks/gitlab    X-Gitlab-Event, X-Gitlab-Token, Idempotency-Key / X-Gitlab-Event-UUID
    POST /webhooks/generic   Authorization: Bearer; {"url", "revision", "ref"?}
    POST /webhooks/registry  Authorization: Bearer; a distribution notification envelope

A push lists the Images of every namespace, publishes one ``source.changed`` per affected Image
(:mod:`services.triggers.matching`) and answers ``202 {"published": N, "images": ["ns/name"…]}``
only once the broker confirmed them all; a registry push does the same with ``builder.changed``
per Builder/ClusterBuilder (``"builders"``). When the broker or the API server fails, the answer is
503 so that the sender delivers again (the events' ids are stable, so nothing is published twice
as a different fact). Refusals are JSON ``{"error": …}``: 400 naming the field, 401 for a bad
signature or token, 404 for a provider whose secret is unset, 413 for a body over the limit (JSON
nested deeper than ``contracts.json_bounds.MAX_DEPTH`` levels is a 400), and 429 with
``Retry-After`` for a source over its rate (:mod:`services.triggers.limits`: ``KILN_TRIGGERS_RATE_PER_SECOND``,
``KILN_TRIGGERS_BURST``, per client address, or per ``X-Forwarded-For`` first hop with
``KILN_TRIGGERS_TRUSTED_PROXY``), before anything else is looked at.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from contracts import builders, events
from services import errors, ports
from services.triggers import limits, matching, webhooks
from services.triggers import settings as triggers_settings

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request, bytes, str], Awaitable[web.Response]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass
class Triggers:
    """The webhook endpoints over the cluster (to find what a push affects) and the publisher."""

    cluster: ports.Cluster
    publisher: ports.Publisher
    _: dataclasses.KW_ONLY
    settings: triggers_settings.TriggersSettings
    clock: Callable[[], datetime] = _now
    monotonic: Callable[[], float] = time.monotonic
    """The clock of the rate limits."""
    buckets: limits.Buckets = dataclasses.field(init=False)
    """Each source's token bucket (``settings.rate_per_second``, ``settings.burst``)."""

    def __post_init__(self) -> None:
        rate = limits.Rate(per_second=self.settings.rate_per_second, burst=self.settings.burst)
        self.buckets = limits.Buckets(rate, max_sources=self.settings.rate_limited_sources)

    def app(self) -> web.Application:
        """The aiohttp application serving the four webhook routes."""
        # aiohttp refuses a body of client_max_size bytes or more; max_body_bytes itself is allowed.
        application = web.Application(client_max_size=self.settings.max_body_bytes + 1)
        application.add_routes(
            [
                web.post("/webhooks/github", self._route("github_secret", self._github)),
                web.post("/webhooks/gitlab", self._route("gitlab_token", self._gitlab)),
                web.post("/webhooks/generic", self._route("generic_token", self._generic)),
                web.post("/webhooks/registry", self._route("registry_token", self._registry)),
            ]
        )
        return application

    def _route(
        self, credential: triggers_settings.Credential, handle: Handler
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A request handler: the provider enabled, the body read, refusals answered as JSON."""

        async def route(request: web.Request) -> web.Response:
            refused = self._over_rate(request)
            if refused is not None:
                return refused
            try:
                secret = self.settings.credential(credential)
                if secret is None:
                    variable = self.settings.env_var(credential)
                    raise webhooks.NotEnabledError(f"{request.path} is not enabled: set {variable}")
                return await handle(request, await self._body(request), secret)
            except webhooks.WebhookError as e:
                logger.warning("%s refused (%d): %s", request.path, e.status, e)
                return _json({"error": str(e)}, status=e.status)
            except errors.TemporaryError as e:
                logger.warning("%s failed, the sender should retry: %s", request.path, e)
                return _json({"error": f"temporarily unable to publish, retry later: {e}"}, status=503)
            except errors.KilnError as e:
                logger.error("%s failed: %s", request.path, e)
                return _json({"error": str(e)}, status=500)

        return route

    def _over_rate(self, request: web.Request) -> web.Response | None:
        """429 with ``Retry-After`` when the request's source is over its rate, else None."""
        source = limits.source_of(
            request.remote,
            request.headers.get("X-Forwarded-For"),
            trust_proxy=self.settings.trusted_proxy,
        )
        verdict = self.buckets.take(source, now=self.monotonic())
        if verdict.allowed:
            return None
        seconds = max(1, math.ceil(verdict.retry_after))
        logger.debug("%s refused (429): %s is over its rate", request.path, source)
        body = {"error": f"too many requests from {source}: retry in {seconds} s"}
        return web.json_response(body, status=429, headers={"Retry-After": str(seconds)})

    async def _body(self, request: web.Request) -> bytes:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise webhooks.too_large(limit)
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge as e:
            raise webhooks.too_large(limit) from e

    async def _github(self, request: web.Request, body: bytes, secret: str) -> web.Response:
        outcome = webhooks.github(
            body,
            secret=secret,
            event=request.headers.get("X-GitHub-Event"),
            signature=request.headers.get("X-Hub-Signature-256"),
            delivery=request.headers.get("X-GitHub-Delivery"),
            content_type=request.content_type,
            max_bytes=self.settings.max_body_bytes,
        )
        return await self._git(outcome)

    async def _gitlab(self, request: web.Request, body: bytes, token: str) -> web.Response:
        headers = request.headers
        outcome = webhooks.gitlab(
            body,
            token=token,
            event=headers.get("X-Gitlab-Event"),
            sent_token=headers.get("X-Gitlab-Token"),
            delivery=headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID"),
            max_bytes=self.settings.max_body_bytes,
        )
        return await self._git(outcome)

    async def _generic(self, request: web.Request, body: bytes, token: str) -> web.Response:
        push = webhooks.generic(
            body,
            token=token,
            authorization=request.headers.get("Authorization"),
            max_bytes=self.settings.max_body_bytes,
        )
        return await self._git(push)

    async def _git(self, outcome: webhooks.Outcome) -> web.Response:
        if isinstance(outcome, webhooks.Ping):
            return _json({"ping": "ok"}, status=200)
        if isinstance(outcome, webhooks.Ignored):
            logger.info("ignored: %s", outcome.reason)
            return _json({"published": 0, "images": [], "ignored": outcome.reason}, status=202)
        following = await self.cluster.find_images(lambda raw: matching.may_follow(raw, outcome))
        batch = matching.source_changed(following, outcome, time=self.clock())
        await self.publisher.publish_many(batch)
        affected = [event.subject for event in batch]
        logger.info(
            "%s push of %s to %s: %d image(s) %s",
            outcome.provider,
            outcome.commit,
            outcome.ref or "every followed ref",
            len(affected),
            affected,
        )
        return _json({"published": len(batch), "images": affected}, status=202)

    async def _registry(self, request: web.Request, body: bytes, token: str) -> web.Response:
        pushes = webhooks.registry(
            body,
            token=token,
            authorization=request.headers.get("Authorization"),
            content_type=request.content_type,
            max_bytes=self.settings.max_body_bytes,
        )
        if not pushes:
            return _json({"published": 0, "builders": [], "ignored": "no manifest pushed"}, status=202)
        listed = {kind: await self.cluster.list_builders(kind) for kind in builders.KINDS}
        batch = matching.builder_changed(listed, pushes, time=self.clock())
        inputs = [obj for kind in events.INPUT_KINDS for obj in await self.cluster.list_builder_inputs(kind)]
        resolved = matching.input_changed(inputs, pushes, time=self.clock())
        pulling = await self.cluster.find_images(lambda raw: matching.may_pull(raw, pushes))
        sourced = matching.source_image_pushed(pulling, pushes, time=self.clock())
        await self.publisher.publish_many([*batch, *resolved, *sourced])
        affected = [event.subject for event in batch]
        moved = [event.subject for event in resolved]
        rebuilt = [event.subject for event in sourced]
        pushed = sorted({f"{p.host}/{p.repository}@{p.digest}" for p in pushes})
        logger.info(
            "registry push of %s: %d builder(s) %s, %d builder input(s) %s, %d image source(s) %s",
            pushed,
            len(affected),
            affected,
            len(moved),
            moved,
            len(rebuilt),
            rebuilt,
        )
        answer = {
            "published": len(batch) + len(resolved) + len(sourced),
            "builders": affected,
            "builderInputs": moved,
            "images": rebuilt,
        }
        return _json(answer, status=202)


def _json(body: dict[str, Any], *, status: int) -> web.Response:
    return web.json_response(body, status=status)
