"""The builder image as kpack's create_builder_test.go expects it: the resolved tag, the relocated run
image, the layers and their order, the config and the io.buildpacks.* labels in Go's JSON.

(Named ``test_builder_image_plans.py``: ``test_builder_images.py`` is the build runner's.)"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from contracts import buildpacks, golang, oci, stacks
from services.builder import builder_images, layers, problems

STACK_ID = "io.buildpacks.stacks.some-stack"
RUN_IMAGE = "example.com/custom/example:test-builder-run-image@sha256:" + "9" * 64
KPACK_VERSION = "v1.2.3 (git sha: abcdefg123456)"
STORE_IMAGE = "store.io/team/buildpackage:latest"


def sha(char: str) -> str:
    return "sha256:" + char * 64


def remote_image(
    *,
    repository: str,
    layer_chars: str,
    media_type: str = oci.DOCKER_MANIFEST,
    config: dict[str, Any] | None = None,
    diff_ids: list[str] | None = None,
) -> oci.RemoteImage:
    """An image whose layer ``i`` has digest ``sha(c)`` and diffID ``sha(c.upper())``."""
    descriptors = [
        oci.Descriptor(media_type=oci.DOCKER_LAYER_GZIP, digest=sha(c), size=10 + i)
        for i, c in enumerate(layer_chars)
    ]
    parsed = dict(config or {"architecture": "amd64", "os": "linux", "config": {}})
    parsed["rootfs"] = {
        "type": "layers",
        "diff_ids": diff_ids if diff_ids is not None else [sha(c.upper()) for c in layer_chars],
    }
    config_bytes = json.dumps(parsed).encode()
    config_descriptor = oci.Descriptor(
        media_type=oci.OCI_CONFIG if media_type == oci.OCI_MANIFEST else oci.DOCKER_CONFIG,
        digest=oci.sha256_digest(config_bytes),
        size=len(config_bytes),
    )
    manifest = oci.manifest_bytes(media_type=media_type, config=config_descriptor, layers=descriptors)
    return oci.RemoteImage(
        repository=repository,
        digest=oci.sha256_digest(manifest),
        media_type=media_type,
        manifest=manifest,
        config=parsed,
        config_descriptor=config_descriptor,
        layers=descriptors,
    )


BUILD_CONFIG: dict[str, Any] = {
    "architecture": "amd64",
    "created": "2024-01-02T03:04:05Z",
    "os": "linux",
    "config": {
        "User": "1000:1000",
        "Env": ["PATH=/usr/bin", "CNB_USER_ID=4000", "CNB_GROUP_ID=3000"],
        "Labels": {"io.buildpacks.stack.id": STACK_ID, "os": "stack-os", "zz.inherited": "kept"},
    },
    "history": [{"created_by": "base"}, {"created_by": "stack"}],
}
BUILD = remote_image(repository="registry.io/stacks/build", layer_chars="ab", config=BUILD_CONFIG)
LIFECYCLE_IMAGE = remote_image(repository="index.docker.io/buildpacksio/lifecycle", layer_chars="cl")
LIFECYCLE = stacks.ResolvedLifecycle.model_validate(
    {
        "version": "0.5.0",
        "api": {"buildpack": "0.2", "platform": "0.1"},
        "apis": {
            "buildpack": {"deprecated": ["0.2"], "supported": ["0.3"]},
            "platform": {"deprecated": ["0.3"], "supported": ["0.4"]},
        },
    }
)


def buildpack(
    bp_id: str, version: str, *, layer: str, size: int, **fields: Any
) -> buildpacks.BuildpackStatus:
    return buildpacks.BuildpackStatus.model_validate(
        {
            "id": bp_id,
            "version": version,
            "storeImage": {"image": STORE_IMAGE},
            "digest": sha(layer),
            "diffId": sha(layer.upper()),
            "size": size,
            "api": "0.3",
            **fields,
        }
    )


BP1 = buildpack(
    "io.buildpack.1", "v1", layer="1", size=1, api="0.2", homepage="buildpack.1.com",
    stacks=[{"id": STACK_ID, "mixins": ["some-mixin"]}],
)  # fmt: skip
BP2 = buildpack(
    "io.buildpack.2", "v2", layer="2", size=100, homepage="buildpack.2.com",
    order=[{"group": [{"id": "io.buildpack.3", "version": "v2"}]}],
)  # fmt: skip
BP3 = buildpack(
    "io.buildpack.3", "v3", layer="3", size=100, homepage="buildpack.3.com",
    stacks=[{"id": STACK_ID}, {"id": "io.some.other.stack"}],
)  # fmt: skip
BP4 = buildpack(
    "io.buildpack.4", "v4", layer="3", size=100, homepage="buildpack.4.com",
    stacks=[{"id": STACK_ID}, {"id": "io.some.other.stack"}],
)  # fmt: skip
"""kpack's test buildpacks: 2 is a meta-buildpack, 4 shares 3's layer."""
FETCHED = [BP1, BP3, BP2, BP4]
"""As kpack's fetcher returns them for the group 1, 2, 4: a meta-buildpack after its children."""
ORDER = [
    buildpacks.OrderEntry.model_validate(
        {
            "group": [
                {"id": "io.buildpack.1", "version": "v1"},
                {"id": "io.buildpack.2", "version": "v2", "optional": True},
                {"id": "io.buildpack.4", "version": "v4"},
            ]
        }
    )
]


