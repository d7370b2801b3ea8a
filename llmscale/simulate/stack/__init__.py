"""The stack as the simulator sees it: read from the planned objects, never from a separate description.

`stack_from_inventory` takes the records both policy runners have (the offline plan's resources, or CrossGuard's)
and extracts what the simulation plays: per site (the primary region, a warm standby), each vLLM Deployment with
its server flags, termination settings and KEDA ScaledObject; the routes and BackendTrafficPolicies in front of
it; the GPU node groups and the cluster autoscaler's flags; the Route 53 health checks and failover records; the
single host's EventBridge schedules. Values the API servers and controllers fill in when a field is left out
are filled in here the same way, each with its source.
"""

from __future__ import annotations

from llmscale.simulate.stack.clusters import effective_timeout
from llmscale.simulate.stack.extract import stack_from_inventory, stack_from_plan
from llmscale.simulate.stack.model import (
    ClusterAutoscalerFlags,
    CronTrigger,
    Failover,
    HealthCheck,
    HostSchedule,
    Load,
    NodeGroup,
    PrometheusTrigger,
    Route,
    Scaler,
    Schedule,
    Server,
    SimStack,
    Site,
    Slo,
)
from llmscale.simulate.stack.servers import scaler_from_spec
from llmscale.simulate.stack.values import (
    CA_GPU_UTILIZATION_THRESHOLD,
    CA_MAX_GRACEFUL_TERMINATION,
    CA_SCALE_DOWN_DELAY_AFTER_ADD,
    CA_SCALE_DOWN_UNNEEDED,
    CA_SCAN_INTERVAL,
    CIRCUIT_BREAKER_DEFAULT,
    COMPOSE_STOP_GRACE_SECONDS,
    DEFAULT_SCRAPE_SECONDS,
    DNS_RECORD,
    DURATION,
    ENVOY_DEFAULT_REQUEST_TIMEOUT,
    GPU_TEMPLATE_TAG,
    HEALTH_CHECK,
    PROBE_FAILURES,
    PROBE_PERIOD_SECONDS,
    RATE_UNITS,
    RELEASE,
    SCHEDULE,
    SERVING_LAYER,
    UNITS,
    VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
    VLLM_DEFAULT_MAX_NUM_SEQS,
    VLLM_DEFAULT_SHUTDOWN_TIMEOUT,
    SimulationError,
    duration,
)

__all__ = [
    "CA_GPU_UTILIZATION_THRESHOLD",
    "CA_MAX_GRACEFUL_TERMINATION",
    "CA_SCALE_DOWN_DELAY_AFTER_ADD",
    "CA_SCALE_DOWN_UNNEEDED",
    "CA_SCAN_INTERVAL",
    "CIRCUIT_BREAKER_DEFAULT",
    "COMPOSE_STOP_GRACE_SECONDS",
    "DEFAULT_SCRAPE_SECONDS",
    "DNS_RECORD",
    "DURATION",
    "ENVOY_DEFAULT_REQUEST_TIMEOUT",
    "GPU_TEMPLATE_TAG",
    "HEALTH_CHECK",
    "PROBE_FAILURES",
    "PROBE_PERIOD_SECONDS",
    "RATE_UNITS",
    "RELEASE",
    "SCHEDULE",
    "SERVING_LAYER",
    "UNITS",
    "VLLM_DEFAULT_GPU_MEMORY_UTILIZATION",
    "VLLM_DEFAULT_MAX_NUM_SEQS",
    "VLLM_DEFAULT_SHUTDOWN_TIMEOUT",
    "ClusterAutoscalerFlags",
    "CronTrigger",
    "Failover",
    "HealthCheck",
    "HostSchedule",
    "Load",
    "NodeGroup",
    "PrometheusTrigger",
    "Route",
    "Scaler",
    "Schedule",
    "Server",
    "SimStack",
    "SimulationError",
    "Site",
    "Slo",
    "duration",
    "effective_timeout",
    "scaler_from_spec",
    "stack_from_inventory",
    "stack_from_plan",
]
