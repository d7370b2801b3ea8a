"""Routing rules: cache-aware routing has pods to choose between, and its endpoint picker is not a single point of
failure where the tier promises availability."""

from __future__ import annotations

from collections.abc import Iterator

from llmscale.policy.inspect import matches, scaled_objects
from llmscale.policy.model import Finding, Inventory, Record

MIN_POOL_REPLICAS = 2
MIN_PICKER_REPLICAS = 2


def _metadata(record: Record) -> dict:
    return record.props.get("metadata") or {}


def _pod_labels(deployment: Record) -> dict[str, str]:
    template = (deployment.props.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def _replica_ceiling(inventory: Inventory, deployment: Record) -> int:
    """The most replicas a Deployment can run: its ScaledObject's maximum, else its fixed count."""
    name = _metadata(deployment).get("name", deployment.name)
    scaler = scaled_objects(inventory).get((deployment.parent, name))
    if scaler:
        return int(scaler.get("maxReplicaCount") or 100)  # KEDA's default maxReplicaCount is 100
    return int((deployment.props.get("spec") or {}).get("replicas") or 1)


def _selected(inventory: Inventory, selector: dict) -> list[Record]:
    return [d for d in inventory.kubernetes("Deployment") if matches(selector, _pod_labels(d))]


def cache_aware_replicas(inventory: Inventory) -> Iterator[Finding]:
    """An InferencePool can grow to at least two vLLM replicas: with one, the endpoint picker has no choice to make
    and cache-aware routing only adds a hop."""
    for pool in inventory.kubernetes("InferencePool"):
        spec = pool.props.get("spec") or {}
        selector = {"matchLabels": (spec.get("selector") or {}).get("matchLabels") or {}}
        ceiling = sum(_replica_ceiling(inventory, d) for d in _selected(inventory, selector))
        if ceiling < MIN_POOL_REPLICAS:
            name = _metadata(pool).get("name", pool.name)
            yield Finding(
                f"InferencePool {name} selects at most {ceiling} vLLM replica(s): cache-aware routing needs "
                f"maxReplicas >= {MIN_POOL_REPLICAS} to choose between pods; use least-loaded routing otherwise",
                pool.name,
                pool.urn,
            )


def endpoint_picker_redundancy(inventory: Inventory) -> Iterator[Finding]:
    """Every InferencePool's endpoint picker runs at least two replicas with a disruption budget: on the pinned data
    path a profile's requests fail while its picker is down."""
    budgets = list(inventory.kubernetes("PodDisruptionBudget"))
    services = {(s.parent, _metadata(s).get("name")): s for s in inventory.kubernetes("Service")}
    for pool in inventory.kubernetes("InferencePool"):
        pool_name = _metadata(pool).get("name", pool.name)
        picker = ((pool.props.get("spec") or {}).get("endpointPickerRef")) or {}
        service = services.get((pool.parent, picker.get("name")))
        if service is None:
            yield Finding(
                f"InferencePool {pool_name} names no endpoint picker Service of this stack", pool.name, pool.urn
            )
            continue
        selector = {"matchLabels": (service.props.get("spec") or {}).get("selector") or {}}
        deployments = _selected(inventory, selector)
        replicas = sum(int((d.props.get("spec") or {}).get("replicas") or 1) for d in deployments)
        if replicas < MIN_PICKER_REPLICAS:
            yield Finding(
                f"the endpoint picker of InferencePool {pool_name} runs {replicas} replica(s); cache-aware routing "
                f"on this tier runs it with {MIN_PICKER_REPLICAS} or more (one leader, one standby)",
                pool.name,
                pool.urn,
            )
        elif not any(
            matches((b.props.get("spec") or {}).get("selector"), _pod_labels(d)) for b in budgets for d in deployments
        ):
            yield Finding(
                f"the endpoint picker of InferencePool {pool_name} has no PodDisruptionBudget", pool.name, pool.urn
            )
