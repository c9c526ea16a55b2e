"""``kiln validate | convert | plan | render-pod | schema`` as a user runs them (typer's CliRunner).

Exit 0 on success with the document(s) on stdout; 1 on invalid input with one message per line on
stderr and nothing on stdout; 2 on usage errors.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner, Result

from contracts import events
from services.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-28T12:00:00Z"
BUILDER_DIGEST = "registry.example.com/builder@sha256:" + "1" * 64
RUN_DIGEST = "registry.example.com/run@sha256:" + "2" * 64
APP_DIGEST = "registry.example.com/team/app@sha256:" + "3" * 64
CACHE_DIGEST = "registry.example.com/team/app-cache@sha256:" + "4" * 64
RESOLVED_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def kiln(*args: str) -> Result:
    """Run ``kiln`` in-process (the autouse fixture runs it in the fixtures directory)."""
    return CliRunner().invoke(main.app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)


def ok(result: Result) -> str:
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    return result.stdout


def rejected(result: Result) -> list[str]:
    assert (result.exit_code, result.stdout) == (1, "")
    return result.stderr.splitlines()


def usage_error(result: Result) -> tuple[str, str]:
    """(the usage line, the error text inside typer's box, unwrapped)."""
    assert (result.exit_code, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    boxed = [line.strip("│ ") for line in lines if line.startswith("│")]
    return lines[0], " ".join(boxed)


def defaulted(name: str, *, cache: str = "") -> str:
    """The text ``kiln validate`` prints for a fixture Image after kpack's webhook defaults."""
    template = textwrap.dedent(
        """\
        apiVersion: kpack.io/v1alpha2
        kind: Image
        metadata:
          name: {name}
          namespace: default
        spec:
          tag: registry.example.com/team/{name}
          builder:
            kind: ClusterBuilder
            name: default
          serviceAccountName: default
          source:
            git:
              url: https://github.com/x/y
              revision: main
        {cache}  failedBuildHistoryLimit: 10
          successBuildHistoryLimit: 10
          imageTaggingStrategy: BuildNumber
        """
    )
    return template.format(name=name, cache=cache)


def registry_cache(name: str) -> str:
    return f"  cache:\n    registry:\n      tag: registry.example.com/team/{name}-cache\n"


# --- validate -----------------------------------------------------------------------------------


def test_validate_prints_the_defaulted_image_as_yaml() -> None:
    assert ok(kiln("validate", "image.yaml")) == defaulted("app", cache=registry_cache("app"))


def test_validate_prints_json_with_output_json() -> None:
    printed = json.loads(ok(kiln("validate", "image.yaml", "--output", "json")))
    assert printed == yaml.safe_load(defaulted("app", cache=registry_cache("app")))
    assert ok(kiln("validate", "image.yaml", "-o", "json")).startswith(
        '{\n  "apiVersion": "kpack.io/v1alpha2"'
    )


def test_validate_with_a_default_storage_class_adds_the_2g_volume_cache() -> None:
    out = ok(kiln("validate", "image-no-cache.yaml", "--default-storage-class"))
    assert out == defaulted("app", cache="  cache:\n    volume:\n      size: 2G\n")


def test_validate_without_a_default_storage_class_adds_no_cache() -> None:
    assert ok(kiln("validate", "image-no-cache.yaml")) == defaulted("app")


def test_validate_prints_every_yaml_document_separated_by_dashes() -> None:
    expected = defaulted("api", cache=registry_cache("api")) + "---\n" + defaulted("web")
    assert ok(kiln("validate", "images.yaml")) == expected


def test_validate_reads_a_json_list_and_prints_a_json_list() -> None:
    printed = json.loads(ok(kiln("validate", "images.json", "-o", "json")))
    assert printed == [
        yaml.safe_load(defaulted("api", cache=registry_cache("api"))),
        yaml.safe_load(defaulted("web")),
    ]


def test_validate_a_v1alpha1_image_through_conversion_and_prints_it_as_v1alpha1() -> None:
    assert ok(kiln("validate", "image-v1alpha1.yaml")) == textwrap.dedent(
        """\
        apiVersion: kpack.io/v1alpha1
        kind: Image
        metadata:
          name: app
          namespace: default
          annotations:
            kpack.io/cache.registry.tag: registry.example.com/team/app-cache
        spec:
          tag: registry.example.com/team/app
          builder:
            kind: ClusterBuilder
            name: default
          serviceAccount: default
          source:
            git:
              url: https://github.com/x/y
              revision: main
          failedBuildHistoryLimit: 10
          successBuildHistoryLimit: 10
          imageTaggingStrategy: BuildNumber
        """
    )


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        pytest.param(
            ["image-both-caches.yaml"],
            [
                "only one type of cache can be specified: spec.cache.registry, spec.cache.volume",
                "spec.cache.volume.size cannot be set without spec.cache.volume.storageClassName"
                " or a default StorageClass: ",
            ],
            id="two kinds of cache are rejected as kpack rejects them",
        ),
        pytest.param(
            ["image-volume-1G.yaml", "--old", "image-volume-2G.yaml"],
            ["Field cannot be decreased: spec.cache.volume.size", "current: 2G, requested: 1G"],
            id="an update may not shrink the volume cache",
        ),
        pytest.param(
            ["image-cache-is-app-tag.yaml"],
            [
                "the registry cache would overwrite the app image: spec.cache.registry.tag, spec.tag",
                "spec.cache.registry.tag must differ from spec.tag;"
                " use a separate tag such as registry.example.com/team/app-cache",
            ],
            id="a registry cache tag equal to the app tag is rejected (Kiln's rule)",
        ),
        pytest.param(
            ["images-one-invalid.yaml"],
            [
                "Image web: the registry cache would overwrite the app image: spec.cache.registry.tag, spec.tag",
                "Image web: spec.cache.registry.tag must differ from spec.tag;"
                " use a separate tag such as registry.example.com/team/web-cache",
            ],
            id="with several documents every line names the document it is about",
        ),
        pytest.param(
            ["image-v1alpha1-invalid.yaml"],
            ["Image kpack.io/v1alpha1 is not valid: spec.tag: Input should be a valid string"],
            id="a v1alpha1 image that does not convert is one line, not pydantic's report",
        ),
        pytest.param(
            ["source-resolver.yaml"],
            [
                "kind: expected a kpack.io Image, Build, ClusterStore, ClusterStack, ClusterLifecycle, Buildpack, "
                "ClusterBuildpack, Builder or ClusterBuilder, got kpack.io/v1alpha2 SourceResolver"
            ],
            id="only the kinds kpack's webhook admits are validated",
        ),
        pytest.param(
            ["cluster-builder.yaml"],
            ["missing field(s): spec.serviceAccountRef.name"],
            id="a ClusterBuilder without a spec gets kpack's first answer only",
        ),
        pytest.param(
            ["empty.yaml"],
            ["empty.yaml: no documents"],
            id="an empty file is invalid input, not an empty success",
        ),
        pytest.param(
            ["images.yaml", "--old", "image.yaml"],
            ["--old: expected 2 document(s) to match images.yaml, found 1"],
            id="--old must hold one document per document",
        ),
        pytest.param(
            ["missing.yaml"],
            ["missing.yaml: cannot read: No such file or directory"],
            id="a missing file is reported by name",
        ),
    ],
)
def test_validate_rejects_invalid_input_with_one_message_per_line(
    args: list[str], messages: list[str]
) -> None:
    assert rejected(kiln("validate", *args)) == messages


