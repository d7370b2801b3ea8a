"""The model store's S3 and IAM documents as pure functions: bucket name, TLS-only bucket policy, read access
and the replication role of the standby copy.
"""

from __future__ import annotations

import re
from typing import Any

from llmscale.aws.iam import policy_document

BUCKET_PREFIX_LIMIT = 37  # S3 bucket_prefix maximum (the provider appends a 26-character unique suffix)


def bucket_prefix(name: str) -> str:
    """A valid S3 bucket name prefix from a component name: lowercase, letters, digits and `-`, ending in `-`."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[: BUCKET_PREFIX_LIMIT - 1].rstrip("-")
    if not cleaned:
        raise ValueError(f"cannot derive an S3 bucket name from {name!r}: use letters or digits")
    if not cleaned[0].isalnum():
        cleaned = f"m{cleaned}"[: BUCKET_PREFIX_LIMIT - 1]
    return f"{cleaned}-"


def objects_arn(bucket_arn: str) -> str:
    """The ARN pattern of every object in a bucket."""
    return f"{bucket_arn}/*"


def tls_only_bucket_policy(bucket_arn: str) -> str:
    """Bucket policy denying every request to the bucket and its objects that does not use TLS."""
    return policy_document(
        [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, objects_arn(bucket_arn)],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    )


def read_policy_document(bucket_arn: str, kms_key_arn: str | None = None) -> str:
    """Read-only access to one model bucket: list it, get its objects, and decrypt with its key (SSE-KMS).

    What the serving layer attaches to the vLLM pods' role (pod identity / IRSA): vLLM lists the model prefix
    and fetches config, tokenizer and safetensors files from it.
    """
    statements: list[dict[str, Any]] = [
        {"Sid": "ListModelBucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn},
        {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects_arn(bucket_arn)},
    ]
    if kms_key_arn:
        statements.append(
            {"Sid": "DecryptModelObjects", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn}
        )
    return policy_document(statements)


def arn_region(arn: str) -> str:
    """The region field of an ARN (`arn:partition:service:region:account:resource`)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        raise ValueError(f"{arn!r} is not a regional ARN")
    return parts[3]


def _s3_via_service(key_arn: str) -> dict[str, Any]:
    """Limit a KMS grant to requests S3 makes on the caller's behalf in the key's region."""
    return {"StringEquals": {"kms:ViaService": f"s3.{arn_region(key_arn)}.amazonaws.com"}}


def replication_role_policy(
    source_bucket_arn: str,
    replica_bucket_arn: str,
    source_key_arn: str,
    replica_key_arn: str,
) -> str:
    """What S3 replication needs, on these two buckets and keys only (the AWS documented permission set).

    Read the source's replication configuration and object versions, replicate objects, deletes and tags into
    the replica, decrypt with the source key and encrypt with the replica key, each only through S3.
    """
    return policy_document(
        [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_bucket_arn,
            },
            {
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": objects_arn(source_bucket_arn),
            },
            {
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": objects_arn(replica_bucket_arn),
            },
            {
                "Sid": "DecryptSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": source_key_arn,
                "Condition": _s3_via_service(source_key_arn),
            },
            {
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": replica_key_arn,
                "Condition": _s3_via_service(replica_key_arn),
            },
        ]
    )
