"""The completion container's termination message: base64(gzip(JSON)), kpack's keys, ≤ 4096 bytes."""

from __future__ import annotations

import base64
import gzip
import hashlib

import pytest

from contracts import builds, completion

METADATA = completion.CompletionMetadata(
    buildpack_metadata=[builds.BuildpackInfo(id="io.buildpack.java", version="1.2.3")],
    latest_image="reg.io/app@sha256:" + "a" * 64,
    stack_id="io.buildpacks.stacks.jammy",
)


def test_the_completion_message_round_trips_with_kpack_keys() -> None:
    message = completion.encode_completion_message(METADATA)
    body = gzip.decompress(base64.b64decode(message))
    assert body.decode().startswith('{"buildpackMetadata":[{"id":"io.buildpack.java"')
    assert '"stackID":"io.buildpacks.stacks.jammy"' in body.decode()
    assert completion.decode_completion_message(message) == METADATA


def test_keys_a_newer_completion_image_adds_are_ignored() -> None:
    body = b'{"latestImage":"x","attestationImage":"y"}'
    message = base64.b64encode(gzip.compress(body)).decode()
    assert completion.decode_completion_message(message) == completion.CompletionMetadata(latest_image="x")


def test_a_completion_message_over_4096_bytes_is_refused() -> None:
    many = [
        builds.BuildpackInfo(id=hashlib.sha256(str(i).encode()).hexdigest(), version=str(i))
        for i in range(100)
    ]
    with pytest.raises(completion.CompletionMessageError, match=r"^compressed metadata size too large$"):
        completion.encode_completion_message(METADATA.model_copy(update={"buildpack_metadata": many}))


@pytest.mark.parametrize(
    "message",
    [
        "not base64!",
        base64.b64encode(b"not gzip").decode(),
        base64.b64encode(gzip.compress(b"not json")).decode(),
        base64.b64encode(gzip.compress(b'{"buildpackMetadata": 3}')).decode(),
    ],
    ids=["bad base64 is refused", "bad gzip is refused", "bad JSON is refused", "a wrong shape is refused"],
)
def test_unreadable_completion_messages(message: str) -> None:
    with pytest.raises(completion.CompletionMessageError, match=r"^invalid completion message: "):
        completion.decode_completion_message(message)
