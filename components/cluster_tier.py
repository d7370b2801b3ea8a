"""The cluster tiers' shared builder: on AWS the model store, network, EKS, autoscaler, serving layer and DNS;
on an existing cluster the serving layer (and DNS failover between given endpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi
import pulumi_aws as aws

from components.aws.certificate import DnsValidatedCertificate
from components.aws.model_store import ModelStore
from components.k8s.serving import ServingLayer
from components.tier_base import Outputs, TierComponent
from llmscale.aws.cluster_args import eks_cluster_args
from llmscale.aws.dns import ROUTE53_SIGNING_REGION, endpoint_kind
from llmscale.config.models import AwsStackConfig, FailoverConfig, Tier
from llmscale.k8s.gateway import path_prefix
from llmscale.k8s.serving_args import serving_layer_args
from llmscale.serving.vllm_args import termination_grace_seconds
from llmscale.tiers.args import AwsEksPlatform, KubernetesPlatform
from llmscale.tiers.config import public_name, standby_config


@dataclass(frozen=True)
class _Site:
    """One region's cluster, as the tier's DNS needs it: its serving layer and its load balancer's name."""

    serving: ServingLayer
    hostname: pulumi.Output[str]


class ClusterTierComponent(TierComponent):
    """What the cluster tiers share: on `AwsEksPlatform` the model store, network, EKS cluster, autoscaler and
    serving layer (and a standby region and DNS failover when the Args have `failover`); on `KubernetesPlatform`
    the serving layer on the existing cluster (and DNS failover between given endpoints).

    Outputs: `endpoint`, `baseUrls` and `models`; on AWS also `clusterName` and `modelStore`, and with a public
    name or failover `loadBalancer` or `primaryEndpoint`, `failoverName` and `standbyEndpoint`.
    """

    serving: ServingLayer
    model_store: ModelStore | None = None
    cluster_name: pulumi.Output[str] | None = None

    def _on_kubernetes(self, platform: KubernetesPlatform) -> Outputs:
        import pulumi_kubernetes as k8s

        cluster = self.config.kubernetes
        provider = k8s.Provider(
            f"{self._name}-cluster",
            kubeconfig=cluster.kubeconfig,
            context=cluster.context,
            # Objects stay where the stack config puts them, never in the kubeconfig's default namespace.
            namespace=cluster.namespace,
            opts=self.child(),
        )
        self.serving = ServingLayer(
            self._name, serving_layer_args(self.config, self._name), provider=provider, opts=self.child()
        )
        outputs: Outputs = {"endpoint": self.serving.endpoint, "baseUrls": self.serving.base_urls}
        if self.config.failover is not None:
            outputs.update(self._external_failover(self.config.failover, platform.region))
        return outputs

    def _on_aws(self, platform: AwsEksPlatform) -> Outputs:
        name, config = self._name, self.config
        failover = config.failover
        standby_region = failover.standby_region if failover else None
        # One provider for everything in the standby region: its cluster and the model store's replica.
        standby_aws = (
            aws.Provider(f"{name}-standby-region", region=standby_region, opts=self.child()) if standby_region else None
        )
        store = ModelStore(
            f"{name}-models",
            tags=self.tags,
            replica_region=standby_region,
            replica_provider=standby_aws,
            opts=self.child(),
        )
        self.model_store = store
        public = public_name(config)
        certificate = (
            DnsValidatedCertificate(
                f"{name}-tls", domain=public[0], zone_id=public[1], tags=self.tags, opts=self.child()
            )
            if public
            else None
        )
        primary = self._aws_site(
            name,
            config,
            platform.region,
            store_policy=store.read_policy,
            store_bucket=store.bucket_name,
            certificate_arn=certificate.certificate_arn if certificate else None,
        )
        self.serving = primary.serving
        self.cluster_name = pulumi.Output.from_input(name)
        outputs: Outputs = {
            "endpoint": primary.serving.endpoint,
            "baseUrls": primary.serving.base_urls,
            "clusterName": self.cluster_name,
            "modelStore": store.bucket_name,
        }
        if failover is not None:
            outputs.update(self._failover(failover, primary, store, standby_aws))
        elif public is not None:
            outputs.update(self._public_record(primary, public))
        return outputs

    BUILDERS: ClassVar = {AwsEksPlatform: _on_aws, KubernetesPlatform: _on_kubernetes}

    def _base_urls(self, endpoint: str) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.from_input({p.name: f"{endpoint}{path_prefix(p)}" for p in self.config.models})

    def _public_record(self, primary: _Site, public: tuple[str, str]) -> Outputs:
        """The DNS name clients use, pointing at the load balancer (a CNAME: the NLB's own name is what AWS gives)."""
        hostname, zone_id = public
        aws.route53.Record(
            f"{self._name}-endpoint",
            zone_id=zone_id,
            name=hostname,
            type="CNAME",
            ttl=60,
            records=[primary.hostname],
            opts=self.child(),
        )
        endpoint = f"https://{hostname}"
        return {
            "endpoint": pulumi.Output.from_input(endpoint),
            "baseUrls": self._base_urls(endpoint),
            "loadBalancer": primary.hostname,
        }

    def _aws_site(
        self,
        name: str,
        config: AwsStackConfig,
        region: str,
        *,
        provider: pulumi.ProviderResource | None = None,
        standby: bool = False,
        store_policy: pulumi.Output[str] | None = None,
        store_bucket: pulumi.Output[str] | None = None,
        certificate_arn: pulumi.Input[str] | None = None,
    ) -> _Site:
        """Network, EKS cluster, autoscaler and serving layer in one region (`provider` for another region)."""
        from components.aws.cluster_autoscaler import ClusterAutoscaler
        from components.aws.eks import EksCluster
        from components.aws.network import Network

        in_region = self.child(pulumi.ResourceOptions(providers=[provider] if provider else None))
        network = Network(
            f"{name}-net",
            cidr=config.eks.vpc_cidr,
            zone_count=config.eks.zone_total,
            instance_type=config.gpu.instance_type,
            zones=config.eks.zones or None,
            # Enterprise: a zone outage must not cut the other zones off the internet.
            nat_per_zone=config.tier is Tier.ENTERPRISE,
            cluster_name=name,
            tags=self.tags,
            provider=provider,
            opts=in_region,
        )
        cluster = EksCluster(
            f"{name}-eks",
            eks_cluster_args(
                config, cluster_name=name, region=region, site="standby" if standby else "primary", tags=self.tags
            ),
            private_subnet_ids=network.private_subnet_ids,
            public_subnet_ids=network.public_subnet_ids,
            opts=in_region,
        )
        # Pod Identity hands credentials to pods created after the association: it comes before the vLLM pods.
        readers = (
            [self._model_reader(f"{name}-models-reader", cluster.cluster_name, store_policy, in_region)]
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
            tags=self.tags,
            opts=in_region,
        )
        serving = ServingLayer(
            name,
            serving_layer_args(config, name, expose=True, standby=standby, aws_region=region),
            provider=cluster.provider,
            model_access=readers,
            model_store_bucket=store_bucket,
            certificate_arn=certificate_arn,
            opts=self.child(),
        )
        if serving.public_hostname is None:
            raise RuntimeError(f"{name}: an exposed serving layer has a load balancer")  # ServingLayer(expose=True)
        return _Site(serving=serving, hostname=serving.public_hostname)

    def _failover(
        self,
        failover: FailoverConfig,
        primary: _Site,
        store: ModelStore,
        standby_aws: pulumi.ProviderResource | None,
    ) -> Outputs:
        """The standby (built in its region, or given) and the DNS records that fail over to it."""
        from components.aws.dns_failover import DnsFailover

        name = self._name
        outputs: Outputs = {}
        secondary: pulumi.Input[str]
        if failover.standby_region is not None:
            standby_certificate = DnsValidatedCertificate(
                f"{name}-standby-tls",
                domain=failover.record_name,
                zone_id=failover.hosted_zone_id,
                tags=self.tags,
                write_record=False,  # the primary's certificate wrote the same validation record
                provider=standby_aws,
                opts=self.child(),
            )
            standby = self._aws_site(
                f"{name}-standby",
                standby_config(self.config),
                failover.standby_region,
                provider=standby_aws,
                standby=True,
                store_policy=store.replica_read_policy,
                # The standby reads `store://` models from its own region's replica, never from the primary.
                store_bucket=store.replica_bucket_name,
                certificate_arn=standby_certificate.certificate_arn,
            )
            self.standby = standby.serving
            secondary, secondary_kind = standby.hostname, "hostname"
            outputs["standbyEndpoint"] = standby.hostname
        else:
            # FailoverConfig holds exactly one of standbyRegion and standbyEndpoint.
            secondary = str(failover.standby_endpoint)
            secondary_kind = endpoint_kind(secondary)
        # Each region's load balancer terminates TLS with its own ACM certificate for the failover name.
        dns = DnsFailover(
            f"{name}-failover",
            zone_id=failover.hosted_zone_id,
            record_name=failover.record_name,
            primary_endpoint=primary.hostname,
            secondary_endpoint=secondary,
            primary_kind="hostname",
            secondary_kind=secondary_kind,
            health_path="/health",
            port=443,
            protocol="HTTPS",
            tags=self.tags,
            opts=self.child(),
        )
        # Clients use the failover name: it follows the healthy region.
        endpoint = f"https://{failover.record_name}"
        return {
            **outputs,
            "primaryEndpoint": primary.hostname,
            "failoverName": dns.fqdn,
            "endpoint": pulumi.Output.from_input(endpoint),
            "baseUrls": self._base_urls(endpoint),
        }

    def _external_failover(self, failover: FailoverConfig, region: str | None) -> Outputs:
        """DNS failover between two sites this stack does not build (platform kubernetes): the primary cluster's
        gateway at `failover.primaryEndpoint`, the standby at `failover.standbyEndpoint` (both required there).

        Health checks use HTTPS when the gateway has a TLS listener (`gateway.tlsSecretName`), else HTTP; both go
        to the gateway's unauthenticated `/health` route, which answers any host name.
        """
        from components.aws.dns_failover import DnsFailover

        name = self._name
        primary_endpoint, standby_endpoint = str(failover.primary_endpoint), str(failover.standby_endpoint)
        dns_aws = aws.Provider(f"{name}-dns", region=region or ROUTE53_SIGNING_REGION, opts=self.child())
        tls = self.config.gateway.tls_secret_name is not None
        dns = DnsFailover(
            f"{name}-failover",
            zone_id=failover.hosted_zone_id,
            record_name=failover.record_name,
            primary_endpoint=primary_endpoint,
            secondary_endpoint=standby_endpoint,
            primary_kind=endpoint_kind(primary_endpoint),
            secondary_kind=endpoint_kind(standby_endpoint),
            health_path="/health",
            port=443 if tls else 80,
            protocol="HTTPS" if tls else "HTTP",
            tags=self.tags,
            provider=dns_aws,
            opts=self.child(),
        )
        endpoint = f"{'https' if tls else 'http'}://{failover.record_name}"
        return {
            "primaryEndpoint": pulumi.Output.from_input(primary_endpoint),
            "failoverName": dns.fqdn,
            "endpoint": pulumi.Output.from_input(endpoint),
            "baseUrls": self._base_urls(endpoint),
        }

    def _model_reader(
        self,
        name: str,
        cluster_name: pulumi.Input[str],
        read_policy: pulumi.Output[str],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        """Let the vLLM pods of a cluster read the model store, through EKS Pod Identity."""
        from components.aws.pod_identity import pod_identity_role
        from llmscale.k8s.namespace import SERVICE_ACCOUNT

        return pod_identity_role(
            (name, name, name),
            cluster_name=cluster_name,
            namespace=self.config.kubernetes.namespace,
            service_account=SERVICE_ACCOUNT,
            policy=read_policy,
            description="vLLM pods reading model weights from the model store",
            tags=self.tags,
            opts=opts,
        )
