"""``kiln sandbox --example stack-update`` as a user runs it: the command line, its JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

pytestmark = pytest.mark.integration


async def test_the_stack_update_example_rebases_its_second_build() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "sandbox",
        "--example",
        "stack-update",
        "--until-builds",
        "2",
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(180):
        out, err = await process.communicate()

    assert process.returncode == 0, err.decode()[-3000:]
    first, second = (json.loads(line) for line in out.decode().splitlines())
    assert (first["reason"], first["rebase"], first["succeeded"]) == ("CONFIG", False, "True")
    assert (second["reason"], second["rebase"], second["succeeded"]) == ("STACK", True, "True")
    assert second["cacheArgs"] == {"rebase": []}
    assert second["runImage"].rpartition("@")[2] != first["runImage"].rpartition("@")[2]
    assert "-run-image@sha256:" in second["runImage"]
    assert "kubeconfig: " in err.decode()
