"""The Image's SourceResolver in one reconcile: its object (kpack's part) and its status (Kiln's).

kpack's Image reconcile creates the ``<image>-source`` SourceResolver, or brings its spec and labels
to the Image's (:func:`plan_source_resolver`), and leaves resolving it to the SourceResolver's own
controller, so a created or changed resolver is not ready in that reconcile.

In Kiln the image-reconciler is that controller too: a git push names the commit
(:mod:`.resolving`), and a resolver created, changed, or never resolved has its branch or tag
listed from the remote by the service (``Resolution.listed``), so a new Image's first Build
already builds a commit. With a :class:`Resolution`, :func:`plan` also decides the status to
write on the resolver: first the observed resolver's, with the pushed revision applied (the
push is recorded even while a build runs, and only on the resolver observed: a resolver created
in this reconcile starts from its spec); then, after a create or a spec update, the status of the
resolver as the API server will hold it (a created object has generation 1; a spec change raises
the generation by one; a label change does not). The build decision then sees the resolver as
written, so one reconcile goes from a new Image to its first Build.

Pure: no I/O; "now" is a parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts import events, meta, source_resolvers, sources
from contracts import images as image_models
from services.image_reconciler import changes, resolving

CREATED_GENERATION = 1
"""The generation the API server gives a new object."""


class Resolution(BaseModel):
    """Resolve the SourceResolver in this reconcile (Kiln's image-reconciler is its controller)."""

    model_config = ConfigDict(frozen=True)

    pushed: events.SourceChanged | None = None
    """The git push this reconcile is for (``source.changed``), or None."""
    listed: events.SourceChanged | None = None
    """The spec's branch or tag as the remote lists it now (``git ls-remote``, read by the service
    when the resolver is created, its spec changes, or its branch was never resolved), applied
    like a push; None when it was not listed or could not be (kpack's ``Unknown``: the branch
    name stands until a push or a later listing names a commit)."""

    tree: str | None = None
    """The id of the tree at the source's ``subPath`` in the commit :meth:`applied` names, read by
    the service when :func:`tree_wanted` asks for it (git's object, no checkout); None when not
    read or not readable, and then the commit moves the branch as any push does."""

    source_image: str | None = None
    """The registry source's tag pinned to the digest it is at now (``<image>@sha256:…``, read by
    the service when :func:`needs_source_digest` asks for it); None when not read or not found,
    and then the resolver keeps what it recorded."""

    def applied(self) -> events.SourceChanged | None:
        """What moves the branch in this reconcile: the push, else the listing."""
        return self.pushed or self.listed


class SourceResolverPlan(BaseModel):
    """What to do with the Image's SourceResolver (spec §1.5, kpack ``reconcileSourceResolver``)."""

    model_config = ConfigDict(frozen=True)

    action: Literal["create", "update", "none"]
    """``create`` or ``update`` the object, or ``none``."""
    object: source_resolvers.SourceResolver | None = None
    """create: the desired resolver; update: the observed one with the desired spec and labels."""
    status: source_resolvers.SourceResolverStatus | None = None
    """Kiln: the status to write after the create or update (or on the observed resolver); None
    when it stays as it is, and always None without a :class:`Resolution`."""
    push: resolving.Verdict | None = None
    """What the pushed revision did to the observed resolver (:func:`.resolving.decide`); None
    without a push, or when it does not concern this resolver."""

    def to_document(self) -> dict[str, Any]:
        """The ``sourceResolver`` part of ``kiln plan --push``."""
        return {
            "action": self.action,
            "object": self.object.dump() if self.object is not None else None,
            "status": self.status.dump() if self.status is not None else None,
            "push": self.push,
        }


NO_CHANGE = SourceResolverPlan(action="none")


def desired_source_resolver(image: image_models.Image) -> source_resolvers.SourceResolver:
    """``<image>-source``: the Image's source and service account, its labels, owned by it."""
    metadata: dict[str, Any] = {"name": meta.child_name(image.name, "-source"), "namespace": image.namespace}
    if image.labels:
        metadata["labels"] = image.labels
    metadata["ownerReferences"] = [image.controller_reference(kind=image_models.KIND).dump()]
    return source_resolvers.SourceResolver.model_validate(
        {
            "apiVersion": meta.V1ALPHA2,
            "kind": source_resolvers.KIND,
            "metadata": metadata,
            "spec": {
                "serviceAccount": image.spec.service_account_name,
                "source": image.spec.source.dump(),
            },
        }
    )


def needs_listing(image: image_models.Image, observed: source_resolvers.SourceResolver | None) -> bool:
    """Whether the Image's git branch or tag should be listed from the remote in this reconcile: it
    follows one (not a pinned commit) and its resolver is new, about another source than the
    Image's, or was never resolved to a commit (kpack resolves on create and on spec change)."""
    git = image.spec.source.git
    if git is None or not git.url or not git.revision or sources.is_commit(git.revision):
        return False
    if observed is None or observed.spec.source.git is None:
        return True
    wanted, held = git, observed.spec.source.git
    if (held.url, held.revision) != (wanted.url, wanted.revision):
        return True
    recorded = observed.status.source.git
    return recorded is None or recorded.url != git.url or not sources.is_commit(recorded.revision)


def tree_wanted(
    image: image_models.Image, observed: source_resolvers.SourceResolver | None, resolution: Resolution
) -> str | None:
    """The commit whose tree at the Image's ``subPath`` this reconcile should read: the one the push
    or listing names, when the Image follows a branch or tag and builds one folder of it, and the
    resolver would move to that commit without already recording its tree. None otherwise (no
    folder, a pinned commit, a push the resolver ignores as current, redelivered or stale)."""
    git, applied = image.spec.source.git, resolution.applied()
    folder = (image.spec.source.sub_path or "").strip("/")
    if git is None or applied is None or not folder or sources.is_commit(git.revision):
        return None
    if applied.url != git.url:
        return None
    if observed is not None and resolving.push_verdict(observed, applied) not in ("move", None):
        return None
    return applied.revision


def needs_source_digest(
    image: image_models.Image, observed: source_resolvers.SourceResolver | None, *, pushed: bool
) -> bool:
    """Whether the Image's registry source tag should be resolved to its digest in this reconcile:
    it names a tag (not a digest), and the tag was pushed (``pushed``: a registry notification or
    a poll said so), or the resolver is new, is about another image, or never pinned this one."""
    registry = image.spec.source.registry
    if registry is None or not registry.image or not resolving.is_tag(registry.image):
        return False
    if pushed or observed is None:
        return True
    recorded = observed.status.source.registry
    return recorded is None or resolving.pinned_tag(recorded.image) != registry.image


def plan_source_resolver(
    image: image_models.Image, *, observed: source_resolvers.SourceResolver | None
) -> tuple[SourceResolverPlan, source_resolvers.SourceResolver]:
    """kpack's action, and the resolver the decision then sees.

    A created resolver has no status (not ready). An update that changes the spec bumps the
    generation past ``observedGeneration``, so the updated resolver is not ready either.
    """
    desired = desired_source_resolver(image)
    if observed is None:
        return SourceResolverPlan(action="create", object=desired), desired
    same_spec = changes.semantic(desired.spec.dump()) == changes.semantic(observed.spec.dump())
    if same_spec and desired.labels == observed.labels:
        return NO_CHANGE, observed
    metadata = observed.metadata.dump()
    metadata.pop("labels", None)
    metadata |= {"labels": desired.labels} if desired.labels else {}
    updated = observed.with_(spec=desired.spec, metadata=meta.ObjectMeta.model_validate(metadata))
    seen = updated
    if not same_spec:
        seen = updated.with_(metadata=updated.metadata.with_(generation=observed.generation + 1))
    return SourceResolverPlan(action="update", object=updated), seen


def resolve_observed(
    observed: source_resolvers.SourceResolver | None, *, resolution: Resolution | None, now: datetime
) -> SourceResolverPlan:
    """The status the observed resolver gets, the push applied (the early stops write only this)."""
    if resolution is None or observed is None:
        return NO_CHANGE
    status = resolving.resolved(
        observed,
        push=resolution.applied(),
        now=meta.rfc3339(now),
        tree=resolution.tree,
        source_image=resolution.source_image,
    )
    verdict = resolving.push_verdict(observed, resolution.pushed)
    return SourceResolverPlan(
        action="none", status=status if resolving.needs_update(observed, status) else None, push=verdict
    )


def plan(
    image: image_models.Image,
    *,
    observed: source_resolvers.SourceResolver | None,
    resolution: Resolution | None,
    now: datetime,
) -> tuple[SourceResolverPlan, source_resolvers.SourceResolver, bool]:
    """The resolver's plan, the resolver the build decision sees, and whether kpack's reconcile
    would have seen it not ready (then Kiln's resolution saved a reconcile)."""
    first = resolve_observed(observed, resolution=resolution, now=now)
    resolved = observed if observed is None or first.status is None else observed.with_(status=first.status)
    kpack, seen = plan_source_resolver(image, observed=resolved)
    if resolution is None:
        return kpack, seen, not seen.ready()
    if observed is None:
        seen = seen.with_(metadata=seen.metadata.with_(generation=CREATED_GENERATION))
        held = seen
    else:
        held = seen.with_(status=observed.status)
    status = resolving.resolved(
        seen,
        push=resolution.listed,
        now=meta.rfc3339(now),
        tree=resolution.tree,
        source_image=resolution.source_image,
    )
    written = status if resolving.needs_update(held, status) else None
    decided = kpack.model_copy(update={"status": written, "push": first.push})
    return decided, seen.with_(status=status), not seen.ready()
