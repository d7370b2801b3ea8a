"""Recording rules and alerts generated from the stack's SLO, for vLLM and the GPUs it runs on.

One source: thresholds come from `llmscale:slo` and the problem statement's operating limits, metric names from
`llmscale.serving.metrics`. The same groups feed the single host's Prometheus and, on Kubernetes, a PrometheusRule.
Every alert carries `severity`, a pager-readable summary and description, and an absolute `runbook_url`: the
stack's `monitoring.runbookUrl` (by default docs/runbook.md in the project's repository) with the alert's section
as anchor, so the link works from a pager. Tests prove each alert with `promtool test rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llmscale.config.models import DEFAULT_RUNBOOK_URL, RoutingStrategy, StackConfig
from llmscale.serving import metrics

QUEUE_DEPTH_LIMIT = 10  # requests waiting per replica: overloaded above this
GPU_UNDERUSED_PERCENT = 50
GPU_SATURATED_PERCENT = 95
KV_CACHE_FULL = 0.9
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


class Flavour(StrEnum):
    """Where Prometheus runs: the single host (one GPU, static targets) or Kubernetes (pods, kube-state-metrics)."""

    HOST = "host"
    KUBERNETES = "kubernetes"


@dataclass(frozen=True)
class Targets:
    """How the scrape jobs are named where the rules run."""

    vllm_job: str
    dcgm_job: str
    namespace: str | None = None


def targets_for(config: StackConfig, flavour: Flavour) -> Targets:
    """The job names the generated scrape configuration (or PodMonitors) give vLLM and dcgm-exporter."""
    if flavour is Flavour.HOST:
        return Targets(vllm_job="vllm", dcgm_job="dcgm-exporter")
    namespace = config.kubernetes.namespace
    return Targets(vllm_job=f"{namespace}/vllm", dcgm_job="dcgm-exporter", namespace=namespace)


def _sum_rate(metric: str, window: str, selector: str = "") -> str:
    return f"sum by (model_name) (rate({metric}{{{selector}}}[{window}]))"


def _or_zero(expression: str, like: str) -> str:
    """`expression`, or 0 for each model when its series do not exist yet (labelled counters start absent)."""
    return f"({expression} or ({like} * 0))"


def _requests(window: str) -> str:
    finished = _sum_rate(metrics.VLLM_REQUEST_SUCCESS, window)
    rejected = _or_zero(_sum_rate(metrics.VLLM_ADMISSION_REJECTIONS, window), finished)
    return f"{finished} + {rejected}"


def _errors(window: str) -> str:
    finished = _sum_rate(metrics.VLLM_REQUEST_SUCCESS, window)
    failed = _or_zero(_sum_rate(metrics.VLLM_REQUEST_SUCCESS, window, 'finished_reason=~"abort|error"'), finished)
    rejected = _or_zero(_sum_rate(metrics.VLLM_ADMISSION_REJECTIONS, window), finished)
    return f"{failed} + {rejected}"


def _gpu_utilization(flavour: Flavour) -> str:
    one_per_model = f"(0 * max by (model_name) ({metrics.VLLM_RUNNING}) + 1)"
    if flavour is Flavour.HOST:
        # One host, one model: the host's GPUs are the model's GPUs.
        return f"avg({metrics.DCGM_GPU_UTIL}) * on() group_left(model_name) {one_per_model}"
    per_pod = f"(0 * max by (namespace, pod, model_name) ({metrics.VLLM_RUNNING}) + 1)"
    # dcgm-exporter labels each GPU with the pod using it; vLLM's pods say which model they serve.
    return f"avg by (model_name) ({metrics.DCGM_GPU_UTIL} * on (namespace, pod) group_left (model_name) {per_pod})"


def recording_rules(flavour: Flavour) -> list[dict[str, str]]:
    """Per-model latency quantiles, TTFT, request and error rates, tokens/s, queue depth and GPU utilisation."""
    latency = f"{metrics.VLLM_E2E_LATENCY}_bucket"
    rules = [
        {
            "record": f"llmscale:e2e_latency_seconds:p{int(q * 100)}_5m",
            "expr": f"histogram_quantile({q}, sum by (le, model_name) (rate({latency}[5m])))",
        }
        for q in (0.5, 0.95, 0.99)
    ]
    rules += [
        {
            "record": "llmscale:ttft_seconds:p95_5m",
            "expr": f"histogram_quantile(0.95, sum by (le, model_name) (rate({metrics.VLLM_TTFT}_bucket[5m])))",
        },
        {"record": "llmscale:requests:rate5m", "expr": _requests("5m")},
        {"record": "llmscale:request_errors:rate5m", "expr": _errors("5m")},
        {"record": "llmscale:generation_tokens:rate5m", "expr": _sum_rate(metrics.VLLM_GENERATION_TOKENS, "5m")},
        {"record": "llmscale:queue_depth:max", "expr": f"max by (model_name) ({metrics.VLLM_QUEUE_DEPTH})"},
        {"record": "llmscale:gpu_utilization:avg", "expr": _gpu_utilization(flavour)},
    ]
    rules += [
        {
            "record": f"llmscale:request_error_ratio:rate{window}",
            "expr": f"({_errors(window)}) / ({_requests(window)})",
        }
        for window in BURN_WINDOWS
    ]
    return rules


def runbook_link(runbook: str, alert: str) -> str:
    """The link to an alert's section of the runbook: GitHub (and most wikis) anchor a heading at its lower-cased
    text, and docs/runbook.md has a `## <alert>` heading per alert."""
    return f"{runbook}#{alert.lower()}"


def _alert(
    name: str,
    expr: str,
    duration: str,
    severity: str,
    summary: str,
    description: str,
    runbook: str,
    stack: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "llmscale_stack": stack},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": runbook_link(runbook, name),
        },
    }


def _replica_alert(config: StackConfig, flavour: Flavour, targets: Targets, runbook: str, stack: str) -> list:
    if flavour is Flavour.HOST:
        return [
            _alert(
                "LlmscaleModelServerDown",
                f'up{{job="{targets.vllm_job}"}} == 0',
                "5m",
                "critical",
                "The model server is down",
                "vLLM on {{ $labels.instance }} has not answered a scrape for 5 minutes: no request can be served.",
                runbook,
                stack,
            )
        ]
    alerts = []
    for profile in config.models:
        if profile.min_replicas < 1:
            continue
        selector = f'namespace="{targets.namespace}",deployment="{profile.name}"'
        alert = _alert(
            "LlmscaleReplicasBelowMinimum",
            # Outside active hours the wanted size may be lower: compare with min(wanted, minimum).
            f"kube_deployment_status_replicas_available{{{selector}}} < "
            f"clamp_max(kube_deployment_spec_replicas{{{selector}}}, {profile.min_replicas})",
            "15m",
            "critical",
            f"Profile {profile.name} has fewer ready replicas than its minimum of {profile.min_replicas}",
            f"Only {{{{ $value }}}} replica(s) of {profile.name} are ready for 15 minutes; its minimum is "
            f"{profile.min_replicas}. Check pending pods, GPU nodes and model loading.",
            runbook,
            stack,
        )
        alert["labels"]["model_name"] = profile.name
        alerts.append(alert)
    return alerts


def alerting_rules(
    config: StackConfig, flavour: Flavour, *, stack: str, runbook: str = DEFAULT_RUNBOOK_URL
) -> list[dict[str, Any]]:
    """Every alert of the stack, thresholds from its SLO."""
    slo = config.slo
    targets = targets_for(config, flavour)
    budget = round(1 - slo.availability, 6)
    ratio = "llmscale:request_error_ratio:rate"
    fast = (
        f"({ratio}1h > {14.4 * budget:.6g} and {ratio}5m > {14.4 * budget:.6g}) or "
        f"({ratio}6h > {6 * budget:.6g} and {ratio}30m > {6 * budget:.6g})"
    )
    slow = (
        f"({ratio}1d > {3 * budget:.6g} and {ratio}2h > {3 * budget:.6g}) or "
        f"({ratio}3d > {budget:.6g} and {ratio}6h > {budget:.6g})"
    )
    model = "{{ $labels.model_name }}"
    value = "{{ $value | humanize }}"
    percent = "{{ $value | humanizePercentage }}"
    vllm_or_dcgm = f'up{{job=~"{targets.vllm_job}.*|{targets.dcgm_job}"}} == 0'
    alerts = [
        _alert(
            "LlmscaleLatencyP99OverSlo",
            f"llmscale:e2e_latency_seconds:p99_5m > {slo.p99_latency_seconds:g}",
            "10m",
            "critical",
            f"p99 latency of {model} is over the {slo.p99_latency_seconds:g} s SLO",
            f"The 99th percentile end-to-end latency of {model} has been {value} s for 10 minutes "
            f"(SLO {slo.p99_latency_seconds:g} s).",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleQueueDepthHigh",
            f"llmscale:queue_depth:max > {QUEUE_DEPTH_LIMIT}",
            "5m",
            "warning",
            f"{model} is overloaded: more than {QUEUE_DEPTH_LIMIT} requests waiting",
            f"A replica of {model} has had {value} requests waiting for 5 minutes; requests queue instead of running.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleErrorRateHigh",
            f"llmscale:request_error_ratio:rate5m > {slo.max_error_rate:g}",
            "10m",
            "critical",
            f"Error rate of {model} is over the SLO of {slo.max_error_rate:.3%}",
            f"{percent} of the requests to {model} failed, were aborted or rejected (503) over 10 minutes.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleGpuUnderused",
            f"llmscale:gpu_utilization:avg < {GPU_UNDERUSED_PERCENT}",
            "1h",
            "info",
            f"GPUs of {model} are under {GPU_UNDERUSED_PERCENT} % busy: the profile is oversized",
            f"GPU utilisation of {model} has averaged {value} % for an hour; fewer replicas would do.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleGpuSaturated",
            f"llmscale:gpu_utilization:avg > {GPU_SATURATED_PERCENT}",
            "15m",
            "warning",
            f"GPUs of {model} are over {GPU_SATURATED_PERCENT} % busy: the profile is undersized",
            f"GPU utilisation of {model} has averaged {value} % for 15 minutes; latency will follow.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleKvCacheNearFull",
            f"max by (model_name) ({metrics.VLLM_KV_CACHE_USAGE}) > {KV_CACHE_FULL}",
            "10m",
            "warning",
            f"KV cache of {model} is nearly full",
            f"The KV cache of {model} has been {percent} full for 10 minutes; vLLM preempts requests when it is full.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleGpuXidError",
            f"max by (gpu, UUID, hostname) ({metrics.DCGM_XID_ERRORS}) > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} reported XID error {{ $value }}",
            "The NVIDIA driver reported XID {{ $value }} on GPU {{ $labels.gpu }} ({{ $labels.UUID }}); "
            "the GPU may need a reset or the node a replacement.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleScrapeTargetDown",
            vllm_or_dcgm,
            "5m",
            "warning",
            "Metrics target {{ $labels.job }} is down",
            "Prometheus could not scrape {{ $labels.instance }} ({{ $labels.job }}) for 5 minutes: "
            "alerts on it are blind.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleGpuMetricsAbsent",
            f'absent(up{{job="{targets.dcgm_job}"}})',
            "10m",
            "warning",
            "No GPU metrics: dcgm-exporter is not scraped",
            "No dcgm-exporter target exists for 10 minutes: GPU utilisation and XID alerts cannot fire.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleErrorBudgetBurnFast",
            fast,
            "2m",
            "critical",
            f"{model} burns its error budget fast ({slo.availability:.3%} availability SLO)",
            f"At this error rate {model} spends its monthly error budget in days: page.",
            runbook,
            stack,
        ),
        _alert(
            "LlmscaleErrorBudgetBurnSlow",
            slow,
            "15m",
            "warning",
            f"{model} burns its error budget steadily ({slo.availability:.3%} availability SLO)",
            f"At this error rate {model} spends its monthly error budget before the month ends.",
            runbook,
            stack,
        ),
    ]
    per_profile = _replica_alert(config, flavour, targets, runbook, stack)
    per_profile += _picker_alerts(config, flavour, runbook, stack)
    if flavour is Flavour.KUBERNETES:
        # Grouped by profile, in the stack's order: a profile added at the end only adds alerts at the end.
        order = {profile.name: index for index, profile in enumerate(config.models)}
        per_profile.sort(key=lambda alert: order[alert["labels"]["model_name"]])
    return alerts + per_profile


def _picker_alerts(config: StackConfig, flavour: Flavour, runbook: str, stack: str) -> list[dict[str, Any]]:
    """With cache-aware routing, a profile whose endpoint picker is down fails every request (HTTP 500)."""
    if flavour is Flavour.HOST or config.routing.strategy is not RoutingStrategy.CACHE_AWARE:
        return []
    namespace = config.kubernetes.namespace
    alerts = []
    for profile in config.models:
        # The job of a PodMonitor's targets is `<namespace>/<PodMonitor name>`; the picker's is `<profile>-epp`.
        job = f"{namespace}/{profile.name}-epp"
        alert = _alert(
            "LlmscaleEndpointPickerDown",
            f'absent(up{{job="{job}"}} == 1)',
            "2m",
            "critical",
            f"The endpoint picker of {profile.name} is down: its requests fail",
            f"No endpoint picker of profile {profile.name} has answered a scrape for 2 minutes. With cache-aware "
            "routing the gateway asks it for every request and answers HTTP 500 while it is down.",
            runbook,
            stack,
        )
        alert["labels"]["model_name"] = profile.name
        alerts.append(alert)
    return alerts


def rule_groups(
    config: StackConfig, flavour: Flavour, *, stack: str, runbook: str = DEFAULT_RUNBOOK_URL
) -> list[dict[str, Any]]:
    """The Prometheus rule groups of a stack: recording rules first, then alerts that use them."""
    return [
        {"name": "llmscale.recording", "interval": "30s", "rules": recording_rules(flavour)},
        {"name": "llmscale.alerts", "rules": alerting_rules(config, flavour, stack=stack, runbook=runbook)},
    ]
