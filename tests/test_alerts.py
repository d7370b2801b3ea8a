"""Alert and recording rules, proven by Prometheus itself: `promtool check rules` and `promtool test rules`.

Each alert gets synthetic vLLM/DCGM series that must make it fire (after its `for`, with the right labels and
annotations) and healthy series that must keep it silent. Thresholds in these tests are written out, not read
from the generator, so a wrong threshold or metric name in the generator fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from llmscale.config import ConfigError, parse_values
from llmscale.config.loader import load_stack
from llmscale.config.models import DEFAULT_RUNBOOK_URL, PATTERN_HINTS, REPOSITORY_URL, RUNBOOK_URL, Platform, Tier
from llmscale.config.reference import anchor
from llmscale.host.bundle import SecretSource, render_bundle
from llmscale.k8s.monitoring import prometheus_rule_manifest
from llmscale.monitoring.rules import Flavour, alerting_rules, rule_groups

HOST_STACK = "single-gpu"  # p99 SLO 10 s, availability 0.99, max error rate 0.001
K8S_STACK = "onprem"  # namespace llm; chat minReplicas 2


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: install Debian's `prometheus` package (scripts/test.sh does)"
    return found


def write_rules(tmp_path: Path, stack: str, flavour: Flavour) -> Path:
    config = load_stack(stack).config
    path = tmp_path / f"rules-{stack}.yml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(config, flavour, stack=stack)}, sort_keys=False))
    return path


def annotations(stack: str, flavour: Flavour, alert: str, labels: dict[str, str], value: str) -> dict[str, str]:
    """The alert's annotations as Prometheus renders them for these labels and this (humanized) value."""
    config = load_stack(stack).config
    rule = next(r for r in alerting_rules(config, flavour, stack=stack) if r["alert"] == alert)

    def render(text: str) -> str:
        text = re.sub(r"\{\{ \$value( \| humanize(Percentage)?)? \}\}", value, text)
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)

    return {key: render(text) for key, text in rule["annotations"].items()}


