"""An IAM role that one Kubernetes service account assumes through EKS Pod Identity."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.eks import pod_identity_trust_policy


def pod_identity_role(
    names: tuple[str, str, str],
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    description: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.eks.PodIdentityAssociation:
    """Role, inline policy and association (named by `names`) granting `policy` to pods of one service account.

    Pods get the credentials only when they start after the association exists: make them depend on the result.
    """
    role_name, policy_name, association_name = names
    role = aws.iam.Role(
        role_name, assume_role_policy=pod_identity_trust_policy(), description=description, tags=tags, opts=opts
    )
    aws.iam.RolePolicy(policy_name, role=role.id, policy=policy, opts=opts)
    return aws.eks.PodIdentityAssociation(
        association_name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=tags,
        opts=opts,
    )
