"""The serving layer on any Kubernetes cluster: add-ons, namespace, model profiles and the gateway."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.addons import ClusterAddons
from components.k8s.gateway import InferenceGateway
from components.k8s.monitoring import Monitoring
from components.k8s.objects import register
from components.k8s.vllm_model import VllmModel
from llmscale.k8s.load_balancer import public_service_manifest
from llmscale.k8s.serving_args import ServingLayerArgs


class ServingLayer(pulumi.ComponentResource):
    """Everything that serves the stack's model profiles (`ServingLayerArgs`) on a cluster reached through
    `provider`.

    Every child uses that provider (EKS built by llmscale, or an existing cluster by kubeconfig); custom
    resources wait for the add-ons that define them. With `args.public_service` a load balancer fronts the
    gateway, terminating TLS with `certificate_arn` when given. `models`, `monitoring` and `gateway` are its
    components; `endpoint`, `base_urls` and the load balancer's `public_hostname` are its outputs.
    """

    endpoint: pulumi.Output[str]
    base_urls: pulumi.Output[dict[str, str]]
    public_hostname: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: ServingLayerArgs,
        *,
        provider: k8s.Provider,
        model_access: list[pulumi.Resource] | None = None,
        model_store_bucket: pulumi.Input[str] | None = None,
        certificate_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "llmscale:index:ServingLayer",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers={"kubernetes": provider})),
        )
        child = pulumi.ResourceOptions(parent=self)
        # Envoy Gateway watches the InferencePool kind it is configured with and fails to start without its CRD
        # (envoyproxy/gateway v1.9.0 internal/provider/kubernetes/controller.go:2935-2946): CRDs before add-ons.
        crds = [register(crd, child, name=f"{name}-crd-{crd['spec']['names']['plural']}") for crd in args.crds]
        addons = ClusterAddons(f"{name}-addons", releases=list(args.addons), depends_on=crds, opts=child)
        namespace = register(args.namespace, child, name=f"{name}-namespace")
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        for manifest in args.priority_classes:
            register(manifest, child, name=f"{name}-{manifest['metadata']['name']}")
        register(args.service_account, in_namespace, name=f"{name}-service-account")
        register(args.network_policy, in_namespace, name=f"{name}-network-policy")
        if args.model_cache is not None:
            register(args.model_cache, in_namespace, name=f"{name}-model-cache")
        if args.hf_token_secret is not None and args.hf_token is not None:
            register(
                args.hf_token_secret,
                in_namespace,
                name=f"{name}-hf-token",
                string_data=pulumi.Output.secret({"token": args.hf_token.get_secret_value()}),
            )
        self.models = [
            VllmModel(
                f"{name}-{model.profile}",
                model,
                autoscaler_ready=addons.releases,
                model_store_bucket=model_store_bucket,
                depends_on=[namespace, *(model_access or [])],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for model in args.models
        ]
        # Cache-aware routing: each profile's InferencePool, its endpoint picker and objective.
        after_addons = pulumi.ResourceOptions(parent=self, depends_on=[namespace, *crds, *addons.releases])
        for manifest in args.routing:
            kind = manifest["kind"].lower()
            register(manifest, after_addons, name=f"{name}-{manifest['metadata']['name']}-{kind}")
        self.monitoring = Monitoring(
            f"{name}-monitoring", args.monitoring, depends_on=[namespace], gateway_ready=addons.releases, opts=child
        )
        self.gateway = InferenceGateway(
            f"{name}-gateway", args.gateway, depends_on=[namespace, *addons.releases], opts=child
        )
        self.public_hostname = None
        self.endpoint = self.gateway.endpoint
        self.base_urls = self.gateway.base_urls
        if args.public_service is not None:
            gateway_namespace, gateway_owner_namespace = args.public_service
            service = register(
                public_service_manifest(gateway_namespace, gateway_owner_namespace, certificate_arn),
                pulumi.ResourceOptions(parent=self, depends_on=[self.gateway, *addons.releases]),
                name=f"{name}-public",
            )
            # Pulumi waits for the load balancer and reports its host name.
            self.public_hostname = service.status.apply(lambda status: status.load_balancer.ingress[0].hostname)
            # Until a DNS name points at it (the tier writes that record), the load balancer's name is the
            # endpoint: HTTPS with a certificate, else plain HTTP inside the VPC.
            scheme = "https" if certificate_arn is not None else "http"
            self.endpoint = pulumi.Output.concat(f"{scheme}://", self.public_hostname)
            self.base_urls = self.endpoint.apply(
                lambda endpoint: {route.profile: f"{endpoint}{route.path}" for route in args.gateway.routes}
            )
        self.register_outputs(
            {"endpoint": self.endpoint, "baseUrls": self.base_urls, "publicHostname": self.public_hostname}
        )
