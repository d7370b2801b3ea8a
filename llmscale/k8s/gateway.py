"""The inference gateway: Gateway API objects and Envoy Gateway policies, as plain manifests.

Each model profile is reached at `/<profile>/v1` (rewritten to vLLM's `/v1`), so an OpenAI client needs only
its base URL. Load balancing, timeouts, retries, circuit breaking, outlier detection and per-key rate limits
come from the stack's routing config; API keys are checked by Envoy before a request reaches a GPU.
"""

from __future__ import annotations

from typing import Any

from llmscale.config.models import ModelProfile, Platform, RoutingStrategy, StackConfig
from llmscale.k8s.inference import objective_header_filter, pool_backend_ref
from llmscale.k8s.labels import labels, workload_name
from llmscale.k8s.objects import Manifest
from llmscale.serving.vllm_args import VLLM_PORT

GATEWAY_CLASS = "llmscale"
GATEWAY = "llmscale"
ENVOY_PROXY = "llmscale-proxy"
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


def envoy_service_type(config: StackConfig) -> str:
    """The type of the Service Envoy Gateway creates for the proxies.

    On the cluster llmscale builds (platform aws) the proxies sit behind llmscale's own Network Load Balancer
    (`load_balancer_service_manifest`), so Envoy's Service is ClusterIP: otherwise the cloud provider would
    open a second, internet-facing load balancer on every listener port, plain HTTP included. On an existing
    cluster it is the stack's `gateway.serviceType`.
    """
    if config.platform is Platform.AWS:
        return "ClusterIP"
    return str(config.gateway.service_type)


def envoy_proxy_manifest(config: StackConfig) -> Manifest:
    """The EnvoyProxy the Gateway points to (`spec.infrastructure.parametersRef`): the proxies' Service type,
    replicas spread over zones and nodes, and their disruption budget.

    Envoy Gateway v1.9.0 renders one Deployment (default 1 replica, no PodDisruptionBudget) and one Service
    (default type LoadBalancer) per Gateway (`internal/infrastructure/kubernetes/proxy/resource_provider.go`),
    reading these settings from the EnvoyProxy the Gateway's `infrastructure.parametersRef` names in its own
    namespace (`internal/provider/kubernetes/controller.go`).
    """
    gateway = config.gateway
    owner = {
        "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
        "gateway.envoyproxy.io/owning-gateway-namespace": config.kubernetes.namespace,
    }
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            # A zone without room must not keep a proxy from starting; the scheduler still spreads when it can.
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": owner},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyProxy",
        "metadata": {
            "name": ENVOY_PROXY,
            "namespace": config.kubernetes.namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
        },
        "spec": {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyService": {"type": envoy_service_type(config)},
                    "envoyDeployment": {
                        "replicas": gateway.replicas,
                        "pod": {"topologySpreadConstraints": spread},
                    },
                    # A node drain never takes the last proxy: the region's entry point stays up.
                    **({"envoyPDB": {"minAvailable": 1}} if gateway.replicas > 1 else {}),
                },
            }
        },
    }


def serves_https(config: StackConfig) -> bool:
    """True when the Gateway itself terminates TLS (a certificate Secret on an existing cluster)."""
    return config.platform is not Platform.AWS and config.gateway.tls_secret_name is not None


