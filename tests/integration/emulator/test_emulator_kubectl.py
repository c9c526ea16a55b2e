"""Plain kubectl against the emulator: discovery, tables, client-side apply of kpack YAML."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import textwrap
from collections.abc import Callable

import pytest

from services.testbed.emulator import Emulator
from tests.integration.emulator import emulator_support as support

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)"
)
Kubectl = Callable[..., str]


@pytest.fixture
def kubectl(kubeconfig: pathlib.Path, tmp_path: pathlib.Path) -> Kubectl:
    def run(*args: str) -> str:
        assert KUBECTL is not None
        command = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr}"
        return done.stdout + done.stderr

    return run


def test_kubectl_gets_pods_and_pvcs(kubectl: Kubectl, emulator: Emulator, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "build-pod"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    emulator.create(pod, namespace=namespace)
    emulator.create(
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "cache"}},
        namespace=namespace,
    )

    pods = kubectl("get", "pods", "-n", namespace)
    pvcs = kubectl("get", "pvc", "-n", namespace)

    assert pods.split("\n")[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods.split("\n")[1].split()[:3] == ["build-pod", "0/1", "Pending"]
    assert pvcs.split("\n")[1].split()[:2] == ["cache", "Pending"]


def test_kubectl_gets_kpack_resources(kubectl: Kubectl, emulator: Emulator, namespace: str) -> None:
    builder = support.unique("cb")
    emulator.create(
        {"apiVersion": "kpack.io/v1alpha2", "kind": "ClusterBuilder", "metadata": {"name": builder}}
    )
    emulator.create(
        {"apiVersion": "kpack.io/v1alpha2", "kind": "Build", "metadata": {"name": "b-1"}}, namespace=namespace
    )

    images = kubectl("get", "images.kpack.io", "-n", namespace)
    builds = kubectl("get", "builds", "-n", namespace)
    builders = kubectl("get", "clusterbuilders")

    assert images.strip() == f"No resources found in {namespace} namespace."
    assert builds.split("\n")[0].split() == ["NAME", "LATESTIMAGE", "SUCCEEDED", "AGE"]
    assert builds.split("\n")[1].split()[0] == "b-1"
    assert builder in [line.split()[0] for line in builders.splitlines()[1:]]


def test_kubectl_applies_a_kpack_image_and_shows_it(
    kubectl: Kubectl, emulator: Emulator, namespace: str, tmp_path: pathlib.Path
) -> None:
    name = support.unique("app")
    manifest = tmp_path / "image.yaml"
    manifest.write_text(
        textwrap.dedent(f"""\
        apiVersion: kpack.io/v1alpha2
        kind: Image
        metadata:
          name: {name}
          namespace: {namespace}
        spec:
          tag: registry.example/app
          serviceAccountName: default
          builder:
            kind: ClusterBuilder
            name: default
          source:
            git:
              url: https://github.com/example/app
              revision: main
        """)
    )

    created = kubectl("apply", "--validate=false", "-f", str(manifest))
    manifest.write_text(manifest.read_text().replace("revision: main", "revision: v2"))
    configured = kubectl("apply", "--validate=false", "-f", str(manifest))
    listed = kubectl("get", "images.kpack.io", "-n", namespace)
    jsonpath = kubectl("get", "cnbimage", name, "-n", namespace, "-o", "jsonpath={.spec.source.git.revision}")

    assert created.strip() == f"image.kpack.io/{name} created"
    assert configured.strip() == f"image.kpack.io/{name} configured"
    assert listed.split("\n")[0].split() == ["NAME", "LATESTIMAGE", "READY", "AGE"]
    assert listed.split("\n")[1].split()[0] == name
    assert jsonpath == "v2"
    stored = emulator.get("images", name, namespace)
    assert stored is not None
    assert stored["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]
