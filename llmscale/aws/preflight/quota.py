"""The account's On-Demand vCPU quota for the stack's GPU instances, against what the stack starts at its peak."""

from __future__ import annotations

import math
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)
from botocore.parsers import ResponseParserError

from llmscale.aws.preflight.results import (
    CHECK_QUOTA,
    CheckResult,
    Client,
    Status,
    abort_if_unusable,
    api_unknown,
    error_code,
)
from llmscale.config.models import StackConfig, Tier
from llmscale.sizing import catalog


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
        abort_if_unusable(error, unreachable_is_fatal=False)
        return api_unknown(CHECK_QUOTA, error, f"{manual}; the stack needs {needed} vCPUs")
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
