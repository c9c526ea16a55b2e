"""The ``--builder-config`` file of ``kiln render-pod``."""

from __future__ import annotations

import pydantic
import pytest

from contracts import builder_images

DOCUMENT = {
    "image": "reg.io/builder@sha256:abc",
    "stackId": "io.buildpacks.stacks.jammy",
    "runImage": "reg.io/run",
    "platformApis": ["0.7", "0.8"],
    "uid": 1001,
    "gid": 1002,
    "os": "linux",
}


def test_the_config_file_reads_and_writes_camel_case() -> None:
    config = builder_images.BuilderImageConfig.model_validate(DOCUMENT)
    assert (config.stack_id, config.run_image, config.platform_apis) == (
        "io.buildpacks.stacks.jammy",
        "reg.io/run",
        ["0.7", "0.8"],
    )
    assert config.model_dump(exclude_none=True) == DOCUMENT


def test_defaults_are_a_linux_builder_run_as_1000() -> None:
    config = builder_images.BuilderImageConfig(image="b")
    assert (config.uid, config.gid, config.os, config.platform_apis, config.lifecycle_version) == (
        1000,
        1000,
        "linux",
        [],
        None,
    )


@pytest.mark.parametrize(
    "document",
    [
        {**DOCUMENT, "stackID": "x"},
        {k: v for k, v in DOCUMENT.items() if k != "image"},
        {**DOCUMENT, "uid": "me"},
    ],
    ids=["an unknown key is refused", "the builder image is required", "a uid must be a number"],
)
def test_invalid_config_files_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        builder_images.BuilderImageConfig.model_validate(document)


def test_the_config_is_frozen() -> None:
    config = builder_images.BuilderImageConfig(image="b")
    with pytest.raises(pydantic.ValidationError):
        config.os = "windows"  # type: ignore[misc]
