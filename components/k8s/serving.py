"""The serving layer on any Kubernetes cluster: add-ons, namespace, model profiles and the gateway."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.addons import ClusterAddons
from components.k8s.gateway import InferenceGateway
from components.k8s.monitoring import Monitoring
from components.k8s.objects import register
from components.k8s.vllm_model import VllmModel
from llmscale.config.models import StackConfig
from llmscale.k8s.addons import addon_releases
from llmscale.k8s.gateway import cache_aware, load_balancer_service_manifest, path_prefix
from llmscale.k8s.inference import cache_aware_manifests, crd_manifests
from llmscale.k8s.workload import (
    HF_TOKEN_SECRET,
    model_cache_claim_manifest,
    namespace_manifest,
    network_policy_manifest,
    priority_class_manifests,
    service_account_manifest,
)


class ServingLayer(pulumi.ComponentResource):
    """Everything that serves the stack's model profiles on a cluster reached through `provider`.

    Every child uses that provider (EKS built by llmscale, or an existing cluster by kubeconfig); custom
    resources wait for the add-ons that define them.
    """

    endpoint: pulumi.Output[str]
    base_urls: pulumi.Output[dict[str, str]]
    public_hostname: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        *,
        config: StackConfig,
        provider: k8s.Provider,
        expose: bool = False,
        standby: bool = False,
        aws_region: str | None = None,
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
        routed_by_picker = cache_aware(config)
        # Envoy Gateway watches the InferencePool kind it is configured with and fails to start without its CRD
        # (envoyproxy/gateway v1.9.0 internal/provider/kubernetes/controller.go:2935-2946): CRDs before add-ons.
        crds = (
            [register(crd, child, name=f"{name}-crd-{crd['spec']['names']['plural']}") for crd in crd_manifests()]
            if routed_by_picker
            else []
        )
        addons = ClusterAddons(f"{name}-addons", releases=addon_releases(config), depends_on=crds, opts=child)
        namespace = register(namespace_manifest(config), child, name=f"{name}-namespace")
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        for manifest in priority_class_manifests():
            register(manifest, child, name=f"{name}-{manifest['metadata']['name']}")
        register(service_account_manifest(config), in_namespace, name=f"{name}-service-account")
        register(network_policy_manifest(config), in_namespace, name=f"{name}-network-policy")
        claim = model_cache_claim_manifest(config)
        if claim is not None:
            register(claim, in_namespace, name=f"{name}-model-cache")
        has_hf_token = config.hf_token is not None
        if config.hf_token is not None:
            register(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": HF_TOKEN_SECRET, "namespace": config.kubernetes.namespace},
                    "type": "Opaque",
                },
                in_namespace,
                name=f"{name}-hf-token",
                string_data=pulumi.Output.secret({"token": config.hf_token.get_secret_value()}),
            )
        for profile in config.models:
            VllmModel(
                f"{name}-{profile.name}",
                config=config,
                profile=profile,
                has_hf_token=has_hf_token,
                autoscaler_ready=addons.releases,
                standby=standby,
                aws_region=aws_region,
                model_store_bucket=model_store_bucket,
                depends_on=[namespace, *(model_access or [])],
                opts=pulumi.ResourceOptions(parent=self),
            )
        if routed_by_picker:
            after_addons = pulumi.ResourceOptions(parent=self, depends_on=[namespace, *crds, *addons.releases])
            k8s_config = config.kubernetes
            for profile in config.models:
                for manifest in cache_aware_manifests(
                    profile,
                    k8s_config.namespace,
                    replicas=config.routing.picker_replicas(config.tier),
                    gateway_namespace=k8s_config.gateway_namespace,
                    monitoring_namespace=k8s_config.monitoring_namespace,
                    monitoring=False,
                    # With LoRA adapters the picker prefers a pod that already holds the requested one.
                    adapters=bool(profile.adapters),
                ):
                    kind = manifest["kind"].lower()
                    register(manifest, after_addons, name=f"{name}-{manifest['metadata']['name']}-{kind}")
        Monitoring(
            f"{name}-monitoring",
            config=config,
            stack=name,
            depends_on=[namespace],
            gateway_ready=addons.releases,
            opts=child,
        )
        gateway = InferenceGateway(
            f"{name}-gateway", config=config, depends_on=[namespace, *addons.releases], opts=child
        )
        self.public_hostname = None
        self.endpoint = gateway.endpoint
        self.base_urls = gateway.base_urls
        if expose:
            service = register(
                load_balancer_service_manifest(config, certificate_arn),
                pulumi.ResourceOptions(parent=self, depends_on=[gateway, *addons.releases]),
                name=f"{name}-public",
            )
            # Pulumi waits for the load balancer and reports its host name.
            self.public_hostname = service.status.apply(lambda status: status.load_balancer.ingress[0].hostname)
            # Until a DNS name points at it (the tier writes that record), the load balancer's name is the
            # endpoint: HTTPS with a certificate, else plain HTTP inside the VPC.
            scheme = "https" if certificate_arn is not None else "http"
            self.endpoint = pulumi.Output.concat(f"{scheme}://", self.public_hostname)
            self.base_urls = self.endpoint.apply(
                lambda endpoint: {p.name: f"{endpoint}{path_prefix(p)}" for p in config.models}
            )
        self.register_outputs({"endpoint": self.endpoint, "baseUrls": self.base_urls})
