"""What Kiln asks of a remote git repository: its references, and the tree id of one folder of one
commit (for monorepos), each with one short-lived ``git`` process.

    listing = await remote.ls_remote(url, credentials=found)        # {"refs/heads/main": "3f78…", …}
    tree = await remote.tree_id(url, commit, "services/api", credentials=found)

:func:`tree_id` fetches the one commit into a throw-away bare repository at depth 1 without blobs
(``git fetch --depth=1 --filter=blob:none <url> <commit>``, a partial clone): the commit and its
trees, never a file's content, never another commit. So its cost is the size of one commit's trees
(a few hundred KiB for a repository of a few hundred files; see the README's figures), held in a
child process and a temporary directory that are gone when the call returns — not in Kiln's own
memory, which is what made kpack's in-process experiment (#1068) too costly. A server that does not
filter (no ``uploadpack.allowFilter``) still works, sending the commit's blobs too.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from services.git import commands, failures
from services.git import credentials as git_credentials

DEFAULT_TIMEOUT_SECONDS = 30.0
_OBJECT_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


async def ls_remote(
    url: str,
    *,
    credentials: git_credentials.Credentials | None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    trust_unknown_hosts: bool = True,
) -> dict[str, str]:
    """Every reference ``url`` advertises (``git ls-remote``): ref name → object id, in git's
    order (``HEAD``, then by name), an annotated tag's peeled entry (``refs/tags/v1^{}``, the
    commit) right after the tag. An empty repository lists nothing.

    Raises :class:`~services.git.failures.RepositoryAuthError` (credentials missing or refused),
    :class:`~services.git.failures.RepositoryNotFoundError`,
    :class:`~services.git.failures.InvalidRepositoryURLError` (permanent), or
    :class:`~services.git.failures.GitUnavailableError` (temporary: unreachable, 5xx, past
    ``timeout_seconds``). ``trust_unknown_hosts``: ssh host keys are not checked (kpack's default).
    """
    out = await commands.run(
        ["ls-remote", "--", url],
        url=url,
        given=credentials,
        timeout_seconds=timeout_seconds,
        trust_unknown_hosts=trust_unknown_hosts,
    )
    return parse_listing(out)


def parse_listing(out: str) -> dict[str, str]:
    """``git ls-remote`` output (``<id>\\t<ref>`` lines) as ref name → object id."""
    listing: dict[str, str] = {}
    for line in out.splitlines():
        object_id, tab, ref = line.partition("\t")
        if tab and ref:
            listing[ref] = object_id.strip()
    return listing


def normalized_sub_path(sub_path: str) -> str | None:
    """``sub_path`` with leading and trailing ``/`` trimmed, as kpack trims it; None if a part is
    empty, ``.`` or ``..`` (a path no tree holds)."""
    path = sub_path.strip("/")
    if path and any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path


async def tree_id(
    url: str,
    commit: str,
    sub_path: str,
    *,
    credentials: git_credentials.Credentials | None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    trust_unknown_hosts: bool = True,
    workdir: Path | None = None,
) -> str | None:
    """The id of the tree (or file) at ``sub_path`` in ``commit`` of ``url``: it stays the same
    exactly when nothing under that path changed. ``sub_path`` is trimmed of ``/`` as kpack trims
    it; an empty one gives the commit's root tree. None when the commit has nothing at that path.
    ``commit`` is a full commit id (an annotated tag's id is peeled to its commit). Temporary
    files go under ``workdir`` (default: the system's) and are removed before this returns.

    Raises what :func:`ls_remote` raises, :class:`~services.git.failures.CommitNotFoundError` when
    the server does not hold the commit or does not serve commits by id, and
    :class:`~services.git.failures.InvalidCommitError` (a ``ValueError``) for a ``commit`` that is
    not a full id.
    """
    if not _OBJECT_ID.match(commit):
        raise failures.InvalidCommitError(
            f"{commit!r} is not a full commit id (40 or 64 lowercase hex digits)"
        )
    path = normalized_sub_path(sub_path)
    if path is None:
        return None
    repository = Path(tempfile.mkdtemp(prefix="kiln-git-tree-", dir=workdir))
    given, trust = credentials, trust_unknown_hosts
    try:
        for args in tree_commands(url, commit):
            await commands.run(
                args,
                url=url,
                given=given,
                timeout_seconds=timeout_seconds,
                trust_unknown_hosts=trust,
                cwd=repository,
                commit=commit,
            )
        name = f"{commit}^{{commit}}:{path}" if path else f"{commit}^{{tree}}"
        found = await commands.execute(
            ["rev-parse", "--verify", "--quiet", name],
            url=url,
            given=given,
            timeout_seconds=timeout_seconds,
            trust_unknown_hosts=trust,
            cwd=repository,
        )
    finally:
        shutil.rmtree(repository, ignore_errors=True)
    if found.returncode != 0:
        return None
    return found.stdout.strip() or None


def tree_commands(url: str, commit: str) -> list[list[str]]:
    """The git commands (in a new directory) that fetch ``commit`` of ``url`` for :func:`tree_id`:
    a bare repository, and a depth-1 blob-less fetch of that one commit."""
    object_format = ["--object-format=sha256"] if len(commit) == 64 else []
    fetch = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1", "--filter=blob:none"]
    return [["init", "--quiet", "--bare", *object_format, "."], [*fetch, "--", url, commit]]
