"""IAM policy documents as pure functions: least privilege, each statement scoped to named resources."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
POLICY_VERSION = "2012-10-17"


def policy_document(statements: list[dict[str, Any]]) -> str:
    """An IAM policy document (identity, trust or resource policy) of these statements, as IAM wants its JSON."""
    return json.dumps({"Version": POLICY_VERSION, "Statement": statements})


ACCOUNT_ID = re.compile(r"^\d{12}$")


def assume_role_policy(service: str, *, source_account: str | None = None, source_arn: str | None = None) -> str:
    """Trust policy letting one AWS service principal assume the role.

    With `source_account` and `source_arn` the service may assume the role only on behalf of that resource
    of this account: the confused-deputy protection AWS recommends for service roles (IAM User Guide, "The
    confused deputy problem", cross-service prevention with the aws:SourceArn and aws:SourceAccount global
    condition keys; both, since an S3 bucket's ARN carries no account).
    """
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if (source_account is None) != (source_arn is None):
        raise ValueError("give both source_account and source_arn, or neither")
    if source_account is not None and source_arn is not None:
        if not ACCOUNT_ID.match(source_account):
            raise ValueError(f"source account {source_account!r} is not a 12-digit AWS account id")
        if not source_arn.startswith("arn:"):
            raise ValueError(f"source ARN {source_arn!r} is not an ARN")
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": source_account},
            "ArnEquals": {"aws:SourceArn": source_arn},
        }
    return policy_document([statement])


# The default EventBridge Scheduler schedule group: the aws:SourceArn Scheduler presents when it assumes the
# execution role of a schedule in that group (EventBridge Scheduler User Guide, "Set up the execution role").
SCHEDULE_GROUP_ARN = "arn:aws:scheduler:{region}:{account}:schedule-group/default"


def read_parameters_policy(parameter_arns: Sequence[str]) -> str:
    """Allow reading (and decrypting, through the AWS-managed SSM key) exactly these SSM parameters."""
    return policy_document([{"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": sorted(parameter_arns)}])


def start_stop_instance_policy(instance_arn: str) -> str:
    """Allow starting and stopping one instance, for the night schedule."""
    return policy_document(
        [{"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": instance_arn}]
    )


def restart_instance_automation_policy(instance_arn: str, automation_definition_arn: str) -> str:
    """Allow running the AWS-RestartEC2Instance automation on one instance (stop then start on new hardware).

    Describe calls cannot be scoped to a resource in IAM, so that one statement names no ARN.
    """
    return policy_document(
        [
            {"Effect": "Allow", "Action": "ssm:StartAutomationExecution", "Resource": automation_definition_arn},
            {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": instance_arn},
            {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], "Resource": "*"},
        ]
    )


def read_bundle_policy(bucket_arn: str, bundle_prefix: str, parameter_arns: Sequence[str]) -> str:
    """What llmscale-sync needs to follow the bundle: the bundle's objects, and `ssm:GetParameters` on every
    parameter it reads (the manifest, the location, and the secrets, whose versions only it compares: without
    decryption a SecureString's value stays encrypted, so this grants no kms:Decrypt)."""
    return policy_document(
        [
            {"Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": sorted(parameter_arns)},
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket_arn}/{bundle_prefix}/*"},
        ]
    )
