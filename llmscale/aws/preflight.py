"""Preflight: will `pulumi up` of this stack succeed in this AWS account and region?

`pulumi up` finds out about a missing GPU offering, a vCPU quota of 0 or a hosted zone in another account only
after it has created half the stack. These checks ask the account first, read-only, and answer each question
with pass, fail or unknown (the API could not answer: say why and how to check by hand), never a traceback.

The checks take boto3 clients as arguments, so tests hand them clients pointed at a local moto server and the
command builds them for the stack's region (optionally with `--endpoint-url`). Errors that make every answer
meaningless (no credentials, rejected credentials, no endpoint) raise PreflightError with one line to show.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from llmscale import versions
from llmscale.config.models import Platform, StackConfig, Tier
from llmscale.config.regions import region_problem
from llmscale.sizing import catalog

# boto3 clients are generated at run time; without stub packages they are plain objects to the type checker.
Client = Any


class Status(StrEnum):
    """The answer of one check: pass, fail, or unknown when the account could not be asked."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    """One preflight answer: a stable check name, its status, a one-line detail saying what was found, and the
    region it was asked in (None for global answers such as a hosted zone)."""

    name: str
    status: Status
    detail: str
    region: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The result as the `--json` document lists it."""
        return {"name": self.name, "status": str(self.status), "detail": self.detail, "region": self.region}


class PreflightError(Exception):
    """The account cannot be asked at all (no or rejected credentials, unreachable endpoint).

    The message is one line for the user; it never contains a credential.
    """


CHECK_REGION = "region"
CHECK_OFFERING = "instance-type-offered"
CHECK_QUOTA = "gpu-vcpu-quota"
CHECK_HOSTED_ZONE = "hosted-zone"
CHECK_KUBERNETES = "kubernetes-version"
CHECK_FAILOVER_ZONE = "failover-hosted-zone"


# --- errors -------------------------------------------------------------------------------------------------

