"""The AWS tiers as a whole: both regions of the enterprise example, the model store and its readers, failover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import config as runtime_config

import llmscale.program
from llmscale.config.errors import ConfigError
from llmscale.config.loader import LoadedStack, load_stack
from llmscale.config.models import ModelProfile
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.serving.vllm_args import vllm_args
from tests.aws_harness import run
from tests.test_aws_network import ZONES, invokes

STANDBY_PROVIDER = "enterprise-standby-region"


@pytest.fixture(scope="module")
def enterprise() -> dict[str, Any]:
    return plan_document(run_program(load_stack("enterprise"), llmscale.program.main))


def named(document: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    (found,) = [r for r in document["resources"] if r["name"] == name and r["type"].endswith(kind)]
    return found


def test_enterprise_plan_is_clean(enterprise: dict[str, Any]) -> None:
    assert enterprise["schemaErrors"] == []
    assert [v for v in enterprise["violations"] if v["enforcement"] == "mandatory"] == []


def test_both_regions_are_planned_each_with_its_own_providers(enterprise: dict[str, Any]) -> None:
    clusters = {r["name"]: r for r in enterprise["resources"] if r["type"] == "aws:eks/cluster:Cluster"}
    assert set(clusters) == {"enterprise-eks-cluster", "enterprise-standby-eks-cluster"}
    assert clusters["enterprise-eks-cluster"]["provider"] is None  # aws:region of the stack
    assert clusters["enterprise-standby-eks-cluster"]["provider"] == STANDBY_PROVIDER
    for resource in enterprise["resources"]:
        if resource["type"].startswith("kubernetes:"):
            expected = "enterprise-standby-eks-k8s" if "standby" in resource["name"] else "enterprise-eks-k8s"
            assert resource["provider"] == expected, resource["name"]


def test_the_model_store_replicates_to_the_standby_region(enterprise: dict[str, Any]) -> None:
    replica = named(enterprise, "enterprise-models-replica-bucket", "Bucket")
    assert replica["provider"] == STANDBY_PROVIDER
    assert named(enterprise, "enterprise-models-bucket", "Bucket")["provider"] is None
    assert named(enterprise, "enterprise-models-replication", "BucketReplicationConfig")
    assert "modelStore" in enterprise["outputs"]


@pytest.mark.parametrize(("name", "provider"), [("enterprise", None), ("enterprise-standby", STANDBY_PROVIDER)])
def test_vllm_pods_of_each_cluster_may_read_the_store(enterprise: dict[str, Any], name: str, provider: str) -> None:
    association = named(enterprise, f"{name}-models-reader", "PodIdentityAssociation")
    assert association["provider"] == provider
    assert association["inputs"]["namespace"] == "llmscale"
    assert association["inputs"]["serviceAccount"] == "vllm"
    role = named(enterprise, f"{name}-models-reader", "Role")
    assert "pods.eks.amazonaws.com" in role["inputs"]["assumeRolePolicy"]


def test_failover_records_and_health_checks_are_in_the_plan(enterprise: dict[str, Any]) -> None:
    records = [r for r in enterprise["resources"] if r["type"] == "aws:route53/record:Record"]
    kinds = sorted(p["type"] for r in records for p in r["inputs"].get("failoverRoutingPolicies", []))
    assert kinds == ["PRIMARY", "SECONDARY"]
    checks = [r for r in enterprise["resources"] if r["type"] == "aws:route53/healthCheck:HealthCheck"]
    assert len(checks) == 2
    assert all(check["inputs"]["resourcePath"] == "/health" for check in checks)


def test_the_standby_keeps_a_smaller_minimum(enterprise: dict[str, Any]) -> None:
    scalers = {r["name"]: r["inputs"]["spec"] for r in enterprise["resources"] if r["type"].endswith(":ScaledObject")}
    primary = scalers["enterprise-chat-scaler"]
    standby = scalers["enterprise-standby-chat-scaler"]
    desired = [t["metadata"]["desiredReplicas"] for t in primary["triggers"] if t["type"] == "cron"]
    assert desired == ["3"]
    assert [t["metadata"]["desiredReplicas"] for t in standby["triggers"] if t["type"] == "cron"] == ["1"]
    assert primary["maxReplicaCount"] == standby["maxReplicaCount"]


def test_a_model_in_the_store_is_streamed_from_s3() -> None:
    profile = ModelProfile(name="chat", model="s3://models-bucket/meta-llama/Llama-3.1-8B-Instruct/")
    args = vllm_args(profile)
    assert args[0] == "s3://models-bucket/meta-llama/Llama-3.1-8B-Instruct/"
    assert args[args.index("--load-format") + 1] == "runai_streamer"
    assert "--load-format" not in vllm_args(ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct"))


@pytest.mark.parametrize(("name", "provider"), [("enterprise-tls", None), ("enterprise-standby-tls", STANDBY_PROVIDER)])
def test_each_region_has_a_dns_validated_certificate(enterprise: dict[str, Any], name: str, provider: str) -> None:
    certificate = named(enterprise, f"{name}-certificate", "Certificate")
    assert certificate["inputs"]["domainName"] == "llm.example.com"
    assert certificate["inputs"]["validationMethod"] == "DNS"
    assert certificate["provider"] == provider
    assert named(enterprise, f"{name}-validation", "CertificateValidation")["provider"] == provider


def test_the_validation_record_is_written_once(enterprise: dict[str, Any]) -> None:
    records = [r for r in enterprise["resources"] if r["type"] == "aws:route53/record:Record" and "tls" in r["name"]]
    assert [r["name"] for r in records] == ["enterprise-tls-validation"]
    assert records[0]["inputs"]["allowOverwrite"] is True


def test_clients_use_https_on_the_failover_name(enterprise: dict[str, Any]) -> None:
    assert enterprise["outputs"]["endpoint"] == "https://llm.example.com"
    checks = [r for r in enterprise["resources"] if r["type"] == "aws:route53/healthCheck:HealthCheck"]
    assert {(c["inputs"]["type"], c["inputs"]["port"]) for c in checks} == {("HTTPS", 443)}


# --- each site reads its own region's copy of the model store ------------------------------------------------


def _with_store_model(tmp_path: Path) -> LoadedStack:
    document = yaml.safe_load((PACKAGE_ROOT / "stacks" / "Pulumi.enterprise.yaml").read_text(encoding="utf-8"))
    document["config"]["llmscale:models"][0]["model"] = "store://meta-llama/Llama-3.1-8B-Instruct/"
    path = tmp_path / "Pulumi.enterprise.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_stack(str(path))


def test_each_site_streams_a_store_model_from_its_own_bucket(tmp_path: Path) -> None:
    stack = _with_store_model(tmp_path)

    def program() -> None:
        runtime_config.set_all_config(dict(stack.pulumi_config), sorted(stack.secret_keys))
        llmscale.program.main()

    result = run(program, invokes=invokes(ZONES))
    buckets = {r.name: r for r in result.of_type("aws:s3/bucket:Bucket")}
    primary_bucket = next(r for name, r in buckets.items() if "replica" not in name)
    replica_bucket = next(r for name, r in buckets.items() if "replica" in name)

    def model_arg(name: str) -> str:
        deployment = result.one("kubernetes:apps/v1:Deployment", name)
        return deployment.inputs["spec"]["template"]["spec"]["containers"][0]["args"][0]

    primary = model_arg("t-chat-deployment")
    standby = model_arg("t-standby-chat-deployment")
    assert primary.startswith(f"s3://{primary_bucket.inputs['bucketPrefix']}")
    assert standby.startswith(f"s3://{replica_bucket.inputs['bucketPrefix']}")
    assert primary.endswith("/meta-llama/Llama-3.1-8B-Instruct/") and standby.endswith(
        "/meta-llama/Llama-3.1-8B-Instruct/"
    )


def test_a_literal_bucket_with_a_standby_region_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load((PACKAGE_ROOT / "stacks" / "Pulumi.enterprise.yaml").read_text(encoding="utf-8"))
    document["config"]["llmscale:models"][0]["model"] = "s3://primary-bucket/org/model/"
    path = tmp_path / "Pulumi.literal.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_stack(str(path))
    (line,) = error.value.lines()
    assert "llmscale:models[0].model: an s3:// bucket would be read from both regions" in line
    assert "store://org/model/" in line
