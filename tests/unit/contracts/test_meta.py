"""The kpack models: lossless round trips, what kpack always serialises, predicates, child names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from contracts import builders, builds, images, meta, source_resolvers, sources

DIGEST = "sha256:" + "d" * 64

IMAGE_YAML: dict[str, Any] = {
    "apiVersion": "kpack.io/v1alpha2",
    "kind": "Image",
    "metadata": {
        "name": "app",
        "namespace": "team",
        "uid": "u-1",
        "generation": 4,
        "labels": {"team": "a"},
        "annotations": {"note": "x"},
        "managedFields": [{"manager": "kubectl"}],
    },
    "spec": {
        "tag": "reg.io/team/app",
        "additionalTags": ["reg.io/team/app:stable"],
        "builder": {"kind": "ClusterBuilder", "name": "default"},
        "serviceAccountName": "builder",
        "source": {"git": {"url": "https://github.com/team/app", "revision": "main"}, "subPath": "svc"},
        "cache": {"registry": {"tag": "reg.io/team/app-cache"}},
        "build": {"env": [{"name": "BP_JVM_VERSION", "value": "21"}], "nodeSelector": {"disk": "ssd"}},
        "cosign": {"annotations": [{"name": "a", "value": "b"}]},
    },
    "status": {
        "observedGeneration": 4,
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
        "latestImage": f"reg.io/team/app@{DIGEST}",
        "buildCounter": 7,
    },
}


@pytest.mark.parametrize(
    ("model", "doc"),
    [
        (images.Image, IMAGE_YAML),
        (images.Image, {"spec": {"cache": {"registry": {"tag": ""}}}}),
        (builds.Build, {"spec": {"tags": ["a/b"], "lastBuild": {"image": "a/b@" + DIGEST, "cache": {}}}}),
        (
            builds.Build,
            {"spec": {"cache": {"volume": {"persistentVolumeClaimName": "app-cache"}}}, "extra": [1]},
        ),
        (source_resolvers.SourceResolver, {"spec": {"source": {"blob": {"url": "https://x/a.tgz"}}}}),
        (builders.Builder, {"kind": "ClusterBuilder", "spec": {"order": []}, "status": {"os": "linux"}}),
    ],
    ids=[
        "a full Image with unknown metadata and spec fields",
        "an Image with an empty registry tag",
        "a Build whose lastBuild has an empty cache",
        "a Build with a volume cache and an unknown top-level key",
        "a SourceResolver",
        "a ClusterBuilder",
    ],
)
def test_load_then_dump_gives_the_same_document(model: type[meta.KubeObject], doc: dict[str, Any]) -> None:
    assert model.model_validate(doc).dump() == doc


@pytest.mark.parametrize(
    ("model", "doc", "dumped"),
    [
        (images.RegistryCache, {}, {"tag": ""}),
        (builds.BuildRegistryCache, {}, {"tag": ""}),
        (builds.LastBuild, {"image": "a/b"}, {"image": "a/b", "cache": {}}),
        (images.VolumeCache, {}, {}),
    ],
    ids=[
        "an Image registry cache always has a tag",
        "a Build registry cache always has a tag",
        "lastBuild always has a cache object",
        "other fields are only dumped when given",
    ],
)
def test_fields_kpack_serialises_without_omitempty(
    model: type[meta.KubeModel], doc: dict[str, Any], dumped: dict[str, Any]
) -> None:
    assert model.model_validate(doc).dump() == dumped


def test_with_marks_changed_fields_as_given() -> None:
    spec = images.ImageSpec.model_validate({"tag": "a/b"})
    assert spec.with_(service_account_name="default").dump() == {
        "tag": "a/b",
        "serviceAccountName": "default",
    }


@pytest.mark.parametrize(
    ("cache", "volume", "registry"),
    [
        (None, False, False),
        ({}, False, False),
        ({"volume": {}}, False, False),
        ({"volume": {"storageClassName": "fast"}}, False, False),
        ({"volume": {"size": "2G"}}, True, False),
        ({"registry": {"tag": ""}}, False, False),
        ({"registry": {"tag": "a/b-cache"}}, False, True),
    ],
    ids=[
        "no cache requests nothing",
        "an empty cache requests nothing",
        "a volume without size is no volume cache",
        "a volume with only a storage class is no volume cache",
        "a volume with a size is a volume cache",
        "an empty registry tag is no registry cache",
        "a registry tag is a registry cache",
    ],
)
def test_image_cache_predicates(cache: dict[str, Any] | None, volume: bool, registry: bool) -> None:
    spec = images.ImageSpec.model_validate({"cache": cache})
    assert (spec.volume_cache_requested(), spec.registry_cache_requested()) == (volume, registry)


@pytest.mark.parametrize(
    ("cache", "volume", "registry", "cache_tag"),
    [
        (None, False, False, ""),
        ({"volume": {"persistentVolumeClaimName": ""}}, False, False, ""),
        ({"volume": {"persistentVolumeClaimName": "c"}}, True, False, ""),
        ({"registry": {"tag": ""}}, False, False, ""),
        ({"registry": {"tag": "t"}}, False, True, "t"),
        ({"volume": {"persistentVolumeClaimName": "c"}, "registry": {"tag": "t"}}, True, True, "t"),
    ],
    ids=[
        "no cache",
        "an empty claim name is no volume cache",
        "a claim name is a volume cache",
        "an empty registry tag is no registry cache and an empty CACHE_TAG",
        "a registry tag is a registry cache and the CACHE_TAG",
        "both (unreachable after validation) report both",
    ],
)
def test_build_cache_predicates(
    cache: dict[str, Any] | None, volume: bool, registry: bool, cache_tag: str
) -> None:
    spec = builds.BuildSpec.model_validate({"cache": cache})
    assert (spec.volume_cache(), spec.registry_cache(), spec.registry_cache_tag()) == (
        volume,
        registry,
        cache_tag,
    )


def condition(kind: str, status: str) -> dict[str, str]:
    return {"type": kind, "status": status}


@pytest.mark.parametrize(
    ("conditions", "succeeded", "failed", "running"),
    [
        (None, False, False, True),
        ([condition("Ready", "True")], False, False, True),
        ([condition("Succeeded", "Unknown")], False, False, True),
        ([condition("Succeeded", "True")], True, False, False),
        ([condition("Succeeded", "False")], False, True, False),
    ],
    ids=[
        "a build without conditions is running",
        "a missing Succeeded condition counts as Unknown",
        "an Unknown Succeeded is running",
        "a True Succeeded has succeeded",
        "a False Succeeded has failed",
    ],
)
def test_build_state(
    conditions: list[dict[str, str]] | None, succeeded: bool, failed: bool, running: bool
) -> None:
    build = builds.Build.model_validate({"status": {"conditions": conditions}})
    assert (build.succeeded(), build.failed(), build.running()) == (succeeded, failed, running)


@pytest.mark.parametrize(
    ("labels", "number"),
    [(None, None), ({"image.kpack.io/buildNumber": "12"}, 12), ({"image.kpack.io/buildNumber": "x"}, None)],
    ids=["no label gives no number", "the label is the number", "an unparsable label gives no number"],
)
def test_build_number(labels: dict[str, str] | None, number: int | None) -> None:
    assert builds.Build.model_validate({"metadata": {"labels": labels}}).build_number() == number


def test_build_accessors() -> None:
    build = builds.Build.model_validate(
        {"metadata": {"name": "app-build-3", "annotations": {"image.kpack.io/reason": "COMMIT,CONFIG"}}}
    )
    assert (build.tag(), build.reason(), build.pod_name()) == ("", "COMMIT,CONFIG", "app-build-3-build-pod")
    assert builds.Build.model_validate({"spec": {"tags": ["a/b", "a/b:1"]}}).tag() == "a/b"


@pytest.mark.parametrize(
    ("generation", "observed", "ready", "up_to_date"),
    [
        (2, 2, True, True),
        (3, 2, False, False),
        (None, None, True, True),
    ],
    ids=[
        "a Ready builder at its generation is ready",
        "a builder whose status is for an older generation is not ready",
        "missing generations both count as zero",
    ],
)
def test_builder_readiness(
    generation: int | None, observed: int | None, ready: bool, up_to_date: bool
) -> None:
    builder = builders.Builder.model_validate(
        {
            "metadata": {"generation": generation},
            "status": {
                "observedGeneration": observed,
                "conditions": [condition("Ready", "True"), condition("UpToDate", "True")],
            },
        }
    )
    assert (builder.ready(), builder.up_to_date()) == (ready, up_to_date)


def test_builder_as_the_image_reconciler_reads_it() -> None:
    builder = builders.Builder.model_validate(
        {
            "status": {
                "latestImage": f"reg.io/builder@{DIGEST}",
                "builderMetadata": [{"id": "paketo/java", "version": "1.0"}],
                "stack": {"runImage": f"reg.io/run@{DIGEST}", "id": "io.stacks.jammy"},
                "lifecycle": {"version": "0.17.0"},
                "conditions": [{"type": "Ready", "status": "False", "message": "stack missing"}],
            }
        }
    )
    assert builder.build_builder_spec().dump() == {"image": f"reg.io/builder@{DIGEST}"}
    assert [b.dump() for b in builder.buildpack_metadata()] == [{"id": "paketo/java", "version": "1.0"}]
    assert (builder.run_image(), builder.lifecycle_version(), builder.ready_message()) == (
        f"reg.io/run@{DIGEST}",
        "0.17.0",
        "stack missing",
    )


def test_an_empty_builder_reads_as_empty() -> None:
    builder = builders.Builder()
    assert (builder.run_image(), builder.lifecycle_version(), builder.ready_message()) == ("", "", "")
    assert builder.buildpack_metadata() == []
    ready_without_message = builders.Builder.model_validate(
        {"status": {"conditions": [condition("Ready", "True")]}}
    )
    assert ready_without_message.ready_message() == ""


@pytest.mark.parametrize(
    ("resolved", "config"),
    [
        (
            {
                "git": {
                    "url": "u",
                    "revision": "abc",
                    "type": "Branch",
                    "subPath": "svc",
                    "initializeSubmodules": True,
                }
            },
            {"git": {"url": "u", "revision": "abc", "initializeSubmodules": True}, "subPath": "svc"},
        ),
        ({"git": {"url": "u", "revision": "abc"}}, {"git": {"url": "u", "revision": "abc"}}),
        (
            {"blob": {"url": "b", "auth": "secret", "stripComponents": 1, "subPath": "s"}},
            {"blob": {"url": "b", "auth": "secret", "stripComponents": 1}, "subPath": "s"},
        ),
        ({"blob": {"url": "b"}}, {"blob": {"url": "b"}}),
        (
            {"registry": {"image": "i", "imagePullSecrets": [{"name": "s"}], "subPath": "p"}},
            {"registry": {"image": "i", "imagePullSecrets": [{"name": "s"}]}, "subPath": "p"},
        ),
        ({"registry": {"image": "i", "subPath": ""}}, {"registry": {"image": "i"}}),
        ({}, {}),
    ],
    ids=[
        "a resolved git source keeps url, revision, submodules and sub path",
        "a plain resolved git source",
        "a resolved blob keeps auth and strip components",
        "a plain resolved blob",
        "a resolved registry source keeps its pull secrets",
        "an empty sub path is left out",
        "nothing resolved gives an empty source",
    ],
)
def test_resolved_source_config(resolved: dict[str, Any], config: dict[str, Any]) -> None:
    assert sources.ResolvedSource.model_validate(resolved).source_config().dump() == config


@pytest.mark.parametrize(
    ("source", "kinds"),
    [({}, []), ({"git": {}, "registry": {}}, ["git", "registry"]), ({"blob": {}}, ["blob"])],
    ids=["no source", "git and registry in kpack's order", "only blob"],
)
def test_source_kinds(source: dict[str, Any], kinds: list[str]) -> None:
    assert sources.SourceConfig.model_validate(source).kinds() == kinds


@pytest.mark.parametrize(
    ("generation", "observed", "ready"),
    [(1, 1, True), (2, 1, False)],
    ids=["a Ready resolver at its generation is ready", "a resolver behind its generation is not ready"],
)
def test_source_resolver_readiness(generation: int, observed: int, ready: bool) -> None:
    resolver = source_resolvers.SourceResolver.model_validate(
        {
            "metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "conditions": [condition("Ready", "True")]},
        }
    )
    assert resolver.ready() is ready


def test_object_accessors_and_controller_reference() -> None:
    image = images.Image.model_validate(IMAGE_YAML)
    assert (image.name, image.namespace, image.generation, image.key) == ("app", "team", 4, "team/app")
    assert (image.labels, image.annotations) == ({"team": "a"}, {"note": "x"})
    assert image.controller_reference().dump() == {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "name": "app",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    bare = images.Image()
    assert (bare.namespace, bare.generation, bare.labels, bare.annotations) == ("", 0, {}, {})
    assert bare.controller_reference().uid == ""
    assert bare.controller_reference(kind="Image").dump()["kind"] == "Image"
    assert (
        images.Image.model_validate({**IMAGE_YAML, "apiVersion": "kpack.io/v1alpha1"})
        .controller_reference()
        .api_version
        == "kpack.io/v1alpha2"
    ), "owners are named as Kiln serves them"


@pytest.mark.parametrize(
    ("conditions", "is_true", "is_false", "found"),
    [
        (None, False, False, None),
        ([condition("Ready", "True")], True, False, "True"),
        ([condition("Ready", "False")], False, True, "False"),
        ([condition("Other", "True")], False, False, None),
    ],
    ids=["no conditions", "a True condition", "a False condition", "only other conditions"],
)
def test_status_conditions(
    conditions: list[dict[str, str]] | None, is_true: bool, is_false: bool, found: str | None
) -> None:
    status = meta.Status.model_validate({"conditions": conditions})
    ready = status.condition("Ready")
    assert (status.is_true("Ready"), status.is_false("Ready"), ready.status if ready else None) == (
        is_true,
        is_false,
        found,
    )


@pytest.mark.parametrize(
    ("parent", "suffix", "child"),
    [
        ("image-name", "-cache", "image-name-cache"),
        ("a" * 57, "-cache", "a" * 57 + "-cache"),
        ("a" * 58, "-cache", "a" * 25 + "dc2f2f2462a0d72358b2f99389458606" + "-cache"),
        ("b" * 60, "-build-12", "b" * 22 + "3cb5465a7e33b90e250e8e24a764e65a" + "-build-12"),
    ],
    ids=[
        "a short name is parent plus suffix",
        "exactly 63 characters are kept",
        "64 characters are hashed down to 63",
        "a long build name keeps its number suffix",
    ],
)
def test_child_name(parent: str, suffix: str, child: str) -> None:
    assert meta.child_name(parent, suffix) == child
    assert len(child) <= 63


@pytest.mark.parametrize(
    ("moment", "written"),
    [
        (datetime(2026, 12, 1, 20, 15, 7, 999_999, tzinfo=UTC), "2026-12-01T20:15:07Z"),
        (datetime(2026, 12, 1, 21, 15, 7, tzinfo=timezone(timedelta(hours=1))), "2026-12-01T20:15:07Z"),
        (datetime(2026, 12, 1, 20, 15, 7), "2026-12-01T20:15:07Z"),
    ],
    ids=[
        "UTC loses its fraction of a second",
        "another zone is written in UTC",
        "a naive time counts as UTC",
    ],
)
def test_times_are_written_as_kubernetes_writes_them(moment: datetime, written: str) -> None:
    assert meta.rfc3339(moment) == written


NOW = datetime(2026, 12, 1, 20, 0, 0, tzinfo=UTC)
EARLIER = "2026-11-30T08:00:00Z"
NOW_WRITTEN = "2026-12-01T20:00:00Z"


@pytest.mark.parametrize(
    ("previous", "status", "now", "stamp"),
    [
        (None, "True", NOW, "2026-12-01T20:00:00Z"),
        (meta.Condition(type="Ready", status="True", last_transition_time=EARLIER), "True", NOW, EARLIER),
        (
            meta.Condition(type="Ready", status="False", last_transition_time=EARLIER),
            "True",
            NOW,
            "2026-12-01T20:00:00Z",
        ),
        (meta.Condition(type="Ready", status="True"), "True", NOW, "2026-12-01T20:00:00Z"),
        (None, "Unknown", None, None),
    ],
    ids=[
        "a new condition is stamped now",
        "an unchanged status keeps its transition time",
        "a changed status is stamped now",
        "a previous condition without a time is stamped now",
        "without a time the condition is left as it is",
    ],
)
def test_a_condition_keeps_its_transition_time_while_its_status_stays(
    previous: meta.Condition | None, status: meta.ConditionStatus, now: datetime | None, stamp: str | None
) -> None:
    condition = meta.Condition(type="Ready", status=status, reason="R")
    assert meta.stamped(condition, previous=previous, now=now).last_transition_time == stamp


@pytest.mark.parametrize(
    ("references", "names"),
    [
        ([{"name": "a"}, {"name": "b"}], ["a", "b"]),
        ([{"name": ""}, {"other": "x"}, "c", {"name": "d"}], ["d"]),
        (None, []),
        ({"name": "a"}, []),
    ],
    ids=["names in order", "entries without a name are skipped", "none", "not a list"],
)
def test_the_names_of_a_service_accounts_secret_references(references: object, names: list[str]) -> None:
    assert meta.reference_names(references) == names


def test_rfc3339_converts_to_utc_and_treats_naive_times_as_utc() -> None:
    """Moved with meta.rfc3339 from the image-reconciler's statuses, where it was written first."""
    assert meta.rfc3339(datetime(2024, 1, 1, 2, 0, 0, 999, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-01-01T00:00:00Z"
    )
    assert meta.rfc3339(datetime(2024, 1, 1, 2, 0, 0)) == "2024-01-01T02:00:00Z"