def run_promtool(tmp_path: Path, rules: Path, tests: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test.yml"
    test_file.write_text(
        yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": tests}, sort_keys=False)
    )
    return subprocess.run(
        [promtool(), "test", "rules", test_file.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def assert_passes(tmp_path: Path, rules: Path, tests: list[dict[str, Any]]) -> None:
    done = run_promtool(tmp_path, rules, tests)
    assert done.returncode == 0, done.stdout + done.stderr


def fires(alert: str, at: str, labels: dict[str, str], notes: dict[str, str]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": [{"exp_labels": labels, "exp_annotations": notes}]}


def silent(alert: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


HOST_LABELS = {"severity": "critical", "llmscale_stack": HOST_STACK, "model_name": "chat"}
VLLM = 'job="vllm",instance="vllm:8000",model_name="chat"'


@pytest.fixture
def host_rules(tmp_path: Path) -> Path:
    return write_rules(tmp_path, HOST_STACK, Flavour.HOST)


@pytest.fixture
def k8s_rules(tmp_path: Path) -> Path:
    return write_rules(tmp_path, K8S_STACK, Flavour.KUBERNETES)


def test_rule_files_of_every_example_stack_pass_promtool_check(tmp_path: Path) -> None:
    paths = [
        write_rules(tmp_path, "single-gpu", Flavour.HOST),
        write_rules(tmp_path, "single-gpu-host", Flavour.HOST),
        write_rules(tmp_path, "onprem", Flavour.KUBERNETES),
    ]
    done = subprocess.run([promtool(), "check", "rules", *map(str, paths)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == 3


REPO = Path(__file__).parent.parent
EXAMPLE_STACKS = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in (REPO / "stacks").glob("*"))


def deployed_alerts(stack: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The alerts as a stack deploys them: the single host's rules file, or the cluster's PrometheusRule."""
    loaded = load_stack(stack)
    config = loaded.config
    if values is not None:
        config, _ = parse_values(values, frozenset({"llmscale:apiKeys"}), f"stacks/Pulumi.{stack}.yaml")
    if config.tier is Tier.SINGLE_GPU:
        source = SecretSource.FILES if config.platform is Platform.HOST else SecretSource.SSM
        files = render_bundle(config, stack, secret_source=source, region=loaded.region)
        text = next(f.content for f in files if f.path == "prometheus/rules/llmscale.yml")
        groups = yaml.safe_load(text)["groups"]
    else:
        groups = prometheus_rule_manifest(config, stack)["spec"]["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def runbook_anchors() -> set[str]:
    """The anchors GitHub gives the runbook's headings."""
    lines = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8").splitlines()
    return {anchor(line.lstrip("#")) for line in lines if line.startswith("#")}


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_every_alert_has_severity_summary_description_and_an_absolute_runbook_link(stack: str) -> None:
    anchors = runbook_anchors()
    alerts = deployed_alerts(stack)
    assert alerts
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        # Clickable from a pager: an absolute https URL, whose anchor is the alert's section of the runbook.
        link = urlsplit(rule["annotations"]["runbook_url"])
        assert (link.scheme, link.netloc) == ("https", "github.com"), rule["annotations"]["runbook_url"]
        assert link._replace(fragment="").geturl() == DEFAULT_RUNBOOK_URL
        assert link.fragment == rule["alert"].lower()
        assert link.fragment in anchors, f"docs/runbook.md has no section for {rule['alert']}"


def test_the_default_runbook_is_in_the_repository_pyproject_names() -> None:
    urls = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Repository"] == REPOSITORY_URL
    assert f"{REPOSITORY_URL}/blob/main/docs/runbook.md" == DEFAULT_RUNBOOK_URL


def test_a_stack_moves_every_runbook_link_to_its_own_page() -> None:
    values = {
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "host",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:monitoring": {"runbookUrl": "https://wiki.example.com/ops/llm-runbook?version=2"},
    }
    for rule in deployed_alerts("single-gpu-host", values):
        expected = f"https://wiki.example.com/ops/llm-runbook?version=2#{rule['alert'].lower()}"
        assert rule["annotations"]["runbook_url"] == expected


@pytest.mark.parametrize(
    "url",
    [
        "docs/runbook.md",  # the old default: relative, so a pager cannot open it
        "/runbook.md",
        "wiki.example.com/runbook",
        "ftp://files.example.com/runbook.md",
        "https://wiki.example.com/runbook#alerts",  # each alert appends its own anchor
        "https://",
    ],
)
def test_a_runbook_url_that_is_not_an_absolute_http_url_is_refused(url: str) -> None:
    values = {
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "host",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:monitoring": {"runbookUrl": url},
    }
    with pytest.raises(ConfigError) as caught:
        parse_values(values, frozenset(), "stacks/Pulumi.acme.yaml")
    assert caught.value.lines() == [
        f"stacks/Pulumi.acme.yaml: llmscale:monitoring.runbookUrl: {PATTERN_HINTS[RUNBOOK_URL]}"
    ]


def latency_series(le_fast: bool) -> list[dict[str, str]]:
    """Ten requests a minute, all in the (0.8, 1] bucket when fast, all in (10, 15] when slow."""
    series = []
    for le in ("0.8", "1", "10", "15", "+Inf"):
        counted = float(le) >= (1 if le_fast else 15) if le != "+Inf" else True
        series.append(
            {
                "series": f'vllm:e2e_request_latency_seconds_bucket{{{VLLM},le="{le}"}}',
                "values": "0+10x40" if counted else "0+0x40",
            }
        )
    return series


def test_p99_latency_over_slo_fires_after_ten_minutes(tmp_path: Path, host_rules: Path) -> None:
    notes = annotations(HOST_STACK, Flavour.HOST, "LlmscaleLatencyP99OverSlo", HOST_LABELS, "14.95")
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": latency_series(le_fast=False),
                "alert_rule_test": [
                    silent("LlmscaleLatencyP99OverSlo", "8m"),
                    fires("LlmscaleLatencyP99OverSlo", "20m", HOST_LABELS, notes),
                ],
            },
            {
                "interval": "1m",
                "input_series": latency_series(le_fast=True),
                "alert_rule_test": [silent("LlmscaleLatencyP99OverSlo", "30m")],
                "promql_expr_test": [
                    {
                        "expr": "llmscale:e2e_latency_seconds:p99_5m",
                        "eval_time": "20m",
                        "exp_samples": [
                            {"labels": 'llmscale:e2e_latency_seconds:p99_5m{model_name="chat"}', "value": 0.998}
                        ],
                    }
                ],
            },
        ],
    )


def test_queue_depth_over_ten_fires_after_five_minutes_and_ten_does_not(tmp_path: Path, host_rules: Path) -> None:
    labels = {**HOST_LABELS, "severity": "warning"}
    notes = annotations(HOST_STACK, Flavour.HOST, "LlmscaleQueueDepthHigh", labels, "11")
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": f"vllm:num_requests_waiting{{{VLLM}}}", "values": "11x20"}],
                "alert_rule_test": [
                    silent("LlmscaleQueueDepthHigh", "4m"),
                    fires("LlmscaleQueueDepthHigh", "6m", labels, notes),
                ],
            },
            {
                "interval": "1m",
                "input_series": [{"series": f"vllm:num_requests_waiting{{{VLLM}}}", "values": "10x20"}],
                "alert_rule_test": [silent("LlmscaleQueueDepthHigh", "15m")],
            },
        ],
    )


def requests(errors_per_minute: int, rejected_per_minute: int | None = None) -> list[dict[str, str]]:
    series = [
        {"series": f'vllm:request_success_total{{{VLLM},finished_reason="stop"}}', "values": "0+999x200"},
        {
            "series": f'vllm:request_success_total{{{VLLM},finished_reason="error"}}',
            "values": f"0+{errors_per_minute}x200",
        },
    ]
    if rejected_per_minute is not None:
        series.append(
            {
                "series": f'vllm:admission_rejections_total{{{VLLM},reason="queue"}}',
                "values": f"0+{rejected_per_minute}x200",
            }
        )
    return series


def test_error_rate_over_slo_fires_and_counts_admission_503s(tmp_path: Path, host_rules: Path) -> None:
    notes = annotations(HOST_STACK, Flavour.HOST, "LlmscaleErrorRateHigh", HOST_LABELS, "0.1998%")
    assert_passes(
        tmp_path,
        host_rules,
        [
            {  # 2 errors in 1000 requests a minute: 0.2 % > 0.1 %
                "interval": "1m",
                "input_series": [
                    *requests(errors_per_minute=1)[:1],
                    {"series": f'vllm:request_success_total{{{VLLM},finished_reason="error"}}', "values": "0+2x200"},
                ],
                "alert_rule_test": [
                    silent("LlmscaleErrorRateHigh", "9m"),
                    fires(
                        "LlmscaleErrorRateHigh",
                        "20m",
                        HOST_LABELS,
                        notes,
                    ),
                ],
            },
            {  # no errors, but 2 admission rejections (HTTP 503) a minute
                "interval": "1m",
                "input_series": requests(errors_per_minute=0, rejected_per_minute=2),
                "alert_rule_test": [fires("LlmscaleErrorRateHigh", "20m", HOST_LABELS, notes)],
            },
            {  # 0.05 %: within the SLO; no rejection series at all must not hide the finished requests
                "interval": "1m",
                "input_series": [
                    {"series": f'vllm:request_success_total{{{VLLM},finished_reason="stop"}}', "values": "0+2000x200"},
                    {"series": f'vllm:request_success_total{{{VLLM},finished_reason="abort"}}', "values": "0+1x200"},
                ],
                "alert_rule_test": [silent("LlmscaleErrorRateHigh", "30m")],
            },
        ],
    )


def gpu(util: str, running: str = "1x200") -> list[dict[str, str]]:
    return [
        {
            "series": 'DCGM_FI_DEV_GPU_UTIL{job="dcgm-exporter",gpu="0",UUID="GPU-1",hostname="gpu-host"}',
            "values": util,
        },
        {"series": f"vllm:num_requests_running{{{VLLM}}}", "values": running},
    ]


def test_gpu_utilisation_outside_fifty_to_ninety_five_percent(tmp_path: Path, host_rules: Path) -> None:
    under = {**HOST_LABELS, "severity": "info"}
    over = {**HOST_LABELS, "severity": "warning"}
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": gpu("30x120"),
                "alert_rule_test": [
                    silent("LlmscaleGpuUnderused", "50m"),
                    fires(
                        "LlmscaleGpuUnderused",
                        "70m",
                        under,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleGpuUnderused", under, "30"),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": gpu("98x60"),
                "alert_rule_test": [
                    silent("LlmscaleGpuSaturated", "10m"),
                    fires(
                        "LlmscaleGpuSaturated",
                        "20m",
                        over,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleGpuSaturated", over, "98"),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": gpu("80x120"),
                "alert_rule_test": [silent("LlmscaleGpuUnderused", "100m"), silent("LlmscaleGpuSaturated", "100m")],
            },
        ],
    )


def test_kv_cache_near_full(tmp_path: Path, host_rules: Path) -> None:
    labels = {**HOST_LABELS, "severity": "warning"}
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": f"vllm:kv_cache_usage_perc{{{VLLM}}}", "values": "0.97x30"}],
                "alert_rule_test": [
                    silent("LlmscaleKvCacheNearFull", "9m"),
                    fires(
                        "LlmscaleKvCacheNearFull",
                        "12m",
                        labels,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleKvCacheNearFull", labels, "97%"),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": [{"series": f"vllm:kv_cache_usage_perc{{{VLLM}}}", "values": "0.85x30"}],
                "alert_rule_test": [silent("LlmscaleKvCacheNearFull", "25m")],
            },
        ],
    )


def test_xid_error_fires_at_once(tmp_path: Path, host_rules: Path) -> None:
    labels = {"severity": "critical", "llmscale_stack": HOST_STACK, "gpu": "0", "UUID": "GPU-1", "hostname": "gpu-host"}
    series = 'DCGM_FI_DEV_XID_ERRORS{job="dcgm-exporter",gpu="0",UUID="GPU-1",hostname="gpu-host"}'
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": series, "values": "0 0 79 79"}],
                "alert_rule_test": [
                    silent("LlmscaleGpuXidError", "1m"),
                    fires(
                        "LlmscaleGpuXidError",
                        "2m",
                        labels,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleGpuXidError", labels, "79"),
                    ),
                ],
            }
        ],
    )


