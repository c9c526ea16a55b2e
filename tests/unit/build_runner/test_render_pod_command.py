"""``kiln render-pod`` gives the pod the build-runner creates (kpack build_pod.go), whatever ``--now``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from services.cli import main

BUILDER = "registry.example.com/builder@sha256:" + "1" * 64
BUILD = {
    "apiVersion": "kpack.io/v1alpha2",
    "kind": "Build",
    "metadata": {
        "name": "app-build-3",
        "namespace": "default",
        "creationTimestamp": "1944-06-06T13:30:00Z",
        "labels": {"image.kpack.io/buildNumber": "3"},
    },
    "spec": {
        "tags": ["registry.example.com/team/app"],
        "builder": {"image": BUILDER, "imagePullSecrets": [{"name": "builder-pull"}]},
        "serviceAccountName": "default",
        "source": {"blob": {"url": "https://blobs.example.com/app.tgz", "auth": "helper"}},
        "resources": {"limits": {"cpu": "2"}},
    },
}
CONFIG = {
    "image": BUILDER,
    "stackId": "io.buildpacks.stacks.jammy",
    "runImage": "registry.example.com/run",
    "platformApis": ["0.9"],
}


def render(tmp_path: Path, *, now: str) -> dict[str, Any]:
    (tmp_path / "build.yaml").write_text(yaml.safe_dump(BUILD))
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    result = CliRunner().invoke(
        main.app,
        [
            "render-pod",
            str(tmp_path / "build.yaml"),
            "--builder-config",
            str(tmp_path / "config.json"),
            "--now",
            now,
            "-o",
            "json",
        ],
        catch_exceptions=False,
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    pod: dict[str, Any] = json.loads(result.stdout)
    return pod


def test_render_pod_gives_the_same_pod_at_any_time_with_kpacks_prepare(tmp_path: Path) -> None:
    first = render(tmp_path, now="2020-01-01T00:00:00Z")
    second = render(tmp_path, now="2031-07-08T09:10:11Z")
    assert first == second
    [prepare] = [c for c in first["spec"]["initContainers"] if c["name"] == "prepare"]
    [completion] = first["spec"]["containers"]
    assert (prepare["command"], prepare["resources"], prepare["args"]) == (
        ["/cnb/process/build-init"],
        {"limits": {"cpu": "2"}},
        ["-imagepull=builder-pull"],
    )
    assert {"name": "BLOB_AUTH", "value": "true"} in prepare["env"]
    assert completion["args"] == [
        "-cosign-annotations=buildTimestamp=19440606.133000",
        "-cosign-annotations=buildNumber=3",
    ]
