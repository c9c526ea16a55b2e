"""Bad input, tried against a running Kiln: where each piece ended.

For ``kiln chaos`` (its ``bad_inputs`` and ``bad_inputs_unhandled``) and the bad-input tests. Three
surfaces, each with a default set of adversarial inputs and a function that tries a set and
returns one :class:`Outcome` per input:

* **events** straight into a work queue (:func:`bad_events`, :func:`try_bad_events`): a body that
  is not JSON, of the wrong type, missing a field, over the size bound, nested too deep; an unknown
  event type, a wrong content type, CloudEvents attributes of the wrong type or value; and a valid
  event about an Image that does not exist. Where each ended is read off a queue of our own bound
  to the dead-letter exchange (a fanout), so the dead-letter queue itself is left as it was;
* **resources** through the Kubernetes API (:func:`bad_images`, :func:`try_bad_resources`): what
  the CRD schema refuses is a 4xx naming the field; what it admits but Kiln refuses is a
  ``Ready=False`` condition on the object;
* **webhooks** to the triggers service (:func:`bad_webhooks`, :func:`try_bad_webhooks`).

Where an input ended (:data:`End`)::

    dead-letter   in the dead-letter queue with x-kiln-reason and x-kiln-error (or the broker's
                  x-death, for a message over its delivery limit)
    refused       answered 4xx, with the message
    condition     accepted, then Ready=False on the object, with the message
    ignored       taken and settled with nothing to do (an event about an Image that does not
                  exist; a webhook answered 2xx, e.g. a redelivery of the same delivery)
    unhandled     none of these: a 5xx, no answer, or a message still in its queue
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
import aio_pika.abc
import httpx

from contracts import events
from services.broker import consuming, topology
from services.broker import settings as broker_settings
from services.triggers import webhooks

End = Literal["dead-letter", "refused", "condition", "ignored", "unhandled"]
Surface = Literal["event", "resource", "webhook"]
PROBE_HEADER = "x-kiln-bad-input"
"""Carried by every bad event tried: its dead letter keeps it, so the outcome is told apart."""
KPACK_PATH = "/apis/kpack.io/v1alpha2"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """Where one bad input ended."""

    surface: Surface
    name: str
    """What the input was, as a sentence fragment ("a body that is not JSON")."""
    ended: End
    detail: str
    """The reason and error of a dead letter, the status and message of a refusal, the
    condition's message; for an unhandled input, what was seen instead."""

    @property
    def handled(self) -> bool:
        return self.ended != "unhandled"