def fixture_with(tmp_path: Path, name: str, *, replace: str = "", by: str = "", append: str = "") -> str:
    """A copy of fixture ``name`` with ``replace`` replaced ``by``, then ``append`` appended."""
    text = (FIXTURES / name).read_text()
    assert replace in text
    path = tmp_path / name
    path.write_text(text.replace(replace, by) + append)
    return str(path)


@pytest.mark.parametrize(
    ("name", "edit", "messages"),
    [
        pytest.param(
            "image.yaml",
            {
                "append": "  build:\n    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: victim, key: t}}}]\n"
            },
            [
                "secretKeyRef is not supported for build environment variables: "
                "spec.build.env[0].valueFrom.secretKeyRef"
            ],
            id="kpack: disallows secretKeyRef in build env (image)",
        ),
        pytest.param(
            "image.yaml",
            {"append": "  build:\n    cnbBindings: [{name: apm, metadataRef: {name: m}}]\n"},
            [
                "use of this field has been deprecated in v1alpha2, please use v1alpha1 for CNB bindings: "
                "spec.build.cnbBindings"
            ],
            id="kpack: validates cnb bindings have not been created by a user",
        ),
        pytest.param(
            "image.yaml",
            {"append": "  build:\n    creationTime: yesterday\n"},
            ["invalid value: yesterday: spec.build.creationTime"],
            id="kpack: fails if the creation time is not 'now' or a valid timestamp",
        ),
        pytest.param(
            "image.yaml",
            {
                "replace": "{git: {url: https://github.com/x/y, revision: main}}",
                "by": "{blob: {url: u, auth: basic}}",
            },
            ["invalid value: basic: spec.source.blob.auth", "must be one of '', 'helper', or 'secret'"],
            id="a blob auth other than '', helper or secret (core/v1alpha1 Blob.Validate)",
        ),
        pytest.param(
            "build.yaml",
            {"append": "  env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: victim, key: t}}}]\n"},
            [
                "secretKeyRef is not supported for build environment variables: spec.env[0].valueFrom.secretKeyRef"
            ],
            id="kpack: disallows secretKeyRef in build env (build)",
        ),
        pytest.param(
            "build.yaml",
            {
                "replace": "builder: {image:",
                "by": "builder: {ref: {kind: ClusterBuilder, name: default}, image:",
            },
            ["expected exactly one, got both: spec.builder.image, spec.builder.ref"],
            id="kpack: both image and builder by ref present",
        ),
        pytest.param(
            "build.yaml",
            {"replace": "builder: {image:", "by": "builder: {imagePullSecrets: [], x:"},
            ["missing field(s): spec.builder.image, spec.builder.ref"],
            id="kpack: missing builder name",
        ),
    ],
)
def test_validate_gives_kpacks_answers(
    tmp_path: Path, name: str, edit: dict[str, str], messages: list[str]
) -> None:
    assert rejected(kiln("validate", fixture_with(tmp_path, name, **edit))) == messages


