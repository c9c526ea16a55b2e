"""The git adapter's public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

from services import git


def test_public_exports() -> None:
    assert sorted(git.__all__) == [
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
    for name in set(git.__all__) - {"Credentials"}:
        assert getattr(git, name).__module__.startswith("services.git.")
    assert git.Credentials == git.BasicAuth | git.SshKey
