"""Build history cleanup (spec §4.7, kpack ``deleteOldBuilds``).

Running builds count for neither limit. Over a limit, only the single oldest build of that kind
is deleted per reconcile, so a lowered limit is reached one build per reconcile.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import builds


def builds_to_delete(
    oldest_first: Sequence[builds.Build], *, failed_limit: int, success_limit: int
) -> list[str]:
    """Names to delete: the oldest failed build, then the oldest successful one, when over the limit.

    ``oldest_first`` is the Image's builds sorted by creation time, oldest first.
    """
    failed = [b for b in oldest_first if b.failed()]
    succeeded = [b for b in oldest_first if b.succeeded()]
    names: list[str] = []
    if len(failed) > failed_limit:
        names.append(failed[0].name)
    if len(succeeded) > success_limit:
        names.append(succeeded[0].name)
    return names
