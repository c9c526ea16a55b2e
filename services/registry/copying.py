"""Writing an :class:`~contracts.oci.ImagePlan`: how each blob gets into the target repository,
and what the writes came to. Pure: the client (``client.py``) performs what :func:`route` says.

Each blob of a plan ends in one of four ways, cheapest first:

* ``skipped``  — the target repository already holds it (a ``HEAD`` answered 200);
* ``mounted``  — an :class:`~contracts.oci.ExistingBlob` on the target's registry host, linked in
  by a cross-repository mount (``POST …/blobs/uploads/?mount=<digest>&from=<repo>`` → 201): no
  byte crosses the wire;
* ``copied``   — an existing blob on another host, or one whose mount the registry declined
  (202) or refused: downloaded from its repository, then uploaded;
* ``uploaded`` — a :class:`~contracts.oci.NewBlob`: its bytes uploaded.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from contracts import oci
from services import errors
from services.registry import _references, auth


class PlanError(errors.InvalidError, ValueError):
    """A plan that cannot be written as it stands: a new blob whose bytes are not its digest's."""


class Placement(enum.Enum):
    """How a blob got (or is meant to get) into the target repository."""

    SKIPPED = "skipped"
    MOUNTED = "mounted"
    COPIED = "copied"
    UPLOADED = "uploaded"


@dataclasses.dataclass(frozen=True)
class WriteOutcome:
    """What :meth:`RegistryClient.write_image` did: the blobs by placement, and the digest."""

    repository: str
    """The repository written, fully qualified: ``host/repository``."""
    tag: str
    """The tag written."""
    digest: str
    """``sha256:…`` of the manifest written: the plan's digest."""
    mounted: int = 0
    """Blobs linked in from another repository of the same registry (no bytes moved)."""
    uploaded: int = 0
    """New blobs uploaded."""
    copied: int = 0
    """Existing blobs downloaded from their repository and uploaded again."""
    skipped: int = 0
    """Blobs the target repository already held."""

    @property
    def reference(self) -> str:
        """``host/repository:tag``."""
        return f"{self.repository}:{self.tag}"

    @property
    def identifier(self) -> str:
        """``host/repository:tag@sha256:…``, the form kpack records for a builder image it saved."""
        return f"{self.reference}@{self.digest}"

    @property
    def digest_ref(self) -> str:
        """``host/repository@sha256:…``, the form kpack records for an image it resolved."""
        return f"{self.repository}@{self.digest}"

    @classmethod
    def tally(
        cls, placements: list[Placement], *, reference: _references.Reference, digest: str
    ) -> WriteOutcome:
        counts = {placement.value: placements.count(placement) for placement in Placement}
        tag = reference.tag or "latest"
        return cls(repository=reference.qualified_repository, tag=tag, digest=digest, **counts)


@dataclasses.dataclass
class TransferStats:
    """Running counts of one client's blob and manifest writes (for figures and tests)."""

    mounts: int = 0
    """Blobs mounted across repositories (201)."""
    mount_fallbacks: int = 0
    """Mounts the registry declined (202) or refused, so the blob was copied instead."""
    uploads: int = 0
    """Blobs uploaded from bytes the caller had (new blobs, ``push_image`` layers)."""
    copies: int = 0
    """Blobs downloaded from a source repository and uploaded again."""
    downloaded_bytes: int = 0
    """Bytes of blobs downloaded for copies."""
    skipped: int = 0
    """Blobs not written because the target repository held them."""
    manifests: int = 0
    """Manifests written (``write_image``, ``tag_image``, ``push_image``)."""

    def count(self, placement: Placement) -> None:
        if placement is Placement.SKIPPED:
            self.skipped += 1
        elif placement is Placement.MOUNTED:
            self.mounts += 1
        elif placement is Placement.COPIED:
            self.copies += 1
        else:
            self.uploads += 1


def route(blob: oci.NewBlob | oci.ExistingBlob, *, target: _references.Reference) -> Placement:
    """How a blob the target lacks should get there: upload a new one; mount an existing one from
    another repository of the target's registry host; copy it otherwise (another host, or — for
    a blob said to be in the target repository itself — a download that will report it missing)."""
    if isinstance(blob, oci.NewBlob):
        return Placement.UPLOADED
    source = _references.parse(blob.repository)
    if source.host == target.host and source.repository != target.repository:
        return Placement.MOUNTED
    return Placement.COPIED


def check_new_blobs(plan: oci.ImagePlan, *, subject: str) -> None:
    """Refuse, before any request, a plan whose new blob's bytes do not hash to its descriptor."""
    for blob in plan.blobs:
        if isinstance(blob, oci.NewBlob) and oci.sha256_digest(blob.content) != blob.descriptor.digest:
            raise PlanError(f"{subject}: new blob bytes are not {blob.descriptor.digest}")


def unique_blobs(plan: oci.ImagePlan) -> list[oci.NewBlob | oci.ExistingBlob]:
    """The plan's blobs, each digest once (the first kept): a layer listed twice is written once."""
    seen: dict[str, oci.NewBlob | oci.ExistingBlob] = {}
    for blob in plan.blobs:
        seen.setdefault(blob.descriptor.digest, blob)
    return list(seen.values())


def source_keychain(
    repository: str, *, keychains: Mapping[str, auth.Keychain] | None, default: auth.Keychain | None
) -> auth.Keychain | None:
    """The keychain for reading ``repository`` (fully qualified): its entry in ``keychains``,
    names compared after normalisation (``docker.io/x`` is ``index.docker.io/library/x``), else
    ``default``."""
    if not keychains:
        return default
    wanted = _references.parse(repository).qualified_repository
    for name, keychain in keychains.items():
        if _references.parse(name).qualified_repository == wanted:
            return keychain
    return default
