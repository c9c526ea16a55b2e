"""The figures ``kiln bench`` reports: percentiles, the table, the Image sets and the pod clock."""

from __future__ import annotations

import json

import pytest

from services.kube import watching
from services.testbed.bench import figures, fleet
from services.testbed.kubelet import kubelet as simulated_kubelet


@pytest.mark.parametrize(
    ("samples", "percent", "expected_ms"),
    [
        pytest.param([0.3, 0.1, 0.2], 50, 200.0, id="the median of three is the middle one"),
        pytest.param([0.1, 0.2, 0.3, 0.4], 50, 200.0, id="the median of four is the lower middle"),
        pytest.param([i / 1000 for i in range(1, 101)], 99, 99.0, id="p99 of 100 is the 99th"),
        pytest.param([i / 1000 for i in range(1, 51)], 99, 50.0, id="p99 of 50 is the largest"),
        pytest.param([0.5], 99, 500.0, id="one sample is every percentile"),
    ],
)
def test_percentiles_are_nearest_rank_in_milliseconds(
    samples: list[float], percent: int, expected_ms: float
) -> None:
    assert figures.percentile(samples, percent) == pytest.approx(expected_ms)


def test_no_samples_have_no_percentile() -> None:
    with pytest.raises(ValueError, match="no samples"):
        figures.percentile([], 50)


def sample() -> figures.Figures:
    numbers = {key: 1.5 for key, field in figures.Figures.model_fields.items() if field.annotation is float}
    return figures.Figures.model_validate(
        {
            **numbers,
            "quick": True,
            "images_small": 100,
            "images_medium": 260,
            "pair_images": 50,
            "images_large": 1000,
            "latency_pushes": 50,
            "hops_by_service": {"build-runner": {"kiln.build.scheduled": 1.0}},
            "deliveries_per_build_by_service": {"image-state": {"kiln.build.finished": 1.0}},
            "k8s_requests_by_service": {"image-reconciler": {"get Image": 2.0}},
            "cpu_ms_per_trigger_by_process": {"bench process": 20.0, "build-runner": 7.5},
            "reconciler_deliveries_2_reconcilers": [60.0, 40.0],
            "load_1m": [0.5, 1.0],
        }
    )


def test_every_figure_is_described() -> None:
    undescribed = [key for key, field in figures.Figures.model_fields.items() if not field.description]

    assert undescribed == []
    assert set(figures.GOALS) <= set(figures.Figures.model_fields)


def test_the_json_object_holds_the_keys_issue_12_asks_for() -> None:
    found = json.loads(sample().model_dump_json())

    for key in (
        "raw_roundtrip_per_s",
        "e2e_triggers_per_s",
        "hops",
        "ratio",
        "k8s_reads_per_build",
        "k8s_writes_per_build",
        "scale_ratio_100_vs_10000",
        "rss_mb_10000",
        "resync_s_10000",
        "p50_ms",
        "p99_ms",
    ):
        assert isinstance(found[key], float), key
    assert found["images_large"] == 1000


def test_the_table_shows_each_figure_with_its_goal_and_the_breakdowns() -> None:
    table = figures.render(sample())

    assert any(line.split()[:3] == ["ratio", "1.50", "≥"] for line in table.splitlines())
    assert any(line.split() == ["image-reconciler", "get", "Image", "2.00"] for line in table.splitlines())
    assert any(
        line.split() == ["build-runner", "kiln.build.scheduled", "1.00"] for line in table.splitlines()
    )


def test_a_set_following_one_repository_is_triggered_by_one_push() -> None:
    images = fleet.ImageSet.following_one("small", 3)

    assert len(images) == 3
    assert len(set(images.urls)) == 1
    assert images.names == ["app-0", "app-1", "app-2"]


def test_a_set_following_a_repository_each_is_triggered_one_image_per_push() -> None:
    images = fleet.ImageSet.following_each_their_own("latency", 3)

    assert len(set(images.urls)) == 3
    assert all(url.startswith(fleet.REPOSITORIES) for url in images.urls)


def pod(namespace: str, image: str, uid: str) -> dict[str, object]:
    labels = {"image.kpack.io/image": image, "kpack.io/build": f"{image}-build"}
    return {"metadata": {"namespace": namespace, "uid": uid, "labels": labels}}


def test_the_pod_clock_notes_each_pod_once_when_first_seen() -> None:
    images = fleet.ImageSet("ns", ("https://x/a", "https://x/a"))
    clock = fleet.PodClock()

    clock.on_pod(watching.WatchEvent(watching.ADDED, pod("ns", "app-0", "uid-1")))
    first = clock.seen["app-0"][0]
    clock.on_pod(watching.WatchEvent(watching.MODIFIED, pod("ns", "app-0", "uid-1")))
    clock.on_pod(watching.WatchEvent(watching.ADDED, pod("ns", "app-0", "uid-1")))  # a watch started again

    assert clock.seen == {"app-0": [first]}
    assert clock.pods_since(images, first - 1) == [first]
    assert clock.pods_since(images, first) == []
    assert clock.first_after("app-1", 0.0) is None


def test_a_pod_made_again_for_an_image_is_a_new_pod() -> None:
    clock = fleet.PodClock()

    clock.on_pod(watching.WatchEvent(watching.ADDED, pod("ns", "app-0", "uid-1")))
    clock.on_pod(watching.WatchEvent(watching.ADDED, pod("ns", "app-0", "uid-2")))

    assert len(clock.seen["app-0"]) == 2


def record(namespace: str, name: str, *, done: bool) -> simulated_kubelet.PodRecord:
    return simulated_kubelet.PodRecord(namespace, name, build=name, uid=name, done=done)


def test_finished_pods_are_counted_per_namespace_as_they_finish() -> None:
    records = {"a/p1": record("a", "p1", done=True), "b/p1": record("b", "p1", done=True)}
    finished = fleet.FinishedPods(records, "a")

    assert finished() == 1
    records["a/p2"] = record("a", "p2", done=False)
    assert finished() == 1
    records["a/p2"].done = True
    records["a/p3"] = record("a", "p3", done=True)
    assert finished() == 3
    assert finished.count == 3
