"""`stack_from_inventory` and `stack_from_plan`: the whole stack, with its DNS failover, from the planned records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmscale.policy.model import Inventory, Record
from llmscale.simulate.stack.clusters import kubernetes_sites
from llmscale.simulate.stack.host import host_site
from llmscale.simulate.stack.model import Failover, HealthCheck, Load, Schedule, SimStack, Slo
from llmscale.simulate.stack.servers import _settings
from llmscale.simulate.stack.values import DNS_RECORD, HEALTH_CHECK, SimulationError, number


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
            interval_seconds=number(found.props.get("requestInterval"), f"{where}.requestInterval", 30),
            failure_threshold=int(number(found.props.get("failureThreshold"), f"{where}.failureThreshold", 3)),
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
        ttl_seconds=number(ttl, f"Record/{primary.name}.ttl", 60),
    )


def stack_from_inventory(inventory: Inventory, name: str = "stack") -> SimStack:
    """The simulation's view of a stack, from the records either policy runner sees."""
    settings = _settings(inventory)
    slo = settings.get("slo") or {}
    load = settings.get("load") or {}
    schedule = settings.get("schedule") or {}
    host = host_site(inventory, settings)
    sites = [host] if host is not None else kubernetes_sites(inventory, settings)
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
