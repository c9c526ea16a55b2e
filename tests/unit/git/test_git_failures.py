"""What a failed git command means in Kiln's error tree, from git's own messages (as git 2.39
prints them with LC_ALL=C), and what the message tells the user to fix."""

from __future__ import annotations

import pytest

from services import errors
from services.git import credentials, failures

URL = "https://git.example.com/org/app.git"
SSH_URL = "git@git.example.com:org/app.git"
SSH_TAIL = (
    "fatal: Could not read from remote repository.\n\n"
    "Please make sure you have the correct access rights\nand the repository exists.\n"
)
BASIC = credentials.BasicAuth("robot", "hunter2", secret="git-robot")
KEY = credentials.SshKey("key", secret="deploy-key")


@pytest.mark.parametrize(
    ("stderr", "url", "given", "kind"),
    [
        pytest.param(
            "fatal: could not read Username for 'https://git.example.com': terminal prompts disabled\n",
            URL,
            None,
            failures.RepositoryAuthError,
            id="credentials asked for and none given is an auth error",
        ),
        pytest.param(
            "remote: authentication required\nfatal: Authentication failed for 'https://git.example.com/org/app.git/'\n",
            URL,
            BASIC,
            failures.RepositoryAuthError,
            id="a refused password is an auth error",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': The requested URL returned error: 403\n",
            URL,
            BASIC,
            failures.RepositoryAuthError,
            id="a 403 is an auth error",
        ),
        pytest.param(
            "git@git.example.com: Permission denied (publickey).\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            failures.RepositoryAuthError,
            id="an ssh key refused is an auth error",
        ),
        pytest.param(
            'Load key "/tmp/kiln-git-x/ssh-key": invalid format\ngit@git.example.com: Permission denied (publickey).\n',
            SSH_URL,
            KEY,
            failures.RepositoryAuthError,
            id="an unreadable ssh key is an auth error",
        ),
        pytest.param(
            "Host key verification failed.\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            failures.RepositoryAuthError,
            id="an untrusted host key is an auth error",
        ),
        pytest.param(
            "fatal: repository 'https://git.example.com/org/app.git/' not found\n",
            URL,
            None,
            failures.RepositoryNotFoundError,
            id="an http 404 is no such repository",
        ),
        pytest.param(
            "ERROR: Repository not found.\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            failures.RepositoryNotFoundError,
            id="a host saying so over ssh is no such repository",
        ),
        pytest.param(
            "fatal: 'org/app.git' does not appear to be a git repository\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            failures.RepositoryNotFoundError,
            id="git's own ssh server saying so is no such repository",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': The requested URL returned error: 503\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="a 503 is temporary",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': The requested URL returned error: 429\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="a 429 is temporary",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': Failed to connect to git.example.com "
            "port 443 after 0 ms: Couldn't connect to server\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="a refused connection is temporary",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': Could not resolve host: git.example.com\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="an unresolvable host is temporary",
        ),
        pytest.param(
            "ssh: connect to host git.example.com port 22: Connection refused\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            failures.GitUnavailableError,
            id="an ssh connection refused is temporary",
        ),
        pytest.param(
            "error: RPC failed; curl 18 transfer closed with outstanding read data remaining\n"
            "fatal: the remote end hung up unexpectedly\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="a connection cut mid-transfer is temporary",
        ),
        pytest.param(
            "fatal: something git has never said\n",
            URL,
            None,
            failures.GitUnavailableError,
            id="an unexplained failure is retried",
        ),
    ],
)
def test_git_failures_translate_into_kilns_tree(
    stderr: str, url: str, given: credentials.Credentials | None, kind: type[errors.KilnError]
) -> None:
    error = failures.translate(stderr, url=url, given=given)

    assert type(error) is kind
    assert failures.redacted(url) in str(error)