# Client errors that mean "these credentials are not accepted", whichever service answers.
AUTH_ERROR_CODES = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "RequestExpired",
    }
)
CREDENTIAL_ERRORS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)
CREDENTIALS_HINT = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`, then retry"
)


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError (`AccessDeniedException`), or the HTTP status when there is none."""
    return str(
        error.response.get("Error", {}).get("Code")
        or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "unknown")
    )


def _operation(error: ClientError) -> str:
    return getattr(error, "operation_name", "") or "the call"


def _abort_if_unusable(error: Exception, unreachable_is_fatal: bool = True) -> None:
    """Raise PreflightError for errors after which no check can be answered; return for the rest.

    An unreachable endpoint is fatal unless the caller can live without that one service (Service Quotas has
    its own endpoint, which a locked-down network may not reach). Only error codes and class names are used:
    AWS error messages can carry ARNs and account ids.
    """
    if isinstance(error, CREDENTIAL_ERRORS):
        raise PreflightError(f"no usable AWS credentials ({type(error).__name__}): {CREDENTIALS_HINT}") from None
    if isinstance(error, ClientError) and error_code(error) in AUTH_ERROR_CODES:
        raise PreflightError(
            f"AWS rejected the credentials ({error_code(error)} from {_operation(error)}): {CREDENTIALS_HINT}"
        ) from None
    if unreachable_is_fatal and isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        raise PreflightError(
            f"cannot reach {endpoint}: check the region name (aws:region), --endpoint-url and the network"
        ) from None


def _api_unknown(name: str, error: Exception, manual: str) -> CheckResult:
    """An unknown result for an API call that failed: which call, why in AWS's words (the code), how to check."""
    if isinstance(error, ClientError):
        code = error_code(error)
        why = {
            "AccessDenied": "the credentials may not make this call",
            "AccessDeniedException": "the credentials may not make this call",
            "UnauthorizedOperation": "the credentials may not make this call",
            "NoSuchResourceException": "the service has no answer for this quota in this region or endpoint",
            "404": "the endpoint does not implement this call",
            "500": "the endpoint failed on this call",
        }.get(code, "the call failed")
        reason = f"{_operation(error)} failed with {code} ({why})"
    elif isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        reason = f"the endpoint cannot be reached ({type(error).__name__})"
    else:
        reason = f"the endpoint's answer could not be read ({type(error).__name__})"
    return CheckResult(name, Status.UNKNOWN, f"{reason}; check by hand: {manual}")


def _guarded(name: str, manual: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; an API failure it did not handle itself becomes unknown, credential failures abort."""
    try:
        return check()
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        _abort_if_unusable(error)
        return _api_unknown(name, error, manual)


# --- region -----------------------------------------------------------------------------------------------


def check_region(ec2: Client, region: str) -> CheckResult:
    """The stack's region exists and is enabled for this account (opt-in regions must be enabled first).

    A name pulumi-aws does not know fails without asking AWS: no account can deploy there.
    """
    unknown = region_problem(region)
    if unknown:
        return CheckResult(CHECK_REGION, Status.FAIL, f"{region} {unknown}")
    try:
        regions = ec2.describe_regions(AllRegions=True)["Regions"]
    except ClientError as error:
        if error_code(error) == "OptInRequired":
            return CheckResult(CHECK_REGION, Status.FAIL, _not_enabled(region))
        raise
    by_name = {entry["RegionName"]: entry for entry in regions}
    entry = by_name.get(region)
    if entry is None:
        close = difflib.get_close_matches(region, sorted(by_name), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return CheckResult(
            CHECK_REGION, Status.FAIL, f"{region} is not a region this account's EC2 knows (aws:region){hint}"
        )
    opt_in = entry.get("OptInStatus", "opt-in-not-required")
    if opt_in == "not-opted-in":
        return CheckResult(CHECK_REGION, Status.FAIL, _not_enabled(region))
    return CheckResult(CHECK_REGION, Status.PASS, f"{region} is enabled for this account ({opt_in})")


def _not_enabled(region: str) -> str:
    return (
        f"{region} is an opt-in region that this account has not enabled; enable it under Account → AWS Regions "
        f"(or `aws account enable-region --region-name {region}`) and wait until it is ENABLED"
    )


# --- instance type offerings ---------------------------------------------------------------------------------


def offered_zones(ec2: Client, instance_type: str) -> list[str]:
    """The availability zones of the client's region that offer an instance type, sorted."""
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    zones: set[str] = set()
    for page in paginator.paginate(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}],
    ):
        zones.update(offer["Location"] for offer in page.get("InstanceTypeOfferings", []))
    return sorted(zones)


def _configured_zones(ec2: Client, config: StackConfig) -> tuple[list[str], str]:
    """The zones the stack pins its GPU nodes to, and where that comes from; empty when it lets AWS choose.

    Only the single host pins a zone today: host.availabilityZone, or the zone of host.subnetId.
    """
    if config.tier is not Tier.SINGLE_GPU:
        return [], ""
    if config.host.availability_zone is not None:
        return [config.host.availability_zone], "host.availabilityZone"
    if config.host.subnet_id is not None:
        subnets = ec2.describe_subnets(SubnetIds=[config.host.subnet_id])["Subnets"]
        return [subnets[0]["AvailabilityZone"]], f"the zone of host.subnetId {config.host.subnet_id}"
    return [], ""


def check_instance_type_offered(ec2: Client, config: StackConfig, region: str) -> CheckResult:
    """The stack's GPU instance type is offered in the region, and in every zone the stack pins it to.

    Not every GPU type is offered in every zone: a pinned zone without the offering fails `pulumi up` at
    instance creation, after the network is built.
    """
    instance_type = config.gpu.instance_type
    try:
        zones, source = _configured_zones(ec2, config)
    except ClientError as error:
        if error_code(error) == "InvalidSubnetID.NotFound":
            return CheckResult(
                CHECK_OFFERING,
                Status.FAIL,
                f"host.subnetId {config.host.subnet_id} does not exist in {region}, so its zone is unknown",
            )
        raise
    offering = offered_zones(ec2, instance_type)
    if not offering:
        return CheckResult(
            CHECK_OFFERING,
            Status.FAIL,
            f"{instance_type} is not offered in any zone of {region}; choose another region or gpu.instanceType",
        )
    listed = ", ".join(offering)
    if zones:
        missing = [zone for zone in zones if zone not in offering]
        if missing:
            return CheckResult(
                CHECK_OFFERING,
                Status.FAIL,
                f"{instance_type} is not offered in {', '.join(missing)} ({source}); it is offered in {listed}",
            )
        return CheckResult(CHECK_OFFERING, Status.PASS, f"{instance_type} is offered in {', '.join(zones)} ({source})")
    if config.tier is Tier.SINGLE_GPU:
        note = f"; no zone is pinned, so the host goes to {offering[0]}"
    else:
        note = "; GPU nodes can be placed in any of them"
    return CheckResult(CHECK_OFFERING, Status.PASS, f"{instance_type} is offered in {listed}{note}")


# --- vCPU quota -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VcpuQuota:
    """An EC2 on-demand vCPU quota that GPU instances count against (Service Quotas, service code `ec2`)."""

    code: str
    name: str


# Quota codes from the Service Quotas console (service ec2); the names are what the console and the API show.
G_AND_VT_QUOTA = VcpuQuota("L-DB2E81BA", "Running On-Demand G and VT instances")
P_QUOTA = VcpuQuota("L-417A185B", "Running On-Demand P instances")


def vcpu_quota_for(instance_type: str) -> VcpuQuota | None:
    """The on-demand vCPU quota an instance type counts against: G/VT or P families; None for any other."""
    family = instance_type.split(".", 1)[0]
    if family.startswith(("g", "vt")):
        return G_AND_VT_QUOTA
    if family.startswith("p"):
        return P_QUOTA
    return None


@dataclass(frozen=True)
class GpuDemand:
    """The most GPU capacity the stack can ask for at once: GPUs, nodes, and the vCPUs the quota counts."""

    max_gpus: int
    gpus_per_node: int
    instances: int
    vcpus_per_instance: int | None

    @property
    def vcpus(self) -> int | None:
        """vCPUs of all GPU instances at the maximum, or None when the instance type's vCPUs are unknown."""
        return None if self.vcpus_per_instance is None else self.instances * self.vcpus_per_instance


def gpu_demand(config: StackConfig, vcpus_per_instance: int | None = None) -> GpuDemand:
    """The stack's maximum GPU instances: one host for single-gpu; else every profile at maxReplicas.

    Multi-gpu and enterprise: GPUs = Σ (maxReplicas + canary replicas) × gpusPerReplica over the profiles, and
    instances = ceil(GPUs / GPUs per node). That is the fewest nodes that hold them; replicas that do not pack
    evenly onto nodes can need more. vCPUs per instance come from the catalogue unless given.
    """
    gpus_per_node = config.gpu.gpus
    known = catalog.lookup(config.gpu.instance_type)
    vcpus = vcpus_per_instance if vcpus_per_instance is not None else (known.vcpus if known else None)
    if config.tier is Tier.SINGLE_GPU:
        return GpuDemand(gpus_per_node, gpus_per_node, 1, vcpus)
    max_gpus = sum(
        (profile.max_replicas + (profile.canary.replicas if profile.canary else 0)) * profile.gpus_per_replica
        for profile in config.models
    )
    return GpuDemand(max_gpus, gpus_per_node, math.ceil(max_gpus / gpus_per_node), vcpus)


def _vcpus_from_ec2(ec2: Client, instance_type: str) -> int:
    answer = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    return int(answer[0]["VCpuInfo"]["DefaultVCpus"])


def _quota_manual(quota: VcpuQuota, region: str) -> str:
    return (
        f"`aws service-quotas get-service-quota --service-code ec2 --quota-code {quota.code} --region {region}` "
        f'or the Service Quotas console (EC2, "{quota.name}")'
    )


def check_vcpu_quota(service_quotas: Client, ec2: Client, config: StackConfig, region: str) -> CheckResult:
    """The account's on-demand vCPU quota for the GPU family covers the stack's GPU instances at maximum.

    GPU capacity is quota-bound: a new account often has 0 vCPUs of G/VT or P instances, and `pulumi up` (or
    the autoscaler, hours later) then fails to launch. The quota is per region and shared with every instance
    of the same class already running, which this check does not count.
    """
    instance_type = config.gpu.instance_type
    quota = vcpu_quota_for(instance_type)
    if quota is None:
        return CheckResult(
            CHECK_QUOTA,
            Status.UNKNOWN,
            f"{instance_type} is not a G, VT or P instance, so llmscale does not know its vCPU quota; check by "
            "hand in the Service Quotas console (EC2, Running On-Demand ... instances)",
        )
    manual = _quota_manual(quota, region)
    demand = gpu_demand(config)
    if demand.vcpus_per_instance is None:
        try:
            demand = gpu_demand(config, _vcpus_from_ec2(ec2, instance_type))
        except ClientError as error:
            if error_code(error) != "InvalidInstanceType":
                raise
            return CheckResult(
                CHECK_QUOTA,
                Status.FAIL,
                f"{instance_type} is not an EC2 instance type in {region}, so no quota can cover it",
            )
    needed = demand.vcpus
    assert needed is not None  # vCPUs per instance are known from the catalogue or from EC2 by now
    try:
        answer = service_quotas.get_service_quota(ServiceCode="ec2", QuotaCode=quota.code)["Quota"]
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        _abort_if_unusable(error, unreachable_is_fatal=False)
        return _api_unknown(CHECK_QUOTA, error, f"{manual}; the stack needs {needed} vCPUs")
    value = answer.get("Value")
    if value is None or answer.get("ErrorReason"):
        reason = answer.get("ErrorReason", {}).get("ErrorCode", "no value")
        return CheckResult(
            CHECK_QUOTA,
            Status.UNKNOWN,
            f'Service Quotas returned no value for "{quota.name}" ({reason}); check by hand: {manual}; '
            f"the stack needs {needed} vCPUs",
        )
    limit = float(value)
    shown = f"{limit:g}"
    sizing = f"{demand.instances} × {instance_type} at {demand.vcpus_per_instance} vCPUs" + (
        f" for up to {demand.max_gpus} GPUs" if config.tier is not Tier.SINGLE_GPU else ""
    )
    if needed <= limit:
        return CheckResult(
            CHECK_QUOTA,
            Status.PASS,
            f'needs {needed} vCPUs ({sizing}); "{quota.name}" ({quota.code}) is {shown} in {region}, shared '
            "with instances of that class already running",
        )
    return CheckResult(
        CHECK_QUOTA,
        Status.FAIL,
        f'needs {needed} vCPUs ({sizing}) but "{quota.name}" ({quota.code}) is {shown} in {region}; request '
        f"more: `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {quota.code} "
        f"--desired-value {needed} --region {region}`",
    )


