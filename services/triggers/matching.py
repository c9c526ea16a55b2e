"""Which Images a git push affects and which builders a registry push affects, and the events that
say so. Pure: no I/O; time is a parameter.

**Git.** An Image is affected by a push when

* its ``spec.source.git.url`` denotes the same repository as one of the push's URLs —
  :func:`repository_key` reduces ``https://``, ``http://``, ``ssh://``, ``git://`` and scp-like
  ``git@host:path`` URLs to ``host/path``: host in lowercase, without user or port, without a
  trailing ``/`` or ``.git`` (the path keeps its case: git servers may tell ``App`` from ``app``);
* and its ``spec.source.git.revision`` names the pushed branch or tag, short (``main``) or full
  (``refs/heads/main``). A revision that is a commit SHA is pinned: no push moves it.

Each affected Image gets a ``source.changed`` carrying the URL *as the Image spells it* (the
reconciler compares it with the SourceResolver's), the pushed commit, and what the host said to
place the push among others: the commit the ref was at ``before`` and the delivery id (the
reconciler decides whether the push is new; this service keeps no state). Its id derives from the
delivery id and the commit, so a redelivered webhook publishes the same event again.

**Registry.** A manifest pushed to ``host/repository`` affects every Builder and ClusterBuilder
whose ``spec.tag`` or ``status.latestImage`` names that repository (compared as
:mod:`contracts.references` normalises references, the host in lowercase): one
``builder.changed`` each — unless the builder names a ClusterStack, i.e. it is made by a builder
controller (Kiln's builder service) whose status write, which the bridge announces, is the news:
the pushes of its own image would only fan out to every Image once more for nothing.

It also affects every ClusterStack, ClusterLifecycle, ClusterStore,
Buildpack and ClusterBuildpack whose spec names an image by a tag of that repository — the tag
pushed, or any tag for a push by digest (an index's platform manifests come before the index's
tag): one ``builder.input.changed`` each, so the builder service resolves it again at once. An
image named by digest cannot move and is never affected.

And it affects every Image whose registry source (``spec.source.registry.image``) names the tag
pushed (a push by digest alone moves no tag): one ``source.image.pushed`` each, so the
image-reconciler resolves the tag to its new digest and rebuilds.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts import builders, events, images, references, sources
from services import ports
from services.triggers import webhooks

SOURCE = "/kiln/triggers"
"""The CloudEvents source of the events the triggers service publishes."""
GIT_SCHEMES = ("https", "http", "ssh", "git", "git+ssh", "ssh+git")
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^@/:]+):(?P<path>.+)$")
"""``[user@]host:path``, git's scp-like syntax for ssh."""


# git


def repository_key(url: str) -> str | None:
    """``host/path`` naming the repository ``url`` points at, or None if it is not a git URL."""
    url = url.strip()
    if "://" in url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in GIT_SCHEMES:
            return None
        host, path = parts.hostname or "", parts.path
    else:
        found = _SCP_LIKE.match(url)
        if found is None:
            return None
        host, path = found["host"].lower(), found["path"]
    path = path.strip("/").removesuffix(".git").rstrip("/")
    if not host or not path:
        return None
    return f"{host}/{path}"


def followed_revisions(ref: str | None) -> frozenset[str] | None:
    """The ``spec.source.git.revision`` values that follow ``ref``; None: every branch and tag."""
    if ref is None:
        return None
    for prefix in (webhooks.BRANCH_PREFIX, webhooks.TAG_PREFIX):
        if ref.startswith(prefix):
            return frozenset({ref, ref.removeprefix(prefix)})
    return frozenset({ref, webhooks.BRANCH_PREFIX + ref, webhooks.TAG_PREFIX + ref})


def affects(image: images.Image, push: webhooks.Push) -> bool:
    """Whether ``push`` brings a new commit to the branch or tag ``image`` builds."""
    git = image.spec.source.git
    if git is None or not git.url or not git.revision or sources.is_commit(git.revision):
        return False
    pushed = {key for key in map(repository_key, push.urls) if key is not None}
    if repository_key(git.url) not in pushed:
        return False
    revisions = followed_revisions(push.ref)
    return revisions is None or git.revision in revisions


def may_follow(raw: Mapping[str, Any], push: webhooks.Push) -> bool:
    """Whether an Image as the API server gives it (raw JSON) may follow the repository ``push`` is
    to: the test the triggers service runs on every Image before validating any (``affects``
    decides)."""
    url = _field(raw, "spec", "source", "git", "url")
    return isinstance(url, str) and repository_key(url) in {
        key for key in map(repository_key, push.urls) if key is not None
    }


def may_pull(raw: Mapping[str, Any], pushes: Sequence[webhooks.ManifestPush]) -> bool:
    """Whether a raw Image's registry source may be a tag ``pushes`` moved (``source_image_pushed``
    decides)."""
    image = _field(raw, "spec", "source", "registry", "image")
    return isinstance(image, str) and any(p.tag and pushed_tag(image, p) for p in pushes)


def _field(raw: Mapping[str, Any], *path: str) -> object:
    found: object = raw
    for name in path:
        if not isinstance(found, Mapping):
            return None
        found = found.get(name)
    return found


def affected_images(listed: Iterable[images.Image], push: webhooks.Push) -> list[images.Image]:
    """The Images ``push`` affects, ordered by ``namespace/name``."""
    return sorted((image for image in listed if affects(image, push)), key=lambda image: image.key)


