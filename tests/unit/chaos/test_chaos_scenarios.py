"""Scenario files: every line a step, every bad line named with its number and what is wrong."""

from __future__ import annotations

import json

import pytest

from services.testbed.chaos import campaign, scenarios

HEADER = '{"op": "scenario", "name": "demo", "namespace": "demo-ns"}'
BUILDER = '{"op": "builder"}'


def parse(*lines: str) -> scenarios.Scenario:
    return scenarios.parse(lines, source="demo.jsonl")


def test_a_scenario_keeps_its_steps_in_order_and_passes_over_blank_and_comment_lines() -> None:
    scenario = parse(
        HEADER,
        "",
        "# two Images, then a push",
        BUILDER,
        '{"op": "image", "name": "app", "cache": "volume"}',
        '{"op": "quiesce", "seconds": 5}',
        '{"op": "git-push", "repository": "https://github.com/kiln-project/sample-go-app", "commit": 2}',
        '{"op": "trigger", "image": "app"}',
    )

    assert (scenario.name, scenario.namespace) == ("demo", "demo-ns")
    assert [step.op for step in scenario.steps] == ["builder", "image", "quiesce", "git-push", "trigger"]
    image = scenario.steps[1]
    assert isinstance(image, scenarios.Image)
    assert (image.cache, image.builder, image.branch) == ("volume", "default", "main")
    assert [index for index, _ in scenario.inputs] == [1, 3, 4]


def test_a_recorded_event_is_kept_in_its_saved_form_and_counted() -> None:
    event = {
        "specversion": "1.0",
        "id": "5d3c0b5e-0000-4000-8000-000000000001",
        "source": "/kiln/triggers",
        "type": "kiln.source.changed",
        "subject": "demo-ns/app",
        "time": "2026-12-06T16:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "namespace": "demo-ns",
            "image": "app",
            "url": "https://github.com/kiln-project/sample-go-app",
            "revision": "0" * 39 + "5",
        },
    }
    scenario = parse(
        HEADER, BUILDER, '{"op": "image", "name": "app"}', json.dumps({"op": "event", "event": event})
    )

    [_, _, recorded] = scenario.steps
    assert isinstance(recorded, scenarios.RecordedEvent)
    assert recorded.parsed().id == event["id"]
    assert scenario.recorded_events == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("{not json", "line 3: not JSON: Expecting property name", id="a line that is not JSON"),
        pytest.param("[1, 2]", "line 3: a JSON list, not an object", id="a JSON list"),
        pytest.param(
            '{"op": "explode"}', "line 3: op: 'explode' is not one of scenario, builder", id="an unknown op"
        ),
        pytest.param('{"name": "app"}', "line 3: op: missing", id="no op"),
        pytest.param('{"op": "image"}', "line 3: name: Field required", id="an Image without a name"),
        pytest.param(
            '{"op": "image", "name": "app", "cache": "disk"}',
            "line 3: cache: Input should be",
            id="an unknown cache",
        ),
        pytest.param(
            '{"op": "git-push", "repository": "r", "commit": 1}',
            "line 3: commit: Input should be greater than or equal to 2",
            id="a push of the first commit",
        ),
        pytest.param(
            '{"op": "image", "name": "app", "size": 3}', "line 3: size: Extra inputs", id="an unknown field"
        ),
        pytest.param(
            '{"op": "event", "event": {"type": "kiln.source.changed"}}',
            "line 3: event: ",
            id="an invalid event",
        ),
        pytest.param(
            '{"op": "trigger", "image": "other"}',
            "line 3: trigger: no Image 'other'",
            id="a trigger of no Image",
        ),
        pytest.param(
            '{"op": "image", "name": "app2", "builder": "b2"}',
            "line 3: image app2: no builder 'b2'",
            id="an unknown builder",
        ),
        pytest.param(HEADER, "line 3: the scenario header must be the first line", id="a second header"),
    ],
)
def test_a_bad_line_is_named_with_its_number_and_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(scenarios.ScenarioError) as refused:
        parse(HEADER, BUILDER, line)

    assert str(refused.value).startswith(f"demo.jsonl: {message}")
    assert [e.number for e in refused.value.errors] == [3]


def test_every_bad_line_is_reported_not_only_the_first() -> None:
    with pytest.raises(scenarios.ScenarioError) as refused:
        parse(HEADER, "{", BUILDER, '{"op": "quiesce", "seconds": 0}')

    assert [e.number for e in refused.value.errors] == [2, 4]


def test_a_file_without_a_header_is_refused() -> None:
    with pytest.raises(scenarios.ScenarioError, match="line 1: no header"):
        parse(BUILDER)


@pytest.mark.parametrize("name", campaign.bundled())
def test_the_bundled_scenarios_parse(name: str) -> None:
    scenario = campaign.load(name)

    assert scenario.name == name
    assert scenario.inputs
    assert isinstance(scenario.steps[-1], scenarios.Quiesce), "a scenario ends quiet"
