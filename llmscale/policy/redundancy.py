"""Redundancy rules: enough replicas, drains that cannot take a profile down, zones, failover, probes."""

from __future__ import annotations

from collections.abc import Iterator

from llmscale.k8s.labels import SITE_LABEL
from llmscale.policy.inspect import (
    envoy_kubernetes_settings,
    image_is_pinned,
    matches,
    primary_gpu_node_groups,
    scaled_objects,
    vllm_deployments,
    vllm_servers,
)
from llmscale.policy.model import Finding, Inventory

MIN_ACTIVE_REPLICAS = 2
MIN_ZONES = 3


def _active_floor(spec: dict) -> int:
    """The replicas a ScaledObject keeps during active hours: its cron floor or its minimum."""
    floors = [int(spec.get("minReplicaCount") or 0)]
    for trigger in spec.get("triggers") or []:
        if trigger.get("type") == "cron":
            floors.append(int((trigger.get("metadata") or {}).get("desiredReplicas") or 0))
    return max(floors)


def min_active_replicas(inventory: Inventory) -> Iterator[Finding]:
    """Every model profile keeps at least two replicas during active hours, so one failure is not an outage."""
    scalers = scaled_objects(inventory)
    for deployment in vllm_deployments(inventory):
        labels = ((deployment.props.get("metadata") or {}).get("labels")) or {}
        if labels.get("llmscale.io/track") == "canary" or labels.get(SITE_LABEL) == "standby":
            continue  # a canary runs at a fixed size; a warm standby keeps a smaller minimum by design
        name = (deployment.props.get("metadata") or {}).get("name", deployment.name)
        spec = scalers.get((deployment.parent, name))
        floor = _active_floor(spec) if spec else int((deployment.props.get("spec") or {}).get("replicas") or 1)
        if floor < MIN_ACTIVE_REPLICAS:
            yield Finding(
                f"profile {name} keeps {floor} replica(s) during active hours; set minReplicas >= "
                f"{MIN_ACTIVE_REPLICAS} so that losing one replica or node is not an outage",
                deployment.name,
                deployment.urn,
            )


def disruption_budgets(inventory: Inventory) -> Iterator[Finding]:
    """A PodDisruptionBudget selects every vLLM Deployment and still lets a node drain proceed."""
    budgets = list(inventory.kubernetes("PodDisruptionBudget"))
    for deployment in vllm_deployments(inventory):
        labels = (((deployment.props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        if labels.get("llmscale.io/track") == "canary":
            continue
        selecting = [b for b in budgets if matches((b.props.get("spec") or {}).get("selector"), labels)]
        if not selecting:
            yield Finding("no PodDisruptionBudget selects this Deployment's pods", deployment.name, deployment.urn)
            continue
        for budget in selecting:
            spec = budget.props.get("spec") or {}
            max_unavailable = spec.get("maxUnavailable")
            min_available = spec.get("minAvailable")
            if max_unavailable in (0, "0", "0%") or (
                max_unavailable is None and min_available is not None and str(min_available) == "100%"
            ):
                yield Finding(
                    f"PodDisruptionBudget {budget.name} allows no eviction: node drains would hang; "
                    "use maxUnavailable: 1",
                    budget.name,
                    budget.urn,
                )


def zone_spread(inventory: Inventory) -> Iterator[Finding]:
    """Enterprise GPU capacity spans at least three zones (one node group per zone, so the autoscaler can
    balance them) and replicas spread over zones, so a zone outage leaves replicas of every profile."""
    groups = primary_gpu_node_groups(inventory)
    if groups and len(groups) < MIN_ZONES:
        yield Finding(
            f"GPU capacity is in {len(groups)} node group(s); the enterprise tier keeps one per zone in at least "
            f"{MIN_ZONES} zones (eks.zoneCount)"
        )
    for deployment in inventory.kubernetes("Deployment"):
        pod = ((deployment.props.get("spec") or {}).get("template") or {}).get("spec") or {}
        keys = {c.get("topologyKey") for c in pod.get("topologySpreadConstraints") or []}
        if "topology.kubernetes.io/zone" not in keys:
            yield Finding(
                "replicas are not spread over zones (topology.kubernetes.io/zone); set kubernetes.topologySpread",
                deployment.name,
                deployment.urn,
            )


def dns_failover(inventory: Inventory) -> Iterator[Finding]:
    """Enterprise stacks fail over by DNS: health checks and PRIMARY/SECONDARY records."""
    checks = list(inventory.of_type("aws:route53/healthCheck:HealthCheck"))
    kinds = {
        (policy or {}).get("type")
        for record in inventory.of_type("aws:route53/record:Record")
        for policy in record.props.get("failoverRoutingPolicies") or []
    }
    missing = [kind for kind in ("PRIMARY", "SECONDARY") if kind not in kinds]
    if missing:
        yield Finding(f"no {' and no '.join(missing)} failover record: a regional outage has no standby")
    if len(checks) < 2:
        yield Finding(f"{len(checks)} Route 53 health check(s); the primary and the standby endpoint need one each")


def probes(inventory: Inventory) -> Iterator[Finding]:
    """Every vLLM container has startup, readiness and liveness checks, so traffic and restarts follow health."""
    for server in vllm_servers(inventory):
        missing = sorted({"startupProbe", "readinessProbe", "livenessProbe"} - server.probes)
        if missing:
            yield Finding(f"vLLM container lacks {', '.join(missing)}", server.resource, server.urn)


def pinned_vllm_images(inventory: Inventory) -> Iterator[Finding]:
    """vLLM images are pinned to a version: `latest` changes what runs without a deployment."""
    for server in vllm_servers(inventory):
        if not image_is_pinned(server.image):
            yield Finding(
                f"image {server.image or '(none)'} is not pinned to a version tag or digest",
                server.resource,
                server.urn,
            )


def gateway_redundancy(inventory: Inventory) -> Iterator[Finding]:
    """The gateway's proxies run at least two replicas with a disruption budget: one Envoy pod is the region's
    only way in, and a node drain or a crash would take every model down with it."""
    for gateway in inventory.kubernetes("Gateway"):
        kubernetes = envoy_kubernetes_settings(inventory, gateway)
        # Envoy Gateway v1.9.0 renders one proxy replica and no PodDisruptionBudget unless the EnvoyProxy says so.
        replicas = (kubernetes.get("envoyDeployment") or {}).get("replicas", 1)
        if replicas < 2:
            message = f"the gateway runs {replicas} proxy replica(s); set gateway.replicas to 2 or more"
            yield Finding(message, gateway.name, gateway.urn)
        elif not kubernetes.get("envoyPDB"):
            yield Finding("the gateway's proxies have no PodDisruptionBudget", gateway.name, gateway.urn)
