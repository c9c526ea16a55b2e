"""JSON in the emulator: what the standard library reads and writes is read and written the same, and a
write is encoded once for its answer and every watch event it makes."""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

import aiohttp
import pytest

from services.testbed.emulator import Emulator, encoding


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": [1, 2.5, "x", None, True, {"b": {}}]}, id="nested JSON data"),
        pytest.param({"ünï": "cödé ✓"}, id="non-ASCII text"),
        pytest.param({"n": 9223372036854775807}, id="the largest 64-bit integer"),
        pytest.param({1: "a"}, id="a non-string key becomes a string, as the standard library makes it"),
    ],
)
def test_values_are_written_and_read_back_as_the_standard_library_does(value: dict[Any, Any]) -> None:
    assert json.loads(encoding.dumps(value)) == json.loads(json.dumps(value))
    assert encoding.loads(json.dumps(value)) == json.loads(json.dumps(value))


def test_what_is_not_json_data_is_refused_as_the_standard_library_refuses_it() -> None:
    with pytest.raises(TypeError):
        encoding.dumps({"at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)})


def test_a_body_that_is_not_json_gets_the_standard_librarys_message() -> None:
    with pytest.raises(ValueError, match=r"Expecting value: line 1 column 7 \(char 6\)"):
        encoding.loads(b'{"a": ')


def test_an_object_is_encoded_once_per_api_version_it_is_served_as() -> None:
    encodings = encoding.Encodings()
    stored = {"apiVersion": "kpack.io/v1alpha2", "kind": "Image", "metadata": {"name": "x"}}

    first = encodings.object(stored, "kpack.io/v1alpha2")
    again = encodings.object(stored, "kpack.io/v1alpha2")
    older = encodings.object(stored, "kpack.io/v1alpha1")

    assert again is first
    assert json.loads(older) == {**stored, "apiVersion": "kpack.io/v1alpha1"}
    assert json.loads(encodings.event("MODIFIED", stored, "kpack.io/v1alpha2")) == {
        "type": "MODIFIED",
        "object": stored,
    }


def test_an_equal_but_other_object_is_encoded_anew() -> None:
    encodings = encoding.Encodings(size=1)
    first, second = {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}

    encodings.object(first, "v1")
    encodings.object(second, "v1")

    assert json.loads(encodings.object(first, "v1")) == {**first, "apiVersion": "v1"}


async def _events(http: aiohttp.ClientSession, url: str, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with http.get(url) as response:
        async for line in response.content:
            events.append(json.loads(line))
            if len(events) == count:
                return events
    return events


async def test_a_write_answers_and_reaches_every_watch_with_the_same_object(
    emulator: Emulator, namespace: str
) -> None:
    base = f"{emulator.base_url}/api/v1/namespaces/{namespace}/configmaps"
    async with aiohttp.ClientSession() as http:
        async with http.post(base, json={"metadata": {"name": "c"}, "data": {"k": "1"}}) as created:
            version = (await created.json())["metadata"]["resourceVersion"]
        watch = f"{base}?watch=true&resourceVersion={version}"
        watches = [asyncio.create_task(_events(http, watch, 1)) for _ in range(3)]
        await asyncio.sleep(0.2)
        async with http.patch(
            f"{base}/c", data=b'{"data":{"k":"2"}}', headers={"Content-Type": "application/merge-patch+json"}
        ) as patched:
            answer = await patched.json()
        async with asyncio.timeout(5):
            seen = await asyncio.gather(*watches)

    assert answer["data"] == {"k": "2"}
    assert seen == [[{"type": "MODIFIED", "object": answer}]] * 3
