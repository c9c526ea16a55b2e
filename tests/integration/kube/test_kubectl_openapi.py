"""Real kubectl against the emulator's OpenAPI documents, as a user runs it against a cluster:
``kubectl apply`` with validation on (its default), ``--server-side``, ``kubectl explain``, and
what strict field validation refuses."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import subprocess
import uuid
from typing import Any

import pytest
import yaml

from contracts import crds
from services.testbed.emulator import Emulator

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)"
    ),
]


@dataclasses.dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


@dataclasses.dataclass(frozen=True)
class Kubectl:
    """kubectl with the emulator's kubeconfig and a cache directory of its own (the documents are
    fetched afresh, as by a new user)."""

    kubeconfig: pathlib.Path
    cache: pathlib.Path

    def __call__(self, *args: str, stdin: str | None = None) -> Done:
        assert KUBECTL is not None
        command = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args]
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)
        return Done(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self(*args, stdin=stdin)
        assert done.code == 0, f"kubectl {' '.join(args)} failed:\n{done.err}"
        return done.out


@pytest.fixture
def kubectl(emulator: Emulator, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(emulator.write_kubeconfig(tmp_path / "config"), tmp_path / "cache")


def image_yaml(name: str, namespace: str, *, metadata: Any = None, spec: Any = None) -> str:
    """A kpack Image as a user writes it, with ``metadata`` and ``spec`` fields added or replaced."""
    image = {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "metadata": {"name": name, "namespace": namespace, **(metadata or {})},
        "spec": {
            "tag": "registry.example/app",
            "serviceAccountName": "default",
            "builder": {"kind": "ClusterBuilder", "name": "default"},
            "source": {"git": {"url": "https://github.com/example/app", "revision": "main"}},
            **(spec or {}),
        },
    }
    return yaml.safe_dump(image, sort_keys=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_apply_with_validation_on_creates_then_configures_an_image(
    kubectl: Kubectl, emulator: Emulator, namespace: str
) -> None:
    name = unique("app")
    manifest = image_yaml(name, namespace, spec={"cache": {"volume": {"size": "2G"}}})

    created = kubectl.ok("apply", "-f", "-", stdin=manifest)
    configured = kubectl.ok("apply", "-f", "-", stdin=manifest.replace("revision: main", "revision: v2"))

    assert created.strip() == f"image.kpack.io/{name} created"
    assert configured.strip() == f"image.kpack.io/{name} configured"
    stored = emulator.get("images", name, namespace)
    assert stored is not None
    assert stored["spec"]["source"]["git"]["revision"] == "v2"
    assert stored["spec"]["cache"] == {"volume": {"size": "2G"}}


def test_server_side_apply_creates_an_image(kubectl: Kubectl, emulator: Emulator, namespace: str) -> None:
    name = unique("app")

    applied = kubectl.ok("apply", "--server-side", "-f", "-", stdin=image_yaml(name, namespace))

    assert applied.strip() == f"image.kpack.io/{name} serverside-applied"
    assert emulator.get("images", name, namespace) is not None


def test_explain_prints_the_cache_fields_description_from_the_crd(kubectl: Kubectl) -> None:
    deployed = crds.schema_of("Image", "v1alpha2")
    assert deployed is not None
    cache = deployed["properties"]["spec"]["properties"]["cache"]

    explained = kubectl.ok("explain", "image.spec.cache")

    assert "KIND:       Image" in explained
    assert "VERSION:    v1alpha2" in explained
    assert "FIELD: cache <Object>" in explained
    assert cache["description"] in " ".join(explained.split())
    fields = [line.split()[0] for line in explained.splitlines() if line.startswith("  ") and "\t" in line]
    assert fields == sorted(cache["properties"])


def test_explain_reads_the_older_version_when_asked(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "images.spec", "--api-version", "kpack.io/v1alpha1")

    assert "VERSION:    v1alpha1" in explained
    assert "cacheSize" in explained
    assert "  cache\t" not in explained


def test_explain_knows_the_core_kinds_kiln_uses(kubectl: Kubectl) -> None:
    explained = kubectl.ok("explain", "pod.spec.containers.imagePullPolicy")

    assert "KIND:       Pod" in explained
    assert "FIELD: imagePullPolicy <string>" in explained


def test_a_typo_in_metadata_is_refused_naming_it(
    kubectl: Kubectl, emulator: Emulator, namespace: str
) -> None:
    name = unique("app")

    refused = kubectl(
        "apply", "-f", "-", stdin=image_yaml(name, namespace, metadata={"lables": {"team": "a"}})
    )

    assert refused.code == 1
    assert refused.err.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Image in version "v1alpha2" '
        'cannot be handled as a Image: strict decoding error: unknown field "metadata.lables"'
    )
    assert emulator.get("images", name, namespace) is None


def test_a_typo_in_a_configmap_is_refused_naming_it(kubectl: Kubectl, namespace: str) -> None:
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {namespace}\ndta:\n  a: b\n"

    refused = kubectl("apply", "-f", "-", stdin=manifest)

    assert refused.code == 1
    assert 'strict decoding error: unknown field "dta"' in refused.err


def test_a_typo_is_refused_by_server_side_apply_too(kubectl: Kubectl, namespace: str) -> None:
    name = unique("app")
    manifest = image_yaml(name, namespace, metadata={"lables": {"team": "a"}})

    refused = kubectl("apply", "--server-side", "-f", "-", stdin=manifest)

    assert refused.code == 1
    assert ".metadata.lables: field not declared in schema" in refused.err


def test_a_wrong_type_is_refused_naming_the_field_and_type(
    kubectl: Kubectl, emulator: Emulator, namespace: str
) -> None:
    name = unique("app")

    refused = kubectl("apply", "-f", "-", stdin=image_yaml(name, namespace, spec={"tag": 5}))

    assert refused.code == 1
    assert refused.err.strip() == (
        f'The Image "{name}" is invalid: spec.tag: Invalid value: "integer": '
        'spec.tag in body must be of type string: "integer"'
    )
    assert emulator.get("images", name, namespace) is None


def test_a_field_kiln_does_not_model_under_spec_is_kept_as_a_cluster_with_kilns_crds_keeps_it(
    kubectl: Kubectl, emulator: Emulator, namespace: str
) -> None:
    name = unique("app")
    manifest = image_yaml(name, namespace, spec={"notary": {"v1": {"url": "x"}}})

    created = kubectl.ok("apply", "-f", "-", stdin=manifest)

    assert created.strip() == f"image.kpack.io/{name} created"
    stored = emulator.get("images", name, namespace)
    assert stored is not None
    assert stored["spec"]["notary"] == {"v1": {"url": "x"}}