@pytest.mark.parametrize(
    ("stderr", "url", "given", "says"),
    [
        pytest.param(
            "fatal: could not read Username for 'https://git.example.com': terminal prompts disabled\n",
            URL,
            None,
            "invalid credentials for repository https://git.example.com/org/app.git: authentication required;"
            " the repository asks for credentials: give the service account a kubernetes.io/basic-auth secret"
            " annotated kpack.io/git: https://git.example.com with a username and password",
            id="anonymous over https: which secret to add, annotated how",
        ),
        pytest.param(
            "fatal: unable to access 'https://git.example.com/org/app.git/': The requested URL returned error: 403\n",
            URL,
            None,
            "the repository refused anonymous access: give the service account a kubernetes.io/basic-auth secret",
            id="anonymous refused over https",
        ),
        pytest.param(
            "fatal: Authentication failed for 'https://git.example.com/org/app.git/'\n",
            URL,
            BASIC,
            "authentication required; the username and password of secret 'git-robot' were refused; update them",
            id="a refused password names its secret",
        ),
        pytest.param(
            "git@git.example.com: Permission denied (publickey).\n" + SSH_TAIL,
            SSH_URL,
            None,
            "give the service account a kubernetes.io/ssh-auth secret annotated kpack.io/git: git@git.example.com",
            id="anonymous over ssh: which ssh secret to add",
        ),
        pytest.param(
            "git@git.example.com: Permission denied (publickey).\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            "the server refused the key of secret 'deploy-key'; add its public key",
            id="a refused key names its secret",
        ),
        pytest.param(
            "Host key verification failed.\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            "the ssh host key is not trusted (Host key verification failed.); add the host's key to the"
            " known_hosts of the ssh secret",
            id="an untrusted host key: what to add",
        ),
        pytest.param(
            "fatal: repository 'https://git.example.com/org/app.git/' not found\n",
            URL,
            None,
            "unable to fetch references for repository https://git.example.com/org/app.git: repository not found;"
            " check spec.source.git.url",
            id="no such repository: kpack's words and the field to check",
        ),
        pytest.param(
            "ssh: connect to host git.example.com port 22: Connection refused\n" + SSH_TAIL,
            SSH_URL,
            KEY,
            "unable to reach repository git@git.example.com:org/app.git: ssh: connect to host git.example.com"
            " port 22: Connection refused",
            id="ssh's advice is left out of what git said",
        ),
        pytest.param(
            "",
            URL,
            None,
            "git failed for repository https://git.example.com/org/app.git: no message",
            id="silence",
        ),
    ],
)
def test_messages_say_what_to_fix(
    stderr: str, url: str, given: credentials.Credentials | None, says: str
) -> None:
    assert says in str(failures.translate(stderr, url=url, given=given))


def test_a_commit_the_server_will_not_give_is_not_found() -> None:
    commit = "0" * 40
    error = failures.translate(
        f"fatal: remote error: upload-pack: not our ref {commit}\n", url=URL, given=None, commit=commit
    )

    assert isinstance(error, failures.CommitNotFoundError)
    assert str(error).startswith(
        f"unable to fetch commit {commit} from repository {URL}: the server does not have it"
    )


def test_not_our_ref_without_a_commit_asked_for_is_no_commit_error() -> None:
    error = failures.translate("fatal: remote error: upload-pack: not our ref abc\n", url=URL, given=None)

    assert not isinstance(error, failures.CommitNotFoundError)


def test_a_password_written_in_the_url_never_shows() -> None:
    url = "https://robot:hunter2@git.example.com/org/app.git"
    error = failures.translate(f"fatal: repository '{url}/' not found\n", url=url, given=None)

    assert "hunter2" not in str(error)
    assert "https://robot:***@git.example.com/org/app.git" in str(error)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "https://robot:hunter2@host/app", "https://robot:***@host/app", id="a password is hidden"
        ),
        pytest.param("https://robot@host/app", "https://robot@host/app", id="a user alone stays"),
        pytest.param("https://host/app", "https://host/app", id="no user info stays"),
        pytest.param("git@host:app", "git@host:app", id="an scp-like address stays"),
    ],
)
def test_redacted(url: str, shown: str) -> None:
    assert failures.redacted(url) == shown


def test_a_deadline_is_temporary_and_says_how_long() -> None:
    error = failures.timed_out(url=URL, seconds=2.5)

    assert isinstance(error, errors.TemporaryError)
    assert str(error) == f"unable to reach repository {URL}: no answer within 2.5 s"