def test_scrape_target_down_and_gpu_metrics_absent(tmp_path: Path, host_rules: Path) -> None:
    down = {"severity": "warning", "llmscale_stack": HOST_STACK, "job": "vllm", "instance": "vllm:8000"}
    server_down = {"severity": "critical", "llmscale_stack": HOST_STACK, "job": "vllm", "instance": "vllm:8000"}
    absent = {"severity": "warning", "llmscale_stack": HOST_STACK, "job": "dcgm-exporter"}
    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": 'up{job="vllm",instance="vllm:8000"}', "values": "0x20"}],
                "alert_rule_test": [
                    silent("LlmscaleScrapeTargetDown", "4m"),
                    fires(
                        "LlmscaleScrapeTargetDown",
                        "6m",
                        down,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleScrapeTargetDown", down, "0"),
                    ),
                    fires(
                        "LlmscaleModelServerDown",
                        "6m",
                        server_down,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleModelServerDown", server_down, "0"),
                    ),
                    fires(
                        "LlmscaleGpuMetricsAbsent",
                        "12m",
                        absent,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleGpuMetricsAbsent", absent, "1"),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'up{job="vllm",instance="vllm:8000"}', "values": "1x20"},
                    {"series": 'up{job="dcgm-exporter",instance="dcgm-exporter:9400"}', "values": "1x20"},
                ],
                "alert_rule_test": [
                    silent("LlmscaleScrapeTargetDown", "15m"),
                    silent("LlmscaleModelServerDown", "15m"),
                    silent("LlmscaleGpuMetricsAbsent", "15m"),
                ],
            },
        ],
    )


