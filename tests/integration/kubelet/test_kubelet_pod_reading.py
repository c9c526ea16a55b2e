"""How the simulated kubelet reads a build pod: tags, cache flags, builder and run image (truth tables)."""

from __future__ import annotations

from typing import Any

import pytest

from services.testbed.kubelet import build_pods, failures


@pytest.mark.parametrize(
    ("args", "positional"),
    [
        (
            ["-layers=/layers", "-cache-image=r/c", "-report=/r.toml", "r/app", "r/app:1"],
            ["r/app", "r/app:1"],
        ),
        (
            ["--run-image", "r/run", "--last-built-image", "r/app@sha256:1", "--report", "x", "r/app"],
            ["r/app"],
        ),
        (["-layers=/layers"], []),
    ],
    ids=["export flags are -name=value", "rebase flags take the next argument", "no tags"],
)
def test_positional_arguments_are_the_tags(args: list[str], positional: list[str]) -> None:
    assert build_pods.positional_args(args) == positional


def _pod(**notes: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "labels": {"kpack.io/build": "b"}, "annotations": notes},
        "spec": {
            "initContainers": [
                {"name": "prepare", "env": [{"name": "BUILDER_IMAGE", "value": "r/builder@sha256:1"}]},
                {"name": "analyze", "image": "r/other", "args": ["-cache-image=r/c@sha256:2", "r/app"]},
                {"name": "export", "args": ["-cache-dir=/cache", "-report=/r", "r/app", "r/app:2"]},
            ],
            "containers": [{"name": "completion", "env": [{"name": "CACHE_TAG", "value": "r/c:cache"}]}],
        },
    }


def test_a_build_pod_is_read_for_tags_cache_and_builder() -> None:
    pod = _pod()

    assert build_pods.tags(pod) == ["r/app", "r/app:2"]
    assert build_pods.cache_tag(pod) == "r/c:cache"
    assert build_pods.builder_image(pod) == "r/builder@sha256:1"
    assert build_pods.cache_args(build_pods.container(pod, "analyze")) == ["-cache-image=r/c@sha256:2"]
    assert build_pods.build_name(pod) == "b"
    assert build_pods.is_unstarted(pod)
    assert not build_pods.is_unstarted({**pod, "status": {"phase": "Running"}})


@pytest.mark.parametrize(
    ("notes", "failure"),
    [
        ({}, None),
        ({failures.FAIL_AT_ANNOTATION: "detect"}, failures.Failure(step="detect")),
        (
            {failures.FAIL_AT_ANNOTATION: "export", failures.FAIL_MESSAGE_ANNOTATION: "denied"},
            failures.Failure(step="export", message="denied"),
        ),
    ],
    ids=["no annotation: success", "fail-at alone: default message", "fail-at with a message"],
)
def test_annotations_decide_the_failure(notes: dict[str, str], failure: failures.Failure | None) -> None:
    assert failures.from_annotations(_pod(**notes)) == failure
