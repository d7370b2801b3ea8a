"""The inference gateway: Gateway API objects and Envoy Gateway policies, as plain manifests.

Each model profile is reached at `/<profile>/v1` (rewritten to vLLM's `/v1`), so an OpenAI client needs only
its base URL. Load balancing, timeouts, retries, circuit breaking, outlier detection and per-key rate limits
come from the stack's routing config; API keys are checked by Envoy before a request reaches a GPU.
"""

from __future__ import annotations

from typing import Any

from llmscale.config.models import ModelProfile, RoutingStrategy, StackConfig
from llmscale.k8s.labels import labels, workload_name
from llmscale.k8s.workload import Manifest
from llmscale.vllm_args import VLLM_PORT

GATEWAY_CLASS = "llmscale"
GATEWAY = "llmscale"
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
API_KEYS_SECRET = "llmscale-api-keys"
HEALTH_ROUTE = "health"
CLIENT_HEADER = "x-llmscale-client"

LOAD_BALANCER_TYPES: dict[RoutingStrategy, str] = {
    RoutingStrategy.ROUND_ROBIN: "RoundRobin",
    RoutingStrategy.LEAST_LOADED: "LeastRequest",
    RoutingStrategy.STICKY: "ConsistentHash",
}


def _route_ref(name: str) -> Manifest:
    return {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}


def route_name(profile: ModelProfile) -> str:
    """The HTTPRoute (and its policies) of a profile."""
    return profile.name


def path_prefix(profile: ModelProfile) -> str:
    """The public path of a profile; its OpenAI base URL is `<endpoint>/<profile>/v1`."""
    return f"/{profile.name}/v1"


def gateway_class_manifest() -> Manifest:
    """The GatewayClass handled by Envoy Gateway."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS, "labels": {"app.kubernetes.io/part-of": "llmscale"}},
        "spec": {"controllerName": ENVOY_CONTROLLER},
    }


def gateway_manifest(config: StackConfig) -> Manifest:
    """The Gateway: HTTP on 80, and HTTPS on 443 when a TLS secret is configured; Envoy exposes it as a
    LoadBalancer Service."""
    gateway = config.gateway
    # Host names are matched per route, not per listener: the /health route must answer health checks that
    # reach each region's load balancer by its own name.
    listener_host: dict[str, str] = {}
    same_namespace = {"namespaces": {"from": "Same"}}
    listeners: list[Manifest] = [
        {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": same_namespace, **listener_host}
    ]
    if gateway.tls_secret_name:
        listeners.append(
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": 443,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": gateway.tls_secret_name}]},
                "allowedRoutes": same_namespace,
                **listener_host,
            }
        )
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {
            "name": GATEWAY,
            "namespace": config.kubernetes.namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
        },
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": listeners},
    }


def _backend_refs(profile: ModelProfile) -> list[Manifest]:
    stable = {"name": workload_name(profile), "port": VLLM_PORT}
    if profile.canary is None:
        return [stable]
    weight = profile.canary.weight
    return [
        {**stable, "weight": 100 - weight},
        {"name": workload_name(profile, canary=True), "port": VLLM_PORT, "weight": weight},
    ]


def http_route_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """The route of a profile: `/<profile>/v1/...` → its Service at `/v1/...`, with the canary's share if any."""
    spec: Manifest = {
        "parentRefs": [{"name": GATEWAY}],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": path_prefix(profile)}}],
                "filters": [
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}},
                    }
                ],
                "backendRefs": _backend_refs(profile),
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


def _load_balancer(config: StackConfig) -> Manifest:
    strategy = config.routing.strategy
    balancer: Manifest = {"type": LOAD_BALANCER_TYPES[strategy]}
    if strategy is RoutingStrategy.STICKY:
        # Requests of one session reach the same replica, which keeps its prefix cache warm.
        balancer["consistentHash"] = {"type": "Header", "header": {"name": config.routing.session_header}}
    return balancer


def in_flight_limit(profile: ModelProfile) -> int:
    """Requests the profile can hold at its largest: every replica's admitted queue."""
    return profile.max_replicas * profile.queue_limit


