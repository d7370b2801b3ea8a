"""Tests for the model store: bucket and IAM policy documents (pure) and the ModelStore component under mocks."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi_aws as aws
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.aws.model_store import ABORT_INCOMPLETE_UPLOADS_DAYS, ModelStore
from llmscale.aws import model_store
from llmscale.policy.hardening import s3_public_access_block
from llmscale.policy.hygiene import encryption_at_rest
from llmscale.policy.model import Inventory, Record
from tests.aws_harness import ACCOUNT, Run, allows_everything, as_list, policy_statements, run

TAGS = {"llmscale:stack": "t", "managed-by": "llmscale"}
BUCKET_ARN = "arn:aws:s3:::models-abc"
REPLICA_ARN = "arn:aws:s3:::models-replica-abc"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1111"
REPLICA_KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/2222"
STANDBY_REGION = "us-west-2"

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_CONFIGS = (VERSIONING, ENCRYPTION, PUBLIC_ACCESS, OWNERSHIP, BUCKET_POLICY, LIFECYCLE)


def build(*, replica: bool = False, readers: tuple[str, ...] = (), provider: bool = True) -> Run:
    def program() -> dict[str, Any]:
        standby = aws.Provider("standby", region=STANDBY_REGION) if replica and provider else None
        store = ModelStore(
            "models",
            tags=TAGS,
            replica_region=STANDBY_REGION if replica else None,
            replica_provider=standby,
            reader_role_names=readers,
        )
        return {
            "bucket_name": store.bucket_name,
            "bucket_arn": store.bucket_arn,
            "kms_key_arn": store.kms_key_arn,
            "read_policy": store.read_policy,
            "replica_bucket_name": store.replica_bucket_name,
            "replica_read_policy": store.replica_read_policy,
        }

    return run(program)


def bucket_id(plan: Run, name: str) -> str:
    return plan.one(BUCKET, name).inputs["bucketPrefix"] + "20250101000000000000000001"


# --- pure documents --------------------------------------------------------------------------------------------


def test_read_policy_is_scoped_to_one_bucket_and_its_key() -> None:
    statements = policy_statements(model_store.read_policy_document(BUCKET_ARN, KEY_ARN))
    grants = {(a, r) for s in statements for a in as_list(s["Action"]) for r in as_list(s["Resource"])}
    assert grants == {
        ("s3:ListBucket", BUCKET_ARN),
        ("s3:GetObject", f"{BUCKET_ARN}/*"),
        ("kms:Decrypt", KEY_ARN),
    }
    assert all(s["Effect"] == "Allow" for s in statements)


def test_read_policy_without_a_key_grants_no_kms() -> None:
    document = model_store.read_policy_document(BUCKET_ARN)
    assert "kms:" not in document
    assert not allows_everything(document)


def test_tls_only_policy_denies_plain_http_on_bucket_and_objects() -> None:
    [statement] = policy_statements(model_store.tls_only_bucket_policy(BUCKET_ARN))
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == [BUCKET_ARN, f"{BUCKET_ARN}/*"]


def test_replication_policy_touches_only_the_two_buckets_and_keys() -> None:
    document = model_store.replication_role_policy(BUCKET_ARN, REPLICA_ARN, KEY_ARN, REPLICA_KEY_ARN)
    statements = policy_statements(document)
    resources = {r for s in statements for r in as_list(s["Resource"])}
    assert resources == {BUCKET_ARN, f"{BUCKET_ARN}/*", f"{REPLICA_ARN}/*", KEY_ARN, REPLICA_KEY_ARN}
    by_resource = {r: set(as_list(s["Action"])) for s in statements for r in as_list(s["Resource"])}
    assert by_resource[f"{REPLICA_ARN}/*"] == {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}
    assert by_resource[KEY_ARN] == {"kms:Decrypt"}
    assert "kms:Decrypt" not in by_resource[REPLICA_KEY_ARN]
    via = {s["Resource"]: s["Condition"]["StringEquals"]["kms:ViaService"] for s in statements if "Condition" in s}
    assert via == {KEY_ARN: "s3.eu-west-1.amazonaws.com", REPLICA_KEY_ARN: "s3.us-west-2.amazonaws.com"}
    assert not allows_everything(document)


@pytest.mark.parametrize("arn", ["arn:aws:s3:::bucket", "not-an-arn", "arn:aws:kms"])
def test_arn_region_refuses_arns_without_a_region(arn: str) -> None:
    with pytest.raises(ValueError, match="not a regional ARN"):
        model_store.arn_region(arn)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("models", "models-"), ("Acme_Prod.Models", "acme-prod-models-"), ("--x--", "x-"), ("a" * 80, "a" * 36 + "-")],
)
def test_bucket_prefix(name: str, prefix: str) -> None:
    assert model_store.bucket_prefix(name) == prefix


@given(st.text(min_size=1, max_size=80))
def test_bucket_prefix_is_always_valid_or_refused(name: str) -> None:
    try:
        prefix = model_store.bucket_prefix(name)
    except ValueError:
        assert not re.search(r"[a-z0-9]", name.lower())
        return
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*-", prefix)
    assert len(prefix) <= model_store.BUCKET_PREFIX_LIMIT
    assert "--" not in prefix


# --- the component ---------------------------------------------------------------------------------------------


def test_bucket_is_versioned_encrypted_private_and_tls_only() -> None:
    plan = build()
    bucket = plan.one(BUCKET)
    name = bucket_id(plan, "models-bucket")
    assert plan.values["bucket_name"] == name
    for type_ in BUCKET_CONFIGS:
        assert plan.one(type_).inputs["bucket"] == name, type_

    assert plan.one(VERSIONING).inputs["versioningConfiguration"] == {"status": "Enabled"}
    key = plan.one(KEY)
    assert key.inputs["enableKeyRotation"] is True
    [rule] = plan.one(ENCRYPTION).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": plan.values["kms_key_arn"],
    }
    assert rule["bucketKeyEnabled"] is True
    block = plan.one(PUBLIC_ACCESS).inputs
    assert all(
        block[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert plan.one(OWNERSHIP).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    policy = plan.one(BUCKET_POLICY).inputs["policy"]
    assert policy == model_store.tls_only_bucket_policy(f"arn:aws:s3:::{name}")
    assert plan.values["bucket_arn"] == f"arn:aws:s3:::{name}"
    assert bucket.inputs.get("forceDestroy") is False
    assert TAGS.items() <= bucket.inputs["tags"].items()


def test_incomplete_uploads_are_aborted_and_replaced_weights_expire() -> None:
    rules = {r["id"]: r for r in build().one(LIFECYCLE).inputs["rules"]}
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort["status"] == "Enabled"
    assert abort["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": ABORT_INCOMPLETE_UPLOADS_DAYS}
    assert rules["expire-replaced-weights"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_the_bucket_policy_waits_for_the_public_access_block() -> None:
    plan = build()
    assert plan.urn_of("models-public-access") in plan.one(BUCKET_POLICY).dependencies


def test_read_policy_output_is_for_this_bucket_and_key() -> None:
    plan = build()
    assert plan.values["read_policy"] == model_store.read_policy_document(
        plan.values["bucket_arn"], plan.values["kms_key_arn"]
    )


def test_reader_roles_get_the_read_policy() -> None:
    plan = build(readers=("vllm-pods",))
    attached = plan.one(ROLE_POLICY, "models-read-0")
    assert attached.inputs["role"] == "vllm-pods"
    assert attached.inputs["policy"] == plan.values["read_policy"]


def test_no_replication_without_a_replica_region() -> None:
    plan = build()
    assert not plan.of_type(REPLICATION)
    assert not plan.of_type(ROLE)
    assert len(plan.of_type(BUCKET)) == 1
    assert plan.values["replica_bucket_name"] is None


def test_replica_bucket_has_the_same_protections_in_the_standby_region() -> None:
    plan = build(replica=True)
    provider = f"{plan.urn_of('standby')}::standby-id"
    replica_resources = [r for r in plan.resources if r.name.startswith("models-replica-")]
    assert {r.type for r in replica_resources} == {BUCKET, KEY, *BUCKET_CONFIGS}
    assert all(r.provider == provider for r in replica_resources)
    assert all(r.inputs["region"] == STANDBY_REGION for r in replica_resources)
    primary = [
        r for r in plan.resources if r.custom and r.type != "pulumi:providers:aws" and r not in replica_resources
    ]
    assert primary and all(r.provider is None for r in primary)
    assert plan.one(VERSIONING, "models-replica-versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert plan.one(KEY, "models-replica-key").inputs["enableKeyRotation"] is True
    assert plan.values["replica_bucket_name"] == bucket_id(plan, "models-replica-bucket")


def test_replication_goes_from_the_primary_to_the_replica_bucket() -> None:
    plan = build(replica=True)
    replication = plan.one(REPLICATION)
    assert replication.provider is None  # configured on the source bucket, in the primary region
    assert replication.inputs["bucket"] == bucket_id(plan, "models-bucket")
    assert replication.inputs["role"] == f"arn:aws:iam::{ACCOUNT}:role/models-replication"
    [rule] = replication.inputs["rules"]
    assert rule["status"] == "Enabled"
    assert rule["filter"] == {"prefix": ""}  # V2 rule: replicates everything, delete markers included
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    replica_arn = f"arn:aws:s3:::{bucket_id(plan, 'models-replica-bucket')}"
    assert rule["destination"]["bucket"] == replica_arn
    assert rule["destination"]["encryptionConfiguration"] == {
        "replicaKmsKeyId": f"arn:aws:kms:{STANDBY_REGION}:{ACCOUNT}:key/models-replica-key"
    }
    # Both buckets versioned and the role's permissions in place before replication is configured.
    for name, type_ in (
        ("models-versioning", VERSIONING),
        ("models-replica-versioning", VERSIONING),
        ("models-replication", ROLE_POLICY),
    ):
        assert plan.urn_of(name, type_) in replication.dependencies, name


def test_replication_role_is_only_for_s3_and_scoped() -> None:
    plan = build(replica=True)
    role = plan.one(ROLE)
    [trust] = policy_statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    policy = plan.one(ROLE_POLICY, "models-replication").inputs["policy"]
    resources = {r for s in policy_statements(policy) for r in as_list(s["Resource"])}
    primary = f"arn:aws:s3:::{bucket_id(plan, 'models-bucket')}"
    replica = f"arn:aws:s3:::{bucket_id(plan, 'models-replica-bucket')}"
    assert resources == {
        primary,
        f"{primary}/*",
        f"{replica}/*",
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/models-key",
        f"arn:aws:kms:{STANDBY_REGION}:{ACCOUNT}:key/models-replica-key",
    }


def test_replica_without_a_provider_uses_the_per_resource_region() -> None:
    plan = build(replica=True, provider=False)
    replica = plan.one(BUCKET, "models-replica-bucket")
    assert replica.provider is None and replica.inputs["region"] == STANDBY_REGION


def test_no_policy_allows_everything_on_everything() -> None:
    plan = build(replica=True, readers=("vllm-pods",))
    documents = [r.inputs["policy"] for r in plan.of_type(ROLE_POLICY)]
    documents += [r.inputs["assumeRolePolicy"] for r in plan.of_type(ROLE)]
    documents += [plan.values["read_policy"], plan.values["replica_read_policy"]]
    assert len(documents) == 5
    assert not any(allows_everything(d) for d in documents)
    assert allows_everything(json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}))


def test_the_project_encryption_policy_is_satisfied() -> None:
    plan = build(replica=True)
    # Dependencies by name, as the offline plan and CrossGuard give them: they tie each configuration to its bucket.
    inventory = Inventory.of(
        Record(r.type, r.name, r.inputs, r.urn, depends_on=tuple(urn.rsplit("::", 1)[-1] for urn in r.dependencies))
        for r in plan.resources
    )
    assert list(encryption_at_rest(inventory)) == []
    assert list(s3_public_access_block(inventory)) == []


def test_every_child_is_parented_to_the_component() -> None:
    plan = build(replica=True)
    component = plan.one("llmscale:index:ModelStore")
    children = [r for r in plan.resources if r.custom and r.type != "pulumi:providers:aws"]
    assert children and all(r.parent == component.urn for r in children)
    assert all(r.name.startswith("models-") for r in children)


def test_a_replica_provider_needs_a_replica_region() -> None:
    def program() -> None:
        ModelStore("models", tags=TAGS, replica_provider=aws.Provider("standby", region=STANDBY_REGION))

    with pytest.raises(ValueError, match="without replica_region"):
        run(program)
