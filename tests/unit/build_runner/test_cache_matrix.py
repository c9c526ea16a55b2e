"""The cache argument matrix as pure functions (spec §5.6 [HEAD], §1.3 build predicates)."""

from __future__ import annotations

from typing import Any

import build_runner_cases as cases
import pytest

from services.build_runner import cache_args

REG_TAG = "-cache-image=test-cache-image"
REG_DIGEST = "-cache-image=test-cache-image@sha"
DIR = "-cache-dir=/cache"
MOUNT = [{"name": "cache-dir", "mountPath": "/cache"}]
PVC = [{"name": "cache-dir", "persistentVolumeClaim": {"claimName": "some-cache-name"}}]

MATRIX: list[tuple[Any, ...]] = [
    # case, analyze, restore, export, other steps, restore/export mounts, volume, CACHE_TAG
    ("a build without cache", [], [], [], [], [], [], ""),
    ("a build with an empty cache object", [], [], [], [], [], [], ""),
    ("a volume cache build with an empty claim name", [], [], [], [], [], [], ""),
    ("a registry cache with an empty tag only", [], [], [], [], [], [], ""),
    ("a volume cache build", [], [DIR], [DIR], [], MOUNT, PVC, ""),
    ("a registry cache with an empty tag beside a volume", [], [DIR], [DIR], [], MOUNT, PVC, ""),
    ("a build with both caches", [], [DIR], [DIR], [], MOUNT, PVC, "test-cache-image"),
    ("a registry cache first build", [REG_TAG], [REG_TAG], [REG_TAG], [], [], [], "test-cache-image"),
    (
        "a registry cache build with a pinned digest",
        [REG_DIGEST],
        [REG_DIGEST],
        [REG_TAG],
        [],
        [],
        [],
        "test-cache-image",
    ),
]
IDS = [
    "no cache object means no cache anywhere",
    "an empty cache object means no cache anywhere",
    "an empty claim name means no cache anywhere",
    "an empty registry tag means no cache anywhere",
    "a volume cache is read by restore and written by export on the claim",
    "an empty registry tag beside a volume is a volume cache",
    "a volume wins over a registry cache but CACHE_TAG still names the tag",
    "a first registry build reads and writes the tag",
    "a pinned digest is read by analyze and restore while export writes the tag",
]


@pytest.mark.parametrize(
    ("case", "analyze", "restore", "export", "others", "mounts", "volume", "cache_tag"), MATRIX, ids=IDS
)
def test_cache_matrix(
    case: str,
    analyze: list[str],
    restore: list[str],
    export: list[str],
    others: list[str],
    mounts: list[dict[str, str]],
    volume: list[dict[str, object]],
    cache_tag: str,
) -> None:
    build = cases.BUILDS[case]
    assert cache_args.cache_args_for_step("analyze", build) == analyze
    assert cache_args.cache_args_for_step("restore", build) == restore
    assert cache_args.cache_args_for_step("export", build) == export
    for step in ("prepare", "detect", "build", "completion"):
        assert cache_args.cache_args_for_step(step, build) == others
        assert cache_args.cache_mounts_for_step(step, build) == []
    assert cache_args.cache_mounts_for_step("analyze", build) == []
    assert cache_args.cache_mounts_for_step("restore", build) == mounts
    assert cache_args.cache_mounts_for_step("export", build) == mounts
    assert cache_args.cache_volume(build) == volume
    assert cache_args.cache_tag_env(build) == {"name": "CACHE_TAG", "value": cache_tag}


@pytest.mark.parametrize(
    ("last_build", "expected"),
    [
        (None, "test-cache-image"),
        ({}, "test-cache-image"),
        (cases.with_cache_digest(""), "test-cache-image"),
        (cases.with_cache_digest("reg.io/c@sha256:d1"), "reg.io/c@sha256:d1"),
    ],
    ids=[
        "without a last build the tag is read",
        "an empty last build reads the tag",
        "an empty pinned digest reads the tag",
        "a pinned digest is read",
    ],
)
def test_the_cache_image_to_read(last_build: dict[str, object] | None, expected: str) -> None:
    build = cases.make_build(cache=cases.REGISTRY_CACHE, lastBuild=last_build)
    assert cache_args.cache_image_to_read(build) == expected
