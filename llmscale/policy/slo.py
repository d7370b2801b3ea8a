"""SLO prerequisites: a declared SLO and load, monitoring that sees every profile, and bounded requests."""

from __future__ import annotations

from collections.abc import Iterator

from llmscale.policy.inspect import host_bundles, in_flight_triggers, primary_gpu_node_groups, vllm_servers
from llmscale.policy.model import Finding, Inventory
from llmscale.serving import metrics

REQUIRED_FLAGS = ("--max-model-len", "--max-num-seqs", "--max-num-queued-reqs")
ALERT_SIGNALS = {
    "latency": metrics.VLLM_E2E_LATENCY,
    "queue depth": metrics.VLLM_QUEUE_DEPTH,
    "error rate": metrics.VLLM_REQUEST_SUCCESS,
    "GPU utilisation": metrics.DCGM_GPU_UTIL,
}


def slo_declared(inventory: Inventory) -> Iterator[Finding]:
    """The stack states its SLO and its load itself: alerts and sizing need both, tier defaults are guesses."""
    if not inventory.settings:
        yield Finding("the stack records no settings (llmscale:index:StackSettings): it was not built by llmscale")
        return
    declared = set(inventory.settings.get("declared") or [])
    for key, what in (("slo", "p99LatencySeconds, availability, maxErrorRate"), ("load", "peakConcurrentUsers")):
        if key not in declared:
            yield Finding(f"llmscale:{key} is not declared; state {what} for this stack")


def request_limits(inventory: Inventory) -> Iterator[Finding]:
    """Every request is bounded: context length, batch, admission queue, gateway timeout; per-key rate limits
    on enterprise."""
    for server in vllm_servers(inventory):
        missing = [flag for flag in REQUIRED_FLAGS if server.flag(flag) in (None, "")]
        if missing:
            yield Finding(
                f"vLLM runs without {', '.join(missing)}: requests are unbounded", server.resource, server.urn
            )
    routes = [r for r in inventory.kubernetes("HTTPRoute") if r.props.get("metadata", {}).get("name") != "health"]
    policies = list(inventory.kubernetes("BackendTrafficPolicy"))
    for route in routes:
        name = (route.props.get("metadata") or {}).get("name", route.name)
        rules = (route.props.get("spec") or {}).get("rules") or []
        has_timeout = all((rule.get("timeouts") or {}).get("request") for rule in rules) and bool(rules)
        targeting = [p for p in policies if _targets(p, name)]
        if not has_timeout and not any(
            ((p.props.get("spec") or {}).get("timeout") or {}).get("http", {}).get("requestTimeout") for p in targeting
        ):
            yield Finding("no request timeout: Envoy's 15 s default cuts long generations off", route.name, route.urn)
        if inventory.tier == "enterprise" and not any((p.props.get("spec") or {}).get("rateLimit") for p in targeting):
            yield Finding(
                "no per-key rate limit on this route; set gateway.rateLimitRequestsPerMinute", route.name, route.urn
            )


def _targets(policy_record, route_name: str) -> bool:
    refs = (policy_record.props.get("spec") or {}).get("targetRefs") or []
    return any(ref.get("kind") == "HTTPRoute" and ref.get("name") == route_name for ref in refs)


def _capacity(inventory: Inventory) -> int:
    return sum(
        int(p.get("maxReplicas", 0)) * int(p.get("gpusPerReplica", 1)) for p in inventory.settings.get("models") or []
    )


def _headroom(inventory: Inventory, *, estimates: bool) -> Iterator[Finding]:
    sizing = inventory.settings.get("sizing") or {}
    if "error" in sizing:
        if estimates:
            yield Finding(f"the capacity planner cannot size this stack: {sizing['error']}")
        return
    if "gpusToProvision" not in sizing or bool(sizing.get("bandwidthEstimate")) != estimates:
        return
    capacity, needed, provision = _capacity(inventory), sizing["gpusNeeded"], sizing["gpusToProvision"]
    groups = primary_gpu_node_groups(inventory)
    if inventory.tier == "enterprise" and len(groups) > 1:
        sizes = [int(((g.props.get("scalingConfig") or {}).get("maxSize")) or 0) for g in groups]
        left = (sum(sizes) - max(sizes)) * int(inventory.settings.get("gpusPerNode") or 1)
        if left < needed:
            basis = " (a memory-bandwidth estimate)" if estimates else ""
            yield Finding(
                f"losing one zone leaves at most {left} GPUs; the declared peak needs {needed}{basis}; raise the "
                "profiles' maxReplicas or eks.headroomNodes"
            )
    if capacity < provision:
        basis = (
            " (a memory-bandwidth estimate: calibrate with `vllm bench serve` results in sizing.calibration)"
            if estimates
            else ""
        )
        yield Finding(
            f"the profiles can use at most {capacity} GPUs; the declared peak of "
            f"{inventory.settings.get('load', {}).get('peakConcurrentUsers')} users needs {needed}, "
            f"{provision} with headroom{basis}; raise maxReplicas or lower the declared load"
        )