def plan(**changes: Any) -> builder_images.BuilderImage:
    arguments: dict[str, Any] = {
        "build_image": BUILD,
        "lifecycle_image": LIFECYCLE_IMAGE,
        "run_image": RUN_IMAGE,
        "uid": 4000,
        "gid": 3000,
        "resolved_buildpacks": FETCHED,
        "order": ORDER,
        "lifecycle": LIFECYCLE,
        "additional_labels": {"os": "special", "importance": "high"},
        "created_by_version": KPACK_VERSION,
    }
    return builder_images.plan_builder_image(**{**arguments, **changes})


def manifest_layers(image: builder_images.BuilderImage) -> list[str]:
    return [layer["digest"] for layer in json.loads(image.plan.manifest)["layers"]]


def config(image: builder_images.BuilderImage) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(image.config)
    return parsed


def new_blob(image: builder_images.BuilderImage, digest: str) -> bytes:
    (blob,) = [b for b in image.plan.blobs if isinstance(b, oci.NewBlob) and b.descriptor.digest == digest]
    return gzip.decompress(blob.content)


# Resolved tag -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "tag", "expected"),
    [
        pytest.param(
            "Builder",
            "example.com/custom-builder",
            "example.com/custom-builder:builder-some-namespace-custom-builder",
            id="an untagged Builder tag gets builder-namespace-name",
        ),
        pytest.param(
            "Builder",
            "example.com/custom-builder:latest",
            "example.com/custom-builder:builder-some-namespace-custom-builder",
            id="an explicit latest counts as untagged",
        ),
        pytest.param(
            "ClusterBuilder",
            "example.com/custom-builder",
            "example.com/custom-builder:clusterbuilder-custom-builder",
            id="an untagged ClusterBuilder tag gets clusterbuilder-name",
        ),
        pytest.param(
            "Builder",
            "example.com/custom-builder:my-tag",
            "example.com/custom-builder:my-tag",
            id="a tag of its own is used as is",
        ),
        pytest.param(
            "Builder",
            "custom/example",
            "index.docker.io/custom/example:builder-some-namespace-custom-builder",
            id="a Docker Hub tag is fully qualified",
        ),
        pytest.param(
            "ClusterBuilder",
            "nginx:v1",
            "index.docker.io/library/nginx:v1",
            id="an official image gains library",
        ),
        pytest.param(
            "Builder",
            "example.com/b@" + sha("d"),
            "example.com/b@" + sha("d"),
            id="a digest reference is kept (its identifier is not latest)",
        ),
    ],
)
def test_resolved_tag(kind: str, tag: str, expected: str) -> None:
    assert (
        builder_images.resolved_tag(kind=kind, namespace="some-namespace", name="custom-builder", tag=tag)
        == expected
    )


def test_an_unparsable_tag_fails_with_kpacks_message() -> None:
    with pytest.raises(problems.BuilderProblem) as failure:
        builder_images.resolved_tag(
            kind="Builder", namespace="ns", name="b", tag="example.com/invalid::builder"
        )
    assert str(failure.value) == "could not parse reference: example.com/invalid::builder"


# Relocated run image ----------------------------------------------------------------------------


