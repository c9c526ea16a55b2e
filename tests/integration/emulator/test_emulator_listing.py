"""Lists: label and field selectors, namespaced and across namespaces, with a list resourceVersion."""

from __future__ import annotations

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tests.integration.emulator import emulator_support as support
from tests.integration.emulator.emulator_support import GROUP, VERSION

LABELS = {
    "web": {"app": "web", "tier": "front"},
    "api": {"app": "api", "tier": "back"},
    "job": {"app": "job"},
}


@pytest.fixture
async def labelled(core: client.CoreV1Api, namespace: str) -> str:
    for name, labels in LABELS.items():
        await core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})
    return namespace


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web"]),
        ("app==api", ["api"]),
        ("app!=web", ["api", "job"]),
        ("app in (web, job)", ["job", "web"]),
        ("app notin (web,job)", ["api"]),
        ("tier", ["api", "web"]),
        ("!tier", ["job"]),
        ("app in (web,api),tier=back", ["api"]),
        ("", ["api", "job", "web"]),
    ],
    ids=[
        "equals",
        "double equals",
        "not equals",
        "in",
        "notin",
        "exists",
        "does not exist",
        "combined",
        "none",
    ],
)
async def test_label_selectors_pick_matching_objects(
    core: client.CoreV1Api, labelled: str, selector: str, expected: list[str]
) -> None:
    listed = await core.list_namespaced_config_map(labelled, label_selector=selector)

    assert [item.metadata.name for item in listed.items] == expected


async def test_a_malformed_selector_is_400(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(ApiException) as bad:
        await core.list_namespaced_config_map(labelled, label_selector="app in web")

    assert bad.value.status == 400


async def test_field_selectors_on_name_and_namespace(core: client.CoreV1Api, labelled: str) -> None:
    by_name = await core.list_namespaced_config_map(labelled, field_selector="metadata.name=api")
    not_name = await core.list_namespaced_config_map(labelled, field_selector="metadata.name!=api")
    by_namespace = await core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={labelled}"
    )

    assert [item.metadata.name for item in by_name.items] == ["api"]
    assert [item.metadata.name for item in not_name.items] == ["job", "web"]
    assert [item.metadata.name for item in by_namespace.items] == ["api", "job", "web"]


async def test_lists_across_namespaces_and_resource_version(custom: client.CustomObjectsApi) -> None:
    run = support.unique("run")
    spaces = [support.unique("ns"), support.unique("ns")]
    created = [
        await custom.create_namespaced_custom_object(
            GROUP, VERSION, space, "images", support.image("img", labels={"run": run})
        )
        for space in spaces
    ]

    everywhere = await custom.list_cluster_custom_object(
        GROUP, VERSION, "images", label_selector=f"run={run}"
    )
    one = await custom.list_namespaced_custom_object(GROUP, VERSION, spaces[0], "images")

    assert sorted(i["metadata"]["namespace"] for i in everywhere["items"]) == sorted(spaces)
    assert [i["metadata"]["namespace"] for i in one["items"]] == [spaces[0]]
    assert everywhere["kind"] == "ImageList"
    newest = max(int(o["metadata"]["resourceVersion"]) for o in created)
    assert int(everywhere["metadata"]["resourceVersion"]) >= newest
