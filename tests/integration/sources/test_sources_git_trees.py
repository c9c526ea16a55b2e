"""The tree id of a folder of a commit, from a depth-1 blob-less fetch of that one commit (kpack
#1068, monorepos): a commit that touches only files outside the folder keeps its tree id, one
inside changes it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PASSWORD, USER

from services import git
from services.testbed.git import repositories, serving

pytestmark = pytest.mark.integration

MONOREPO = {
    "services/api/main.py": "print('api')\n",
    "services/api/lib/util.py": "X = 1\n",
    "services/web/index.html": "<p>web</p>\n",
    "README.md": "monorepo\n",
}


async def tree(
    server: serving.GitServer, repo: repositories.Repository, commit: str, sub_path: str
) -> str | None:
    return await git.tree_id(server.url(repo.name), commit, sub_path, credentials=None)


async def test_a_commit_outside_the_sub_path_keeps_its_tree_id_and_one_inside_changes_it(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    first = await repo.commit(MONOREPO)
    outside = await repo.commit({"services/web/index.html": "<p>web 2</p>\n", "README.md": "changed\n"})
    inside = await repo.commit({"services/api/lib/util.py": "X = 2\n"})

    before = await tree(git_server, repo, first, "services/api")
    assert before == await repo.tree(first, "services/api")
    assert await tree(git_server, repo, outside, "services/api") == before
    assert await tree(git_server, repo, inside, "services/api") == await repo.tree(inside, "services/api")
    assert await tree(git_server, repo, inside, "services/api") != before


async def test_a_file_added_or_removed_under_the_sub_path_changes_its_tree_id(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    first = await repo.commit(MONOREPO)
    added = await repo.commit({"services/api/new.py": ""})
    removed = await repo.commit({"services/api/new.py": None})

    ids = [await tree(git_server, repo, commit, "services/api") for commit in (first, added, removed)]

    assert ids[0] != ids[1]
    assert ids[2] == ids[0]


async def test_sub_paths_are_trimmed_of_slashes_as_kpack_trims_them(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit(MONOREPO)

    assert await tree(git_server, repo, commit, "/services/api/") == await repo.tree(commit, "services/api")


async def test_a_sub_path_the_commit_does_not_have_is_none(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit(MONOREPO)

    assert await tree(git_server, repo, commit, "services/missing") is None


async def test_a_sub_path_naming_a_file_gives_the_files_id(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit(MONOREPO)

    assert await tree(git_server, repo, commit, "README.md") == await repo.tree(commit, "README.md")


async def test_no_sub_path_gives_the_root_tree(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit(MONOREPO)

    assert await tree(git_server, repo, commit, "") == await repo.tree(commit, "")


async def test_an_annotated_tags_id_is_peeled_to_its_commit(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    commit = await repo.commit(MONOREPO)
    tag_object = await repo.tag("v1", commit, message="release 1")

    assert await tree(git_server, repo, tag_object, "services/api") == await repo.tree(commit, "services/api")


async def test_a_commit_force_pushed_away_still_has_its_tree(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    base = await repo.commit(MONOREPO)
    dropped = await repo.commit({"services/api/main.py": "print('dropped')\n"})
    await repo.reset("main", base)

    assert await tree(git_server, repo, dropped, "services/api") == await repo.tree(dropped, "services/api")


async def test_a_commit_the_server_does_not_have_is_not_found(
    git_server: serving.GitServer, repo: repositories.Repository
) -> None:
    await repo.commit(MONOREPO)
    missing = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(git.CommitNotFoundError, match=f"unable to fetch commit {missing} from repository"):
        await tree(git_server, repo, missing, "services/api")


def leftovers(directory: Path) -> list[str]:
    return os.listdir(directory)


async def test_no_file_contents_are_fetched_and_nothing_is_left_behind(
    git_server: serving.GitServer, repo: repositories.Repository, tmp_path: Path
) -> None:
    commit = await repo.commit({**MONOREPO, "services/api/big.bin": os.urandom(1_000_000)})

    found = await git.tree_id(
        git_server.url(repo.name), commit, "services/api", credentials=None, workdir=tmp_path
    )

    assert found == await repo.tree(commit, "services/api")
    assert leftovers(tmp_path) == []
    fetched = sum(r.sent for r in git_server.requests_for(repo.name) if r.method == "POST")
    assert 0 < fetched < 10_000, "the commit and its trees, without the 1 MB file"


async def test_a_server_that_does_not_filter_still_gives_the_tree() -> None:
    async with serving.running_git_server(allow_filter=False) as server:
        repo = await server.create_repository("unfiltered")
        commit = await repo.commit(MONOREPO)

        assert await tree(server, repo, commit, "services/api") == await repo.tree(commit, "services/api")


async def test_tree_ids_with_basic_auth(auth_server: serving.GitServer) -> None:
    repo = await auth_server.create_repository("private/monorepo")
    commit = await repo.commit(MONOREPO)
    url = auth_server.url(repo.name)

    found = await git.tree_id(url, commit, "services/web", credentials=git.BasicAuth(USER, PASSWORD))

    assert found == await repo.tree(commit, "services/web")
    with pytest.raises(git.RepositoryAuthError):
        await git.tree_id(url, commit, "services/web", credentials=git.BasicAuth(USER, "wrong"))
