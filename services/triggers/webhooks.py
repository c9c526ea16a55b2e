"""Webhook requests, authenticated and parsed into what was pushed. Pure: no I/O.

One function per provider takes the raw body and the headers that matter, authenticates the
request *before* reading the body, and answers what it says:

* :func:`github` — ``X-GitHub-Event: push`` signed ``X-Hub-Signature-256: sha256=<hex>`` (the
  HMAC-SHA256 of the raw body with the webhook secret, compared in constant time); ``ping`` →
  :class:`Ping`; any other event, a branch deletion (all-zero ``after``) or a ref that is neither
  a branch nor a tag → :class:`Ignored`.
* :func:`gitlab` — ``X-Gitlab-Event: Push Hook`` / ``Tag Push Hook`` with ``X-Gitlab-Token``.
* :func:`generic` — ``Authorization: Bearer <token>`` and ``{"url", "revision", "ref"?}``.
* :func:`registry` — a distribution notification envelope
  (``application/vnd.docker.distribution.events.v1+json``) with ``Authorization: Bearer <token>``:
  the manifest pushes in it, as :class:`ManifestPush` (pulls, deletes and blob pushes are skipped).

A push carries what the host said about it besides the new commit: the delivery id (the same on
a redelivery) and the commit the ref was at ``before``, with which the image-reconciler recognises
a late or redelivered webhook. Bodies are bounded in size and nesting depth before they are parsed
(:mod:`contracts.json_bounds`), then validated into :mod:`services.triggers.payloads` (tolerant of
unknown fields). Errors, each answered by the service as ``{"error": message}`` with its HTTP status::

    WebhookError (ValueError)
    ├── NotEnabledError        404  the provider's secret is unset; names the variable to set
    ├── UnauthorizedError      401  a missing or wrong signature or token
    ├── TooLargeError          413  the body exceeds ``max_body_bytes``
    └── InvalidPayloadError    400  names the field and what a valid request carries there
                                    (JSON nested too deeply included)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict

from contracts import events, json_bounds, references, sources
from services.triggers import payloads
from services.triggers import settings as triggers_settings

NO_COMMIT = re.compile(r"^0+$")
"""The ``after`` of a deleted ref."""
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
REGISTRY_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
"""The media type of a distribution notification envelope."""
_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_DIGEST = re.compile(rf"^{references.DIGEST_PATTERN}$")
_MANIFEST_MEDIA_TYPE = re.compile(r"manifest|image\.index")

Provider = Literal["github", "gitlab", "generic"]
M = TypeVar("M", bound=BaseModel)


class WebhookError(ValueError):
    """A request the triggers service refuses; ``status`` is the HTTP status it is answered with."""

    status: ClassVar[int] = 400


class NotEnabledError(WebhookError):
    """The provider's secret is not configured, so its endpoint is off."""

    status = 404


class UnauthorizedError(WebhookError):
    """The signature or token is missing or does not match."""

    status = 401


class TooLargeError(WebhookError):
    """The body is larger than the service accepts."""

    status = 413


class InvalidPayloadError(WebhookError):
    """The body or a header is not what the provider sends; the message names the field."""

    status = 400


# results


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Push(_Result):
    """A git push: a repository (under each URL its provider gives), a ref and the new commit."""

    provider: Provider
    """Who sent it."""
    urls: tuple[str, ...]
    """The repository's URLs as the provider spells them (https, ssh, web)."""
    ref: str | None
    """``refs/heads/<branch>``, ``refs/tags/<tag>``, a bare branch or tag name (generic), or None:
    the generic push names no ref and concerns every Image following a branch or tag."""
    commit: str
    """The pushed commit, a full lowercase SHA."""
    before: str | None = None
    """The commit the ref pointed at before the push, a full lowercase SHA; None when the provider
    names none (a new ref, a generic push, an annotated tag, whose ``before`` is a tag object)."""
    delivery: str = ""
    """The provider's delivery id (the same on a redelivery), or ``""``."""


class Ping(_Result):
    """GitHub's ``ping``: the webhook is set up and its secret matches."""

    provider: Provider
    """Who sent it."""