def test_the_relocated_run_image_is_the_run_image_unchanged() -> None:
    run = remote_image(repository="registry.io/stacks/run", layer_chars="rs", media_type=oci.OCI_MANIFEST)
    relocated = builder_images.relocated_run_image_plan(run)
    assert (relocated.manifest, relocated.media_type, relocated.digest) == (
        run.manifest,
        run.media_type,
        run.digest,
    )
    assert relocated.blobs == [
        oci.ExistingBlob(descriptor=descriptor, repository="registry.io/stacks/run")
        for descriptor in [run.config_descriptor, *run.layers]
    ]


def test_a_run_image_layer_twice_is_one_blob() -> None:
    run = remote_image(repository="registry.io/stacks/run", layer_chars="rr")
    assert [blob.descriptor.digest for blob in builder_images.relocated_run_image_plan(run).blobs] == [
        run.config_descriptor.digest,
        sha("r"),
    ]


def test_the_relocated_run_image_identifier_is_tag_at_digest() -> None:
    run = remote_image(repository="registry.io/stacks/run", layer_chars="r")
    tag = "example.com/b:builder-ns-name"
    assert builder_images.relocated_run_image_tag(tag) == "example.com/b:builder-ns-name-run-image"
    assert (
        builder_images.relocated_run_image(tag, run=run)
        == f"example.com/b:builder-ns-name-run-image@{run.digest}"
    )


# Layers -----------------------------------------------------------------------------------------


def test_layers_are_build_dirs_lifecycle_buildpacks_by_size_stack_and_order() -> None:
    """Checklist 29: sizes 100 (4), 100 (3, 4's layer), 100 (2), 1 (1) → 4's layer, 2's, 1's."""
    image = plan()
    dirs = layers.default_dirs_layer(uid=4000, gid=3000)
    stack = layers.stack_layer(RUN_IMAGE)
    order = layers.order_layer(ORDER)
    assert manifest_layers(image) == [
        sha("a"),
        sha("b"),
        dirs.descriptor.digest,
        sha("l"),
        sha("3"),
        sha("2"),
        sha("1"),
        stack.descriptor.digest,
        order.descriptor.digest,
    ]
    assert config(image)["rootfs"]["diff_ids"] == [
        sha("A"),
        sha("B"),
        dirs.diff_id,
        sha("L"),
        sha("3"),
        sha("2"),
        sha("1"),
        stack.diff_id,
        order.diff_id,
    ]


def test_builder_metadata_lists_every_buildpack_in_layer_order() -> None:
    assert [bp.dump() for bp in plan().builder_metadata] == [
        {"id": "io.buildpack.4", "version": "v4", "homepage": "buildpack.4.com"},
        {"id": "io.buildpack.3", "version": "v3", "homepage": "buildpack.3.com"},
        {"id": "io.buildpack.2", "version": "v2", "homepage": "buildpack.2.com"},
        {"id": "io.buildpack.1", "version": "v1", "homepage": "buildpack.1.com"},
    ]


def test_a_buildpack_without_homepage_has_none_in_the_status() -> None:
    image = plan(resolved_buildpacks=[buildpack("a", "1", layer="1", size=1)])
    assert [bp.dump() for bp in image.builder_metadata] == [{"id": "a", "version": "1"}]


def test_each_blob_says_where_it_comes_from() -> None:
    image = plan()
    existing = {
        b.descriptor.digest: b.repository for b in image.plan.blobs if isinstance(b, oci.ExistingBlob)
    }
    assert existing == {
        sha("a"): "registry.io/stacks/build",
        sha("b"): "registry.io/stacks/build",
        sha("l"): "index.docker.io/buildpacksio/lifecycle",
        sha("3"): "store.io/team/buildpackage",
        sha("2"): "store.io/team/buildpackage",
        sha("1"): "store.io/team/buildpackage",
    }
    new = [b.descriptor for b in image.plan.blobs if isinstance(b, oci.NewBlob)]
    assert [d.media_type for d in new] == [oci.DOCKER_CONFIG, *[oci.DOCKER_LAYER_GZIP] * 3]
    assert json.loads(image.plan.manifest)["layers"][4:7] == [
        {"mediaType": oci.DOCKER_LAYER_GZIP, "digest": sha("3"), "size": 100},
        {"mediaType": oci.DOCKER_LAYER_GZIP, "digest": sha("2"), "size": 100},
        {"mediaType": oci.DOCKER_LAYER_GZIP, "digest": sha("1"), "size": 1},
    ]


