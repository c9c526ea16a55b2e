"""``kiln logs`` and ``--wait`` as a user runs them, with the kubeconfig the sandbox prints: the
step logs the simulated kubelet writes, streamed through the emulator's pod log endpoint while the
build runs, in step order, under ``===> STEP`` headers; the command ends when the build does, and
its exit code says how.

Real broker, real registry, the Kubernetes emulator, every Kiln service and the simulated kubelet
(steps of 0.2 s, so a follower sees a build run).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import builds as build_models
from services.testbed.kubelet import failures
from services.testbed.sandbox import examples, harness
from tests.integration.e2e.conftest import BUILDER, REGISTRY, Run
from tests.integration.e2e.user_commands import ROOT, kiln

pytestmark = pytest.mark.integration
STEPS = ("prepare", "analyze", "detect", "restore", "build", "export", "completion")
HEADERS = [f"===> {step.upper()}" for step in STEPS]


@pytest.fixture
async def run() -> AsyncIterator[Run]:
    suffix = uuid.uuid4().hex[:10]
    async with harness.sandbox(registry_host=REGISTRY, step_seconds=0.2, resync_seconds=3600.0) as sb:
        await sb.add_builder(name=BUILDER)
        yield Run(sb=sb, namespace=f"logs-{suffix}", name=f"app-{suffix}")


@dataclasses.dataclass
class Followed:
    """A command's output line by line, each with whether the build was still running then."""

    code: int
    lines: list[tuple[str, bool]]
    stderr: str

    @property
    def stdout(self) -> list[str]:
        return [line for line, _ in self.lines]


