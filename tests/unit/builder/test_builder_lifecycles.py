"""ClusterLifecycles resolved from their image (spec §2.4, checklist 9; kpack remote_lifecycle_reader_test.go)."""

from __future__ import annotations

from typing import Any

import builder_fixtures as fx
import pytest

from services.builder import lifecycles
from services.builder.problems import BuilderProblem

LIFECYCLE_TAG = "gcr.io/image/lifecycle"
METADATA = "io.buildpacks.builder.metadata"
APIS = "io.buildpacks.lifecycle.apis"
KPACK_METADATA = '{"lifecycle":{"version":"some-version"},"api":{"buildpack":"0.7","platform":"0.7"}}'
KPACK_APIS = (
    '{"buildpack":{"deprecated":[],"supported":["0.7","0.8","0.9","0.10","0.11"]},'
    '"platform":{"deprecated":[],"supported":["0.7","0.8","0.9","0.10","0.11","0.12","0.13"]}}'
)


def lifecycle_image(**labels: str) -> Any:
    return fx.image(
        repository="gcr.io/image/lifecycle", labels=labels, layers=[(fx.sha("c"), fx.sha("3"), 9)]
    )


def test_returns_the_lifecycle_metadata_kpack_reads() -> None:
    image = lifecycle_image(**{METADATA: KPACK_METADATA, APIS: KPACK_APIS})
    resolved = lifecycles.resolve_lifecycle(LIFECYCLE_TAG, image)
    assert resolved.dump() == {
        "image": {"latestImage": f"gcr.io/image/lifecycle@{image.digest}", "image": LIFECYCLE_TAG},
        "version": "some-version",
        "api": {"buildpack": "0.7", "platform": "0.7"},
        "apis": {
            "buildpack": {"deprecated": None, "supported": ["0.7", "0.8", "0.9", "0.10", "0.11"]},
            "platform": {
                "deprecated": None,
                "supported": ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13"],
            },
        },
    }


@pytest.mark.parametrize(
    ("metadata", "apis", "expected"),
    [
        pytest.param(
            "{}",
            "{}",
            {
                "api": {},
                "apis": {
                    "buildpack": {"deprecated": None, "supported": None},
                    "platform": {"deprecated": None, "supported": None},
                },
            },
            id="empty labels give an empty api and null API lists, without a version",
        ),
        pytest.param(
            '{"lifecycle": {"version": "0.20.1"}, "apis": {"buildpack": {"supported": ["9.9"]}}}',
            '{"buildpack": {"deprecated": ["0.2"], "supported": null}, "Platform": {"Supported": ["0.13"]}}',
            {
                "version": "0.20.1",
                "api": {},
                "apis": {
                    "buildpack": {"deprecated": ["0.2"], "supported": None},
                    "platform": {"deprecated": None, "supported": ["0.13"]},
                },
            },
            id="the APIs come from the apis label only, keys matched case-insensitively",
        ),
    ],
)
def test_what_partial_labels_give(metadata: str, apis: str, expected: dict[str, Any]) -> None:
    resolved = lifecycles.resolve_lifecycle(
        LIFECYCLE_TAG, lifecycle_image(**{METADATA: metadata, APIS: apis})
    )
    assert {key: value for key, value in resolved.dump().items() if key != "image"} == expected


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        pytest.param(
            {APIS: KPACK_APIS},
            "could not find label io.buildpacks.builder.metadata",
            id="no builder metadata",
        ),
        pytest.param(
            {METADATA: KPACK_METADATA},
            "could not find label io.buildpacks.lifecycle.apis",
            id="no apis label",
        ),
        pytest.param(
            {}, "could not find label io.buildpacks.builder.metadata", id="neither label: the metadata first"
        ),
        pytest.param(
            {METADATA: "not json", APIS: KPACK_APIS},
            "invalid character 'o' in literal null (expecting 'u')",
            id="builder metadata that is not JSON",
        ),
        pytest.param(
            {METADATA: KPACK_METADATA, APIS: '{"buildpack": {"supported": "0.7"}}'},
            "json: cannot unmarshal string into Go struct field APIVersions.buildpack.supported of type cnb.APISet",
            id="an API list that is a string",
        ),
        pytest.param(
            {METADATA: '{"lifecycle": {"version": 17}}', APIS: KPACK_APIS},
            "json: cannot unmarshal number into Go struct field LifecycleInfo.lifecycle.version of type string",
            id="a version that is a number",
        ),
        pytest.param(
            {METADATA: '{"apis": {"platform": []}}', APIS: KPACK_APIS},
            "json: cannot unmarshal array into Go struct field LifecycleAPIs.apis.platform of type cnb.APIVersions",
            id="the metadata label's own apis are decoded too",
        ),
        pytest.param(
            {METADATA: KPACK_METADATA, APIS: "[]"},
            "json: cannot unmarshal array into Go value of type cnb.LifecycleAPIs",
            id="an apis label that is a list",
        ),
    ],
)
def test_lifecycles_that_do_not_resolve(labels: dict[str, str], message: str) -> None:
    with pytest.raises(BuilderProblem) as problem:
        lifecycles.resolve_lifecycle(LIFECYCLE_TAG, lifecycle_image(**labels))
    assert str(problem.value) == message
