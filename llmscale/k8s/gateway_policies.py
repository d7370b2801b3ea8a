"""Envoy Gateway's policies on the model routes: a BackendTrafficPolicy per profile (load balancing, timeouts,
retries, circuit breaking, outlier detection, per-key rate limits) and the SecurityPolicy that checks API keys
before a request reaches a GPU.
"""

from __future__ import annotations

from llmscale.config.models import ModelProfile, RoutingStrategy, StackConfig
from llmscale.k8s.gateway import API_KEYS_SECRET
from llmscale.k8s.labels import labels
from llmscale.k8s.objects import Manifest
from llmscale.k8s.routes import cache_aware, route_name

CLIENT_HEADER = "x-llmscale-client"

LOAD_BALANCER_TYPES: dict[RoutingStrategy, str] = {
    RoutingStrategy.ROUND_ROBIN: "RoundRobin",
    RoutingStrategy.LEAST_LOADED: "LeastRequest",
    RoutingStrategy.STICKY: "ConsistentHash",
}


def _route_ref(name: str) -> Manifest:
    return {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": name}


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
