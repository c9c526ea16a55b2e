"""The example alert rules (``deploy/prometheus/kiln-alerts.yml``) load, and every ``kiln_`` metric
they name is one a Kiln process exposes on ``/metrics``: renaming a metric fails here."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import yaml
from prometheus_client import parser

from services.runtime import admin

RULES = pathlib.Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "kiln-alerts.yml"
KILN_NAME = re.compile(r"\bkiln_[a-z0-9_]+\b")


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


async def _no_depths(queues: object) -> dict[str, int]:
    return {}


def exposed_names() -> set[str]:
    """Every sample name a process with every metric registered exposes (``_total``, ``_bucket``…)."""
    metrics = admin.Metrics(admin.MetricsSettings(namespace_label_limit=1))
    metrics.settled("image-state", "kiln.build.finished", "ok", 0.1)
    metrics.published("kiln.image.changed")
    metrics.count_api_requests(lambda: {("create", "Event"): 1})
    metrics.count_cache(lambda: {"Image": 1}, lambda: 10, lambda: 1)
    metrics.build_scheduled("COMMIT", namespace="ns")
    metrics.build_finished(
        "failed", namespace="ns", queue_seconds=1.0, run_seconds=2.0, cache="registry", cache_restored=True
    )
    metrics.count_running_builds(lambda: 1)
    metrics.count_backlog({"build-runner-storm": ("q",)}, dead_queue="dead", read=_no_depths)
    health = admin.Health()
    health.add("broker", lambda: None, liveness=False)
    metrics.expose_health(health)
    families = parser.text_string_to_metric_families(metrics.exposition().decode())
    return {sample.name for family in families for sample in family.samples}


def test_every_rule_is_an_alert_with_an_expression_and_a_summary() -> None:
    rules = _rules()

    assert len(rules) >= 5
    for rule in rules:
        assert rule["alert"].startswith("Kiln"), rule
        assert rule["expr"].strip(), rule
        assert rule["annotations"]["summary"], rule
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


def test_the_rules_cover_failures_backlog_stalls_dead_letters_and_readiness() -> None:
    named = {name for rule in _rules() for name in KILN_NAME.findall(rule["expr"])}

    assert {
        "kiln_builds_finished_total",
        "kiln_storm_backlog_messages",
        "kiln_builds_running",
        "kiln_dead_letter_messages",
        "kiln_ready",
    } <= named


def test_every_kiln_metric_a_rule_names_is_exposed() -> None:
    exposed = exposed_names()
    unknown = {
        (rule["alert"], name)
        for rule in _rules()
        for name in KILN_NAME.findall(rule["expr"] + " " + str(rule.get("annotations", {})))
        if name not in exposed
    }

    assert not unknown, (
        f"rules name metrics no process exposes: {sorted(unknown)}; exposed: {sorted(exposed)}"
    )
