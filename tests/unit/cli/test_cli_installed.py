"""The installed ``kiln`` entry point (``pip install -e .``), run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from contracts import events

FIXTURES = Path(__file__).parent / "fixtures"
KILN = shutil.which("kiln")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``kiln ARGS`` in the fixtures directory, with typer's plain (not boxed) error output."""
    assert KILN is not None, "kiln is not on PATH: run `pip install -e .`"
    env = os.environ | {"TYPER_USE_RICH": "0"}
    return subprocess.run(
        [KILN, *args], cwd=FIXTURES, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_installed_kiln_validates_and_prints_the_defaulted_image() -> None:
    done = run("validate", "image-no-cache.yaml", "--default-storage-class", "--output", "json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["spec"]["cache"] == {"volume": {"size": "2G"}}


def test_installed_kiln_exits_1_with_kpacks_messages_on_stderr() -> None:
    done = run("validate", "image-both-caches.yaml")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "only one type of cache can be specified: spec.cache.registry, spec.cache.volume",
        "spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName"
        " or a default StorageClass: ",
    ]


def test_installed_kiln_exits_2_on_a_usage_error() -> None:
    done = run("convert", "image.yaml", "--to", "v1")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Usage: kiln convert [OPTIONS] {file}\n"
        "Try 'kiln convert --help' for help.\n"
        "\n"
        "Error: Invalid value for --to: expected one of kpack.io/v1alpha1, kpack.io/v1alpha2\n"
    )


def test_installed_kiln_plans_a_commit_build_from_the_last_cache_image() -> None:
    done = run(
        "plan",
        "image.yaml",
        "--builder",
        "cluster-builder.yaml",
        "--source-resolver",
        "source-resolver.yaml",
        "--builds",
        "builds.yaml",
        "--now",
        "2026-11-28T12:00:00Z",
    )
    assert (done.returncode, done.stderr) == (0, "")
    document = yaml.safe_load(done.stdout)
    assert (document["reasons"], document["build"]["metadata"]["name"]) == (["COMMIT"], "app-build-2")
    assert document["build"]["spec"]["lastBuild"]["cache"] == {
        "image": "registry.example.com/team/app-cache@sha256:" + "4" * 64
    }


def test_installed_kiln_prints_the_event_schema() -> None:
    done = run("schema")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == events.json_schema()
