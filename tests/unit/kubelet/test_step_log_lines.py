"""The lines each simulated step prints, from what its pod says (truth tables)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts import builds
from services.registry import config as registry_config
from services.testbed.kubelet import step_logs

TAG = "registry.example/app"
RUN = "registry.example/run@sha256:" + "2" * 64
LAST = "registry.example/app@sha256:" + "1" * 64
BUILDER = registry_config.ImageConfig(
    buildpacks=[registry_config.BuilderBuildpack(id="paketo-buildpacks/go", version="4.1.0")]
)


def pod(
    *,
    env: dict[str, str] | None = None,
    restore: list[str] | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, Any]:
    values = [{"name": k, "value": v} for k, v in (env or {}).items()]
    return {
        "metadata": {"annotations": notes or {}},
        "spec": {
            "initContainers": [
                {"name": "prepare", "env": values},
                {"name": "restore", "args": ["-layers=/layers", *(restore or [])]},
                {"name": "export", "args": ["-layers=/layers", TAG, f"{TAG}:b1"]},
            ],
            "containers": [{"name": "completion"}],
        },
    }


REBASE_POD = {
    "metadata": {},
    "spec": {
        "initContainers": [
            {
                "name": "rebase",
                "args": ["--run-image", RUN, "--last-built-image", LAST, "--report", "/r", TAG],
            }
        ]
    },
}


@pytest.mark.parametrize(
    ("given", "step", "lines"),
    [
        (
            pod(
                env={"GIT_URL": "https://git.example/app", "GIT_REVISION": "abc"},
                notes={
                    builds.REASON_ANNOTATION: "COMMIT,TRIGGER",
                    builds.CHANGES_ANNOTATION: json.dumps(
                        [
                            {"reason": "COMMIT", "old": "aaa", "new": "abc"},
                            {"reason": "TRIGGER", "old": "", "new": "A new build was manually triggered"},
                        ]
                    ),
                },
            ),
            "prepare",
            [
                "Build reason(s): COMMIT,TRIGGER",
                "COMMIT: aaa -> abc",
                "TRIGGER: A new build was manually triggered",
                'Cloning "https://git.example/app" @ "abc"...',
                'Successfully cloned "https://git.example/app" @ "abc" in path "/workspace"',
            ],
        ),
        (
            pod(env={"BLOB_URL": "https://blob.example/app.tgz"}),
            "prepare",
            [
                "Build reason(s): none given",
                'Downloading "https://blob.example/app.tgz"...',
                'Successfully downloaded "https://blob.example/app.tgz" in path "/workspace"',
            ],
        ),
        (
            pod(restore=["-cache-image=registry.example/cache@sha256:9"]),
            "restore",
            ['Restoring data from cache image "registry.example/cache@sha256:9"'],
        ),
        (pod(restore=["-cache-dir=/cache"]), "restore", ['Restoring data from cache volume "/cache"']),
        (pod(), "restore", ["No cached data will be used, no cache specified."]),
        (pod(), "detect", ["1 of 1 buildpacks participating", "paketo-buildpacks/go 4.1.0"]),
        (REBASE_POD, "rebase", [f'Rebasing "{LAST}" on run image "{RUN}"']),
        (pod(), "completion", ["Build successful"]),
    ],
    ids=[
        "prepare gives the reasons, each change, and the clone of the git source",
        "a blob source is downloaded",
        "restore reads the cache image it was given",
        "restore reads the cache volume",
        "restore without a cache says so, as the lifecycle does",
        "detect lists the builder's buildpacks",
        "rebase names the image it rebases and the run image",
        "completion reports success",
    ],
)
def test_what_a_step_prints_as_it_starts(given: dict[str, Any], step: str, lines: list[str]) -> None:
    assert step_logs.opening(given, step, builder=BUILDER) == lines


def test_the_image_step_ends_with_the_tags_and_the_digest_it_wrote() -> None:
    digest = "sha256:" + "ab" * 32
    assert step_logs.pushed(
        pod(), image_digest=digest, cache_tag="registry.example/cache", cache_digest="sha256:9"
    ) == [
        "*** Images (abababababab):",
        f"      {TAG}",
        f"      {TAG}:b1",
        'Saving cache image "registry.example/cache" (sha256:9)',
        f"*** Digest: {digest}",
    ]