class Ignored(_Result):
    """An authenticated request that announces nothing to build."""

    reason: str
    """Why, as the answer tells the sender."""


class ManifestPush(_Result):
    """An image manifest pushed to a registry."""

    host: str
    """Registry host the push went to (``request.host`` of the notification)."""
    repository: str
    """Repository inside the registry, e.g. ``builders/default``."""
    digest: str
    """``sha256:…`` digest of the pushed manifest."""
    tag: str = ""
    """The tag pushed, or ``""`` for a push by digest."""
    id: str = ""
    """The notification event's id (the same when the registry sends it again)."""


Outcome = Push | Ping | Ignored


# providers


GITHUB_HINT = "a GitHub push event carries it"
GITLAB_HINT = "a GitLab push event carries it"
GENERIC_HINT = 'send {"url": <repository>, "revision": <commit>, "ref": <optional branch or tag>}'
REGISTRY_HINT = "a registry notification carries it"


def github(
    body: bytes,
    *,
    secret: str,
    event: str | None,
    signature: str | None,
    delivery: str | None = None,
    content_type: str = "application/json",
    max_bytes: int = triggers_settings.MAX_BODY_BYTES,
) -> Outcome:
    """A GitHub delivery: its signature checked, then the push it carries (if it is one)."""
    verify_signature(body, secret=secret, signature=signature)
    if not event:
        raise InvalidPayloadError("X-GitHub-Event: missing; GitHub sends it with every delivery")
    if event == "ping":
        return Ping(provider="github")
    if event != "push":
        return Ignored(reason=f"GitHub {event} events do not trigger builds; only push does")
    document = _json_object(_github_json(body, content_type), max_bytes=max_bytes)
    payload = _validate(payloads.GitHubPush, document, hint=GITHUB_HINT)
    repository = payload.repository
    if payload.deleted or NO_COMMIT.match(payload.after):
        return Ignored(reason=f"{payload.ref} was deleted")
    if not payload.ref.startswith((BRANCH_PREFIX, TAG_PREFIX)):
        return Ignored(reason=f"{payload.ref} is neither a branch nor a tag")
    if payload.ref.startswith(TAG_PREFIX) and payload.head_commit is not None:
        commit = _commit(payload.head_commit.id, field="head_commit.id")
    else:
        commit = _commit(payload.after, field="after")
    return Push(
        provider="github",
        urls=_present(repository.clone_url, repository.ssh_url, repository.html_url, repository.git_url),
        ref=payload.ref,
        commit=commit,
        before=_before(payload.before, after=payload.after, commit=commit),
        delivery=_delivery(delivery, header="X-GitHub-Delivery"),
    )


def github_digest(body: bytes, *, secret: str) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``: what GitHub sends as ``sha256=<digest>``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, *, secret: str, signature: str | None) -> None:
    """``signature`` is ``sha256=`` and the HMAC-SHA256 of ``body`` with ``secret``, else UnauthorizedError."""
    env_var = triggers_settings.TriggersSettings.env_var("github_secret")
    if not signature:
        raise UnauthorizedError(
            f"X-Hub-Signature-256: missing; give the GitHub webhook a secret, the value of {env_var}"
        )
    found = _SIGNATURE.match(signature.strip())
    if found is None:
        raise UnauthorizedError("X-Hub-Signature-256: not of the form sha256=<64 hex digits>")
    if not hmac.compare_digest(github_digest(body, secret=secret), found.group(1).lower()):
        raise UnauthorizedError(
            f"X-Hub-Signature-256: does not match the body; the GitHub webhook's secret differs from {env_var}"
        )


