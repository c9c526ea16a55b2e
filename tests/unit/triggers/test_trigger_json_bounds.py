"""Every provider bounds a body's size and nesting depth before parsing it: ten thousand levels of
nesting are a 400 naming the problem, a body over ``max_bytes`` a 413, never a crash."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest
import trigger_payloads as tp

from services.triggers import webhooks

DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_MESSAGE = (
    "body: arrays and objects nested more than 64 levels deep; a webhook body is a small, shallow JSON object"
)
Provider = Callable[[bytes, int], object]


def github(body: bytes, max_bytes: int) -> object:
    return webhooks.github(
        body, secret=tp.GITHUB_SECRET, event="push", signature=tp.sign(body), max_bytes=max_bytes
    )


def github_form(body: bytes, max_bytes: int) -> object:
    form = urllib.parse.urlencode({"payload": body.decode()}).encode()
    return webhooks.github(
        form,
        secret=tp.GITHUB_SECRET,
        event="push",
        signature=tp.sign(form),
        content_type="application/x-www-form-urlencoded",
        max_bytes=max_bytes,
    )


def gitlab(body: bytes, max_bytes: int) -> object:
    return webhooks.gitlab(body, token=tp.TOKEN, event="Push Hook", sent_token=tp.TOKEN, max_bytes=max_bytes)


def generic(body: bytes, max_bytes: int) -> object:
    return webhooks.generic(body, token=tp.TOKEN, authorization=f"Bearer {tp.TOKEN}", max_bytes=max_bytes)


def registry(body: bytes, max_bytes: int) -> object:
    return webhooks.registry(
        body,
        token=tp.TOKEN,
        authorization=f"Bearer {tp.TOKEN}",
        content_type=tp.REGISTRY_MEDIA_TYPE,
        max_bytes=max_bytes,
    )


PROVIDERS = [
    pytest.param(github, id="GitHub"),
    pytest.param(github_form, id="a form-encoded GitHub delivery"),
    pytest.param(gitlab, id="GitLab"),
    pytest.param(generic, id="the generic webhook"),
    pytest.param(registry, id="a registry notification"),
]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_nested_ten_thousand_levels_deep_is_refused_naming_the_problem(provider: Provider) -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        provider(DEEP, 1024 * 1024)

    assert (raised.value.status, str(raised.value)) == (400, DEEP_MESSAGE)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_over_max_bytes_is_refused_as_too_large(provider: Provider) -> None:
    with pytest.raises(webhooks.TooLargeError) as raised:
        provider(tp.encode({"padding": "x" * 2048}), 1024)

    assert (raised.value.status, str(raised.value)) == (
        413,
        "body: larger than 1024 bytes, the limit KILN_TRIGGERS_MAX_BODY_BYTES sets",
    )


def test_a_number_too_long_to_convert_is_refused_naming_the_problem() -> None:
    with pytest.raises(webhooks.InvalidPayloadError) as raised:
        generic(b'{"url": "https://git.example/app", "revision": ' + b"1" * 5000 + b"}", 1024 * 1024)

    assert str(raised.value).startswith("body: a number too long to convert (Exceeds the limit (4300 digits)")
