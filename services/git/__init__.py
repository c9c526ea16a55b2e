"""The git adapter: what Kiln asks of remote repositories, through the ``git`` binary.

Public surface (pinned by ``tests/unit/git/test_git_exports.py``):

* :func:`ls_remote` — a repository's references (ref name → object id, peeled tags included);
* :func:`tree_id` — the tree id of one folder of one commit, from a depth-1 blob-less fetch
  (monorepos: a commit that leaves the folder alone keeps its tree id);
* :class:`BasicAuth`, :class:`SshKey` (:data:`Credentials`), :func:`git_secrets` and
  :func:`credentials_for` — kpack's ``kpack.io/git`` secrets and its choice among them for a URL;
  :func:`account_credentials` reads them for a service account through the cluster port;
* the errors: :class:`RepositoryAuthError`, :class:`RepositoryNotFoundError`,
  :class:`CommitNotFoundError`, :class:`InvalidRepositoryURLError`, :class:`InvalidCommitError`,
  :class:`InvalidGitSecretError` (permanent) and :class:`GitUnavailableError` (temporary).

Why the binary and not a Python git library: see :mod:`services.git.commands` and the README.
"""

from __future__ import annotations

from services.git.credentials import (
    BasicAuth,
    Credentials,
    InvalidGitSecretError,
    SshKey,
    credentials_for,
    git_secrets,
)
from services.git.failures import (
    CommitNotFoundError,
    GitUnavailableError,
    InvalidCommitError,
    InvalidRepositoryURLError,
    RepositoryAuthError,
    RepositoryNotFoundError,
)
from services.git.keychains import account_credentials
from services.git.remote import ls_remote, tree_id

__all__ = [
    "BasicAuth",
    "CommitNotFoundError",
    "Credentials",
    "GitUnavailableError",
    "InvalidCommitError",
    "InvalidGitSecretError",
    "InvalidRepositoryURLError",
    "RepositoryAuthError",
    "RepositoryNotFoundError",
    "SshKey",
    "account_credentials",
    "credentials_for",
    "git_secrets",
    "ls_remote",
    "tree_id",
]
