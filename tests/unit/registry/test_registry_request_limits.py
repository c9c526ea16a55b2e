"""The registry session bounds requests in flight and the time each may take."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services import errors
from services.registry import auth, requesting


async def test_requests_beyond_the_limit_wait_their_turn() -> None:
    running, most = 0, 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        session = requesting.Session(http, keychain=auth.Keychain(), max_concurrency=3)
        responses = await asyncio.gather(
            *(
                session.request(
                    "GET", "http://registry.test/v2/", host="registry.test", scope="", subject="probe"
                )
                for _ in range(12)
            )
        )

    assert [r.status_code for r in responses] == [200] * 12
    assert most == 3


async def test_a_request_without_an_answer_within_the_deadline_is_a_temporary_error() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async with httpx.AsyncClient(transport=httpx.MockTransport(never)) as http:
        session = requesting.Session(http, keychain=auth.Keychain(), deadline=0.05)
        with pytest.raises(errors.TemporaryError) as raised:
            await session.request(
                "GET", "http://registry.test/v2/", host="registry.test", scope="", subject="probe"
            )

    assert str(raised.value) == "probe: GET http://registry.test/v2/: no answer within 0.05 s"
