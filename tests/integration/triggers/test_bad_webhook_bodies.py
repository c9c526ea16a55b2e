"""Bad webhook requests to the triggers service, served over the real broker and the emulator:
oversize bodies, wrong types, bad or missing signatures and tokens (GitHub HMAC, GitLab token,
generic and registry bearer), replayed deliveries, non-JSON, deep nesting. Each is answered 4xx
with a message (or 202 for a harmless replay), never a 5xx; a valid push after them still
publishes. Generated requests (hypothesis) and the fixed set ``kiln chaos`` tries
(:mod:`services.testbed.badinput`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import aio_pika.abc
import pytest
import triggers_support as support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import images
from services.broker import publishing
from services.broker import settings as broker_settings
from services.kube import cluster, resources
from services.testbed import badinput
from services.triggers import service, webhooks
from services.triggers import settings as triggers_settings

pytestmark = pytest.mark.integration

COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
MAX_BODY_BYTES = 4096
SECRETS = badinput.WebhookSecrets(
    github=support.GITHUB_SECRET,
    gitlab=support.GITLAB_TOKEN,
    generic=support.GENERIC_TOKEN,
    registry=support.REGISTRY_TOKEN,
)


@pytest.fixture
async def repo(kube: resources.Kube) -> str:
    """A repository one Image follows (branch ``main``): a push to it publishes one event."""
    suffix = uuid.uuid4().hex[:10]
    url = f"https://github.com/example/bad-{suffix}"
    await kube.images.create(
        images.Image.model_validate(
            {
                "apiVersion": "kpack.io/v1alpha2",
                "kind": "Image",
                "metadata": {"name": "app", "namespace": f"bad-{suffix}"},
                "spec": {
                    "tag": f"127.0.0.1:5000/triggers/bad-{suffix}",
                    "builder": {"kind": "ClusterBuilder", "name": "default"},
                    "source": {"git": {"url": url, "revision": "main"}},
                },
            }
        )
    )
    return url


@pytest.fixture
async def unlimited(
    connection: aio_pika.abc.AbstractConnection,
    broker: broker_settings.BrokerSettings,
    kube: resources.Kube,
    probe: support.Probe,
) -> AsyncIterator[support.Served]:
    """The triggers service with a small body limit and no rate limit (many requests from here)."""
    configured = triggers_settings.TriggersSettings(
        github_secret=SECRETS.github,
        gitlab_token=SECRETS.gitlab,
        generic_token=SECRETS.generic,
        registry_token=SECRETS.registry,
        max_body_bytes=MAX_BODY_BYTES,
        rate_per_second=0,
    )
    async with await publishing.Publisher.open(connection, settings=broker) as publisher:
        triggers = service.Triggers(
            cluster.KubeCluster(kube), publisher, settings=configured, clock=lambda: support.NOW
        )
        async with support.serve(triggers) as running:
            yield running


def push_body(url: str) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": COMMIT,
            "repository": {"clone_url": f"{url}.git"},
        }
    ).encode()


def github_headers(body: bytes, *, secret: str = SECRETS.github, delivery: str = "") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={webhooks.github_digest(body, secret=secret)}",
    }


async def valid_push_still_publishes(served: support.Served, probe: support.Probe, url: str) -> None:
    body = push_body(url)
    status, answer = await served.post("/webhooks/github", body, github_headers(body))
    assert (status, answer["published"]) == (202, 1), answer
    [event] = await probe.take(1)
    assert event.data.revision == COMMIT  # type: ignore[attr-defined]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"ref": json_values, "after": json_values, "before": json_values, "repository": json_values},
    ).map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=65, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=MAX_BODY_BYTES + 1, max_value=4 * MAX_BODY_BYTES).map(lambda n: b" " * n + b"{}"),
)


@st.composite
def requests(draw: st.DrawFn) -> badinput.BadRequest:
    """A request to one of the four routes: a generated body, signed or not, with a token or not."""
    body = draw(bodies)
    route = draw(st.sampled_from(["github", "gitlab", "generic", "registry"]))
    right = draw(st.booleans())
    if route == "github":
        headers = github_headers(body, secret=SECRETS.github if right else "wrong")
        if draw(st.booleans()):
            del headers["X-Hub-Signature-256"]
    elif route == "gitlab":
        headers = {"X-Gitlab-Event": draw(st.sampled_from(["Push Hook", "Tag Push Hook", "Issue Hook"]))}
        headers["X-Gitlab-Token"] = SECRETS.gitlab if right else draw(st.text("abc", max_size=10))
    else:
        token = getattr(SECRETS, route) if right else "wrong"
        headers = {"Authorization": f"Bearer {token}"}
        if route == "registry":
            headers["Content-Type"] = webhooks.REGISTRY_MEDIA_TYPE
    return badinput.BadRequest(f"{route} {body[:30]!r}", f"/webhooks/{route}", body, headers)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(requests(), min_size=1, max_size=5))
async def test_generated_requests_are_refused_with_a_4xx_and_a_message_never_a_5xx(
    unlimited: support.Served, batch: list[badinput.BadRequest]
) -> None:
    outcomes = await badinput.try_bad_webhooks(unlimited.url, batch)

    for outcome in outcomes:
        assert outcome.handled, outcome
        if outcome.ended == "refused":
            status, _, message = outcome.detail.partition(": ")
            assert status in {"400", "401", "413"}, outcome
            assert message.strip(), outcome


async def test_the_chaos_set_of_bad_requests_is_refused_and_a_valid_push_after_them_publishes(
    unlimited: support.Served, probe: support.Probe, repo: str
) -> None:
    body = push_body(repo)
    delivery = str(uuid.uuid4())
    first = await unlimited.post("/webhooks/github", body, github_headers(body, delivery=delivery))
    assert first[0] == 202
    await probe.take(1)

    inputs = badinput.bad_webhooks(SECRETS, max_body_bytes=MAX_BODY_BYTES, delivery=delivery)
    outcomes = await badinput.try_bad_webhooks(unlimited.url, inputs)
    ended = {outcome.name: (outcome.ended, outcome.detail) for outcome in outcomes}

    assert badinput.unhandled(outcomes) == []
    assert ended.pop("a replayed GitHub delivery")[0] == "ignored", "a redelivery is answered 202"
    assert {end for end, _ in ended.values()} == {"refused"}, ended
    assert ended["a GitHub push with a wrong signature"][1].startswith("401: ")
    assert ended["a GitLab push without a token"][1].startswith("401: ")
    assert ended["a generic push with a wrong bearer token"][1].startswith("401: ")
    assert ended["a registry notification with a wrong bearer token"][1].startswith("401: ")
    assert ended["a GitHub push over the size limit"][1].startswith("413: ")
    assert ended["a GitHub push nested 2,000 levels deep"][1].startswith("400: ")
    assert ended["a GitHub push that is not JSON"][1].startswith("400: ")
    assert ended["a GitHub push of the wrong types"][1].startswith("400: ")
    await valid_push_still_publishes(unlimited, probe, repo)
