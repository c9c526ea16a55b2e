"""Source configuration shared by Images, Builds and SourceResolvers."""

from __future__ import annotations

import re
from typing import Any

from contracts import meta

COMMIT_PATTERN = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$"
"""A full commit id in lowercase: 40 hex digits (SHA-1), or 64 for a repository in git's SHA-256
object format."""
_COMMIT = re.compile(COMMIT_PATTERN)


def is_commit(revision: str) -> bool:
    """Whether ``revision`` is a full commit id (a revision that names one commit, not a branch)."""
    return _COMMIT.fullmatch(revision) is not None


class Git(meta.KubeModel):
    url: str = ""
    """Git repository URL."""
    revision: str = ""
    """Branch, tag or commit; a resolved source carries the commit SHA."""
    initialize_submodules: bool | None = None
    """Also fetch git submodules."""


class Blob(meta.KubeModel):
    url: str = ""
    """URL of an archive holding the source."""
    auth: str | None = None
    """``secret`` to fetch the blob with the service account's credentials."""
    strip_components: int | None = None
    """Leading path components to strip when unpacking."""


class RegistrySource(meta.KubeModel):
    image: str = ""
    """Image whose layers hold the source."""
    image_pull_secrets: list[meta.LocalObjectReference] | None = None
    """Secrets to pull that image."""


class SourceConfig(meta.KubeModel):
    git: Git | None = None
    """Source from git."""
    blob: Blob | None = None
    """Source from a downloadable archive."""
    registry: RegistrySource | None = None
    """Source from an image in a registry."""
    sub_path: str | None = None
    """Build only this folder of the source."""

    def kinds(self) -> list[str]:
        """Which of git, blob and registry are set."""
        return [k for k in ("git", "blob", "registry") if getattr(self, k) is not None]


class ResolvedGit(meta.KubeModel):
    url: str = ""
    """Repository URL."""
    revision: str = ""
    """Resolved commit."""
    sub_path: str | None = None
    """Folder inside the source."""
    tree: str | None = None
    """The id of the git tree (or file) at ``subPath`` in ``revision`` (kpack's field): a commit
    that leaves it unchanged does not move ``revision``."""
    type: str | None = None
    """``Branch``, ``Tag``, ``Commit`` or ``Unknown``."""
    initialize_submodules: bool | None = None
    """Fetch git submodules."""


class ResolvedBlob(meta.KubeModel):
    url: str = ""
    """Archive URL."""
    auth: str | None = None
    """Credentials mode."""
    sub_path: str | None = None
    """Folder inside the source."""
    strip_components: int | None = None
    """Leading path components to strip."""


class ResolvedRegistry(meta.KubeModel):
    image: str = ""
    """Resolved source image."""
    image_pull_secrets: list[meta.LocalObjectReference] | None = None
    """Secrets to pull it."""
    sub_path: str | None = None
    """Folder inside the source."""


class ResolvedSource(meta.KubeModel):
    git: ResolvedGit | None = None
    """Resolved git source."""
    blob: ResolvedBlob | None = None
    """Resolved blob source."""
    registry: ResolvedRegistry | None = None
    """Resolved registry source."""

    def source_config(self) -> SourceConfig:
        """kpack's ``ResolvedSourceConfig.SourceConfig()``."""
        if self.git is not None:
            git: dict[str, Any] = {"url": self.git.url, "revision": self.git.revision}
            if self.git.initialize_submodules is not None:
                git["initialize_submodules"] = self.git.initialize_submodules
            return _with_sub_path(SourceConfig(git=Git(**git)), self.git.sub_path)
        if self.blob is not None:
            blob: dict[str, Any] = {"url": self.blob.url}
            if self.blob.auth is not None:
                blob["auth"] = self.blob.auth
            if self.blob.strip_components is not None:
                blob["strip_components"] = self.blob.strip_components
            return _with_sub_path(SourceConfig(blob=Blob(**blob)), self.blob.sub_path)
        if self.registry is not None:
            reg: dict[str, Any] = {"image": self.registry.image}
            if self.registry.image_pull_secrets is not None:
                reg["image_pull_secrets"] = self.registry.image_pull_secrets
            return _with_sub_path(SourceConfig(registry=RegistrySource(**reg)), self.registry.sub_path)
        return SourceConfig()


def _with_sub_path(config: SourceConfig, sub_path: str | None) -> SourceConfig:
    return config.with_(sub_path=sub_path) if sub_path else config