def gitlab(
    body: bytes,
    *,
    token: str,
    event: str | None,
    sent_token: str | None,
    delivery: str | None = None,
    max_bytes: int = triggers_settings.MAX_BODY_BYTES,
) -> Outcome:
    """A GitLab delivery: its token checked, then the push it carries (if it is one)."""
    env_var = triggers_settings.TriggersSettings.env_var("gitlab_token")
    if not sent_token:
        raise UnauthorizedError(
            f"X-Gitlab-Token: missing; give the GitLab webhook a secret token, the value of {env_var}"
        )
    if not _same(sent_token, token):
        raise UnauthorizedError(f"X-Gitlab-Token: does not match {env_var}")
    if not event:
        raise InvalidPayloadError("X-Gitlab-Event: missing; GitLab sends it with every delivery")
    if event not in ("Push Hook", "Tag Push Hook"):
        return Ignored(
            reason=f"GitLab {event} events do not trigger builds; only Push Hook and Tag Push Hook do"
        )
    payload = _validate(payloads.GitLabPush, _json_object(body, max_bytes=max_bytes), hint=GITLAB_HINT)
    if NO_COMMIT.match(payload.after) and not payload.checkout_sha:
        return Ignored(reason=f"{payload.ref} was deleted")
    if not payload.ref.startswith((BRANCH_PREFIX, TAG_PREFIX)):
        return Ignored(reason=f"{payload.ref} is neither a branch nor a tag")
    if payload.checkout_sha:
        commit = _commit(payload.checkout_sha, field="checkout_sha")
    else:
        commit = _commit(payload.after, field="after")
    project = payload.project
    return Push(
        provider="gitlab",
        urls=_present(project.git_http_url, project.git_ssh_url, project.web_url),
        ref=payload.ref,
        commit=commit,
        before=_before(payload.before, after=payload.after, commit=commit),
        delivery=_delivery(delivery, header="Idempotency-Key / X-Gitlab-Event-UUID"),
    )


def generic(
    body: bytes, *, token: str, authorization: str | None, max_bytes: int = triggers_settings.MAX_BODY_BYTES
) -> Push:
    """A push announced by any tool holding the bearer token."""
    verify_bearer(
        authorization, token=token, env_var=triggers_settings.TriggersSettings.env_var("generic_token")
    )
    payload = _validate(payloads.GenericPush, _json_object(body, max_bytes=max_bytes), hint=GENERIC_HINT)
    commit = _commit(payload.revision, field="revision", fix="send the commit the push brought, not a branch")
    ref = payload.ref
    if ref is not None and ref.startswith("refs/") and not ref.startswith((BRANCH_PREFIX, TAG_PREFIX)):
        raise InvalidPayloadError(
            f"ref: {ref!r} is neither a branch nor a tag; send a branch or tag name, "
            f"or {BRANCH_PREFIX}<branch> or {TAG_PREFIX}<tag>"
        )
    return Push(provider="generic", urls=(payload.url,), ref=ref, commit=commit)


def registry(
    body: bytes,
    *,
    token: str,
    authorization: str | None,
    content_type: str,
    max_bytes: int = triggers_settings.MAX_BODY_BYTES,
) -> tuple[ManifestPush, ...]:
    """The manifest pushes of a registry notification envelope (possibly none)."""
    verify_bearer(
        authorization, token=token, env_var=triggers_settings.TriggersSettings.env_var("registry_token")
    )
    if content_type not in (REGISTRY_MEDIA_TYPE, "application/json"):
        raise InvalidPayloadError(
            f"Content-Type: {content_type!r}; a registry notification is {REGISTRY_MEDIA_TYPE}"
        )
    document = _json_object(body, max_bytes=max_bytes)
    envelope = _validate(payloads.RegistryEnvelope, document, hint=REGISTRY_HINT)
    pushes = []
    for index, event in enumerate(envelope.events):
        target = event.target
        if event.action != "push" or not (target.tag or _MANIFEST_MEDIA_TYPE.search(target.media_type)):
            continue
        where = f"events[{index}]"
        if not target.repository:
            raise InvalidPayloadError(f"{where}.target.repository: missing; {REGISTRY_HINT}")
        if not _DIGEST.match(target.digest):
            raise InvalidPayloadError(
                f"{where}.target.digest: {target.digest!r} is not sha256:<64 hex digits>; {REGISTRY_HINT}"
            )
        host = event.request.host or urllib.parse.urlsplit(target.url).netloc
        if not host:
            raise InvalidPayloadError(f"{where}.request.host: missing; {REGISTRY_HINT}")
        pushes.append(
            ManifestPush(
                host=host, repository=target.repository, digest=target.digest, tag=target.tag, id=event.id
            )
        )
    return tuple(pushes)


