"""What :func:`services.git.tree_id` costs per repository: the peak resident memory of its git
processes and the bytes its throw-away repository holds on disk, beside a full clone.

    python -m services.testbed.git.cost                      # a generated repository of 300 files
    python -m services.testbed.git.cost --files 2000 --history 50
    python -m services.testbed.git.cost --repository /path/to/some/repo.git   # a real one, served

The repository is served by the test bed's git server on 127.0.0.1; the commands measured are the
ones :func:`services.git.remote.tree_commands` gives, run with the adapter's environment
(:func:`services.git.commands.environment`). Each runs under ``os.wait4``, whose ``ru_maxrss`` is
the largest resident set of the process and every descendant it waited for (``git-remote-http``,
``index-pack``): the memory one tree-id look-up holds at its peak, outside Kiln's own process.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from services.git import commands, remote
from services.testbed.git import repositories, serving

GNU_TIME = "/usr/bin/time"


@dataclasses.dataclass(frozen=True)
class Measured:
    """One way of getting a commit's trees, measured."""

    way: str
    peak_rss_kib: int
    """Largest resident set of any process of the fetch (KiB)."""
    disk_bytes: int
    """What the local repository holds afterwards."""
    seconds: float


def _measure_process(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, float]:
    """Peak RSS (KiB) of ``argv`` and its waited-for descendants, and its wall time. GNU time
    reports it: a child forked from Python would count Python's own resident set (Linux carries
    the pre-``exec`` high-water mark into ``ru_maxrss``)."""
    report = cwd.parent / f"{cwd.name}.rss"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", str(report), *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            check=False,
        )
        took = time.monotonic() - started
        if done.returncode != 0:
            stderr = done.stderr.decode(errors="replace")
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {stderr}")
        return int(report.read_text().split()[-1]), took
    finally:
        report.unlink(missing_ok=True)


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(way: str, steps: Sequence[Sequence[str]], *, url: str) -> Measured:
    """Run ``steps`` (git arguments) in a new directory with the adapter's environment."""
    directory = Path(tempfile.mkdtemp(prefix="kiln-git-cost-"))
    scratch = Path(tempfile.mkdtemp(prefix="kiln-git-cost-scratch-"))
    try:
        env = commands.environment(
            url, None, scratch=scratch, trust_unknown_hosts=True, connect_timeout=30, base=os.environ
        )
        peak, seconds = 0, 0.0
        for args in steps:
            rss, took = _measure_process(["git", *args], cwd=directory, env=env)
            peak, seconds = max(peak, rss), seconds + took
        return Measured(way=way, peak_rss_kib=peak, disk_bytes=_disk_bytes(directory), seconds=seconds)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def ways(url: str, commit: str) -> list[tuple[str, list[list[str]]]]:
    """ls_remote's command, tree_id's, the same fetch with blobs, and a full clone."""
    with_blobs = [
        [arg for arg in step if arg != "--filter=blob:none"] for step in remote.tree_commands(url, commit)
    ]
    full = [["init", "--quiet", "--bare", "."], ["fetch", "--quiet", "--", url, "+refs/*:refs/*"]]
    return [
        ("ls_remote", [["ls-remote", "--", url]]),
        ("tree_id: depth 1, no blobs", remote.tree_commands(url, commit)),
        ("depth 1 with blobs", with_blobs),
        ("full clone (all history)", full),
    ]


async def _generated(server: serving.GitServer, *, files: int, history: int, seed: int) -> str:
    repo = await server.create_repository("generated")
    chance = random.Random(seed)
    contents = {
        f"services/s{i % 12}/pkg{i % 7}/file{i}.txt": "".join(
            chance.choice("abcdefghij \n") for _ in range(chance.randint(200, 4000))
        )
        for i in range(files)
    }
    await repo.commit(contents)
    for step in range(history - 1):
        path = chance.choice(list(contents))
        await repo.commit({path: contents[path] + f"change {step}\n"})
    return repo.name


async def _imported(server: serving.GitServer, source: Path) -> str:
    target = server.root / "imported.git"
    await repositories.run_git(
        "clone", "--quiet", "--bare", str(source), str(target), cwd=server.root, env=server.env
    )
    return "imported"


async def run(*, files: int, history: int, source: Path | None, seed: int = 1) -> list[Measured]:
    async with serving.running_git_server() as server:
        name = await (
            _imported(server, source)
            if source
            else _generated(server, files=files, history=history, seed=seed)
        )
        url = server.url(name)
        listing = await remote.ls_remote(url, credentials=None)
        commit = listing["HEAD"]
        counted = await repositories.run_git(
            "ls-tree", "-r", "--name-only", commit, cwd=server.root / f"{name}.git", env=server.env
        )
        print(f"{url}: HEAD {commit}, {len(counted.splitlines())} files")
        results = []
        for way, steps in ways(url, commit):
            try:
                results.append(await asyncio.to_thread(measure, way, steps, url=url))
            except RuntimeError as e:
                print(f"{way}: failed: {str(e).strip().splitlines()[-1]}")
        return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=300, help="files in the generated repository")
    parser.add_argument("--history", type=int, default=20, help="commits in the generated repository")
    parser.add_argument("--repository", type=Path, help="serve a copy of this repository instead")
    options = parser.parse_args(argv)
    results = asyncio.run(run(files=options.files, history=options.history, source=options.repository))
    print(f"{'way':<30} {'peak RSS':>10} {'on disk':>12} {'time':>8}")
    for r in results:
        print(
            f"{r.way:<30} {r.peak_rss_kib / 1024:>7.1f} MiB {r.disk_bytes / 1024:>8.1f} KiB {r.seconds:>6.2f} s"
        )


if __name__ == "__main__":
    main()
