"""The inference gateway: Envoy Gateway in front of every model profile, with API keys and load balancing."""

from __future__ import annotations

import pulumi

from components.k8s.objects import register
from llmscale.config.models import StackConfig
from llmscale.k8s.gateway import (
    API_KEYS_SECRET,
    backend_traffic_policy_manifest,
    envoy_proxy_manifest,
    gateway_class_manifest,
    gateway_manifest,
    health_route_manifest,
    http_route_manifest,
    path_prefix,
    security_policy_manifest,
    serves_https,
)
from llmscale.serving.api_keys import api_key_clients


class InferenceGateway(pulumi.ComponentResource):
    """GatewayClass, Gateway, a route per profile and the policies that balance and protect them.

    Clients use `<endpoint>/<profile>/v1` as their OpenAI base URL and their key as a Bearer token.
    """

    endpoint: pulumi.Output[str]
    base_urls: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        *,
        config: StackConfig,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:InferenceGateway", name, None, opts)
        after_addons = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        gateway_class = register(gateway_class_manifest(), after_addons, name=f"{name}-class")
        proxy = register(envoy_proxy_manifest(config), after_addons, name=f"{name}-proxy")
        gateway = register(
            gateway_manifest(config),
            # Envoy Gateway renders the proxies from the EnvoyProxy: it must exist before the Gateway.
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, gateway_class, proxy]),
            name=f"{name}-gateway",
        )
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, gateway])
        keys = config.api_keys.get_secret_value() if config.api_keys else None
        secret = register(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": API_KEYS_SECRET, "namespace": config.kubernetes.namespace},
                "type": "Opaque",
            },
            pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            name=f"{name}-api-keys",
            string_data=pulumi.Output.secret(api_key_clients(keys)) if keys else None,
        )
        for profile in config.models:
            register(http_route_manifest(config, profile), after_gateway, name=f"{name}-{profile.name}-route")
            register(
                backend_traffic_policy_manifest(config, profile),
                after_gateway,
                name=f"{name}-{profile.name}-traffic",
            )
        register(health_route_manifest(config), after_gateway, name=f"{name}-health-route")
        register(
            security_policy_manifest(config),
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, gateway, secret]),
            name=f"{name}-api-keys-policy",
        )

        scheme = "https" if serves_https(config) else "http"
        namespace = config.kubernetes.namespace
        # Without a host name the address is the LoadBalancer's, which only the cluster knows.
        lookup = f"$(kubectl -n {namespace} get gateway llmscale -o jsonpath='{{.status.addresses[0].value}}')"
        self.endpoint = pulumi.Output.from_input(f"{scheme}://{config.gateway.hostname or lookup}")
        self.base_urls = self.endpoint.apply(
            lambda endpoint: {p.name: f"{endpoint}{path_prefix(p)}" for p in config.models}
        )
        self.register_outputs({"endpoint": self.endpoint, "baseUrls": self.base_urls})
