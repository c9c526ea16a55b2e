"""The watch cache's store: newer versions win, deletions are remembered, a list replaces what it
does not show, and a lookup never answers for what it cannot know."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson

from contracts import builds
from services.kube import informers, watching


def obj(
    name: str, version: int | str, *, image: str | None = None, ns: str = "ns", **extra: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns, "resourceVersion": str(version)}
    if image is not None:
        metadata["labels"] = {builds.IMAGE_LABEL: image}
    return {"metadata": metadata, **extra}


def synced(*items: dict[str, Any], index: bool = False) -> informers.Store:
    store = informers.Store("Build", index_label=builds.IMAGE_LABEL if index else None)
    store.listed(list(items), "10")
    return store


def held(store: informers.Store, name: str, ns: str = "ns") -> dict[str, Any] | None:
    found = store.lookup(ns, name)
    return None if found.body is None else orjson.loads(found.body)


def test_nothing_is_known_before_the_first_list() -> None:
    store = informers.Store("Image")
    store.offer(obj("a", 3))

    assert store.lookup("ns", "a").state == informers.UNKNOWN
    assert store.lookup("ns", "b").state == informers.UNKNOWN


def test_after_a_list_a_missing_object_is_absent() -> None:
    store = synced(obj("a", 3))

    assert store.lookup("ns", "a").state == informers.FRESH
    assert store.lookup("ns", "b").state == informers.ABSENT


def test_a_late_event_does_not_replace_a_newer_write() -> None:
    store = synced(obj("a", 3, spec="listed"))
    store.offer(obj("a", 7, spec="written"))

    store.apply(watching.MODIFIED, obj("a", 5, spec="late"))

    assert held(store, "a") == obj("a", 7, spec="written")
    store.apply(watching.MODIFIED, obj("a", 8, spec="newer"))
    assert held(store, "a") == obj("a", 8, spec="newer")


def test_a_read_from_before_a_deletion_does_not_bring_the_object_back() -> None:
    store = synced(obj("a", 3))

    store.apply(watching.DELETED, obj("a", 9))
    store.offer(obj("a", 3))

    assert store.lookup("ns", "a").state == informers.ABSENT
    assert store.deleted("ns", "a")
    store.apply(watching.ADDED, obj("a", 12))  # created again
    assert held(store, "a") == obj("a", 12)


def test_a_list_drops_what_it_does_not_show_but_keeps_what_was_written_after_it() -> None:
    store = synced(obj("gone", 2), obj("kept", 3))
    store.offer(obj("written", 15))

    store.listed([obj("kept", 3)], "12")

    assert store.lookup("ns", "gone").state == informers.ABSENT
    assert store.lookup("ns", "kept").state == informers.FRESH
    assert store.lookup("ns", "written").state == informers.FRESH


def test_a_stale_object_is_unknown_until_read_again() -> None:
    store = synced(obj("a", 3))

    store.mark_stale("ns", "a")
    assert store.lookup("ns", "a").state == informers.UNKNOWN

    store.offer(obj("a", 4))
    assert store.lookup("ns", "a").state == informers.FRESH


def test_a_lookup_for_a_version_the_store_has_not_seen_is_unknown() -> None:
    store = synced(obj("a", 3))

    assert store.lookup("ns", "a", at_least=4).state == informers.UNKNOWN
    assert not store.reached("ns", "a", 4)
    assert store.reached("ns", "a", 3)
    assert not store.reached("ns", "new", 4)  # not seen at all yet
    store.apply(watching.ADDED, obj("new", 4))
    assert store.reached("ns", "new", 4)


def test_the_index_gives_an_images_builds_and_follows_label_changes_and_deletions() -> None:
    store = synced(obj("app-build-1", 3, image="app"), obj("other-build-1", 4, image="other"), index=True)
    store.apply(watching.ADDED, obj("app-build-2", 11, image="app"))

    names = [orjson.loads(body)["metadata"]["name"] for body in store.by_index("ns", "app") or []]
    assert names == ["app-build-1", "app-build-2"]

    store.apply(watching.DELETED, obj("app-build-1", 12, image="app"))
    store.apply(watching.MODIFIED, obj("other-build-1", 13, image="app"))
    names = [orjson.loads(body)["metadata"]["name"] for body in store.by_index("ns", "app") or []]
    assert names == ["app-build-2", "other-build-1"]
    assert store.by_index("ns", "other") == []
    assert store.by_index("elsewhere", "app") == []


def test_an_index_marked_stale_is_unknown_until_listed_again() -> None:
    store = synced(obj("app-build-1", 3, image="app"), index=True)
    store.mark_index_stale("ns", "app")

    assert store.by_index("ns", "app") is None

    store.indexed_listed("ns", "app", [obj("app-build-2", 14, image="app")], "14")
    names = [orjson.loads(body)["metadata"]["name"] for body in store.by_index("ns", "app") or []]
    assert names == ["app-build-2"]  # build 1 was deleted meanwhile


def test_managed_fields_are_not_kept() -> None:
    store = synced(
        obj("a", 3, spec={"x": 1}) | {"metadata": {"name": "a", "namespace": "ns", "managedFields": [{}]}}
    )

    assert "managedFields" not in (held(store, "a") or {})["metadata"]


def test_versions_that_are_not_numbers_let_the_last_one_win() -> None:
    store = synced(obj("a", "abc", spec=1))
    store.apply(watching.MODIFIED, obj("a", "xyz", spec=2))

    assert held(store, "a") == obj("a", "xyz", spec=2)
    assert store.reached("ns", "a", 99)


def test_an_object_the_watch_does_not_select_is_not_kept() -> None:
    store = informers.Store(
        "Build",
        index_label=builds.IMAGE_LABEL,
        covers=lambda raw: builds.IMAGE_LABEL in (raw["metadata"].get("labels") or {}),
    )
    store.listed([], "1")

    store.offer(obj("standalone", 5))
    store.offer(obj("app-build-1", 6, image="app"))

    assert store.lookup("ns", "standalone").state == informers.ABSENT
    assert store.lookup("ns", "app-build-1").state == informers.FRESH


def finished_build(name: str, version: int) -> dict[str, Any]:
    """A Build as big as a finished one: what repeats across Builds is what a dictionary saves."""
    return obj(
        name,
        version,
        image="app",
        spec={
            "tags": [f"registry.example.com/team/app:{name}"],
            "builder": {"image": "registry.example.com/builder@sha256:" + "b" * 64},
            "source": {"git": {"url": "https://example.com/team/app", "revision": f"{version:040d}"}},
            "cache": {"registry": {"tag": "registry.example.com/team/app-cache"}},
        },
        status={
            "conditions": [
                {"type": "Succeeded", "status": "True", "lastTransitionTime": "2026-12-06T10:00:00Z"}
            ],
            "latestImage": f"registry.example.com/team/app@sha256:{version:064d}",
            "buildMetadata": [{"id": f"example/buildpack-{n}", "version": "1.2.3"} for n in range(8)],
            "stepStates": [
                {"name": step, "terminated": {"exitCode": 0}} for step in ("prepare", "detect", "build")
            ],
        },
    )


def test_a_compressing_store_gives_back_each_object_as_it_was_in_a_fraction_of_the_bytes() -> None:
    plain = informers.Store("Build", index_label=builds.IMAGE_LABEL)
    packed = informers.Store("Build", index_label=builds.IMAGE_LABEL, compress=True)
    items = [finished_build(f"app-build-{n}", n) for n in range(1, 21)]
    plain.listed(items, "30")
    packed.listed(items, "30")

    for item in items:
        assert held(packed, item["metadata"]["name"]) == item
    assert [orjson.loads(body) for body in packed.by_index("ns", "app") or []] == [
        orjson.loads(body) for body in plain.by_index("ns", "app") or []
    ]
    assert sorted(orjson.loads(body)["metadata"]["name"] for body in packed.everything() or []) == sorted(
        item["metadata"]["name"] for item in items
    )
    assert packed.memory_bytes() * 3 < plain.memory_bytes()


def test_a_store_holds_json_at_its_exact_size() -> None:
    """orjson's bytes keep the spare room of their growth buffer (about twice the JSON): a store
    holding thousands of objects keeps a copy of the exact size instead."""
    items = [finished_build(f"app-build-{n}", n) for n in range(1, 201)]
    store = informers.Store("Build")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store.listed(items, "300")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert grown < 1.3 * store.memory_bytes()
