"""How the adapter hands git a repository: which URLs it refuses, the environment git runs in
(credentials in it, never on a command line), the ssh command, and reading git's output."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from services.git import commands, credentials, failures, keychains, remote

SCRATCH = Path("/tmp/kiln-git-scratch")
BASE = {
    "PATH": "/usr/bin",
    "HOME": "/home/kiln",
    "https_proxy": "http://proxy:3128",
    "AWS_SECRET": "x",
    "GIT_DIR": "/x",
}


def env_for(
    url: str, given: credentials.Credentials | None = None, *, trust: bool = True, timeout: float = 30.0
) -> dict[str, str]:
    return commands.environment(
        url, given, scratch=SCRATCH, trust_unknown_hosts=trust, connect_timeout=timeout, base=BASE
    )


def config(env: dict[str, str]) -> dict[str, str]:
    count = int(env["GIT_CONFIG_COUNT"])
    return {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(count)}


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://github.com/org/app.git", id="https"),
        pytest.param("http://127.0.0.1:8080/app.git", id="http with a port"),
        pytest.param("ssh://git@github.com/org/app.git", id="ssh"),
        pytest.param("git@github.com:org/app.git", id="scp-like ssh"),
        pytest.param("git://github.com/org/app.git", id="the git protocol"),
        pytest.param("git+ssh://git@github.com/org/app.git", id="git+ssh"),
    ],
)
def test_repository_urls_git_is_handed(url: str) -> None:
    commands.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/srv/git/app.git", id="a local path"),
        pytest.param("file:///srv/git/app.git", id="a file URL"),
        pytest.param("ext::sh -c touch% /tmp/pwned", id="the ext transport"),
        pytest.param("fd::17", id="the fd transport"),
        pytest.param("-uhelp", id="something that reads as an option"),
        pytest.param("", id="nothing"),
        pytest.param("ftp://host/app.git", id="ftp"),
    ],
)
def test_urls_refused_before_git_runs(url: str) -> None:
    with pytest.raises(failures.InvalidRepositoryURLError, match="invalid git repository URL"):
        commands.check_url(url)


def test_git_runs_hermetic_with_only_the_whitelisted_environment() -> None:
    env = env_for("https://github.com/org/app.git")

    assert env["PATH"] == "/usr/bin"
    assert env["https_proxy"] == "http://proxy:3128"
    assert "AWS_SECRET" not in env
    assert "GIT_DIR" not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_ALLOW_PROTOCOL"] == "http:https:ssh:git"
    assert env["LC_ALL"] == "C"
    assert env["GIT_CEILING_DIRECTORIES"] == str(SCRATCH.parent)
    assert not any(key.startswith("credential.") for key in config(env))


def test_a_password_reaches_git_through_a_helper_for_that_host_alone() -> None:
    env = env_for(
        "https://github.com:8443/org/app.git", credentials.BasicAuth("robot", "hunter2", secret="s")
    )

    helpers = {key: value for key, value in config(env).items() if key.startswith("credential.")}
    assert list(helpers) == ["credential.https://github.com:8443.helper"]
    assert "hunter2" not in helpers["credential.https://github.com:8443.helper"]
    assert env[commands.USERNAME_VARIABLE] == "robot"
    assert env[commands.PASSWORD_VARIABLE] == "hunter2"


def test_the_helper_host_leaves_out_user_info_written_in_the_url() -> None:
    env = env_for("https://someone@github.com/org/app.git", credentials.BasicAuth("robot", "pw"))

    assert "credential.https://github.com.helper" in config(env)


@pytest.mark.parametrize("password", ["a\nprotocol=http", "a\rb", "a\0b"])
def test_a_password_that_would_break_the_credential_protocol_is_refused(password: str) -> None:
    with pytest.raises(credentials.InvalidGitSecretError, match="git secret 'robot'"):
        env_for("https://github.com/org/app.git", credentials.BasicAuth("robot", password, secret="robot"))


def test_basic_auth_is_not_offered_over_ssh() -> None:
    env = env_for("git@github.com:org/app.git", credentials.BasicAuth("robot", "hunter2"))

    assert commands.PASSWORD_VARIABLE not in env
    assert not any(key.startswith("credential.") for key in config(env))


@pytest.mark.parametrize(
    ("given", "trust", "expected"),
    [
        pytest.param(
            None,
            True,
            [
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                f"UserKnownHostsFile={os.devnull}",
                "-o",
                "LogLevel=ERROR",
            ],
            id="anonymous, unknown hosts trusted (kpack's default)",
        ),
        pytest.param(
            credentials.SshKey("key", secret="k"),
            True,
            ["-i", str(SCRATCH / "ssh-key"), "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no"],
            id="a key, unknown hosts trusted",
        ),
        pytest.param(
            credentials.SshKey("key", "host ssh-ed25519 AAAA", secret="k"),
            False,
            ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={SCRATCH / 'known_hosts'}"],
            id="a key with known hosts, unknown hosts not trusted",
        ),
    ],
)
def test_the_ssh_command(given: credentials.Credentials | None, trust: bool, expected: list[str]) -> None:
    command = shlex.split(
        env_for("git@github.com:org/app.git", given, trust=trust, timeout=7.4)["GIT_SSH_COMMAND"]
    )

    assert command[:5] == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=7"]
    joined = " ".join(command)
    assert " ".join(expected) in joined


def test_without_trust_or_known_hosts_ssh_checks_the_users_known_hosts() -> None:
    command = env_for("git@github.com:org/app.git", credentials.SshKey("key"), trust=False)["GIT_SSH_COMMAND"]

    assert "StrictHostKeyChecking" not in command
    assert "UserKnownHostsFile" not in command


def test_ssh_files_are_private_and_end_with_a_newline(tmp_path: Path) -> None:
    commands.write_ssh_files(credentials.SshKey("-----KEY-----", "host ssh-rsa AAAA\n\n"), tmp_path)

    key, known = tmp_path / commands.KEY_FILE, tmp_path / commands.KNOWN_HOSTS_FILE
    assert key.read_text() == "-----KEY-----\n"
    assert known.read_text() == "host ssh-rsa AAAA\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.stat().st_mode) == 0o600


def test_a_key_that_ends_with_a_newline_is_written_as_is_and_no_known_hosts_without_them(
    tmp_path: Path,
) -> None:
    commands.write_ssh_files(credentials.SshKey("key\n"), tmp_path)

    assert (tmp_path / commands.KEY_FILE).read_text() == "key\n"
    assert not (tmp_path / commands.KNOWN_HOSTS_FILE).exists()


def test_no_ssh_files_without_a_key(tmp_path: Path) -> None:
    commands.write_ssh_files(credentials.BasicAuth("u", "p"), tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_ls_remote_output_is_read_in_order() -> None:
    out = "aaa\tHEAD\naaa\trefs/heads/main\nbbb\trefs/tags/v1\nccc\trefs/tags/v1^{}\n\nnonsense\n"

    listing = remote.parse_listing(out)

    assert list(listing.items()) == [
        ("HEAD", "aaa"),
        ("refs/heads/main", "aaa"),
        ("refs/tags/v1", "bbb"),
        ("refs/tags/v1^{}", "ccc"),
    ]


@pytest.mark.parametrize(
    ("sub_path", "normalized"),
    [
        pytest.param("/services/api/", "services/api", id="slashes around are trimmed as kpack trims them"),
        pytest.param("services/api", "services/api", id="a plain path stays"),
        pytest.param("/", "", id="only slashes is the root"),
        pytest.param("", "", id="nothing is the root"),
        pytest.param("services//api", None, id="an empty part matches nothing"),
        pytest.param("./services", None, id="a dot part matches nothing"),
        pytest.param("services/../x", None, id="a dot-dot part matches nothing"),
    ],
)
def test_sub_paths(sub_path: str, normalized: str | None) -> None:
    assert remote.normalized_sub_path(sub_path) == normalized


def test_tree_commands_fetch_one_commit_without_blobs() -> None:
    init, fetch = remote.tree_commands("https://host/app.git", "a" * 40)

    assert init == ["init", "--quiet", "--bare", "."]
    assert fetch[-3:] == ["--", "https://host/app.git", "a" * 40]
    assert {"--depth=1", "--filter=blob:none", "--no-tags"} <= set(fetch)


def test_a_sha256_commit_gets_a_sha256_repository() -> None:
    init, _ = remote.tree_commands("https://host/app.git", "b" * 64)

    assert "--object-format=sha256" in init


@pytest.mark.parametrize(
    "commit",
    [
        pytest.param("main", id="a branch name"),
        pytest.param("6ecf0ef", id="a short id"),
        pytest.param("A" * 40, id="upper case"),
    ],
)
async def test_tree_id_takes_full_commit_ids_only(commit: str) -> None:
    with pytest.raises(failures.InvalidCommitError, match="is not a full commit id"):
        await remote.tree_id("https://host/app.git", commit, "app", credentials=None)


async def test_a_sub_path_no_tree_holds_is_none_without_asking_the_server() -> None:
    assert await remote.tree_id("https://host.invalid/app.git", "a" * 40, "a/../b", credentials=None) is None


class Secrets:
    """An in-memory :class:`services.registry.keychains.SecretReader`."""

    def __init__(self, accounts: dict[str, dict[str, Any]], secrets: dict[str, dict[str, Any]]) -> None:
        self.accounts, self.secrets = accounts, secrets

    async def get_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.accounts.get(f"{namespace}/{name}")

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.secrets.get(f"{namespace}/{name}")


SECRET = {
    "metadata": {"name": "robot", "annotations": {credentials.GIT_ANNOTATION: "https://github.com"}},
    "type": credentials.BASIC_AUTH,
    "stringData": {"username": "robot", "password": "pw"},
}


@pytest.mark.parametrize(
    ("accounts", "expected"),
    [
        pytest.param(
            {"team/builder": {"secrets": [{"name": "missing"}, {"name": "robot"}]}},
            credentials.BasicAuth("robot", "pw", secret="robot"),
            id="the account's matching secret, a missing one skipped",
        ),
        pytest.param({}, None, id="a missing account is anonymous"),
        pytest.param({"team/builder": {}}, None, id="an account without secrets is anonymous"),
    ],
)
async def test_account_credentials(
    accounts: dict[str, dict[str, Any]], expected: credentials.Credentials | None
) -> None:
    reader = Secrets(accounts, {"team/robot": SECRET})

    found = await keychains.account_credentials(
        reader, namespace="team", service_account="builder", url="https://github.com/org/app"
    )

    assert found == expected
