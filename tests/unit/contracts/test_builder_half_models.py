"""The builder half's models read and write kpack's JSON: keys, omitempty and always-written fields."""

from __future__ import annotations

import pytest

from contracts import builders, buildpacks, stacks


@pytest.mark.parametrize(
    ("kind", "namespace", "key"),
    [
        ("Builder", "team", "Builder/team/go"),
        ("ClusterBuilder", "", "ClusterBuilder/go"),
    ],
    ids=["a Builder is keyed by namespace and name", "a ClusterBuilder by name alone"],
)
def test_a_builder_key_names_its_kind(kind: str, namespace: str, key: str) -> None:
    metadata = {"name": "go", **({"namespace": namespace} if namespace else {})}
    assert builders.Builder.model_validate({"kind": kind, "metadata": metadata}).key() == key


@pytest.mark.parametrize(
    ("ref", "wire"),
    [
        ({"id": "a"}, {"id": "a"}),
        ({"id": "a", "version": "1"}, {"id": "a", "version": "1"}),
        ({"id": "a", "optional": True}, {"id": "a", "optional": True}),
    ],
    ids=["an id alone", "a version when set", "optional only when true"],
)
def test_a_group_entry_is_written_as_kpack_omits_empty_fields(
    ref: dict[str, object], wire: dict[str, object]
) -> None:
    assert buildpacks.BuildpackRef.model_validate(ref).wire() == wire


def test_a_buildpack_status_always_writes_its_buildpackage_and_store_image() -> None:
    status = buildpacks.BuildpackStatus(id="a", version="1")

    assert status.dump() == {"id": "a", "version": "1", "buildpackage": {}, "storeImage": {}}
    assert str(status) == "a@1"


def test_lifecycle_apis_write_empty_lists_as_null() -> None:
    apis = stacks.LifecycleApis(platform=stacks.ApiVersions(supported=["0.9"]))

    assert apis.dump() == {
        "buildpack": {"deprecated": None, "supported": None},
        "platform": {"deprecated": None, "supported": ["0.9"]},
    }
    assert apis.platform.all() == ["0.9"]


def test_a_builder_spec_reads_kpacks_service_account_spellings() -> None:
    spec = builders.BuilderSpec.model_validate({"serviceAccount": "legacy"})

    assert spec.effective_service_account() == "legacy"
    assert spec.lifecycle_name() == "default-lifecycle"
    assert builders.BuilderSpec(
        service_account_name="new", service_account="legacy"
    ).effective_service_account() == ("new")


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            buildpacks.ClusterStore.model_validate(
                {"spec": {"sources": [{"image": "r/a"}, {"image": "r/b"}]}}
            ),
            ["r/a", "r/b"],
        ),
        (buildpacks.Buildpack.model_validate({"spec": {"image": "r/bp"}}), ["r/bp"]),
        (buildpacks.ClusterBuildpack.model_validate({"spec": {"image": "r/cbp"}}), ["r/cbp"]),
    ],
    ids=["a store names each source", "a Buildpack its image", "a ClusterBuildpack its image"],
)
def test_each_buildpack_input_names_the_images_it_reads(
    resource: buildpacks.ClusterStore | buildpacks.Buildpack | buildpacks.ClusterBuildpack,
    expected: list[str],
) -> None:
    assert resource.images() == expected
