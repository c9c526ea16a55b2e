"""kpack's choice of git credentials for a repository URL (k8s_git_keychain_test.go and
git_keychain_test.go), and git-urls' parsing that the choice rests on."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from services.git import credentials

KEY_1 = "-----BEGIN RSA PRIVATE KEY-----\nkey one\n-----END RSA PRIVATE KEY-----\n"
KEY_2 = "-----BEGIN RSA PRIVATE KEY-----\nkey two\n-----END RSA PRIVATE KEY-----\n"
KNOWN_HOSTS = "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"


def _encoded(data: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}


def basic_secret(name: str, domain: str | None, username: str, password: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "test-namespace"}
    if domain is not None:
        metadata["annotations"] = {credentials.GIT_ANNOTATION: domain}
    return {
        "metadata": metadata,
        "type": credentials.BASIC_AUTH,
        "data": _encoded({"username": username, "password": password}),
    }


def ssh_secret(name: str, domain: str, key: str, known_hosts: str | None = None) -> dict[str, Any]:
    data = {credentials.SSH_PRIVATE_KEY: key} | (
        {credentials.KNOWN_HOSTS: known_hosts} if known_hosts else {}
    )
    return {
        "metadata": {"name": name, "annotations": {credentials.GIT_ANNOTATION: domain}},
        "type": credentials.SSH_AUTH,
        "data": _encoded(data),
    }


# k8s_git_keychain_test.go's service account, its secrets listed out of name order.
K8S_SECRETS = credentials.git_secrets(
    [
        basic_secret("secret-1", "https://github.com", "saved-username", "saved-password"),
        basic_secret("secret-2", "noschemegit.com", "noschemegit-username", "noschemegit-password"),
        ssh_secret("secret-4", "git@gitlab.com", KEY_1),
        basic_secret("secret-5", "https://gitlab.com", "gitlab-username", "gitlab-password"),
        ssh_secret("secret-3", "git@bitbucket.com", KEY_1),
        ssh_secret("secret-6", "git@gitlab.com", KEY_2),
        basic_secret("secret-7", "https://github.com", "other-username", "other-password"),
        ssh_secret("secret-8", "git@github.com", KEY_1, KNOWN_HOSTS),
        {
            "metadata": {"name": "secret-0", "annotations": {credentials.GIT_ANNOTATION: "github.com"}},
            "type": "Opaque",
        },
    ]
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://github.com/org/repo",
            credentials.BasicAuth("saved-username", "saved-password", secret="secret-1"),
            id="the alphabetically first matching basic-auth secret wins",
        ),
        pytest.param(
            "git@gitlab.com:org/repo",
            credentials.SshKey(KEY_1, secret="secret-4"),
            id="the alphabetically first matching ssh secret wins",
        ),
        pytest.param(
            "git@bitbucket.com:org/repo",
            credentials.SshKey(KEY_1, secret="secret-3"),
            id="an scp-like URL gets the ssh secret for its host",
        ),
        pytest.param(
            "git@github.com:org/repo",
            credentials.SshKey(KEY_1, KNOWN_HOSTS, secret="secret-8"),
            id="an ssh secret brings its known hosts",
        ),
        pytest.param(
            "https://noschemegit.com/org/repo",
            credentials.BasicAuth("noschemegit-username", "noschemegit-password", secret="secret-2"),
            id="an annotation without a scheme matches an https URL",
        ),
        pytest.param(
            "https://gitlab.com/org/repo",
            credentials.BasicAuth("gitlab-username", "gitlab-password", secret="secret-5"),
            id="an https URL never gets an ssh secret of the same host",
        ),
        pytest.param("https://no-creds-github.com/org/repo", None, id="no matching secret means anonymous"),
        pytest.param(
            "ssh://git@github.com/org/repo",
            credentials.SshKey(KEY_1, KNOWN_HOSTS, secret="secret-8"),
            id="an ssh:// URL matches as the scp-like form does",
        ),
        pytest.param(
            "git+ssh://git@github.com/org/repo", None, id="a git+ssh:// URL matches no secret (not ssh)"
        ),
        pytest.param("git://github.com/org/repo", None, id="a git:// URL matches no secret"),
        pytest.param("/srv/git/repo", None, id="a local path matches no secret"),
    ],
)
def test_kpacks_k8s_keychain_cases(url: str, expected: credentials.Credentials | None) -> None:
    assert credentials.credentials_for(url, K8S_SECRETS) == expected


# git_keychain_test.go's mounted secrets, as service account secrets with the same annotations.
MOUNTED = credentials.git_secrets(
    [
        basic_secret(
            "github-creds", "https://github.com", "another-saved-username", "another-saved-password"
        ),
        basic_secret("additional-github-creds", "https://github.com", "saved-username", "saved-password"),
        basic_secret("basic-bitbucket-creds", "https://bitbucket.com", "saved-username", "saved-password"),
        basic_secret("noscheme-creds", "noschemegit.com", "noschemegit-username", "noschemegit-password"),
        ssh_secret("zzz-ssh-bitbucket-creds", "https://bitbucket.com", "private key 2"),
        ssh_secret("bitbucket-creds", "https://bitbucket.com", KEY_1, "bitbucket.com ssh-rsa AAAA"),
    ]
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://github.com/org/repo",
            credentials.BasicAuth("saved-username", "saved-password", secret="additional-github-creds"),
            id="several secrets for a repository: the alphabetically first",
        ),
        pytest.param(
            "git@bitbucket.com:org/repo",
            credentials.SshKey(KEY_1, "bitbucket.com ssh-rsa AAAA", secret="bitbucket-creds"),
            id="an ssh target gets the ssh secret even when annotated with https://",
        ),
        pytest.param(
            "https://bitbucket.com/org/repo",
            credentials.BasicAuth("saved-username", "saved-password", secret="basic-bitbucket-creds"),
            id="an https target gets the basic-auth secret",
        ),
        pytest.param(
            "https://noschemegit.com/org/repo",
            credentials.BasicAuth("noschemegit-username", "noschemegit-password", secret="noscheme-creds"),
            id="a secret annotated without a scheme",
        ),
        pytest.param("https://no-creds-github.com/org/repo", None, id="no match is anonymous"),
    ],
)
def test_kpacks_mounted_keychain_cases(url: str, expected: credentials.Credentials | None) -> None:
    assert credentials.credentials_for(url, MOUNTED) == expected


@pytest.mark.parametrize(
    ("annotation", "url", "matches"),
    [
        pytest.param("github.com", "https://github.com/org/app", True, id="a bare host"),
        pytest.param("https://github.com", "https://github.com/org/app", True, id="https:// and the host"),
        pytest.param("http://github.com", "https://github.com/org/app", True, id="http:// serves https too"),
        pytest.param("git@github.com", "https://github.com/org/app", True, id="git@ serves https too"),
        pytest.param(
            "https://github.com/", "https://github.com/org/app", False, id="a trailing slash does not"
        ),
        pytest.param("https://github.com/org", "https://github.com/org/app", False, id="a path does not"),
        pytest.param("GitHub.com", "https://github.com/org/app", False, id="the host's case counts"),
        pytest.param(
            "git.example.com:8443", "https://git.example.com:8443/app", True, id="the port is the host's"
        ),
        pytest.param(
            "git.example.com", "https://git.example.com:8443/app", False, id="a host without its port"
        ),
        pytest.param(
            "github.com", "https://user:token@github.com/org/app", True, id="user info is not the host"
        ),
        pytest.param("", "https://github.com/org/app", False, id="an unannotated secret serves no host"),
        pytest.param("github.com", "http://github.com/org/app", True, id="plain http is served"),
    ],
)
def test_annotation_forms(annotation: str, url: str, matches: bool) -> None:
    secret = credentials.git_secrets([basic_secret("s", annotation, "u", "p")])

    assert (credentials.credentials_for(url, secret) is not None) is matches


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        pytest.param("https://github.com/org/app", credentials.GitURL("https", "github.com"), id="https"),
        pytest.param(
            "HTTPS://github.com/org/app", credentials.GitURL("https", "github.com"), id="scheme case"
        ),
        pytest.param("git@github.com:org/app.git", credentials.GitURL("ssh", "github.com"), id="scp-like"),
        pytest.param("github.com:org/app", credentials.GitURL("ssh", "github.com"), id="scp-like, no user"),
        pytest.param(
            "ssh://git@host.example:2222/org/app",
            credentials.GitURL("ssh", "host.example:2222"),
            id="ssh, port",
        ),
        pytest.param(
            "git@host:2222/org/app", credentials.GitURL("ssh", "host"), id="scp-like never has a port"
        ),
        pytest.param(
            "https://host:abc/org/app",
            credentials.GitURL("ssh", "https"),
            id="a bad port: git-urls reads scp-like",
        ),
        pytest.param("/srv/git/app.git", credentials.GitURL("file", ""), id="a local path"),
        pytest.param("file:///srv/git/app.git", credentials.GitURL("file", ""), id="a file URL"),
        pytest.param(
            "foo://host/app",
            credentials.GitURL("ssh", "foo"),
            id="an unknown scheme: git-urls reads scp-like",
        ),
    ],
)
def test_urls_parse_as_git_urls_parses_them(url: str, parsed: credentials.GitURL) -> None:
    assert credentials.parse_url(url) == parsed


def test_other_secret_types_are_no_git_secrets() -> None:
    found = credentials.git_secrets(
        [
            {"metadata": {"name": "docker"}, "type": "kubernetes.io/dockerconfigjson", "data": {}},
            {"metadata": {"name": "opaque"}, "type": "Opaque", "data": {}},
            {"metadata": {"name": "untyped"}},
        ]
    )

    assert found == []


def test_string_data_counts_over_data_as_the_api_server_merges_it() -> None:
    secret = basic_secret("s", "github.com", "from-data", "old")
    secret["stringData"] = {"password": "new"}

    (found,) = credentials.git_secrets([secret])

    assert found.credentials == credentials.BasicAuth("from-data", "new", secret="s")


def test_a_secret_without_data_has_empty_credentials() -> None:
    (found,) = credentials.git_secrets([{"metadata": {"name": "s"}, "type": credentials.SSH_AUTH}])

    assert found == credentials.GitSecret("s", credentials.SSH_AUTH, "", credentials.SshKey("", secret="s"))


def test_an_undecodable_secret_fails_only_when_it_is_the_one_chosen() -> None:
    broken = {
        "metadata": {"name": "a-broken", "annotations": {credentials.GIT_ANNOTATION: "github.com"}},
        "type": credentials.BASIC_AUTH,
        "data": {"username": "not base64!"},
    }
    secrets = credentials.git_secrets([broken, basic_secret("b-good", "gitlab.com", "u", "p")])

    assert credentials.credentials_for("https://gitlab.com/org/app", secrets) == credentials.BasicAuth(
        "u", "p", secret="b-good"
    )
    with pytest.raises(
        credentials.InvalidGitSecretError, match=r"git secret 'a-broken' for https://github\.com"
    ):
        credentials.credentials_for("https://github.com/org/app", secrets)


def test_passwords_and_keys_stay_out_of_reprs() -> None:
    text = repr(credentials.BasicAuth("user", "hunter2", secret="s")) + repr(
        credentials.SshKey(KEY_1, secret="k")
    )

    assert "hunter2" not in text
    assert "key one" not in text
