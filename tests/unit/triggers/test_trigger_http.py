"""The webhook routes over HTTP with Kiln's own ports faked: statuses and JSON answers of the cases
the real broker and emulator cannot be made to show on demand (a provider switched off, a body
over the limit, a publisher failing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import trigger_payloads as tp
from aiohttp import test_utils

from contracts import builders, events, images
from services import errors
from services.triggers import service, settings

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Cluster:
    """The reads the triggers service makes."""

    images: list[images.Image] = field(default_factory=list)
    builders: dict[str, list[builders.Builder]] = field(default_factory=dict)
    failure: Exception | None = None

    async def find_images(self, matches: Callable[[dict[str, Any]], bool]) -> list[images.Image]:
        if self.failure is not None:
            raise self.failure
        return [
            i for i in self.images if matches(i.model_dump(mode="json", by_alias=True, exclude_none=True))
        ]

    async def list_builders(self, kind: str, namespace: str | None = None) -> list[builders.Builder]:
        return list(self.builders.get(kind, []))


@dataclass
class Publisher:
    published: list[events.Event[events.Payload]] = field(default_factory=list)
    failure: Exception | None = None

    async def publish_many(self, batch: Iterable[events.Event[events.Payload]]) -> None:
        batch = list(batch)
        if self.failure is not None:
            raise self.failure
        self.published += batch


@dataclass
class Served:
    url: str
    session: aiohttp.ClientSession
    cluster: Cluster
    publisher: Publisher

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async with self.session.post(self.url + path, data=body, headers=headers) as response:
            return response.status, await response.json()


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    cluster, publisher = Cluster(images=[tp.image("api")]), Publisher()
    configured = settings.TriggersSettings(
        github_secret=tp.GITHUB_SECRET, generic_token=tp.TOKEN, max_body_bytes=4096
    )
    triggers = service.Triggers(cluster, publisher, settings=configured, clock=lambda: NOW)
    server = test_utils.TestServer(triggers.app(), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Served(str(server.make_url("")), session, cluster, publisher)
    await server.close()


def github_headers(body: bytes, event: str = "push") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": tp.sign(body),
    }


async def test_a_push_is_answered_with_the_images_it_published_for(served: Served) -> None:
    body = tp.encode(tp.github_push())

    answer = await served.post("/webhooks/github", body, github_headers(body))

    assert answer == (202, {"published": 1, "images": ["apps/api"]})
    assert [e.data for e in served.publisher.published] == [
        events.SourceChanged(
            namespace="apps",
            image="api",
            url="https://github.com/example/app",
            revision=tp.COMMIT,
            before=tp.OTHER_COMMIT,
            delivery="d-1",
        )
    ]


async def test_a_ping_is_answered_200(served: Served) -> None:
    body = b'{"zen": "Keep it logically awesome."}'

    assert await served.post("/webhooks/github", body, github_headers(body, "ping")) == (200, {"ping": "ok"})


async def test_an_ignored_event_is_accepted_without_publishing(served: Served) -> None:
    body = b"{}"

    answer = await served.post("/webhooks/github", body, github_headers(body, "star"))

    assert answer == (
        202,
        {"published": 0, "images": [], "ignored": "GitHub star events do not trigger builds; only push does"},
    )
    assert served.publisher.published == []


@pytest.mark.parametrize(
    ("path", "variable"),
    [
        pytest.param(
            "/webhooks/gitlab", "KILN_TRIGGERS_GITLAB_TOKEN", id="GitLab without a token is not enabled"
        ),
        pytest.param(
            "/webhooks/registry",
            "KILN_TRIGGERS_REGISTRY_TOKEN",
            id="the registry without a token is not enabled",
        ),
    ],
)
async def test_a_provider_without_its_secret_answers_404_naming_the_variable(
    served: Served, path: str, variable: str
) -> None:
    answer = await served.post(path, b"{}", {"X-Gitlab-Token": "x", "Authorization": "Bearer x"})

    assert answer == (404, {"error": f"{path} is not enabled: set {variable}"})


LIMIT_MESSAGE = "body: larger than 4096 bytes, the limit KILN_TRIGGERS_MAX_BODY_BYTES sets"


async def test_a_body_over_the_limit_is_answered_413(served: Served) -> None:
    body = b"x" * 4097

    answer = await served.post("/webhooks/generic", body, {"Authorization": f"Bearer {tp.TOKEN}"})

    assert answer == (413, {"error": LIMIT_MESSAGE})


async def test_a_chunked_body_over_the_limit_is_answered_413(served: Served) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 1000

    async with served.session.post(
        served.url + "/webhooks/generic", data=chunks(), headers={"Authorization": f"Bearer {tp.TOKEN}"}
    ) as response:
        answer = response.status, await response.json()

    assert answer == (413, {"error": LIMIT_MESSAGE})


async def test_a_body_of_exactly_the_limit_is_read(served: Served) -> None:
    padding = " " * (4096 - len(tp.encode({"url": "https://github.com/example/app", "revision": tp.COMMIT})))
    body = tp.encode({"url": "https://github.com/example/app", "revision": tp.COMMIT}) + padding.encode()

    answer = await served.post("/webhooks/generic", body, {"Authorization": f"Bearer {tp.TOKEN}"})

    assert (len(body), answer) == (4096, (202, {"published": 1, "images": ["apps/api"]}))


async def test_a_publisher_failure_is_answered_503_so_that_the_sender_retries(served: Served) -> None:
    served.publisher.failure = errors.TemporaryError("1 of 1 events not confirmed: returned")
    body = tp.encode(tp.github_push())

    answer = await served.post("/webhooks/github", body, github_headers(body))

    assert answer == (
        503,
        {"error": "temporarily unable to publish, retry later: 1 of 1 events not confirmed: returned"},
    )


async def test_an_api_server_failure_is_answered_503_too(served: Served) -> None:
    served.cluster.failure = errors.TemporaryError("GET images: 503 Service Unavailable")
    body = tp.encode(tp.github_push())

    answer = await served.post("/webhooks/github", body, github_headers(body))

    assert answer == (
        503,
        {"error": "temporarily unable to publish, retry later: GET images: 503 Service Unavailable"},
    )


async def test_a_permanent_failure_is_answered_500(served: Served) -> None:
    served.cluster.failure = errors.InvalidError("Image apps/x from the API does not validate")
    body = tp.encode(tp.github_push())

    answer = await served.post("/webhooks/github", body, github_headers(body))

    assert answer == (500, {"error": "Image apps/x from the API does not validate"})