def unhandled(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes that ended nowhere they should (``bad_inputs_unhandled``)."""
    return [outcome for outcome in outcomes if not outcome.handled]


# events


@dataclasses.dataclass(frozen=True)
class BadEvent:
    """An AMQP message as any publisher could send it: body, headers, content type."""

    name: str
    body: bytes
    headers: Mapping[str, Any]
    content_type: str | None = "application/json"


def ce_headers(event_type: str, subject: str, /, **changes: Any) -> dict[str, Any]:
    """Valid ``ce-*`` headers of an event; ``changes`` replace (or, as None, remove) some."""
    headers: dict[str, Any] = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": "/kiln/bad-input",
        "ce-type": event_type,
        "ce-subject": subject,
        "ce-time": datetime.now(UTC).isoformat(),
    }
    for name, value in changes.items():
        key = f"ce-{name}"
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


def bad_events(*, namespace: str, name: str) -> list[BadEvent]:
    """The default adversarial events about the Image ``namespace/name`` (its key is the subject);
    all but the last are invalid; the last is valid and names an Image that does not exist."""
    subject = f"{namespace}/{name}"
    changed = events.ImageChanged.event_type
    valid = json.dumps({"namespace": namespace, "name": name}).encode()

    def about(**changes: Any) -> dict[str, Any]:
        return ce_headers(changed, subject, **changes)

    return [
        BadEvent("a body that is not JSON", b"{not json", about()),
        BadEvent("a body that is not UTF-8", b'{"namespace": "\xff\xfe"}', about()),
        BadEvent("a JSON array for a payload", b"[1, 2, 3]", about()),
        BadEvent(
            "a field of the wrong type", json.dumps({"namespace": namespace, "name": 7}).encode(), about()
        ),
        BadEvent("a required field missing", json.dumps({"namespace": namespace}).encode(), about()),
        BadEvent(
            "an unknown field", json.dumps({"namespace": namespace, "name": name, "x": 1}).encode(), about()
        ),
        BadEvent(
            "a 1 MiB payload", json.dumps({"namespace": namespace, "name": "a" * 2**20}).encode(), about()
        ),
        BadEvent("a body nested 10,000 levels deep", b"[" * 10_000 + b"]" * 10_000, about()),
        BadEvent("an unknown event type", valid, ce_headers("kiln.image.exploded", subject)),
        BadEvent("a content type other than JSON", valid, about(), content_type="application/xml"),
        BadEvent("an integer ce-id", valid, about(id=42)),
        BadEvent("a ce-time that is not a time", valid, about(time="yesterday")),
        BadEvent("a CloudEvents spec version 0.3", valid, about(specversion="0.3")),
        BadEvent("no ce-subject", valid, about(subject=None)),
        BadEvent("a subject that is not the payload's key", valid, about(subject=f"{namespace}/other")),
        BadEvent("no headers at all", valid, {}),
        BadEvent("a valid event about an Image that does not exist", valid, about()),
    ]


async def try_bad_events(
    connection: aio_pika.abc.AbstractConnection,
    *,
    settings: broker_settings.BrokerSettings,
    queue: str,
    inputs: Sequence[BadEvent],
    within: float = 10.0,
) -> list[Outcome]:
    """Put each of ``inputs`` straight into the work queue ``queue`` (confirmed), and wait up to
    ``within`` seconds for each to be dead-lettered; one not dead-lettered is ``ignored`` if the
    queue was emptied meanwhile (it was taken and acknowledged), else ``unhandled``."""
    names = topology.Names(settings)
    channel = await connection.channel(publisher_confirms=True)
    try:
        witness = await channel.declare_queue(exclusive=True, auto_delete=True)
        await witness.bind(names.dead_exchange)
        probes = {str(uuid.uuid4()): bad for bad in inputs}
        for probe, bad in probes.items():
            message = aio_pika.Message(
                bad.body,
                headers={**bad.headers, PROBE_HEADER: probe},
                content_type=bad.content_type,
                message_id=probe,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(message, routing_key=queue, mandatory=True)
        dead = await _dead_letters(witness, channel, queue=queue, expect=set(probes), within=within)
        drained = await _ready(channel, queue) == 0
    finally:
        await channel.close()
    return [_event_outcome(bad, dead.get(probe), drained=drained) for probe, bad in probes.items()]


QUIET_SECONDS = 2.0
"""How long the queue must stay empty with no new dead letter before the wait ends early."""


async def _dead_letters(
    witness: aio_pika.abc.AbstractQueue,
    channel: aio_pika.abc.AbstractChannel,
    *,
    queue: str,
    expect: set[str],
    within: float,
) -> dict[str, Mapping[str, Any]]:
    """The headers of each expected probe's dead letter, waiting until all came, or ``queue`` is
    empty and nothing came for :data:`QUIET_SECONDS`, or ``within`` seconds passed."""
    loop = asyncio.get_running_loop()
    found: dict[str, Mapping[str, Any]] = {}
    deadline = loop.time() + within
    last = loop.time()
    while set(found) != expect and loop.time() < deadline:
        message = await witness.get(no_ack=True, fail=False)
        if message is not None:
            probe = _text((message.headers or {}).get(PROBE_HEADER))
            if probe in expect:
                found[probe], last = message.headers or {}, loop.time()
            continue
        if loop.time() - last > QUIET_SECONDS and await _ready(channel, queue) == 0:
            break
        await asyncio.sleep(0.05)
    return found


async def _ready(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return declared.declaration_result.message_count or 0


def _event_outcome(bad: BadEvent, headers: Mapping[str, Any] | None, *, drained: bool) -> Outcome:
    if headers is None:
        if drained:
            return Outcome("event", bad.name, "ignored", "taken and acknowledged, nothing dead-lettered")
        return Outcome("event", bad.name, "unhandled", "neither dead-lettered nor taken off its queue")
    reason = _text(headers.get(consuming.REASON_HEADER))
    if reason:
        return Outcome(
            "event", bad.name, "dead-letter", f"{reason}: {_text(headers.get(consuming.ERROR_HEADER))}"
        )
    deaths = headers.get("x-death") or []
    why = _text(deaths[0].get("reason")) if deaths and isinstance(deaths[0], Mapping) else "no reason"
    return Outcome("event", bad.name, "dead-letter", f"by the broker: {why}")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


# resources


@dataclasses.dataclass(frozen=True)
class BadResource:
    """A kpack object written through the API: ``resource`` is the plural (``images``, ``builds``)."""

    name: str
    resource: str
    body: Mapping[str, Any]


def bad_images(valid: Mapping[str, Any]) -> list[BadResource]:
    """Adversarial variants of the valid Image ``valid``, each under a name of its own."""
    base_name = str(valid["metadata"]["name"])

    def variant(index: int, name: str, **spec: Any) -> BadResource:
        body = json.loads(json.dumps(valid))
        body["metadata"]["name"] = f"{base_name}-bad{index}"
        for key, value in spec.items():
            if value is None:
                body["spec"].pop(key, None)
            else:
                body["spec"][key] = value
        return BadResource(name, "images", body)

    too_long = {**valid, "metadata": {**valid["metadata"], "name": "n" * 254}}
    bad_name = {**valid, "metadata": {**valid["metadata"], "name": "Not_A_Name"}}
    return [
        variant(1, "a tag of the wrong type", tag=12345),
        variant(2, "an unknown imageTaggingStrategy", imageTaggingStrategy="Sometimes"),
        variant(3, "a negative build history limit", failedBuildHistoryLimit=-3),
        variant(4, "a 64 KiB tag", tag="r/" + "a" * 65536),
        variant(5, "a builder of the wrong kind", builder={"kind": "Pod", "name": "default"}),
        variant(6, "no source", source=None),
        variant(7, "a source of the wrong type", source="https://example.com/app.git"),
        variant(
            8, "a cache tag that is the image's own tag", cache={"registry": {"tag": valid["spec"]["tag"]}}
        ),
        BadResource("a name of 254 characters", "images", too_long),
        BadResource("a name that is not a DNS subdomain", "images", bad_name),
    ]


async def try_bad_resources(
    api_url: str, *, namespace: str, inputs: Sequence[BadResource], within: float = 10.0
) -> list[Outcome]:
    """Create each of ``inputs`` in ``namespace`` through the API at ``api_url``; an accepted one
    is watched for ``within`` seconds for a ``Ready=False`` condition."""
    outcomes: list[Outcome] = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0) as http:
        for bad in inputs:
            collection = f"{KPACK_PATH}/namespaces/{namespace}/{bad.resource}"
            try:
                response = await http.post(collection, json=dict(bad.body))
            except httpx.HTTPError as e:
                outcomes.append(Outcome("resource", bad.name, "unhandled", f"no answer: {e!r}"))
                continue
            if response.status_code >= 300:
                outcomes.append(_answered("resource", bad.name, response))
                continue
            name = response.json()["metadata"]["name"]
            outcomes.append(await _condition(http, f"{collection}/{name}", bad.name, within=within))
    return outcomes


async def _condition(http: httpx.AsyncClient, path: str, name: str, *, within: float) -> Outcome:
    deadline = asyncio.get_running_loop().time() + within
    seen = "no Ready condition"
    while asyncio.get_running_loop().time() < deadline:
        status = ((await http.get(path)).json().get("status")) or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if ready is not None and ready.get("status") == "False":
            return Outcome("resource", name, "condition", f"{ready.get('reason')}: {ready.get('message')}")
        if ready is not None:
            seen = f"Ready={ready.get('status')}: {ready.get('message')}"
        await asyncio.sleep(0.1)
    return Outcome("resource", name, "unhandled", f"accepted, and after {within} s {seen}")


def _answered(surface: Surface, name: str, response: httpx.Response) -> Outcome:
    try:
        answer = response.json()
        message = str(answer.get("message") or answer.get("error") or answer)
    except ValueError:
        message = response.text[:500]
    ended: End = "refused" if 400 <= response.status_code < 500 else "unhandled"
    return Outcome(surface, name, ended, f"{response.status_code}: {message}")


# webhooks


@dataclasses.dataclass(frozen=True)
class BadRequest:
    """A webhook request: the route, body and headers."""

    name: str
    path: str
    body: bytes
    headers: Mapping[str, str]


@dataclasses.dataclass(frozen=True)
class WebhookSecrets:
    github: str
    gitlab: str
    generic: str
    registry: str


def bad_webhooks(secrets: WebhookSecrets, *, max_body_bytes: int, delivery: str) -> list[BadRequest]:
    """The default adversarial webhook requests; ``delivery`` is the id of a valid GitHub push the
    caller already sent, replayed here (a harmless redelivery, answered 2xx)."""
    push = json.dumps(
        {
            "ref": "refs/heads/main",
            "after": "a" * 40,
            "before": "b" * 40,
            "repository": {"clone_url": "https://example.com/bad-input/app.git"},
        }
    ).encode()

    def github(body: bytes, *, secret: str = secrets.github, **headers: str) -> dict[str, str]:
        signed = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={webhooks.github_digest(body, secret=secret)}",
        }
        return {**signed, **headers}

    big = b'{"ref": "' + b"a" * (max_body_bytes + 1) + b'"}'
    deep = b"[" * 2_000 + b"]" * 2_000
    wrong_types = json.dumps({"ref": 5, "after": ["x"], "repository": "no"}).encode()
    bearer = {"Content-Type": "application/json", "Authorization": f"Bearer {secrets.generic}"}
    registry = {"Content-Type": webhooks.REGISTRY_MEDIA_TYPE, "Authorization": f"Bearer {secrets.registry}"}
    return [
        BadRequest(
            "a GitHub push with a wrong signature", "/webhooks/github", push, github(push, secret="wrong")
        ),
        BadRequest("a GitHub push without a signature", "/webhooks/github", push, {"X-GitHub-Event": "push"}),
        BadRequest("a GitHub push over the size limit", "/webhooks/github", big, github(big)),
        BadRequest("a GitHub push that is not JSON", "/webhooks/github", b"ref=main", github(b"ref=main")),
        BadRequest("a GitHub push of the wrong types", "/webhooks/github", wrong_types, github(wrong_types)),
        BadRequest("a GitHub push nested 2,000 levels deep", "/webhooks/github", deep, github(deep)),
        BadRequest(
            "a replayed GitHub delivery",
            "/webhooks/github",
            push,
            github(push, **{"X-GitHub-Delivery": delivery}),
        ),
        BadRequest(
            "a GitLab push with a wrong token",
            "/webhooks/gitlab",
            push,
            {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong", "Content-Type": "application/json"},
        ),
        BadRequest(
            "a GitLab push without a token", "/webhooks/gitlab", push, {"X-Gitlab-Event": "Push Hook"}
        ),
        BadRequest(
            "a generic push with a wrong bearer token",
            "/webhooks/generic",
            push,
            {**bearer, "Authorization": "Bearer wrong"},
        ),
        BadRequest("a generic push of the wrong types", "/webhooks/generic", wrong_types, bearer),
        BadRequest("a generic push that is not JSON", "/webhooks/generic", b"\xff\xfe", bearer),
        BadRequest(
            "a registry notification with a wrong bearer token",
            "/webhooks/registry",
            b'{"events": []}',
            {**registry, "Authorization": "Bearer wrong"},
        ),
        BadRequest(
            "a registry notification of the wrong types", "/webhooks/registry", b'{"events": 7}', registry
        ),
    ]


async def try_bad_webhooks(url: str, inputs: Sequence[BadRequest]) -> list[Outcome]:
    """Post each of ``inputs`` to the triggers service at ``url``."""
    outcomes: list[Outcome] = []
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        for bad in inputs:
            try:
                response = await http.post(bad.path, content=bad.body, headers=dict(bad.headers))
            except httpx.HTTPError as e:
                outcomes.append(Outcome("webhook", bad.name, "unhandled", f"no answer: {e!r}"))
                continue
            if 200 <= response.status_code < 300:
                outcomes.append(
                    Outcome("webhook", bad.name, "ignored", f"{response.status_code}: {response.text[:300]}")
                )
            else:
                outcomes.append(_answered("webhook", bad.name, response))
    return outcomes
