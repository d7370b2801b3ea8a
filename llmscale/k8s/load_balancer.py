"""The Network Load Balancer in front of the gateway's Envoy pods (platform aws): a Service of a fixed name that
DNS records and health checks can point to.
"""

from __future__ import annotations

from typing import Any

from llmscale.config.models import StackConfig
from llmscale.k8s.gateway import GATEWAY
from llmscale.k8s.objects import Manifest

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
