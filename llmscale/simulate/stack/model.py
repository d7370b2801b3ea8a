"""The stack as the simulator plays it: sites, vLLM servers with their scalers, routes, node groups, failover."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmscale.simulate import hpa
from llmscale.simulate.stack.values import (
    CA_GPU_UTILIZATION_THRESHOLD,
    CA_MAX_GRACEFUL_TERMINATION,
    CA_SCALE_DOWN_DELAY_AFTER_ADD,
    CA_SCALE_DOWN_UNNEEDED,
    CA_SCAN_INTERVAL,
)


@dataclass(frozen=True)
class PrometheusTrigger:
    """A prometheus trigger over vLLM's gauges: which of waiting/running it sums, its threshold and activation."""

    counts_waiting: bool
    counts_running: bool
    profile: str
    threshold: float
    activation_threshold: float
    metric_type: str  # AverageValue or Value
    stable_only: bool = False  # the query leaves out the canary's pods


@dataclass(frozen=True)
class CronTrigger:
    """A cron trigger: the window as KEDA reads it, and the replicas it asks for inside it."""

    start: str
    end: str
    timezone: str
    desired_replicas: int


@dataclass(frozen=True)
class Scaler:
    """A KEDA ScaledObject with the defaults KEDA and the HPA fill in."""

    name: str
    polling_seconds: float
    cooldown_seconds: float
    initial_cooldown_seconds: float
    min_replicas: int
    max_replicas: int
    idle_replicas: int | None
    prometheus: tuple[PrometheusTrigger, ...]
    cron: tuple[CronTrigger, ...]
    scale_up: hpa.ScalingRules
    scale_down: hpa.ScalingRules
    has_fallback: bool


@dataclass(frozen=True)
class Server:
    """One vLLM server (a Deployment's pods, or the single host's container) and how it starts and stops."""

    name: str
    profile: str
    lane: str
    canary: bool
    model: str
    quantization: str | None
    replicas: int
    gpus_per_replica: int
    max_num_seqs: int
    queue_limit: int | None
    gpu_memory_utilization: float
    shutdown_timeout: float
    grace_seconds: float
    pre_stop_seconds: float
    startup_budget_seconds: float
    load_path: str  # "hub", "s3" or "local"
    model_cache: str  # "emptyDir", "hostPath", "pvc" or "host"
    image: str
    zone_spread: bool
    scrape_seconds: float
    scaler: Scaler | None = None
    resource: str = ""  # the planned resource it comes from (a Deployment, or the host's instance)


@dataclass(frozen=True)
class Route:
    """An HTTPRoute to one profile's servers, with the traffic policy Envoy applies to it."""

    name: str
    backends: tuple[tuple[str, float], ...]  # (server name, weight)
    timeout_seconds: float
    retries: int
    retry_on_503: bool
    retry_backoff_seconds: float
    retry_budget_percent: float
    max_parallel_requests: float
    rate_limit_requests: float | None
    rate_limit_window_seconds: float
    rate_limit_per_client: bool


@dataclass(frozen=True)
class NodeGroup:
    """A managed GPU node group: its bounds and zone."""

    name: str
    min_size: int
    max_size: int
    desired_size: int
    zone: str
    instance_type: str
    gpus_per_node: int


@dataclass(frozen=True)
class ClusterAutoscalerFlags:
    """The cluster autoscaler flags that shape node scale-up and scale-down."""

    scan_interval: float = CA_SCAN_INTERVAL
    scale_down_unneeded: float = CA_SCALE_DOWN_UNNEEDED
    scale_down_delay_after_add: float = CA_SCALE_DOWN_DELAY_AFTER_ADD
    max_graceful_termination: float = CA_MAX_GRACEFUL_TERMINATION
    gpu_utilization_threshold: float = CA_GPU_UTILIZATION_THRESHOLD


@dataclass(frozen=True)
class HostSchedule:
    """The single host's EventBridge Scheduler start and stop expressions."""

    start: str
    stop: str
    timezone: str


@dataclass(frozen=True)
class Site:
    """One place that serves: a cluster (primary or warm standby), or the single host."""

    name: str
    servers: tuple[Server, ...]
    routes: tuple[Route, ...]
    node_groups: tuple[NodeGroup, ...]  # empty: nodes llmscale does not manage (an existing cluster, the host)
    gpus_per_node: int
    autoscaler: ClusterAutoscalerFlags | None
    envoy_replicas: int
    single_host: bool = False
    host_schedule: HostSchedule | None = None


@dataclass(frozen=True)
class HealthCheck:
    """A Route 53 health check: how often it looks and how many failures make it unhealthy."""

    interval_seconds: float
    failure_threshold: int


@dataclass(frozen=True)
class Failover:
    """Route 53 failover between the primary and the standby: health checks and the records' TTL."""

    primary: HealthCheck
    secondary: HealthCheck | None
    ttl_seconds: float


@dataclass(frozen=True)
class Load:
    """The stack's declared peak load (the planner's inputs)."""

    users: int
    prompt_tokens: int
    output_tokens: int
    think_seconds: float


@dataclass(frozen=True)
class Slo:
    """The stack's promise: p99 end-to-end latency, optional TTFT p95, availability and error budget."""

    p99_seconds: float
    ttft_p95_seconds: float | None
    availability: float
    max_error_rate: float


@dataclass(frozen=True)
class Schedule:
    """The active hours the stack declares (the built-in traffic follows them)."""

    enabled: bool
    timezone: str
    days: tuple[str, ...]
    start: str
    end: str


@dataclass(frozen=True)
class SimStack:
    """Everything the simulation plays, extracted from one stack's planned objects."""

    name: str
    tier: str
    platform: str
    load: Load
    slo: Slo
    schedule: Schedule
    instance_type: str
    gpus_per_node: int
    sites: tuple[Site, ...]
    failover: Failover | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def primary(self) -> Site:
        """The site that takes traffic while nothing has failed."""
        return next((s for s in self.sites if s.name == "primary"), self.sites[0])

    @property
    def standby(self) -> Site | None:
        """The warm standby, when the stack builds one."""
        return next((s for s in self.sites if s.name == "standby"), None)
