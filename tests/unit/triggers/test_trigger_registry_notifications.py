"""Registry notifications: the manifest pushes in a distribution notification envelope."""

from __future__ import annotations

from typing import Any

import pytest
import trigger_payloads as tp

from services.triggers import webhooks

HOST = "registry.example:5000"


def parse(payload: Any, *, content_type: str = tp.REGISTRY_MEDIA_TYPE) -> tuple[webhooks.ManifestPush, ...]:
    return webhooks.registry(
        tp.encode(payload), token=tp.TOKEN, authorization=f"Bearer {tp.TOKEN}", content_type=content_type
    )


def pushed(
    repository: str = "builders/default", *, tag: str = "latest", event_id: str = "asdf-asdf-asdf-asdf-0"
):
    return webhooks.ManifestPush(host=HOST, repository=repository, digest=tp.DIGEST, tag=tag, id=event_id)


@pytest.mark.parametrize(
    ("payload", "pushes"),
    [
        pytest.param(
            tp.envelope(tp.registry_event()),
            (pushed(),),
            id="a tagged manifest push names host, repository, digest, tag and event id",
        ),
        pytest.param(
            tp.envelope(tp.registry_event(tag=None)),
            (pushed(tag=""),),
            id="a manifest pushed by digest is a push without a tag",
        ),
        pytest.param(
            tp.envelope(
                tp.registry_event(
                    media_type="application/vnd.oci.image.index.v1+json", tag=None, event_id="e1"
                )
            ),
            (pushed(tag="", event_id="e1"),),
            id="an image index push counts as a manifest push",
        ),
        pytest.param(
            tp.envelope(tp.registry_event(host=None)),
            (pushed(),),
            id="without request.host the host comes from target.url",
        ),
        pytest.param(
            tp.envelope(
                tp.registry_event(media_type="application/octet-stream", tag=None),
                tp.registry_event(action="pull"),
                tp.registry_event(action="delete"),
            ),
            (),
            id="blob pushes, pulls and deletes are skipped",
        ),
        pytest.param(
            tp.envelope(
                tp.registry_event(repository="builders/a", event_id="e1"),
                tp.registry_event(repository="builders/b", event_id="e2"),
            ),
            (pushed("builders/a", event_id="e1"), pushed("builders/b", event_id="e2")),
            id="every manifest push of an envelope is kept, in order",
        ),
        pytest.param(tp.envelope(), (), id="an empty envelope has no pushes"),
    ],
)
def test_registry_notifications(payload: dict[str, Any], pushes: tuple[webhooks.ManifestPush, ...]) -> None:
    assert parse(payload) == pushes


def test_plain_json_is_accepted_too() -> None:
    assert parse(tp.envelope(tp.registry_event()), content_type="application/json") == (pushed(),)


@pytest.mark.parametrize(
    ("payload", "content_type", "message"),
    [
        pytest.param(
            tp.envelope(tp.registry_event(repository="")),
            tp.REGISTRY_MEDIA_TYPE,
            "events[0].target.repository: missing; a registry notification carries it",
            id="a push without a repository names events[i].target.repository",
        ),
        pytest.param(
            tp.envelope(tp.registry_event(), tp.registry_event(digest="sha256:abc")),
            tp.REGISTRY_MEDIA_TYPE,
            "events[1].target.digest: 'sha256:abc' is not sha256:<64 hex digits>; "
            "a registry notification carries it",
            id="a push with a short digest names the event's digest",
        ),
        pytest.param(
            tp.envelope(
                {
                    **tp.registry_event(host=None),
                    "target": {"repository": "r", "digest": tp.DIGEST, "tag": "t"},
                }
            ),
            tp.REGISTRY_MEDIA_TYPE,
            "events[0].request.host: missing; a registry notification carries it",
            id="a push without request.host or target.url names request.host",
        ),
        pytest.param(
            {"events": [{"target": {}}]},
            tp.REGISTRY_MEDIA_TYPE,
            "events[0].action: missing; a registry notification carries it",
            id="an event without an action names events[i].action",
        ),
        pytest.param(
            {"notifications": []},
            tp.REGISTRY_MEDIA_TYPE,
            "events: missing; a registry notification carries it",
            id="a body that is no envelope names events",
        ),
        pytest.param(
            tp.envelope(tp.registry_event()),
            "text/plain",
            "Content-Type: 'text/plain'; a registry notification is "
            "application/vnd.docker.distribution.events.v1+json",
            id="another media type is refused",
        ),
    ],
)
def test_malformed_registry_notifications(payload: dict[str, Any], content_type: str, message: str) -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        parse(payload, content_type=content_type)

    assert str(raised.value) == message