def test_error_budget_burn_rates(tmp_path: Path, host_rules: Path) -> None:
    """Availability 0.99 (budget 1 %): 20 % errors burn fast (page), 5 % burn slowly (ticket), 0.5 % not at all."""
    fast = {**HOST_LABELS}
    slow = {**HOST_LABELS, "severity": "warning"}

    def mix(errors: int) -> list[dict[str, str]]:
        return [
            {
                "series": f'vllm:request_success_total{{{VLLM},finished_reason="stop"}}',
                "values": f"0+{1000 - errors}x300",
            },
            {"series": f'vllm:request_success_total{{{VLLM},finished_reason="error"}}', "values": f"0+{errors}x300"},
        ]

    assert_passes(
        tmp_path,
        host_rules,
        [
            {
                "interval": "1m",
                "input_series": mix(200),
                "alert_rule_test": [
                    fires(
                        "LlmscaleErrorBudgetBurnFast",
                        "10m",
                        fast,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleErrorBudgetBurnFast", fast, ""),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": mix(50),
                "alert_rule_test": [
                    silent("LlmscaleErrorBudgetBurnFast", "60m"),
                    silent("LlmscaleErrorBudgetBurnSlow", "10m"),
                    fires(
                        "LlmscaleErrorBudgetBurnSlow",
                        "60m",
                        slow,
                        annotations(HOST_STACK, Flavour.HOST, "LlmscaleErrorBudgetBurnSlow", slow, ""),
                    ),
                ],
            },
            {
                "interval": "1m",
                "input_series": mix(5),
                "alert_rule_test": [
                    silent("LlmscaleErrorBudgetBurnFast", "120m"),
                    silent("LlmscaleErrorBudgetBurnSlow", "120m"),
                ],
            },
        ],
    )


def test_kubernetes_gpu_utilisation_is_joined_to_the_model_by_pod(tmp_path: Path, k8s_rules: Path) -> None:
    pod = 'namespace="llm",pod="chat-7d9f-abcde"'
    assert_passes(
        tmp_path,
        k8s_rules,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'DCGM_FI_DEV_GPU_UTIL{{job="dcgm-exporter",gpu="0",{pod}}}', "values": "40x30"},
                    {"series": f'DCGM_FI_DEV_GPU_UTIL{{job="dcgm-exporter",gpu="1",{pod}}}', "values": "60x30"},
                    {
                        "series": 'DCGM_FI_DEV_GPU_UTIL{job="dcgm-exporter",gpu="2",namespace="other",pod="x"}',
                        "values": "100x30",
                    },
                    {
                        "series": f'vllm:num_requests_running{{job="llm/vllm-chat",{pod},model_name="chat"}}',
                        "values": "3x30",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": "llmscale:gpu_utilization:avg",
                        "eval_time": "5m",
                        "exp_samples": [{"labels": 'llmscale:gpu_utilization:avg{model_name="chat"}', "value": 50}],
                    }
                ],
            }
        ],
    )


