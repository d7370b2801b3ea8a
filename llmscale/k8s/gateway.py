"""The inference gateway itself: the names of its objects, each profile's public path, the GatewayClass, the
EnvoyProxy that shapes Envoy Gateway's proxies, and the Gateway with its listeners, as plain manifests.

Each model profile is reached at `/<profile>/v1` (rewritten to vLLM's `/v1`, see `llmscale.k8s.routes`), so an
OpenAI client needs only its base URL. Load balancing, timeouts, retries, circuit breaking, outlier detection,
per-key rate limits and API keys are Envoy Gateway policies on those routes (`llmscale.k8s.gateway_policies`).
"""

from __future__ import annotations

from llmscale.config.models import ModelProfile, Platform, StackConfig
from llmscale.k8s.objects import Manifest

GATEWAY_CLASS = "llmscale"
GATEWAY = "llmscale"
ENVOY_PROXY = "llmscale-proxy"
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
API_KEYS_SECRET = "llmscale-api-keys"


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
