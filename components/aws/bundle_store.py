"""Where the single host reads its bundle: one S3 object per file, and a manifest in SSM.

Why not user data: EC2 user data is fixed at launch (cloud-init writes it once) and the instance carries it
with `user_data_replace_on_change`, so a bundle in user data replaces the GPU instance (and its model cache)
for a changed alert threshold. Here every file is an `aws_s3_object` whose `content` updates in place (only
`bucket` and `key` are ForceNew: hashicorp/terraform-provider-aws `internal/service/s3/object.go`, the
provider pulumi-aws 7 wraps), and the manifest is an `aws_ssm_parameter` whose `value` updates in place (only
`name` and `data_type` are ForceNew, and a tier downgrade from Advanced: `internal/service/ssm/parameter.go`).
`llmscale-sync` on the instance polls the manifest and applies what changed.

Why not SSM alone: a standard parameter holds 4 KB and an advanced one 8 KB; the rules file alone is larger,
and compressing it would hide the change in a review. The manifest (paths, modes, SHA-256) stays under 4 KB;
it uses `Intelligent-Tiering` so that SSM moves it to the advanced tier, rather than failing, should it grow.
The bucket's name is known only after apply, so it lives in a second parameter: the manifest stays fully
known offline and `llmscale diff` shows which files a change touches.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.model_store import bucket_prefix, tls_only_bucket_policy
from llmscale.host.bundle import BUNDLE_PREFIX, BundleFile, location_parameter, manifest_parameter
from llmscale.host.store import content_type, object_key, slug


class BundleStore(pulumi.ComponentResource):
    """A private bucket with the bundle's files, the manifest parameter and the location parameter.

    The bucket: all four public access blocks, BucketOwnerEnforced (no ACLs), SSE-S3 (it holds no secret),
    a policy denying requests without TLS, and `force_destroy` (it holds only generated files). The manifest
    parameter depends on every object, so it changes only once the files it names are in place.
    """

    bucket_arn: pulumi.Output[str]
    manifest_parameter: aws.ssm.Parameter
    location_parameter: aws.ssm.Parameter

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        bundle: list[BundleFile],
        manifest: str,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:BundleStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=bucket_prefix(name),
            force_destroy=True,
            tags={**tags, "llmscale:role": "host-bundle"},
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_bucket_policy),
            # S3 rejects concurrent changes to a bucket's access settings: one after the other.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access, ownership]),
        )
        objects = [
            aws.s3.BucketObjectv2(
                f"{name}-{slug(file.path)}",
                bucket=bucket.id,
                key=object_key(file.path),
                content=file.content,
                content_type=content_type(file.path),
                tags=tags,
                opts=child,
            )
            for file in bundle
        ]
        location = aws.ssm.Parameter(
            f"{name}-location",
            name=location_parameter(stack),
            type="String",
            insecure_value=pulumi.Output.concat("s3://", bucket.id, "/", BUNDLE_PREFIX),
            description=f"llmscale {stack}: where the GPU host's bundle files are",
            tags=tags,
            opts=child,
        )
        manifest_resource = aws.ssm.Parameter(
            f"{name}-manifest",
            name=manifest_parameter(stack),
            type="String",
            tier="Intelligent-Tiering",
            # Not a secret: `insecure_value` keeps it readable in `pulumi preview --diff`.
            insecure_value=manifest,
            description=f"llmscale {stack}: the GPU host's bundle (paths, modes, SHA-256), applied by llmscale-sync",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*objects, location]),
        )
        self.manifest_parameter = manifest_resource
        self.location_parameter = location
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketArn": self.bucket_arn})