def test_validate_accepts_a_build_naming_its_builder_by_ref(tmp_path: Path) -> None:
    """kpack: valid cluster builder by ref."""
    path = fixture_with(
        tmp_path,
        "build.yaml",
        replace="builder: {image: registry.example.com/builder@sha256:" + "1" * 64 + "}",
        by="builder: {ref: {kind: ClusterBuilder, name: default}}",
    )
    assert yaml.safe_load(ok(kiln("validate", path)))["spec"]["builder"] == {
        "ref": {"kind": "ClusterBuilder", "name": "default"}
    }


def test_validate_a_v1alpha1_image_with_bindings_is_not_told_to_use_v1alpha1(tmp_path: Path) -> None:
    """kpack's webhook never sees a v1alpha1 request (matchPolicy: Exact): its bindings are
    checked for their contents, never refused as deprecated."""
    bound = fixture_with(
        tmp_path,
        "image-v1alpha1.yaml",
        append="  build:\n    bindings: [{name: apm, metadataRef: {name: m}}]\n",
    )
    assert yaml.safe_load(ok(kiln("validate", bound)))["spec"]["build"]["bindings"] == [
        {"name": "apm", "metadataRef": {"name": "m"}}
    ]
    unnamed = fixture_with(
        tmp_path, "image-v1alpha1.yaml", append="  build:\n    bindings: [{metadataRef: {name: m}}]\n"
    )
    assert rejected(kiln("validate", unnamed)) == ["missing field(s): spec.build.cnbBindings[0].name"]


# --- validate: the builder half -------------------------------------------------------------------


def test_validate_prints_kpacks_builder_half_examples_with_kpacks_defaults() -> None:
    source = list(yaml.safe_load_all((FIXTURES / "builder-half.yaml").read_text()))
    printed = list(yaml.safe_load_all(ok(kiln("validate", "builder-half.yaml"))))

    assert [(d["kind"], d["metadata"]["name"]) for d in printed] == [
        (d["kind"], d["metadata"]["name"]) for d in source
    ]
    changed = {d["kind"]: d["spec"] for d, s in zip(printed, source, strict=True) if d != s}
    lifecycle = {"kind": "ClusterLifecycle", "name": "default-lifecycle"}
    assert changed.keys() == {"Buildpack", "Builder", "ClusterBuilder"}
    assert changed["Buildpack"]["serviceAccountName"] == "default"
    builder = changed["Builder"]
    assert (builder["serviceAccountName"], builder["stack"], builder["lifecycle"]) == (
        "default",
        {"kind": "ClusterStack", "name": "bionic-stack"},
        lifecycle,
    )
    assert changed["ClusterBuilder"]["lifecycle"] == lifecycle
    assert "serviceAccountName" not in changed["ClusterBuilder"]


def a_document(tmp_path: Path, kind: str, spec: dict[str, Any], *, version: str = "v1alpha2") -> str:
    metadata = {"name": "x", "namespace": "team"} if kind in ("Buildpack", "Builder") else {"name": "x"}
    path = tmp_path / "doc.yaml"
    path.write_text(
        yaml.safe_dump(
            {"apiVersion": f"kpack.io/{version}", "kind": kind, "metadata": metadata, "spec": spec}
        )
    )
    return str(path)