# --- hosted zone ----------------------------------------------------------------------------------------------


def check_hosted_zone(route53: Client, config: StackConfig) -> CheckResult | None:
    """The hosted zone of the host's DNS record exists and its name is a suffix of host.domain.

    None when the stack manages no DNS record (no host.hostedZoneId). Pulumi would otherwise fail on the
    record after the instance is up, or create a record in a zone that does not serve the domain.
    """
    zone_id = config.host.hosted_zone_id
    domain = config.host.domain
    if zone_id is None or domain is None:
        return None
    try:
        zone = route53.get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as error:
        if error_code(error) in ("NoSuchHostedZone", "InvalidInput"):
            return CheckResult(
                CHECK_HOSTED_ZONE,
                Status.FAIL,
                f"hosted zone {zone_id} (host.hostedZoneId) does not exist in this account; create it or fix the id",
            )
        raise
    zone_name = str(zone["Name"]).rstrip(".").lower()
    fqdn = domain.rstrip(".").lower()
    if fqdn != zone_name and not fqdn.endswith("." + zone_name):
        return CheckResult(
            CHECK_HOSTED_ZONE,
            Status.FAIL,
            f"hosted zone {zone_id} is for {zone_name}, which cannot hold a record for {fqdn} (host.domain)",
        )
    private = (
        " (a private zone: the name resolves only inside its VPCs)" if zone.get("Config", {}).get("PrivateZone") else ""
    )
    return CheckResult(CHECK_HOSTED_ZONE, Status.PASS, f"hosted zone {zone_id} ({zone_name}) can hold {fqdn}{private}")