def source_changed(
    listed: Iterable[images.Image], push: webhooks.Push, *, time: datetime
) -> list[events.Event[events.Payload]]:
    """One ``source.changed`` per affected Image, with the URL as that Image spells it."""
    return [
        events.new(
            events.SourceChanged(
                namespace=image.namespace,
                image=image.name,
                url=image.spec.source.git.url if image.spec.source.git else "",
                revision=push.commit,
                before=push.before,
                delivery=push.delivery,
            ),
            source=SOURCE,
            time=time,
            discriminator=f"push:{push.delivery}:{push.commit}",
        )
        for image in affected_images(listed, push)
    ]


# registry


def registry_repository(host: str, repository: str) -> tuple[str, str]:
    """``(registry, repository)`` of a push, normalised as :mod:`contracts.references` does."""
    host = references.canonical_host(host)
    if host == references.DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    return host, repository


def builder_repositories(builder: builders.Builder) -> set[tuple[str, str]]:
    """The repositories of ``spec.tag`` and ``status.latestImage`` (those that parse)."""
    found = set()
    for value in (builder.spec.tag, builder.status.latest_image):
        if not value:
            continue
        try:
            parsed = references.parse(value)
        except references.InvalidReferenceError:
            continue
        found.add((parsed.registry.lower(), parsed.repository))
    return found


def builder_changed(
    listed: Mapping[str, Sequence[builders.Builder]],
    pushes: Sequence[webhooks.ManifestPush],
    *,
    time: datetime,
) -> list[events.Event[events.Payload]]:
    """One ``builder.changed`` per builder (``listed`` by kind) whose repository was pushed to."""
    changed: list[events.Event[events.Payload]] = []
    for kind, candidates in sorted(listed.items()):
        for builder in sorted(candidates, key=lambda b: (b.namespace, b.name)):
            if builder.spec.stack.name:
                continue  # made from a stack: its own pushes are news once its status says so
            repositories = builder_repositories(builder)
            hits = [p for p in pushes if registry_repository(p.host, p.repository) in repositories]
            if not hits:
                continue
            payload = events.BuilderChanged(
                kind="ClusterBuilder" if kind == builders.CLUSTER_BUILDER else "Builder",
                namespace="" if kind == builders.CLUSTER_BUILDER else builder.namespace,
                name=builder.name,
                resource_version=builder.metadata.resource_version,
            )
            discriminator = "registry:" + ",".join(sorted({f"{p.id}@{p.digest}" for p in hits}))
            changed.append(events.new(payload, source=SOURCE, time=time, discriminator=discriminator))
    return changed


def pushed_tag(image: str, push: webhooks.ManifestPush) -> bool:
    """Whether ``push`` may have moved the tag ``image`` names (False for a digest reference or an
    image that does not parse)."""
    try:
        parsed = references.parse(image)
    except references.InvalidReferenceError:
        return False
    if parsed.digest:
        return False
    same = (parsed.registry.lower(), parsed.repository) == registry_repository(push.host, push.repository)
    return same and (not push.tag or push.tag == parsed.tag)


def input_changed(
    listed: Sequence[ports.BuilderInput],
    pushes: Sequence[webhooks.ManifestPush],
    *,
    time: datetime,
) -> list[events.Event[events.Payload]]:
    """One ``builder.input.changed`` per builder input (``listed``) with an image tag ``pushes`` moved."""
    changed: list[events.Event[events.Payload]] = []
    for obj in sorted(listed, key=lambda o: (o.kind, o.namespace, o.name)):
        hits = [p for p in pushes if any(pushed_tag(image, p) for image in obj.images() if image)]
        if not hits:
            continue
        first = hits[0]
        payload = events.BuilderInputChanged(
            kind=obj.kind,
            namespace=obj.namespace,
            name=obj.name,
            resource_version=obj.metadata.resource_version,
            pushed=f"{first.host}/{first.repository}@{first.digest}",
        )
        discriminator = "registry:" + ",".join(sorted({f"{p.id}@{p.digest}" for p in hits}))
        changed.append(events.new(payload, source=SOURCE, time=time, discriminator=discriminator))
    return changed


def source_image_pushed(
    listed: Iterable[images.Image],
    pushes: Sequence[webhooks.ManifestPush],
    *,
    time: datetime,
) -> list[events.Event[events.Payload]]:
    """One ``source.image.pushed`` per Image (``listed``) whose registry source is a tag ``pushes``
    moved (a push naming that tag)."""
    changed: list[events.Event[events.Payload]] = []
    for image in sorted(listed, key=lambda i: (i.namespace, i.name)):
        registry = image.spec.source.registry
        if registry is None or not registry.image:
            continue
        hits = [p for p in pushes if p.tag and pushed_tag(registry.image, p)]
        if not hits:
            continue
        first = hits[0]
        payload = events.SourceImagePushed(
            namespace=image.namespace,
            image=image.name,
            reference=registry.image,
            pushed=f"{first.host}/{first.repository}@{first.digest}",
        )
        discriminator = "registry:" + ",".join(sorted({f"{p.id}@{p.digest}" for p in hits}))
        changed.append(events.new(payload, source=SOURCE, time=time, discriminator=discriminator))
    return changed
