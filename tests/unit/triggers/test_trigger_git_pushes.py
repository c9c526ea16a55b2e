"""What each git provider's delivery says: a push (repository URLs, ref, commit), a ping, something
to ignore, or a refusal naming the field."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import trigger_payloads as tp

from services.triggers import webhooks

GITHUB_URLS = (
    "https://github.com/example/app.git",
    "git@github.com:example/app.git",
    "https://github.com/example/app",
    "git://github.com/example/app.git",
)
GITLAB_URLS = (
    "https://gitlab.example.com/group/app.git",
    "git@gitlab.example.com:group/app.git",
    "https://gitlab.example.com/group/app",
)


def github(payload: Any, *, event: str = "push", content_type: str = "application/json") -> webhooks.Outcome:
    body = payload if isinstance(payload, bytes) else tp.encode(payload)
    return webhooks.github(
        body,
        secret=tp.GITHUB_SECRET,
        event=event,
        signature=tp.sign(body),
        delivery=DELIVERY,
        content_type=content_type,
    )


def without(payload: dict[str, Any], dotted: str) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    inner = payload
    for key in parents:
        inner = inner[key]
    del inner[last]
    return payload


DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
GITLAB_DELIVERY = "b8a9f1d0-uuid"


def pushed(
    provider: webhooks.Provider = "github",
    *,
    ref: str = "refs/heads/main",
    before: str | None = tp.OTHER_COMMIT,
) -> webhooks.Push:
    """The push read from ``tp.github_push`` / ``tp.gitlab_push`` (of ``tp.COMMIT``)."""
    urls, delivery = (GITHUB_URLS, DELIVERY) if provider == "github" else (GITLAB_URLS, GITLAB_DELIVERY)
    return webhooks.Push(
        provider=provider, urls=urls, ref=ref, commit=tp.COMMIT, before=before, delivery=delivery
    )


GITHUB_OUTCOMES = [
    pytest.param(
        tp.github_push(),
        "push",
        pushed(),
        id="a branch push names the repository URLs, the branch, the new commit and the one before",
    ),
    pytest.param(
        tp.github_push(before=tp.ZERO),
        "push",
        pushed(before=None),
        id="a push that creates the branch names no commit before",
    ),
    pytest.param(
        without(tp.github_push(), "before"),
        "push",
        pushed(before=None),
        id="a push without before names no commit before",
    ),
    pytest.param(
        tp.github_push(ref="refs/tags/v1.0", before=tp.OTHER_COMMIT.upper()),
        "push",
        pushed(ref="refs/tags/v1.0"),
        id="a lightweight tag moved names the commit it was at, lower-cased",
    ),
    pytest.param(
        {**tp.github_push(ref="refs/tags/v1.0", after=tp.TAG_OBJECT), "head_commit": {"id": tp.COMMIT}},
        "push",
        pushed(ref="refs/tags/v1.0", before=None),
        id="an annotated tag push names the tagged commit, not the tag object",
    ),
    pytest.param(
        {**tp.github_push(after=tp.ZERO), "deleted": True, "head_commit": None},
        "push",
        webhooks.Ignored(reason="refs/heads/main was deleted"),
        id="a branch deletion is ignored",
    ),
    pytest.param(
        tp.github_push(ref="refs/notes/commits"),
        "push",
        webhooks.Ignored(reason="refs/notes/commits is neither a branch nor a tag"),
        id="a push to a ref that is neither a branch nor a tag is ignored",
    ),
    pytest.param(
        {"zen": "Design for failure.", "hook_id": 1},
        "ping",
        webhooks.Ping(provider="github"),
        id="a ping is answered",
    ),
    pytest.param(
        {"action": "opened"},
        "pull_request",
        webhooks.Ignored(reason="GitHub pull_request events do not trigger builds; only push does"),
        id="other events are ignored",
    ),
]


@pytest.mark.parametrize(("payload", "event", "outcome"), GITHUB_OUTCOMES)
def test_github_deliveries(payload: dict[str, Any], event: str, outcome: webhooks.Outcome) -> None:
    assert github(payload, event=event) == outcome


def test_a_form_encoded_github_delivery_carries_the_push_in_its_payload_field() -> None:
    body = urllib.parse.urlencode({"payload": tp.encode(tp.github_push()).decode()}).encode()

    outcome = github(body, content_type="application/x-www-form-urlencoded")

    assert outcome == github(tp.github_push())


GITHUB_REFUSALS = [
    pytest.param(
        without(tp.github_push(), "repository.clone_url"),
        "repository.clone_url: missing; a GitHub push event carries it",
        id="a push without repository.clone_url names that field",
    ),
    pytest.param(
        without(tp.github_push(), "after"),
        "after: missing; a GitHub push event carries it",
        id="a push without after names that field",
    ),
    pytest.param(
        without(without(tp.github_push(), "ref"), "repository"),
        "ref: missing; a GitHub push event carries it; repository: missing; a GitHub push event carries it",
        id="every missing field is named",
    ),
    pytest.param(
        {**tp.github_push(), "repository": {"clone_url": 42}},
        "repository.clone_url: input should be a valid string",
        id="a field of the wrong type names the expected type",
    ),
    pytest.param(
        tp.github_push(after="main"),
        "after: 'main' is not a full commit SHA (40 or 64 hex digits)",
        id="an after that is not a commit is refused",
    ),
    pytest.param(
        tp.github_push(before="main"),
        "before: 'main' is not a full commit SHA (40 or 64 hex digits)",
        id="a before that is not a commit is refused",
    ),
    pytest.param(
        b'{"ref": "refs/heads/main",',
        "body: not JSON (Expecting property name enclosed in double quotes at line 1 column 27)",
        id="a body cut short is not JSON",
    ),
    pytest.param(
        b"[1, 2]", "body: a JSON list where an object was expected", id="a JSON array is not an event"
    ),
    pytest.param(
        b"\xff\xfe{}",
        "body: not UTF-8 (invalid start byte); send a JSON object",
        id="bytes that are not text",
    ),
]


@pytest.mark.parametrize(("payload", "message"), GITHUB_REFUSALS)
def test_malformed_github_pushes(payload: Any, message: str) -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        github(payload)

    assert str(raised.value) == message
    assert raised.value.status == 400


def test_a_delivery_without_an_event_header_names_the_header() -> None:
    body = tp.encode(tp.github_push())
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        webhooks.github(body, secret=tp.GITHUB_SECRET, event=None, signature=tp.sign(body))

    assert str(raised.value) == "X-GitHub-Event: missing; GitHub sends it with every delivery"


def test_a_form_encoded_delivery_without_a_payload_field_names_it() -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        github(b"other=1", content_type="application/x-www-form-urlencoded")

    assert str(raised.value) == "payload: missing; a form-encoded GitHub delivery carries the event there"


def gitlab(payload: Any, *, event: str = "Push Hook") -> webhooks.Outcome:
    return webhooks.gitlab(
        tp.encode(payload), token=tp.TOKEN, event=event, sent_token=tp.TOKEN, delivery=GITLAB_DELIVERY
    )


GITLAB_OUTCOMES = [
    pytest.param(
        tp.gitlab_push(),
        "Push Hook",
        pushed("gitlab"),
        id="a GitLab push names the project URLs, the branch, the checked-out commit and the one before",
    ),
    pytest.param(
        {**tp.gitlab_push(), "before": tp.ZERO},
        "Push Hook",
        pushed("gitlab", before=None),
        id="a GitLab push that creates the branch names no commit before",
    ),
    pytest.param(
        tp.gitlab_push(ref="refs/tags/v1.0", after=tp.TAG_OBJECT, kind="tag_push"),
        "Tag Push Hook",
        pushed("gitlab", ref="refs/tags/v1.0", before=None),
        id="a GitLab tag push names the tagged commit (checkout_sha), not the tag object",
    ),
    pytest.param(
        tp.gitlab_push(checkout_sha=None),
        "Push Hook",
        pushed("gitlab"),
        id="without checkout_sha the commit is after",
    ),
    pytest.param(
        tp.gitlab_push(after=tp.ZERO, checkout_sha=None),
        "Push Hook",
        webhooks.Ignored(reason="refs/heads/main was deleted"),
        id="a GitLab branch deletion is ignored",
    ),
    pytest.param(
        tp.gitlab_push(ref="refs/merge-requests/7/head"),
        "Push Hook",
        webhooks.Ignored(reason="refs/merge-requests/7/head is neither a branch nor a tag"),
        id="a GitLab push to a ref that is neither a branch nor a tag is ignored",
    ),
    pytest.param(
        {"object_kind": "merge_request"},
        "Merge Request Hook",
        webhooks.Ignored(
            reason="GitLab Merge Request Hook events do not trigger builds; only Push Hook and Tag Push Hook do"
        ),
        id="other GitLab events are ignored",
    ),
]


@pytest.mark.parametrize(("payload", "event", "outcome"), GITLAB_OUTCOMES)
def test_gitlab_deliveries(payload: dict[str, Any], event: str, outcome: webhooks.Outcome) -> None:
    assert gitlab(payload, event=event) == outcome


@pytest.mark.parametrize(
    ("payload", "event", "message"),
    [
        pytest.param(
            without(tp.gitlab_push(), "project.git_http_url"),
            "Push Hook",
            "project.git_http_url: missing; a GitLab push event carries it",
            id="a GitLab push without project.git_http_url names that field",
        ),
        pytest.param(
            tp.gitlab_push(checkout_sha="HEAD"),
            "Push Hook",
            "checkout_sha: 'HEAD' is not a full commit SHA (40 or 64 hex digits)",
            id="a checkout_sha that is not a commit is refused",
        ),
        pytest.param(
            tp.gitlab_push(),
            "",
            "X-Gitlab-Event: missing; GitLab sends it with every delivery",
            id="a GitLab delivery without an event header names the header",
        ),
    ],
)
def test_malformed_gitlab_pushes(payload: dict[str, Any], event: str, message: str) -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        gitlab(payload, event=event)

    assert str(raised.value) == message


def generic(payload: Any) -> webhooks.Push:
    return webhooks.generic(tp.encode(payload), token=tp.TOKEN, authorization=f"Bearer {tp.TOKEN}")


URL = "https://git.example/team/app.git"


@pytest.mark.parametrize(
    ("payload", "push"),
    [
        pytest.param(
            {"url": URL, "revision": tp.COMMIT, "ref": "main"},
            webhooks.Push(provider="generic", urls=(URL,), ref="main", commit=tp.COMMIT),
            id="a generic push with a branch name",
        ),
        pytest.param(
            {"url": URL, "revision": tp.COMMIT, "ref": "refs/tags/v2"},
            webhooks.Push(provider="generic", urls=(URL,), ref="refs/tags/v2", commit=tp.COMMIT),
            id="a generic push with a full tag ref",
        ),
        pytest.param(
            {"url": URL, "revision": tp.COMMIT},
            webhooks.Push(provider="generic", urls=(URL,), ref=None, commit=tp.COMMIT),
            id="a generic push without a ref concerns every followed ref",
        ),
        pytest.param(
            {"url": URL, "revision": tp.COMMIT.upper(), "sender": "ci"},
            webhooks.Push(provider="generic", urls=(URL,), ref=None, commit=tp.COMMIT),
            id="an upper-case commit is lower-cased and unknown fields are ignored",
        ),
    ],
)
def test_generic_pushes(payload: dict[str, Any], push: webhooks.Push) -> None:
    assert generic(payload) == push


HINT = 'send {"url": <repository>, "revision": <commit>, "ref": <optional branch or tag>}'


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(
            {"revision": tp.COMMIT}, f"url: missing; {HINT}", id="a generic push without url names it"
        ),
        pytest.param(
            {"url": URL, "revision": "main"},
            "revision: 'main' is not a full commit SHA (40 or 64 hex digits); "
            "send the commit the push brought, not a branch",
            id="a branch name as revision is refused",
        ),
        pytest.param(
            {"url": URL, "revision": tp.COMMIT, "ref": "refs/pull/7/head"},
            "ref: 'refs/pull/7/head' is neither a branch nor a tag; "
            "send a branch or tag name, or refs/heads/<branch> or refs/tags/<tag>",
            id="a ref that is neither a branch nor a tag is refused",
        ),
        pytest.param(
            {"url": URL, "revision": tp.COMMIT, "ref": ""},
            "ref: string should have at least 1 character",
            id="an empty ref is refused",
        ),
    ],
)
def test_malformed_generic_pushes(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        generic(payload)

    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("parse", "header"),
    [
        pytest.param(
            lambda delivery: webhooks.github(
                tp.encode(tp.github_push()),
                secret=tp.GITHUB_SECRET,
                event="push",
                signature=tp.sign(tp.encode(tp.github_push())),
                delivery=delivery,
            ),
            "X-GitHub-Delivery",
            id="GitHub",
        ),
        pytest.param(
            lambda delivery: webhooks.gitlab(
                tp.encode(tp.gitlab_push()),
                token=tp.TOKEN,
                event="Push Hook",
                sent_token=tp.TOKEN,
                delivery=delivery,
            ),
            "Idempotency-Key / X-Gitlab-Event-UUID",
            id="GitLab",
        ),
    ],
)
def test_a_delivery_id_longer_than_an_event_carries_is_refused_naming_the_header(
    parse: Callable[[str], webhooks.Outcome], header: str
) -> None:
    assert isinstance(parse("d" * 256), webhooks.Push)
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        parse("d" * 257)

    assert str(raised.value) == f"{header}: 257 characters, longer than the 256 accepted"
