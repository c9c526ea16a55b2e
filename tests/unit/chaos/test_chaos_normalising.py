"""The normalised final state: what differs between two runs doing the same is gone, what a run
did differently is kept."""

from __future__ import annotations

import copy
from typing import Any

from services.testbed.chaos import normalising

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
DIGEST_C = "sha256:" + "c" * 64
HOST = "127.0.0.1:41234"


def build(
    *, uid: str, digest: str, created: str, host: str = HOST, name: str = "app-build-1"
) -> dict[str, Any]:
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Build",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": uid,
            "resourceVersion": "17",
            "creationTimestamp": created,
            "ownerReferences": [{"kind": "Image", "name": "app", "uid": uid + "-owner"}],
            "annotations": {
                "image.kpack.io/buildChanges": '[{"reason":"TRIGGER","new":"A new build was manually '
                f'triggered on Sun, 06 Dec 2026 {created[11:19]} +0000"}}]',
            },
        },
        "spec": {"tags": [f"{host}/chaos-r1/app", f"{host}/chaos-r1/app:b1.20261206.{created[11:13]}0000"]},
        "status": {
            "conditions": [{"type": "Succeeded", "status": "True", "lastTransitionTime": created}],
            "latestImage": f"{host}/chaos-r1/app@{digest}",
            "stepStates": [
                {"terminated": {"message": "H4sIAAAAAAAA/6uuBQBDv6ajAgAAAA==", "startedAt": created}}
            ],
        },
    }


def test_two_runs_that_did_the_same_compare_equal() -> None:
    one = build(uid="u1", digest=DIGEST_A, created="2026-12-06T10:00:00Z")
    other = build(uid="u2", digest=DIGEST_B, created="2026-12-06T11:30:00Z", host="127.0.0.1:50000")

    first = normalising.normalise([one], replacements={HOST: "registry"})
    second = normalising.normalise([other], replacements={"127.0.0.1:50000": "registry"})

    assert first == second
    [document] = first
    assert "uid" not in document["metadata"]
    assert "resourceVersion" not in document["metadata"]
    assert document["metadata"]["ownerReferences"] == [{"kind": "Image", "name": "app"}]
    assert document["status"]["latestImage"] == "registry/chaos-r1/app@sha256:<1>"
    assert document["spec"]["tags"][1] == "registry/chaos-r1/app:b1.<time>"
    assert document["status"]["conditions"] == [{"status": "True", "type": "Succeeded"}]
    assert document["status"]["stepStates"][0]["terminated"] == {"message": "<completion message>"}


def test_a_build_that_ended_differently_is_told_apart() -> None:
    one = build(uid="u1", digest=DIGEST_A, created="2026-12-06T10:00:00Z")
    other = copy.deepcopy(one)
    other["status"]["conditions"][0]["status"] = "False"

    reference, got = normalising.normalise([one]), normalising.normalise([other])

    assert reference != got
    assert normalising.differences(reference, got) == [
        'Build ns/app-build-1: .status.conditions[0].status: "True" != "False"'
    ]


def test_digests_keep_their_relations_one_digest_in_two_places_stays_one() -> None:
    same = [
        build(uid="u1", digest=DIGEST_A, created="2026-12-06T10:00:00Z"),
        build(uid="u2", digest=DIGEST_A, created="2026-12-06T10:00:00Z", name="app-build-2"),
    ]
    apart = [
        build(uid="u1", digest=DIGEST_B, created="2026-12-06T10:00:00Z"),
        build(uid="u2", digest=DIGEST_C, created="2026-12-06T10:00:00Z", name="app-build-2"),
    ]

    shared, distinct = normalising.normalise(same), normalising.normalise(apart)

    assert [d["status"]["latestImage"].rpartition("@")[2] for d in shared] == ["sha256:<1>", "sha256:<1>"]
    assert [d["status"]["latestImage"].rpartition("@")[2] for d in distinct] == ["sha256:<1>", "sha256:<2>"]
    assert normalising.differences(shared, distinct) != []


def test_a_missing_or_extra_object_is_a_difference() -> None:
    one = normalising.normalise([build(uid="u1", digest=DIGEST_A, created="2026-12-06T10:00:00Z")])
    two = normalising.normalise(
        [
            build(uid="u1", digest=DIGEST_A, created="2026-12-06T10:00:00Z"),
            build(uid="u2", digest=DIGEST_B, created="2026-12-06T10:00:00Z", name="app-build-2"),
        ]
    )

    assert normalising.differences(two, one) == ["Build ns/app-build-2: missing"]
    assert normalising.differences(one, two) == ["Build ns/app-build-2: not in the reference"]


def test_generated_names_are_numbered_in_name_order_and_documents_sorted_by_kind() -> None:
    pods = [
        {"kind": "Pod", "metadata": {"name": f"job-{suffix}", "generateName": "job-", "namespace": "ns"}}
        for suffix in ("x7k2q", "a9b1c")
    ]
    image = {"kind": "Image", "metadata": {"name": "app", "namespace": "ns"}, "spec": {"pod": "job-x7k2q"}}

    documents = normalising.normalise([*pods, image])

    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Image", "app"),
        ("Pod", "job-#1"),
        ("Pod", "job-#2"),
    ]
    assert documents[0]["spec"]["pod"] == "job-#2"


def test_a_digest_missing_in_one_repository_leaves_the_numbers_of_another_alone() -> None:
    def image(cache: str, app: str) -> dict[str, Any]:
        status = {"latestCacheImage": cache, "latestImage": f"r/app@{app}"}
        return {"kind": "Build", "metadata": {"name": "b", "namespace": "ns"}, "status": status}

    with_cache = normalising.normalise([image(f"r/app-cache@{DIGEST_A}", DIGEST_B)])
    without = normalising.normalise([image("", DIGEST_C)])

    assert normalising.differences(with_cache, without) == [
        'Build ns/b: .status.latestCacheImage: "r/app-cache@sha256:<1>" != ""'
    ]
