"""Security baseline of the AWS resources a stack builds: instance metadata, the EKS API endpoint and its
secrets encryption, and public access to buckets.

These rules check the resources themselves, so they also catch a change made outside the stack config (an
edited component, a transform, another program built from llmscale's components).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from llmscale.policy.model import Finding, Inventory, Record

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CLUSTER = "aws:eks/cluster:Cluster"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
OPEN_TO_INTERNET_SETTING = "eksPublicEndpointOpenToInternet"


def is_true(value: Any) -> bool:
    """A provider boolean, which some AWS inputs (launch template volumes) carry as the string "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def targets(record: Record, target: Record) -> bool:
    """Whether a bucket-level resource (public access block, encryption) applies to `target`: it takes the
    bucket's id, so it depends on it; or it names a bucket whose name is known."""
    if target.name in record.depends_on:
        return True
    name = target.props.get("bucket")
    return isinstance(name, str) and record.props.get("bucket") == name


def imdsv2_required(inventory: Inventory) -> Iterator[Finding]:
    """Instances and node launch templates serve instance metadata over IMDSv2 only: with IMDSv1 a single
    forged request (an SSRF in anything that fetches URLs for a prompt) reads the instance role's credentials.
    Node groups without a launch template take EKS's defaults, which let pods reach the node role."""
    for record in inventory.of_type(INSTANCE, LAUNCH_TEMPLATE):
        options = record.props.get("metadataOptions")
        if options is not None and not isinstance(options, dict):
            continue  # known after apply
        options = options or {}
        if options.get("httpEndpoint") == "disabled":
            continue
        if options.get("httpTokens") != "required":
            yield Finding(
                "instance metadata answers IMDSv1: set metadataOptions.httpTokens to required", record.name, record.urn
            )
    for group in inventory.of_type(NODE_GROUP):
        if not group.props.get("launchTemplate"):
            yield Finding(
                "node group without a launch template: its instance metadata settings are EKS's defaults "
                "(hop limit 2, so pods can reach the node role)",
                group.name,
                group.urn,
            )


def eks_secrets_encryption(inventory: Inventory) -> Iterator[Finding]:
    """EKS clusters envelope-encrypt Kubernetes Secrets (API keys, the Hugging Face token) with a KMS key the
    stack controls, so that a copy of etcd alone does not reveal them."""
    for cluster in inventory.of_type(CLUSTER):
        config = cluster.props.get("encryptionConfig")
        entries = config if isinstance(config, list) else [config] if isinstance(config, dict) else []
        if not any(
            "secrets" in (entry.get("resources") or []) and (entry.get("provider") or {}).get("keyArn")
            for entry in entries
        ):
            yield Finding(
                "Kubernetes Secrets are not envelope-encrypted with a KMS key (encryptionConfig for secrets)",
                cluster.name,
                cluster.urn,
            )


def s3_public_access_block(inventory: Inventory) -> Iterator[Finding]:
    """Every bucket has a public access block with all four settings on: model weights and data never become
    public through an ACL or a bucket policy."""
    blocks = list(inventory.of_type(PUBLIC_ACCESS_BLOCK))
    for bucket in inventory.of_type(*BUCKETS):
        mine = [block for block in blocks if targets(block, bucket)]
        if not mine:
            yield Finding("bucket without a public access block", bucket.name, bucket.urn)
            continue
        off = sorted({flag for block in mine for flag in PUBLIC_ACCESS_FLAGS if not is_true(block.props.get(flag))})
        if off and not any(all(is_true(b.props.get(flag)) for flag in PUBLIC_ACCESS_FLAGS) for b in mine):
            yield Finding(f"the bucket's public access block leaves {', '.join(off)} off", bucket.name, bucket.urn)


def _open_to_everyone(cidrs: list[Any]) -> bool:
    for cidr in cidrs:
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def eks_endpoint_access(inventory: Inventory) -> Iterator[Finding]:
    """The EKS API endpoint is private or public to named networks only, unless the stack says that a
    world-open endpoint is intended (eks.publicEndpointOpenToInternet): a leaked or phished deployer
    credential, or the next API server vulnerability, should not be one step from the internet."""
    if inventory.settings.get(OPEN_TO_INTERNET_SETTING) is True:
        return
    for cluster in inventory.of_type(CLUSTER):
        vpc = cluster.props.get("vpcConfig") or {}
        if not isinstance(vpc, dict):
            continue  # known after apply
        # AWS's defaults: a public endpoint, open to 0.0.0.0/0.
        if vpc.get("endpointPublicAccess", True) is False:
            continue
        cidrs = vpc.get("publicAccessCidrs")
        if cidrs is not None and not isinstance(cidrs, list):
            continue
        if cidrs is None or _open_to_everyone(cidrs):
            yield Finding(
                "the Kubernetes API endpoint is open to the whole internet; set eks.publicAccessCidrs to your "
                "networks or eks.endpointPublicAccess: false (or eks.publicEndpointOpenToInternet: true if "
                "that is intended)",
                cluster.name,
                cluster.urn,
            )
