"""What ``kiln bench`` reports: every figure measured in the run that prints it, described once.

:class:`Figures` is the JSON object of ``kiln bench --output json``; each field's docstring says
what was measured and how, and :data:`GOALS` the goal of issue 12 where it sets one. ``--quick``
measures the "10,000 Images" figures at ``images_large`` Images (280) under the same keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

GOALS = {
    "ratio": "≥ 0.5",
    "k8s_reads_per_build": "≤ 1",
    "k8s_writes_per_build": "≤ 5",
    "scale_ratio_100_vs_10000": "≥ 0.8",
    "rss_mb_10000": "≤ 150",
}
"""Goals from issue 12, by key."""

Breakdown = dict[str, dict[str, float]]
"""process (service) → ``"<verb> <kind>"`` or event type → count per build or trigger."""


class Figures(BaseModel):
    """One run of ``kiln bench``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    quick: bool
    """Whether this was ``--quick``: ``images_large`` 280 instead of 10,000, fewer Images per
    push in the one vs two reconciler runs, fewer latency pushes, a shorter round trip."""
    raw_roundtrip_per_s: float
    """Raw aio-pika, no Kiln code: consume from a quorum queue (prefetch 64) → publish the message
    to another (persistent, confirm awaited) → ack; deliveries/s, median of three rounds, the
    services started and idle."""
    e2e_triggers_per_s: float
    """Git pushes → build pods through the real services, broker and emulator: one GitHub push
    webhook to ``images_small`` Images (the only Images in the cluster), Images ÷ seconds from the
    push to the last new build pod seen by a watch; one image-reconciler process."""
    hops: float
    """Broker deliveries settled per trigger in that window (every service's
    ``kiln_events_handled_total``, read until the services fell quiet; build pods are held at
    their first step, as real builds take minutes, so nothing else runs)."""
    hops_by_service: Breakdown
    """Those deliveries per trigger by process (service) and event type."""
    cpu_ms_per_trigger: float
    """CPU milliseconds per trigger in that window, every process (the services', and the bench
    process's: emulator, simulated kubelet, triggers service, the bench's watch and metric reads),
    until the services fell quiet: the cost that the machine's other load does not change."""
    cpu_ms_per_trigger_by_process: dict[str, float]
    """The same by process."""
    ratio: float
    """``e2e_triggers_per_s * hops / raw_roundtrip_per_s``: the share of one hop's physical limit
    the services reach."""
    deliveries_per_build: float
    """Broker deliveries settled per build over a whole build (the window of
    ``k8s_reads_per_build``): the trigger's, and those of its pod's progress and its recording."""
    deliveries_per_build_by_service: Breakdown
    """Those deliveries per build by process (service) and event type."""
    k8s_reads_per_build: float
    """Kubernetes API reads (get, list) per build by Kiln's services for a whole build: one push
    rebuilding the ``images_small`` Images, from the push until every build ran (simulated
    kubelet), was recorded and the services fell quiet. The bridge's watch streams and the
    simulated kubelet's writes are not counted."""
    k8s_writes_per_build: float
    """Kubernetes API writes (create, update, update_status, patch_status, delete) per build, same run."""
    k8s_requests_by_service: Breakdown
    """Those requests per build by process (service) and ``verb kind``."""
    images_small: int
    """Images in the cluster for the small figures; one push triggers them all."""
    images_medium: int
    """Images in the cluster for the one vs two reconciler runs and the latency runs."""
    pair_images: int
    """Images one push triggers in each of the one vs two reconciler runs."""
    e2e_triggers_per_s_1_reconciler: float
    """As ``e2e_triggers_per_s``, a push to ``pair_images`` Images among ``images_medium``, one
    image-reconciler process, after a warm-up push to others (20; 5 with ``--quick``)."""
    e2e_triggers_per_s_2_reconcilers: float
    """The same on other Images, measured first, with two image-reconciler processes sharing the
    shards (the second started while the Images were built; the warm-up push once both had
    balanced the shards)."""
    reconciler_deliveries_2_reconcilers: list[float]
    """Deliveries each of the two image-reconciler processes handled in that window."""
    latency_pushes: int
    """Pushes per latency run, each to its own repository followed by one Image."""
    latency_rate_per_s: float
    """The fixed offered load of those pushes, sent on time whatever the answers take."""
    p50_ms: float
    """Median of push → that Image's new build pod seen by a watch, ``images_medium`` Images in
    the cluster, one image-reconciler process."""
    p99_ms: float
    """99th percentile (nearest rank) of the same."""
    p50_ms_2_reconcilers: float
    """Median of the same load on other Images, two image-reconciler processes."""
    p99_ms_2_reconcilers: float
    """99th percentile of the same."""
    images_large: int
    """Images in the cluster for the "10,000" figures, each built once: 10,000 in the full run,
    280 with ``--quick`` (the keys keep the issue's names)."""
    e2e_triggers_per_s_large: float
    """As ``e2e_triggers_per_s`` (a push triggering ``images_small`` Images, one reconciler
    process), with ``images_large`` Images in the cluster."""
    scale_ratio_100_vs_10000: float
    """Seconds per trigger with ``images_small`` Images in the cluster ÷ with ``images_large``
    (so ``e2e_triggers_per_s_large ÷ e2e_triggers_per_s``)."""
    cpu_ms_per_trigger_large: float
    """As ``cpu_ms_per_trigger``, with ``images_large`` Images in the cluster."""
    scale_ratio_cpu_100_vs_10000: float
    """``cpu_ms_per_trigger ÷ cpu_ms_per_trigger_large``: the scale ratio in CPU rather than wall
    time, steadier on a shared machine."""
    rss_mb_10000: float
    """Peak resident memory (VmHWM, MiB) of the first image-reconciler process by the end: all
    ``images_large`` Images built once, the push, the full resync."""
    resync_s_10000: float
    """The bridge's full resync with ``images_large`` Images (every Image announced, every
    finished build pod re-reported): from its start until the image-reconciler handled every
    Image's ``image.changed``, the image-state every ``build.finished``, and the last delivery
    settled; one image-reconciler process."""
    resync_deliveries_per_image: float
    """Deliveries that resync cost, per Image."""
    load_1m: list[float]
    """The machine's 1-minute load average at the start and the end of the run (2 cores here)."""
    seconds: float
    """Wall time of the whole run."""


