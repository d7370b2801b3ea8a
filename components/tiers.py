"""Build a stack's tier from its config: the one place that decides which components a stack gets."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.certificate import DnsValidatedCertificate
from components.aws.model_store import ModelStore
from components.k8s.serving import ServingLayer
from components.settings import StackSettings
from llmscale.aws.dns import endpoint_kind
from llmscale.aws.tags import stack_tags
from llmscale.config.models import Platform, StackConfig, Tier
from llmscale.k8s.gateway import path_prefix
from llmscale.policy.settings import stack_settings
from llmscale.serving.vllm_args import termination_grace_seconds


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

        cluster = config.kubernetes
        provider = k8s.Provider(
            f"{stack}-cluster",
            kubeconfig=cluster.kubeconfig,
            context=cluster.context,
            # Objects stay where the stack config puts them, never in the kubeconfig's default namespace.
            namespace=cluster.namespace,
        )
        serving = ServingLayer(stack, config=config, provider=provider)
        outputs = {
            "endpoint": serving.endpoint,
            "baseUrls": serving.base_urls,
            "models": pulumi.Output.from_input([p.name for p in config.models]),
        }
        if config.failover is not None:
            outputs.update(_external_failover(stack, config, region, tags))
        return outputs
    if config.tier in (Tier.MULTI_GPU, Tier.ENTERPRISE) and config.platform is Platform.AWS:
        assert region is not None  # required by config validation on platform aws
        failover = config.failover
        standby_region = failover.standby_region if failover else None
        # One provider for everything in the standby region: its cluster and the model store's replica.
        standby_aws = aws.Provider(f"{stack}-standby-region", region=standby_region) if standby_region else None
        store = _model_store(stack, tags, standby_region, standby_aws)
        public_name = _public_name(config)
        certificate = (
            DnsValidatedCertificate(f"{stack}-tls", domain=public_name[0], zone_id=public_name[1], tags=tags)
            if public_name
            else None
        )
        primary = _aws_cluster(
            stack,
            config,
            region,
            tags,
            store_policy=store.read_policy,
            store_bucket=store.bucket_name,
            certificate_arn=certificate.certificate_arn if certificate else None,
        )
        outputs: dict[str, pulumi.Output] = {
            "endpoint": primary.endpoint,
            "baseUrls": primary.base_urls,
            "clusterName": pulumi.Output.from_input(stack),
            "models": pulumi.Output.from_input([p.name for p in config.models]),
            "modelStore": store.bucket_name,
        }
        if failover is not None:
            outputs.update(_failover(stack, config, primary, tags, store, standby_aws))
        elif public_name is not None:
            outputs.update(_public_record(stack, config, primary, public_name))
        return outputs
    raise UnsupportedTierError(f"tier {config.tier} on platform {config.platform} is not built by this version yet")


def _public_name(config: StackConfig) -> tuple[str, str] | None:
    """The public DNS name of an AWS cluster's gateway and its hosted zone, when the stack has one.

    The failover name on enterprise; `gateway.hostname` in `gateway.hostedZoneId` otherwise. With a name the
    load balancer is internet-facing and serves HTTPS with a certificate for it; without one it stays internal.
    """
    if config.failover is not None:
        return config.failover.record_name, config.failover.hosted_zone_id
    if config.gateway.hostname and config.gateway.hosted_zone_id:
        return config.gateway.hostname, config.gateway.hosted_zone_id
    return None


def _public_record(
    stack: str, config: StackConfig, primary: ServingLayer, public_name: tuple[str, str]
) -> dict[str, pulumi.Output]:
    """The DNS name clients use, pointing at the load balancer (a CNAME: the NLB's own name is what AWS gives)."""
    hostname, zone_id = public_name
    assert primary.public_hostname is not None  # every AWS cluster is fronted by its load balancer
    aws.route53.Record(
        f"{stack}-endpoint",
        zone_id=zone_id,
        name=hostname,
        type="CNAME",
        ttl=60,
        records=[primary.public_hostname],
    )
    endpoint = f"https://{hostname}"
    return {
        "endpoint": pulumi.Output.from_input(endpoint),
        "baseUrls": pulumi.Output.from_input({p.name: f"{endpoint}{path_prefix(p)}" for p in config.models}),
        "loadBalancer": primary.public_hostname,
    }


def _aws_cluster(
    name: str,
    config: StackConfig,
    region: str,
    tags: dict[str, str],
    *,
    provider: pulumi.ProviderResource | None = None,
    standby: bool = False,
    store_policy: pulumi.Output[str] | None = None,
    store_bucket: pulumi.Output[str] | None = None,
    certificate_arn: pulumi.Input[str] | None = None,
) -> ServingLayer:
    """Network, EKS cluster, autoscaler and serving layer in one region (`provider` for another region)."""
    from components.aws.cluster_autoscaler import ClusterAutoscaler
    from components.aws.eks import EksCluster
    from components.aws.network import Network

    in_region = pulumi.ResourceOptions(providers=[provider] if provider else None)
    network = Network(
        f"{name}-net",
        cidr=config.eks.vpc_cidr,
        zone_count=config.eks.zone_total,
        instance_type=config.gpu.instance_type,
        zones=config.eks.zones or None,
        # Enterprise: a zone outage must not cut the other zones off the internet.
        nat_per_zone=config.tier is Tier.ENTERPRISE,
        cluster_name=name,
        tags=tags,
        provider=provider,
        opts=in_region,
    )
    cluster = EksCluster(
        f"{name}-eks",
        config=config,
        cluster_name=name,
        region=region,
        private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids,
        tags=tags,
        site="standby" if standby else "primary",
        opts=in_region,
    )
    # Pod Identity hands credentials to pods created after the association: it comes before the vLLM pods.
    readers = (
        [_model_reader(f"{name}-models-reader", config, cluster.cluster_name, store_policy, tags, in_region)]
        if store_policy is not None
        else []
    )
    ClusterAutoscaler(
        f"{name}-autoscaler",
        cluster_name=cluster.cluster_name,
        region=region,
        kubernetes_version=config.eks.kubernetes_version,
        max_graceful_termination=max(termination_grace_seconds(p) for p in config.models),
        provider=cluster.provider,
        tags=tags,
        opts=in_region,
    )
    return ServingLayer(
        name,
        config=config,
        provider=cluster.provider,
        expose=True,
        standby=standby,
        aws_region=region,
        model_access=readers,
        model_store_bucket=store_bucket,
        certificate_arn=certificate_arn,
    )


def standby_config(config: StackConfig) -> StackConfig:
    """The warm standby's config: the same profiles with the standby's smaller minimum."""
    assert config.failover is not None
    floor = config.failover.standby_min_replicas
    models = [p.model_copy(update={"min_replicas": min(floor, p.max_replicas)}) for p in config.models]
    standby = config.model_copy(update={"models": models})
    standby._declared = config.declared_keys
    return standby


def _failover(
    stack: str,
    config: StackConfig,
    primary: ServingLayer,
    tags: dict[str, str],
    store: ModelStore,
    provider: pulumi.ProviderResource | None,
) -> dict[str, pulumi.Output]:
    """The standby (built in its region, or given) and the DNS records that fail over to it."""
    from components.aws.dns_failover import DnsFailover

    failover = config.failover
    assert failover is not None and primary.public_hostname is not None
    outputs: dict[str, pulumi.Output] = {}
    if failover.standby_region is not None:
        assert provider is not None
        standby_certificate = DnsValidatedCertificate(
            f"{stack}-standby-tls",
            domain=failover.record_name,
            zone_id=failover.hosted_zone_id,
            tags=tags,
            write_record=False,  # the primary's certificate wrote the same validation record
            provider=provider,
        )
        standby = _aws_cluster(
            f"{stack}-standby",
            standby_config(config),
            failover.standby_region,
            tags,
            provider=provider,
            standby=True,
            store_policy=store.replica_read_policy,
            # The standby reads `store://` models from its own region's replica, never from the primary.
            store_bucket=store.replica_bucket_name,
            certificate_arn=standby_certificate.certificate_arn,
        )
        assert standby.public_hostname is not None
        secondary: pulumi.Input[str] = standby.public_hostname
        secondary_kind = "hostname"
        outputs["standbyEndpoint"] = standby.public_hostname
    else:
        assert failover.standby_endpoint is not None
        secondary = failover.standby_endpoint
        secondary_kind = endpoint_kind(failover.standby_endpoint)
    # Each region's load balancer terminates TLS with its own ACM certificate for the failover name.
    tls = True
    dns = DnsFailover(
        f"{stack}-failover",
        zone_id=failover.hosted_zone_id,
        record_name=failover.record_name,
        primary_endpoint=primary.public_hostname,
        secondary_endpoint=secondary,
        primary_kind="hostname",
        secondary_kind=secondary_kind,
        health_path="/health",
        port=443 if tls else 80,
        protocol="HTTPS" if tls else "HTTP",
        tags=tags,
    )
    outputs["primaryEndpoint"] = primary.public_hostname
    outputs["failoverName"] = dns.fqdn
    # Clients use the failover name: it follows the healthy region.
    endpoint = f"{'https' if tls else 'http'}://{failover.record_name}"
    outputs["endpoint"] = pulumi.Output.from_input(endpoint)
    outputs["baseUrls"] = pulumi.Output.from_input({p.name: f"{endpoint}{path_prefix(p)}" for p in config.models})
    return outputs


# Route 53 is a global service, but the AWS provider still needs a region to sign its calls.
ROUTE53_SIGNING_REGION = "us-east-1"


def _external_failover(
    stack: str, config: StackConfig, region: str | None, tags: dict[str, str]
) -> dict[str, pulumi.Output]:
    """DNS failover between two sites this stack does not build (platform kubernetes): the primary cluster's
    gateway at `failover.primaryEndpoint`, the standby at `failover.standbyEndpoint`.

    Health checks use HTTPS when the gateway has a TLS listener (`gateway.tlsSecretName`), else HTTP; both go to
    the gateway's unauthenticated `/health` route, which answers any host name.
    """
    from components.aws.dns_failover import DnsFailover

    failover = config.failover
    assert failover is not None and failover.primary_endpoint is not None and failover.standby_endpoint is not None
    dns_aws = aws.Provider(f"{stack}-dns", region=region or ROUTE53_SIGNING_REGION)
    tls = config.gateway.tls_secret_name is not None
    dns = DnsFailover(
        f"{stack}-failover",
        zone_id=failover.hosted_zone_id,
        record_name=failover.record_name,
        primary_endpoint=failover.primary_endpoint,
        secondary_endpoint=failover.standby_endpoint,
        primary_kind=endpoint_kind(failover.primary_endpoint),
        secondary_kind=endpoint_kind(failover.standby_endpoint),
        health_path="/health",
        port=443 if tls else 80,
        protocol="HTTPS" if tls else "HTTP",
        tags=tags,
        provider=dns_aws,
    )
    endpoint = f"{'https' if tls else 'http'}://{failover.record_name}"
    return {
        "primaryEndpoint": pulumi.Output.from_input(failover.primary_endpoint),
        "failoverName": dns.fqdn,
        "endpoint": pulumi.Output.from_input(endpoint),
        "baseUrls": pulumi.Output.from_input({p.name: f"{endpoint}{path_prefix(p)}" for p in config.models}),
    }


def _model_store(
    stack: str, tags: dict[str, str], standby_region: str | None, standby_aws: pulumi.ProviderResource | None
) -> ModelStore:
    """The stack's bucket of model weights, replicated to the standby region when there is one."""
    return ModelStore(f"{stack}-models", tags=tags, replica_region=standby_region, replica_provider=standby_aws)


def _model_reader(
    name: str,
    config: StackConfig,
    cluster_name: pulumi.Input[str],
    read_policy: pulumi.Output[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> pulumi.Resource:
    """Let the vLLM pods of a cluster read the model store, through EKS Pod Identity."""
    from components.aws.pod_identity import pod_identity_role
    from llmscale.k8s.workload import SERVICE_ACCOUNT

    return pod_identity_role(
        (name, name, name),
        cluster_name=cluster_name,
        namespace=config.kubernetes.namespace,
        service_account=SERVICE_ACCOUNT,
        policy=read_policy,
        description="vLLM pods reading model weights from the model store",
        tags=tags,
        opts=opts,
    )
