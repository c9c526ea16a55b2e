"""``kiln chaos --quick --output json``, run as a user runs it: under SIGKILLed workers, closed
broker connections and channels, failing Kubernetes API requests, a registry outage and duplicated
events, nothing is lost, nothing doubled, the final state equals the clean run's, and every bad
input ends somewhere it should.

Only this run's connections are closed (by their name prefix); the broker is not restarted
(``--quick`` leaves ``--broker-restart`` off).
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)
async def test_kiln_chaos_quick_loses_nothing_doubles_nothing_and_ends_in_the_clean_runs_state() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "chaos",
        "--quick",
        "--seed",
        "3",
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert out, err.decode(errors="replace")[-5000:]
    report = json.loads(out)

    assert process.returncode == 0, (report, err.decode(errors="replace")[-3000:])
    assert report["lost_triggers"] == 0
    assert report["duplicate_builds"] == 0
    assert report["state_equal"] is True
    assert report["bad_inputs_unhandled"] == 0
    assert report["bad_inputs"] >= 30
    [scenario] = report["scenarios"]
    assert scenario["workers_killed"] >= 1
    assert scenario["connections_closed"] >= 1
    assert scenario["api_faults"] > 0
    assert scenario["registry_downtime_seconds"] > 0
    assert scenario["duplicates_injected"] > 0
    assert scenario["broker_restarts"] == 0
    assert scenario["builds"] == scenario["reference"]["builds"] == 7
