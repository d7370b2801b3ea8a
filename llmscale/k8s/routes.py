"""The HTTPRoutes of the gateway: one per model profile (`/<profile>/v1` rewritten to vLLM's `/v1`, to the
profile's Service with the canary's share, or to its InferencePool), and the key-less `/health` route.
"""

from __future__ import annotations

from llmscale.config.models import ModelProfile, RoutingStrategy, StackConfig
from llmscale.k8s.gateway import GATEWAY, path_prefix, serves_https
from llmscale.k8s.inference import objective_header_filter, pool_backend_ref
from llmscale.k8s.labels import labels, workload_name
from llmscale.k8s.objects import Manifest
from llmscale.serving.vllm_args import VLLM_PORT

HEALTH_ROUTE = "health"


def route_name(profile: ModelProfile) -> str:
    """The HTTPRoute (and its policies) of a profile."""
    return profile.name


def _backend_refs(profile: ModelProfile) -> list[Manifest]:
    stable = {"name": workload_name(profile), "port": VLLM_PORT}
    if profile.canary is None:
        return [stable]
    weight = profile.canary.weight
    return [
        {**stable, "weight": 100 - weight},
        {"name": workload_name(profile, canary=True), "port": VLLM_PORT, "weight": weight},
    ]


def cache_aware(config: StackConfig) -> bool:
    """Whether the stack's profiles are routed through an InferencePool and its endpoint picker."""
    return config.routing.strategy is RoutingStrategy.CACHE_AWARE


def http_route_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """The route of a profile: `/<profile>/v1/...` → its Service at `/v1/...`, with the canary's share if any.

    With cache-aware routing the backend is the profile's InferencePool, and the route names the profile's
    InferenceObjective in a header the endpoint picker reads.
    """
    parent: Manifest = {"name": GATEWAY, "sectionName": "https"} if serves_https(config) else {"name": GATEWAY}
    filters: list[Manifest] = [
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}}}
    ]
    backends = _backend_refs(profile)
    if cache_aware(config):
        filters.append(objective_header_filter(profile))
        backends = [pool_backend_ref(profile)]
    spec: Manifest = {
        "parentRefs": [parent],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": path_prefix(profile)}}],
                "filters": filters,
                "backendRefs": backends,
                # Envoy's default 15 s would cut off long generations.
                "timeouts": {"request": f"{profile.request_timeout_seconds}s"},
            }
        ],
    }
    if config.gateway.hostname:
        spec["hostnames"] = [config.gateway.hostname]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": route_name(profile), "namespace": config.kubernetes.namespace, "labels": labels(profile)},
        "spec": spec,
    }


def health_route_manifest(config: StackConfig) -> Manifest:
    """`/health` without an API key, answered by the first interactive profile: what DNS health checks probe."""
    profile = next((p for p in config.models if p.lane == "interactive"), config.models[0])
    spec: Manifest = {
        "parentRefs": [{"name": GATEWAY}],
        "rules": [
            {
                "matches": [{"path": {"type": "Exact", "value": "/health"}}],
                "backendRefs": [{"name": workload_name(profile), "port": VLLM_PORT}],
                "timeouts": {"request": "10s"},
            }
        ],
    }
    # No host name on this route: DNS health checks reach each region's load balancer by its own name.
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": HEALTH_ROUTE,
            "namespace": config.kubernetes.namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
        },
        "spec": spec,
    }
