"""The upstream defaults the extraction fills in where a field is left out, and how planned values are read."""

from __future__ import annotations

import re
from typing import Any

from llmscale.plan.recorder import UNKNOWN_TEXT

HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
DNS_RECORD = "aws:route53/record:Record"
SCHEDULE = "aws:scheduler/schedule:Schedule"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVING_LAYER = "llmscale:index:ServingLayer"
GPU_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"

# vLLM 0.33 server defaults (/work/vllm-src vllm/engine/arg_utils.py, vllm/config/vllm.py): --shutdown-timeout 0
# aborts every request in flight on SIGTERM; no --max-num-queued-reqs means an unbounded queue.
VLLM_DEFAULT_MAX_NUM_SEQS = 256
VLLM_DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
VLLM_DEFAULT_SHUTDOWN_TIMEOUT = 0
# Probe defaults (Kubernetes `SetDefaults_Probe`): periodSeconds 10, failureThreshold 3.
PROBE_PERIOD_SECONDS = 10
PROBE_FAILURES = 3
# docker compose `stop_grace_period` default (compose-spec `05-services.md`): SIGKILL 10 s after SIGTERM.
COMPOSE_STOP_GRACE_SECONDS = 10
# Envoy's route timeout when neither the HTTPRoute nor a BackendTrafficPolicy sets one (FACTS: 15 s).
ENVOY_DEFAULT_REQUEST_TIMEOUT = 15.0
# Envoy Gateway v1.9.0 BackendTrafficPolicy CRD defaults for circuitBreaker thresholds.
CIRCUIT_BREAKER_DEFAULT = 1024
# cluster-autoscaler 1.35.2 `config/flags/flags.go` and `config/const.go` defaults.
CA_SCAN_INTERVAL = 10.0
CA_SCALE_DOWN_UNNEEDED = 600.0
CA_SCALE_DOWN_DELAY_AFTER_ADD = 600.0
CA_MAX_GRACEFUL_TERMINATION = 600.0
CA_GPU_UTILIZATION_THRESHOLD = 0.5
# Prometheus' scrape interval when a PodMonitor endpoint states none (kube-prometheus-stack's default).
DEFAULT_SCRAPE_SECONDS = 30.0

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
RATE_UNITS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86400}


class SimulationError(ValueError):
    """The plan holds something the simulator cannot play; one line naming the object and the field."""


def duration(value: Any, where: str) -> float:
    """Seconds of a Kubernetes/Gateway API duration (`600s`, `10m`, `1h30m` is not accepted) or a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = DURATION.match(str(value))
    if not match:
        raise SimulationError(f"{where}: {value!r} is not a duration such as 30s or 10m")
    return float(match.group(1)) * UNITS[match.group(2)]


def known(value: Any, where: str) -> Any:
    if value == UNKNOWN_TEXT:
        raise SimulationError(f"{where}: known only after apply, so it cannot be simulated")
    return value


def number(value: Any, where: str, default: float | None = None) -> float:
    if value is None:
        if default is None:
            raise SimulationError(f"{where}: missing")
        return default
    known(value, where)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"{where}: {value!r} is not a number") from None
