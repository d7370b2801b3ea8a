"""The AWS keys: the EKS cluster llmscale builds, and DNS failover to a standby."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from llmscale import versions
from llmscale.config.base import (
    AZ_NAME,
    DOMAIN,
    ENDPOINT,
    IAM_PRINCIPAL_ARN,
    INSTANCE_TYPE,
    K8S_VERSION,
    ZONE_ID,
    ConfigModel,
    Platform,
    scope,
    valid_cidrs,
    vpc_network,
)
from llmscale.config.regions import region_problem


class GpuAmiType(StrEnum):
    """EKS-optimised NVIDIA AMIs for managed GPU node groups."""

    AL2023_NVIDIA = "AL2023_x86_64_NVIDIA"
    BOTTLEROCKET_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"


MIN_EKS_ZONES = 2


class EksConfig(ConfigModel):
    """The EKS cluster llmscale builds on platform aws for the multi-gpu and enterprise tiers."""

    kubernetes_version: Annotated[
        str,
        Field(
            pattern=K8S_VERSION,
            description="The cluster's Kubernetes minor version: one of those llmscale pins a cluster autoscaler "
            "for (llmscale.versions.EKS_RELEASES).",
        ),
    ] = versions.DEFAULT_KUBERNETES_VERSION
    zones: list[Annotated[str, Field(pattern=AZ_NAME)]] = Field(
        default=[],
        description="The availability zones of the cluster's subnets and GPU nodes, at least 2 (3 on enterprise); "
        "empty: the first zoneCount zones, by name, that offer gpu.instanceType, looked up at deploy time.",
    )
    zone_count: Annotated[
        int,
        Field(
            ge=1,
            le=6,
            description="How many zones to span when zones is empty: at least 2 (EKS needs subnets in two zones), "
            "at least 3 on enterprise, where each zone gets its own GPU node group and NAT gateway.",
        ),
    ] = 2
    vpc_cidr: str = Field(
        default="10.60.0.0/16",
        description="The address range of the cluster's VPC, a /16 to /20: each zone gets a public and a large "
        "private subnet (pods take VPC addresses).",
    )
    admin_principal_arns: list[Annotated[str, Field(pattern=IAM_PRINCIPAL_ARN)]] = Field(
        default=[],
        description="IAM roles or users made cluster admins through EKS access entries, besides the principal "
        "that runs `pulumi up`.",
    )
    endpoint_public_access: bool = Field(
        default=True,
        description="Serve the Kubernetes API on a public endpoint, reachable from publicAccessCidrs only. false: "
        "private endpoint only; `pulumi up` and kubectl must then run from a network that reaches the VPC "
        "(privateAccessCidrs, see docs/security.md).",
    )
    public_access_cidrs: list[str] = Field(
        default=[],
        description="IPv4 networks allowed to reach the public Kubernetes API endpoint: the CI runners that run "
        "`pulumi up` and the administrators' networks. Required while endpointPublicAccess is true.",
    )
    public_endpoint_open_to_internet: bool = Field(
        default=False,
        description="The stack intends its Kubernetes API to be reachable from the whole internet (0.0.0.0/0 in "
        "publicAccessCidrs); without it the eks-endpoint-access policy refuses such a stack.",
    )
    private_access_cidrs: list[str] = Field(
        default=[],
        description="IPv4 networks outside the VPC that reach the private endpoint through a VPN, Direct Connect "
        "or peering (for example a CI runner's VPC): allowed to port 443 of the cluster security group.",
    )
    system_instance_type: Annotated[
        str,
        Field(
            pattern=INSTANCE_TYPE,
            description="The EC2 type of the CPU node group that runs the add-ons (CoreDNS, KEDA, Envoy Gateway, "
            "Prometheus, the autoscaler), so they never take a GPU node.",
        ),
    ] = "m7i.large"
    system_nodes: Annotated[
        int,
        Field(ge=1, le=10, description="Nodes of the CPU system group (it may grow by 2 beyond them)."),
    ] = 2
    gpu_ami_type: GpuAmiType = Field(
        default=GpuAmiType.AL2023_NVIDIA,
        description="The EKS-optimised NVIDIA AMI of the GPU nodes: Amazon Linux 2023 or Bottlerocket (which "
        "brings its own device plugin).",
    )
    gpu_disk_gb: Annotated[
        int | None,
        Field(
            ge=50,
            le=16_384,
            description="Root disk of a GPU node in GB; none: gpu.diskGb, else sized for the largest profile's "
            "weights (images plus two copies).",
        ),
    ] = None
    headroom_nodes: Annotated[
        int,
        Field(
            ge=0,
            le=50,
            description="Spare GPU nodes the node groups may grow to beyond every profile at maxReplicas (N+2 on "
            "enterprise), for a failed node or a rollout's surge.",
        ),
    ] = 1
    scale_up_lead_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=240,
            description="Minutes before the active window that the autoscaler's cron floor opens, so GPU nodes "
            "start and models load before users arrive.",
        ),
    ] = 30

    _public_access_cidrs = field_validator("public_access_cidrs", "private_access_cidrs")(valid_cidrs)

    _vpc_cidr = field_validator("vpc_cidr")(
        lambda cidr: vpc_network(cidr, 20, "each zone needs a large private subnet for pods")
    )

    @model_validator(mode="after")
    def _zones_match(self) -> EksConfig:
        if self.zones and len(self.zones) != len(set(self.zones)):
            raise ValueError("zones: names a zone twice")
        # EKS refuses a cluster whose subnets are not in at least two availability zones (EKS User Guide,
        # "VPC and subnet requirements").
        if self.zones and len(self.zones) < MIN_EKS_ZONES:
            raise ValueError(f"zones: EKS needs subnets in at least {MIN_EKS_ZONES} availability zones; name more")
        if not self.zones and self.zone_count < MIN_EKS_ZONES:
            raise ValueError(f"zoneCount: EKS needs subnets in at least {MIN_EKS_ZONES} availability zones")
        return self

    @model_validator(mode="after")
    def _endpoint_access(self) -> EksConfig:
        # The cluster is IPv4: EKS answers on IPv4 for an IPv4 cluster (EKS API VpcConfigRequest,
        # "The endpoint domain name and IP address family depends on the value of the ipFamily"), and the
        # private endpoint's interfaces are in IPv4 subnets.
        for key, cidrs in (("publicAccessCidrs", self.public_access_cidrs),
                           ("privateAccessCidrs", self.private_access_cidrs)):  # fmt: skip
            ipv6 = [str(index) for index, cidr in enumerate(cidrs) if ipaddress.ip_network(cidr).version == 6]
            if ipv6:
                raise ValueError(
                    f"{key}: entry {', '.join(ipv6)} is IPv6; the cluster's API endpoint answers on IPv4 only"
                )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise ValueError("publicAccessCidrs: only used with endpointPublicAccess true; remove it")
        if self.public_endpoint_open_to_internet and not self.open_to_internet:
            raise ValueError("publicEndpointOpenToInternet: publicAccessCidrs has no 0.0.0.0/0; remove it")
        return self

    @property
    def open_to_internet(self) -> bool:
        """True when the public API endpoint accepts the whole internet."""
        return self.endpoint_public_access and any(
            ipaddress.ip_network(cidr).prefixlen == 0 for cidr in self.public_access_cidrs
        )

    @property
    def zone_total(self) -> int:
        """Zones the cluster spans: the listed ones, else `zoneCount`."""
        return len(self.zones) or self.zone_count


class FailoverConfig(ConfigModel):
    """DNS failover: the public name clients use, and the standby it fails over to.

    The standby is either built by this stack in `standbyRegion` (enterprise on aws: a warm copy with a smaller
    minimum), or an endpoint that exists elsewhere (`standbyEndpoint`: another stack's output, an on-prem
    facility), given as a host name or an IPv4 address. On platform kubernetes the primary's own public address
    is not built here either: `primaryEndpoint` names it (the address the cluster's gateway answers on).
    """

    hosted_zone_id: Annotated[
        str,
        Field(
            pattern=ZONE_ID,
            description="The public Route 53 hosted zone that holds recordName (a private zone would answer only "
            "inside its VPCs).",
        ),
    ]
    record_name: Annotated[
        str,
        Field(
            pattern=DOMAIN,
            description="The name clients use: PRIMARY and SECONDARY failover records, each behind a Route 53 health "
            "check on /health. On platform aws the load balancers' certificates are issued for it.",
        ),
    ]
    standby_region: str | None = Field(
        default=None,
        description="The AWS region where this stack builds a warm standby: the same cluster with "
        "standbyMinReplicas per profile and a replica of the model store. Give it or standbyEndpoint.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    standby_endpoint: Annotated[
        str | None,
        Field(
            pattern=ENDPOINT,
            description="A standby that exists elsewhere (another stack's load balancer, a facility), as a public "
            "host name or IPv4 address. Give it or standbyRegion.",
        ),
    ] = None
    primary_endpoint: Annotated[
        str | None,
        Field(
            pattern=ENDPOINT,
            description="The public host name or IPv4 address the existing cluster's gateway answers on, which the "
            "primary health check probes; required on platform kubernetes.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    standby_min_replicas: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Replicas each profile keeps in the standby region (capped at its maxReplicas) while the "
            "primary serves; the autoscaler grows them after a failover.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = 1

    @field_validator("standby_region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        problem = None if region is None else region_problem(region)
        if problem:
            raise ValueError(problem)
        return region

    @model_validator(mode="after")
    def _one_standby(self) -> FailoverConfig:
        if (self.standby_region is None) == (self.standby_endpoint is None):
            raise ValueError("standbyRegion: give exactly one of standbyRegion (built here) or standbyEndpoint")
        return self
