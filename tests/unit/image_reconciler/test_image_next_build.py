"""The next Build: name, labels, tags, cache, lastBuild (spec §4.5; checklist 49-52; §11)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import image_fixtures as fx
import pytest

from contracts import builders, builds, images
from services.image_reconciler import changes, next_build, reconcile

CONFIG_FIRST_BUILD = changes.requirement(
    fx.image(), latest_build=None, source_resolver=fx.resolver(), builder=fx.builder(), now=fx.NOW
)


def make(image: images.Image, *, latest: builds.Build | None = None, **kwargs: Any) -> builds.Build:
    return next_build.next_build(
        reconcile.controller_defaults(image),
        builder=kwargs.pop("builder", fx.builder()),
        source_resolver=fx.resolver(),
        latest_build=latest,
        requirement=kwargs.pop("requirement", CONFIG_FIRST_BUILD),
        now=fx.NOW,
        **kwargs,
    )


def test_the_first_build_of_an_image_without_cache() -> None:
    image = fx.image(labels={"app": "web"}, annotations={"team": "a"}, generation=3)
    assert make(image).dump() == {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {
            "name": "image-name-build-1",
            "namespace": fx.NAMESPACE,
            "labels": {
                "app": "web",
                "image.kpack.io/buildNumber": "1",
                "image.kpack.io/image": "image-name",
                "image.kpack.io/imageGeneration": "3",
            },
            "annotations": {
                "team": "a",
                "image.kpack.io/reason": "CONFIG",
                "image.kpack.io/buildChanges": fx.first_build_config_changes(),
                "image.kpack.io/builderName": "some-builder",
                "image.kpack.io/builderKind": "Builder",
            },
            "ownerReferences": [
                {
                    "apiVersion": "kpack.io/v1alpha2",
                    "kind": "Image",
                    "name": "image-name",
                    "uid": "image-uid",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "tags": ["some/image", "index.docker.io/some/image:b1.20240305.140709"],
            "builder": {"image": fx.BUILDER_IMAGE},
            "serviceAccountName": "default",
            "source": {"git": {"url": fx.REPO_URL, "revision": fx.NEW_COMMIT}},
            "cache": {},
            "runImage": {"image": fx.RUN_IMAGE},
            "resources": {},
        },
    }


def test_every_build_setting_of_the_image_is_copied() -> None:
    settings = {
        "env": [{"name": "A", "value": "1"}],
        "resources": {"limits": {"cpu": "1"}},
        "services": [{"name": "db"}],
        "cnbBindings": [{"name": "b"}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
        "affinity": {"nodeAffinity": {}},
        "runtimeClassName": "gvisor",
        "schedulerName": "custom",
        "buildTimeout": 600,
        "creationTime": "now",
    }
    image = fx.image(
        {
            "build": settings,
            "serviceAccountName": "robot",
            "defaultProcess": "web",
            "projectDescriptorPath": "p/project.toml",
            "notary": {"v1": {"url": "n"}},
            "cosign": {"annotations": []},
        }
    )
    spec = make(image).dump()["spec"]
    assert {k: v for k, v in spec.items() if k not in ("tags", "builder", "source", "cache", "runImage")} == {
        "serviceAccountName": "robot",
        "env": [{"name": "A", "value": "1"}],
        "resources": {"limits": {"cpu": "1"}},
        "services": [{"name": "db"}],
        "cnbBindings": [{"name": "b"}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "nodeSelector": {"disk": "ssd"},
        "affinity": {"nodeAffinity": {}},
        "runtimeClassName": "gvisor",
        "schedulerName": "custom",
        "activeDeadlineSeconds": 600,
        "creationTime": "now",
        "defaultProcess": "web",
        "projectDescriptorPath": "p/project.toml",
        "notary": {"v1": {"url": "n"}},
        "cosign": {"annotations": []},
    }


UTC_MINUS_7 = timezone(timedelta(hours=-7))


@pytest.mark.parametrize(
    ("spec", "now", "expected"),
    [
        pytest.param(
            {"tag": "some/image"},
            fx.NOW,
            ["some/image", "index.docker.io/some/image:b4.20240305.140709"],
            id="an untagged image gets b<n>.<date>.<time> in the normalised repository",
        ),
        pytest.param(
            {"tag": "registry.io/app:latest"},
            fx.NOW,
            ["registry.io/app:latest", "registry.io/app:b4.20240305.140709"],
            id="latest is not used as a prefix",
        ),
        pytest.param(
            {"tag": "registry.io/app:v2", "additionalTags": ["registry.io/app:stable"]},
            datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC_MINUS_7),
            ["registry.io/app:v2", "registry.io/app:v2-b4.20230102.030405", "registry.io/app:stable"],
            id="a tag prefixes the build number tag and additional tags follow, at local wall-clock time",
        ),
        pytest.param(
            {"tag": "nginx"},
            fx.NOW,
            ["nginx", "index.docker.io/library/nginx:b4.20240305.140709"],
            id="a docker hub short name is normalised to library",
        ),
        pytest.param(
            {"tag": "Not A Tag", "additionalTags": ["x"]},
            fx.NOW,
            None,
            id="an unparsable tag gives no tags at all",
        ),
        pytest.param(
            {"tag": "some/image@sha256:" + "1" * 64},
            fx.NOW,
            None,
            id="a digest is not a tag",
        ),
        pytest.param(
            {"tag": "Not A Tag", "additionalTags": ["x"], "imageTaggingStrategy": "None"},
            fx.NOW,
            ["Not A Tag", "x"],
            id="the None strategy lists the tag and the additional tags unparsed",
        ),
    ],
)
def test_build_tags(spec: dict[str, Any], now: datetime, expected: list[str] | None) -> None:
    image = reconcile.controller_defaults(fx.image(spec))
    assert next_build.build_tags(image, number=4, now=now) == expected


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param({}, {}, {}, id="no cache gives an empty cache object"),
        pytest.param({"cache": {}}, {}, {}, id="an empty cache gives an empty cache object"),
        pytest.param(
            {"cache": {"volume": {}}},
            {"buildCacheName": "image-name-cache"},
            {},
            id="a volume without a size means no cache",
        ),
        pytest.param(
            {"cache": {"volume": {"size": "2G"}}},
            {"buildCacheName": "image-name-cache"},
            {"volume": {"persistentVolumeClaimName": "image-name-cache"}},
            id="a volume cache takes the claim name from the previous status",
        ),
        pytest.param(
            {"cache": {"volume": {"size": "2G"}}},
            {},
            {"volume": {"persistentVolumeClaimName": ""}},
            id="a volume cache added in this reconcile gets an empty claim name",
        ),
        pytest.param(
            {"cache": {"registry": {"tag": "reg.io/cache"}}},
            {},
            {"registry": {"tag": "reg.io/cache"}},
            id="a registry cache copies the tag",
        ),
        pytest.param(
            {"cache": {"registry": {"tag": ""}}},
            {},
            {},
            id="an empty registry tag means no cache",
        ),
    ],
)
def test_build_cache(spec: dict[str, Any], status: dict[str, Any], expected: dict[str, Any]) -> None:
    image = fx.image(spec, status=status)
    assert make(image).dump()["spec"]["cache"] == expected


PINNED = {"image": "some/image@sha256:previous", "cache": {"image": "reg.io/cache@sha256:d1"}, "stackId": "s"}


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        pytest.param(None, None, id="the first build has no lastBuild"),
        pytest.param(
            fx.build(
                6,
                status={
                    "latestImage": "L",
                    "latestCacheImage": "reg.io/cache@sha256:d2",
                    "stack": {"runImage": fx.RUN_IMAGE, "id": "S"},
                },
            ),
            {"image": "L", "cache": {"image": "reg.io/cache@sha256:d2"}, "stackId": "S"},
            id="after a success the lastBuild pins its image, cache digest and stack",
        ),
        pytest.param(
            fx.build(6, status={"latestImage": "L", "latestCacheImage": None, "stack": None}),
            {"image": "L", "cache": {"image": ""}, "stackId": ""},
            id="after a success without a cache image the lastBuild cache is empty but present",
        ),
        pytest.param(
            fx.build(6, succeeded="False", spec={"lastBuild": PINNED}),
            PINNED,
            id="after a failure the failed build's own lastBuild is carried forward",
        ),
        pytest.param(
            fx.build(6, succeeded="False"),
            None,
            id="after a failure without a lastBuild there is none",
        ),
    ],
)
def test_last_build(latest: builds.Build | None, expected: dict[str, Any] | None) -> None:
    build = make(fx.image(), latest=latest)
    assert build.dump()["spec"].get("lastBuild") == expected
    assert build.name == f"image-name-build-{7 if latest else 1}"


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        pytest.param(True, "kpack-build-high-priority", id="the priority class is set when enabled"),
        pytest.param(False, None, id="the priority class is left out when disabled"),
    ],
)
def test_priority_class(enabled: bool, expected: str | None) -> None:
    spec = make(fx.image(), enable_priority_classes=enabled).dump()["spec"]
    assert spec.get("priorityClassName") == expected


def test_builder_kind_falls_back_to_the_image_reference() -> None:
    builder = fx.builder().with_(kind="")
    image = fx.image({"builder": {"kind": "ClusterBuilder", "name": "some-builder"}})
    annotations = make(image, builder=builder).annotations
    assert annotations["image.kpack.io/builderKind"] == "ClusterBuilder"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({}, 5, id="the counter is the newest build's label"),
        pytest.param(
            {"image.kpack.io/buildNumber": ""}, 'parsing "": invalid syntax', id="an empty label errors"
        ),
        pytest.param(
            {"image.kpack.io/buildNumber": "x"}, 'parsing "x": invalid syntax', id="a bad label errors"
        ),
    ],
)
def test_build_counter(labels: dict[str, str], expected: int | str) -> None:
    build = fx.build(5, labels=labels)
    if isinstance(expected, int):
        assert next_build.build_counter(build) == expected
        return
    with pytest.raises(changes.ReconcileError) as raised:
        next_build.build_counter(build)
    assert str(raised.value) == f"error parsing the image build number: strconv.ParseInt: {expected}"


def test_a_missing_build_number_label_errors() -> None:
    build = fx.build(5).with_(
        metadata=fx.build(5).metadata.with_(labels={"image.kpack.io/image": "image-name"})
    )
    with pytest.raises(changes.ReconcileError, match=r'^error parsing the image build number: .*parsing ""'):
        next_build.build_counter(build)


def test_no_build_counts_zero() -> None:
    assert next_build.build_counter(None) == 0


@pytest.mark.parametrize(
    ("kind", "pull_secrets", "expected"),
    [
        (
            "Builder",
            [{"name": "registry-a"}, {"name": "registry-b"}],
            [{"name": "registry-a"}, {"name": "registry-b"}],
        ),
        ("ClusterBuilder", [{"name": "registry-a"}], [{"name": "registry-a"}]),
        ("Builder", [], None),
    ],
    ids=[
        "a Builder's image pull secrets go to the Build",
        "so do a ClusterBuilder's",
        "without any the Build names none (omitempty)",
    ],
)
def test_the_build_names_the_builders_image_pull_secrets(
    kind: str, pull_secrets: list[dict[str, str]], expected: list[dict[str, str]] | None
) -> None:
    """kpack's duck builder ``BuildBuilderSpec()``: ``{Image: status.latestImage, ImagePullSecrets:
    spec.imagePullSecrets}``, for Builders and ClusterBuilders alike."""
    builder = fx.builder(kind=kind)
    builder = builder.with_(spec=builders.BuilderSpec.model_validate({"imagePullSecrets": pull_secrets}))
    spec = make(fx.image(), builder=builder).dump()["spec"]["builder"]
    assert spec.get("imagePullSecrets") == expected
    assert spec["image"] == fx.BUILDER_IMAGE