def test_replicas_below_minimum_only_while_the_minimum_is_wanted(tmp_path: Path, k8s_rules: Path) -> None:
    labels = {
        "severity": "critical",
        "llmscale_stack": K8S_STACK,
        "model_name": "chat",
        "namespace": "llm",
        "deployment": "chat",
    }
    selector = 'namespace="llm",deployment="chat"'
    notes = annotations(K8S_STACK, Flavour.KUBERNETES, "LlmscaleReplicasBelowMinimum", labels, "1")
    assert_passes(
        tmp_path,
        k8s_rules,
        [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"kube_deployment_status_replicas_available{{{selector}}}", "values": "1x30"},
                    {"series": f"kube_deployment_spec_replicas{{{selector}}}", "values": "3x30"},
                ],
                "alert_rule_test": [
                    silent("LlmscaleReplicasBelowMinimum", "14m"),
                    fires("LlmscaleReplicasBelowMinimum", "16m", labels, notes),
                ],
            },
            {  # at night the autoscaler wants none: no alert
                "interval": "1m",
                "input_series": [
                    {"series": f"kube_deployment_status_replicas_available{{{selector}}}", "values": "0x30"},
                    {"series": f"kube_deployment_spec_replicas{{{selector}}}", "values": "0x30"},
                ],
                "alert_rule_test": [silent("LlmscaleReplicasBelowMinimum", "25m")],
            },
            {  # two ready of two wanted
                "interval": "1m",
                "input_series": [
                    {"series": f"kube_deployment_status_replicas_available{{{selector}}}", "values": "2x30"},
                    {"series": f"kube_deployment_spec_replicas{{{selector}}}", "values": "4x30"},
                ],
                "alert_rule_test": [silent("LlmscaleReplicasBelowMinimum", "25m")],
            },
        ],
    )


def test_endpoint_picker_down_fires_only_when_no_picker_of_the_profile_answers(tmp_path: Path, k8s_rules: Path) -> None:
    """The onprem example routes cache-aware: while a profile's pickers are down, its requests fail."""
    job = "llm/chat-epp"
    # absent() over a comparison carries no label of the series: the rule names the profile itself.
    labels = {"severity": "critical", "llmscale_stack": K8S_STACK, "model_name": "chat"}
    notes = annotations(K8S_STACK, Flavour.KUBERNETES, "LlmscaleEndpointPickerDown", labels, "1")
    leader = f'up{{job="{job}",pod="chat-epp-a"}}'
    standby = f'up{{job="{job}",pod="chat-epp-b"}}'
    analysis = 'up{job="llm/analysis-epp",pod="analysis-epp-a"}'
    assert_passes(
        tmp_path,
        k8s_rules,
        [
            {  # both of chat's pickers stop answering at minute 5; analysis' keeps answering
                "interval": "1m",
                "input_series": [
                    {"series": leader, "values": "1x4 0x10"},
                    {"series": standby, "values": "1x4 0x10"},
                    {"series": analysis, "values": "1x14"},
                ],
                "alert_rule_test": [
                    silent("LlmscaleEndpointPickerDown", "6m"),
                    fires("LlmscaleEndpointPickerDown", "8m", labels, notes),
                ],
            },
            {  # one of two pickers down: the other leads, nothing fails
                "interval": "1m",
                "input_series": [
                    {"series": leader, "values": "1x4 0x10"},
                    {"series": standby, "values": "1x14"},
                    {"series": analysis, "values": "1x14"},
                ],
                "alert_rule_test": [silent("LlmscaleEndpointPickerDown", "12m")],
            },
            {  # chat's pickers gone altogether (their Deployment deleted): no series at all
                "interval": "1m",
                "input_series": [{"series": analysis, "values": "1x14"}],
                "alert_rule_test": [fires("LlmscaleEndpointPickerDown", "3m", labels, notes)],
            },
        ],
    )
