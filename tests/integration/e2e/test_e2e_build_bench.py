"""The requests-per-build benchmark measures a real rebuild (figures only; no timed thresholds)."""

from __future__ import annotations

import pytest

from services.testbed.bench import builds as bench

pytestmark = pytest.mark.integration


async def test_requests_and_announcements_per_build_are_counted_over_a_push_that_rebuilds_every_image() -> (
    None
):
    figures = await bench.measure(images=3)

    assert figures.images == 3
    # at least: the Build created, its status and the Image status written, per rebuilt Image
    assert figures.requests_per_build >= 3
    assert figures.peak_rss_mib > 0
    # each rebuilt Image's build announced once: a finished pod is never announced again
    assert figures.scheduled_per_build == 1.0