@pytest.mark.parametrize(
    ("kind", "spec", "messages"),
    [
        pytest.param(
            "ClusterStore",
            {"serviceAccountRef": {"name": "x"}},
            ["missing field(s): spec.serviceAccountRef.namespace"],
            id="§6 1: a store without sources and a half serviceAccountRef names only the namespace",
        ),
        pytest.param(
            "ClusterStack",
            {"id": "s", "buildImage": {"image": "@INAVALID!"}},
            ["invalid value: @INAVALID!: spec.buildImage.image", "missing field(s): spec.runImage.image"],
            id="kpack: invalid build image, missing run image",
        ),
        pytest.param(
            "ClusterLifecycle", {}, ["missing field(s): spec.image"], id="a lifecycle without image"
        ),
        pytest.param(
            "Buildpack",
            {"image": "ftp//invalid/tag@@"},
            ["invalid value: ftp//invalid/tag@@: spec.image"],
            id="kpack: invalid source image (Buildpack)",
        ),
        pytest.param(
            "ClusterBuildpack",
            {"image": ""},
            ["missing field(s): spec.image"],
            id="kpack: missing source image (ClusterBuildpack)",
        ),
        pytest.param(
            "Builder",
            {"tag": "some-registry.io/b@sha256:" + "a" * 64, "stack": {"name": "s"}},
            ["invalid value: some-registry.io/b@sha256:" + "a" * 64 + ": spec.tag"],
            id="§6 14: a builder tag with a digest",
        ),
        pytest.param(
            "Builder",
            {"tag": "r/b", "stack": {"name": "s"}, "store": {"kind": "FakeStore", "name": "s"}},
            ["invalid value: FakeStore: spec.store.kind", "must be one of ClusterStore"],
            id="§6 11: a builder store of kind FakeStore, the details on their own line",
        ),
        pytest.param(
            "Builder",
            {
                "tag": "r/b",
                "stack": {"name": "s"},
                "order": [{"group": [{"kind": "FakeBuildpack", "name": "x"}]}],
            },
            [
                "invalid value: FakeBuildpack: spec.order[0].group[0].kind",
                "must be one of Buildpack, ClusterBuildpack",
            ],
            id="§6 12: a group entry of kind FakeBuildpack",
        ),
        pytest.param(
            "Builder",
            {"tag": "r/b", "stack": {"name": "s"}, "order": [{"group": [{"image": "r/bp"}]}]},
            ["must not set the field(s): spec.order[0].group[0].image reference currently not supported"],
            id="§6 13: a group entry naming an image",
        ),
        pytest.param(
            "ClusterBuilder",
            {"tag": "r/b", "stack": {"name": "s"}, "serviceAccountRef": {"name": "sa", "namespace": "n"}},
            ["invalid value: : stack.kind"],
            id="§6 10: a ClusterBuilder without stack kind",
        ),
        pytest.param(
            "ClusterStore",
            {"sources": "oops"},
            ["ClusterStore kpack.io/v1alpha2 is not valid: spec.sources: Input should be a valid list"],
            id="a document the model cannot read is one line, not pydantic's report",
        ),
    ],
)
def test_validate_gives_kpacks_answers_for_the_builder_half(
    tmp_path: Path, kind: str, spec: dict[str, Any], messages: list[str]
) -> None:
    assert rejected(kiln("validate", a_document(tmp_path, kind, spec))) == messages


def test_validate_admits_the_builder_half_at_v1alpha2_only(tmp_path: Path) -> None:
    stack = {"id": "s", "buildImage": {"image": "r/build"}, "runImage": {"image": "r/run"}}

    assert rejected(kiln("validate", a_document(tmp_path, "ClusterStack", stack, version="v1alpha1"))) == [
        "apiVersion: a ClusterStack is admitted at kpack.io/v1alpha2 only, got kpack.io/v1alpha1"
    ]
    assert yaml.safe_load(ok(kiln("validate", a_document(tmp_path, "ClusterStack", stack))))["spec"] == stack


# --- convert ------------------------------------------------------------------------------------


def test_convert_to_v1alpha1_carries_the_registry_cache_in_an_annotation() -> None:
    out = ok(kiln("convert", "image.yaml", "--to", "kpack.io/v1alpha1"))
    assert out == (FIXTURES / "image-v1alpha1.yaml").read_text()


def test_convert_from_v1alpha1_reads_the_registry_cache_annotation_back() -> None:
    out = ok(kiln("convert", "image-v1alpha1.yaml", "--to", "kpack.io/v1alpha2"))
    assert yaml.safe_load(out) == yaml.safe_load((FIXTURES / "image.yaml").read_text())
    assert "annotations" not in out


def test_convert_to_v1alpha1_carries_the_volume_storage_class_in_an_annotation() -> None:
    out = ok(kiln("convert", "image-volume-1G.yaml", "--to", "kpack.io/v1alpha1"))
    assert out == textwrap.dedent(
        """\
        apiVersion: kpack.io/v1alpha1
        kind: Image
        metadata:
          name: app
          namespace: default
          annotations:
            kpack.io/cache.volume.storageClassName: fast
        spec:
          tag: registry.example.com/team/app
          builder:
            kind: ClusterBuilder
            name: default
          source:
            git:
              url: https://github.com/x/y
              revision: main
          cacheSize: 1G
        """
    )


def test_convert_from_v1alpha1_rebuilds_the_volume_cache_from_size_and_annotation() -> None:
    out = ok(kiln("convert", "image-volume-v1alpha1.yaml", "--to", "kpack.io/v1alpha2"))
    assert out == textwrap.dedent(
        """\
        apiVersion: kpack.io/v1alpha2
        kind: Image
        metadata:
          name: app
          namespace: default
        spec:
          tag: registry.example.com/team/app
          builder:
            kind: ClusterBuilder
            name: default
          source:
            git:
              url: https://github.com/x/y
              revision: main
          cache:
            volume:
              size: 1G
              storageClassName: fast
        """
    )