def percentile(seconds: list[float], percent: int) -> float:
    """The ``percent``-th percentile of ``seconds`` by nearest rank, in milliseconds."""
    if not seconds:
        raise ValueError("no samples")
    ranked = sorted(seconds)
    rank = -(-percent * len(ranked) // 100)  # ceil(percent / 100 * n)
    return 1000 * ranked[max(rank, 1) - 1]


def render(figures: Figures) -> str:
    """A table: figure, value, goal; then the breakdowns."""
    rows = []
    for key in Figures.model_fields:
        value = getattr(figures, key)
        if isinstance(value, dict):
            continue
        if isinstance(value, list):
            value = " / ".join(f"{item:,.0f}" if item >= 10 else f"{item:.2f}" for item in value)
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        rows.append(f"{key:<38} {shown:>14}  {GOALS.get(key, '')}")
    lines = [f"{'figure':<38} {'value':>14}  goal", *rows]
    for key in ("k8s_requests_by_service", "deliveries_per_build_by_service", "hops_by_service"):
        lines += ["", f"{key} (per {'trigger' if key.startswith('hops') else 'build'})"]
        for process, found in getattr(figures, key).items():
            for what, count in sorted(found.items(), key=lambda item: -item[1]):
                lines.append(f"  {process:<22} {what:<36} {count:>8.2f}")
    lines += ["", "cpu_ms_per_trigger_by_process"]
    for process, ms in sorted(figures.cpu_ms_per_trigger_by_process.items(), key=lambda item: -item[1]):
        lines.append(f"  {process:<59} {ms:>8.2f}")
    return "\n".join(lines)