def gateway_manifest(config: StackConfig) -> Manifest:
    """The Gateway: HTTP on 80, and HTTPS on 443 when the Gateway terminates TLS itself.

    With HTTPS, model routes attach to the HTTPS listener only (API keys never travel in clear); the HTTP
    listener keeps only the key-less `/health` route for load balancer and DNS health checks.
    """
    gateway = config.gateway
    # Host names are matched per route, not per listener: the /health route must answer health checks that
    # reach each region's load balancer by its own name.
    same_namespace = {"namespaces": {"from": "Same"}}
    listeners: list[Manifest] = [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": same_namespace}]
    if serves_https(config):
        listeners.append(
            {
                "name": "https",
                "protocol": "HTTPS",
                "port": 443,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": gateway.tls_secret_name}]},
                "allowedRoutes": same_namespace,
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
        "spec": {
            "gatewayClassName": GATEWAY_CLASS,
            "infrastructure": {
                "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY}
            },
            "listeners": listeners,
        },
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


RETRY_BUDGET_PERCENT = 20
"""Retries may add at most this share of the requests in flight (Envoy's retry budget)."""


def circuit_breaker(config: StackConfig, profile: ModelProfile) -> Manifest:
    """Envoy's limits towards a profile's replicas, so that overload is answered with 503 at once.

    vLLM speaks HTTP/1.1: one upstream connection per request in flight. Envoy Gateway v1.9.0 defaults every
    threshold it does not get to 1024 (the BackendTrafficPolicy CRD's `circuitBreaker` defaults), and
    `buildCircuitBreaker` (`internal/gatewayapi/clustersettings.go`) passes them to Envoy's cluster thresholds.
    With `maxConnections` left at 1024 and more requests allowed in parallel, the excess would wait in Envoy's
    pending queue, where neither KEDA (`vllm:num_requests_waiting`) nor vLLM's 503 path can see it. So
    connections are allowed at least as high as parallel requests, per replica above what vLLM admits (vLLM,
    not Envoy, answers 503 when a replica is full), and retries are capped by a budget rather than the
    default 1024 parallel retries, so retrying 503s cannot multiply an overload.
    """
    limit = config.gateway.max_parallel_requests or in_flight_limit(profile)
    return {
        "maxConnections": limit,
        "maxParallelRequests": limit,
        "maxPendingRequests": limit,
        "perEndpoint": {"maxConnections": 2 * profile.queue_limit},
        "retryBudget": {"percent": {"numerator": RETRY_BUDGET_PERCENT, "denominator": 100}, "minRetryConcurrency": 3},
    }


def passive_health_check() -> Manifest:
    """Outlier detection that ejects replicas failing at the connection level, never replicas under load.

    Envoy Gateway v1.9.0 (`buildXdsOutlierDetection`, `internal/xds/translator/cluster.go`) passes
    `consecutive5XxErrors` to Envoy's `consecutive_5xx`, which the CRD defaults to 5 when absent and which Envoy
    enforces at 100 %; and whenever `consecutiveGatewayErrors` is set it enforces gateway errors (502/503/504)
    at 100 %. vLLM answers 503 when its queue is full, so either would eject healthy replicas exactly at peak.
    Envoy counts consecutive 5xx with `++consecutive_5xx_ == consecutive_5xx`
    (`source/common/upstream/outlier_detection_impl.cc`), so a threshold of 0 never matches: 5xx ejection is
    off, and with `splitExternalLocalOriginErrors` only local-origin failures (refused or reset connections,
    timeouts) count, through `consecutiveLocalOriginFailures`.
    """
    return {
        "splitExternalLocalOriginErrors": True,
        "consecutiveLocalOriginFailures": 5,
        "consecutive5XxErrors": 0,
        "interval": "10s",
        "baseEjectionTime": "30s",
        "maxEjectionPercent": 50,
    }


def backend_traffic_policy_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """Balancing, retries, circuit breaking, outlier detection and per-key rate limits of a profile's route."""
    triggers = ["connect-failure", "refused-stream", "reset-before-request"]
    # Retry only what never reached a model: failed connections, refused streams and vLLM's admission 503.
    retry_on: Manifest = {"triggers": [*triggers, "retriable-status-codes"], "httpStatusCodes": [503]}
    if cache_aware(config):
        # The AI Gateway's upstream cluster is ORIGINAL_DST on the endpoint the picker chose (ai-gateway v1.1.0
        # internal/extensionserver/post_cluster_modify.go:67-96): a retry reaches the same pod, so retrying its
        # admission 503 would only add load. The picker's own queue and KV scores keep requests off full pods.
        retry_on = {"triggers": triggers}
    spec: Manifest = {
        "targetRefs": [_route_ref(route_name(profile))],
        "timeout": {"http": {"requestTimeout": f"{profile.request_timeout_seconds}s"}},
        "retry": {
            "numRetries": 2,
            "retryOn": retry_on,
            "perRetry": {"backOff": {"baseInterval": "100ms", "maxInterval": "1s"}},
        },
        # Beyond what the replicas can admit, answer 503 at once instead of queueing in Envoy.
        "circuitBreaker": circuit_breaker(config, profile),
    }
    if not cache_aware(config):
        # With cache-aware routing the picker chooses the pod; the AI Gateway clears the cluster's load balancing
        # policy (post_cluster_modify.go:70-92), so neither a balancer nor outlier ejection would take effect.
        spec["loadBalancer"] = _load_balancer(config)
        spec["healthCheck"] = {"passive": passive_health_check()}
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
    """A Network Load Balancer in front of the gateway's Envoy pods, under a fixed name (platform aws).

    DNS records and health checks need the load balancer's host name; the Service Envoy Gateway generates has a
    hashed name (and is ClusterIP here, see `envoy_service_type`), this one is known in advance and Pulumi waits
    for its address. With an ACM `certificate_arn` the load balancer is internet-facing and terminates TLS on
    443, opening nothing else: API keys never cross the internet in clear. Without one it is internal to the VPC.

    The annotations are those of the AWS cloud provider that serves `type: LoadBalancer` on EKS without the AWS
    Load Balancer Controller (kubernetes/cloud-provider-aws v1.35, `pkg/providers/v1/aws.go`): `-type: nlb`,
    `-internal`, `-ssl-cert` with `-ssl-ports` (TLS listeners on an NLB), `-cross-zone-load-balancing-enabled`.
    """
    return public_service_manifest(config.kubernetes.gateway_namespace, config.kubernetes.namespace, certificate_arn)


def public_service_manifest(gateway_namespace: str, namespace: str, certificate_arn: Any = None) -> Manifest:
    """`load_balancer_service_manifest` from the two namespaces it needs: the Envoy pods' (`gateway_namespace`)
    and the Gateway's (`namespace`)."""
    annotations = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
    }
    if certificate_arn is not None:
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = certificate_arn
        annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
        ports = [{"name": "https", "port": 443, "targetPort": ENVOY_HTTP_PORT, "protocol": "TCP"}]
    else:
        annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
        ports = [{"name": "http", "port": 80, "targetPort": ENVOY_HTTP_PORT, "protocol": "TCP"}]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": PUBLIC_SERVICE,
            "namespace": gateway_namespace,
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
            "annotations": annotations,
        },
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Local",
            "selector": {
                "gateway.envoyproxy.io/owning-gateway-name": GATEWAY,
                "gateway.envoyproxy.io/owning-gateway-namespace": namespace,
            },
            "ports": ports,
        },
    }
