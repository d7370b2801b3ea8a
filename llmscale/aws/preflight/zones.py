"""Route 53: the stack's hosted zone and its failover zone exist in this account and can hold their names."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
)

from llmscale.aws.preflight.results import (
    CHECK_FAILOVER_ZONE,
    CHECK_HOSTED_ZONE,
    CheckResult,
    Client,
    Status,
    error_code,
)
from llmscale.config.models import AwsStackConfig


def check_hosted_zone(route53: Client, config: AwsStackConfig) -> CheckResult | None:
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


def check_failover_zone(route53: Client, config: AwsStackConfig) -> CheckResult | None:
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