def test_the_kpack_layers_are_the_dirs_stack_and_order_tars() -> None:
    image = plan()
    assert new_blob(image, layers.stack_layer(RUN_IMAGE).descriptor.digest).startswith(b"/cnb/stack.toml\0")
    assert new_blob(image, layers.order_layer(ORDER).descriptor.digest).startswith(b"/cnb/order.toml\0")
    dirs = layers.default_dirs_layer(uid=4000, gid=3000).descriptor.digest
    assert new_blob(image, dirs).startswith(b"/workspace\0")


@pytest.mark.parametrize(
    ("fetched", "expected_layers", "expected_ids"),
    [
        pytest.param(
            [buildpack("a", "1", layer="1", size=5), buildpack("b", "1", layer="2", size=5)],
            ["2", "1"],
            ["b", "a"],
            id="equal sizes order by id@version descending",
        ),
        pytest.param(
            [buildpack("a", "1", layer="1", size=5), buildpack("a", "10", layer="2", size=5)],
            ["2", "1"],
            ["a", "a"],
            id="the tie-break compares id@version as strings",
        ),
        pytest.param(
            [buildpack("z", "1", layer="1", size=1), buildpack("a", "1", layer="2", size=2)],
            ["2", "1"],
            ["a", "z"],
            id="a larger layer comes first whatever its id",
        ),
        pytest.param(
            [buildpack("a", "1", layer="1", size=5), buildpack("a", "1", layer="2", size=5)],
            ["2"],
            ["a"],
            id="the same id, version and homepage twice is one buildpack, the last given",
        ),
        pytest.param(
            [
                buildpack("a", "1", layer="1", size=5, homepage="x.com"),
                buildpack("a", "1", layer="2", size=5, homepage="y.com"),
            ],
            ["2", "1"],
            ["a", "a"],
            id="another homepage is another buildpack",
        ),
        pytest.param(
            [buildpack("a", "1", layer="1", size=5), buildpack("b", "1", layer="1", size=5)],
            ["1"],
            ["b", "a"],
            id="two buildpacks of one layer share it",
        ),
        pytest.param(
            [buildpack("a", "1", layer="l", size=5)],
            [],
            ["a"],
            id="a buildpack layer that is the lifecycle layer is de-duplicated",
        ),
        pytest.param(
            [buildpack("a", "1", layer="a", size=5)],
            ["a"],
            ["a"],
            id="a buildpack layer that is a build image layer is still added",
        ),
    ],
)
def test_buildpack_layers(
    fetched: list[buildpacks.BuildpackStatus], expected_layers: list[str], expected_ids: list[str]
) -> None:
    image = plan(resolved_buildpacks=fetched)
    assert manifest_layers(image)[4:-2] == [sha(c) for c in expected_layers]
    assert [bp.id for bp in image.builder_metadata] == expected_ids


def test_a_layer_twice_in_the_manifest_is_one_blob() -> None:
    image = plan(resolved_buildpacks=[buildpack("a", "1", layer="a", size=5)])
    digests = [blob.descriptor.digest for blob in image.plan.blobs]
    assert len(digests) == len(set(digests)) == len(manifest_layers(image))  # config + 8 layers, one twice


def test_the_input_order_of_distinct_buildpacks_does_not_change_the_image() -> None:
    assert plan().plan.digest == plan(resolved_buildpacks=list(reversed(FETCHED))).plan.digest


# Config -----------------------------------------------------------------------------------------


def test_the_config_inherits_the_build_image_and_sets_the_working_dir() -> None:
    written = config(plan())
    assert list(written) == ["architecture", "created", "os", "config", "history", "rootfs"]
    assert (written["architecture"], written["created"], written["os"]) == (
        "amd64",
        "2024-01-02T03:04:05Z",
        "linux",
    )
    assert written["config"]["User"] == "1000:1000"
    assert written["config"]["Env"] == ["PATH=/usr/bin", "CNB_USER_ID=4000", "CNB_GROUP_ID=3000"]
    assert written["config"]["WorkingDir"] == "/layers"
    assert written["rootfs"]["type"] == "layers"


def test_every_added_layer_gets_a_zero_history_entry() -> None:
    assert (
        config(plan())["history"]
        == [{"created_by": "base"}, {"created_by": "stack"}] + [{"created": "0001-01-01T00:00:00Z"}] * 7
    )


