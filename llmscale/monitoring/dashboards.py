"""The Grafana dashboard of a stack, generated from the same SLO and metric names as its alerts.

Latency and error panels draw the SLO as a line; queue and GPU panels draw the alert thresholds; the cost
panel turns GPU hours into dollars per 1,000 requests at the stack's $/GPU-hour.
"""

from __future__ import annotations

from typing import Any

from llmscale.config.models import StackConfig
from llmscale.monitoring.rules import GPU_SATURATED_PERCENT, GPU_UNDERUSED_PERCENT, QUEUE_DEPTH_LIMIT, Flavour
from llmscale.serving import metrics

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
MODEL = 'model_name=~"$model"'


def _panel(title: str, targets: list[tuple[str, str]], unit: str, description: str = "") -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom"}},
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + index)}
            for index, (expr, legend) in enumerate(targets)
        ],
    }


def panels(config: StackConfig, flavour: Flavour) -> list[dict[str, Any]]:
    """The dashboard's panels, in reading order."""
    slo = config.slo
    latency = [
        (f"llmscale:e2e_latency_seconds:{q}_5m{{{MODEL}}}", f"{{{{model_name}}}} {q}") for q in ("p50", "p95", "p99")
    ]
    ttft = [(f"llmscale:ttft_seconds:p95_5m{{{MODEL}}}", "{{model_name}} p95")]
    if slo.ttft_p95_seconds is not None:
        ttft.append((f"vector({slo.ttft_p95_seconds:g})", "SLO"))
    gpus = "count(DCGM_FI_DEV_GPU_UTIL)"
    per_thousand = "sum(llmscale:requests:rate5m) * 3600 / 1000"
    result = [
        _panel(
            "End-to-end latency",
            [*latency, (f"vector({slo.p99_latency_seconds:g})", "p99 SLO")],
            "s",
            "p50/p95/p99 from vLLM's histogram; only as precise as its buckets.",
        ),
        _panel("Time to first token", ttft, "s"),
        _panel(
            "Queue depth per replica",
            [
                (f"{metrics.VLLM_QUEUE_DEPTH}{{{MODEL}}}", "{{model_name}} {{pod}}{{instance}}"),
                (f"vector({QUEUE_DEPTH_LIMIT})", "overloaded"),
            ],
            "short",
            "Requests waiting; the autoscaler adds replicas on this signal.",
        ),
        _panel(
            "Running requests",
            [(f"sum by (model_name) ({metrics.VLLM_RUNNING}{{{MODEL}}})", "{{model_name}}")],
            "short",
        ),
        _panel(
            "Output tokens per second", [(f"llmscale:generation_tokens:rate5m{{{MODEL}}}", "{{model_name}}")], "short"
        ),
        _panel(
            "Error rate",
            [
                (f"llmscale:request_error_ratio:rate5m{{{MODEL}}}", "{{model_name}}"),
                (f"vector({slo.max_error_rate:g})", "SLO"),
            ],
            "percentunit",
            "Failed, aborted and rejected (HTTP 503) requests.",
        ),
        _panel(
            "GPU utilisation",
            [
                (f"llmscale:gpu_utilization:avg{{{MODEL}}}", "{{model_name}}"),
                (f"vector({GPU_UNDERUSED_PERCENT})", "oversized below"),
                (f"vector({GPU_SATURATED_PERCENT})", "undersized above"),
            ],
            "percent",
        ),
        _panel(
            "GPU memory used",
            [
                (
                    f"sum({metrics.DCGM_FB_USED}) / (sum({metrics.DCGM_FB_USED}) + sum({metrics.DCGM_FB_FREE}))",
                    "all GPUs",
                )
            ],
            "percentunit",
        ),
        _panel(
            "KV cache usage",
            [(f"max by (model_name) ({metrics.VLLM_KV_CACHE_USAGE}{{{MODEL}}})", "{{model_name}}")],
            "percentunit",
        ),
        _cost_panel(config, gpus, per_thousand),
    ]
    if flavour is Flavour.KUBERNETES:
        namespace = config.kubernetes.namespace
        result.append(
            _panel(
                "Replicas against min and max",
                [
                    (
                        f'{metrics.KSM_AVAILABLE_REPLICAS}{{namespace="{namespace}",deployment=~"$model"}}',
                        "{{deployment}} ready",
                    ),
                    (
                        f'{metrics.KSM_HPA_MIN}{{namespace="{namespace}",horizontalpodautoscaler=~"keda-hpa-($model)"}}',
                        "{{horizontalpodautoscaler}} min",
                    ),
                    (
                        f'{metrics.KSM_HPA_MAX}{{namespace="{namespace}",horizontalpodautoscaler=~"keda-hpa-($model)"}}',
                        "{{horizontalpodautoscaler}} max",
                    ),
                ],
                "short",
            )
        )
    for index, panel in enumerate(result):
        panel["id"] = index + 1
        panel["gridPos"] = {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)}
    return result


def _cost_panel(config: StackConfig, gpus: str, per_thousand: str) -> dict[str, Any]:
    """Cost per 1,000 requests at the stack's stated rate (`gpu.pricePerGpuHour`); GPU-hours per 1,000 requests
    without one. The on-demand table is left out on purpose: its figure depends on the instance type and region,
    and a dashboard that changed with them would rewrite the single host's user data (a replacement) whenever the
    instance type changes."""
    from llmscale.sizing.prices import stated_gpu_price

    stated = config.gpu.price_per_gpu_hour
    price = None if stated is None else stated_gpu_price(stated)
    if price is None:
        return _panel(
            "GPU-hours per 1,000 requests",
            [(f"{gpus} / ({per_thousand})", "GPU-hours")],
            "short",
            "GPUs running over requests per hour / 1000 (set gpu.pricePerGpuHour to see a cost).",
        )
    return _panel(
        "Cost per 1,000 requests",
        [(f"({gpus} * {price.per_gpu_hour:g}) / ({per_thousand})", price.currency)],
        f"currency{price.currency}",
        f"GPUs running × {price.per_gpu_hour:g} {price.currency}/GPU-hour, over requests per hour / 1000.",
    )


def dashboard(config: StackConfig, flavour: Flavour, *, stack: str) -> dict[str, Any]:
    """The stack's Grafana dashboard as provisioning JSON, with a model selector."""
    return {
        "uid": f"llmscale-{stack}"[:40],
        "title": f"llmscale: {stack}",
        "tags": ["llmscale", str(config.tier)],
        "timezone": "browser",
        "schemaVersion": 39,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {
                    "name": "model",
                    "label": "Model profile",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {"query": f"label_values({metrics.VLLM_RUNNING}, model_name)", "refId": "model"},
                    "definition": f"label_values({metrics.VLLM_RUNNING}, model_name)",
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "current": {"text": "All", "value": "$__all"},
                    "refresh": 2,
                }
            ]
        },
        "panels": panels(config, flavour),
    }
