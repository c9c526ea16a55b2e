"""A git revision resolved from a repository's advertised references, as kpack resolves it.

kpack lists the remote's references (``git ls-remote``) and takes the first one whose *short name*
equals the spec's revision (pkg/git/remote_git_resolver.go). :func:`resolve` does the same over a
listing (ref name → object id, as :func:`services.git.ls_remote` returns it):

===============================  ==========================================================
revision                         resolution
===============================  ==========================================================
a branch's name (``main``)       ``Branch``, the branch's commit
a tag's name (``v1``)            ``Tag``, the commit it names (an annotated tag: *peeled*)
``pull/1/head`` (``refs/pull/…``)  ``Unknown``, that ref's commit (kpack's type for other refs)
``HEAD``                         ``Unknown``, the commit HEAD is at
anything else (a commit id, a    ``Commit``, the revision **verbatim**: a full ref name such as
short id, ``refs/heads/main``,   ``refs/heads/main`` never matches, as in kpack
a deleted branch, a typo)
===============================  ==========================================================

and :func:`unknown` is kpack's result when the listing itself failed (``Unknown``, the revision
verbatim).

The short name is go-git's ``ReferenceName.Short``: the ref with ``refs/``, then ``refs/tags/``,
``refs/heads/``, ``refs/remotes/`` taken off where each fits (the last that fits wins), so
``refs/heads/x`` → ``x``, ``refs/tags/x`` → ``x``, ``refs/pull/1/head`` → ``pull/1/head``.

Deliberate differences from kpack, each listed in the README:

* **An annotated tag resolves to its commit.** kpack records the tag *object's* id; Kiln records
  the commit the tag's peeled entry (``refs/tags/v1^{}``) names, so a Build's revision is always a
  commit. :attr:`Resolution.tag_object` keeps the id kpack would have written.
* **Ties are ordered.** kpack's listing has no order, so a branch and a tag of the same name
  resolve either way; Kiln takes the matching refs in name order (git's own ``ls-remote``
  order): ``refs/heads/x`` before ``refs/tags/x``.
* **``HEAD`` resolves to its commit** where kpack (go-git's symbolic reference) yields the zero id.

Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from contracts import sources

GitSourceKind = Literal["Branch", "Tag", "Commit", "Unknown"]
"""kpack's ``status.source.git.type``."""

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
PEELED_SUFFIX = "^{}"
"""``git ls-remote`` lists an annotated tag twice: ``refs/tags/v1`` (the tag object) and
``refs/tags/v1^{}`` (the object it points to, peeled until it is no tag)."""
_SHORT_NAME_PREFIXES = ("refs/", "refs/tags/", "refs/heads/", "refs/remotes/")
"""go-git's ``RefRevParseRules[1:]`` as prefixes (its last rule, ``refs/remotes/%s/HEAD``,
captures what ``refs/remotes/%s`` does)."""
POLLED_KINDS: frozenset[GitSourceKind] = frozenset({"Branch", "Tag"})
"""Kinds kpack keeps polling (condition ``ActivePolling`` True)."""


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What a git revision resolved to."""

    revision: str
    """The commit (the revision verbatim for ``Commit`` and for a failed listing)."""
    type: GitSourceKind
    """kpack's kind of the revision."""
    ref: str | None = None
    """The advertised ref that matched (``refs/heads/main``); None when none did."""
    tag_object: str | None = None
    """For an annotated tag: the tag object's id, the revision kpack would record."""

    @property
    def polled(self) -> bool:
        """Whether kpack keeps polling this resolution (``ActivePolling``: a branch or a tag)."""
        return self.type in POLLED_KINDS

    @property
    def followed_commit(self) -> str | None:
        """The commit a branch or tag is at, which moves the Images following it; None for a
        pinned commit, an unknown ref, or a listing that named no commit."""
        return self.revision if self.polled and sources.is_commit(self.revision) else None


def short_name(ref: str) -> str:
    """go-git's ``ReferenceName.Short``: ``refs/heads/x`` → ``x``, ``refs/pull/1/head`` →
    ``pull/1/head``, ``HEAD`` → ``HEAD``."""
    short = ref
    for prefix in _SHORT_NAME_PREFIXES:
        rest = ref.removeprefix(prefix)
        if rest != ref and rest:
            short = rest
    return short


def kind_of(ref: str) -> GitSourceKind:
    """kpack's ``sourceType``: ``Branch`` for ``refs/heads/``, ``Tag`` for ``refs/tags/``, else
    ``Unknown``."""
    if ref.startswith(BRANCH_PREFIX):
        return "Branch"
    if ref.startswith(TAG_PREFIX):
        return "Tag"
    return "Unknown"


def resolve(listing: Mapping[str, str], revision: str) -> Resolution:
    """``revision`` resolved over ``listing`` (ref name → object id, peeled ``^{}`` entries
    included), as the module's table says."""
    matches = sorted(ref for ref in listing if short_name(ref) == revision)
    if not matches:
        return Resolution(revision=revision, type="Commit")
    ref = matches[0]
    advertised = listing[ref]
    peeled = listing.get(ref + PEELED_SUFFIX)
    if peeled is None or peeled == advertised:
        return Resolution(revision=advertised, type=kind_of(ref), ref=ref)
    return Resolution(revision=peeled, type=kind_of(ref), ref=ref, tag_object=advertised)


def unknown(revision: str) -> Resolution:
    """kpack's result when the remote could not be listed (auth, network, no such repository):
    ``Unknown`` with the revision verbatim."""
    return Resolution(revision=revision, type="Unknown")
