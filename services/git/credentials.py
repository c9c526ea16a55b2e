"""The git credentials of a service account, chosen for a repository URL as kpack chooses them
(pkg/git/k8s_git_keychain.go, git_keychain.go; spec §4.5).

Candidates are the account's secrets of type ``kubernetes.io/basic-auth`` (``username``,
``password``) and ``kubernetes.io/ssh-auth`` (``ssh-privatekey``, optional ``known_hosts``); the
domain each serves is its ``kpack.io/git`` annotation. The URL is parsed as kpack's git-urls parses
it (:func:`parse_url`: a URL with a git transport scheme, else scp-like ``user@host:path`` as
``ssh``, else a local path). A basic-auth secret serves only ``http``/``https`` URLs, an ssh secret
only ``ssh`` URLs, and either matches when its annotation is one of ``<host>``,
``https://<host>``, ``http://<host>`` or ``git@<host>`` — the host with its ``:port`` when the URL
has one; the scheme in the annotation is only a spelling (``https://github.com`` serves an ssh
secret for ``git@github.com:org/app`` too). Candidates are tried in secret-name order; the first
match wins; no match means anonymous (None).

    secrets = credentials.git_secrets(account_secret_objects)
    found = credentials.credentials_for("https://github.com/org/app", secrets)

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

from services import errors

GIT_ANNOTATION = "kpack.io/git"
"""Annotation naming the git host a secret serves."""
BASIC_AUTH: Final = "kubernetes.io/basic-auth"
SSH_AUTH: Final = "kubernetes.io/ssh-auth"
SSH_PRIVATE_KEY = "ssh-privatekey"
KNOWN_HOSTS = "known_hosts"
TRANSPORTS = frozenset({"ssh", "git", "git+ssh", "http", "https", "ftp", "ftps", "rsync", "file"})
"""The schemes git-urls accepts as a URL's transport."""
_SCP_LIKE = re.compile(r"^([a-zA-Z0-9-._~]+@)?([a-zA-Z0-9._-]+):([a-zA-Z0-9./._-]+)(?:\?||$)(.*)$")
"""git-urls' scp-like syntax (chainguard-dev/git-urls v1.0.2), as written."""
_MATCHING_DOMAINS = ("{}", "https://{}", "http://{}", "git@{}")


class InvalidGitSecretError(errors.PermanentError, ValueError):
    """The secret chosen for a repository cannot be read (its data is not base64)."""


@dataclasses.dataclass(frozen=True)
class BasicAuth:
    """A user name and password (or token) for an ``http(s)`` repository."""

    username: str
    password: str = dataclasses.field(repr=False)
    secret: str = ""
    """The secret they came from (for messages); empty if none."""


@dataclasses.dataclass(frozen=True)
class SshKey:
    """A private key for an ``ssh`` repository; the user is always ``git``, as in kpack."""

    USER: ClassVar[str] = "git"
    private_key: str = dataclasses.field(repr=False)
    known_hosts: str = ""
    """``known_hosts`` lines, used when unknown hosts are not trusted."""
    secret: str = ""
    """The secret it came from (for messages); empty if none."""


Credentials = BasicAuth | SshKey


@dataclasses.dataclass(frozen=True)
class GitURL:
    """A repository URL as git-urls parses it: only the parts kpack's matching reads."""

    scheme: str
    """``https``, ``http``, ``ssh`` (also for scp-like URLs), …, or ``file`` for a local path."""
    host: str
    """The host with its ``:port``, as written (``github.com``, ``git.example.com:2222``)."""


@dataclasses.dataclass(frozen=True)
class GitSecret:
    """A basic-auth or ssh-auth secret of the service account, as far as matching needs it."""

    name: str
    type: Literal["kubernetes.io/basic-auth", "kubernetes.io/ssh-auth"]
    """The secret's type: basic-auth serves ``http(s)`` URLs, ssh-auth ``ssh`` URLs."""
    domain: str
    """Its ``kpack.io/git`` annotation; empty when absent (then it serves no real host)."""
    credentials: Credentials | None
    """What it holds; None when its data cannot be decoded (:attr:`problem` says why)."""
    problem: str = ""

    def matches(self, url: GitURL) -> bool:
        """kpack's ``match``: the secret's kind fits the URL's scheme and its domain the host."""
        schemes = ("ssh",) if self.type == SSH_AUTH else ("http", "https")
        return url.scheme in schemes and self.domain in {form.format(url.host) for form in _MATCHING_DOMAINS}


def parse_url(raw: str) -> GitURL:
    """git-urls' ``Parse``: a URL whose scheme is a git transport; else an scp-like
    ``[user@]host:path`` (scheme ``ssh``); else a local path (scheme ``file``, no host)."""
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme in TRANSPORTS and _port_is_valid(parts):
        return GitURL(scheme=parts.scheme, host=parts.netloc.rpartition("@")[2])
    found = _SCP_LIKE.match(raw)
    if found is not None:
        return GitURL(scheme="ssh", host=found[2])
    return GitURL(scheme="file", host="")


def _port_is_valid(parts: urllib.parse.SplitResult) -> bool:
    """Go's ``url.Parse`` refuses a non-numeric or out-of-range port."""
    try:
        parts.port  # noqa: B018 - read for its ValueError
    except ValueError:
        return False
    return True


def git_secrets(secrets: Iterable[Mapping[str, Any]]) -> list[GitSecret]:
    """The basic-auth and ssh-auth secrets among Secret objects (dicts as the API returns them:
    base64 ``data``, plain ``stringData`` taking precedence as the API server merges it); other
    types are left out."""
    found = []
    for secret in secrets:
        kind = secret.get("type")
        if kind != BASIC_AUTH and kind != SSH_AUTH:
            continue
        metadata = secret.get("metadata") or {}
        name = str(metadata.get("name", ""))
        domain = str((metadata.get("annotations") or {}).get(GIT_ANNOTATION, ""))
        try:
            data = _data(secret)
        except (binascii.Error, UnicodeDecodeError, ValueError) as e:
            found.append(GitSecret(name, kind, domain, None, problem=f"its data is not base64: {e}"))
            continue
        credentials: Credentials
        if kind == BASIC_AUTH:
            credentials = BasicAuth(data.get("username", ""), data.get("password", ""), secret=name)
        else:
            credentials = SshKey(data.get(SSH_PRIVATE_KEY, ""), data.get(KNOWN_HOSTS, ""), secret=name)
        found.append(GitSecret(name, kind, domain, credentials))
    return found


def _data(secret: Mapping[str, Any]) -> dict[str, str]:
    decoded = {
        str(key): base64.b64decode(str(value), validate=True).decode()
        for key, value in (secret.get("data") or {}).items()
    }
    plain = {str(key): str(value) for key, value in (secret.get("stringData") or {}).items()}
    return {**decoded, **plain}


def credentials_for(url: str, secrets: Sequence[GitSecret]) -> Credentials | None:
    """The credentials kpack would use for ``url``: the first matching secret by name; None
    (anonymous) when none matches. A matching secret that cannot be decoded raises
    :class:`InvalidGitSecretError` naming it."""
    parsed = parse_url(url)
    for secret in sorted(secrets, key=lambda s: s.name):
        if not secret.matches(parsed):
            continue
        if secret.credentials is None:
            raise InvalidGitSecretError(
                f"git secret {secret.name!r} for {url} cannot be read: {secret.problem}"
            )
        return secret.credentials
    return None