class Command:
    """``kiln ARGS`` as a running process: its stderr can be awaited line by line, its stdout is
    read as it comes (noting whether any of the test's Builds was running at each line)."""

    def __init__(self, run: Run, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        assert process.stderr is not None
        self.run = run
        self.process = process
        self.err: list[str] = []
        self.lines: list[tuple[str, bool]] = []
        self._out = asyncio.create_task(self._read_out())

    @classmethod
    async def start(cls, run: Run, *args: str) -> Command:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            *args,
            "--kubeconfig",
            str(run.sb.kubeconfig),
            cwd=ROOT,
            env=os.environ | {"TYPER_USE_RICH": "0"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(run, process)

    async def _read_out(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            running = any(b.running() for b in self.run.builds())
            self.lines.append((raw.decode().rstrip("\n"), running))

    async def said(self, text: str, *, seconds: float = 60.0) -> None:
        """Until the command has written ``text`` on stderr."""
        assert self.process.stderr is not None
        async with asyncio.timeout(seconds):
            while not any(text in line for line in self.err):
                raw = await self.process.stderr.readline()
                assert raw, f"the command ended without saying {text!r}: {self.err}"
                self.err.append(raw.decode().rstrip("\n"))

    async def ended(self, *, seconds: float = 60.0) -> Followed:
        assert self.process.stderr is not None
        async with asyncio.timeout(seconds):
            rest = await self.process.stderr.read()
            await self._out
            code = await self.process.wait()
        stderr = "\n".join([*self.err, rest.decode()]).strip("\n") + "\n"
        return Followed(code, self.lines, stderr)


async def follow(run: Run, *args: str, seconds: float = 60.0) -> Followed:
    """``kiln ARGS`` to its end."""
    command = await Command.start(run, *args)
    return await command.ended(seconds=seconds)


def headers(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("===> ")]


def under(lines: list[str], step: str) -> list[str]:
    """The lines printed under ``===> STEP``."""
    start = lines.index(f"===> {step.upper()}") + 1
    rest = lines[start:]
    end = next((i for i, line in enumerate(rest) if line.startswith("===> ")), len(rest))
    return rest[:end]


async def test_kiln_logs_follow_waits_for_the_next_build_streams_each_step_in_order_and_exits_with_it(
    run: Run,
) -> None:
    await run.sb.apply(run.image("registry-cache"))
    await run.wait_finished(1)
    follower = await Command.start(run, "logs", run.name, "--follow", "-n", run.namespace)
    await follower.said(f'Waiting for the next build of Image "{run.name}" (after build 1)...')

    revision = await run.sb.push_commit()
    followed = await follower.ended()
    _, build = run.builds()

    assert followed.code == 0, followed.stderr
    assert headers(followed.stdout) == HEADERS
    prepare = under(followed.stdout, "prepare")
    assert prepare[0] == "Build reason(s): COMMIT"
    assert prepare[1].startswith("COMMIT: ")
    assert prepare[1].endswith(f" -> {revision}")
    assert prepare[-1] == f'Successfully cloned "{examples.GIT_URL}" @ "{revision}" in path "/workspace"'
    assert under(followed.stdout, "detect") == [
        "1 of 1 buildpacks participating",
        "paketo-buildpacks/go 4.13.0",
    ]
    assert under(followed.stdout, "restore")[0].startswith(
        f'Restoring data from cache image "{run.cache_tag}@sha256:'
    )
    digest = (build.status.latest_image or "").partition("@")[2]
    assert under(followed.stdout, "export")[-1] == f"*** Digest: {digest}"
    assert under(followed.stdout, "completion") == ["Build successful"]
    running_when_shown = dict(followed.lines)
    assert running_when_shown["===> PREPARE"], "the first step's log came while the build ran"
    assert followed.stderr.splitlines()[-1] == f'Build "{build.name}" succeeded: {build.status.latest_image}'


async def test_a_failed_build_shows_its_error_under_the_failed_step_and_kiln_logs_follow_exits_1(
    run: Run,
) -> None:
    def fail_build(pod: dict[str, Any]) -> failures.Failure | None:
        return failures.Failure("build", message="go: cannot find main module")

    run.sb.fail(fail_build)
    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_created(1)

    followed = await follow(run, "logs", build.name, "--follow", "-n", run.namespace)
    [failed] = run.builds()
    again = await kiln(run, "logs", run.name, "-n", run.namespace)

    assert failed.failed()
    assert followed.code == 1
    assert headers(followed.stdout) == HEADERS[:5]
    assert under(followed.stdout, "build")[-1] == "ERROR: go: cannot find main module"
    assert followed.stderr.splitlines()[-1].startswith(f'Build "{build.name}" failed')
    assert (again.code, again.stderr) == (0, "")
    assert again.stdout.splitlines() == followed.stdout, "read again, a finished build's logs are the same"
    stamped = await kiln(run, "logs", build.name, "--timestamps", "-n", run.namespace)
    lines = [line for line in stamped.stdout.splitlines() if not line.startswith("===> ")]
    assert lines
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", line) for line in lines), lines


async def test_kiln_trigger_wait_shows_the_new_build_step_by_step_until_it_succeeds(run: Run) -> None:
    await run.sb.apply(run.image("registry-cache"))
    [first] = await run.wait_finished(1)

    waited = await follow(run, "trigger", run.name, "--wait", "-n", run.namespace)
    _, second = run.builds()

    assert waited.code == 0, waited.stderr
    assert waited.stdout[0].startswith(f'"{run.name}" triggered: annotated build {first.name}')
    assert headers(waited.stdout) == HEADERS
    assert under(waited.stdout, "prepare")[0] == "Build reason(s): TRIGGER"
    assert f'Waiting for build 2 of Image "{run.name}"...' in waited.stderr
    assert waited.stderr.splitlines()[-1] == f'Build "{second.name}" succeeded: {second.status.latest_image}'


async def test_kiln_cancel_wait_follows_the_build_until_it_ends_canceled(run: Run) -> None:
    def hold(pod: dict[str, Any]) -> failures.Failure | None:
        return failures.Failure("build", hold=True)

    run.sb.fail(hold)
    await run.sb.apply(run.image("registry-cache"))
    [build] = await run.wait_created(1)
    await run.sb.wait_for(
        lambda: (
            (record := run.sb.kubelet.record(run.namespace, build.pod_name())) is not None
            and any(step.name == "build" for step in record.steps)
        ),
        what="the build to hold at its build step",
    )

    waited = await follow(run, "cancel", build.name, "--wait", "-n", run.namespace)

    assert waited.code == 0, waited.stderr
    assert waited.stdout[0].startswith(f'"{build.name}" cancel requested')
    shown = headers(waited.stdout)
    # the steps that ran, as far as the pod lasted: a canceled build's pod is deleted, its logs with it
    assert shown == HEADERS[: len(shown)]
    assert len(shown) <= 5
    assert waited.stderr.splitlines()[-1].startswith(f'Build "{build.name}" was canceled')
    [canceled] = run.builds()
    assert canceled.canceled()


async def test_kiln_logs_names_what_it_cannot_find(run: Run) -> None:
    await run.sb.apply(run.image("registry-cache"))
    await run.wait_finished(1)

    unknown = await kiln(run, "logs", "nothing-here", "-n", run.namespace)
    no_such_number = await kiln(run, "logs", run.name, "--build", "7", "-n", run.namespace)

    assert (unknown.code, unknown.stderr) == (
        1,
        f'no Image with builds and no Build named "nothing-here" in namespace "{run.namespace}"\n',
    )
    assert (no_such_number.code, no_such_number.stderr) == (
        1,
        f'Image "{run.name}" in namespace "{run.namespace}" has no build 7 (its builds: 1)\n',
    )
    assert build_models.IMAGE_LABEL
