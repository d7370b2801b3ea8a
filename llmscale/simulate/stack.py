"""The stack as the simulator sees it: read from the planned objects, never from a separate description.

`stack_from_inventory` takes the records both policy runners have (the offline plan's resources, or CrossGuard's)
and extracts what the simulation plays: per site (the primary region, a warm standby), each vLLM Deployment with
its server flags, termination settings and KEDA ScaledObject; the routes and BackendTrafficPolicies in front of
it; the GPU node groups and the cluster autoscaler's flags; the Route 53 health checks and failover records; the
single host's EventBridge schedules. Values the API servers and controllers fill in when a field is left out
are filled in here the same way, each with its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmscale.k8s.defaults import DEFAULT_TERMINATION_GRACE_SECONDS
from llmscale.plan.recorder import UNKNOWN_TEXT
from llmscale.policy.inspect import NODE_GROUP, VllmServer, compose_files, scaled_objects, vllm_servers
from llmscale.policy.model import Inventory, Record
from llmscale.policy.settings import SETTINGS_TYPE
from llmscale.serving.metrics import VLLM_QUEUE_DEPTH, VLLM_RUNNING
from llmscale.simulate import hpa, keda

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


def _known(value: Any, where: str) -> Any:
    if value == UNKNOWN_TEXT:
        raise SimulationError(f"{where}: known only after apply, so it cannot be simulated")
    return value


def _number(value: Any, where: str, default: float | None = None) -> float:
    if value is None:
        if default is None:
            raise SimulationError(f"{where}: missing")
        return default
    _known(value, where)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"{where}: {value!r} is not a number") from None


# --- the model --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrometheusTrigger:
    """A prometheus trigger over vLLM's gauges: which of waiting/running it sums, its threshold and activation."""

    counts_waiting: bool
    counts_running: bool
    profile: str
    threshold: float
    activation_threshold: float
    metric_type: str  # AverageValue or Value


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


# --- extraction -------------------------------------------------------------------------------------------


def _settings(inventory: Inventory) -> Mapping[str, Any]:
    if not inventory.settings:
        raise SimulationError(f"the plan has no {SETTINGS_TYPE} record: it states no load, SLO or schedule to simulate")
    return inventory.settings


def _ancestors(records: Iterable[Record]) -> dict[str, str | None]:
    return {r.name: r.parent for r in records if not r.type.startswith(("kubernetes:", "aws:"))}


def _site_root(record: Record, parents: Mapping[str, str | None], layers: set[str]) -> str | None:
    current = record.parent
    seen = 0
    while current is not None and seen < 50:
        if current in layers:
            return current
        current = parents.get(current)
        seen += 1
    return None


def _flag(server: VllmServer, name: str) -> str | None:
    value = server.flag(name)
    return None if value in (None, "") else value


def _query_metrics(query: str, where: str) -> tuple[bool, bool, str]:
    waiting = VLLM_QUEUE_DEPTH in query
    running = VLLM_RUNNING in query
    profile = re.search(r'model_name="([^"]+)"', query)
    if not (waiting or running) or profile is None:
        raise SimulationError(
            f"{where}: query {query!r} is not one the simulator can evaluate (it knows sums of "
            f"{VLLM_QUEUE_DEPTH} and {VLLM_RUNNING} for one model_name)"
        )
    return waiting, running, profile.group(1)


