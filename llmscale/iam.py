"""IAM policy documents as pure functions: least privilege, each statement scoped to named resources."""

from __future__ import annotations

import json
from collections.abc import Sequence

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service principal assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def read_parameters_policy(parameter_arns: Sequence[str]) -> str:
    """Allow reading (and decrypting, through the AWS-managed SSM key) exactly these SSM parameters."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": sorted(parameter_arns)}],
        }
    )


def start_stop_instance_policy(instance_arn: str) -> str:
    """Allow starting and stopping one instance, for the night schedule."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": instance_arn}
            ],
        }
    )


def restart_instance_automation_policy(instance_arn: str, automation_definition_arn: str) -> str:
    """Allow running the AWS-RestartEC2Instance automation on one instance (stop then start on new hardware).

    Describe calls cannot be scoped to a resource in IAM, so that one statement names no ARN.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ssm:StartAutomationExecution", "Resource": automation_definition_arn},
                {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": instance_arn},
                {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"], "Resource": "*"},
            ],
        }
    )
