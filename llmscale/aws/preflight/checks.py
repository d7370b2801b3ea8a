"""Every check a stack needs, run with the clients for its regions, and whether any failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from llmscale.aws.preflight.eks_version import check_kubernetes_version
from llmscale.aws.preflight.placement import check_instance_type_offered, check_region
from llmscale.aws.preflight.quota import check_vcpu_quota
from llmscale.aws.preflight.results import (
    CHECK_FAILOVER_ZONE,
    CHECK_HOSTED_ZONE,
    CHECK_KUBERNETES,
    CHECK_OFFERING,
    CHECK_QUOTA,
    CHECK_REGION,
    CheckResult,
    Client,
    Status,
    guarded,
)
from llmscale.aws.preflight.zones import check_failover_zone, check_hosted_zone
from llmscale.config.models import AwsStackConfig, Platform, StackConfig, Tier


@dataclass(frozen=True)
class AwsClients:
    """The boto3 clients preflight asks, all for the stack's region (Route 53 is global)."""

    ec2: Client
    service_quotas: Client
    route53: Client
    eks: Client | None = None


def run_checks(
    config: AwsStackConfig,
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
    region_result = guarded(
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
            results.append(guarded(name, manual, check))
    return results


def stack_kubernetes_version(config: StackConfig) -> str | None:
    """The EKS version a stack asks for: multi-gpu and enterprise on aws build an EKS cluster; others none."""
    if isinstance(config, AwsStackConfig) and config.tier is not Tier.SINGLE_GPU:
        return config.eks.kubernetes_version
    return None


def run_stack_checks(
    config: AwsStackConfig, region: str, clients_for: Callable[[str], AwsClients]
) -> list[CheckResult]:
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
            guarded(
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
