"""The commands a user types against a sandbox, run as real processes: ``kubectl`` and ``kiln``
(``python -m services.cli``), each with the kubeconfig the sandbox prints.

They run as subprocesses awaited on the event loop, so the in-process services go on working
while a command runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
from pathlib import Path

from tests.integration.e2e.conftest import Run

KUBECTL = shutil.which("kubectl")
ROOT = Path(__file__).parents[3]


@dataclasses.dataclass(frozen=True)
class Done:
    """How a command ended."""

    code: int
    stdout: str
    stderr: str


async def _run(*command: str) -> Done:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        env=os.environ | {"TYPER_USE_RICH": "0"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


async def kubectl(run: Run, *args: str, cache: Path) -> str:
    """``kubectl --kubeconfig <the sandbox's> ARGS``; its output (it must succeed)."""
    assert KUBECTL is not None, "kubectl is not installed (apt-get install kubernetes-client)"
    done = await _run(KUBECTL, "--kubeconfig", str(run.sb.kubeconfig), "--cache-dir", str(cache), *args)
    assert done.code == 0, f"kubectl {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


async def kiln(run: Run, *args: str) -> Done:
    """``kiln ARGS --kubeconfig <the sandbox's>`` (``python -m services.cli``, this tree's code)."""
    return await _run(sys.executable, "-m", "services.cli", *args, "--kubeconfig", str(run.sb.kubeconfig))