def test_convert_to_v1alpha1_carries_what_v1alpha1_lacks_in_kpacks_annotations(tmp_path: Path) -> None:
    build = (
        "  build:\n"
        "    services: [{name: db, apiVersion: v1, kind: Secret}]\n"
        "    tolerations: [{key: gpu, operator: Exists}]\n"
        "    nodeSelector: {zone: b, disk: ssd}\n"
        "    schedulerName: custom\n"
        "    buildTimeout: 3600\n"
        "  cosign: {annotations: [{value: v, name: n}]}\n"
        "  defaultProcess: web\n"
    )
    out = ok(kiln("convert", fixture_with(tmp_path, "image.yaml", append=build), "--to", "kpack.io/v1alpha1"))
    converted = yaml.safe_load(out)
    assert converted["metadata"]["annotations"] == {
        "kpack.io/services": '[{"kind":"Secret","name":"db","apiVersion":"v1"}]',
        "kpack.io/tolerations": '[{"key":"gpu","operator":"Exists"}]',
        "kpack.io/nodeSelector": '{"disk":"ssd","zone":"b"}',
        "kpack.io/schedulerName": "custom",
        "kpack.io/buildTimeout": "3600",
        "kpack.io/cache.registry.tag": "registry.example.com/team/app-cache",
        "kpack.io/cosignAnnotation": '[{"name":"n","value":"v"}]',
        "kpack.io/defaultProcess": "web",
    }
    assert converted["spec"]["build"] == {}
    assert {"cosign", "defaultProcess"}.isdisjoint(converted["spec"])
    back = tmp_path / "v1alpha1.yaml"
    back.write_text(out)
    again = yaml.safe_load(ok(kiln("convert", str(back), "--to", "kpack.io/v1alpha2")))
    assert again == yaml.safe_load((FIXTURES / "image.yaml").read_text() + build)


def test_convert_a_json_list_prints_a_json_list() -> None:
    printed = json.loads(ok(kiln("convert", "images.json", "--to", "kpack.io/v1alpha1", "-o", "json")))
    assert [doc["apiVersion"] for doc in printed] == ["kpack.io/v1alpha1", "kpack.io/v1alpha1"]
    assert [doc["metadata"].get("annotations") for doc in printed] == [
        {"kpack.io/cache.registry.tag": "registry.example.com/team/api-cache"},
        None,
    ]


def test_convert_to_the_same_version_prints_the_object_unchanged() -> None:
    out = ok(kiln("convert", "image.yaml", "--to", "kpack.io/v1alpha2"))
    assert yaml.safe_load(out) == yaml.safe_load((FIXTURES / "image.yaml").read_text())


def test_convert_rejects_what_is_not_an_image_or_build() -> None:
    assert rejected(kiln("convert", "cluster-builder.yaml", "--to", "kpack.io/v1alpha1")) == [
        "cannot convert ClusterBuilder kpack.io/v1alpha2 to kpack.io/v1alpha1: only kpack Images and Builds convert"
    ]


# --- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "usage", "error"),
    [
        pytest.param(
            ["convert", "image.yaml"],
            "Usage: kiln convert [OPTIONS] {file}",
            "Missing option '--to'.",
            id="convert without --to",
        ),
        pytest.param(
            ["convert", "image.yaml", "--to", "kpack.io/v1"],
            "Usage: kiln convert [OPTIONS] {file}",
            "Invalid value for --to: expected one of kpack.io/v1alpha1, kpack.io/v1alpha2",
            id="convert to an unknown version",
        ),
        pytest.param(
            ["plan", "image.yaml"],
            "Usage: kiln plan [OPTIONS] {image_file}",
            "Missing option '--builder'.",
            id="plan without --builder",
        ),
        pytest.param(
            ["plan", "image.yaml", "--builder", "cluster-builder.yaml", "--now", "yesterday"],
            "Usage: kiln plan [OPTIONS] {image_file}",
            "Invalid value for --now: not an RFC 3339 time: yesterday",
            id="plan at a time that is not RFC 3339",
        ),
        pytest.param(
            ["plan", "image.yaml", "--builder", "cluster-builder.yaml", "--now", "2026-11-28T12:00:00"],
            "Usage: kiln plan [OPTIONS] {image_file}",
            "Invalid value for --now: RFC 3339 time needs a time zone: 2026-11-28T12:00:00",
            id="plan at a time without a zone",
        ),
        pytest.param(
            ["render-pod", "build.yaml"],
            "Usage: kiln render-pod [OPTIONS] {build_file}",
            "Missing option '--builder-config'.",
            id="render-pod without --builder-config",
        ),
        pytest.param(
            ["validate", "image.yaml", "-o", "xml"],
            "Usage: kiln validate [OPTIONS] {file}",
            "Invalid value for '--output' / '-o': Value error, 'xml' is not one of 'yaml', 'json'.",
            id="an unknown output format",
        ),
    ],
)
def test_usage_errors_exit_2_with_the_usage_line(args: list[str], usage: str, error: str) -> None:
    assert usage_error(kiln(*args)) == (usage, error)


# --- plan ---------------------------------------------------------------------------------------

