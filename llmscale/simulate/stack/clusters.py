"""Kubernetes sites from the planned objects: routes and traffic policies, GPU node groups, the cluster autoscaler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmscale.policy.inspect import NODE_GROUP, scaled_objects, vllm_servers
from llmscale.policy.model import Inventory, Record
from llmscale.simulate.stack.model import ClusterAutoscalerFlags, NodeGroup, Route, Server, Site
from llmscale.simulate.stack.servers import ancestors, deployment_server, scaler_from_spec, site_root
from llmscale.simulate.stack.values import (
    CA_GPU_UTILIZATION_THRESHOLD,
    CA_MAX_GRACEFUL_TERMINATION,
    CA_SCALE_DOWN_DELAY_AFTER_ADD,
    CA_SCALE_DOWN_UNNEEDED,
    CA_SCAN_INTERVAL,
    CIRCUIT_BREAKER_DEFAULT,
    ENVOY_DEFAULT_REQUEST_TIMEOUT,
    GPU_TEMPLATE_TAG,
    RATE_UNITS,
    RELEASE,
    SERVING_LAYER,
    duration,
    number,
)


def effective_timeout(rule: Mapping[str, Any], policy: Mapping[str, Any] | None, where: str) -> float:
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
                timeout = effective_timeout(rule, policy, where)
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
        limit = number((first.get("limit") or {}).get("requests"), f"{where}: rateLimit requests")
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
        max_graceful_termination=number(
            extra.get("max-graceful-termination-sec"), f"{where}.max-graceful-termination-sec",
            CA_MAX_GRACEFUL_TERMINATION,
        ),
        gpu_utilization_threshold=number(threshold, where, CA_GPU_UTILIZATION_THRESHOLD),
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
        gpus = int(number(template, f"NodeGroup/{record.name}.tags.{GPU_TEMPLATE_TAG}", default_gpus))
        groups.setdefault(str(props.get("clusterName")), []).append(
            NodeGroup(
                name=record.name,
                min_size=int(number(scaling.get("minSize"), f"{where}.minSize")),
                max_size=int(number(scaling.get("maxSize"), f"{where}.maxSize")),
                desired_size=int(number(scaling.get("desiredSize"), f"{where}.desiredSize", 0)),
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
        if site_root(record, parents, layers) == layer:
            kubernetes = (((record.props.get("spec") or {}).get("provider") or {}).get("kubernetes")) or {}
            return int((kubernetes.get("envoyDeployment") or {}).get("replicas", 1))
    return 1


def kubernetes_sites(inventory: Inventory, settings: Mapping[str, Any]) -> list[Site]:
    parents = ancestors(inventory.records)
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
        layer = site_root(record, parents, layers)
        by_layer.setdefault(layer, []).append(
            deployment_server(
                record, server, settings, [m for m in monitors if site_root(m, parents, layers) == layer], scaler
            )
        )
        labels = ((record.props.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        pod_labels.setdefault(layer, {})[name] = labels
        site_names.setdefault(layer, str(labels.get("llmscale.io/site") or "primary"))
    policies_by_route: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    for policy in inventory.kubernetes("BackendTrafficPolicy"):
        for ref in (policy.props.get("spec") or {}).get("targetRefs") or []:
            policies_by_route[site_root(policy, parents, layers), str(ref.get("name"))] = policy.props.get("spec") or {}
    rate_limit = settings.get("rateLimitRequestsPerMinute")
    sites = []
    for layer, servers in by_layer.items():
        services = _services(inventory, layer, parents, layers, pod_labels.get(layer, {}))
        routes = []
        for record in inventory.kubernetes("HTTPRoute"):
            if site_root(record, parents, layers) != layer:
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
        if site_root(record, parents, layers) != layer:
            continue
        selector = (record.props.get("spec") or {}).get("selector") or {}
        name = str((record.props.get("metadata") or {}).get("name") or record.name)
        for deployment, labels in pod_labels.items():
            if selector and all(labels.get(key) == value for key, value in selector.items()):
                found[name] = deployment
                break
    return found
