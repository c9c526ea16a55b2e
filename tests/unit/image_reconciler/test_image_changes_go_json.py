"""The changes JSON byte for byte as kpack writes it (pkg/buildchange ``ChangeProcessor.changesStr``:
``json.Marshal`` of the changes, whose ``old``/``new`` are kpack's Go structs).

Go writes a struct's fields in declaration order and leaves ``omitempty`` fields out when empty:
``corev1.ObjectReference`` is kind, namespace, name, uid, apiVersion, resourceVersion, fieldPath;
``BuildpackInfo`` is id, then version only when set (buildpack_types.go); an ``EnvVarSource``'s
selectors keep their ``key``; quantities are written in their canonical form.
"""

from __future__ import annotations

from typing import Any

import image_fixtures as fx
import pytest

from services.image_reconciler import changes

SAME_COMMIT = {"git": {"url": fx.REPO_URL, "revision": fx.OLD_COMMIT}}
NEW_SOURCE = f'"source":{{"git":{{"url":"{fx.REPO_URL}","revision":"{fx.NEW_COMMIT}"}}}}'


def first_build_changes(build: dict[str, Any]) -> str:
    """The changes JSON of a first build of an Image with ``spec.build`` = ``build``."""
    result = changes.requirement(
        fx.image({"build": build}),
        latest_build=None,
        source_resolver=fx.resolver(),
        builder=fx.builder(),
        now=fx.NOW,
    )
    return result.changes_json


def new_config(body: str) -> str:
    return f'[{{"reason":"CONFIG","old":{{"resources":{{}},"source":{{}}}},"new":{{{body},{NEW_SOURCE}}}}}]'


@pytest.mark.parametrize(
    ("build", "body"),
    [
        pytest.param(
            {"services": [{"name": "db", "kind": "Secret", "apiVersion": "v1"}]},
            '"resources":{},"services":[{"kind":"Secret","name":"db","apiVersion":"v1"}]',
            id="a service is written kind, name, apiVersion (corev1.ObjectReference order)",
        ),
        pytest.param(
            {
                "services": [
                    {
                        "fieldPath": "f",
                        "resourceVersion": "7",
                        "apiVersion": "mysql.example.com/v1",
                        "uid": "u",
                        "name": "db",
                        "namespace": "ns",
                        "kind": "MySQL",
                        "unknown": "dropped",
                    },
                    {"name": "apm", "kind": "", "apiVersion": ""},
                ]
            },
            '"resources":{},"services":[{"kind":"MySQL","namespace":"ns","name":"db","uid":"u",'
            '"apiVersion":"mysql.example.com/v1","resourceVersion":"7","fieldPath":"f"},{"name":"apm"}]',
            id="every ObjectReference field in Go's order, empty ones and unknown keys left out",
        ),
        pytest.param(
            {
                "cnbBindings": [
                    {"secretRef": {"name": "s"}, "metadataRef": {"name": "m"}, "name": "b"},
                    {"name": ""},
                ]
            },
            '"resources":{},"cnbBindings":[{"name":"b","metadataRef":{"name":"m"},"secretRef":{"name":"s"}},{}]',
            id="a CNB binding is name, metadataRef, secretRef, each omitted when empty",
        ),
        pytest.param(
            {"resources": {"requests": {"memory": "1024Mi", "cpu": 0.5}, "limits": {"cpu": "1000m"}}},
            '"resources":{"limits":{"cpu":"1"},"requests":{"cpu":"500m","memory":"1Gi"}}',
            id="quantities are canonical: 1024Mi is 1Gi, 0.5 is 500m, 1000m is 1",
        ),
        pytest.param(
            {"resources": {"requests": {"cpu": "lots"}}},
            '"resources":{"requests":{"cpu":"lots"}}',
            id="a quantity that does not parse is written as given (kpack could not have read it)",
        ),
        pytest.param(
            {"resources": {"claims": [{"request": "r", "name": "gpu"}, {"name": "fpga"}]}},
            '"resources":{"claims":[{"name":"gpu","request":"r"},{"name":"fpga"}]}',
            id="a resource claim is name, then request when set",
        ),
        pytest.param(
            {
                "env": [
                    {
                        "valueFrom": {"configMapKeyRef": {"optional": False, "key": "k", "name": "cm"}},
                        "name": "A",
                    },
                    {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                    {
                        "name": "D",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1024Ki"}},
                    },
                    {"name": "E", "value": "", "valueFrom": {}},
                ]
            },
            '"env":[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"cm","key":"k","optional":false}}},'
            '{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},'
            '{"name":"C","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"0"}}},'
            '{"name":"D","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Mi"}}},'
            '{"name":"E","valueFrom":{}}],"resources":{}',
            id="env sources in Go's field order: optional false kept, divisor always written",
        ),
    ],
)
def test_the_config_change_is_written_as_go_writes_it(build: dict[str, Any], body: str) -> None:
    assert first_build_changes(build) == new_config(body)


def test_the_last_builds_services_are_written_in_go_order_too() -> None:
    """The old config is the Build's typed services, written kind, name, apiVersion like the new."""
    service = {"apiVersion": "v1", "kind": "Secret", "name": "db"}
    image = fx.image(
        {"build": {"services": [service, {"apiVersion": "v1", "kind": "Secret", "name": "apm"}]}}
    )
    result = changes.requirement(
        image,
        latest_build=fx.build(1, spec={"services": [service]}),
        source_resolver=fx.resolver(resolved=SAME_COMMIT),
        builder=fx.builder(),
        now=fx.NOW,
    )
    source = f'"source":{{"git":{{"url":"{fx.REPO_URL}","revision":"{fx.OLD_COMMIT}"}}}}'
    db = '{"kind":"Secret","name":"db","apiVersion":"v1"}'
    apm = '{"kind":"Secret","name":"apm","apiVersion":"v1"}'
    assert result.changes_json == (
        f'[{{"reason":"CONFIG","old":{{"resources":{{}},"services":[{db}],{source}}},'
        f'"new":{{"resources":{{}},"services":[{db},{apm}],{source}}}}}]'
    )


@pytest.mark.parametrize(
    ("metadata", "old"),
    [
        pytest.param(
            [{"id": "io.buildpack"}],
            '[{"id":"io.buildpack"}]',
            id="a buildpack without a version has no version key",
        ),
        pytest.param(
            [{"id": "io.buildpack", "version": "v1"}],
            '[{"id":"io.buildpack","version":"v1"}]',
            id="a buildpack with a version keeps it",
        ),
    ],
)
def test_a_buildpack_change_omits_an_empty_version(metadata: list[dict[str, str]], old: str) -> None:
    result = changes.requirement(
        fx.image(),
        latest_build=fx.build(1, status={"buildMetadata": metadata}),
        source_resolver=fx.resolver(resolved=SAME_COMMIT),
        builder=fx.builder(buildpacks=[{"id": "a.other", "version": "1"}]),
        now=fx.NOW,
    )
    assert result.changes_json == f'[{{"reason":"BUILDPACK","old":{old},"new":null}}]'


def test_registry_source_pull_secrets_without_a_name_are_empty_objects() -> None:
    from contracts import sources

    source = sources.SourceConfig.model_validate({"registry": {"image": "reg/src", "imagePullSecrets": [{}]}})
    assert changes.source_document(source) == {"registry": {"image": "reg/src", "imagePullSecrets": [{}]}}
