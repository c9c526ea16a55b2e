"""A repository's references listed with the real git binary over smart HTTP, and resolved as
kpack resolves them: branches, tags (an annotated one peeled to its commit), commit ids,
force-pushes, deleted branches, basic auth, and the failures a user must be told about."""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path

import pytest
from conftest import PASSWORD, USER

from services import errors, git
from services.sources import git_refs
from services.testbed.git import repositories, serving

pytestmark = pytest.mark.integration


async def resolved(
    server: serving.GitServer, repo: repositories.Repository, revision: str
) -> git_refs.Resolution:
    return git_refs.resolve(await git.ls_remote(server.url(repo.name), credentials=None), revision)


async def test_a_branch_resolves_to_its_head_commit(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    await repo.commit({"README.md": "one\n"})
    head = await repo.commit({"README.md": "two\n"})

    assert await resolved(git_server, repo, "main") == git_refs.Resolution(
        head, "Branch", ref="refs/heads/main"
    )


async def test_the_listing_is_what_the_repository_holds(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit({"README.md": "one\n"})
    tag = await repo.tag("v1", commit, message="release 1")

    listing = await git.ls_remote(git_server.url(repo.name), credentials=None)

    assert listing == {**(await repo.refs()), "refs/tags/v1^{}": commit}
    assert listing["refs/tags/v1"] == tag


async def test_a_lightweight_tag_resolves_to_its_commit(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    tagged = await repo.commit({"README.md": "one\n"})
    await repo.tag("v1.0.0", tagged)
    await repo.commit({"README.md": "two\n"})

    assert await resolved(git_server, repo, "v1.0.0") == git_refs.Resolution(
        tagged, "Tag", ref="refs/tags/v1.0.0"
    )


async def test_an_annotated_tag_resolves_to_the_commit_not_the_tag_object(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    tagged = await repo.commit({"README.md": "one\n"})
    tag_object = await repo.tag("v2", tagged, message="release 2")
    await repo.commit({"README.md": "two\n"})

    resolution = await resolved(git_server, repo, "v2")

    assert resolution == git_refs.Resolution(tagged, "Tag", ref="refs/tags/v2", tag_object=tag_object)
    assert tag_object != tagged


async def test_a_commit_id_is_taken_as_it_is(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    first = await repo.commit({"README.md": "one\n"})
    await repo.commit({"README.md": "two\n"})

    assert await resolved(git_server, repo, first) == git_refs.Resolution(first, "Commit")


async def test_a_force_push_moves_the_branch_to_the_new_commit(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    base = await repo.commit({"README.md": "one\n"})
    await repo.commit({"README.md": "two\n"})
    rewritten = await repo.commit({"README.md": "rewritten\n"}, parent=base, force=True)

    assert await resolved(git_server, repo, "main") == git_refs.Resolution(
        rewritten, "Branch", ref="refs/heads/main"
    )


async def test_a_deleted_branch_no_longer_matches_and_is_kpacks_commit_verbatim(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit({"README.md": "one\n"})
    await repo.branch("feature", commit)
    assert (await resolved(git_server, repo, "feature")).type == "Branch"

    await repo.delete_branch("feature")

    assert await resolved(git_server, repo, "feature") == git_refs.Resolution("feature", "Commit")


async def test_an_empty_repository_lists_nothing(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    assert await git.ls_remote(git_server.url(repo.name), credentials=None) == {}


async def test_basic_auth_with_the_right_password_lists(auth_server: serving.GitServer) -> None:
    repo = await auth_server.create_repository("private/app")
    commit = await repo.commit({"README.md": "secret\n"})

    listing = await git.ls_remote(
        auth_server.url(repo.name), credentials=git.BasicAuth(USER, PASSWORD, secret="robot")
    )

    assert listing["refs/heads/main"] == commit
    assert {r.user for r in auth_server.requests_for(repo.name) if r.status == 200} == {USER}


async def test_basic_auth_with_a_wrong_password_is_a_clear_permanent_error(
    auth_server: serving.GitServer,
) -> None:
    repo = await auth_server.create_repository("private/wrong")
    await repo.commit({"README.md": "secret\n"})
    url = auth_server.url(repo.name)

    with pytest.raises(git.RepositoryAuthError) as raised:
        await git.ls_remote(url, credentials=git.BasicAuth(USER, "wrong-password", secret="git-robot"))

    assert isinstance(raised.value, errors.PermanentError)
    assert str(raised.value) == (
        f"invalid credentials for repository {url}: authentication required; the username and password of "
        f"secret 'git-robot' were refused; update them (a token that can read the repository)"
    )
    assert "wrong-password" not in str(raised.value)


async def test_no_credentials_for_a_private_repository_says_which_secret_to_add(
    auth_server: serving.GitServer,
) -> None:
    repo = await auth_server.create_repository("private/anonymous")
    url = auth_server.url(repo.name)

    with pytest.raises(git.RepositoryAuthError) as raised:
        await git.ls_remote(url, credentials=None)

    assert f"annotated kpack.io/git: {auth_server.base_url} with a username and password" in str(raised.value)


async def test_an_unknown_repository_is_not_found(git_server: serving.GitServer) -> None:
    url = git_server.url("org/no-such-repository")

    with pytest.raises(git.RepositoryNotFoundError) as raised:
        await git.ls_remote(url, credentials=None)

    assert str(raised.value).startswith(
        f"unable to fetch references for repository {url}: repository not found"
    )


async def test_an_unreachable_host_is_a_temporary_error_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        started = time.monotonic()
        with pytest.raises(git.GitUnavailableError) as raised:
            await git.ls_remote(f"http://127.0.0.1:{port}/org/app.git", credentials=None)

    assert time.monotonic() - started < 5
    assert isinstance(raised.value, errors.TemporaryError)
    assert "Failed to connect" in str(raised.value)


async def test_a_host_that_never_answers_is_a_temporary_error_after_the_deadline(silent_port: int) -> None:
    started = time.monotonic()

    with pytest.raises(git.GitUnavailableError, match="no answer within 1 s"):
        await git.ls_remote(
            f"http://127.0.0.1:{silent_port}/org/app.git", credentials=None, timeout_seconds=1
        )

    assert time.monotonic() - started < 4


async def test_a_server_error_is_temporary(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    await repo.commit({"README.md": "one\n"})
    git_server.fail_with(503)
    try:
        with pytest.raises(git.GitUnavailableError, match="The requested URL returned error: 503"):
            await git.ls_remote(git_server.url(repo.name), credentials=None)
    finally:
        git_server.fail_with(None)

    assert (await resolved(git_server, repo, "main")).type == "Branch"


async def test_an_ssh_host_that_refuses_is_temporary_and_the_key_file_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the scratch directory goes
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(git.GitUnavailableError, match="Connection refused"):
            await git.ls_remote(
                f"ssh://git@127.0.0.1:{port}/org/app.git",
                credentials=git.SshKey(
                    "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n", secret="deploy-key"
                ),
            )


async def test_a_local_path_is_refused_without_running_git(repo: repositories.Repository) -> None:
    with pytest.raises(git.InvalidRepositoryURLError):
        await git.ls_remote(str(repo.bare), credentials=None)
