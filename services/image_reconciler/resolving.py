"""Source resolution: what a SourceResolver's status says the Image builds from.

kpack polls git to turn a branch into a commit. Kiln is told instead: a git push webhook (the
triggers service) publishes ``source.changed`` with the new commit, and the reconciler records it
here. A revision that is already a commit SHA resolves to itself; a branch or tag resolves to its
name until the first push event names a commit (no polling, no network access from here).

Pure: no I/O.
"""

from __future__ import annotations

import re

from contracts import meta, source_resolvers, sources

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def resolved(
    resolver: source_resolvers.SourceResolver, *, revision: str | None = None, now: str
) -> source_resolvers.SourceResolverStatus:
    """The Ready status of ``resolver``; ``revision`` (from a push) moves a branch, never a pinned commit."""
    source = resolver.spec.source
    resolved_source = sources.ResolvedSource()
    if source.git is not None:
        pinned = bool(_COMMIT.match(source.git.revision))
        pushed = None if pinned else revision
        commit = pushed or _previous_revision(resolver) or source.git.revision
        resolved_source = sources.ResolvedSource(
            git=sources.ResolvedGit(
                url=source.git.url,
                revision=commit,
                sub_path=source.sub_path,
                type="Commit" if _COMMIT.match(commit) else "Branch",
                initialize_submodules=source.git.initialize_submodules,
            )
        )
    elif source.blob is not None:
        resolved_source = sources.ResolvedSource(
            blob=sources.ResolvedBlob(
                url=source.blob.url,
                auth=source.blob.auth,
                sub_path=source.sub_path,
                strip_components=source.blob.strip_components,
            )
        )
    elif source.registry is not None:
        resolved_source = sources.ResolvedSource(
            registry=sources.ResolvedRegistry(
                image=source.registry.image,
                image_pull_secrets=source.registry.image_pull_secrets,
                sub_path=source.sub_path,
            )
        )
    return source_resolvers.SourceResolverStatus(
        observed_generation=resolver.generation,
        conditions=[meta.Condition(type="Ready", status="True", last_transition_time=now)],
        source=resolved_source,
    )


def _previous_revision(resolver: source_resolvers.SourceResolver) -> str | None:
    """Keep a commit learned from a push while the spec's branch is unchanged."""
    spec_git = resolver.spec.source.git
    status_git = resolver.status.source.git
    if spec_git is None or status_git is None or status_git.url != spec_git.url:
        return None
    if _COMMIT.match(spec_git.revision):
        return None
    return status_git.revision or None


def needs_update(
    resolver: source_resolvers.SourceResolver, status: source_resolvers.SourceResolverStatus
) -> bool:
    """Whether writing ``status`` would change what the resolver reports."""
    current = resolver.status
    return (
        not resolver.ready()
        or current.source.dump() != status.source.dump()
        or current.observed_generation != status.observed_generation
    )
