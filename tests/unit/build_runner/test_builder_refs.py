"""A Build naming its builder by ``spec.builder.ref`` (kpack ``pkg/buildpod/generator.go``
``resolveBuilderRef``: the referenced builder's ``status.latestImage``, read with the keychain of
the builder's own service account)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import builders, builds
from services.build_runner import builder_refs, pods

IMAGE = "registry.io/builder@sha256:" + "4" * 64
READY = {"conditions": [{"type": "Ready", "status": "True"}], "latestImage": IMAGE}


def build(ref: dict[str, Any] | None, *, service_account: str | None = None) -> builds.Build:
    spec: dict[str, Any] = {"tags": ["registry.io/app"], "builder": {"ref": ref} if ref is not None else {}}
    if service_account:
        spec["serviceAccountName"] = service_account
    return builds.Build.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Build",
            "metadata": {"name": "b", "namespace": "apps"},
            "spec": spec,
        }
    )


def builder(
    kind: str, *, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None
) -> builders.Builder:
    metadata: dict[str, Any] = {"name": "the-builder", "generation": 1}
    if kind == builders.BUILDER:
        metadata["namespace"] = "apps"
    return builders.Builder.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": kind,
            "metadata": metadata,
            "spec": spec or {},
            "status": {"observedGeneration": 1, **(READY if status is None else status)},
        }
    )


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ({"kind": "ClusterBuilder", "name": "the-builder"}, ("ClusterBuilder", "", "the-builder")),
        (
            {"kind": "ClusterBuilder", "name": "the-builder", "namespace": "x"},
            ("ClusterBuilder", "", "the-builder"),
        ),
        ({"kind": "Builder", "name": "the-builder"}, ("Builder", "apps", "the-builder")),
        (
            {"kind": "Builder", "name": "the-builder", "namespace": "other"},
            ("Builder", "other", "the-builder"),
        ),
    ],
)
def test_the_lookup_of_a_ref(ref: dict[str, Any], expected: tuple[str, str, str]) -> None:
    wanted = builder_refs.lookup(build(ref))
    assert (wanted.kind, wanted.namespace, wanted.name) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (None, "the Build has no builder: set spec.builder.image or spec.builder.ref"),
        (
            {"kind": "CustomBuilder", "name": "x"},
            "unable to parse builder kind 'CustomBuilder' (spec.builder.ref.kind): use Builder or ClusterBuilder",
        ),
    ],
)
def test_a_build_without_a_usable_ref_is_refused(ref: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(pods.PodGenerationError) as raised:
        builder_refs.lookup(build(ref))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("kind", "spec", "service_account", "account"),
    [
        # kpack: a ClusterBuilder's spec.serviceAccountRef
        (
            "ClusterBuilder",
            {"serviceAccountRef": {"name": "sa", "namespace": "kpack"}},
            None,
            ("kpack", "sa"),
        ),
        # Kiln: without a complete one, the Build's account
        ("ClusterBuilder", {"serviceAccountRef": {"name": "sa"}}, "robot", ("apps", "robot")),
        ("ClusterBuilder", {}, None, ("apps", "default")),
        # kpack: a Builder's spec.serviceAccountName in the Builder's namespace
        ("Builder", {"serviceAccountName": "builder-sa"}, "robot", ("apps", "builder-sa")),
        ("Builder", {}, "robot", ("apps", "default")),
    ],
)
def test_a_ready_builder_gives_its_latest_image_and_its_own_service_account(
    kind: str, spec: dict[str, Any], service_account: str | None, account: tuple[str, str]
) -> None:
    resolved = builder_refs.resolve(
        build({"kind": kind, "name": "the-builder"}, service_account=service_account),
        found=builder(kind, spec=spec),
    )
    assert (resolved.image, resolved.account_namespace, resolved.account_name) == (IMAGE, *account)


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        (
            "ClusterBuilder",
            None,
            "unable to resolve builder image: ClusterBuilder 'the-builder' not found (spec.builder.ref): "
            "create it, or name an existing Builder or ClusterBuilder",
        ),
        (
            "Builder",
            None,
            "unable to resolve builder image: Builder 'the-builder' in namespace 'apps' not found "
            "(spec.builder.ref): create it, or name an existing Builder or ClusterBuilder",
        ),
        (
            "ClusterBuilder",
            {"conditions": [{"type": "Ready", "status": "False", "message": "stack not found"}]},
            "ClusterBuilder 'the-builder' is not ready (spec.builder.ref): stack not found; "
            "wait until its Ready condition is True, or name a ready builder",
        ),
        (
            "ClusterBuilder",
            {"conditions": [{"type": "Ready", "status": "False"}], "latestImage": IMAGE},
            "ClusterBuilder 'the-builder' is not ready (spec.builder.ref); "
            "wait until its Ready condition is True, or name a ready builder",
        ),
        (
            "Builder",
            {"conditions": [{"type": "Ready", "status": "True"}]},
            "Builder 'the-builder' in namespace 'apps' is not ready (spec.builder.ref); "
            "wait until its Ready condition is True, or name a ready builder",
        ),
    ],
)
def test_a_missing_or_unready_builder_fails_the_build_naming_the_field_and_the_fix(
    kind: str, status: dict[str, Any] | None, message: str
) -> None:
    found = None if status is None else builder(kind, status=status)
    with pytest.raises(pods.PodGenerationError) as raised:
        builder_refs.resolve(build({"kind": kind, "name": "the-builder"}), found=found)
    assert str(raised.value) == message
