"""The webhook bodies as GitHub, GitLab, generic senders and registries send them, as pydantic models.

Tolerant of fields they do not read (providers add fields all the time); only what Kiln uses is
declared. Pure data: :mod:`services.triggers.webhooks` validates bodies into these.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


class GitHubRepository(_Payload):
    clone_url: str = Field(min_length=1)
    """``https://github.com/<owner>/<repo>.git``."""
    html_url: str | None = None
    """The repository's web page."""
    ssh_url: str | None = None
    """``git@github.com:<owner>/<repo>.git``."""
    git_url: str | None = None
    """``git://github.com/<owner>/<repo>.git``."""


class GitHubCommit(_Payload):
    id: str
    """Commit SHA."""


class GitHubPush(_Payload):
    ref: str = Field(min_length=1)
    """The pushed ref, ``refs/heads/<branch>`` or ``refs/tags/<tag>``."""
    before: str = ""
    """The ref's previous target; all zeros when the push created the ref."""
    after: str
    """The ref's new target; all zeros when the ref was deleted."""
    deleted: bool = False
    """Whether the push deleted the ref."""
    repository: GitHubRepository
    """The repository pushed to."""
    head_commit: GitHubCommit | None = None
    """The commit the ref now points at (for an annotated tag, ``after`` is the tag object)."""


class GitLabProject(_Payload):
    git_http_url: str = Field(min_length=1)
    """``https://gitlab.example/<group>/<project>.git``."""
    git_ssh_url: str | None = None
    """``git@gitlab.example:<group>/<project>.git``."""
    web_url: str | None = None
    """The project's web page."""


class GitLabPush(_Payload):
    ref: str = Field(min_length=1)
    """The pushed ref, ``refs/heads/<branch>`` or ``refs/tags/<tag>``."""
    before: str = ""
    """The ref's previous target; all zeros when the push created the ref."""
    after: str
    """The ref's new target; all zeros when the ref was deleted."""
    checkout_sha: str | None = None
    """The commit the ref now points at; null when the ref was deleted."""
    project: GitLabProject
    """The project pushed to."""


class GenericPush(_Payload):
    url: str = Field(min_length=1)
    """The repository URL."""
    revision: str = Field(min_length=1)
    """The pushed commit (full SHA)."""
    ref: str | None = Field(default=None, min_length=1)
    """The branch or tag pushed (bare name or ``refs/heads/…`` / ``refs/tags/…``); omitted: every
    Image of the repository that follows a branch or tag."""


class RegistryTarget(_Payload):
    media_type: str = Field(default="", alias="mediaType")
    """Media type of what was pushed (a manifest, an index, or a blob)."""
    repository: str = ""
    """Repository pushed to."""
    digest: str = ""
    """Digest of what was pushed."""
    tag: str = ""
    """Tag pushed, if any."""
    url: str = ""
    """URL of the pushed object on the registry."""


class RegistryRequest(_Payload):
    host: str = ""
    """Host (and port) the client pushed to."""


class RegistryEvent(_Payload):
    id: str = ""
    """Event id."""
    action: str
    """``push``, ``pull``, ``mount`` or ``delete``."""
    target: RegistryTarget = Field(default_factory=RegistryTarget)
    """What the action was on."""
    request: RegistryRequest = Field(default_factory=RegistryRequest)
    """The request that did it."""


class RegistryEnvelope(_Payload):
    events: list[RegistryEvent]
    """The notification's events."""