def gpu_headroom(inventory: Inventory) -> Iterator[Finding]:
    """Maximum GPUs cover the declared peak plus headroom ("if you need 8 GPUs, provision 10"), by the capacity
    planner's measured or calibrated figures."""
    return _headroom(inventory, estimates=False)


def gpu_headroom_estimate(inventory: Inventory) -> Iterator[Finding]:
    """The same headroom check where the planner only has a memory-bandwidth estimate for the GPU: mandatory on
    enterprise (N+2 headroom and surviving a zone are what that tier promises, and raising maxReplicas costs
    nothing until the load comes), a warning on multi-gpu until the GPU is calibrated."""
    return _headroom(inventory, estimates=True)


def _in_flight(inventory: Inventory, *, estimates: bool) -> Iterator[Finding]:
    profiles = {
        p["name"]: (index, p["sloInFlight"])
        for index, p in enumerate(inventory.settings.get("models") or [])
        if p.get("sloInFlight") and bool(p["sloInFlight"].get("bandwidthEstimate")) == estimates
    }
    for trigger in in_flight_triggers(inventory):
        if trigger.profile not in profiles:
            continue
        index, within = profiles[trigger.profile]
        target = int(within["inFlightTarget"])
        if trigger.threshold <= target:
            continue
        basis = " (a memory-bandwidth estimate: calibrate with `vllm bench serve` results)" if estimates else ""
        yield Finding(
            f"profile {trigger.profile} adds replicas only above {trigger.threshold:g} requests in flight per "
            f"replica; one replica carries {target} within the SLO, {within['replicas']} replicas at the declared "
            f"peak{basis}: until a queue forms it holds too few replicas and latency passes the SLO; set "
            f"models[{index}].inFlightTarget: {target}",
            trigger.record.name,
            trigger.record.urn,
        )


def in_flight_target(inventory: Inventory) -> Iterator[Finding]:
    """Replicas follow the load before latency passes the SLO: the autoscaler's in-flight threshold per replica
    is at most what one replica carries within the SLO, by the capacity planner's measured or calibrated
    figures (an interactive profile scaled on full batches holds replicas at 128 requests each, whatever the
    answers' speed)."""
    return _in_flight(inventory, estimates=False)


def in_flight_target_estimate(inventory: Inventory) -> Iterator[Finding]:
    """The same in-flight check where the planner only has a memory-bandwidth estimate for the GPU: a warning,
    since a lower threshold buys GPUs on a figure that may be several times off."""
    return _in_flight(inventory, estimates=True)


def autoscaling_bounds(inventory: Inventory) -> Iterator[Finding]:
    """Scaling bounds make sense: min <= max, and the largest replica fits a GPU node."""
    for record in inventory.kubernetes("ScaledObject"):
        spec = record.props.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name", "?")
        low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
        if low is not None and high is not None and int(low) > int(high):
            yield Finding(
                f"ScaledObject of {target}: minReplicaCount {low} > maxReplicaCount {high}", record.name, record.urn
            )
    per_node = inventory.settings.get("gpusPerNode")
    for profile in inventory.settings.get("models") or []:
        if per_node and int(profile.get("gpusPerReplica", 1)) > int(per_node):
            yield Finding(
                f"profile {profile['name']} needs {profile['gpusPerReplica']} GPUs per replica; nodes have {per_node}"
            )


def monitoring(inventory: Inventory) -> Iterator[Finding]:
    """Metrics of every profile and of the GPUs are scraped, and alerts cover latency, queue, errors and GPUs."""
    profiles = [p["name"] for p in inventory.settings.get("models") or []]
    rule_text = " ".join(str(r.props.get("spec")) for r in inventory.kubernetes("PrometheusRule"))
    bundles = [bundle for bundle in host_bundles(inventory) if bundle.compose is not None]
    hosts = [(bundle.record, bundle.compose) for bundle in bundles]
    if not hosts and not any(inventory.kubernetes("Deployment")):
        return  # nothing serves models here (an existing server's bundle is not part of the stack)
    if hosts:
        for record, compose in hosts:
            services = compose.get("services") or {}
            for needed in ("prometheus", "dcgm-exporter"):
                if needed not in services:
                    yield Finding(f"the single host runs no {needed}", record.name, record.urn)
        rule_text += " ".join(
            content for bundle in bundles for path, content in bundle.files.items() if "/prometheus/rules/" in path
        )
    else:
        monitors = list(inventory.kubernetes("PodMonitor")) + list(inventory.kubernetes("ServiceMonitor"))
        monitored = " ".join(str(m.props.get("spec")) for m in monitors)
        for name in profiles:
            if name not in monitored:
                yield Finding(f"no PodMonitor scrapes profile {name}")
        if "dcgm" not in monitored:
            yield Finding("no ServiceMonitor scrapes dcgm-exporter: GPU metrics are not collected")
    for signal, metric in ALERT_SIGNALS.items():
        if metric not in rule_text:
            yield Finding(f"no alert rule on {signal} ({metric})")
