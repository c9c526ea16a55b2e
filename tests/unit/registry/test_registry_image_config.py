"""What a builder image's config blob tells the build pod generator (spec §5.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.registry import config
from services.testbed.registry import builders as registry_builders


def _builder_blob(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "stack_id": "io.buildpacks.stacks.jammy",
        "run_image": "reg.io/run:base",
        "platform_apis": ["0.8", "0.9"],
        "buildpacks": [{"id": "paketo-buildpacks/go", "version": "4.1.0"}],
        "lifecycle_version": "0.17.2",
    }
    return registry_builders.builder_image_config(**{**arguments, **overrides})


def test_a_builder_config_round_trips_through_its_labels_and_env() -> None:
    image = config.image_config_from_blob(_builder_blob(uid=1001, gid=1002, os="linux"))

    assert image.stack_id == "io.buildpacks.stacks.jammy"
    assert image.run_image == "reg.io/run:base"
    assert image.platform_apis == ["0.8", "0.9"]
    assert (image.uid, image.gid, image.os) == (1001, 1002, "linux")
    assert image.lifecycle_version == "0.17.2"
    assert image.buildpacks == [config.BuilderBuildpack(id="paketo-buildpacks/go", version="4.1.0")]


def test_platform_apis_are_deprecated_then_supported_from_the_lifecycle_apis_label() -> None:
    blob = _builder_blob()
    apis = {"platform": {"deprecated": ["0.3"], "supported": ["0.7", "0.8"]}}
    blob["config"]["Labels"][config.LIFECYCLE_APIS_LABEL] = json.dumps(apis)

    assert config.image_config_from_blob(blob).platform_apis == ["0.3", "0.7", "0.8"]


def test_platform_apis_fall_back_to_the_builder_metadata_single_api() -> None:
    metadata = {"lifecycle": {"version": "0.9.0", "api": {"platform": "0.4", "buildpack": "0.2"}}}
    labels = {config.BUILDER_METADATA_LABEL: json.dumps(metadata)}

    image = config.image_config_from_blob({"os": "linux", "config": {"Labels": labels}})

    assert image.platform_apis == ["0.4"]


def test_an_image_without_buildpacks_labels_reads_as_empty() -> None:
    image = config.image_config_from_blob({"os": "windows", "config": {"Env": ["PATH=/bin"]}})

    assert (image.stack_id, image.run_image, image.platform_apis, image.uid) == ("", "", [], None)
    assert image.os == "windows"
    assert image.env == {"PATH": "/bin"}


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        pytest.param(
            {"config": {"Labels": {config.BUILDER_METADATA_LABEL: "{not json"}}},
            "io.buildpacks.builder.metadata is not valid JSON",
            id="builder metadata that is not JSON",
        ),
        pytest.param(
            {"config": {"Labels": {config.LIFECYCLE_APIS_LABEL: "[1]"}}},
            "io.buildpacks.lifecycle.apis is not a JSON object",
            id="lifecycle apis that are not an object",
        ),
        pytest.param(
            {"config": {"Env": ["CNB_USER_ID=root"]}},
            "CNB_USER_ID='root' is not an integer",
            id="a non-numeric uid",
        ),
        pytest.param(
            {"config": {"Labels": {config.BUILDER_METADATA_LABEL: '{"buildpacks": [{"version": "1"}]}'}}},
            "malformed buildpacks metadata",
            id="a buildpack without an id",
        ),
    ],
)
def test_malformed_builder_configs_are_permanent_errors(blob: dict[str, Any], message: str) -> None:
    with pytest.raises(config.ImageConfigError, match=message):
        config.image_config_from_blob(blob)


def test_image_config_is_frozen() -> None:
    image = config.image_config_from_blob(_builder_blob())

    with pytest.raises(ValueError, match="frozen"):
        image.stack_id = "other"  # type: ignore[misc]
