"""Grafana dashboards: every panel query parses (checked by promtool) and reads only metrics the pinned
exporters expose or llmscale's own recording rules produce."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmscale.config.loader import load_stack
from llmscale.k8s.monitoring import dashboard_config_map_manifest, prometheus_rule_manifest
from llmscale.k8s.schema import validate_object
from llmscale.monitoring.dashboards import dashboard
from llmscale.monitoring.rules import Flavour, recording_rules
from llmscale.serving import metrics

CASES = [("single-gpu", Flavour.HOST), ("single-gpu-host", Flavour.HOST), ("onprem", Flavour.KUBERNETES)]
PROMQL_WORDS = {
    "sum", "avg", "max", "min", "count", "by", "without", "on", "ignoring", "group_left", "group_right", "rate",
    "irate", "increase", "histogram_quantile", "vector", "label_values", "clamp_max", "clamp_min", "and", "or",
    "unless", "bool", "offset", "abs", "absent",
}  # fmt: skip


def queries(board: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def grafana_free(expr: str) -> str:
    """A panel query with Grafana's variables replaced by values Prometheus accepts."""
    return expr.replace("$__rate_interval", "5m").replace("$model", "chat")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads: identifiers outside label matchers, groupings and strings."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {name for name in names if name not in PROMQL_WORDS and not re.fullmatch(r"\d+(e\d+)?", name)}


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: install Debian's `prometheus` package (scripts/test.sh does)"
    return found


@pytest.mark.parametrize(("stack", "flavour"), CASES)
def test_every_panel_query_parses(tmp_path: Path, stack: str, flavour: Flavour) -> None:
    board = dashboard(load_stack(stack).config, flavour, stack=stack)
    rules = [
        {"record": f"dashboard:query_{index}", "expr": grafana_free(expr)} for index, expr in enumerate(queries(board))
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("stack", "flavour"), CASES)
def test_panels_read_only_exported_or_recorded_metrics(stack: str, flavour: Flavour) -> None:
    board = dashboard(load_stack(stack).config, flavour, stack=stack)
    recorded = {rule["record"] for rule in recording_rules(flavour)}
    for expr in queries(board):
        unknown = metric_names(expr) - metrics.EXPORTED - recorded
        assert not unknown, f"{expr}: {unknown}"


def test_metric_name_extraction_finds_names_and_skips_labels() -> None:
    expr = 'sum by (model_name) (rate(vllm:request_success_total{finished_reason="error"}[5m])) / vector(2)'
    assert metric_names(expr) == {"vllm:request_success_total"}
    assert metric_names("histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))") == {"x_bucket"}


def test_panels_cover_what_operators_read() -> None:
    config = load_stack("onprem").config
    titles = {panel["title"] for panel in dashboard(config, Flavour.KUBERNETES, stack="onprem")["panels"]}
    assert {
        "End-to-end latency",
        "Time to first token",
        "Queue depth per replica",
        "Running requests",
        "Output tokens per second",
        "Error rate",
        "GPU utilisation",
        "GPU memory used",
        "KV cache usage",
        "Replicas against min and max",
        "GPU-hours per 1,000 requests",
    } <= titles  # fmt: skip  (onprem states no price: GPU-hours, not a cost)
    host_titles = {p["title"] for p in dashboard(config, Flavour.HOST, stack="onprem")["panels"]}
    assert "Replicas against min and max" not in host_titles


def test_slo_lines_follow_the_stack_slo() -> None:
    config = load_stack("onprem").config
    board = dashboard(config, Flavour.KUBERNETES, stack="onprem")
    latency = next(p for p in board["panels"] if p["title"] == "End-to-end latency")
    assert f"vector({config.slo.p99_latency_seconds:g})" in [t["expr"] for t in latency["targets"]]
    # onprem's node type has no on-demand price and the stack states none: GPU-hours instead of a cost.
    assert config.gpu.price_per_gpu_hour is None
    assert "Cost per 1,000 requests" not in {p["title"] for p in board["panels"]}
    assert any(p["title"] == "GPU-hours per 1,000 requests" for p in board["panels"])
    priced = config.model_copy(update={"gpu": config.gpu.model_copy(update={"price_per_gpu_hour": 2.5})})
    cost = next(
        p
        for p in dashboard(priced, Flavour.KUBERNETES, stack="onprem")["panels"]
        if p["title"] == "Cost per 1,000 requests"
    )
    assert "* 2.5)" in cost["targets"][0]["expr"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    board = dashboard(load_stack("onprem").config, Flavour.KUBERNETES, stack="onprem")
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    cells = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in board["panels"]]
    assert len(cells) == len(set(cells))


def test_kubernetes_monitoring_objects_validate_against_the_crds() -> None:
    config = load_stack("onprem").config
    for manifest in (prometheus_rule_manifest(config, "onprem"), dashboard_config_map_manifest(config, "onprem")):
        assert validate_object(manifest) == []
