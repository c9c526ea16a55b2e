"""A Kubernetes API call that never answers ends as a temporary error at its deadline."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from services import errors
from services.kube import translating


async def test_an_attempt_without_an_answer_within_the_deadline_is_a_temporary_error() -> None:
    async def silent() -> aiohttp.ClientResponse:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    with pytest.raises(errors.TemporaryError) as raised:
        await translating.call(silent, backoff=(), deadline=0.05)

    assert str(raised.value) == "Kubernetes API: no answer within 0.05 s"


async def test_a_client_timeout_before_the_deadline_keeps_its_own_message() -> None:
    async def timing_out() -> aiohttp.ClientResponse:
        raise aiohttp.ServerTimeoutError("Timeout on reading data from socket")

    with pytest.raises(errors.TemporaryError) as raised:
        await translating.call(timing_out, backoff=(), deadline=10)

    assert str(raised.value) == (
        "Kubernetes API unreachable: ServerTimeoutError: Timeout on reading data from socket"
    )
