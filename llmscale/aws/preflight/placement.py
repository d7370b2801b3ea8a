"""Where the stack can run: the region is enabled for the account, and the GPU instance type is offered in its zones."""

from __future__ import annotations

import difflib

from botocore.exceptions import (
    ClientError,
)

from llmscale.aws.preflight.results import CHECK_OFFERING, CHECK_REGION, CheckResult, Client, Status, error_code
from llmscale.config.models import AwsStackConfig, Tier
from llmscale.config.regions import region_problem


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


def _configured_zones(ec2: Client, config: AwsStackConfig) -> tuple[list[str], str]:
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


def check_instance_type_offered(ec2: Client, config: AwsStackConfig, region: str) -> CheckResult:
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
