"""Bare repositories the test git server serves, changed the way a user changes them: commits made
in a work tree and pushed with the real ``git`` binary.

    repo = await server.create_repository("app")
    first = await repo.commit({"app/main.py": "print(1)\\n", "docs/readme.md": "hi\\n"})
    await repo.tag("v1", first, message="release 1")          # annotated; without message: lightweight
    await repo.branch("feature", first)
    second = await repo.commit({"docs/readme.md": None})        # None deletes the file
    await repo.commit({"app/main.py": "print(2)\\n"}, parent=first, force=True)  # a force-push

Every push goes to the bare repository's path (not through the HTTP server), so pushing never
needs the server's credentials. Git runs with no system or global configuration, so the
machine's settings (credential helpers, signing, hooks) cannot change what a test sees.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

DEFAULT_BRANCH = "main"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Kiln Test",
    "GIT_AUTHOR_EMAIL": "test@kiln.invalid",
    "GIT_COMMITTER_NAME": "Kiln Test",
    "GIT_COMMITTER_EMAIL": "test@kiln.invalid",
}


class GitCommandError(RuntimeError):
    """A test bed git command failed; the message carries the command and its output."""


def hermetic_environment(home: Path) -> dict[str, str]:
    """The environment of the test bed's git commands: PATH, a private HOME, no system or global
    configuration, no prompts, English messages."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        **_IDENTITY,
    }


async def run_git(*args: str, cwd: Path, env: Mapping[str, str]) -> str:
    """``git <args>`` in ``cwd``; its standard output, or :class:`GitCommandError`."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise GitCommandError(
            f"git {' '.join(args)} in {cwd} exited {process.returncode}: {err.decode(errors='replace').strip()}"
        )
    return out.decode()


class Repository:
    """A bare repository (``<name>.git`` under the server's root) and a work tree to push from."""

    def __init__(self, name: str, *, bare: Path, work: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.bare = bare
        """The bare repository the server serves."""
        self._work = work
        self._env = dict(env)
        self._counter = itertools.count(1)

    @classmethod
    async def create(cls, name: str, *, root: Path, work_root: Path, env: Mapping[str, str]) -> Repository:
        """An empty bare repository ``root/<name>.git`` whose HEAD names ``main``."""
        bare = root / f"{name}.git"
        work = work_root / name
        bare.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True)
        await run_git(
            "init", "-q", "--bare", f"--initial-branch={DEFAULT_BRANCH}", str(bare), cwd=root, env=env
        )
        await run_git("init", "-q", f"--initial-branch={DEFAULT_BRANCH}", str(work), cwd=root, env=env)
        await run_git("remote", "add", "origin", str(bare), cwd=work, env=env)
        return cls(name, bare=bare, work=work, env=env)

    async def git(self, *args: str) -> str:
        """``git <args>`` in the work tree."""
        return await run_git(*args, cwd=self._work, env=self._env)

    async def commit(
        self,
        files: Mapping[str, str | bytes | None],
        *,
        branch: str = DEFAULT_BRANCH,
        parent: str | None = None,
        force: bool = False,
        message: str | None = None,
    ) -> str:
        """Commit ``files`` (path → content; None deletes the path) on top of ``parent`` (default:
        the branch's head on the server, or no parent for a new branch) and push it to ``branch``,
        with ``--force`` if ``force``. The new commit's id."""
        base = parent if parent is not None else await self.head(branch)
        if base is None:
            await self.git("checkout", "-q", "--orphan", f"kiln-work-{next(self._counter)}")
            await self.git("rm", "-rfq", "--ignore-unmatch", ".")
        else:
            await self.git("fetch", "-q", "origin")
            await self.git("checkout", "-q", "--detach", base)
        for path, content in files.items():
            target = self._work / path
            if content is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        await self.git("add", "-A", ".")
        named = ", ".join(list(files)[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        text = message or f"commit {next(self._counter)}: {named or 'nothing'}"
        await self.git("commit", "-q", "--allow-empty", "-m", text)
        commit = (await self.git("rev-parse", "HEAD")).strip()
        await self.push(f"{commit}:refs/heads/{branch}", force=force)
        return commit

    async def push(self, refspec: str, *, force: bool = False) -> None:
        """``git push origin <refspec>`` (with ``--force``): e.g. ``<sha>:refs/heads/x``."""
        await self.git("push", "-q", *(["--force"] if force else []), "origin", refspec)

    async def head(self, branch: str = DEFAULT_BRANCH) -> str | None:
        """The commit ``branch`` is at on the server; None if there is no such branch."""
        return await self._server_ref(f"refs/heads/{branch}")

    async def branch(self, name: str, commit: str) -> None:
        """Create (or move, forcibly) branch ``name`` at ``commit``."""
        await self.push(f"{commit}:refs/heads/{name}", force=True)

    async def reset(self, branch: str, commit: str) -> None:
        """Force-push ``branch`` to ``commit`` (an older one, say)."""
        await self.push(f"{commit}:refs/heads/{branch}", force=True)

    async def delete_branch(self, name: str) -> None:
        """Delete branch ``name`` on the server (``git push origin --delete``)."""
        await self.git("push", "-q", "origin", "--delete", f"refs/heads/{name}")

    async def tag(self, name: str, commit: str, *, message: str | None = None) -> str:
        """Push tag ``name`` at ``commit``: annotated when ``message`` is given, else lightweight.
        The id the tag ref holds (the tag object's for an annotated tag, else the commit)."""
        annotated = ["-a", "-m", message] if message is not None else []
        await self.git("tag", "-f", *annotated, name, commit)
        await self.push(f"refs/tags/{name}:refs/tags/{name}", force=True)
        found = await self._server_ref(f"refs/tags/{name}")
        assert found is not None
        return found

    async def delete_tag(self, name: str) -> None:
        """Delete tag ``name`` on the server."""
        await self.git("push", "-q", "origin", "--delete", f"refs/tags/{name}")

    async def refs(self) -> dict[str, str]:
        """What the bare repository holds: ref name → object id, as ``git show-ref`` lists it."""
        listing = await run_git("show-ref", "--head", cwd=self.bare, env=self._env)
        pairs = (line.split(" ", 1) for line in listing.splitlines() if line)
        return {name: sha for sha, name in pairs}

    async def tree(self, commit: str, path: str) -> str:
        """The id ``git rev-parse <commit>:<path>`` gives in the bare repository."""
        return (
            await run_git("rev-parse", "--verify", f"{commit}:{path}", cwd=self.bare, env=self._env)
        ).strip()

    async def _server_ref(self, ref: str) -> str | None:
        try:
            out = await run_git("rev-parse", "--verify", "--quiet", ref, cwd=self.bare, env=self._env)
        except GitCommandError:
            return None
        return out.strip() or None
