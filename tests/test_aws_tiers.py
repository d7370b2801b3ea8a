"""The AWS tiers as a whole: both regions of the enterprise example, the model store and its readers, failover."""

from __future__ import annotations

import json
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


def _with_store_model(tmp_path: Path, *, stream: bool = False) -> LoadedStack:
    document = yaml.safe_load((PACKAGE_ROOT / "stacks" / "Pulumi.enterprise.yaml").read_text(encoding="utf-8"))
    profile = document["config"]["llmscale:models"][0]
    profile["model"] = "store://meta-llama/Llama-3.1-8B-Instruct/"
    profile["adapters"] = [{"name": "sql", "source": "store://adapters/sql-lora/", "rank": 16}]
    if stream:
        kubernetes = document["config"].setdefault("llmscale:kubernetes", {})
        kubernetes.setdefault("modelCache", {})["streamWeights"] = True
    path = tmp_path / "Pulumi.enterprise.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_stack(str(path))


def _store_stack(tmp_path: Path, *, stream: bool) -> tuple[Any, str, str]:
    stack = _with_store_model(tmp_path, stream=stream)

    def program() -> None:
        runtime_config.set_all_config(dict(stack.pulumi_config), sorted(stack.secret_keys))
        llmscale.program.main()

    result = run(program, invokes=invokes(ZONES))
    buckets = {r.name: r for r in result.of_type("aws:s3/bucket:Bucket")}
    primary_bucket = next(r for name, r in buckets.items() if "replica" not in name)
    replica_bucket = next(r for name, r in buckets.items() if "replica" in name)
    return result, primary_bucket.inputs["bucketPrefix"], replica_bucket.inputs["bucketPrefix"]


def _pod(result: Any, name: str) -> dict[str, Any]:
    return result.one("kubernetes:apps/v1:Deployment", name).inputs["spec"]["template"]["spec"]


def test_each_site_streams_a_store_model_from_its_own_bucket(tmp_path: Path) -> None:
    result, primary_prefix, replica_prefix = _store_stack(tmp_path, stream=True)
    for deployment, prefix in (("t-chat-deployment", primary_prefix), ("t-standby-chat-deployment", replica_prefix)):
        args = _pod(result, deployment)["containers"][0]["args"]
        assert args[0].startswith(f"s3://{prefix}") and args[0].endswith("/meta-llama/Llama-3.1-8B-Instruct/")
        assert args[args.index("--load-format") + 1] == "runai_streamer"


def test_each_site_copies_store_weights_and_adapters_from_its_own_bucket(tmp_path: Path) -> None:
    """By default the weights are copied into the model cache by an init container, as store adapters always are:
    each site's copies read that site's bucket, and vLLM loads the local copies."""
    result, primary_prefix, replica_prefix = _store_stack(tmp_path, stream=False)
    for deployment, prefix in (("t-chat-deployment", primary_prefix), ("t-standby-chat-deployment", replica_prefix)):
        pod = _pod(result, deployment)
        copies = {c["name"]: c["args"] for c in pod["initContainers"]}
        model, adapter = copies["copy-model"], copies["copy-adapter-sql"]
        assert model[:2] == adapter[:2] == ["s3", "sync"]
        assert model[2].startswith(f"s3://{prefix}") and model[2].endswith("/meta-llama/Llama-3.1-8B-Instruct/")
        assert model[3] == "/models/store/meta-llama/Llama-3.1-8B-Instruct/"
        assert adapter[2].startswith(f"s3://{prefix}") and adapter[2].endswith("/adapters/sql-lora/")
        assert adapter[3] == "/models/adapters/sql/"
        args = pod["containers"][0]["args"]
        assert args[0] == "/models/store/meta-llama/Llama-3.1-8B-Instruct"
        assert "--load-format" not in args
        module = json.loads(args[args.index("--lora-modules") + 1])
        assert module == {"name": "sql", "path": "/models/adapters/sql", "base_model_name": "chat"}
        # The copies run as the pod's service account, whose Pod Identity role reads the model store.
        assert pod["serviceAccountName"] == "vllm"


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