def test_a_bare_build_config_gains_rootfs_history_and_config() -> None:
    bare = remote_image(repository="registry.io/stacks/build", layer_chars="", config={"os": "linux"})
    written = config(plan(build_image=bare, resolved_buildpacks=[], order=[]))
    assert written["rootfs"]["type"] == "layers"
    assert len(written["rootfs"]["diff_ids"]) == len(written["history"]) == 4
    assert written["config"]["WorkingDir"] == "/layers"


def test_the_config_is_compact_go_json() -> None:
    image = plan(additional_labels={"a": "<&>"})
    assert image.config == golang.dumps(json.loads(image.config)).encode()
    assert b'"a":"\\u003c\\u0026\\u003e"' in image.config
    assert image.config.startswith(
        b'{"architecture":"amd64","created":"2024-01-02T03:04:05Z","os":"linux","config":{'
    )


@pytest.mark.parametrize(
    ("media_type", "config_media_type"),
    [
        pytest.param(
            oci.DOCKER_MANIFEST, oci.DOCKER_CONFIG, id="a Docker build image gives a Docker builder"
        ),
        pytest.param(oci.OCI_MANIFEST, oci.OCI_CONFIG, id="an OCI build image gives an OCI builder"),
    ],
)
def test_the_manifest_keeps_the_build_images_media_type(media_type: str, config_media_type: str) -> None:
    build = remote_image(repository="registry.io/stacks/build", layer_chars="ab", media_type=media_type)
    image = plan(build_image=build)
    manifest = json.loads(image.plan.manifest)
    assert (manifest["mediaType"], image.plan.media_type) == (media_type, media_type)
    assert manifest["config"] == {
        "mediaType": config_media_type,
        "digest": oci.sha256_digest(image.config),
        "size": len(image.config),
    }
    assert image.plan.blobs[0] == oci.NewBlob(
        descriptor=oci.Descriptor(
            media_type=config_media_type, digest=oci.sha256_digest(image.config), size=len(image.config)
        ),
        content=image.config,
    )


# Labels -----------------------------------------------------------------------------------------

KPACK_METADATA = (
    '{"description":"Custom Builder built with kpack",'
    f'"stack":{{"runImage":{{"image":"{RUN_IMAGE}","mirrors":null}}}},'
    '"lifecycle":{"version":"0.5.0","api":{"buildpack":"0.2","platform":"0.1"},'
    '"apis":{"buildpack":{"deprecated":["0.2"],"supported":["0.3"]},'
    '"platform":{"deprecated":["0.3"],"supported":["0.4"]}}},'
    '"createdBy":{"name":"kpack Builder","version":"v1.2.3 (git sha: abcdefg123456)"},'
    '"buildpacks":[{"id":"io.buildpack.4","version":"v4","homepage":"buildpack.4.com"},'
    '{"id":"io.buildpack.3","version":"v3","homepage":"buildpack.3.com"},'
    '{"id":"io.buildpack.2","version":"v2","homepage":"buildpack.2.com"},'
    '{"id":"io.buildpack.1","version":"v1","homepage":"buildpack.1.com"}]}'
)
KPACK_LAYERS = (
    '{"io.buildpack.1":{"v1":{"api":"0.2","layerDiffID":"' + sha("1") + '",'
    '"stacks":[{"id":"io.buildpacks.stacks.some-stack","mixins":["some-mixin"]}],"homepage":"buildpack.1.com"}},'
    '"io.buildpack.2":{"v2":{"api":"0.3","layerDiffID":"' + sha("2") + '",'
    '"order":[{"group":[{"id":"io.buildpack.3","version":"v2"}]}],"homepage":"buildpack.2.com"}},'
    '"io.buildpack.3":{"v3":{"api":"0.3","layerDiffID":"' + sha("3") + '",'
    '"stacks":[{"id":"io.buildpacks.stacks.some-stack"},{"id":"io.some.other.stack"}],"homepage":"buildpack.3.com"}},'
    '"io.buildpack.4":{"v4":{"api":"0.3","layerDiffID":"' + sha("3") + '",'
    '"stacks":[{"id":"io.buildpacks.stacks.some-stack"},{"id":"io.some.other.stack"}],"homepage":"buildpack.4.com"}}}'
)


