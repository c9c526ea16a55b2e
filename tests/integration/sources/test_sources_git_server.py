"""The test bed's git server itself: what it records, its basic auth, its failure switch, the
repository helpers' pushes, and that it leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from services.testbed.git import cost, repositories, serving

pytestmark = pytest.mark.integration


async def test_the_smart_http_advertisement_is_served_and_recorded(git_server: serving.GitServer) -> None:
    repo = await git_server.create_repository("recorded/app")
    commit = await repo.commit({"README.md": "hi\n"})

    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{git_server.url(repo.name)}/info/refs", params={"service": "git-upload-pack"}
        )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    assert commit.encode() in answer.content
    (served,) = git_server.requests_for("recorded/app")
    assert (served.method, served.query, served.status, served.user) == (
        "GET",
        "service=git-upload-pack",
        200,
        None,
    )


async def test_basic_auth_refuses_a_wrong_password_and_admits_the_right_one() -> None:
    async with serving.running_git_server(users={"alice": "pw"}) as server:
        await server.create_repository("app")
        url = f"{server.url('app')}/info/refs?service=git-upload-pack"
        async with httpx.AsyncClient() as http:
            anonymous = await http.get(url)
            wrong = await http.get(url, auth=("alice", "nope"))
            right = await http.get(url, auth=("alice", "pw"))

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="kiln-git"'
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert [r.user for r in server.requests] == [None, None, "alice"]


async def test_the_failure_switch(git_server: serving.GitServer) -> None:
    await git_server.create_repository("switched")
    url = f"{git_server.url('switched')}/info/refs?service=git-upload-pack"
    async with httpx.AsyncClient() as http:
        git_server.fail_with(502)
        failing = await http.get(url)
        git_server.fail_with(None)
        serving_again = await http.get(url)

    assert (failing.status_code, serving_again.status_code) == (502, 200)


async def test_the_helpers_push_branches_tags_and_deletions(git_server: serving.GitServer) -> None:
    repo = await git_server.create_repository("helpers")
    first = await repo.commit({"a/b.txt": "1\n"})
    await repo.branch("feature", first)
    light = await repo.tag("light", first)
    annotated = await repo.tag("annotated", first, message="annotated")
    second = await repo.commit({"a/b.txt": None, "c.txt": b"\x00binary"}, branch="feature")

    refs = await repo.refs()
    assert refs["refs/heads/main"] == first
    assert refs["refs/heads/feature"] == second
    assert light == first
    assert annotated not in (first, second)
    assert (await repo.git("cat-file", "-t", annotated)).strip() == "tag"

    await repo.delete_branch("feature")
    await repo.delete_tag("light")

    assert set(await repo.refs()) == {"HEAD", "refs/heads/main", "refs/tags/annotated"}
    assert await repo.head("feature") is None


async def test_a_new_branch_starts_without_a_parent(git_server: serving.GitServer) -> None:
    repo = await git_server.create_repository("orphans")
    await repo.commit({"main.txt": "main\n"})
    orphan = await repo.commit({"other.txt": "other\n"}, branch="other")

    parents = (await repo.git("log", "--format=%P", "-1", orphan)).strip()
    files = (await repo.git("ls-tree", "--name-only", orphan)).split()
    assert parents == ""
    assert files == ["other.txt"]


async def test_a_failed_helper_command_says_what_git_said(git_server: serving.GitServer) -> None:
    repo = await git_server.create_repository("failing")

    with pytest.raises(repositories.GitCommandError, match="exited 1"):
        await repo.git("rev-parse", "--verify", "--quiet", "nothing-here")


def entries(directory: Path) -> list[str]:
    return os.listdir(directory) if directory.exists() else []


async def test_the_server_removes_its_directory_and_keeps_a_given_one(tmp_path: Path) -> None:
    async with serving.running_git_server() as server:
        owned = server.directory
        await server.create_repository("gone")
    async with serving.running_git_server(directory=tmp_path) as server:
        await server.create_repository("kept")

    assert entries(owned) == []
    assert "kept.git" in entries(tmp_path / "repositories")


@pytest.mark.skipif(
    not os.path.exists(cost.GNU_TIME), reason="GNU time (/usr/bin/time) measures the peak memory"
)
async def test_the_cost_measurement_shows_a_blob_less_fetch_holds_less_than_a_clone() -> None:
    measured = {m.way: m for m in await cost.run(files=40, history=3, source=None)}

    tree_id = measured["tree_id: depth 1, no blobs"]
    assert 0 < tree_id.disk_bytes < measured["depth 1 with blobs"].disk_bytes
    assert measured["depth 1 with blobs"].disk_bytes <= measured["full clone (all history)"].disk_bytes
    assert 0 < tree_id.peak_rss_kib < 200 * 1024