PLAN_KEYS = ["buildRequired", "reasons", "changes", "build", "cachePvc", "deleteBuilds", "status"]
PLAN = [
    "plan",
    "image.yaml",
    "--builder",
    "cluster-builder.yaml",
    "--source-resolver",
    "source-resolver.yaml",
]


def planned(*extra: str) -> dict[str, Any]:
    document = yaml.safe_load(ok(kiln(*PLAN, *extra, "--now", NOW)))
    assert isinstance(document, dict)
    assert list(document) == PLAN_KEYS
    return document


def test_plan_of_a_first_build_is_a_config_build_named_after_the_image() -> None:
    document = planned()
    build = document["build"]
    assert (document["buildRequired"], document["reasons"]) == ("True", ["CONFIG"])
    assert document["changes"] == (
        '[{"reason":"CONFIG","old":{"resources":{},"source":{}},"new":{"resources":{},"source":'
        f'{{"git":{{"url":"https://github.com/x/y","revision":"{RESOLVED_COMMIT}"}}}}}}}}]'
    )
    assert build["metadata"]["name"] == "app-build-1"
    assert build["metadata"]["annotations"]["image.kpack.io/reason"] == "CONFIG"
    assert build["spec"]["cache"] == {"registry": {"tag": "registry.example.com/team/app-cache"}}
    assert build["spec"]["builder"] == {"image": BUILDER_DIGEST}
    assert build["spec"]["source"] == {"git": {"url": "https://github.com/x/y", "revision": RESOLVED_COMMIT}}
    assert build["spec"]["tags"] == [
        "registry.example.com/team/app",
        "registry.example.com/team/app:b1.20261128.120000",
    ]
    assert "lastBuild" not in build["spec"]
    assert (document["cachePvc"], document["deleteBuilds"]) == ({"action": "none", "object": None}, [])
    assert document["status"]["latestBuildRef"] == "app-build-1"
    assert document["status"]["conditions"][0] == {
        "type": "Ready",
        "status": "Unknown",
        "reason": "BuildRunning",
        "message": "Build 'app-build-1' is executing",
        "lastTransitionTime": NOW,
    }


def test_plan_after_a_succeeded_build_of_another_commit_reuses_its_cache_image() -> None:
    document = planned("--builds", "builds.yaml", "-o", "json")
    build = document["build"]
    assert (document["buildRequired"], document["reasons"]) == ("True", ["COMMIT"])
    assert document["changes"] == f'[{{"reason":"COMMIT","old":"{"f" * 40}","new":"{RESOLVED_COMMIT}"}}]'
    assert build["metadata"]["name"] == "app-build-2"
    assert build["spec"]["lastBuild"] == {
        "image": APP_DIGEST,
        "cache": {"image": CACHE_DIGEST},
        "stackId": "io.buildpacks.stacks.jammy",
    }
    assert document["status"]["latestImage"] == APP_DIGEST


def test_plan_accepts_builds_written_as_v1alpha1(tmp_path: Path) -> None:
    path = tmp_path / "builds-v1alpha1.yaml"
    path.write_text(ok(kiln("convert", "builds.yaml", "--to", "kpack.io/v1alpha1")))
    document = planned("--builds", str(path))
    assert (document["reasons"], document["build"]["metadata"]["name"]) == (["COMMIT"], "app-build-2")


def test_plan_without_a_resolver_creates_one_and_waits_for_it() -> None:
    out = ok(kiln("plan", "image.yaml", "--builder", "cluster-builder.yaml", "--now", NOW))
    document = yaml.safe_load(out)
    assert list(document) == PLAN_KEYS
    assert (document["buildRequired"], document["reasons"], document["changes"], document["build"]) == (
        "Unknown",
        [],
        "",
        None,
    )
    assert document["status"]["conditions"][0] == {
        "type": "Ready",
        "status": "Unknown",
        "reason": "ResolverNotReady",
        "message": "Error: SourceResolver 'app-source' is not ready",
        "lastTransitionTime": NOW,
    }


PUSHED_COMMIT = "9" * 40


def test_plan_of_a_push_moves_the_resolver_and_builds_the_pushed_commit() -> None:
    document = yaml.safe_load(
        ok(
            kiln(
                *PLAN,
                "--builds",
                "builds.yaml",
                "--push",
                PUSHED_COMMIT,
                "--before",
                RESOLVED_COMMIT,
                "--now",
                NOW,
            )
        )
    )
    assert list(document) == [*PLAN_KEYS, "sourceResolver"]
    assert (document["buildRequired"], document["reasons"]) == ("True", ["COMMIT"])
    assert document["changes"] == f'[{{"reason":"COMMIT","old":"{"f" * 40}","new":"{PUSHED_COMMIT}"}}]'
    assert document["build"]["spec"]["source"] == {
        "git": {"url": "https://github.com/x/y", "revision": PUSHED_COMMIT}
    }
    resolver = document["sourceResolver"]
    assert (resolver["action"], resolver["object"], resolver["push"]) == ("none", None, "move")
    assert resolver["status"]["source"]["git"]["revision"] == PUSHED_COMMIT
    assert resolver["status"]["pushes"] == {"commits": [RESOLVED_COMMIT, PUSHED_COMMIT], "deliveries": []}
    assert resolver["status"]["conditions"] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": NOW}
    ]