def verify_bearer(authorization: str | None, *, token: str, env_var: str) -> None:
    """``authorization`` is ``Bearer <token>``, else UnauthorizedError."""
    if not authorization:
        raise UnauthorizedError(
            f"Authorization: missing; send Authorization: Bearer <the value of {env_var}>"
        )
    scheme, _, sent = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        raise UnauthorizedError(
            f"Authorization: not a bearer token; send Authorization: Bearer <the value of {env_var}>"
        )
    if not _same(sent.strip(), token):
        raise UnauthorizedError(f"Authorization: the bearer token does not match {env_var}")


# plumbing


def _same(sent: str, expected: str) -> bool:
    """Constant-time comparison (bytes, so that any character is allowed)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


def _github_json(body: bytes, content_type: str) -> bytes | str:
    """The JSON of a delivery: the body, or its ``payload`` field for a form-encoded webhook."""
    if content_type != "application/x-www-form-urlencoded":
        return body
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    if "payload" not in form:
        raise InvalidPayloadError("payload: missing; a form-encoded GitHub delivery carries the event there")
    return form["payload"][0]


def too_large(limit: int) -> TooLargeError:
    """The refusal of a body over ``limit`` bytes."""
    return TooLargeError(f"body: larger than {limit} bytes, the limit KILN_TRIGGERS_MAX_BODY_BYTES sets")


def _json_object(body: bytes | str, *, max_bytes: int) -> dict[str, Any]:
    try:
        parsed = json_bounds.loads(body, max_bytes=max_bytes)
    except UnicodeDecodeError as e:
        raise InvalidPayloadError(f"body: not UTF-8 ({e.reason}); send a JSON object") from e
    except json.JSONDecodeError as e:
        raise InvalidPayloadError(f"body: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    except json_bounds.TooLargeError as e:
        raise too_large(max_bytes) from e
    except json_bounds.BoundsError as e:
        raise InvalidPayloadError(f"body: {e}; a webhook body is a small, shallow JSON object") from e
    if not isinstance(parsed, dict):
        raise InvalidPayloadError(f"body: a JSON {type(parsed).__name__} where an object was expected")
    return parsed


def _validate(model: type[M], raw: dict[str, Any], *, hint: str) -> M:
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as e:
        raise InvalidPayloadError(_describe(e, hint=hint)) from e


def _describe(error: pydantic.ValidationError, *, hint: str) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        where = _location(detail["loc"])
        if detail["type"] == "missing":
            parts.append(f"{where}: missing; {hint}")
        else:
            parts.append(f"{where}: {detail['msg'][0].lower()}{detail['msg'][1:]}")
    return "; ".join(parts)


def _location(loc: Sequence[str | int]) -> str:
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where.lstrip(".") or "body"


def _commit(value: str, *, field: str, fix: str = "") -> str:
    """``value`` in lowercase if it is a full commit SHA, else InvalidPayloadError naming ``field``."""
    if not sources.is_commit(value.lower()):
        raise InvalidPayloadError(
            f"{field}: {value!r} is not a full commit SHA (40 or 64 hex digits)" + (f"; {fix}" if fix else "")
        )
    return value.lower()


def _before(before: str, *, after: str, commit: str) -> str | None:
    """The commit a ref pointed at before a push: ``before``, when the ref points at commits (not at
    annotated tag objects) and the push did not create it."""
    if not before or NO_COMMIT.match(before) or after.lower() != commit:
        return None
    return _commit(before, field="before")


def _delivery(delivery: str | None, *, header: str) -> str:
    """The delivery id sent in ``header`` (``""`` if none), if it is not longer than an event carries."""
    if delivery is not None and len(delivery) > events.MAX_DELIVERY_LENGTH:
        raise InvalidPayloadError(
            f"{header}: {len(delivery)} characters, longer than the {events.MAX_DELIVERY_LENGTH} accepted"
        )
    return delivery or ""


def _present(*urls: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(url for url in urls if url))
