"""The VPC of a stack, decided by pure functions: address plan, zones, NAT placement and the subnet tags
EKS and its load-balancer controller look for.

The Network component (components/aws/network.py) turns these values into resources.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MIN_VPC_PREFIX = 16  # AWS does not allow a larger VPC
MAX_VPC_PREFIX = 20  # below this, per-zone private subnets get too small for pod IPs (VPC CNI)
MAX_ZONES = 6  # the most availability zones any AWS region has
ZONE_BLOCKS = 8  # the VPC is cut into 8 equal blocks: 6 for private subnets, 1 spare, 1 for the public ones
PUBLIC_PREFIX_LIMIT = 26  # public subnets hold load balancers and NAT gateways: at least a /26 each

ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")

SubnetTier = Literal["public", "private"]


@dataclass(frozen=True)
class ZoneSubnets:
    """The two subnets of one availability zone: private (nodes and pods) and public (load balancers, NAT)."""

    zone_index: int
    private_cidr: str
    public_cidr: str


def subnet_plan(vpc_cidr: str, zone_count: int) -> list[ZoneSubnets]:
    """Cut a VPC into one private and one public subnet per zone, all disjoint and inside the VPC.

    The VPC (a /16 to a /20) is split into eight equal blocks. Zone i's private subnet is block i (a /19 in a
    /16: the VPC CNI gives every pod a VPC address, so private subnets get the room); the last block is cut
    into public subnets (a /24 in a /16, never smaller than a /26) that only hold load balancers and NAT
    gateways. Block 6 stays free for later use (e.g. intra subnets). Fixed positions keep a zone's subnets
    stable when zones are added.
    """
    try:
        network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as error:
        raise ValueError(f"VPC CIDR {vpc_cidr!r} is not an IPv4 network (e.g. 10.0.0.0/16): {error}") from None
    if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
        raise ValueError(
            f"VPC CIDR {vpc_cidr} is a /{network.prefixlen}; use a /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX} "
            f"(smaller VPCs leave too few pod addresses per zone)"
        )
    if not 1 <= zone_count <= MAX_ZONES:
        raise ValueError(f"zone count {zone_count} must be between 1 and {MAX_ZONES}")
    blocks = list(network.subnets(new_prefix=network.prefixlen + 3))
    public_prefix = min(network.prefixlen + 8, PUBLIC_PREFIX_LIMIT)
    public = list(blocks[ZONE_BLOCKS - 1].subnets(new_prefix=public_prefix))
    return [ZoneSubnets(i, str(blocks[i]), str(public[i])) for i in range(zone_count)]


def select_zones(
    offered: Sequence[str],
    count: int,
    *,
    available: Sequence[str] | None = None,
    instance_type: str | None = None,
) -> list[str]:
    """The first `count` zones by name among `offered` (and `available`, when given), or a clear error.

    Called at deploy time with the zones the region reports: `offered` are the zones offering the GPU instance
    type (or all available zones), `available` the region's standard zones (no Local or Wavelength Zones).
    """
    candidates = set(offered) if available is None else set(offered) & set(available)
    chosen = sorted(candidates)[:count]
    if len(chosen) < count:
        what = f"offering {instance_type}" if instance_type else "available"
        found = ", ".join(sorted(candidates)) or "none"
        raise ValueError(
            f"the region has {len(candidates)} availability zone(s) {what} ({found}), "
            f"{count} are needed: lower the zone count, pick another region or instance type, or name the zones"
        )
    return chosen


def validate_zones(zones: Sequence[str], count: int) -> list[str]:
    """Explicit zones: exactly `count` of them, no duplicates, kept in the given order."""
    zones = list(zones)
    if len(zones) != count:
        raise ValueError(f"{len(zones)} zone(s) given ({', '.join(zones)}) but the zone count is {count}")
    if len(set(zones)) != len(zones):
        raise ValueError(f"zones must be distinct: {', '.join(zones)}")
    return zones


def nat_zone_indexes(zone_count: int, nat_per_zone: bool) -> list[int]:
    """The zones that get a NAT gateway: every zone (no cross-zone dependency), or only the first (cheaper)."""
    return list(range(zone_count)) if nat_per_zone else [0]


def nat_for_zone(zone_index: int, nat_per_zone: bool) -> int:
    """Which NAT gateway (by zone index) the private subnet of a zone routes its internet traffic through."""
    return zone_index if nat_per_zone else 0


def validate_cluster_name(cluster_name: str) -> str:
    """EKS cluster names: letters, digits, `-` and `_`, starting with a letter or digit, at most 100 characters."""
    if not CLUSTER_NAME.match(cluster_name):
        raise ValueError(
            f"cluster name {cluster_name!r} must be 1-100 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return cluster_name


def subnet_tags(tier: SubnetTier, cluster_name: str) -> dict[str, str]:
    """Discovery tags of a subnet.

    Public subnets carry `kubernetes.io/role/elb` (internet-facing load balancers), private ones
    `kubernetes.io/role/internal-elb` (internal load balancers); both carry `kubernetes.io/cluster/<name>:
    shared`. Only private subnets carry `karpenter.sh/discovery`: Karpenter launches nodes in every subnet
    matching its selector, and a node in a public subnet has no public address and no NAT route, so it would
    never join the cluster.
    """
    validate_cluster_name(cluster_name)
    tags = {f"kubernetes.io/cluster/{cluster_name}": "shared"}
    if tier == "public":
        tags[ELB_TAG] = "1"
    elif tier == "private":
        tags[INTERNAL_ELB_TAG] = "1"
        tags[KARPENTER_DISCOVERY_TAG] = cluster_name
    else:
        raise ValueError(f"subnet tier {tier!r} must be 'public' or 'private'")
    return tags


def s3_gateway_service(region: str) -> str:
    """The service name of the S3 gateway endpoint of a region (free; keeps weight downloads off the NAT)."""
    return f"com.amazonaws.{region}.s3"


def host_subnet_cidr(vpc_cidr: str) -> str:
    """The public subnet of the host network: the first /24 of the VPC."""
    return str(next(ipaddress.IPv4Network(vpc_cidr).subnets(new_prefix=24)))