# --- Kubernetes version ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EksVersion:
    """One EKS Kubernetes minor version's support window."""

    version: str
    end_of_standard_support: date
    end_of_extended_support: date


# Built-in EKS release calendar, used when the EKS API cannot answer describe_cluster_versions (an endpoint
# without it, such as moto, or credentials without eks:DescribeClusterVersions): llmscale.versions.EKS_SUPPORT.
EKS_CALENDAR_AS_OF = versions.EKS_CALENDAR_AS_OF
EKS_CALENDAR: tuple[EksVersion, ...] = tuple(
    EksVersion(version, standard, extended) for version, (standard, extended) in versions.EKS_SUPPORT.items()
)
MINOR_VERSION = re.compile(r"^1\.(\d{1,3})$")


def _minor(version: str) -> int:
    match = MINOR_VERSION.match(version)
    assert match is not None
    return int(match.group(1))


def _version_from_api(eks: Client, version: str) -> CheckResult:
    answer = eks.describe_cluster_versions(clusterVersions=[version], includeAll=True)
    entries = [entry for entry in answer.get("clusterVersions", []) if entry.get("clusterVersion") == version]
    if not entries:
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"EKS does not offer Kubernetes {version}")
    entry = entries[0]
    status = str(entry.get("versionStatus") or entry.get("status") or "").upper().replace("-", "_")
    if status == "STANDARD_SUPPORT":
        until = entry.get("endOfStandardSupportDate")
        suffix = f" until {until:%Y-%m-%d}" if isinstance(until, date) else ""
        return CheckResult(CHECK_KUBERNETES, Status.PASS, f"Kubernetes {version} is in EKS standard support{suffix}")
    if status == "EXTENDED_SUPPORT":
        until = entry.get("endOfExtendedSupportDate")
        suffix = f" until {until:%Y-%m-%d}" if isinstance(until, date) else ""
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS extended support{suffix}, at a higher hourly price per cluster; "
            "plan an upgrade",
        )
    if status == "UNSUPPORTED":
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"Kubernetes {version} is no longer supported by EKS")
    return CheckResult(
        CHECK_KUBERNETES,
        Status.UNKNOWN,
        f"EKS reported Kubernetes {version} as {status or 'no status'}; check `aws eks describe-cluster-versions`",
    )


