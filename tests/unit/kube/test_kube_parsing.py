"""What is wrong with an object that does not fit its model, worded as kpack's field errors, and
reported once per object and problem."""

from __future__ import annotations

import logging
from typing import Any

import pydantic
import pytest

from contracts import events, images
from services.kube import parsing


def _problems(model: type[pydantic.BaseModel], raw: dict[str, Any]) -> str:
    with pytest.raises(pydantic.ValidationError) as raised:
        model.model_validate(raw)
    return str(parsing.problems(raw=raw, error=raised.value))


def _image(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "app", "namespace": "ns"}, "spec": {"tag": "registry.example/app", **spec}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"imageTaggingStrategy": "buildNumber"},
            "invalid value: buildNumber: spec.imageTaggingStrategy\nmust be one of 'None', 'BuildNumber' or ''",
            id="a value outside an enum names the allowed values",
        ),
        pytest.param(
            {"builder": {"name": 42}},
            "invalid value: 42: spec.builder.name\nmust be a string",
            id="a number for a string names the type",
        ),
        pytest.param(
            {"builder": "default"},
            "invalid value: default: spec.builder\nmust be an object",
            id="a string for an object",
        ),
        pytest.param(
            {"additionalTags": ["a", 3]},
            "invalid value: 3: spec.additionalTags[1]\nmust be a string",
            id="a list item is indexed as kpack prints it",
        ),
        pytest.param(
            {"cache": {"volume": {"size": [2]}}},
            "invalid value: [2]: spec.cache.volume.size\nmust be a string or an integer",
            id="a union is one error listing each type",
        ),
        pytest.param(
            {"failedBuildHistoryLimit": "many"},
            "invalid value: many: spec.failedBuildHistoryLimit\nmust be an integer",
            id="an integer that does not parse",
        ),
        pytest.param(
            {"source": {"git": {"initializeSubmodules": "perhaps"}}},
            "invalid value: perhaps: spec.source.git.initializeSubmodules\nmust be true or false",
            id="a boolean that does not parse",
        ),
        pytest.param(
            {"additionalTags": "registry.example/app:v1"},
            "invalid value: registry.example/app:v1: spec.additionalTags\nmust be a list",
            id="a string for a list",
        ),
        pytest.param(
            {"builder": {"name": {"key": "x" * 100}}},
            'invalid value: {"key":"' + "x" * 71 + "…: spec.builder.name\nmust be a string",
            id="a long value is shortened",
        ),
    ],
)
def test_a_mistyped_image_field_is_named_with_its_fix(spec: dict[str, Any], expected: str) -> None:
    assert _problems(images.Image, _image(**spec)) == expected


def test_missing_fields_and_several_problems_are_listed_together() -> None:
    raw = _image(imageTaggingStrategy="x")
    raw["status"] = {"conditions": [{"status": "True"}, {"status": "True"}]}

    assert _problems(images.Image, raw).splitlines() == [
        "invalid value: x: spec.imageTaggingStrategy",
        "must be one of 'None', 'BuildNumber' or ''",
        "missing field(s): status.conditions[0].type, status.conditions[1].type",
    ]


def test_another_constraint_is_worded_from_pydantic() -> None:
    assert _problems(events.ImageChanged, {"namespace": "ns", "name": "app", "generation": -1}) == (
        "invalid value: -1: generation\nmust be greater than or equal to 0"
    )


def _unparsed(*, uid: str = "u1", value: str = "buildNumber", **metadata: Any) -> parsing.Unparsed:
    raw = _image(imageTaggingStrategy=value)
    raw["metadata"].update(uid=uid, **metadata)
    with pytest.raises(pydantic.ValidationError) as raised:
        images.Image.model_validate(raw)
    return parsing.Unparsed(kind="Image", raw=raw, problems=parsing.problems(raised.value, raw))


def test_an_unparsed_object_is_known_by_its_raw_metadata() -> None:
    unparsed = _unparsed(resourceVersion="12", generation=2, labels={"team": "a"}, deletionTimestamp="now")

    assert (unparsed.key, unparsed.resource_version, unparsed.generation) == ("ns/app", "12", 2)
    assert (unparsed.labels, unparsed.deletion_timestamp) == ({"team": "a"}, "now")
    assert unparsed.describe() == (
        "Image ns/app (resourceVersion 12) does not fit its schema: "
        "invalid value: buildNumber: spec.imageTaggingStrategy; must be one of 'None', 'BuildNumber' or ''"
    )


def test_an_unparsed_object_with_odd_metadata_still_has_a_key() -> None:
    unparsed = parsing.Unparsed(
        kind="ClusterBuilder",
        raw={"metadata": {"name": "b", "generation": "2", "labels": "x"}},
        problems=parsing.problems(pydantic.ValidationError.from_exception_data("x", []), {}),
    )
    nameless = parsing.Unparsed(kind="Image", raw={"metadata": "x"}, problems=unparsed.problems)

    assert (unparsed.key, unparsed.generation, unparsed.labels, unparsed.deletion_timestamp) == (
        "b",
        None,
        {},
        None,
    )
    assert unparsed.message == "does not validate: "
    assert nameless.describe().startswith("Image  (resourceVersion ?)")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_the_skip_log_warns_once_per_object_and_problem(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=parsing.__name__)
    skips = parsing.SkipLog(size=2)

    skips.skipped(_unparsed(resourceVersion="1"), where="a list")
    skips.skipped(_unparsed(resourceVersion="2"), where="a watch")  # a status write: same problem
    skips.skipped(_unparsed(value="other"), where="a watch")  # a new problem
    skips.skipped(_unparsed(value="other", uid="u2"), where="a watch")  # a new object of that name
    skips.forget(_unparsed())
    skips.skipped(_unparsed(value="other", uid="u2"), where="a list")  # gone, then back

    assert len(_warnings(caplog)) == 4
    assert "skipped in a list until it is fixed" in _warnings(caplog)[0]
    assert [r.levelno for r in caplog.records].count(logging.DEBUG) == 1


def test_the_skip_log_forgets_the_oldest_beyond_its_size(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=parsing.__name__)
    skips = parsing.SkipLog(size=1)
    first, second = _unparsed(), _unparsed()
    second.raw["metadata"]["name"] = "other"

    for unparsed in (first, second, first):
        skips.skipped(unparsed, where="a list")

    assert len(_warnings(caplog)) == 3
