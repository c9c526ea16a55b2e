"""Source resolution: what a SourceResolver's status says the Image builds from.

kpack polls git to turn a branch into a commit. Kiln is told: a git push webhook (the triggers
service), the poller (the sources service) or the image-reconciler's own listing of a new Image's
branch is a ``source.changed`` naming the new commit, which is recorded here. A revision that is
already a commit SHA resolves to itself; a branch or tag resolves to its name until a push or a
listing names a commit. No network access from here: the service reads what is needed first.

**Monorepos.** For an Image that builds one folder (``subPath``), the service reads the tree id at
that folder in the pushed commit; a commit whose tree there is the recorded commit's does not move
the branch (:func:`moved_to`, kpack's ``retainCommitIfTreeUnchanged``), so it builds nothing.

**Late and redelivered pushes.** Webhooks arrive late, out of order, and again (a git host
retries, a user presses "Redeliver"), so a push is applied only if it is not older than what the
resolver already records (:func:`decide`), from the branch's recorded commit and its
:class:`~contracts.source_resolvers.PushHistory` (recent commits, and delivery ids handled):

1. its delivery id was handled already → ``redelivered``, nothing;
2. it names the recorded commit → ``current``, nothing;
3. its ``before`` is the recorded commit → ``move`` (a fast-forward or a force-push alike);
4. the branch has been at the pushed commit, or a push moved it on from there → ``stale``, nothing;
5. otherwise (a delivery in between was lost, or the host named no ``before``) → ``move``.

So a redelivery, or a push overtaken by a later one, never moves the branch back, a force-push
to an older commit does (its ``before`` is the recorded commit), and a lost delivery never blocks
the pushes after it. Without the commits' ancestry two cases stay undecidable: a force-push back
to a commit in the history whose ``before`` Kiln never heard of (rule 4 keeps the branch, until
the next push), and a push that arrives after a later force-push returned the branch to that
push's own ``before`` (rule 3 moves it, until the next push).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from contracts import events, meta, references, source_resolvers, sources

Verdict = Literal["move", "current", "redelivered", "stale"]
"""What a push does to the branch it names (see the module's rules)."""


def decide(push: events.SourceChanged, *, recorded: str, history: source_resolvers.PushHistory) -> Verdict:
    """Whether ``push`` moves a branch at ``recorded`` (a commit, or the branch's name before any push)."""
    if push.delivery and push.delivery in history.deliveries:
        return "redelivered"
    if push.revision == recorded:
        return "current"
    if push.before is not None and push.before == recorded:
        return "move"
    if push.revision in history.commits:
        return "stale"
    return "move"


def remembered(
    history: source_resolvers.PushHistory, *, recorded: str, push: events.SourceChanged
) -> source_resolvers.PushHistory:
    """``history`` with what ``push`` said added: the commits it knew of, its delivery id."""
    commits = [c for c in (recorded, push.before, push.revision) if c is not None and sources.is_commit(c)]
    return source_resolvers.PushHistory(
        commits=_bounded(history.commits, commits),
        deliveries=_bounded(history.deliveries, [push.delivery] if push.delivery else []),
    )


def push_verdict(
    resolver: source_resolvers.SourceResolver, push: events.SourceChanged | None
) -> Verdict | None:
    """What ``push`` does to ``resolver``; None when it concerns it not (no push, another URL, a
    pinned commit, a source that is not git)."""
    git = resolver.spec.source.git
    if push is None or git is None or push.url != git.url or sources.is_commit(git.revision):
        return None
    recorded, history = _recorded(resolver, git)
    return decide(push, recorded=recorded, history=history or source_resolvers.PushHistory())


def resolved(
    resolver: source_resolvers.SourceResolver,
    *,
    push: events.SourceChanged | None = None,
    now: str,
    tree: str | None = None,
    source_image: str | None = None,
) -> source_resolvers.SourceResolverStatus:
    """The Ready status of ``resolver``; ``push`` moves a branch (as :func:`decide` says), never a
    pinned commit, and is remembered in ``status.pushes``.

    ``tree`` is the id of the tree at the source's ``subPath`` in ``push``'s commit, when it was
    read (a monorepo folder): a move to a commit whose tree there is the recorded commit's keeps
    the recorded commit (:func:`moved_to`), so nothing rebuilds for a change elsewhere in the
    repository, while the pushed commit joins ``status.pushes`` and is not looked at again.

    ``source_image`` is the registry source's tag pinned to the digest it is at now, when it was
    read: it is recorded (:func:`pinned_source`), so a Build pulls exactly that image and a moved
    tag rebuilds (kpack records the tag alone, and never notices it move)."""
    source = resolver.spec.source
    resolved_source = sources.ResolvedSource()
    history = None
    if source.git is not None:
        commit, history = _recorded(resolver, source.git)
        kept = _recorded_tree(resolver, commit)
        verdict = push_verdict(resolver, push)
        if push is not None and verdict is not None:
            history = remembered(history or source_resolvers.PushHistory(), recorded=commit, push=push)
            if verdict == "move":
                commit, kept = moved_to(commit, kept, pushed=push.revision, pushed_tree=tree)
        resolved_source = sources.ResolvedSource(
            git=sources.ResolvedGit(
                **_given(
                    url=source.git.url,
                    revision=commit,
                    sub_path=source.sub_path,
                    tree=kept if source.sub_path else None,
                    type="Commit" if sources.is_commit(commit) else "Branch",
                    initialize_submodules=source.git.initialize_submodules,
                )
            )
        )
    elif source.blob is not None:
        resolved_source = sources.ResolvedSource(
            blob=sources.ResolvedBlob(
                **_given(
                    url=source.blob.url,
                    auth=source.blob.auth,
                    sub_path=source.sub_path,
                    strip_components=source.blob.strip_components,
                )
            )
        )
    elif source.registry is not None:
        resolved_source = sources.ResolvedSource(
            registry=sources.ResolvedRegistry(
                **_given(
                    image=pinned_source(
                        source.registry.image,
                        recorded=resolver.status.source.registry,
                        read=source_image,
                    ),
                    image_pull_secrets=source.registry.image_pull_secrets,
                    sub_path=source.sub_path,
                )
            )
        )
    status = source_resolvers.SourceResolverStatus(
        observed_generation=resolver.generation,
        conditions=[meta.Condition(type="Ready", status="True", last_transition_time=now)],
        source=resolved_source,
    )
    return status.with_(pushes=history) if history is not None else status


def moved_to(
    recorded: str, recorded_tree: str | None, *, pushed: str, pushed_tree: str | None
) -> tuple[str, str | None]:
    """The commit (and its tree) a branch at ``recorded`` is at once a push moved it to ``pushed``:
    ``recorded`` still when both trees are known and the same (kpack's
    ``retainCommitIfTreeUnchanged``: nothing changed in the folder built), else ``pushed``."""
    if recorded_tree and pushed_tree == recorded_tree and sources.is_commit(recorded):
        return recorded, recorded_tree
    return pushed, pushed_tree


def is_tag(image: str) -> bool:
    """Whether ``image`` is a reference to a tag (one that parses and names no digest)."""
    try:
        return not references.parse(image).digest
    except references.InvalidReferenceError:
        return False


def pinned_tag(image: str) -> str | None:
    """The tag a ``<tag>@sha256:…`` reference pins (as it is spelt); None for any other string."""
    tag, at, digest = image.rpartition("@")
    if not at or not is_tag(tag) or not re.fullmatch(references.DIGEST_PATTERN, digest):
        return None
    return tag


def pinned_source(image: str, *, recorded: sources.ResolvedRegistry | None, read: str | None) -> str:
    """The registry source image to record for the spec's ``image``: the tag pinned to the digest
    just ``read``, else the pinned tag the status records for that same image, else ``image``
    verbatim (a digest reference, or a tag not resolved yet: kpack's value)."""
    if read is not None and pinned_tag(read) == image:
        return read
    if recorded is not None and pinned_tag(recorded.image) == image:
        return recorded.image
    return image


def _recorded_tree(resolver: source_resolvers.SourceResolver, commit: str) -> str | None:
    """The tree the status records for ``commit`` at the spec's ``subPath``; None when it records
    none, or records it for another commit, URL or folder."""
    recorded, git = resolver.status.source.git, resolver.spec.source.git
    if recorded is None or git is None or not recorded.tree:
        return None
    same = (recorded.url, recorded.revision, recorded.sub_path or "") == (
        git.url,
        commit,
        resolver.spec.source.sub_path or "",
    )
    return recorded.tree if same else None


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that have a value: kpack's resolved source omits the others (``omitempty``),
    where passing None would write ``null``."""
    return {key: value for key, value in fields.items() if value is not None}


def _recorded(
    resolver: source_resolvers.SourceResolver, git: sources.Git
) -> tuple[str, source_resolvers.PushHistory | None]:
    """The revision the resolver's ``git`` source is at, and its push history: a commit the spec
    pins; else what the status recorded while the spec's URL stayed the same; else the spec's
    branch or tag name."""
    status_git = resolver.status.source.git
    if sources.is_commit(git.revision):
        return git.revision, None
    if status_git is None or status_git.url != git.url or not status_git.revision:
        return git.revision, None
    return status_git.revision, resolver.status.pushes


def _bounded(kept: Iterable[str], added: Iterable[str]) -> list[str]:
    """``kept`` then those of ``added`` not in it, the newest :data:`HISTORY` of them."""
    merged = list(dict.fromkeys([*kept, *added]))
    return merged[-source_resolvers.HISTORY :]


def needs_update(
    resolver: source_resolvers.SourceResolver, status: source_resolvers.SourceResolverStatus
) -> bool:
    """Whether writing ``status`` would change what the resolver reports."""
    current = resolver.status
    return (
        not resolver.ready()
        or current.source.dump() != status.source.dump()
        or current.observed_generation != status.observed_generation
        or _dump(current.pushes) != _dump(status.pushes)
    )


def _dump(history: source_resolvers.PushHistory | None) -> object:
    return history.dump() if history is not None else None
