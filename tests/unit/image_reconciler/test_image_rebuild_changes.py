"""Is a build required? Reasons, the changes JSON and the priority (spec §4.3; checklist 49, 51-58)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import image_fixtures as fx
import pytest

from contracts import builders, builds, images, source_resolvers
from services.image_reconciler import changes

OLD_GIT = f'{{"git":{{"url":"{fx.REPO_URL}","revision":"{fx.OLD_COMMIT}"}}}}'
NEW_GIT = f'{{"git":{{"url":"{fx.REPO_URL}","revision":"{fx.NEW_COMMIT}"}}}}'
COMMIT_CHANGE = f'{{"reason":"COMMIT","old":"{fx.OLD_COMMIT}","new":"{fx.NEW_COMMIT}"}}'
TRIGGERED = "A new build was manually triggered on Tue, 05 Mar 2024 14:07:09 +0000"
SAME_COMMIT = {"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}}


def decide(
    *,
    image: images.Image | None = None,
    latest: builds.Build | None = None,
    resolver: source_resolvers.SourceResolver | None = None,
    builder: builders.Builder | None = None,
) -> changes.Requirement:
    return changes.requirement(
        image or fx.image(),
        latest_build=latest,
        source_resolver=resolver or fx.resolver(),
        builder=builder or fx.builder(),
        now=fx.NOW,
    )


CASES = [
    pytest.param(
        {"latest": None},
        ("True", ["CONFIG"], fx.first_build_config_changes(), 1000),
        id="a first build is a CONFIG change from an empty config",
    ),
    pytest.param(
        {"resolver": fx.resolver(ready=False)},
        ("Unknown", [], "", 0),
        id="a resolver that is not ready makes the answer Unknown",
    ),
    pytest.param(
        {"builder": fx.builder(ready=False)},
        ("Unknown", [], "", 0),
        id="a builder that is not ready makes the answer Unknown",
    ),
    pytest.param(
        {"latest": fx.build(1), "resolver": fx.resolver(resolved=SAME_COMMIT)},
        ("False", [], "", 0),
        id="nothing changed since a successful build means no build",
    ),
    pytest.param(
        {"latest": fx.build(1, succeeded="False"), "resolver": fx.resolver(resolved=SAME_COMMIT)},
        ("False", [], "", 0),
        id="a failed build without changes is not retried",
    ),
    pytest.param(
        {"latest": fx.build(1)},
        ("True", ["COMMIT"], f"[{COMMIT_CHANGE}]", 1000),
        id="a new commit on a successful build is a COMMIT change",
    ),
    pytest.param(
        {"latest": fx.build(1, succeeded="False")},
        ("True", ["COMMIT"], f"[{COMMIT_CHANGE}]", 1000),
        id="a new commit after a failed build is a COMMIT change",
    ),
    pytest.param(
        {
            "latest": fx.build(1, succeeded="False"),
            "resolver": fx.resolver(
                resolved={"git": {"url": "https://other/repo", "revision": fx.NEW_COMMIT}}
            ),
        },
        (
            "True",
            ["COMMIT", "CONFIG"],
            f'[{COMMIT_CHANGE},{{"reason":"CONFIG","old":{{"resources":{{}},"source":{OLD_GIT}}},'
            f'"new":{{"resources":{{}},"source":{{"git":{{"url":"https://other/repo",'
            f'"revision":"{fx.NEW_COMMIT}"}}}}}}}}]',
            1000,
        ),
        id="a new revision and a new url are COMMIT then CONFIG",
    ),
    pytest.param(
        {
            "latest": fx.build(1, annotations={"image.kpack.io/additionalBuildNeeded": "x"}),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
        },
        ("True", ["TRIGGER"], f'[{{"reason":"TRIGGER","old":"","new":"{TRIGGERED}"}}]', 1000),
        id="the additionalBuildNeeded annotation is a TRIGGER change dated now",
    ),
    pytest.param(
        {
            "latest": fx.build(1, annotations={"image.kpack.io/additionalBuildNeeded": ""}),
        },
        (
            "True",
            ["TRIGGER", "COMMIT"],
            f'[{{"reason":"TRIGGER","old":"","new":"{TRIGGERED}"}},{COMMIT_CHANGE}]',
            1000,
        ),
        id="TRIGGER comes before COMMIT",
    ),
    pytest.param(
        {
            "latest": fx.build(1),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(
                buildpacks=[
                    {"id": "io.buildpack", "version": "new-version"},
                    {"id": "a.other", "version": "1"},
                ]
            ),
        },
        (
            "True",
            ["BUILDPACK"],
            '[{"reason":"BUILDPACK","old":[{"id":"io.buildpack","version":"v1"}],"new":null}]',
            1,
        ),
        id="a buildpack version missing from the builder is a low-priority BUILDPACK change",
    ),
    pytest.param(
        {
            "latest": fx.build(
                1,
                status={
                    "buildMetadata": [
                        {"id": "z.pack", "version": "1", "homepage": "https://z"},
                        {"id": "io.buildpack", "version": "v1"},
                        {"id": "b.pack", "version": "2"},
                    ]
                },
            ),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
        },
        (
            "True",
            ["BUILDPACK"],
            '[{"reason":"BUILDPACK","old":[{"id":"b.pack","version":"2"},{"id":"z.pack","version":"1"}],'
            '"new":null}]',
            1,
        ),
        id="missing buildpacks are listed by id without their homepage",
    ),
    pytest.param(
        {
            "latest": fx.build(1),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(run_image=fx.NEW_RUN_IMAGE),
        },
        (
            "True",
            ["STACK"],
            f'[{{"reason":"STACK","old":"sha256:{"1" * 64}","new":"sha256:{"2" * 64}"}}]',
            1,
        ),
        id="a new run image digest is a STACK change of digests",
    ),
    pytest.param(
        {
            "latest": fx.build(1, status={"stack": {"runImage": "gcr.io/run:old", "id": fx.STACK_ID}}),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(run_image="other.io/run:new"),
        },
        ("True", ["STACK"], '[{"reason":"STACK","old":"old","new":"new"}]', 1),
        id="tag run images compare by tag",
    ),
    pytest.param(
        {
            "latest": fx.build(1, status={"stack": {"runImage": "gcr.io/run:same", "id": fx.STACK_ID}}),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(run_image="other.io/run:same"),
        },
        ("False", [], "", 0),
        id="run images with equal identifiers in other repositories are no STACK change",
    ),
    pytest.param(
        {
            "latest": fx.build(1),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(lifecycle="0.18.0"),
        },
        ("True", ["LIFECYCLE"], '[{"reason":"LIFECYCLE","old":"0.17.0","new":"0.18.0"}]', 1),
        id="a new lifecycle version is a LIFECYCLE change",
    ),
    pytest.param(
        {
            "latest": fx.build(1),
            "builder": fx.builder(run_image=fx.NEW_RUN_IMAGE, lifecycle="0.18.0", buildpacks=[]),
        },
        (
            "True",
            ["COMMIT", "BUILDPACK", "STACK", "LIFECYCLE"],
            f'[{COMMIT_CHANGE},{{"reason":"BUILDPACK","old":[{{"id":"io.buildpack","version":"v1"}}],"new":null}},'
            f'{{"reason":"STACK","old":"sha256:{"1" * 64}","new":"sha256:{"2" * 64}"}},'
            '{"reason":"LIFECYCLE","old":"0.17.0","new":"0.18.0"}]',
            1000,
        ),
        id="all changes are listed in kpack's order and the priority is the highest",
    ),
    pytest.param(
        {
            "latest": fx.build(1, succeeded="False"),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
            "builder": fx.builder(run_image=fx.NEW_RUN_IMAGE, lifecycle="0.18.0", buildpacks=[]),
        },
        ("False", [], "", 0),
        id="builder changes are not compared against a failed build",
    ),
    pytest.param(
        {
            "latest": fx.build(1, spec={"source": {"blob": {"url": "https://blob"}}}),
            "resolver": fx.resolver(resolved={"blob": {"url": "https://blob"}}),
        },
        ("False", [], "", 0),
        id="a blob source without changes has no COMMIT detector",
    ),
    pytest.param(
        {
            "image": fx.image(
                {
                    "tag": "other/tag",
                    "additionalTags": ["other/tag:x"],
                    "serviceAccountName": "robot",
                    "cache": {"registry": {"tag": "some/cache"}},
                    "failedBuildHistoryLimit": 3,
                    "imageTaggingStrategy": "None",
                },
                generation=7,
            ),
            "latest": fx.build(1),
            "resolver": fx.resolver(resolved=SAME_COMMIT),
        },
        ("False", [], "", 0),
        id="tag, service account, cache, history limits and tagging strategy are not triggers",
    ),
]


@pytest.mark.parametrize(("observed", "expected"), CASES)
def test_build_requirement(observed: dict[str, object], expected: tuple[str, list[str], str, int]) -> None:
    result = decide(**observed)  # type: ignore[arg-type]
    assert (result.status, result.reasons, result.changes_json, result.priority) == expected
    assert result.reasons_string == ",".join(expected[1])


@pytest.mark.parametrize(
    ("priority", "class_name"),
    [
        pytest.param(
            1000, "kpack-build-high-priority", id="high priority changes use the high priority class"
        ),
        pytest.param(1, "kpack-build-low-priority", id="low priority changes use the low priority class"),
    ],
)
def test_priority_class_name(priority: int, class_name: str) -> None:
    change = changes.Change(reason="X", old="", new="", priority=priority)
    assert changes.Requirement(status="True", changes=(change,)).priority_class_name == class_name


def test_no_change_has_no_priority_class() -> None:
    assert changes.Requirement(status="False").priority_class_name == ""


BUILD_SETTINGS = {
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    "resources": {"requests": {"memory": "1Gi", "cpu": "500m"}},
    "services": [{"name": "db", "kind": "Secret", "apiVersion": "v1"}],
}
SAME_SETTINGS_SPELLED_DIFFERENTLY = {
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2", "valueFrom": None}],
    "resources": {"requests": {"memory": "1024Mi", "cpu": "0.5"}, "limits": {}},
    "services": [{"name": "db", "kind": "Secret", "apiVersion": "v1"}],
    "cnbBindings": [],
}


@pytest.mark.parametrize(
    ("last_spec", "resolved", "expected"),
    [
        pytest.param(
            SAME_SETTINGS_SPELLED_DIFFERENTLY,
            SAME_COMMIT,
            [],
            id="equal quantities, empty lists and null fields are semantically equal",
        ),
        pytest.param(
            {**BUILD_SETTINGS, "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]},
            SAME_COMMIT,
            ["CONFIG"],
            id="env order matters",
        ),
        pytest.param(
            {
                **BUILD_SETTINGS,
                "source": {"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}, "subPath": "x"},
            },
            SAME_COMMIT,
            ["CONFIG"],
            id="a changed subPath is a CONFIG change",
        ),
        pytest.param(
            BUILD_SETTINGS,
            {"git": {"url": fx.REPO_URL, "revision": fx.NEW_COMMIT}},
            ["COMMIT"],
            id="a new git revision is only a COMMIT change",
        ),
    ],
)
def test_config_comparison(
    last_spec: dict[str, object], resolved: dict[str, object], expected: list[str]
) -> None:
    image = fx.image({"build": BUILD_SETTINGS})
    result = decide(image=image, latest=fx.build(1, spec=last_spec), resolver=fx.resolver(resolved=resolved))
    assert result.reasons == expected


def test_config_change_document_follows_go_field_order_and_omitempty() -> None:
    image = fx.image(
        {
            "build": {
                "env": [
                    {"value": "<&>", "name": "A"},
                    {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s"}}},
                ],
                "resources": {
                    "requests": {"memory": "1Gi", "cpu": 1},
                    "limits": {"cpu": "2"},
                    "claims": [{"n": 1}],
                },
                "services": [{"name": "db"}],
                "cnbBindings": [{"name": "b"}],
            }
        }
    )
    resolved = {
        "git": {"url": fx.REPO_URL, "revision": fx.NEW_COMMIT, "initializeSubmodules": True, "subPath": "app"}
    }
    result = decide(image=image, resolver=fx.resolver(resolved=resolved))
    assert result.changes_json == (
        '[{"reason":"CONFIG","old":{"resources":{},"source":{}},"new":{'
        '"env":[{"name":"A","value":"\\u003c\\u0026\\u003e"},{"name":"B","valueFrom":{"secretKeyRef":{"name":"s","key":""}}}],'
        '"resources":{"limits":{"cpu":"2"},"requests":{"cpu":"1","memory":"1Gi"},"claims":[{"name":""}]},'
        '"services":[{"name":"db"}],"cnbBindings":[{"name":"b"}],'
        f'"source":{{"git":{{"url":"{fx.REPO_URL}","revision":"{fx.NEW_COMMIT}","initializeSubmodules":true}},'
        '"subPath":"app"}}}]'
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            {"blob": {"url": "https://b", "auth": "secret", "stripComponents": 1}, "subPath": "s"},
            {"blob": {"url": "https://b", "auth": "secret", "stripComponents": 1}, "subPath": "s"},
            id="a blob source keeps auth and stripComponents when set",
        ),
        pytest.param(
            {"blob": {"url": "https://b"}}, {"blob": {"url": "https://b"}}, id="a bare blob has only its url"
        ),
        pytest.param(
            {"registry": {"image": "reg/src", "imagePullSecrets": [{"name": "s"}]}},
            {"registry": {"image": "reg/src", "imagePullSecrets": [{"name": "s"}]}},
            id="a registry source keeps its pull secrets",
        ),
        pytest.param(
            {"registry": {"image": "reg/src", "imagePullSecrets": []}},
            {"registry": {"image": "reg/src"}},
            id="empty pull secrets are omitted",
        ),
        pytest.param(
            {"git": {}}, {"git": {"url": "", "revision": ""}}, id="git url and revision are never omitted"
        ),
    ],
)
def test_source_document(source: dict[str, object], expected: dict[str, object]) -> None:
    from contracts import sources

    assert changes.source_document(sources.SourceConfig.model_validate(source)) == expected


@pytest.mark.parametrize(
    ("latest", "builder", "message"),
    [
        pytest.param(
            fx.build(1, status={"stack": {"runImage": "", "id": fx.STACK_ID}}),
            fx.builder(),
            "could not parse reference: ",
            id="a successful build without a run image aborts with the STACK error",
        ),
        pytest.param(
            fx.build(1, status={"stack": None}),
            fx.builder(),
            "could not parse reference: ",
            id="a successful build without a stack aborts with the STACK error",
        ),
        pytest.param(
            fx.build(1),
            fx.builder(run_image="Not A Ref"),
            "could not parse reference: Not A Ref",
            id="an unparsable builder run image aborts with the STACK error",
        ),
    ],
)
def test_stack_detection_errors_abort(latest: builds.Build, builder: builders.Builder, message: str) -> None:
    with pytest.raises(changes.ReconcileError) as raised:
        decide(latest=latest, builder=builder)
    assert str(raised.value) == (
        "error determining if an image build is needed: "
        f"error determining if build is required for reason 'STACK': {message}"
    )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(fx.NOW, "Tue, 05 Mar 2024 14:07:09 +0000", id="an aware UTC time keeps +0000"),
        pytest.param(
            datetime(2006, 1, 2, 15, 4, 5, tzinfo=timezone(timedelta(hours=-7))),
            "Mon, 02 Jan 2006 15:04:05 -0700",
            id="an offset time is written with its offset",
        ),
        pytest.param(
            datetime(2024, 12, 29, 0, 0, 1), "Sun, 29 Dec 2024 00:00:01 +0000", id="a naive time is UTC"
        ),
    ],
)
def test_rfc1123z(moment: datetime, expected: str) -> None:
    assert changes.rfc1123z(moment) == expected


def test_go_json_escapes_html_and_line_separators_but_keeps_utf8() -> None:
    assert changes.go_json({"a": "<é>&\u2028\u2029"}) == '{"a":"\\u003cé\\u003e\\u0026\\u2028\\u2029"}'


def test_unparsable_quantities_compare_as_text() -> None:
    assert changes.quantity("lots") == "lots"
