"""The model store: a private, encrypted, versioned S3 bucket holding model weights, replicated to the standby region.

Why: vLLM pods that pull weights from the Hugging Face hub on every start are slow (tens to hundreds of GB per
replica), rate-limited, and down when the hub is. Weights copied once into the stack's own bucket load from S3
in the same region (through the VPC's free S3 gateway endpoint, not the NAT), and the standby region keeps its
own replica.

How weights get there (once per model revision, from a workstation or a CI job with write access):

    hf download org/model --revision <commit> --local-dir ./model   # `huggingface-cli download` before hub 1.0
    aws s3 sync ./model s3://BUCKET/org/model/ --exclude '.cache/*' --exclude 'original/*'

(`.cache/` is the hub's download metadata; `original/` holds the non-safetensors checkpoint some repositories
also ship), and how vLLM loads them:

    vllm serve s3://BUCKET/org/model/ --load-format runai_streamer

The Run:ai Model Streamer reads safetensors files only, straight into GPU memory, with the pod's AWS
credentials: the role the serving layer grants `read_policy`, through EKS Pod Identity or IRSA.

Verified against the vLLM documentation (docs.vllm.ai "Loading models with Run:ai Model Streamer"): the
`s3://` model path with `--load-format runai_streamer`, and that it needs the `vllm[runai]` extra.
UNVERIFIED here: that the pinned `vllm/vllm-openai` image ships `runai-model-streamer[s3]` (third-party
configurations say it does), and that the streamer's AWS SDK picks up EKS Pod Identity credentials (IRSA web
identity is the older, more widely supported path); `AWS_REGION` should be set on the pod either way.

Replication copies objects written after it is configured; objects uploaded before need S3 Batch Replication
or a second `aws s3 sync` into the replica bucket.

Encryption: SSE-KMS with a customer-managed key per region (rotation on, S3 Bucket Keys on), rather than the
AWS-managed `aws/s3` key: its key policy cannot be changed, so it cannot be limited to the model readers or
shared across accounts, nor disabled as a kill switch; with our key, reading weights needs an explicit
`kms:Decrypt` grant on one key ARN (least privilege, logged in CloudTrail). Bucket Keys keep the KMS request
count (and cost, and throttling risk) low when many replicas stream multi-GB files with ranged GETs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from llmscale.aws import iam
from llmscale.aws.model_store import (
    bucket_prefix,
    read_policy_document,
    replication_role_policy,
    tls_only_bucket_policy,
)

ABORT_INCOMPLETE_UPLOADS_DAYS = 7


@dataclass
class _Bucket:
    """One encrypted bucket and what other resources need of it."""

    bucket: aws.s3.Bucket
    key: aws.kms.Key
    versioning: aws.s3.BucketVersioning


def _encrypted_bucket(
    name: str,
    *,
    role: str,
    tags: dict[str, str],
    region: str | None,
    noncurrent_days: int,
    force_destroy: bool,
    opts: pulumi.ResourceOptions,
) -> _Bucket:
    """A bucket with its own KMS key and every protection: versioning, SSE-KMS, no public access, TLS only."""
    regional: dict[str, str] = {"region": region} if region else {}
    key = aws.kms.Key(
        f"{name}-key",
        description=f"llmscale model store ({role}): encrypts model weights at rest",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags,
        opts=opts,
        **regional,
    )
    bucket = aws.s3.Bucket(
        f"{name}-bucket",
        bucket_prefix=bucket_prefix(name),
        force_destroy=force_destroy,
        tags={**tags, "llmscale:role": f"model-store-{role}"},
        opts=opts,
        **regional,
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=opts,
        **regional,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
        **regional,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=opts,
        **regional,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=opts,
        **regional,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[
            {
                "id": "abort-incomplete-multipart-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
            },
            {
                "id": "expire-replaced-weights",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
            },
        ],
        # Lifecycle rules on noncurrent versions need versioning in place first.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[versioning])),
        **regional,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(tls_only_bucket_policy),
        # S3 rejects concurrent changes to a bucket's access settings: one after the other.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[public_access, ownership])),
        **regional,
    )
    return _Bucket(bucket=bucket, key=key, versioning=versioning)


class ModelStore(pulumi.ComponentResource):
    """S3 bucket for model weights (see the module docstring for the why, and how weights get in and out).

    Versioned, SSE-KMS with its own rotating key and S3 Bucket Keys, all four public access blocks on,
    BucketOwnerEnforced (no ACLs), a bucket policy denying requests without TLS, incomplete multipart uploads
    aborted after a week and replaced weights expired after `noncurrent_days`.

    With `replica_region` (enterprise), a second bucket with the same settings and its own key in that region
    (created through `replica_provider` when given, else the default provider with a per-resource region),
    and a replication rule from the primary bucket to it, run by an IAM role only S3 can assume, and only for
    the primary bucket of this account, with permissions on these two buckets and keys only.

    `reader_role_names` (IAM role names, e.g. the vLLM pods' pod identity role) get `read_policy` attached;
    the serving layer may instead attach `read_policy` itself (and `replica_read_policy` in the standby).
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    read_policy: pulumi.Output[str]
    replica_bucket_name: pulumi.Output[str] | None
    replica_bucket_arn: pulumi.Output[str] | None
    replica_kms_key_arn: pulumi.Output[str] | None
    replica_read_policy: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        *,
        tags: dict[str, str],
        replica_region: str | None = None,
        replica_provider: aws.Provider | None = None,
        reader_role_names: Sequence[pulumi.Input[str]] = (),
        noncurrent_days: int = 30,
        force_destroy: bool = False,
        provider: aws.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if replica_provider is not None and replica_region is None:
            raise ValueError("replica_provider was given without replica_region: name the standby region")
        if noncurrent_days < 1:
            raise ValueError(f"noncurrent_days {noncurrent_days} must be at least 1")
        bucket_prefix(name)  # fail before any resource on a name no bucket can carry
        super().__init__("llmscale:index:ModelStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        primary = _encrypted_bucket(
            name,
            role="primary",
            tags=tags,
            region=None,
            noncurrent_days=noncurrent_days,
            force_destroy=force_destroy,
            opts=child,
        )
        self.bucket_name = primary.bucket.bucket
        self.bucket_arn = primary.bucket.arn
        self.kms_key_arn = primary.key.arn
        self.read_policy = pulumi.Output.all(primary.bucket.arn, primary.key.arn).apply(
            lambda arns: read_policy_document(arns[0], arns[1])
        )
        for index, role_name in enumerate(reader_role_names):
            aws.iam.RolePolicy(
                f"{name}-read-{index}",
                role=role_name,
                policy=self.read_policy,
                opts=child,
            )

        self.replica_bucket_name = None
        self.replica_bucket_arn = None
        self.replica_kms_key_arn = None
        self.replica_read_policy = None
        if replica_region is not None:
            replica_opts = pulumi.ResourceOptions(parent=self, provider=replica_provider or provider)
            replica = _encrypted_bucket(
                f"{name}-replica",
                role="replica",
                tags=tags,
                region=replica_region,
                noncurrent_days=noncurrent_days,
                force_destroy=force_destroy,
                opts=replica_opts,
            )
            account = aws.get_caller_identity_output(
                opts=pulumi.InvokeOutputOptions(parent=self, provider=provider)
            ).account_id
            role = aws.iam.Role(
                f"{name}-replication",
                # S3 may assume the role only to replicate the primary bucket of this account (a bucket ARN
                # names no account, so aws:SourceAccount goes with aws:SourceArn).
                assume_role_policy=pulumi.Output.all(account, primary.bucket.arn).apply(
                    lambda parts: iam.assume_role_policy(
                        "s3.amazonaws.com", source_account=parts[0], source_arn=parts[1]
                    )
                ),
                description="llmscale model store: replicates model weights to the standby region",
                tags=tags,
                opts=child,
            )
            role_policy = aws.iam.RolePolicy(
                f"{name}-replication",
                role=role.id,
                policy=pulumi.Output.all(
                    primary.bucket.arn, replica.bucket.arn, primary.key.arn, replica.key.arn
                ).apply(lambda arns: replication_role_policy(*arns)),
                opts=child,
            )
            aws.s3.BucketReplicationConfig(
                f"{name}-replication",
                bucket=primary.bucket.id,
                role=role.arn,
                rules=[
                    {
                        "id": "standby-region",
                        "status": "Enabled",
                        "priority": 1,
                        # An (empty) prefix filter makes this a V2 rule, which delete marker replication needs;
                        # an empty filter object may be dropped on the way to the provider.
                        "filter": {"prefix": ""},
                        "delete_marker_replication": {"status": "Enabled"},
                        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                        "destination": {
                            "bucket": replica.bucket.arn,
                            "storage_class": "STANDARD",
                            "encryption_configuration": {"replica_kms_key_id": replica.key.arn},
                        },
                    }
                ],
                # S3 refuses a replication configuration unless both buckets are versioned, and replication
                # fails silently until the role may act.
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(depends_on=[primary.versioning, replica.versioning, role_policy]),
                ),
            )
            self.replica_bucket_name = replica.bucket.bucket
            self.replica_bucket_arn = replica.bucket.arn
            self.replica_kms_key_arn = replica.key.arn
            self.replica_read_policy = pulumi.Output.all(replica.bucket.arn, replica.key.arn).apply(
                lambda arns: read_policy_document(arns[0], arns[1])
            )

        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "readPolicy": self.read_policy,
                "replicaBucketName": self.replica_bucket_name,
                "replicaBucketArn": self.replica_bucket_arn,
                "replicaKmsKeyArn": self.replica_kms_key_arn,
                "replicaReadPolicy": self.replica_read_policy,
            }
        )