def _version_from_calendar(version: str, today: date, why: str) -> CheckResult:
    source = f"llmscale's built-in EKS calendar as of {EKS_CALENDAR_AS_OF} ({why})"
    known = {entry.version: entry for entry in EKS_CALENDAR}
    entry = known.get(version)
    if entry is None:
        if _minor(version) < _minor(EKS_CALENDAR[0].version):
            return CheckResult(
                CHECK_KUBERNETES, Status.FAIL, f"Kubernetes {version} is past EKS extended support; {source}"
            )
        return CheckResult(
            CHECK_KUBERNETES,
            Status.UNKNOWN,
            f"Kubernetes {version} is newer than {source}; check `aws eks describe-cluster-versions "
            f"--cluster-versions {version}`",
        )
    if today <= entry.end_of_standard_support:
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS standard support until {entry.end_of_standard_support}; {source}",
        )
    if today <= entry.end_of_extended_support:
        return CheckResult(
            CHECK_KUBERNETES,
            Status.PASS,
            f"Kubernetes {version} is in EKS extended support until {entry.end_of_extended_support}, at a higher "
            f"hourly price per cluster; {source}",
        )
    return CheckResult(
        CHECK_KUBERNETES,
        Status.FAIL,
        f"Kubernetes {version} left EKS extended support on {entry.end_of_extended_support}; {source}",
    )


