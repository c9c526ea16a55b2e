"""A service account's git credentials for one repository, read through the cluster port as kpack
reads them (pkg/git/k8s_git_keychain.go): the secrets the account lists under ``secrets`` (a
listed secret that does not exist is skipped), matched by :func:`services.git.credentials_for`.
A missing service account means anonymous access, as in kpack.

    found = await keychains.account_credentials(cluster, namespace="team", service_account="builder", url=url)
    listing = await git.ls_remote(url, credentials=found)
"""

from __future__ import annotations

from services.git import credentials
from services.registry import keychains as registry_keychains


async def account_credentials(
    reader: registry_keychains.SecretReader, *, namespace: str, service_account: str, url: str
) -> credentials.Credentials | None:
    """The credentials kpack would use for ``url`` from service account
    ``namespace/service_account``; None (anonymous) when none matches or the account is missing.
    A matching secret whose data cannot be read raises
    :class:`~services.git.credentials.InvalidGitSecretError`."""
    account, secrets = await registry_keychains.account_secrets(reader, namespace, service_account)
    if account is None:
        return None
    return credentials.credentials_for(url, credentials.git_secrets(secrets))
