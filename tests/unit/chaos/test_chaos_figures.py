"""Lost triggers and duplicate Builds, counted from the scenario and the Builds a run ended with."""

from __future__ import annotations

import json
from typing import Any

from services.testbed.chaos import figures, scenarios
from services.testbed.sandbox import examples

REPO = "https://github.com/kiln-chaos/shop"
SCENARIO = scenarios.parse(
    [
        '{"op": "scenario", "name": "s", "namespace": "ns"}',
        '{"op": "builder"}',
        f'{{"op": "image", "name": "a", "repository": "{REPO}"}}',
        f'{{"op": "image", "name": "b", "repository": "{REPO}.git"}}',
        '{"op": "image", "name": "c", "repository": "https://github.com/kiln-chaos/other"}',
        '{"op": "quiesce"}',
        f'{{"op": "git-push", "repository": "{REPO}", "commit": 2}}',
        '{"op": "quiesce"}',
        '{"op": "trigger", "image": "c"}',
        '{"op": "builder-update", "buildpacks": [{"id": "x", "version": "2"}]}',
        '{"op": "quiesce"}',
    ]
)


def build(
    image: str, number: int, reason: str, revision: str = "main", builder: str = "b@1"
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{image}-build-{number}",
            "labels": {"image.kpack.io/image": image, "image.kpack.io/buildNumber": str(number)},
            "annotations": {"image.kpack.io/reason": reason},
        },
        "spec": {"source": {"git": {"revision": revision}}, "builder": {"image": builder}},
    }


def test_the_effects_of_a_scenario_follow_its_inputs() -> None:
    effects = [(e.step, e.image, e.reason, e.revision) for e in figures.expected_effects(SCENARIO)]

    commit = examples.commit(2)
    assert effects == [
        (1, "a", "CONFIG", None),
        (2, "b", "CONFIG", None),
        (3, "c", "CONFIG", None),
        (5, "a", "COMMIT", commit),
        (5, "b", "COMMIT", commit),
        (7, "c", "TRIGGER", None),
        (8, "a", "BUILDPACK", None),
        (8, "b", "BUILDPACK", None),
        (8, "c", "BUILDPACK", None),
    ]


def every_build() -> list[dict[str, Any]]:
    commit = examples.commit(2)
    return [
        build("a", 1, "CONFIG"),
        build("b", 1, "CONFIG"),
        build("c", 1, "CONFIG"),
        build("a", 2, "COMMIT", commit),
        build("b", 2, "COMMIT", commit),
        build("c", 2, "TRIGGER"),
        build("a", 3, "BUILDPACK", commit, "b@2"),
        build("b", 3, "BUILDPACK", commit, "b@2"),
        build("c", 3, "BUILDPACK,TRIGGER", "main", "b@2"),
    ]


def test_nothing_is_lost_or_doubled_when_every_input_has_its_build() -> None:
    effects = figures.expected_effects(SCENARIO)

    assert figures.lost_triggers(effects, every_build()) == []
    assert figures.duplicate_builds(every_build()) == []


def test_an_input_without_its_build_is_a_lost_trigger() -> None:
    found = [b for b in every_build() if b["metadata"]["name"] != "b-build-2"]

    lost = figures.lost_triggers(figures.expected_effects(SCENARIO), found)

    assert [str(e) for e in lost] == [f"step 6: COMMIT build of b at {examples.commit(2)[:12]}"]


def test_a_build_of_another_commit_does_not_stand_for_the_pushed_one() -> None:
    found = [b for b in every_build() if b["metadata"]["name"] != "a-build-2"]
    found.append(build("a", 2, "COMMIT", examples.commit(9)))

    lost = figures.lost_triggers(figures.expected_effects(SCENARIO), found)

    assert [(e.image, e.reason) for e in lost] == [("a", "COMMIT")]


def test_a_second_build_for_one_trigger_is_a_duplicate() -> None:
    found = [*every_build(), build("a", 4, "COMMIT", examples.commit(2))]

    assert figures.duplicate_builds(found) == ["a-build-4"]


def test_the_report_totals_both_runs_and_fails_on_an_unequal_state() -> None:
    clean = figures.RunFigures(scenario="s", run="clean", seconds=1.0)
    chaos = figures.RunFigures(
        scenario="s",
        run="chaos",
        seconds=2.0,
        workers_killed=2,
        lost_triggers=("step 6: …",),
        state_equal=False,
        bad_inputs=(figures.BadInput("event", "x", "unhandled", "still queued"),),
    )

    report = figures.report([(clean, chaos)], seed=3, seconds=3.0)

    assert report["lost_triggers"] == 1
    assert report["state_equal"] is False
    assert report["bad_inputs"] == 1
    assert report["bad_inputs_unhandled"] == 1
    assert report["ok"] is False
    [entry] = report["scenarios"]
    assert entry["workers_killed"] == 2
    assert entry["reference"]["run"] == "clean"
    assert figures.report(
        [(clean, figures.RunFigures(scenario="s", run="chaos", seconds=1, state_equal=True))],
        seed=3,
        seconds=1,
    )["ok"]


def test_an_event_recorded_twice_with_one_id_is_one_trigger() -> None:
    event = {
        "specversion": "1.0",
        "id": "5d3c0b5e-0000-4000-8000-000000000001",
        "source": "/kiln/triggers",
        "type": "kiln.source.changed",
        "subject": "ns/a",
        "time": "2026-12-06T16:00:00Z",
        "datacontenttype": "application/json",
        "data": {"namespace": "ns", "image": "a", "url": REPO, "revision": examples.commit(5)},
    }
    line = json.dumps({"op": "event", "event": event})
    scenario = scenarios.parse(
        [
            '{"op": "scenario", "name": "s", "namespace": "ns"}',
            '{"op": "builder"}',
            f'{{"op": "image", "name": "a", "repository": "{REPO}"}}',
            line,
            line,
        ]
    )

    effects = [(e.image, e.reason, e.revision) for e in figures.expected_effects(scenario)]

    assert effects == [("a", "CONFIG", None), ("a", "COMMIT", examples.commit(5))]