def test_plan_of_a_push_of_the_commit_already_resolved_keeps_the_revision_and_remembers_the_push() -> None:
    document = yaml.safe_load(
        ok(kiln(*PLAN, "--builds", "builds.yaml", "--push", RESOLVED_COMMIT, "--now", NOW))
    )
    resolver = document["sourceResolver"]
    assert (resolver["action"], resolver["push"]) == ("none", "current")
    assert resolver["status"]["source"]["git"]["revision"] == RESOLVED_COMMIT
    assert resolver["status"]["pushes"] == {"commits": [RESOLVED_COMMIT], "deliveries": []}
    assert document["build"]["spec"]["source"]["git"]["revision"] == RESOLVED_COMMIT


def test_plan_of_a_push_before_the_resolver_exists_creates_and_resolves_it_in_the_same_reconcile() -> None:
    document = yaml.safe_load(
        ok(
            kiln(
                "plan",
                "image.yaml",
                "--builder",
                "cluster-builder.yaml",
                "--push",
                PUSHED_COMMIT,
                "--now",
                NOW,
            )
        )
    )
    resolver = document["sourceResolver"]
    assert (resolver["action"], resolver["push"]) == ("create", None)
    assert resolver["object"]["metadata"]["name"] == "app-source"
    assert resolver["status"]["observedGeneration"] == 1
    # the push concerned no resolver yet: the created one starts from its spec's branch
    git = resolver["status"]["source"]["git"]
    assert (git["url"], git["revision"], git["type"]) == ("https://github.com/x/y", "main", "Branch")
    assert (document["buildRequired"], document["reasons"]) == ("True", ["CONFIG"])
    assert document["build"]["spec"]["source"]["git"]["revision"] == "main"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(
            ["--push", "main"],
            "Invalid value for --push: expected a full commit id (40 or 64 lowercase hexadecimal digits), got 'main'",
            id="a push names a commit, not a branch",
        ),
        pytest.param(
            ["--push", PUSHED_COMMIT, "--before", "abc"],
            "Invalid value for --before: expected a full commit id (40 or 64 lowercase hexadecimal digits), got 'abc'",
            id="before names a full commit",
        ),
        pytest.param(
            ["--before", PUSHED_COMMIT],
            "Invalid value for --before: --before needs --push COMMIT",
            id="before without a push",
        ),
    ],
)
def test_plan_push_usage_errors(args: list[str], error: str) -> None:
    assert usage_error(kiln(*PLAN, *args)) == ("Usage: kiln plan [OPTIONS] {image_file}", error)


def test_plan_of_a_push_to_an_image_without_a_git_source_is_a_usage_error(tmp_path: Path) -> None:
    image = yaml.safe_load((FIXTURES / "image.yaml").read_text())
    image["spec"]["source"] = {"blob": {"url": "https://example.com/source.tgz"}}
    path = tmp_path / "blob-image.yaml"
    path.write_text(yaml.safe_dump(image))
    assert usage_error(
        kiln("plan", str(path), "--builder", "cluster-builder.yaml", "--push", PUSHED_COMMIT)
    ) == (
        "Usage: kiln plan [OPTIONS] {image_file}",
        "Invalid value for --push: the Image has no git source (spec.source.git) to push to",
    )


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        pytest.param(
            ["plan", "cluster-builder.yaml", "--builder", "cluster-builder.yaml"],
            ["cluster-builder.yaml: expected a kpack.io Image, got kpack.io/v1alpha2 ClusterBuilder"],
            id="the image file must hold an Image",
        ),
        pytest.param(
            ["plan", "image.yaml", "--builder", "image.yaml"],
            ["image.yaml: expected a kpack.io Builder or ClusterBuilder, got kpack.io/v1alpha2 Image"],
            id="the builder file must hold a Builder or ClusterBuilder",
        ),
        pytest.param(
            ["plan", "image.yaml", "--builder", "cluster-builder.yaml", "--builds", "image.yaml"],
            ["image.yaml: expected a kpack.io Build, got kpack.io/v1alpha2 Image"],
            id="the builds file must hold Builds",
        ),
        pytest.param(
            ["plan", "image-v1alpha1-invalid.yaml", "--builder", "cluster-builder.yaml"],
            ["Image kpack.io/v1alpha1 is not valid: spec.tag: Input should be a valid string"],
            id="a v1alpha1 image that does not convert is invalid input, not a crash",
        ),
        pytest.param(
            ["plan", "images.yaml", "--builder", "cluster-builder.yaml"],
            ["images.yaml: expected exactly one document, found 2"],
            id="the image file holds one Image",
        ),
    ],
)
def test_plan_rejects_input_of_the_wrong_kind(args: list[str], messages: list[str]) -> None:
    assert rejected(kiln(*args, "--now", NOW)) == messages