def scaler_from_spec(name: str, spec: Mapping[str, Any]) -> Scaler:
    """A ScaledObject spec with KEDA's and the HPA's defaults filled in (see `llmscale.simulate.keda`)."""
    where = f"ScaledObject/{name}"
    prometheus: list[PrometheusTrigger] = []
    cron: list[CronTrigger] = []
    for index, trigger in enumerate(spec.get("triggers") or []):
        meta = trigger.get("metadata") or {}
        at = f"{where}: triggers[{index}]"
        kind = trigger.get("type")
        if kind == "prometheus":
            waiting, running, profile = _query_metrics(str(_known(meta.get("query", ""), f"{at}.metadata.query")), at)
            prometheus.append(
                PrometheusTrigger(
                    counts_waiting=waiting,
                    counts_running=running,
                    profile=profile,
                    threshold=_number(meta.get("threshold"), f"{at}.metadata.threshold"),
                    activation_threshold=_number(meta.get("activationThreshold"), f"{at}.metadata", 0.0),
                    metric_type=str(trigger.get("metricType") or "AverageValue"),
                )
            )
        elif kind == "cron":
            cron.append(
                CronTrigger(
                    start=str(meta.get("start", "")),
                    end=str(meta.get("end", "")),
                    timezone=str(meta.get("timezone") or "UTC"),
                    desired_replicas=int(_number(meta.get("desiredReplicas"), f"{at}.metadata.desiredReplicas")),
                )
            )
        else:
            raise SimulationError(f"{at}: trigger type {kind!r} is not simulated (prometheus and cron are)")
        if trigger.get("metricType") not in (None, "AverageValue", "Value"):
            raise SimulationError(f"{at}.metricType: {trigger.get('metricType')!r} is not simulated")
    behavior = (((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig")) or {}).get("behavior") or {}
    idle = spec.get("idleReplicaCount")
    minimum = int(_number(spec.get("minReplicaCount"), f"{where}.minReplicaCount", keda.DEFAULT_MIN_REPLICAS))
    return Scaler(
        name=name,
        polling_seconds=_number(spec.get("pollingInterval"), f"{where}.pollingInterval", keda.DEFAULT_POLLING_SECONDS),
        cooldown_seconds=_number(spec.get("cooldownPeriod"), f"{where}.cooldownPeriod", keda.DEFAULT_COOLDOWN_SECONDS),
        initial_cooldown_seconds=_number(
            spec.get("initialCooldownPeriod"), f"{where}.initialCooldownPeriod", keda.DEFAULT_INITIAL_COOLDOWN_SECONDS
        ),
        min_replicas=minimum,
        max_replicas=int(_number(spec.get("maxReplicaCount"), f"{where}.maxReplicaCount", keda.DEFAULT_MAX_REPLICAS)),
        idle_replicas=None if idle is None else int(_number(idle, f"{where}.idleReplicaCount")),
        prometheus=tuple(prometheus),
        cron=tuple(cron),
        scale_up=hpa.rules_from_spec(behavior.get("scaleUp"), hpa.DEFAULT_SCALE_UP),
        scale_down=hpa.rules_from_spec(behavior.get("scaleDown"), hpa.DEFAULT_SCALE_DOWN),
        has_fallback=spec.get("fallback") is not None,
    )


def _load_path(model: str, server: VllmServer) -> str:
    if _flag(server, "--load-format") == "runai_streamer" or model.startswith(("s3://", "store://", "gs://")):
        return "s3"
    if model.startswith("/"):
        return "local"
    return "hub"


def _model_cache(pod: Mapping[str, Any]) -> str:
    containers = pod.get("containers") or []
    mounts = {m.get("name"): m.get("mountPath") for c in containers for m in c.get("volumeMounts") or []}
    for volume in pod.get("volumes") or []:
        if volume.get("name") != "model-cache" and mounts.get(volume.get("name")) != "/models":
            continue
        if "hostPath" in volume:
            return "hostPath"
        if "persistentVolumeClaim" in volume:
            return "pvc"
    return "emptyDir"


def _pre_stop(container: Mapping[str, Any]) -> float:
    hook = ((container.get("lifecycle") or {}).get("preStop")) or {}
    seconds = (hook.get("sleep") or {}).get("seconds")
    return float(seconds) if seconds is not None else 0.0


def _startup_budget(container: Mapping[str, Any]) -> float:
    probe = container.get("startupProbe")
    if not probe:
        return float("inf")  # no startup probe: the liveness probe's delays would apply; not simulated
    return float(probe.get("failureThreshold", PROBE_FAILURES)) * float(
        probe.get("periodSeconds", PROBE_PERIOD_SECONDS)
    )


def _scrape_seconds(records: list[Record], profile: str) -> float:
    for record in records:
        spec = record.props.get("spec") or {}
        labels = ((spec.get("selector") or {}).get("matchLabels")) or {}
        if labels.get("llmscale.io/profile") == profile:
            for endpoint in spec.get("podMetricsEndpoints") or []:
                if endpoint.get("interval"):
                    return duration(endpoint["interval"], f"PodMonitor/{record.name}.interval")
    return DEFAULT_SCRAPE_SECONDS


def _models(settings: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(m.get("name")): m for m in settings.get("models") or []}


def _deployment_server(
    record: Record, server: VllmServer, settings: Mapping[str, Any], monitors: list[Record], scaler: Scaler | None
) -> Server:
    spec = record.props.get("spec") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    container = next(
        (c for c in pod.get("containers") or [] if c.get("name") == "vllm" or "vllm" in str(c.get("image", ""))), {}
    )
    where = f"Deployment/{record.name}"
    profile = str(labels.get("llmscale.io/profile") or _flag(server, "--served-model-name") or record.name)
    declared = _models(settings).get(profile, {})
    limits = (container.get("resources") or {}).get("limits") or {}
    gpus = int(_number(limits.get("nvidia.com/gpu"), f"{where}: resources.limits.nvidia.com/gpu", 1))
    zone_spread = any(
        c.get("topologyKey") == "topology.kubernetes.io/zone" and c.get("whenUnsatisfiable") == "DoNotSchedule"
        for c in pod.get("topologySpreadConstraints") or []
    )
    return _server(
        name=str((record.props.get("metadata") or {}).get("name") or record.name),
        server=server,
        profile=profile,
        lane=str(labels.get("llmscale.io/lane") or declared.get("lane") or "interactive"),
        canary=labels.get("llmscale.io/track") == "canary",
        declared=declared,
        replicas=int(_number(spec.get("replicas"), f"{where}.spec.replicas", 1)),
        gpus=gpus,
        grace=_number(pod.get("terminationGracePeriodSeconds"), where, DEFAULT_TERMINATION_GRACE_SECONDS),
        pre_stop=_pre_stop(container),
        startup=_startup_budget(container),
        cache=_model_cache(pod),
        zone_spread=zone_spread,
        scrape=_scrape_seconds(monitors, profile),
        scaler=scaler,
        where=where,
        resource=record.name,
    )


def _server(
    *,
    name: str,
    server: VllmServer,
    profile: str,
    lane: str,
    canary: bool,
    declared: Mapping[str, Any],
    replicas: int,
    gpus: int,
    grace: float,
    pre_stop: float,
    startup: float,
    cache: str,
    zone_spread: bool,
    scrape: float,
    scaler: Scaler | None,
    where: str,
    resource: str = "",
) -> Server:
    model = server.args[0] if server.args and not server.args[0].startswith("-") else str(declared.get("model", ""))
    if not model:
        raise SimulationError(f"{where}: the vLLM command names no model")
    queue = _flag(server, "--max-num-queued-reqs")
    tensor_parallel = _flag(server, "--tensor-parallel-size")
    return Server(
        name=name,
        profile=profile,
        lane=lane,
        canary=canary,
        model=model,
        quantization=_flag(server, "--quantization") or declared.get("quantization"),
        replicas=replicas,
        gpus_per_replica=max(gpus, int(tensor_parallel) if tensor_parallel else 1),
        max_num_seqs=int(
            _number(_flag(server, "--max-num-seqs"), f"{where}: --max-num-seqs", VLLM_DEFAULT_MAX_NUM_SEQS)
        ),
        queue_limit=int(_number(queue, f"{where}: --max-num-queued-reqs")) if queue is not None else None,
        gpu_memory_utilization=_number(
            _flag(server, "--gpu-memory-utilization"),
            f"{where}: --gpu-memory-utilization",
            VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
        ),
        shutdown_timeout=_number(
            _flag(server, "--shutdown-timeout"), f"{where}: --shutdown-timeout", VLLM_DEFAULT_SHUTDOWN_TIMEOUT
        ),
        grace_seconds=grace,
        pre_stop_seconds=pre_stop,
        startup_budget_seconds=startup,
        load_path=_load_path(model, server),
        model_cache=cache,
        image=server.image,
        zone_spread=zone_spread,
        scrape_seconds=scrape,
        scaler=scaler,
        resource=resource,
    )


def _effective_timeout(rule: Mapping[str, Any], policy: Mapping[str, Any] | None, where: str) -> float:
    """Envoy Gateway v1.9.0 `getEffectiveRequestTimeout` (internal/xds/translator/route.go): the HTTPRoute rule's
    `timeouts.request` wins, else the BackendTrafficPolicy's `timeout.http.requestTimeout`, else Envoy's 15 s."""
    route_timeout = (rule.get("timeouts") or {}).get("request")
    if route_timeout:
        return duration(route_timeout, f"{where}.timeouts.request")
    policy_timeout = ((((policy or {}).get("timeout")) or {}).get("http") or {}).get("requestTimeout")
    if policy_timeout:
        return duration(policy_timeout, f"{where}: BackendTrafficPolicy timeout.http.requestTimeout")
    return ENVOY_DEFAULT_REQUEST_TIMEOUT


def _route(
    record: Record, policy: Mapping[str, Any] | None, services: Mapping[str, str], rate_limit: float | None
) -> Route | None:
    spec = record.props.get("spec") or {}
    where = f"HTTPRoute/{record.name}"
    backends: list[tuple[str, float]] = []
    timeout = ENVOY_DEFAULT_REQUEST_TIMEOUT
    for rule in spec.get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            server = services.get(str(ref.get("name")))
            if server is not None:
                backends.append((server, float(ref.get("weight", 1))))
                timeout = _effective_timeout(rule, policy, where)
    if not backends:
        return None
    policy = policy or {}
    retry = policy.get("retry")
    breaker = policy.get("circuitBreaker") or {}
    retry_on = (retry or {}).get("retryOn") or {}
    backoff = ((retry or {}).get("perRetry") or {}).get("backOff") or {}
    budget = ((breaker.get("retryBudget") or {}).get("percent")) or {}
    local = ((policy.get("rateLimit") or {}).get("local") or {}).get("rules") or []
    limit, window, per_client = None, 60.0, False
    if local:
        first = local[0]
        limit = _number((first.get("limit") or {}).get("requests"), f"{where}: rateLimit requests")
        unit = str((first.get("limit") or {}).get("unit", "Minute"))
        window = float(RATE_UNITS.get(unit, 60))
        per_client = any(
            header.get("type") == "Distinct"
            for selector in first.get("clientSelectors") or []
            for header in selector.get("headers") or []
        )
    elif rate_limit is not None:
        limit = rate_limit
    base = duration(backoff.get("baseInterval", "25ms"), f"{where}: retry backOff") if retry else 0.0
    most = duration(backoff.get("maxInterval", "250ms"), f"{where}: retry backOff") if retry else 0.0
    return Route(
        name=str((record.props.get("metadata") or {}).get("name") or record.name),
        backends=tuple(backends),
        timeout_seconds=timeout,
        retries=int((retry or {}).get("numRetries", 2)) if retry else 0,
        retry_on_503="retriable-status-codes" in (retry_on.get("triggers") or [])
        and 503 in (retry_on.get("httpStatusCodes") or []),
        retry_backoff_seconds=(base + most) / 2,
        retry_budget_percent=float(budget.get("numerator", 20)) / max(float(budget.get("denominator", 100)), 1.0) * 100,
        max_parallel_requests=float(breaker.get("maxParallelRequests", CIRCUIT_BREAKER_DEFAULT)),
        rate_limit_requests=limit,
        rate_limit_window_seconds=window,
        rate_limit_per_client=per_client,
    )


def _ca_flags(release: Record | None) -> ClusterAutoscalerFlags | None:
    if release is None:
        return None
    extra = ((release.props.get("values") or {}).get("extraArgs")) or {}
    where = f"Release/{release.name}: extraArgs"

    def seconds(key: str, default: float) -> float:
        return duration(extra[key], f"{where}.{key}") if key in extra else default

    threshold = extra.get("scale-down-gpu-utilization-threshold")
    return ClusterAutoscalerFlags(
        scan_interval=seconds("scan-interval", CA_SCAN_INTERVAL),
        scale_down_unneeded=seconds("scale-down-unneeded-time", CA_SCALE_DOWN_UNNEEDED),
        scale_down_delay_after_add=seconds("scale-down-delay-after-add", CA_SCALE_DOWN_DELAY_AFTER_ADD),
        max_graceful_termination=_number(
            extra.get("max-graceful-termination-sec"), f"{where}.max-graceful-termination-sec",
            CA_MAX_GRACEFUL_TERMINATION,
        ),
        gpu_utilization_threshold=_number(threshold, where, CA_GPU_UTILIZATION_THRESHOLD),
    )  # fmt: skip


def _node_groups(inventory: Inventory, default_gpus: int) -> dict[str, list[NodeGroup]]:
    """GPU node groups by the cluster they join."""
    groups: dict[str, list[NodeGroup]] = {}
    for record in inventory.of_type(NODE_GROUP):
        props = record.props
        if "NVIDIA" not in str(props.get("amiType", "")).upper():
            continue
        scaling = props.get("scalingConfig") or {}
        where = f"NodeGroup/{record.name}.scalingConfig"
        types = props.get("instanceTypes") or []
        # The autoscaler's node template says how many GPUs a node of an empty group brings.
        template = (props.get("tags") or {}).get(GPU_TEMPLATE_TAG)
        gpus = int(_number(template, f"NodeGroup/{record.name}.tags.{GPU_TEMPLATE_TAG}", default_gpus))
        groups.setdefault(str(props.get("clusterName")), []).append(
            NodeGroup(
                name=record.name,
                min_size=int(_number(scaling.get("minSize"), f"{where}.minSize")),
                max_size=int(_number(scaling.get("maxSize"), f"{where}.maxSize")),
                desired_size=int(_number(scaling.get("desiredSize"), f"{where}.desiredSize", 0)),
                zone=record.name.rsplit("-", 1)[-1],
                instance_type=str(types[0]) if types else "",
                gpus_per_node=gpus,
            )
        )
    return groups


def _release_for(inventory: Inventory, cluster: str) -> Record | None:
    for record in inventory.of_type(RELEASE):
        values = record.props.get("values") or {}
        if (values.get("autoDiscovery") or {}).get("clusterName") == cluster:
            return record
    return None


def _envoy_replicas(
    inventory: Inventory, layer: str | None, parents: Mapping[str, str | None], layers: set[str]
) -> int:
    for record in inventory.kubernetes("EnvoyProxy"):
        if _site_root(record, parents, layers) == layer:
            kubernetes = (((record.props.get("spec") or {}).get("provider") or {}).get("kubernetes")) or {}
            return int((kubernetes.get("envoyDeployment") or {}).get("replicas", 1))
    return 1


def _kubernetes_sites(inventory: Inventory, settings: Mapping[str, Any]) -> list[Site]:
    parents = _ancestors(inventory.records)
    layers = {r.name for r in inventory.of_type(SERVING_LAYER)}
    scalers = scaled_objects(inventory)
    monitors = list(inventory.kubernetes("PodMonitor"))
    servers_by_record = {s.resource: s for s in vllm_servers(inventory)}
    node_groups = _node_groups(inventory, int(settings.get("gpusPerNode") or 1))
    by_layer: dict[str | None, list[Server]] = {}
    pod_labels: dict[str | None, dict[str, Mapping[str, Any]]] = {}
    site_names: dict[str | None, str] = {}
    for record in inventory.kubernetes("Deployment"):
        server = servers_by_record.get(record.name)
        if server is None:
            continue
        name = str((record.props.get("metadata") or {}).get("name") or record.name)
        spec = scalers.get((record.parent, name))
        scaler = scaler_from_spec(name, spec) if spec is not None else None
        layer = _site_root(record, parents, layers)
        by_layer.setdefault(layer, []).append(
            _deployment_server(
                record, server, settings, [m for m in monitors if _site_root(m, parents, layers) == layer], scaler
            )
        )
        labels = ((record.props.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        pod_labels.setdefault(layer, {})[name] = labels
        site_names.setdefault(layer, str(labels.get("llmscale.io/site") or "primary"))
    policies_by_route: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    for policy in inventory.kubernetes("BackendTrafficPolicy"):
        for ref in (policy.props.get("spec") or {}).get("targetRefs") or []:
            policies_by_route[_site_root(policy, parents, layers), str(ref.get("name"))] = (
                policy.props.get("spec") or {}
            )
    rate_limit = settings.get("rateLimitRequestsPerMinute")
    sites = []
    for layer, servers in by_layer.items():
        services = _services(inventory, layer, parents, layers, pod_labels.get(layer, {}))
        routes = []
        for record in inventory.kubernetes("HTTPRoute"):
            if _site_root(record, parents, layers) != layer:
                continue
            route_name = str((record.props.get("metadata") or {}).get("name") or record.name)
            if route_name == "health":
                continue
            route = _route(record, policies_by_route.get((layer, route_name)), services, rate_limit)
            if route is not None:
                routes.append(route)
        cluster = _cluster_of(site_names.get(layer, "primary"), inventory)
        groups = tuple(node_groups.get(cluster, [])) if cluster else ()
        release = _release_for(inventory, cluster) if cluster else None
        sites.append(
            Site(
                name=site_names.get(layer, "primary"),
                servers=tuple(servers),
                routes=tuple(routes),
                node_groups=groups,
                gpus_per_node=groups[0].gpus_per_node if groups else int(settings.get("gpusPerNode") or 1),
                autoscaler=_ca_flags(release) if groups else None,
                envoy_replicas=_envoy_replicas(inventory, layer, parents, layers),
            )
        )
    sites.sort(key=lambda s: (s.name != "primary", s.name))
    return sites


def _cluster_of(site: str, inventory: Inventory) -> str | None:
    """The EKS cluster a site runs on: the one its GPU node groups (labelled with the site) join."""
    for record in inventory.of_type(NODE_GROUP):
        labels = record.props.get("labels") or {}
        if (
            "NVIDIA" in str(record.props.get("amiType", "")).upper()
            and labels.get("llmscale.io/site", "primary") == site
        ):
            return str(record.props.get("clusterName"))
    return None


def _services(
    inventory: Inventory,
    layer: str | None,
    parents: Mapping[str, str | None],
    layers: set[str],
    pod_labels: Mapping[str, Mapping[str, Any]],
) -> dict[str, str]:
    """Service name → the Deployment whose pods its selector selects, within one site."""
    found: dict[str, str] = {}
    for record in inventory.kubernetes("Service"):
        if _site_root(record, parents, layers) != layer:
            continue
        selector = (record.props.get("spec") or {}).get("selector") or {}
        name = str((record.props.get("metadata") or {}).get("name") or record.name)
        for deployment, labels in pod_labels.items():
            if selector and all(labels.get(key) == value for key, value in selector.items()):
                found[name] = deployment
                break
    return found


def _host_site(inventory: Inventory, settings: Mapping[str, Any]) -> Site | None:
    hosts = list(compose_files(inventory))
    declared = (settings.get("models") or [{}])[0]
    if hosts:
        record, compose = hosts[0]
        server = next((s for s in vllm_servers(inventory) if s.resource == record.name), None)
        if server is None:
            return None
        service = (compose.get("services") or {}).get("vllm") or {}
        grace = duration(service.get("stop_grace_period", COMPOSE_STOP_GRACE_SECONDS), "vllm.stop_grace_period")
    else:
        if settings.get("platform") != "host":
            return None
        # An existing host: the bundle is rendered, not planned; its server follows the declared profile.
        queue = declared.get("maxNumQueuedReqs")
        args = [
            str(declared.get("model", "")),
            "--max-num-seqs",
            str(declared.get("maxNumSeqs", VLLM_DEFAULT_MAX_NUM_SEQS)),
            *(["--max-num-queued-reqs", str(queue)] if queue is not None else []),
        ]
        server = VllmServer(resource="", image=str(declared.get("image", "")), args=args)
        grace = COMPOSE_STOP_GRACE_SECONDS
    starts = [
        r
        for r in inventory.of_type(SCHEDULE)
        if str((r.props.get("target") or {}).get("arn", "")).endswith("startInstances")
    ]
    stops = [
        r
        for r in inventory.of_type(SCHEDULE)
        if str((r.props.get("target") or {}).get("arn", "")).endswith("stopInstances")
    ]
    schedule = None
    if starts and stops:
        schedule = HostSchedule(
            start=str(starts[0].props.get("scheduleExpression")),
            stop=str(stops[0].props.get("scheduleExpression")),
            timezone=str(starts[0].props.get("scheduleExpressionTimezone") or "UTC"),
        )
    vllm = _server(
        name=str(declared.get("name") or "vllm"),
        server=server,
        profile=str(declared.get("name") or "vllm"),
        lane=str(declared.get("lane") or "interactive"),
        canary=False,
        declared=declared,
        replicas=1,
        gpus=int(declared.get("gpusPerReplica") or 1),
        grace=grace,
        pre_stop=0.0,
        startup=float("inf"),
        cache="host",
        zone_spread=False,
        scrape=DEFAULT_SCRAPE_SECONDS,
        scaler=None,
        where=f"Instance/{server.resource}" if server.resource else "the existing host",
        resource=server.resource,
    )
    route = Route(
        name=vllm.name,
        backends=((vllm.name, 1.0),),
        timeout_seconds=float("inf"),
        retries=0,
        retry_on_503=False,
        retry_backoff_seconds=0.0,
        retry_budget_percent=0.0,
        max_parallel_requests=float("inf"),
        rate_limit_requests=None,
        rate_limit_window_seconds=60.0,
        rate_limit_per_client=False,
    )
    return Site(
        name="primary",
        servers=(vllm,),
        routes=(route,),
        node_groups=(),
        gpus_per_node=int(settings.get("gpusPerNode") or 1),
        autoscaler=None,
        envoy_replicas=1,
        single_host=True,
        host_schedule=schedule,
    )


def _failover(inventory: Inventory) -> Failover | None:
    checks = {r.name: r for r in inventory.of_type(HEALTH_CHECK)}
    records = [r for r in inventory.of_type(DNS_RECORD) if r.props.get("failoverRoutingPolicies")]
    if not records:
        return None
    primary = next((r for r in records if (r.props["failoverRoutingPolicies"][0] or {}).get("type") == "PRIMARY"), None)
    if primary is None:
        return None

    def check(record: Record | None) -> HealthCheck | None:
        if record is None:
            return None
        found = checks.get(record.name)
        if found is None:
            return None
        where = f"HealthCheck/{found.name}"
        return HealthCheck(
            interval_seconds=_number(found.props.get("requestInterval"), f"{where}.requestInterval", 30),
            failure_threshold=int(_number(found.props.get("failureThreshold"), f"{where}.failureThreshold", 3)),
        )

    secondary = next(
        (r for r in records if (r.props["failoverRoutingPolicies"][0] or {}).get("type") == "SECONDARY"), None
    )
    primary_check = check(primary)
    if primary_check is None:
        return None
    ttl = primary.props.get("ttl")
    # An alias record has no TTL of its own: resolvers cache it for the target's TTL (60 s for load balancers).
    return Failover(
        primary=primary_check,
        secondary=check(secondary),
        ttl_seconds=_number(ttl, f"Record/{primary.name}.ttl", 60),
    )


def stack_from_inventory(inventory: Inventory, name: str = "stack") -> SimStack:
    """The simulation's view of a stack, from the records either policy runner sees."""
    settings = _settings(inventory)
    slo = settings.get("slo") or {}
    load = settings.get("load") or {}
    schedule = settings.get("schedule") or {}
    host = _host_site(inventory, settings)
    sites = [host] if host is not None else _kubernetes_sites(inventory, settings)
    if not sites or not any(site.servers for site in sites):
        raise SimulationError("the plan holds no vLLM server (Deployment or single host) to simulate")
    for site in sites:
        if not site.routes and not site.single_host:
            raise SimulationError(f"site {site.name}: no HTTPRoute sends traffic to its vLLM Deployments")
    notes = []
    for site in sites:
        for server in site.servers:
            if server.scaler is not None and server.scaler.has_fallback:
                notes.append(
                    f"ScaledObject/{server.name}: fallback is not exercised (the simulated Prometheus never fails)"
                )
    return SimStack(
        name=name,
        tier=str(settings.get("tier")),
        platform=str(settings.get("platform")),
        load=Load(
            users=int(load.get("peakConcurrentUsers", 25)),
            prompt_tokens=int(load.get("promptTokens", 1000)),
            output_tokens=int(load.get("outputTokens", 250)),
            think_seconds=float(load.get("thinkTimeSeconds", 10.0)),
        ),
        slo=Slo(
            p99_seconds=float(slo.get("p99LatencySeconds", 2.0)),
            ttft_p95_seconds=None if slo.get("ttftP95Seconds") is None else float(slo["ttftP95Seconds"]),
            availability=float(slo.get("availability", 0.995)),
            max_error_rate=float(slo.get("maxErrorRate", 0.001)),
        ),
        schedule=Schedule(
            enabled=bool(schedule.get("enabled", True)),
            timezone=str(schedule.get("timezone", "UTC")),
            days=tuple(schedule.get("days") or ("mon", "tue", "wed", "thu", "fri")),
            start=str(schedule.get("start", "08:00")),
            end=str(schedule.get("end", "19:00")),
        ),
        instance_type=str(settings.get("instanceType", "")),
        gpus_per_node=int(settings.get("gpusPerNode") or 1),
        sites=tuple(sites),
        failover=_failover(inventory) if len(sites) > 1 else None,
        notes=tuple(notes),
    )


def stack_from_plan(document: Mapping[str, Any]) -> SimStack:
    """The simulation's view of an offline plan document (`llmscale plan STACK --json`)."""
    from llmscale.policy.pack import inventory_from_plan

    if not isinstance(document.get("resources"), list):
        raise SimulationError("not an llmscale plan document (no resources list)")
    return stack_from_inventory(inventory_from_plan(dict(document)), name=str(document.get("stack", "stack")))
