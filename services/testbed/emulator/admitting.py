"""Admission webhooks as the API server calls them: Kiln's ``/mutate`` then ``/validate``.

Off unless a test or the sandbox points the emulator at a webhook (`Emulator.call_admission`).
Then every create, update and patch of a ``kpack.io/v1alpha2`` Image or Build (not its status
subresource; ``matchPolicy: Exact``, as deploy/admission.yaml registers it) is sent as an
``admission.k8s.io/v1`` AdmissionReview: the mutating answer's JSONPatch is applied first, the
schema checked, then a validating refusal is answered as the API server does —
``admission webhook "<name>" denied the request: <message>`` with the webhook's code. A webhook
that cannot be reached refuses the request (``failurePolicy: Fail``). No user is authenticated,
so every request counts as a user's.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import ssl
import uuid
from typing import Any

import aiohttp
import jsonpatch

from services.testbed.emulator import resources, routing, statuses

MUTATING = "defaults.webhook.kiln.kpack.io"
VALIDATING = "validation.webhook.kiln.kpack.io"
ADMITTED = frozenset(
    {
        "images",
        "builds",
        "builders",
        "clusterbuilders",
        "clusterstores",
        "clusterstacks",
        "clusterlifecycles",
        "buildpacks",
        "clusterbuildpacks",
    }
)
"""What ``deploy/admission.yaml`` registers the webhook for (kpack.io v1alpha2)."""
ADMITTED_VERSION = "v1alpha2"


@dataclasses.dataclass(frozen=True)
class Webhook:
    """Where the webhook answers (``https://host:port``) and the CA it is trusted with."""

    url: str
    ssl_context: ssl.SSLContext | None = None
    timeout: float = 10.0


def admitted(webhook: Webhook | None, target: routing.Target) -> Webhook | None:
    """``webhook`` when ``target`` is one it is registered for, else None."""
    if webhook is None or target.subresource is not None or target.resource.group != resources.KPACK:
        return None
    if target.resource.plural not in ADMITTED or target.version != ADMITTED_VERSION:
        return None
    return webhook


async def mutate(webhook: Webhook, target: routing.Target, obj: Any, *, old: Any = None) -> Any:
    """``obj`` with the mutating webhook's patch applied."""
    response = await _review(webhook, "/mutate", MUTATING, target, obj, old=old)
    _refuse_unless_allowed(response, MUTATING)
    if response.get("patchType") != "JSONPatch" or not response.get("patch"):
        return obj
    try:
        patch = json.loads(base64.b64decode(response["patch"]))
        return jsonpatch.apply_patch(obj, patch)
    except (ValueError, jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise statuses.ApiError(
            500, "InternalError", f'admission webhook "{MUTATING}" sent a bad patch: {e}'
        ) from e


async def validate(webhook: Webhook, target: routing.Target, obj: Any, *, old: Any = None) -> None:
    """Nothing when the validating webhook allows ``obj``; its refusal as the API server words it."""
    _refuse_unless_allowed(await _review(webhook, "/validate", VALIDATING, target, obj, old=old), VALIDATING)


def _name_of(obj: Any) -> str:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return str(metadata.get("name") or "") if isinstance(metadata, dict) else ""


def _refuse_unless_allowed(response: dict[str, Any], name: str) -> None:
    if response.get("allowed") is True:
        return
    status = response.get("status") or {}
    code = status.get("code") or 403
    message = f'admission webhook "{name}" denied the request: {status.get("message", "")}'.rstrip(": ")
    raise statuses.ApiError(code, status.get("reason") or "Forbidden", message)


async def _review(
    webhook: Webhook, path: str, name: str, target: routing.Target, obj: Any, *, old: Any
) -> dict[str, Any]:
    resource = target.resource
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": resource.group, "version": target.version, "kind": resource.kind},
        "resource": {"group": resource.group, "version": target.version, "resource": resource.plural},
        "name": target.name or _name_of(obj),
        "namespace": target.namespace or "",
        "operation": "UPDATE" if old is not None else "CREATE",
        "userInfo": {},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
    }
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    failed = f'failed calling webhook "{name}"'
    try:
        timeout = aiohttp.ClientTimeout(total=webhook.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(f"{webhook.url}{path}", json=review, ssl=webhook.ssl_context or True) as answer,
        ):
            if answer.status != 200:
                raise statuses.ApiError(
                    500, "InternalError", f"{failed}: {answer.status} {await answer.text()}"
                )
            body = await answer.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise statuses.ApiError(500, "InternalError", f"{failed}: {e}") from e
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict) or response.get("uid") != request["uid"]:
        raise statuses.ApiError(500, "InternalError", f"{failed}: the answer does not echo the request's uid")
    return response