def test_kpacks_labels_exactly() -> None:
    labels = plan().labels
    assert labels == {
        "importance": "high",
        "io.buildpacks.buildpack.layers": KPACK_LAYERS,
        "io.buildpacks.buildpack.order": '[{"group":[{"id":"io.buildpack.1","version":"v1"},'
        '{"id":"io.buildpack.2","version":"v2","optional":true},{"id":"io.buildpack.4","version":"v4"}]}]',
        "io.buildpacks.builder.metadata": KPACK_METADATA,
        "io.buildpacks.lifecycle.apis": '{"buildpack":{"deprecated":["0.2"],"supported":["0.3"]},'
        '"platform":{"deprecated":["0.3"],"supported":["0.4"]}}',
        "io.buildpacks.lifecycle.version": "0.5.0",
        "io.buildpacks.stack.id": STACK_ID,
        "os": "special",
        "zz.inherited": "kept",
    }
    assert list(labels) == sorted(labels)
    assert config(plan())["config"]["Labels"] == labels


@pytest.mark.parametrize(
    ("additional", "key", "expected"),
    [
        pytest.param({"os": "special"}, "os", "special", id="an additional label overrides an inherited one"),
        pytest.param(
            {"io.buildpacks.lifecycle.version": "mine"},
            "io.buildpacks.lifecycle.version",
            "mine",
            id="an additional label overrides the lifecycle version",
        ),
        pytest.param(
            {"io.buildpacks.buildpack.order": "mine"},
            "io.buildpacks.buildpack.order",
            '[{"group":[{"id":"io.buildpack.1","version":"v1"},{"id":"io.buildpack.2","version":"v2","optional":true},'
            '{"id":"io.buildpack.4","version":"v4"}]}]',
            id="kpack's JSON labels override an additional label",
        ),
        pytest.param(None, "os", "stack-os", id="without additional labels the inherited ones stay"),
        pytest.param(
            {"io.buildpacks.stack.id": "other"},
            "io.buildpacks.stack.id",
            "other",
            id="even the stack id can be overridden",
        ),
    ],
)
def test_labels_are_applied_in_kpacks_order(
    additional: dict[str, str] | None, key: str, expected: str
) -> None:
    assert plan(additional_labels=additional).labels[key] == expected


def test_an_empty_builder_has_null_order_empty_layers_and_no_buildpacks() -> None:
    labels = plan(resolved_buildpacks=[], order=[]).labels
    assert labels["io.buildpacks.buildpack.order"] == "null"
    assert labels["io.buildpacks.buildpack.layers"] == "{}"
    assert labels["io.buildpacks.builder.metadata"].endswith(',"buildpacks":[]}')
    assert new_blob(plan(order=[]), layers.order_layer([]).descriptor.digest).startswith(b"/cnb/order.toml\0")


@pytest.mark.parametrize(
    ("lifecycle", "apis_label", "lifecycle_json"),
    [
        pytest.param(
            {
                "version": "0.17.0",
                "apis": {"buildpack": {"deprecated": [], "supported": ["0.9"]}, "platform": {}},
            },
            '{"buildpack":{"deprecated":null,"supported":["0.9"]},"platform":{"deprecated":null,"supported":null}}',
            '{"version":"0.17.0","api":{},"apis":{"buildpack":{"deprecated":null,"supported":["0.9"]},'
            '"platform":{"deprecated":null,"supported":null}}}',
            id="empty API lists are null and missing single APIs an empty object",
        ),
        pytest.param(
            {"version": "1", "api": {"platform": "0.8"}},
            '{"buildpack":{"deprecated":null,"supported":null},"platform":{"deprecated":null,"supported":null}}',
            '{"version":"1","api":{"platform":"0.8"},"apis":{"buildpack":{"deprecated":null,"supported":null},'
            '"platform":{"deprecated":null,"supported":null}}}',
            id="no APIs at all are nulls and one single API is kept alone",
        ),
    ],
)
def test_lifecycle_labels(lifecycle: dict[str, Any], apis_label: str, lifecycle_json: str) -> None:
    labels = plan(lifecycle=stacks.ResolvedLifecycle.model_validate(lifecycle)).labels
    assert labels["io.buildpacks.lifecycle.apis"] == apis_label
    assert f'"lifecycle":{lifecycle_json},' in labels["io.buildpacks.builder.metadata"]
    assert labels["io.buildpacks.lifecycle.version"] == lifecycle["version"]


