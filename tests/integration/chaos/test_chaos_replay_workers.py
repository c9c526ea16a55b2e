"""Replaying a recorded scenario gives the same final state whatever runs it: one worker per
service, three, or one with the run's own events published again (same ids) in the middle.

The scenario is the bundled ``recorded-events``: two Images, source.changed events recorded by
``kiln events export`` in an earlier run replayed (one of them twice), and a live push. Real
broker, real registry (behind the run's proxy), the Kubernetes emulator, the services as ``kiln
run`` processes and the simulated kubelet.
"""

from __future__ import annotations

import pytest

from services.testbed.chaos import campaign, figures, injecting, system

pytestmark = pytest.mark.integration
SCENARIO = "recorded-events"


@pytest.mark.timeout(900)
async def test_a_recorded_scenario_ends_in_the_same_state_with_one_or_three_workers_and_with_duplicates() -> (
    None
):
    scenario = campaign.load(SCENARIO)
    expected = figures.expected_effects(scenario)

    one = await campaign.run(scenario, workers=system.layout(1))
    three = await campaign.run(scenario, workers=system.layout(3), reference=one, label="three workers")
    doubled = await campaign.run(
        scenario,
        workers=system.layout(1),
        plan=injecting.Plan(duplicate_rounds=3, duplicate_share=0.5),
        seed=7,
        reference=one,
        label="duplicates",
    )

    assert one.figures.events_replayed == 3
    assert (one.figures.lost_triggers, one.figures.duplicate_builds) == ((), ())
    assert one.figures.builds == len(expected) == 6
    for other in (three, doubled):
        assert other.figures.differences == ()
        assert other.figures.state_equal is True
        assert (other.figures.lost_triggers, other.figures.duplicate_builds) == ((), ())
        assert other.figures.quiet
    assert doubled.figures.duplicates_injected >= 3
    kinds = {(d["kind"], d["metadata"]["name"]) for d in one.state}
    assert ("Build", "billing-build-2") in kinds
    assert ("PersistentVolumeClaim", "reports-cache") in kinds
