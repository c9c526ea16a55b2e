"""``kiln bench --quick --output json`` as a user runs it: one JSON object on stdout with every
figure issue 12 asks for, each measured (figures only; no timed pass/fail thresholds)."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

pytestmark = pytest.mark.integration

ISSUE_KEYS = (
    "raw_roundtrip_per_s",
    "e2e_triggers_per_s",
    "hops",
    "ratio",
    "k8s_reads_per_build",
    "k8s_writes_per_build",
    "scale_ratio_100_vs_10000",
    "rss_mb_10000",
    "resync_s_10000",
    "p50_ms",
    "p99_ms",
    "e2e_triggers_per_s_2_reconcilers",
    "p50_ms_2_reconcilers",
    "p99_ms_2_reconcilers",
    "images_large",
)


@pytest.mark.timeout(1200)
async def test_the_quick_bench_prints_one_json_object_of_measured_figures() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "bench",
        "--quick",
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(1100):
        out, err = await process.communicate()

    assert process.returncode == 0, err.decode()[-3000:]
    figures = json.loads(out)  # exactly one JSON document: the progress went to stderr
    for key in ISSUE_KEYS:
        assert type(figures[key]) in (int, float), f"{key}: {figures[key]!r}"
        assert figures[key] > 0 or key == "k8s_reads_per_build", key
    # the watch caches answer the hot path's reads: a read per build is the most a busy run may
    # add (a cache behind an event's version reads that object)
    assert 0 <= figures["k8s_reads_per_build"] <= 1
    assert figures["quick"] is True
    assert figures["images_large"] == 280
    # a push reaches its pods through at least the reconciler and the build-runner
    assert figures["hops"] >= 2
    assert {"image-reconciler", "build-runner"} <= set(figures["hops_by_service"])
    # a whole build takes more deliveries than the trigger's path to its pod
    assert figures["deliveries_per_build"] > figures["hops"]
    # requests are attributed to the process (service) that made them
    assert {"image-reconciler", "build-runner", "image-state"} <= set(figures["k8s_requests_by_service"])
    assert figures["k8s_requests_by_service"]["build-runner"]["create Pod"] == 1.0
    # both reconciler processes took part in the two-reconciler run
    assert len(figures["reconciler_deliveries_2_reconcilers"]) == 2
    assert min(figures["reconciler_deliveries_2_reconcilers"]) > 0
    assert figures["p50_ms"] <= figures["p99_ms"]
    assert "bench: raw round trip" in err.decode()