def check_kubernetes_version(version: str, eks: Client, today: date | None = None) -> CheckResult:
    """EKS supports the Kubernetes minor version (`1.33`) the stack asks for.

    Asks `eks describe_cluster_versions`; when the API cannot answer (moto, an old endpoint, missing
    permission), falls back to the built-in calendar and says so in the detail. Extended support passes with a
    note about its price; unsupported versions fail.
    """
    if not MINOR_VERSION.match(version):
        return CheckResult(CHECK_KUBERNETES, Status.FAIL, f"{version!r} is not a Kubernetes minor version such as 1.33")
    try:
        return _version_from_api(eks, version)
    except (ClientError, BotoCoreError, ResponseParserError) as error:
        _abort_if_unusable(error)
        code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
        why = f"the EKS API did not answer: {code}"
        return _version_from_calendar(version, today or date.today(), why)


# --- all checks -----------------------------------------------------------------------------------------------


def check_failover_zone(route53: Client, config: StackConfig) -> CheckResult | None:
    """The failover hosted zone exists in this account, is public, and can hold `failover.recordName`.

    None without DNS failover. The failover records, their health checks and (on aws) the certificate's
    validation record go into this zone; a private zone answers only inside its VPCs, so clients on the
    internet would never resolve the failover name.
    """
    failover = config.failover
    if failover is None:
        return None
    zone_id = failover.hosted_zone_id
    try:
        zone = route53.get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as error:
        if error_code(error) in ("NoSuchHostedZone", "InvalidInput"):
            return CheckResult(
                CHECK_FAILOVER_ZONE,
                Status.FAIL,
                f"hosted zone {zone_id} (failover.hostedZoneId) does not exist in this account; create it or fix "
                "the id",
            )
        raise
    zone_name = str(zone["Name"]).rstrip(".").lower()
    fqdn = failover.record_name.rstrip(".").lower()
    if fqdn != zone_name and not fqdn.endswith("." + zone_name):
        return CheckResult(
            CHECK_FAILOVER_ZONE,
            Status.FAIL,
            f"hosted zone {zone_id} is for {zone_name}, which cannot hold {fqdn} (failover.recordName)",
        )
    if zone.get("Config", {}).get("PrivateZone"):
        return CheckResult(
            CHECK_FAILOVER_ZONE,
            Status.FAIL,
            f"hosted zone {zone_id} ({zone_name}) is private: it answers only inside its VPCs, so clients on the "
            f"internet would not resolve {fqdn}; use a public zone",
        )
    return CheckResult(
        CHECK_FAILOVER_ZONE,
        Status.PASS,
        f"public hosted zone {zone_id} ({zone_name}) can hold the failover name {fqdn}",
    )


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients preflight asks, all for the stack's region (Route 53 is global)."""

    ec2: Client
    service_quotas: Client
    route53: Client
    eks: Client | None = None


