"""What a failed ``git`` command means, in Kiln's error tree (:mod:`services.errors`).

    KilnError
    ├── TemporaryError
    │   └── GitUnavailableError        the host cannot be reached, answered 5xx/429, or git timed out;
    │                                  also any failure git does not explain (retried with back-off)
    └── PermanentError
        ├── RepositoryAuthError        credentials missing or refused (HTTP 401/403, ssh publickey),
        │                              or an ssh host key that is not trusted
        ├── InvalidRepositoryURLError  a URL Kiln does not hand to git (local path, ``ext::``, …)
        ├── InvalidCommitError         a commit argument that is not a full commit id
        └── NotFoundError
            ├── RepositoryNotFoundError   no repository at that URL
            └── CommitNotFoundError       the server does not give out that commit

Messages name the URL (its password, if written in it, replaced by ``***``) and say what to fix,
with kpack's wording where kpack has one (build-init: ``invalid credentials for repository``,
``unable to fetch references for repository``; go-git: ``authentication required``,
``repository not found``). Credentials never appear: git is given them through its environment
(:mod:`services.git.commands`), never on a command line, and the stderr quoted here is git's own.

Pure: :func:`translate` maps a finished command's stderr to an error.
"""

from __future__ import annotations

import re
import urllib.parse

from services import errors
from services.git import credentials

_LAST_LINES = 3


class GitUnavailableError(errors.TemporaryError):
    """The repository's host could not be reached or answered with a server error; try again."""


class RepositoryAuthError(errors.PermanentError):
    """The repository refused the credentials (or asked for some and none were given)."""


class InvalidRepositoryURLError(errors.PermanentError, ValueError):
    """A URL Kiln will not hand to git: not ``http``, ``https``, ``ssh`` or ``git``."""


class InvalidCommitError(errors.PermanentError, ValueError):
    """A commit argument that is not a full commit id (40 or 64 lowercase hex digits)."""


class RepositoryNotFoundError(errors.NotFoundError):
    """There is no repository at that URL (or the server hides a private one)."""


class CommitNotFoundError(errors.NotFoundError):
    """The server does not hold the commit asked for, or does not serve commits by id."""


_AUTH_REQUIRED = (
    re.compile(r"could not read (Username|Password) for"),
    re.compile(r"The requested URL returned error: 401"),
)
_AUTH_REFUSED = (
    re.compile(r"Authentication failed for"),
    re.compile(r"The requested URL returned error: 403"),
    re.compile(r"Permission denied \(publickey"),
    re.compile(r"Load key .*: (invalid format|error in libcrypto)"),
)
_HOST_KEY = (
    re.compile(r"Host key verification failed"),
    re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED"),
)
_NOT_FOUND = (
    re.compile(r"repository '.*' not found"),
    re.compile(r"The requested URL returned error: 404"),
    re.compile(r"does not appear to be a git repository"),
    re.compile(r"(?i)repository not found"),
    re.compile(r"not valid: is this a git repository\?"),
)
_COMMIT_MISSING = (
    re.compile(r"not our ref"),
    re.compile(r"couldn't find remote ref"),
    re.compile(r"Server does not allow request for unadvertised object"),
    re.compile(r"unadvertised object"),
)
_UNAVAILABLE = (
    re.compile(r"Could not resolve host"),
    re.compile(r"Could not resolve hostname"),
    re.compile(r"Failed to connect to"),
    re.compile(r"Connection refused"),
    re.compile(r"Connection timed out"),
    re.compile(r"Operation timed out"),
    re.compile(r"Connection reset"),
    re.compile(r"Network is unreachable"),
    re.compile(r"No route to host"),
    re.compile(r"The requested URL returned error: (5\d\d|429|408)"),
    re.compile(r"RPC failed"),
    re.compile(r"the remote end hung up unexpectedly"),
    re.compile(r"Connection closed by"),
)


def redacted(url: str) -> str:
    """``url`` with the password written in it (``https://user:token@host/…``) as ``***``."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc or parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _fix_for_auth(url: str, given: credentials.Credentials | None, *, required: bool) -> str:
    parsed = credentials.parse_url(url)
    if isinstance(given, credentials.SshKey):
        return (
            f"the server refused the key of secret {given.secret!r}; add its public key to the "
            f"repository (or the account) as a deploy key, or update the secret's ssh-privatekey"
        )
    if isinstance(given, credentials.BasicAuth):
        return (
            f"the username and password of secret {given.secret!r} were refused; update them "
            f"(a token that can read the repository)"
        )
    if parsed.scheme == "ssh":
        return (
            f"give the service account a kubernetes.io/ssh-auth secret annotated "
            f"{credentials.GIT_ANNOTATION}: git@{parsed.host} with an ssh-privatekey the server accepts"
        )
    reason = "the repository asks for credentials" if required else "the repository refused anonymous access"
    return (
        f"{reason}: give the service account a kubernetes.io/basic-auth secret annotated "
        f"{credentials.GIT_ANNOTATION}: {parsed.scheme}://{parsed.host} with a username and password "
        f"(a token that can read it)"
    )


_BOILERPLATE = frozenset(
    {
        "fatal: Could not read from remote repository.",
        "Please make sure you have the correct access rights",
        "and the repository exists.",
    }
)


def _quoted(stderr: str) -> str:
    """git's last few lines, without the advice ssh failures end with."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if line not in _BOILERPLATE] or lines
    return " / ".join(telling[-_LAST_LINES:]) or "no message"


def translate(
    stderr: str, *, url: str, given: credentials.Credentials | None, commit: str | None = None
) -> errors.KilnError:
    """The error a git command that failed with ``stderr`` raises, for repository ``url`` fetched
    with ``given`` credentials (``commit``: the commit a fetch asked for)."""
    shown = redacted(url)
    said = _quoted(stderr.replace(url, shown))
    if _any(_HOST_KEY, stderr):
        return RepositoryAuthError(
            f"invalid credentials for repository {shown}: the ssh host key is not trusted ({said}); "
            f"add the host's key to the known_hosts of the ssh secret, or trust unknown hosts"
        )
    if _any(_AUTH_REFUSED, stderr) or _any(_AUTH_REQUIRED, stderr):
        required = _any(_AUTH_REQUIRED, stderr)
        return RepositoryAuthError(
            f"invalid credentials for repository {shown}: authentication required; "
            f"{_fix_for_auth(url, given, required=required)}"
        )
    if commit is not None and _any(_COMMIT_MISSING, stderr):
        return CommitNotFoundError(
            f"unable to fetch commit {commit} from repository {shown}: the server does not have it "
            f"or does not serve commits by id (uploadpack.allowAnySHA1InWant) ({said})"
        )
    if _any(_UNAVAILABLE, stderr):
        return GitUnavailableError(f"unable to reach repository {shown}: {said}")
    if _any(_NOT_FOUND, stderr):
        return RepositoryNotFoundError(
            f"unable to fetch references for repository {shown}: repository not found; "
            f"check spec.source.git.url (a private repository may also answer so without credentials)"
        )
    return GitUnavailableError(f"git failed for repository {shown}: {said}")


def timed_out(*, url: str, seconds: float) -> GitUnavailableError:
    """The error for a git command stopped after ``seconds``."""
    return GitUnavailableError(f"unable to reach repository {redacted(url)}: no answer within {seconds:g} s")


def _any(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)
