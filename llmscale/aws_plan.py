"""What the AWS platform components build, decided by pure functions: address plans, zones, tags, IAM and bucket
policy documents, DNS failover record layouts.

The components in components/aws/ (Network, ModelStore, DnsFailover) only turn these values into resources, so
every decision here is unit- and property-tested without the Pulumi runtime.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# --- network ---------------------------------------------------------------------------------------------------

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


# --- model store -----------------------------------------------------------------------------------------------

BUCKET_PREFIX_LIMIT = 37  # S3 bucket_prefix maximum (the provider appends a 26-character unique suffix)
POLICY_VERSION = "2012-10-17"


def bucket_prefix(name: str) -> str:
    """A valid S3 bucket name prefix from a component name: lowercase, letters, digits and `-`, ending in `-`."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[: BUCKET_PREFIX_LIMIT - 1].rstrip("-")
    if not cleaned:
        raise ValueError(f"cannot derive an S3 bucket name from {name!r}: use letters or digits")
    if not cleaned[0].isalnum():
        cleaned = f"m{cleaned}"[: BUCKET_PREFIX_LIMIT - 1]
    return f"{cleaned}-"


def _document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": POLICY_VERSION, "Statement": statements})


def objects_arn(bucket_arn: str) -> str:
    """The ARN pattern of every object in a bucket."""
    return f"{bucket_arn}/*"


def tls_only_bucket_policy(bucket_arn: str) -> str:
    """Bucket policy denying every request to the bucket and its objects that does not use TLS."""
    return _document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, objects_arn(bucket_arn)],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


def read_policy_document(bucket_arn: str, kms_key_arn: str | None = None) -> str:
    """Read-only access to one model bucket: list it, get its objects, and decrypt with its key (SSE-KMS).

    What the serving layer attaches to the vLLM pods' role (pod identity / IRSA): vLLM lists the model prefix
    and fetches config, tokenizer and safetensors files from it.
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "ListModelBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects_arn(bucket_arn)},
    ]
    if kms_key_arn:
        statements.append(
            {"Sid": "DecryptModelObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn}
        )
    return _document(statements)


def arn_region(arn: str) -> str:
    """The region field of an ARN (`arn:partition:service:region:account:resource`)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"{arn!r} is not a regional ARN")
    return parts[3]


def _s3_via_service(key_arn: str) -> dict[str, Any]:
    """Limit a KMS grant to requests S3 makes on the caller's behalf in the key's region."""
    return {"StringEquals": {"kms:ViaService": f"s3.{arn_region(key_arn)}.amazonaws.com"}}


def replication_role_policy(
    source_bucket_arn: str,
    replica_bucket_arn: str,
    source_key_arn: str,
    replica_key_arn: str,
) -> str:
    """What S3 replication needs, on these two buckets and keys only (the AWS documented permission set).

    Read the source's replication configuration and object versions, replicate objects, deletes and tags into
    the replica, decrypt with the source key and encrypt with the replica key, each only through S3.
    """
    return _document(
        [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_bucket_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": objects_arn(source_bucket_arn),
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": objects_arn(replica_bucket_arn),
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
                "Condition": _s3_via_service(source_key_arn),
            },
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key_arn,
                "Condition": _s3_via_service(replica_key_arn),
            },
        ]
    )


# --- DNS failover ----------------------------------------------------------------------------------------------

