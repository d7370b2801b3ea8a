"""Preflight: will `pulumi up` of this stack succeed in this AWS account and region?

`pulumi up` finds out about a missing GPU offering, a vCPU quota of 0 or a hosted zone in another account only
after it has created half the stack. These checks ask the account first, read-only, and answer each question
with pass, fail or unknown (the API could not answer: say why and how to check by hand), never a traceback.

The checks take boto3 clients as arguments, so tests hand them clients pointed at a local moto server and the
command builds them for the stack's region (optionally with `--endpoint-url`). Errors that make every answer
meaningless (no credentials, rejected credentials, no endpoint) raise PreflightError with one line to show.
"""

from __future__ import annotations

from llmscale.aws.preflight.checks import AwsClients, failed, run_checks, run_stack_checks, stack_kubernetes_version
from llmscale.aws.preflight.eks_version import (
    EKS_CALENDAR,
    EKS_CALENDAR_AS_OF,
    MINOR_VERSION,
    EksVersion,
    check_kubernetes_version,
)
from llmscale.aws.preflight.placement import check_instance_type_offered, check_region, offered_zones
from llmscale.aws.preflight.quota import (
    G_AND_VT_QUOTA,
    P_QUOTA,
    GpuDemand,
    VcpuQuota,
    check_vcpu_quota,
    gpu_demand,
    vcpu_quota_for,
)
from llmscale.aws.preflight.results import (
    AUTH_ERROR_CODES,
    CHECK_FAILOVER_ZONE,
    CHECK_HOSTED_ZONE,
    CHECK_KUBERNETES,
    CHECK_OFFERING,
    CHECK_QUOTA,
    CHECK_REGION,
    CREDENTIAL_ERRORS,
    CREDENTIALS_HINT,
    CheckResult,
    Client,
    PreflightError,
    Status,
    error_code,
)
from llmscale.aws.preflight.zones import check_failover_zone, check_hosted_zone

__all__ = [
    "AUTH_ERROR_CODES",
    "CHECK_FAILOVER_ZONE",
    "CHECK_HOSTED_ZONE",
    "CHECK_KUBERNETES",
    "CHECK_OFFERING",
    "CHECK_QUOTA",
    "CHECK_REGION",
    "CREDENTIALS_HINT",
    "CREDENTIAL_ERRORS",
    "EKS_CALENDAR",
    "EKS_CALENDAR_AS_OF",
    "G_AND_VT_QUOTA",
    "MINOR_VERSION",
    "P_QUOTA",
    "AwsClients",
    "CheckResult",
    "Client",
    "EksVersion",
    "GpuDemand",
    "PreflightError",
    "Status",
    "VcpuQuota",
    "check_failover_zone",
    "check_hosted_zone",
    "check_instance_type_offered",
    "check_kubernetes_version",
    "check_region",
    "check_vcpu_quota",
    "error_code",
    "failed",
    "gpu_demand",
    "offered_zones",
    "run_checks",
    "run_stack_checks",
    "stack_kubernetes_version",
    "vcpu_quota_for",
]
