"""Build a stack's tier from its config: the one place that decides which components a stack gets."""

from __future__ import annotations

import pulumi

from components.settings import StackSettings
from llmscale.config.models import Platform, StackConfig, Tier
from llmscale.stack_settings import stack_settings
from llmscale.tags import stack_tags


class UnsupportedTierError(pulumi.RunError):
    """The stack asks for a tier/platform combination this version of llmscale does not build yet."""


def build_tier(config: StackConfig, *, stack: str, region: str | None) -> dict[str, pulumi.Output]:
    """Register the tier's components and return the stack outputs to export."""
    tags = stack_tags(stack, str(config.tier))
    StackSettings(f"{stack}-settings", settings=stack_settings(config))
    if config.tier is Tier.SINGLE_GPU and config.platform is Platform.AWS:
        from components.aws.single_host import SingleGpuHost

        assert region is not None  # required by config validation on platform aws
        host = SingleGpuHost(stack, config=config, stack=stack, region=region, tags=tags)
        return {
            "endpoint": host.endpoint,
            "baseUrl": host.base_url,
            "instanceId": host.instance_id,
            "publicIp": host.public_ip,
            "models": pulumi.Output.from_input([p.name for p in config.models]),
        }
    if config.tier is Tier.SINGLE_GPU and config.platform is Platform.HOST:
        # An existing server gets no cloud resources: its bundle is written by `llmscale render`.
        return {
            "bundle": pulumi.Output.from_input(
                f"llmscale render {stack} --out DIR, then DIR/bin/start.sh on the server"
            ),
            "models": pulumi.Output.from_input([p.name for p in config.models]),
        }
    if config.tier in (Tier.MULTI_GPU, Tier.ENTERPRISE) and config.platform is Platform.KUBERNETES:
        import pulumi_kubernetes as k8s

        from components.k8s.serving import ServingLayer

        cluster = config.kubernetes
        provider = k8s.Provider(
            f"{stack}-cluster",
            kubeconfig=cluster.kubeconfig,
            context=cluster.context,
            # Objects stay where the stack config puts them, never in the kubeconfig's default namespace.
            namespace=cluster.namespace,
        )
        serving = ServingLayer(stack, config=config, provider=provider)
        return {
            "endpoint": serving.endpoint,
            "baseUrls": serving.base_urls,
            "models": pulumi.Output.from_input([p.name for p in config.models]),
        }
    if config.tier in (Tier.MULTI_GPU, Tier.ENTERPRISE) and config.platform is Platform.AWS:
        from components.aws.cluster_autoscaler import ClusterAutoscaler
        from components.aws.eks import EksCluster
        from components.aws.network import Network
        from components.k8s.serving import ServingLayer

        assert region is not None  # required by config validation on platform aws
        network = Network(
            f"{stack}-net",
            cidr=config.eks.vpc_cidr,
            zone_count=config.eks.zone_total,
            instance_type=config.gpu.instance_type,
            zones=config.eks.zones or None,
            # Enterprise: a zone outage must not cut the other zones off the internet.
            nat_per_zone=config.tier is Tier.ENTERPRISE,
            cluster_name=stack,
            tags=tags,
        )
        cluster = EksCluster(
            f"{stack}-eks",
            config=config,
            cluster_name=stack,
            region=region,
            private_subnet_ids=network.private_subnet_ids,
            public_subnet_ids=network.public_subnet_ids,
            tags=tags,
        )
        ClusterAutoscaler(
            f"{stack}-autoscaler",
            cluster_name=cluster.cluster_name,
            region=region,
            provider=cluster.provider,
            tags=tags,
        )
        serving = ServingLayer(stack, config=config, provider=cluster.provider)
        return {
            "endpoint": serving.endpoint,
            "baseUrls": serving.base_urls,
            "clusterName": cluster.cluster_name,
            "models": pulumi.Output.from_input([p.name for p in config.models]),
        }
    raise UnsupportedTierError(f"tier {config.tier} on platform {config.platform} is not built by this version yet")