def backend_traffic_policy_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """Balancing, retries, circuit breaking, outlier detection and per-key rate limits of a profile's route."""
    limit = config.gateway.max_parallel_requests or in_flight_limit(profile)
    spec: Manifest = {
        "targetRefs": [_route_ref(route_name(profile))],
        "loadBalancer": _load_balancer(config),
        "timeout": {"http": {"requestTimeout": f"{profile.request_timeout_seconds}s"}},
        # Retry only what never reached a model: failed connections, refused streams and vLLM's admission 503.
        "retry": {
            "numRetries": 2,
            "retryOn": {
                "triggers": ["connect-failure", "refused-stream", "reset-before-request", "retriable-status-codes"],
                "httpStatusCodes": [503],
            },
            "perRetry": {"backOff": {"baseInterval": "100ms", "maxInterval": "1s"}},
        },
        # Beyond what the replicas can admit, answer 503 at once instead of queueing in Envoy.
        "circuitBreaker": {"maxParallelRequests": limit, "maxPendingRequests": limit},
        "healthCheck": {
            "passive": {
                # Eject replicas that fail at the connection level; a 503 from a full queue is load, not failure.
                "splitExternalLocalOriginErrors": True,
                "consecutiveLocalOriginFailures": 5,
                "consecutiveGatewayErrors": 10,
                "interval": "10s",
                "baseEjectionTime": "30s",
                "maxEjectionPercent": 50,
            }
        },
    }
    per_minute = config.gateway.rate_limit_requests_per_minute
    if per_minute:
        spec["rateLimit"] = {
            # Local limits apply per Envoy replica; a shared (global) limit needs Redis.
            "type": "Local",
            "local": {
                "rules": [
                    {
                        # The API-key filter runs first, strips the key (`sanitize`) and names the client in
                        # CLIENT_HEADER: limit per client, and never key anything on the secret itself.
                        "clientSelectors": [{"headers": [{"name": CLIENT_HEADER, "type": "Distinct"}]}],
                        "limit": {"requests": per_minute, "unit": "Minute"},
                    }
                ]
            },
        }
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": route_name(profile), "namespace": config.kubernetes.namespace, "labels": labels(profile)},
        "spec": spec,
    }


def security_policy_manifest(config: StackConfig) -> Manifest:
    """API-key authentication on every model route (not on /health): `Authorization: Bearer <key>`.

    Envoy Gateway compares the header value after the `Bearer ` scheme with the Secret's values, so the
    Secret holds the bare keys, one per client.
    """
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": {
            "name": "api-keys",
            "namespace": config.kubernetes.namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
        },
        "spec": {
            "targetRefs": [_route_ref(route_name(profile)) for profile in config.models],
            "apiKeyAuth": {
                "credentialRefs": [{"group": "", "kind": "Secret", "name": API_KEYS_SECRET}],
                "extractFrom": [{"headers": ["Authorization"]}],
                # vLLM never sees the key; it sees which client sent the request.
                "forwardClientIDHeader": CLIENT_HEADER,
                "sanitize": True,
            },
        },
    }


ENVOY_HTTP_PORT = 10080  # Envoy Gateway runs unprivileged: listener port 80 is served on 10080 by the proxy pods
ENVOY_HTTPS_PORT = 10443
PUBLIC_SERVICE = "llmscale-gateway"


def load_balancer_service_manifest(config: StackConfig, certificate_arn: Any = None) -> Manifest:
    """A Network Load Balancer in front of the gateway's Envoy pods, under a fixed name.

    DNS failover records and health checks need the load balancer's host name; the Service Envoy Gateway
    generates has a hashed name, this one is known in advance and Pulumi waits for its address. With an ACM
    `certificate_arn` the load balancer terminates TLS on 443 and opens nothing else: API keys never cross the
    internet in clear.
    """
    annotations = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
    }
    if certificate_arn is not None:
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = certificate_arn
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
        ports = [{"name": "https", "port": 443, "targetPort": ENVOY_HTTP_PORT, "protocol": "TCP"}]
    else:
        ports = [{"name": "http", "port": 80, "targetPort": ENVOY_HTTP_PORT, "protocol": "TCP"}]
        if config.gateway.tls_secret_name:
            ports.append({"name": "https", "port": 443, "targetPort": ENVOY_HTTPS_PORT, "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": PUBLIC_SERVICE,
            "namespace": config.kubernetes.gateway_namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
            "annotations": annotations,
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": {
                "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
                "gateway.envoyproxy.io/owning-gateway-namespace": config.kubernetes.namespace,
            },
            "ports": ports,
        },
    }