EndpointKind = Literal["hostname", "ip"]
FailoverRole = Literal["PRIMARY", "SECONDARY"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = ("hostname", "ip")
PROTOCOLS = ("HTTP", "HTTPS")
FAILOVER_TTL = 60
HEALTH_CHECK_INTERVAL = 10  # seconds; 10 (fast) or 30 (standard)
HEALTH_CHECK_FAILURES = 3
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")


def _normalise(value: str) -> str:
    return value.strip().lower().rstrip(".")


def endpoint_kind(value: str) -> EndpointKind:
    """`ip` for an IPv4 address, `hostname` for a DNS name; anything else (a URL, IPv6, a port) is an error."""
    text = _normalise(value)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if not HOSTNAME.match(text):
            raise ValueError(
                f"endpoint {value!r} must be a hostname (e.g. abc.elb.eu-west-1.amazonaws.com) or an IPv4 address, "
                "without scheme, port or path"
            ) from None
        return "hostname"
    if address.version != 4:
        raise ValueError(f"endpoint {value!r} is IPv6: only IPv4 addresses (A records) are supported")
    if not address.is_global:
        raise ValueError(f"endpoint {value!r} is not a public address: Route 53 health checkers cannot reach it")
    return "ip"


def check_endpoint(value: str, kind: EndpointKind) -> str:
    """The endpoint, normalised, after checking it is of the declared kind (run at deploy time for Outputs)."""
    actual = endpoint_kind(value)
    if actual != kind:
        raise ValueError(f"endpoint {value!r} was declared a {kind} but is a {actual}")
    return _normalise(value)


def resolve_endpoint_kind(value: object, declared: str | None, label: str) -> EndpointKind:
    """The kind of an endpoint at construction time: inferred from a plain string, else the declared one.

    The record type must be known before the endpoint's value is (another stack's output), so an Output
    endpoint needs an explicit kind; a plain string must agree with the kind declared for it.
    """
    if declared is not None and declared not in ENDPOINT_KINDS:
        raise ValueError(f"{label} kind {declared!r} must be one of {', '.join(ENDPOINT_KINDS)}")
    if isinstance(value, str):
        inferred = endpoint_kind(value)
        if declared is not None and declared != inferred:
            raise ValueError(f"{label} endpoint {value!r} is a {inferred}, but its kind was declared {declared!r}")
        return inferred
    if declared is None:
        raise ValueError(f"{label} endpoint is not a plain string: declare its kind ('hostname' or 'ip')")
    return declared  # type: ignore[return-value]  (checked above)


def validate_record_name(record_name: str) -> str:
    """A fully qualified DNS name for the failover record, normalised (lowercase, no trailing dot)."""
    name = _normalise(record_name)
    if not HOSTNAME.match(name):
        raise ValueError(f"record name {record_name!r} must be a fully qualified DNS name (e.g. llm.example.com)")
    return name


@dataclass(frozen=True)
class FailoverRecord:
    """One failover record: its role, set identifier, type, and (for a mixed pair) the helper A record name."""

    role: FailoverRole
    set_identifier: str
    kind: EndpointKind
    record_type: Literal["A", "CNAME"]
    helper_name: str | None = None

    @property
    def label(self) -> str:
        """`primary` or `secondary`: for resource names and set identifiers."""
        return self.role.lower()


def failover_records(record_name: str, primary: EndpointKind, secondary: EndpointKind) -> list[FailoverRecord]:
    """The PRIMARY and SECONDARY records of one name, which must share a type.

    Two IPs: two A records. Two hostnames: two CNAMEs. A hostname and an IP (an EKS load balancer failing over
    to an on-prem address): both CNAMEs, the IP side pointing at a helper A record `<role>.<record_name>`,
    because Route 53 does not let a CNAME and an A record share a name.
    """
    name = validate_record_name(record_name)
    record_type: Literal["A", "CNAME"] = "A" if primary == secondary == "ip" else "CNAME"
    records = []
    for role, kind in (("PRIMARY", primary), ("SECONDARY", secondary)):
        helper = f"{role.lower()}.{name}" if record_type == "CNAME" and kind == "ip" else None
        records.append(FailoverRecord(role, role.lower(), kind, record_type, helper))  # type: ignore[arg-type]
    return records


def health_check_settings(protocol: str, port: int, health_path: str) -> dict[str, Any]:
    """The settings every failover health check shares: protocol, port, path, fast interval, latency graphs."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"health check protocol {protocol!r} must be one of {', '.join(PROTOCOLS)}")
    if not 1 <= port <= 65535:
        raise ValueError(f"health check port {port} must be between 1 and 65535")
    if not health_path.startswith("/") or any(c.isspace() for c in health_path):
        raise ValueError(f"health check path {health_path!r} must start with '/' and contain no spaces")
    return {
        "type": protocol,
        "port": port,
        "resource_path": health_path,
        "request_interval": HEALTH_CHECK_INTERVAL,
        "failure_threshold": HEALTH_CHECK_FAILURES,
        "measure_latency": True,
    }
