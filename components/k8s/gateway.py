"""The inference gateway: Envoy Gateway in front of every model profile, with API keys and load balancing."""

from __future__ import annotations

import pulumi

from components.k8s.objects import register
from llmscale.k8s.serving_args import InferenceGatewayArgs
from llmscale.serving.api_keys import api_key_clients


class InferenceGateway(pulumi.ComponentResource):
    """GatewayClass, Gateway, a route per profile and the policies that balance and protect them
    (`InferenceGatewayArgs`).

    Clients use `<endpoint>/<profile>/v1` as their OpenAI base URL and their key as a Bearer token. `gateway`
    is the Gateway object; `endpoint` and `base_urls` are registered as outputs.
    """

    endpoint: pulumi.Output[str]
    base_urls: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        args: InferenceGatewayArgs,
        *,
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:InferenceGateway", name, None, opts)
        after_addons = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        gateway_class = register(args.gateway_class, after_addons, name=f"{name}-class")
        proxy = register(args.proxy, after_addons, name=f"{name}-proxy")
        self.gateway = register(
            args.gateway,
            # Envoy Gateway renders the proxies from the EnvoyProxy: it must exist before the Gateway.
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, gateway_class, proxy]),
            name=f"{name}-gateway",
        )
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, self.gateway])
        keys = args.api_keys.get_secret_value() if args.api_keys else None
        secret = register(
            args.api_keys_secret,
            pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            name=f"{name}-api-keys",
            string_data=pulumi.Output.secret(api_key_clients(keys)) if keys else None,
        )
        for route in args.routes:
            register(route.route, after_gateway, name=f"{name}-{route.profile}-route")
            register(route.traffic_policy, after_gateway, name=f"{name}-{route.profile}-traffic")
        register(args.health_route, after_gateway, name=f"{name}-health-route")
        register(
            args.security_policy,
            pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, self.gateway, secret]),
            name=f"{name}-api-keys-policy",
        )
        self.endpoint = pulumi.Output.from_input(args.endpoint)
        self.base_urls = self.endpoint.apply(
            lambda endpoint: {route.profile: f"{endpoint}{route.path}" for route in args.routes}
        )
        self.register_outputs({"endpoint": self.endpoint, "baseUrls": self.base_urls})