def run_checks(
    config: StackConfig,
    region: str,
    clients: AwsClients,
    kubernetes_version: str | None = None,
    *,
    dns: bool = True,
) -> list[CheckResult]:
    """Every check that applies to the stack, region first; the rest are unknown when the region fails.

    Only platform aws has an account to check. The hosted zone is checked when the stack manages a DNS
    record, the Kubernetes version when one is given (and an EKS client with it). Raises PreflightError when
    the account cannot be asked at all.
    """
    if config.platform is not Platform.AWS:
        raise ValueError(f"preflight checks AWS accounts; platform {config.platform} has nothing to check")
    region_result = _guarded(
        CHECK_REGION,
        f"`aws ec2 describe-regions --all-regions --region {region}`",
        lambda: check_region(clients.ec2, region),
    )
    planned: list[tuple[str, str, Callable[[], CheckResult]]] = [
        (
            CHECK_OFFERING,
            f"`aws ec2 describe-instance-type-offerings --location-type availability-zone --filters "
            f"Name=instance-type,Values={config.gpu.instance_type} --region {region}`",
            lambda: check_instance_type_offered(clients.ec2, config, region),
        ),
        (
            CHECK_QUOTA,
            "the Service Quotas console (EC2)",
            lambda: check_vcpu_quota(clients.service_quotas, clients.ec2, config, region),
        ),
    ]
    if dns and config.host.hosted_zone_id is not None:
        planned.append(
            (
                CHECK_HOSTED_ZONE,
                f"`aws route53 get-hosted-zone --id {config.host.hosted_zone_id}`",
                lambda: _required(check_hosted_zone(clients.route53, config)),
            )
        )
    if kubernetes_version is not None and clients.eks is not None:
        eks = clients.eks
        planned.append(
            (
                CHECK_KUBERNETES,
                "`aws eks describe-cluster-versions`",
                lambda: check_kubernetes_version(kubernetes_version, eks),
            )
        )
    results = [region_result]
    for name, manual, check in planned:
        if region_result.status is Status.FAIL:
            results.append(CheckResult(name, Status.UNKNOWN, f"not checked: region {region} failed its check"))
        else:
            results.append(_guarded(name, manual, check))
    return results


def stack_kubernetes_version(config: StackConfig) -> str | None:
    """The EKS version a stack asks for: multi-gpu and enterprise on aws build an EKS cluster; others none."""
    if config.platform is Platform.AWS and config.tier is not Tier.SINGLE_GPU:
        return config.eks.kubernetes_version
    return None


def run_stack_checks(config: StackConfig, region: str, clients_for: Callable[[str], AwsClients]) -> list[CheckResult]:
    """Every check the stack needs: its region's, its standby region's (enterprise), and its DNS zones'.

    `clients_for(region)` gives the boto3 clients of one region. Each region gets the region, offering, quota
    and (with an EKS cluster) Kubernetes version checks; the failover hosted zone is checked once. Raises
    PreflightError when the account cannot be asked at all.
    """
    version = stack_kubernetes_version(config)
    primary = clients_for(region)
    results = [replace(r, region=region) for r in run_checks(config, region, primary, version)]
    failover = config.failover
    if failover is not None and failover.standby_region is not None:
        standby = failover.standby_region
        results += [
            replace(r, region=standby) for r in run_checks(config, standby, clients_for(standby), version, dns=False)
        ]
    if failover is not None:
        results.append(
            _guarded(
                CHECK_FAILOVER_ZONE,
                f"`aws route53 get-hosted-zone --id {failover.hosted_zone_id}`",
                lambda: _required(check_failover_zone(primary.route53, config)),
            )
        )
    return results


def _required(result: CheckResult | None) -> CheckResult:
    # check_hosted_zone returns None only without a zone id, and run_checks plans it only with one.
    assert result is not None
    return result


def failed(results: Sequence[CheckResult]) -> bool:
    """True when any check failed: `llmscale preflight` then exits 1 (unknown does not fail)."""
    return any(result.status is Status.FAIL for result in results)