def test_label_json_escapes_html_characters_as_go_does() -> None:
    odd = buildpack("a<b>&c", "", layer="1", size=1, homepage="", order=[{"group": []}])
    labels = plan(resolved_buildpacks=[odd], order=[buildpacks.OrderEntry(group=[])]).labels
    assert labels["io.buildpacks.buildpack.order"] == "[{}]"
    assert labels["io.buildpacks.buildpack.layers"] == (
        '{"a\\u003cb\\u003e\\u0026c":{"":{"api":"0.3","layerDiffID":"' + sha("1") + '","order":[{}]}}}'
    )
    assert labels["io.buildpacks.builder.metadata"].endswith(
        ',"buildpacks":[{"id":"a\\u003cb\\u003e\\u0026c"}]}'
    )


def test_a_later_buildpack_of_the_same_id_and_version_wins_in_the_layers_label() -> None:
    first = buildpack("a", "1", layer="1", size=9, homepage="x.com", api="0.2")
    second = buildpack("a", "1", layer="2", size=1, homepage="y.com", api="0.3")
    layers_label = json.loads(
        plan(resolved_buildpacks=[first, second]).labels["io.buildpacks.buildpack.layers"]
    )
    assert layers_label == {"a": {"1": {"api": "0.3", "layerDiffID": sha("2"), "homepage": "y.com"}}}


def test_the_layers_label_sorts_ids_and_versions() -> None:
    fetched = [
        buildpack(i, v, layer=c, size=1) for i, v, c in [("b", "2", "1"), ("a", "1", "2"), ("b", "1", "4")]
    ]
    layers_label = json.loads(plan(resolved_buildpacks=fetched).labels["io.buildpacks.buildpack.layers"])
    assert [(i, list(versions)) for i, versions in layers_label.items()] == [("a", ["1"]), ("b", ["1", "2"])]


def test_created_by_can_name_kiln() -> None:
    metadata = json.loads(plan(created_by_name="Kiln Builder").labels["io.buildpacks.builder.metadata"])
    assert metadata["createdBy"] == {"name": "Kiln Builder", "version": KPACK_VERSION}


# Result -----------------------------------------------------------------------------------------


def test_the_status_parts_of_the_result() -> None:
    image = plan()
    assert image.os == "linux"
    assert image.order == ORDER
    assert image.identifier("example.com/b:t") == f"example.com/b:t@{image.plan.digest}"
    assert image.plan.digest == oci.sha256_digest(image.plan.manifest)


def test_equal_inputs_give_byte_identical_images() -> None:
    first, second = plan(), plan()
    assert first.plan.manifest == second.plan.manifest
    assert first.config == second.config
    assert first.plan.digest == second.plan.digest


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"run_image": RUN_IMAGE.replace("9", "8")}, id="a new run image"),
        pytest.param({"uid": 1001}, id="another build user"),
        pytest.param({"order": []}, id="another order"),
        pytest.param({"resolved_buildpacks": [BP1]}, id="other buildpacks"),
        pytest.param({"additional_labels": {}}, id="other labels"),
        pytest.param({"created_by_version": "v2"}, id="another version of the creator"),
    ],
)
def test_any_changed_input_gives_another_digest(change: dict[str, Any]) -> None:
    assert plan(**change).plan.digest != plan().plan.digest


# Failures ---------------------------------------------------------------------------------------


def test_a_buildpack_from_an_unparsable_image_fails_as_kpacks_lazy_layer() -> None:
    broken = buildpack("a", "1", layer="1", size=1, storeImage={"image": "invalid::image"})
    with pytest.raises(problems.BuilderProblem) as failure:
        plan(resolved_buildpacks=[broken])
    assert str(failure.value) == "unable to parse invalid::image: could not parse reference: invalid::image"


@pytest.mark.parametrize(
    ("lifecycle_image", "message"),
    [
        pytest.param(
            remote_image(repository="r.io/lifecycle", layer_chars=""),
            "failed to find lifecycle layer: failed to find lifecycle image layers",
            id="a lifecycle image without layers",
        ),
        pytest.param(
            remote_image(repository="r.io/lifecycle", layer_chars="cl", diff_ids=[sha("C")]),
            "failed to find lifecycle layer: 2 layers but 1 diff_ids in the config",
            id="a lifecycle config with fewer diff_ids than layers",
        ),
    ],
)
def test_a_lifecycle_image_without_a_usable_last_layer_fails(
    lifecycle_image: oci.RemoteImage, message: str
) -> None:
    with pytest.raises(problems.BuilderProblem) as failure:
        plan(lifecycle_image=lifecycle_image)
    assert str(failure.value) == message
