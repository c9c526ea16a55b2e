"""Polling, the fallback to git webhooks, as pure decisions: which remotes to list, and which
Images a listing moves.

Images following a branch or tag are grouped by remote — the repository URL with the service
account whose ``kpack.io/git`` secrets read it — so a repository is listed once per poll however
many Images follow it (kpack lists once per SourceResolver). A listing moves an Image when its
branch or tag now names another commit than the Image's SourceResolver records; the move is a
``source.changed`` like a webhook's push (no ``before``, no delivery id), so the image-reconciler
applies it by the same rules: the same commit announced by a webhook and by a poll builds once,
and a poll never moves a branch back to a commit a push already moved it on from. Such commits
(the resolver's ``status.pushes``) are not announced at all, nor is a monorepo commit that changed
nothing in an Image's ``subPath`` once the image-reconciler has looked at it once.

An Image annotated ``kiln.dev/git-polling: "false"`` (where webhooks are set up) is not polled.

Registry sources the same way: Images whose ``spec.source.registry.image`` is a tag are grouped by
that tag as one service account (and the source's pull secrets) reads it, each tag is resolved
once per poll, and an Image whose resolver records another digest (or none) gets
``source.image.pushed``, as a registry notification gives it. ``kiln.dev/registry-polling:
"false"`` turns this off for an Image (where the registry notifies Kiln).

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from contracts import events, images, meta, references, source_resolvers, sources
from services.sources import git_refs

POLLING_ANNOTATION = "kiln.dev/git-polling"
"""``"false"`` on an Image turns polling off for it (its webhooks name every commit)."""
REGISTRY_POLLING_ANNOTATION = "kiln.dev/registry-polling"
"""``"false"`` on an Image turns polling of its registry source tag off (the registry notifies)."""
DEFAULT_SERVICE_ACCOUNT = "default"


@dataclasses.dataclass(frozen=True)
class Remote:
    """One repository as one service account reads it: listed once per poll."""

    url: str
    namespace: str
    service_account: str


@dataclasses.dataclass(frozen=True)
class Follower:
    """An Image following a branch or tag of a remote, and the commit its resolver records."""

    namespace: str
    name: str
    url: str
    revision: str
    recorded: str
    seen: frozenset[str] = frozenset()
    """Commits the resolver's push history holds: the branch has been there or moved on from
    there, or (a monorepo folder) the commit changed nothing in it. A poll never moves the branch
    to one of them (the image-reconciler's rule for a push without ``before``)."""


def polled(image: images.Image) -> bool:
    """Whether ``image`` follows a git branch or tag and has not turned polling off."""
    git = image.spec.source.git
    if git is None or not git.url or not git.revision or sources.is_commit(git.revision):
        return False
    return not _switched_off(image, POLLING_ANNOTATION)


def followers(
    listed: Iterable[images.Image], resolvers: Iterable[source_resolvers.SourceResolver]
) -> dict[Remote, list[Follower]]:
    """The Images to poll, grouped by :class:`Remote` (an Image's recorded commit is its
    SourceResolver's, when that resolver is about the same URL)."""
    recorded = {(r.namespace, r.name): r.status for r in resolvers}
    grouped: dict[Remote, list[Follower]] = {}
    for image in listed:
        git = image.spec.source.git
        if git is None or not polled(image):
            continue
        status = recorded.get((image.namespace, meta.child_name(image.name, "-source")))
        commit, seen = "", frozenset[str]()
        if status is not None and status.source.git is not None and status.source.git.url == git.url:
            commit = status.source.git.revision
            seen = frozenset(status.pushes.commits if status.pushes is not None else ())
        account = image.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT
        remote = Remote(git.url, image.namespace, account)
        grouped.setdefault(remote, []).append(
            Follower(image.namespace, image.name, git.url, git.revision, commit, seen)
        )
    return grouped


def moved(following: Sequence[Follower], listing: Mapping[str, str]) -> list[events.SourceChanged]:
    """A ``source.changed`` for each follower whose branch or tag the listing puts at another
    commit than its resolver records."""
    found: list[events.SourceChanged] = []
    for follower in following:
        commit = git_refs.resolve(listing, follower.revision).followed_commit
        if commit is None or commit == follower.recorded or commit in follower.seen:
            continue
        found.append(
            events.SourceChanged(
                namespace=follower.namespace, image=follower.name, url=follower.url, revision=commit
            )
        )
    return found


@dataclasses.dataclass(frozen=True)
class SourceTag:
    """One registry source tag as one service account reads it: resolved once per poll."""

    reference: str
    namespace: str
    service_account: str
    image_pull_secrets: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TagFollower:
    """An Image whose registry source is a tag, and what its resolver records for it."""

    namespace: str
    name: str
    reference: str
    recorded: str
    """The resolver's ``status.source.registry.image``: ``<tag>@sha256:…`` once resolved."""


def _switched_off(image: images.Image, annotation: str) -> bool:
    return image.annotations.get(annotation, "").strip().lower() == "false"


def polled_tag(image: images.Image) -> bool:
    """Whether ``image``'s registry source is a tag and its polling is not turned off."""
    registry = image.spec.source.registry
    if registry is None or not registry.image or _switched_off(image, REGISTRY_POLLING_ANNOTATION):
        return False
    try:
        return not references.parse(registry.image).digest
    except references.InvalidReferenceError:
        return False


def tag_followers(
    listed: Iterable[images.Image], resolvers: Iterable[source_resolvers.SourceResolver]
) -> dict[SourceTag, list[TagFollower]]:
    """The Images to poll for their registry source, grouped by :class:`SourceTag`."""
    recorded = {(r.namespace, r.name): r.status.source.registry for r in resolvers}
    grouped: dict[SourceTag, list[TagFollower]] = {}
    for image in listed:
        registry = image.spec.source.registry
        if registry is None or not polled_tag(image):
            continue
        status = recorded.get((image.namespace, meta.child_name(image.name, "-source")))
        secrets = tuple(ref.name for ref in registry.image_pull_secrets or [] if ref.name)
        account = image.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT
        tag = SourceTag(registry.image, image.namespace, account, secrets)
        grouped.setdefault(tag, []).append(
            TagFollower(
                image.namespace, image.name, registry.image, status.image if status is not None else ""
            )
        )
    return grouped


def tag_moved(following: Sequence[TagFollower], digest: str | None) -> list[events.SourceImagePushed]:
    """A ``source.image.pushed`` for each follower whose resolver does not record the tag at
    ``digest`` (None: the tag is not there, and nothing moves)."""
    if digest is None:
        return []
    return [
        events.SourceImagePushed(
            namespace=follower.namespace,
            image=follower.name,
            reference=follower.reference,
            pushed=f"{follower.reference}@{digest}",
        )
        for follower in following
        if follower.recorded != f"{follower.reference}@{digest}"
    ]