# --- render-pod ---------------------------------------------------------------------------------


def rendered(*extra: str) -> dict[str, Any]:
    out = ok(
        kiln("render-pod", "build.yaml", "--builder-config", "builder-config.json", "--now", NOW, *extra)
    )
    pod = yaml.safe_load(out)
    assert isinstance(pod, dict)
    return pod


def args_of(pod: dict[str, Any], name: str) -> list[str]:
    (container,) = [c for c in pod["spec"]["initContainers"] if c["name"] == name]
    args = container["args"]
    assert isinstance(args, list)
    return args


def test_render_pod_prints_a_valid_kubernetes_pod() -> None:
    pod = rendered()
    kubernetes_validate.validate(pod, "1.30", strict=True)
    assert (pod["apiVersion"], pod["kind"], pod["metadata"]["name"]) == ("v1", "Pod", "app-build-2-build-pod")


def test_render_pod_restores_from_the_pinned_cache_digest_and_exports_to_the_tag() -> None:
    pod = rendered()
    assert args_of(pod, "analyze") == [
        "-layers=/layers",
        "-analyzed=/layers/analyzed.toml",
        "-run-image=registry.example.com/run",
        f"-cache-image={CACHE_DIGEST}",
        f"-previous-image={APP_DIGEST}",
        "registry.example.com/team/app",
    ]
    assert args_of(pod, "restore") == [
        "-group=/layers/group.toml",
        "-layers=/layers",
        f"-cache-image={CACHE_DIGEST}",
        "-analyzed=/layers/analyzed.toml",
    ]
    assert args_of(pod, "export") == [
        "-layers=/layers",
        "-app=/workspace",
        "-group=/layers/group.toml",
        "-analyzed=/layers/analyzed.toml",
        "-project-metadata=/layers/project-metadata.toml",
        "-cache-image=registry.example.com/team/app-cache",
        "-report=/var/report/report.toml",
        "registry.example.com/team/app",
    ]


def test_render_pod_yaml_has_no_anchors_or_aliases_and_equals_the_json() -> None:
    out = ok(kiln("render-pod", "build.yaml", "--builder-config", "builder-config.json", "--now", NOW))
    assert "&id" not in out
    assert "*id" not in out
    assert yaml.safe_load(out) == rendered("-o", "json")


def test_render_pod_rejects_a_build_whose_tag_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad-build.yaml"
    bad.write_text(
        (FIXTURES / "build.yaml").read_text().replace("[registry.example.com/team/app]", '["Bad Tag!"]')
    )
    result = kiln("render-pod", str(bad), "--builder-config", "builder-config.json", "--now", NOW)
    assert rejected(result) == ["could not parse reference: Bad Tag!"]


def test_render_pod_mounts_secret_service_bindings_into_detect_and_build(tmp_path: Path) -> None:
    bound = tmp_path / "bound-build.yaml"
    bound.write_text(
        (FIXTURES / "build.yaml").read_text()
        + "  services: [{apiVersion: v1, kind: Secret, name: database}]\n"
    )
    out = ok(kiln("render-pod", str(bound), "--builder-config", "builder-config.json", "--now", NOW))
    pod = yaml.safe_load(out)
    kubernetes_validate.validate(pod, "1.30", strict=True)
    assert pod["spec"]["volumes"][-1] == {"name": "binding-database", "secret": {"secretName": "database"}}
    mount = {"name": "binding-database", "mountPath": "/platform/bindings/database", "readOnly": True}
    for step in ("detect", "build"):
        (container,) = [c for c in pod["spec"]["initContainers"] if c["name"] == step]
        assert container["volumeMounts"][-1] == mount


def test_render_pod_rejects_a_provisioned_service_it_cannot_read(tmp_path: Path) -> None:
    bound = tmp_path / "provisioned-build.yaml"
    bound.write_text(
        (FIXTURES / "build.yaml").read_text()
        + "  services: [{apiVersion: mysql.example.com/v1, kind: MySQL, name: db}]\n"
    )
    result = kiln("render-pod", str(bound), "--builder-config", "builder-config.json", "--now", NOW)
    assert rejected(result) == ['mysqls.mysql.example.com "db" not found']


def test_render_pod_rejects_a_windows_builder(tmp_path: Path) -> None:
    config = json.loads((FIXTURES / "builder-config.json").read_text()) | {"os": "windows"}
    path = tmp_path / "windows.json"
    path.write_text(json.dumps(config))
    result = kiln("render-pod", "build.yaml", "--builder-config", str(path), "--now", NOW)
    assert rejected(result) == ["windows builds are not supported"]


# --- schema -------------------------------------------------------------------------------------


def test_schema_prints_the_event_json_schema() -> None:
    out = ok(kiln("schema"))
    assert json.loads(out) == events.json_schema()
    assert out == json.dumps(events.json_schema(), indent=2, sort_keys=True) + "\n"
