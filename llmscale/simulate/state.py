"""What a simulation holds while it runs: pods, Deployments, routes, sites and each simulated minute's record."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from llmscale.simulate import cron, gateway, hpa, keda, nodes
from llmscale.simulate.stack import Route, Server, Site
from llmscale.simulate.stats import Counts, Histogram
from llmscale.simulate.vllm import ReplicaModel

PENDING, STARTING, READY, TERMINATING = 0, 1, 2, 3  # a pod's phase


@dataclass(eq=False, slots=True)
class Pod:
    """One replica: where it runs, its phase, when it serves and when it is gone."""

    state: int
    node: nodes.Node | None = None
    ready_at: float = 0.0
    exit_at: float = 0.0
    created: float = 0.0
    restarted: bool = False


@dataclass(frozen=True)
class ScaleEvent:
    """A change of a Deployment's replicas, by KEDA or the HPA."""

    seconds: float
    workload: str
    site: str
    before: int
    after: int
    by: str


@dataclass(eq=False)
class Workload:
    """A vLLM Deployment (or the host's container) while the simulation runs."""

    server: Server
    model: ReplicaModel
    site: str
    target: int
    pods: list[Pod] = field(default_factory=list)
    ready: int = 0
    in_flight: float = 0.0
    running: float = 0.0
    last_latencies: tuple[float, ...] = ()
    last_wait: float = 0.0
    last_mean: float = 0.0
    scraped_running: float = 0.0
    scraped_waiting: float = 0.0
    executor: keda.Executor | None = None
    autoscaler: hpa.Hpa | None = None
    windows: tuple[cron.CronWindow, ...] = ()
    events: list[ScaleEvent] = field(default_factory=list)
    hpa_key: tuple | None = None
    hpa_proposals: list[int] = field(default_factory=list)
    restarts: int = 0
    killed_by: dict[str, float] = field(default_factory=dict)
    pending_seconds: float = 0.0

    @property
    def key(self) -> str:
        """`site/name`, unique across the stack."""
        return f"{self.site}/{self.server.name}"


@dataclass(eq=False)
class RouteState:
    """A route while the simulation runs: its rate limit buckets and the workloads it sends to."""

    route: Route
    stream: str
    share: float
    backends: list[tuple[Workload, float]]
    limiter: gateway.RateLimiter | None


@dataclass(eq=False)
class SiteState:
    """A site while the simulation runs: nodes, workloads, routes, and whether it is up."""

    site: Site
    workloads: list[Workload]
    routes: list[RouteState]
    node_list: list[nodes.Node] = field(default_factory=list)
    up: bool = True
    last_scale_up: float = -math.inf
    site_models: set[str] = field(default_factory=set)
    host_running: bool = True
    node_events: int = 0
    next_event: float = 0.0  # the earliest moment a pod or node changes phase by itself
    pending: int = 0
    billed: float = 0.0
    billing_dirty: bool = True
    metric_sums: dict[tuple[str, bool], tuple[float, float]] | None = None
    sizes: list[int] | None = None
    above_min: bool = False


@dataclass
class Minute:
    """What one simulated minute saw."""

    counts: Counts = field(default_factory=Counts)
    latency: Histogram = field(default_factory=Histogram)
    ttft: Histogram = field(default_factory=Histogram)
    ready: dict[str, int] = field(default_factory=dict)
    gpus: float = 0.0
    standby_share: float = 0.0
