"""Tests for `llmscale diff`: two offline plans compared as a preview would compare the program with the stack.

Plans come from the real program run in-process on the example stacks and on variants of them written to a
temporary stack file of the same name (so that URNs match): one config change each, with the resources and
property paths it must show as created, deleted, replaced or updated. Hand-edited copies of real plans cover
what a config change cannot reach offline (secrets changing form, ignoreChanges, replace rules, findings).
Secrets must never show in plaintext. The example GitHub workflow that runs all this is checked at the end.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from llmscale.commands.diff import register
from llmscale.config.loader import LoadedStack, load_stack, parse_values
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.diff import (
    AUTHORITATIVE_NOTE,
    REPLACE_TABLE,
    PlanDiff,
    PlanFileError,
    ResourceAction,
    ResourceChange,
    diff_plans,
    diff_values,
    format_path,
    load_plan,
    parse_path,
    policy_changes,
    render_diff_text,
    replace_table,
    validate_plan,
)
from llmscale.plan.markdown import diff_markdown
from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program
from tests.helpers import example_config, write_stack
from tests.resource_types import (
    BUCKET_OBJECT,
    DEPLOYMENT,
    ENVOY_PROXY,
    INSTANCE,
    LAUNCH_TEMPLATE,
    NODE_GROUP,
    SERVICE,
    SSM_PARAMETER,
    STORAGE_CLASS,
)

STACKS = PACKAGE_ROOT / "stacks"
WORKFLOW = PACKAGE_ROOT / ".github" / "workflows" / "preview.yml"
PREVIEW_SCRIPT = PACKAGE_ROOT / "scripts" / "pr-preview.sh"
PLAINTEXT = "hunter2-PLAINTEXT-should-never-print"
OLD_KEY, NEW_KEY = "sk-live-OLDkey0123456789abcdef", "sk-live-NEWkey9876543210fedcba"
OLD_TOKEN, NEW_TOKEN = "hf_OLDtokenABCDEFGHIJKLMNOPQRS", "hf_NEWtokenZYXWVUTSRQPONMLKJIH"


# --- helpers ---------------------------------------------------------------------------------------------


def plan(ref: str) -> dict[str, Any]:
    return plan_document(run_program(load_stack(ref), program))


def variant(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The plan of an example stack with one change to its config, from a stack file of the same name."""
    config = example_config(stack)
    edit(config)
    return plan(str(write_stack(tmp_path, stack, config)))


def with_secrets(stack: str, secrets: dict[str, str]) -> dict[str, Any]:
    """The plan of an example stack whose secrets are decrypted (as during `pulumi up`) to these values."""
    values = {k: v for k, v in example_config(stack).items() if not (isinstance(v, dict) and set(v) == {"secure"})}
    values.update(secrets)
    secret_keys = frozenset(secrets)
    config, region = parse_values(values, secret_keys, f"stacks/Pulumi.{stack}.yaml")
    loaded = LoadedStack(
        name=stack,
        source=f"stacks/Pulumi.{stack}.yaml",
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=secret_keys,
        undecryptable=frozenset(),
    )
    return plan_document(run_program(loaded, program))


def resource(document: dict[str, Any], name: str, kind: str | None = None) -> dict[str, Any]:
    found = [r for r in document["resources"] if r["name"] == name and (kind is None or r["type"] == kind)]
    assert len(found) == 1, (name, kind, len(found))
    return found[0]


def names(items: list[Any]) -> list[str]:
    return sorted(item.resource.name if isinstance(item, ResourceChange) else item.name for item in items)


def only_change(changes: list[ResourceChange], name: str) -> ResourceChange:
    found = [c for c in changes if c.resource.name == name]
    assert len(found) == 1, (name, names(changes))
    return found[0]


def paths(change: ResourceChange) -> list[str]:
    return [prop.path for prop in change.changes]


def everything_printed(diff: PlanDiff) -> str:
    return render_diff_text(diff) + "\n" + diff_markdown(diff)


def assert_no_changes(diff: PlanDiff, resources: int) -> None:
    assert (diff.added, diff.removed, diff.changed, diff.replaced) == ([], [], [], [])
    assert diff.outputs == []
    assert diff.counts == {}
    assert (diff.new_violations, diff.resolved_violations) == ([], [])
    assert (diff.new_schema_errors, diff.resolved_schema_errors) == ([], [])
    assert diff.unchanged == resources
    assert not diff.has_changes
    assert diff.warnings == []


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aws_plan(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["single-gpu"]


@pytest.fixture(scope="session")
def k8s_plan(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["onprem"]


@pytest.fixture(scope="session")
def host_plan(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans["single-gpu-host"]


def _region(config: dict[str, Any]) -> None:
    config["aws:region"] = "us-east-1"


def _gpu_instance_type(config: dict[str, Any]) -> None:
    config["llmscale:gpu"]["instanceType"] = "g6e.2xlarge"


def _bigger_model(config: dict[str, Any]) -> None:
    config["llmscale:models"][0]["model"] = "Qwen/Qwen2.5-14B-Instruct"


def _eks_vpc_cidr(config: dict[str, Any]) -> None:
    config["llmscale:eks"]["vpcCidr"] = "10.61.0.0/16"


def _standby_region(config: dict[str, Any]) -> None:
    config["llmscale:failover"]["standbyRegion"] = "eu-north-1"


def _cluster_context(config: dict[str, Any]) -> None:
    config["llmscale:kubernetes"]["context"] = "onprem-gpu-2"


def _rename_profile(config: dict[str, Any]) -> None:
    config["llmscale:models"][1]["name"] = "reports"  # was `analysis`


def _more_users(config: dict[str, Any]) -> None:
    config["llmscale:load"]["peakConcurrentUsers"] = 200  # beyond what the multi-gpu example's profiles serve


def _error_rate_alert(config: dict[str, Any]) -> None:
    config["llmscale:slo"]["maxErrorRate"] = 0.005  # the error-rate alert's threshold: 0.1 % → 0.5 %


# One config change each, on an example stack: the before/after pairs the diff is judged on.
EDITS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "region": ("multi-gpu", _region),
    "gpu-instance-type": ("multi-gpu", _gpu_instance_type),
    "bigger-model": ("multi-gpu", _bigger_model),
    "eks-vpc-cidr": ("multi-gpu", _eks_vpc_cidr),
    "standby-region": ("enterprise", _standby_region),
    "cluster-context": ("onprem", _cluster_context),
    "rename-profile": ("onprem", _rename_profile),
    "more-users": ("multi-gpu", _more_users),
    "error-rate-alert": ("single-gpu", _error_rate_alert),
}


@pytest.fixture(scope="session")
def edited(
    tmp_path_factory: pytest.TempPathFactory, example_plans: Mapping[str, dict[str, Any]]
) -> Callable[[str], tuple[dict[str, Any], dict[str, Any]]]:
    """(before, after) plans for an entry of EDITS; each variant is planned once for the session."""
    cache: dict[str, dict[str, Any]] = {}

    def get(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        stack, edit = EDITS[name]
        if name not in cache:
            cache[name] = variant(tmp_path_factory.mktemp(name), stack, edit)
        return example_plans[stack], cache[name]

    return get


# --- identical plans -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["single-gpu", "single-gpu-host", "onprem"])
def test_two_runs_of_the_same_stack_differ_in_nothing(example_plans: Mapping[str, dict[str, Any]], stack: str) -> None:
    first, second = example_plans[stack], plan(stack)
    diff = diff_plans(first, second)
    assert_no_changes(diff, len(first["resources"]))
    text = render_diff_text(diff)
    assert "No resource changes." in text
    assert f"0 to create, 0 to delete, 0 to replace, 0 to update, {len(first['resources'])} unchanged" in text


def test_diff_does_not_modify_its_inputs(aws_plan: dict[str, Any]) -> None:
    before = copy.deepcopy(aws_plan)
    changed = copy.deepcopy(aws_plan)
    resource(changed, "single-gpu-net-vpc")["inputs"]["cidrBlock"] = "10.1.0.0/16"
    diff_plans(aws_plan, changed)
    assert aws_plan == before


# --- config changes on the example stacks ----------------------------------------------------------------


def test_max_model_len_on_kubernetes_updates_the_deployment_args_in_place(
    tmp_path: Path, k8s_plan: dict[str, Any]
) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["llmscale:models"][0]["maxModelLen"] = 16384  # profile `chat`

    diff = diff_plans(k8s_plan, variant(tmp_path, "onprem", edit))
    assert (diff.added, diff.removed, diff.replaced) == ([], [], [])
    # The Deployment's arguments, and the stack's settings record that states the profile's limits in clear.
    assert sorted(names(diff.changed)) == ["onprem-chat-deployment", "onprem-settings"]
    args = resource(k8s_plan, "onprem-chat-deployment")["inputs"]["spec"]["template"]["spec"]["containers"][0]["args"]
    index = args.index("--max-model-len") + 1
    change = next(c for c in diff.changed if c.resource.name == "onprem-chat-deployment")
    assert [(p.path, p.kind, p.old, p.new, p.forces_replacement) for p in change.changes] == [
        (f"spec.template.spec.containers[0].args[{index}]", "update", "8192", "16384", False)
    ]
    settings = next(c for c in diff.changed if c.resource.name == "onprem-settings")
    assert [(p.path, p.old, p.new) for p in settings.changes] == [("models[0].maxModelLen", 8192, 16384)]
    assert diff.unchanged == len(k8s_plan["resources"]) - 2
    assert diff.outputs == []


def test_max_model_len_on_aws_updates_the_bundle_not_the_instance(tmp_path: Path, aws_plan: dict[str, Any]) -> None:
    """The host's config is a bundle in S3 with a manifest in SSM: a change updates them, never the instance."""

    def edit(config: dict[str, Any]) -> None:
        config["llmscale:models"][0]["maxModelLen"] = 16384

    assert resource(aws_plan, "single-gpu-gpu")["inputs"]["userDataReplaceOnChange"] is True
    diff = diff_plans(aws_plan, variant(tmp_path, "single-gpu", edit))
    assert (diff.added, diff.removed, diff.replaced, diff.possibly_replaced) == ([], [], [], [])
    assert names(diff.changed) == [
        "single-gpu-bundle-docker-compose-yml",
        "single-gpu-bundle-manifest",
        "single-gpu-settings",
    ]
    compose = only_change(diff.changed, "single-gpu-bundle-docker-compose-yml")
    assert paths(compose) == ["content"]
    text = render_diff_text(diff)
    assert '+      - "16384"' in text  # the compose file shows as a line diff
    assert "single-gpu-gpu" not in text


def test_instance_type_updates_the_instance_in_place_with_a_note(tmp_path: Path, aws_plan: dict[str, Any]) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["llmscale:gpu"]["instanceType"] = "g6e.2xlarge"

    diff = diff_plans(aws_plan, variant(tmp_path, "single-gpu", edit))
    assert (diff.added, diff.removed, diff.replaced) == ([], [], [])
    changed = {c.resource.name: c for c in diff.changed}
    instance = changed.pop("single-gpu-gpu")
    (prop,) = [p for p in instance.changes if p.path == "instanceType"]
    assert (prop.kind, prop.old, prop.new, prop.forces_replacement) == ("update", "g6e.xlarge", "g6e.2xlarge", False)
    assert prop.note is not None
    assert "stopping and starting" in prop.note
    assert not instance.replaced
    # Anything else the instance type touches (the capacity lookup is an invoke, not a resource) is an update too.
    assert all(not c.replaced for c in changed.values())


def test_vpc_cidr_replaces_the_network_and_what_sits_in_it(tmp_path: Path, aws_plan: dict[str, Any]) -> None:
    """The VPC and subnet are replaced; the instance, security group and routes may be (their ids are unknown);
    the internet gateway, which takes the new VPC's id in place, is updated."""

    def edit(config: dict[str, Any]) -> None:
        config.setdefault("llmscale:host", {})["vpcCidr"] = "10.50.0.0/16"

    diff = diff_plans(aws_plan, variant(tmp_path, "single-gpu", edit))
    assert (diff.added, diff.removed) == ([], [])
    assert names(diff.replaced) == ["single-gpu-net-public", "single-gpu-net-vpc"]
    vpc = only_change(diff.replaced, "single-gpu-net-vpc")
    subnet = only_change(diff.replaced, "single-gpu-net-public")
    assert vpc.resource.type == "aws:ec2/vpc:Vpc"
    assert subnet.resource.type == "aws:ec2/subnet:Subnet"
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in vpc.changes] == [
        ("cidrBlock", "10.42.0.0/16", "10.50.0.0/16", True)
    ]
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in subnet.changes] == [
        ("cidrBlock", "10.42.0.0/24", "10.50.0.0/24", True)
    ]
    maybe = {
        (c.resource.name, c.resource.type): [(p.path, p.uncertain, p.maybe, p.note) for p in c.changes]
        for c in diff.possibly_replaced
    }
    # Each with the chain it comes through: the subnet's name is shared with its route table, so types tell apart.
    vpc_cause = "single-gpu-net-vpc (replace: cidrBlock)"
    from_subnet = f"known after apply; reads single-gpu-net-public [Subnet] ← {vpc_cause}"
    from_vpc = f"known after apply; reads {vpc_cause}"
    assert maybe == {
        ("single-gpu-gpu", INSTANCE): [
            ("subnetId", True, True, from_subnet),
            ("vpcSecurityGroupIds", True, False, f"known after apply; reads single-gpu-https ← {vpc_cause}"),
        ],
        ("single-gpu-https", "aws:ec2/securityGroup:SecurityGroup"): [("vpcId", True, True, from_vpc)],
        ("single-gpu-net-public", "aws:ec2/routeTable:RouteTable"): [("vpcId", True, True, from_vpc)],
        ("single-gpu-net-public", "aws:ec2/routeTableAssociation:RouteTableAssociation"): [
            ("subnetId", True, True, from_subnet),  # what may replace it first
            ("routeTableId", True, False, f"known after apply; reads single-gpu-net-public [RouteTable] ← {vpc_cause}"),
        ],
    }
    # Inputs that read a replaced resource but do not force replacement: updated in place.
    assert {c.resource.name for c in diff.changed} >= {"single-gpu-net-igw"}
    for update in diff.changed:
        assert all(p.uncertain and not p.forces_replacement for p in update.changes), update
    assert diff.unchanged == len(aws_plan["resources"]) - 6 - len(diff.changed)
    assert "2 to replace, 4 may be replaced" in diff.summary_line()
    text = render_diff_text(diff)
    assert re.search(r"^ \+-\? aws:ec2/instance:Instance +single-gpu-gpu  \(may be replaced: subnetId\)$", text, re.M)
    assert "~ subnetId  (may force replacement; known after apply; reads single-gpu-net-public" in text


def test_a_replaced_instance_does_not_drag_its_role_policies_along(aws_plan: dict[str, Any]) -> None:
    """Policies depend on the instance (its ARN) and on their role: an unknown `role` comes from the Role."""
    new = copy.deepcopy(aws_plan)
    resource(new, "single-gpu-gpu")["inputs"]["keyName"] = "ops"
    diff = diff_plans(aws_plan, new)
    assert names(diff.replaced) == ["single-gpu-gpu"]
    dependents = [r["name"] for r in aws_plan["resources"] if "single-gpu-gpu" in r["dependsOn"]]
    assert "single-gpu-recovery-restart" in dependents
    assert diff.possibly_replaced == []


def test_adding_a_profile_creates_its_resources_and_updates_the_shared_ones(
    tmp_path: Path, k8s_plan: dict[str, Any]
) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["llmscale:models"].append(
            {"name": "code", "model": "Qwen/Qwen2.5-Coder-7B-Instruct", "minReplicas": 2, "maxReplicas": 3}
        )

    new = variant(tmp_path, "onprem", edit)
    diff = diff_plans(k8s_plan, new)
    old_urns = {r["urn"] for r in k8s_plan["resources"]}
    expected = sorted(r["name"] for r in new["resources"] if r["urn"] not in old_urns)
    assert names(diff.added) == expected
    assert {"onprem-code", "onprem-code-deployment", "onprem-code-service", "onprem-gateway-code-route"} <= set(
        expected
    )
    assert all("code" in name for name in expected)
    assert diff.removed == []
    assert diff.replaced == []
    # The gateway's API-key policy now also protects the new route.
    security = only_change(diff.changed, "onprem-gateway-api-keys-policy")
    targets = resource(k8s_plan, "onprem-gateway-api-keys-policy")["inputs"]["spec"]["targetRefs"]
    ((path, kind, new_value),) = [(p.path, p.kind, p.new) for p in security.changes]
    assert (path, kind) == (f"spec.targetRefs[{len(targets)}]", "add")
    assert new_value["name"] == "code"
    # Every updated resource changed because of the new profile.
    for change in diff.changed:
        assert all("code" in json.dumps(p.new) for p in change.changes), (change.resource.name, paths(change))
    outputs = {p.path: p for p in diff.outputs}
    assert outputs["baseUrls.code"].kind == "add"
    assert outputs["baseUrls.code"].new == "https://llm.corp.example.com/code/v1"
    assert outputs[f"models[{len(k8s_plan['outputs']['models'])}]"].new == "code"
    assert diff.counts[DEPLOYMENT] == (4, 6)  # each profile: its vLLM Deployment and its endpoint picker
    assert diff.counts["llmscale:index:VllmModel"] == (2, 3)


def test_removing_a_profile_deletes_its_resources(tmp_path: Path, k8s_plan: dict[str, Any]) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["llmscale:models"] = [m for m in config["llmscale:models"] if m["name"] != "analysis"]

    diff = diff_plans(k8s_plan, variant(tmp_path, "onprem", edit))
    expected = sorted(r["name"] for r in k8s_plan["resources"] if "-analysis" in r["name"])
    assert names(diff.removed) == expected
    assert {"onprem-analysis", "onprem-analysis-deployment", "onprem-gateway-analysis-route"} <= set(expected)
    assert diff.added == []
    assert diff.replaced == []
    security = only_change(diff.changed, "onprem-gateway-api-keys-policy")
    targets = resource(k8s_plan, "onprem-gateway-api-keys-policy")["inputs"]["spec"]["targetRefs"]
    index = [t["name"] for t in targets].index("analysis")
    assert [(p.path, p.kind, p.old["name"]) for p in security.changes] == [
        (f"spec.targetRefs[{index}]", "delete", "analysis")
    ]
    for change in diff.changed:
        assert all("analysis" in json.dumps(p.old) for p in change.changes), (change.resource.name, paths(change))
    assert {p.path: p.kind for p in diff.outputs}["baseUrls.analysis"] == "delete"
    assert diff.counts[DEPLOYMENT] == (4, 2)  # each profile: its vLLM Deployment and its endpoint picker
    text = render_diff_text(diff)
    assert " -   kubernetes:apps/v1:Deployment" in text
    assert f"0 to create, {len(expected)} to delete, 0 to replace" in text


def test_plans_of_different_stacks_are_compared_with_a_warning(
    aws_plan: dict[str, Any], k8s_plan: dict[str, Any]
) -> None:
    diff = diff_plans(aws_plan, k8s_plan)
    assert len(diff.warnings) == 1
    assert "different stacks" in diff.warnings[0]
    assert len(diff.added) == len(k8s_plan["resources"])
    assert len(diff.removed) == len(aws_plan["resources"])
    assert diff.unchanged == 0
    settings = {c.path: (c.old, c.new) for c in diff.settings}
    assert settings["tier"] == ("single-gpu", "multi-gpu")
    assert settings["platform"] == ("aws", "kubernetes")
    assert diff.stack_label == "single-gpu → onprem"
    assert "warning: the plans are of different stacks" in render_diff_text(diff)


# --- replacements the engine would make: provider moves, ForceNew inputs, cascades --------------------


def actions(diff: PlanDiff) -> dict[tuple[str, str], str]:
    """(type, name) → action of every resource in either plan."""
    return {(a.resource.type, a.resource.name): a.action for a in diff.resources}


def action_of(diff: PlanDiff, name: str, kind: str) -> ResourceAction:
    found = [a for a in diff.resources if a.resource.name == name and a.resource.type == kind]
    assert len(found) == 1, (name, kind)
    return found[0]


def test_a_region_move_replaces_every_resource_of_the_stack(edited: Callable[..., Any]) -> None:
    """`aws:region` is the default aws provider's config and `ForcesProviderReplace` (pulumi-aws resources.go):
    the provider is replaced, so is everything it manages, IAM and Route 53 included; the Kubernetes provider
    reads the replaced cluster's kubeconfig, so every object in the cluster goes too."""
    old, new = edited("region")
    diff = diff_plans(old, new)
    custom = {(r["type"], r["name"]) for r in new["resources"] if r["custom"]}
    assert {key for key, action in actions(diff).items() if action != "replace"} == {
        (r["type"], r["name"]) for r in new["resources"] if not r["custom"]
    }
    assert len(diff.replaced) == len(custom) > 80
    role = action_of(diff, "multi-gpu-eks-node", "aws:iam/role:Role")
    assert role.reasons == ("the default aws provider is replaced: region eu-west-1 → us-east-1",)
    assert [(c.path, c.old, c.new) for c in role.changes] == [("(provider).region", "eu-west-1", "us-east-1")]
    cluster_cause = "multi-gpu-eks-cluster [Cluster] (replace: (provider).region)"  # its IAM role has its name
    provider = action_of(diff, "multi-gpu-eks-k8s", "pulumi:providers:kubernetes")
    assert provider.reasons == (f"kubeconfig ← {cluster_cause}",)
    namespace = action_of(diff, "multi-gpu-namespace", "kubernetes:core/v1:Namespace")
    assert namespace.reasons == (f"(provider) ← multi-gpu-eks-k8s ← {cluster_cause}",)
    verdict = diff.verdict
    assert verdict.level == "destructive"
    assert verdict.text.startswith(f"DESTRUCTIVE: {len(custom)} to replace, including ")
    categories = {a.critical for a in verdict.critical}
    assert {"EKS cluster", "node group", "bucket", "KMS key", "NAT gateway", "namespace", "Deployment"} <= categories
    assert "1 EKS cluster (multi-gpu-eks-cluster)" in verdict.text
    assert render_diff_text(diff).startswith(f"Verdict: {verdict.text}\n")


@pytest.mark.slow
def test_a_standby_region_move_replaces_what_the_standby_provider_manages(edited: Callable[..., Any]) -> None:
    """The explicit `aws:Provider` of the standby region is replaced (its `region` forces it), with every resource
    under it; the primary region's resources stay, except those that read a standby resource's id."""
    old, new = edited("standby-region")
    diff = diff_plans(old, new)
    provider = action_of(diff, "enterprise-standby-region", "pulumi:providers:aws")
    assert (provider.action, provider.reasons) == ("replace", ("region forces replacement",))
    under_standby = [
        r for r in new["resources"] if r["provider"] in ("enterprise-standby-region", "enterprise-standby-eks-k8s")
    ]
    assert len(under_standby) > 90
    assert {actions(diff)[r["type"], r["name"]] for r in under_standby} == {"replace"}
    gpu = action_of(diff, "enterprise-standby-eks-gpu-0", "aws:eks/nodeGroup:NodeGroup")
    assert gpu.reasons[0] == "(provider) ← enterprise-standby-region (replace: region)"
    primary = [r for r in new["resources"] if r["custom"] and r["provider"] is None and "providers" not in r["type"]]
    primary_actions = {actions(diff)[r["type"], r["name"]] for r in primary}
    assert "replace" not in primary_actions and "possibly-replace" not in primary_actions
    for change in diff.changed:  # the failover record and the replication rules take the standby's new ids
        assert all(p.uncertain and not p.forces_replacement for p in change.changes), change
        assert all("enterprise-standby-region (replace: region)" in reason for reason in change.reasons)
    assert "enterprise-failover-secondary" in names(diff.changed)


def test_a_cluster_context_change_replaces_every_kubernetes_object(edited: Callable[..., Any]) -> None:
    """pulumi-kubernetes DiffConfig replaces its provider when the active cluster changes (context)."""
    old, new = edited("cluster-context")
    diff = diff_plans(old, new)
    provider = action_of(diff, "onprem-cluster", "pulumi:providers:kubernetes")
    assert (provider.action, provider.reasons) == ("replace", ("context forces replacement",))
    objects = [r for r in new["resources"] if r["type"].startswith("kubernetes:")]
    assert {actions(diff)[r["type"], r["name"]] for r in objects} == {"replace"}
    deployment = action_of(diff, "onprem-chat-deployment", DEPLOYMENT)
    assert deployment.reasons == ("(provider) ← onprem-cluster (replace: context)",)


def test_a_new_gpu_instance_type_replaces_the_gpu_node_group(edited: Callable[..., Any]) -> None:
    """`instance_types` is ForceNew in aws_eks_node_group: every GPU node is replaced, not updated."""
    old, new = edited("gpu-instance-type")
    diff = diff_plans(old, new)
    assert names(diff.replaced) == ["multi-gpu-eks-gpu"]
    (change,) = diff.replaced
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in change.changes] == [
        ("instanceTypes[0]", "g6e.xlarge", "g6e.2xlarge", True)
    ]
    assert action_of(diff, "multi-gpu-eks-system", "aws:eks/nodeGroup:NodeGroup").action == "unchanged"
    assert diff.verdict.text == (
        "DESTRUCTIVE: 1 to replace, including 1 that holds state or serves traffic: 1 node group (multi-gpu-eks-gpu)."
    )


def test_a_bigger_model_grows_the_gpu_disk_in_a_new_template_version_and_updates_the_node_group_in_place(
    edited: Callable[..., Any],
) -> None:
    """The GPU nodes' disk (the weights twice) is in their launch template. In terraform-provider-aws
    ec2_launch_template.go only `name`/`name_prefix` are ForceNew: a block device change is a new template version,
    and CustomizeDiff `ComputedIf("latest_version")` leaves the version unknown in the preview. The node group reads
    it in `launchTemplate.version`, which eks/node_group.go updates in place (UpdateNodegroupVersion rolls the nodes
    onto it); its ForceNew `launchTemplate.id` does not change, since an update keeps the template. So `pulumi up`
    updates both and replaces nothing."""
    old, new = edited("bigger-model")
    diff = diff_plans(old, new)
    assert diff.replaced == diff.possibly_replaced == []
    template = only_change(diff.changed, "multi-gpu-eks-gpu-nodes")
    assert template.resource.type == LAUNCH_TEMPLATE
    ((path, before, after, forces),) = [(p.path, p.old, p.new, p.forces_replacement) for p in template.changes]
    assert (path, before, forces) == ("blockDeviceMappings[0].ebs.volumeSize", 150, False)
    assert after > before
    gpu = action_of(diff, "multi-gpu-eks-gpu", NODE_GROUP)
    cause = "multi-gpu-eks-gpu-nodes (update: blockDeviceMappings[0].ebs.volumeSize)"
    assert gpu.action == "update"
    assert gpu.reasons == (f"launchTemplate ← {cause}",)
    renewed = "the update gives multi-gpu-eks-gpu-nodes a new defaultVersion, latestVersion"
    assert [(c.path, c.uncertain, c.forces_replacement, c.note) for c in gpu.changes] == [
        ("launchTemplate", True, False, f"known after apply; reads {cause}; {renewed}")
    ]
    # The system nodes have their own template, which does not change.
    assert action_of(diff, "multi-gpu-eks-system-nodes", LAUNCH_TEMPLATE).action == "unchanged"
    assert action_of(diff, "multi-gpu-eks-system", NODE_GROUP).action == "unchanged"
    assert diff.verdict.level == "in-place"
    assert re.search(r"^ ~ +aws:eks/nodeGroup:NodeGroup +multi-gpu-eks-gpu  \(update\)$", render_diff_text(diff), re.M)


def test_a_launch_template_gets_a_new_version_for_any_change_but_its_name_or_description(
    example_plans: Mapping[str, dict[str, Any]],
) -> None:
    """aws_launch_template's ComputedIf rules: `latest_version` is renewed by a change to anything but the name,
    description and default-version settings; `default_version` too, when `update_default_version` is set."""
    base = example_plans["multi-gpu"]
    described = copy.deepcopy(base)
    resource(described, "multi-gpu-eks-gpu-nodes")["inputs"]["description"] = "GPU nodes"
    diff = diff_plans(base, described)
    assert names(diff.changed) == ["multi-gpu-eks-gpu-nodes"]  # the node groups read no new version
    hop = copy.deepcopy(base)
    template = resource(hop, "multi-gpu-eks-gpu-nodes")["inputs"]
    template["metadataOptions"]["httpPutResponseHopLimit"] = 2
    template["updateDefaultVersion"] = False
    diff = diff_plans(base, hop)
    assert names(diff.changed) == ["multi-gpu-eks-gpu", "multi-gpu-eks-gpu-nodes"]
    (change,) = action_of(diff, "multi-gpu-eks-gpu", NODE_GROUP).changes
    assert change.note is not None and change.note.endswith(
        "the update gives multi-gpu-eks-gpu-nodes a new latestVersion"
    )
    assert diff.replaced == diff.possibly_replaced == []


def test_a_replaced_launch_template_may_replace_its_node_group(example_plans: Mapping[str, dict[str, Any]]) -> None:
    """A template renamed is a new template (`name` is ForceNew): the node group's `launchTemplate.id` then changes,
    and that is ForceNew in aws_eks_node_group."""
    base = example_plans["multi-gpu"]
    renamed = copy.deepcopy(base)
    resource(renamed, "multi-gpu-eks-gpu-nodes")["inputs"]["name"] = "gpu-nodes"
    diff = diff_plans(base, renamed)
    assert names(diff.replaced) == ["multi-gpu-eks-gpu-nodes"]
    gpu = action_of(diff, "multi-gpu-eks-gpu", NODE_GROUP)
    assert gpu.action == "possibly-replace"
    assert gpu.reasons == ("launchTemplate ← multi-gpu-eks-gpu-nodes (replace: name)",)


def test_a_storage_class_is_replaced_when_its_parameters_change(example_plans: Mapping[str, dict[str, Any]]) -> None:
    """pulumi-kubernetes diff.go forceNew for storage.k8s.io/v1 StorageClass: `.parameters` and `.provisioner`;
    other fields are updated in place."""
    base = example_plans["multi-gpu"]
    expandable = copy.deepcopy(base)
    resource(expandable, "multi-gpu-eks-storage-class")["inputs"]["allowVolumeExpansion"] = False
    assert action_of(diff_plans(base, expandable), "multi-gpu-eks-storage-class", STORAGE_CLASS).action == "update"
    io2 = copy.deepcopy(base)
    resource(io2, "multi-gpu-eks-storage-class")["inputs"]["parameters"]["type"] = "io2"
    diff = diff_plans(base, io2)
    change = only_change(diff.replaced, "multi-gpu-eks-storage-class")
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in change.changes] == [
        ("parameters.type", "gp3", "io2", True)
    ]
    assert diff.warnings == []


def test_an_envoy_proxy_is_updated_in_place_unless_renamed(k8s_plan: dict[str, Any]) -> None:
    """A custom resource: pulumi-kubernetes' forceNew table has no gateway.envoyproxy.io kinds, so only a new name
    or namespace replaces it."""
    new = copy.deepcopy(k8s_plan)
    proxy = resource(new, "onprem-gateway-proxy", ENVOY_PROXY)["inputs"]
    proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["replicas"] = 3
    diff = diff_plans(k8s_plan, new)
    assert action_of(diff, "onprem-gateway-proxy", ENVOY_PROXY).action == "update"
    assert diff.warnings == []
    proxy["metadata"]["name"] = "llmscale-proxy-2"
    renamed = action_of(diff_plans(k8s_plan, new), "onprem-gateway-proxy", ENVOY_PROXY)
    assert renamed.action == "replace"
    assert renamed.reasons[0] == "metadata.name forces replacement"


def test_a_bundle_object_is_updated_in_place_unless_its_key_changes(edited: Callable[..., Any]) -> None:
    """aws_s3_object (hashicorp/terraform-provider-aws internal/service/s3/object.go, pulumi-aws's BucketObjectv2):
    only `bucket` and `key` are ForceNew; a new `content` is uploaded over the object in place (resourceObjectUpdate
    calls resourceObjectUpload when hasObjectContentChanges). A new alert threshold thus touches two bundle files
    and the manifest, never the instance; a file stored under another key is a new object."""
    old, new = edited("error-rate-alert")
    diff = diff_plans(old, new)
    assert (diff.added, diff.removed, diff.replaced, diff.possibly_replaced) == ([], [], [], [])
    assert diff.warnings == []
    rules, dashboard = (
        "single-gpu-bundle-prometheus-rules-llmscale-yml",
        "single-gpu-bundle-grafana-dashboards-llmscale-json",
    )
    assert names(diff.changed) == sorted([dashboard, rules, "single-gpu-bundle-manifest", "single-gpu-settings"])
    for name in (rules, dashboard):
        action = action_of(diff, name, BUCKET_OBJECT)
        assert action.action == "update"
        assert [(p.path, p.forces_replacement, p.possibly) for p in action.changes] == [("content", False, False)]
    assert "request_error_ratio:rate5m > 0.005" in resource(new, rules, BUCKET_OBJECT)["inputs"]["content"]
    assert diff.summary_line().startswith("0 to create, 0 to delete, 0 to replace, 4 to update, ")

    moved = copy.deepcopy(new)
    resource(moved, rules, BUCKET_OBJECT)["inputs"]["key"] = "bundle/prometheus/rules/slo.yml"
    diff = diff_plans(new, moved)
    assert (names(diff.replaced), diff.changed, diff.possibly_replaced, diff.warnings) == ([rules], [], [], [])
    action = action_of(diff, rules, BUCKET_OBJECT)
    assert (action.action, action.reasons) == ("replace", ("key forces replacement",))
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in action.changes] == [
        ("key", "bundle/prometheus/rules/llmscale.yml", "bundle/prometheus/rules/slo.yml", True)
    ]


def test_an_eks_vpc_cidr_change_drags_node_groups_and_nat_gateway_along(edited: Callable[..., Any]) -> None:
    """The VPC and subnets are replaced; the node groups (`subnetIds` forces new) and the NAT gateway
    (`subnetId`) read the replaced subnets: possibly replaced, with the chain node group ← subnet ← VPC."""
    old, new = edited("eks-vpc-cidr")
    diff = diff_plans(old, new)
    assert names(diff.replaced) == sorted(
        [
            "multi-gpu-net-vpc",
            "multi-gpu-net-private-0",
            "multi-gpu-net-private-1",
            "multi-gpu-net-public-0",
            "multi-gpu-net-public-1",
        ]
    )
    cause = "multi-gpu-net-vpc (replace: cidrBlock)"
    for group in ("multi-gpu-eks-gpu", "multi-gpu-eks-system"):
        node_group = action_of(diff, group, "aws:eks/nodeGroup:NodeGroup")
        assert node_group.action == "possibly-replace"
        assert node_group.reasons == (f"subnetIds ← multi-gpu-net-private-0 [Subnet] ← {cause}",)
    nat = action_of(diff, "multi-gpu-net-nat-0", "aws:ec2/natGateway:NatGateway")
    assert (nat.action, nat.reasons) == ("possibly-replace", (f"subnetId ← multi-gpu-net-public-0 [Subnet] ← {cause}",))
    # The cluster takes new subnets in place (vpc_config.subnet_ids is not ForceNew), as does the gateway.
    assert action_of(diff, "multi-gpu-eks-cluster", "aws:eks/cluster:Cluster").action == "update"
    assert action_of(diff, "multi-gpu-net-igw", "aws:ec2/internetGateway:InternetGateway").action == "update"
    assert "2 node groups (multi-gpu-eks-system, multi-gpu-eks-gpu); 1 NAT gateway (multi-gpu-net-nat-0)" in (
        diff.verdict.text
    )
    text = render_diff_text(diff)
    assert (
        f"~ subnetIds  (may force replacement; known after apply; reads multi-gpu-net-private-0 [Subnet] ← {cause})"
        in text
    )


def test_a_deployment_selector_change_replaces_the_deployment(k8s_plan: dict[str, Any]) -> None:
    """A Deployment's selector is immutable (pulumi-kubernetes diff.go forceNew: `.spec.selector`): replaced,
    and the reviewer is told it serves traffic."""
    new = copy.deepcopy(k8s_plan)
    resource(new, "onprem-chat-deployment")["inputs"]["spec"]["selector"]["matchLabels"]["llmscale.io/track"] = "blue"
    diff = diff_plans(k8s_plan, new)
    deployment = action_of(diff, "onprem-chat-deployment", DEPLOYMENT)
    assert deployment.action == "replace"
    assert deployment.reasons == ('spec.selector.matchLabels["llmscale.io/track"] forces replacement',)
    assert diff.verdict.text == (
        "DESTRUCTIVE: 1 to replace, including 1 that holds state or serves traffic: 1 Deployment "
        "(onprem-chat-deployment)."
    )


def test_renaming_a_profile_deletes_its_resources_and_creates_new_ones(edited: Callable[..., Any]) -> None:
    old, new = edited("rename-profile")
    diff = diff_plans(old, new)
    deleted, created = names(diff.removed), names(diff.added)
    assert deleted and all("analysis" in name for name in deleted)
    assert created == sorted(name.replace("analysis", "reports") for name in deleted)
    assert diff.replaced == diff.possibly_replaced == []
    assert {a.action for a in diff.resources if "analysis" in a.resource.name} == {"delete"}
    assert diff.verdict.text.startswith(f"DESTRUCTIVE: {len(deleted)} to delete, including ")
    # The profile's vLLM Deployment and, with cache-aware routing, its endpoint picker's.
    assert "2 Deployments (onprem-analysis-epp-deployment, onprem-analysis-deployment)" in diff.verdict.text


def test_every_action_in_the_json_document(tmp_path: Path, edited: Callable[..., Any]) -> None:
    old, new = (copy.deepcopy(document) for document in edited("eks-vpc-cidr"))
    # A finding on both sides (the GPU headroom finding of a real plan): still failing.
    findings = edited("more-users")[1]["violations"]
    assert findings
    old["violations"], new["violations"] = copy.deepcopy(findings), copy.deepcopy(findings)
    old_file, new_file = tmp_path / "base.json", tmp_path / "new.json"
    old_file.write_text(json.dumps(old), encoding="utf-8")
    new_file.write_text(json.dumps(new), encoding="utf-8")
    result = run_diff(str(old_file), str(new_file), "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"verdict", "counts", "resources", "outputs", "policy", "schema"} <= set(document)
    assert document["verdict"]["level"] == "destructive"
    assert {c["name"] for c in document["verdict"]["critical"]} == {
        "multi-gpu-eks-gpu",
        "multi-gpu-eks-system",
        "multi-gpu-net-nat-0",
    }
    by_name = {(r["type"], r["name"]): r for r in document["resources"]}
    assert len(by_name) == len(document["resources"]) == len(new["resources"])
    for entry in document["resources"]:
        assert set(entry) >= {"urn", "type", "name", "action", "reasons"}
        assert entry["action"] in ("create", "delete", "replace", "possibly-replace", "update", "unchanged")
        assert all(isinstance(reason, str) for reason in entry["reasons"])
    assert Counter(r["action"] for r in document["resources"]) == {k: v for k, v in document["counts"].items() if v}
    gpu = by_name["aws:eks/nodeGroup:NodeGroup", "multi-gpu-eks-gpu"]
    cause = "multi-gpu-net-vpc (replace: cidrBlock)"
    assert gpu["action"] == "possibly-replace"
    assert gpu["changes"] == [
        {
            "path": "subnetIds",
            "kind": "update",
            "old": UNKNOWN_TEXT,
            "new": UNKNOWN_TEXT,
            "forcesReplacement": "possibly",
            "note": f"known after apply; reads multi-gpu-net-private-0 [Subnet] ← {cause}",
        }
    ]
    assert by_name["aws:ec2/vpc:Vpc", "multi-gpu-net-vpc"]["reasons"] == ["cidrBlock forces replacement"]
    assert document["policy"]["stillFailing"] == findings
    assert document["policy"]["new"] == document["policy"]["resolved"] == []
    assert document["schema"] == {"new": [], "resolved": [], "errorsAfter": 0}
    # One format at a time.
    both = run_diff(str(old_file), str(new_file), "--json", "--markdown")
    assert (both.exit_code, both.stdout) == (2, "")


def test_a_violation_that_persists_with_new_words_is_still_failing(tmp_path: Path, edited: Callable[..., Any]) -> None:
    """Still more users change the numbers in the GPU headroom finding; the rule still fails on the same resource."""

    def still_more_users(config: dict[str, Any]) -> None:
        config["llmscale:load"]["peakConcurrentUsers"] = 300

    _, old = edited("more-users")
    new = variant(tmp_path, "multi-gpu", still_more_users)
    diff = diff_plans(old, new)
    (old_finding,) = [v for v in old["violations"] if v["policy"] == "gpu-headroom-estimate"]
    (new_finding,) = [v for v in new["violations"] if v["policy"] == "gpu-headroom-estimate"]
    assert old_finding["message"] != new_finding["message"]
    assert (diff.new_violations, diff.resolved_violations) == ([], [])
    reworded = [v for v in diff.still_failing if v["policy"] == "gpu-headroom-estimate"]
    assert reworded == [{**new_finding, "previousMessage": old_finding["message"]}]
    assert len(diff.still_failing) == len(new["violations"])
    text = render_diff_text(diff)
    assert f"Policy violations: 0 new, 0 resolved, {len(diff.still_failing)} still failing" in text
    assert f"  still     advisory  gpu-headroom-estimate: {new_finding['message']}" in text
    assert f"    (was  advisory  gpu-headroom-estimate: {old_finding['message']}" in text
    assert "still failing, reworded" in diff_markdown(diff)


def test_violations_are_keyed_by_rule_and_resource() -> None:
    def finding(policy: str, resource: str | None, message: str, enforcement: str = "advisory") -> dict[str, Any]:
        return {"policy": policy, "enforcement": enforcement, "resource": resource, "message": message}

    old = [finding("tls", "gw", "plain HTTP"), finding("replicas", "a", "1 replica"), finding("tls", "gw2", "x")]
    new = [finding("tls", "gw", "plain HTTP on 80"), finding("replicas", "b", "1 replica"), finding("tls", "gw2", "x")]
    appeared, resolved, still = policy_changes(old, new)
    assert appeared == [finding("replicas", "b", "1 replica")]  # another resource: a new finding
    assert resolved == [finding("replicas", "a", "1 replica")]
    assert still == [
        finding("tls", "gw2", "x"),
        {**finding("tls", "gw", "plain HTTP on 80"), "previousMessage": "plain HTTP"},
    ]
    # A rule that became mandatory is still failing, and says what it was.
    (entry,) = policy_changes([finding("tls", "gw", "m")], [finding("tls", "gw", "m", "mandatory")])[2]
    assert entry["previousEnforcement"] == "advisory"


# --- the replace-on-change table -----------------------------------------------------------------------


def test_the_table_covers_every_type_the_example_stacks_register(example_plans: Mapping[str, dict[str, Any]]) -> None:
    """Generated by scripts/replace_table.py from the providers' source (replacements/SOURCES.md): a type the
    program registers without an entry would silently show every change as an update."""
    table = replace_table()
    registered = {r["type"] for document in example_plans.values() for r in document["resources"] if r["custom"]}
    assert registered - set(table) == set()
    vendored = json.loads(REPLACE_TABLE.read_text(encoding="utf-8"))
    sources = (REPLACE_TABLE.parent / "SOURCES.md").read_text(encoding="utf-8")
    for kind in registered:
        source = vendored["types"][kind]["source"]
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), kind
        assert source["repository"] in sources, kind
    for license_name in ("MPL-2.0", "Apache-2.0"):
        assert license_name in sources


def test_the_table_has_what_the_issue_cases_need() -> None:
    table = replace_table()

    def paths_of(kind: str) -> set[str]:
        return {format_path(rule.path) for rule in table[kind].rules if not rule.condition}

    assert {"instanceTypes", "diskSize", "subnetIds", "region"} <= paths_of("aws:eks/nodeGroup:NodeGroup")
    assert {"cidrBlock", "vpcId", "availabilityZone"} <= paths_of("aws:ec2/subnet:Subnet")
    assert "subnetId" in paths_of("aws:ec2/natGateway:NatGateway")
    assert "spec.selector" in paths_of(DEPLOYMENT)
    assert "spec.clusterIP" in paths_of(SERVICE)
    assert "region" in paths_of("pulumi:providers:aws")
    assert {"kubeconfig", "context"} <= paths_of("pulumi:providers:kubernetes")
    # Global services take no region input (pulumi-aws 7): only their provider moves them.
    assert "region" not in paths_of("aws:iam/role:Role")
    assert "name" in paths_of("aws:cloudwatch/metricAlarm:MetricAlarm")  # Terraform's alarm_name, renamed


def test_a_configmap_change_replaces_it_unless_the_provider_makes_configmaps_mutable(k8s_plan: dict[str, Any]) -> None:
    """pulumi-kubernetes replaces a ConfigMap whose data changes, unless `enableConfigMapMutable` is set."""
    new = copy.deepcopy(k8s_plan)
    dashboard = resource(new, "onprem-monitoring-dashboard", "kubernetes:core/v1:ConfigMap")["inputs"]
    key = next(iter(dashboard["data"]))
    dashboard["data"][key] += " "
    assert names(diff_plans(k8s_plan, new).replaced) == ["onprem-monitoring-dashboard"]
    old = copy.deepcopy(k8s_plan)
    for document in (old, new):
        resource(document, "onprem-cluster")["inputs"]["enableConfigMapMutable"] = "true"
    diff = diff_plans(old, new)
    assert (names(diff.replaced), names(diff.changed)) == ([], ["onprem-monitoring-dashboard"])


def test_conditional_rules(aws_plan: dict[str, Any], example_plans: Mapping[str, dict[str, Any]]) -> None:
    """Upstream rules that replace only sometimes: evaluated when the plans tell (an SSM parameter's tier going
    from Advanced to Standard), "possibly replaced" when they cannot (EKS encryption config, CustomizeDiff)."""
    old, new = copy.deepcopy(aws_plan), copy.deepcopy(aws_plan)
    _ssm_value(old)["tier"], _ssm_value(new)["tier"] = "Advanced", "Standard"
    assert names(diff_plans(old, new).replaced) == ["single-gpu-api-keys"]
    assert names(diff_plans(new, old).changed) == ["single-gpu-api-keys"]  # Standard → Advanced: in place
    eks = example_plans["multi-gpu"]
    changed = copy.deepcopy(eks)
    resource(changed, "multi-gpu-eks-cluster", "aws:eks/cluster:Cluster")["inputs"]["encryptionConfig"][
        "resources"
    ] = []
    diff = diff_plans(eks, changed)
    change = only_change(diff.possibly_replaced, "multi-gpu-eks-cluster")
    assert [(p.path, p.maybe) for p in change.changes] == [("encryptionConfig.resources[0]", True)]
    assert "CustomizeDiff" in str(change.changes[0].note)


def test_an_input_the_table_knows_nothing_about_may_replace(example_plans: Mapping[str, dict[str, Any]]) -> None:
    """An SDK input newer than the provider source the table was read from: the diff cannot say, so it says so."""
    assert ("deletionProtection",) in replace_table()["aws:eks/cluster:Cluster"].unverified
    old = example_plans["multi-gpu"]
    new = copy.deepcopy(old)
    resource(new, "multi-gpu-eks-cluster", "aws:eks/cluster:Cluster")["inputs"]["deletionProtection"] = True
    change = only_change(diff_plans(old, new).possibly_replaced, "multi-gpu-eks-cluster")
    assert "no replace rule known for this input" in str(change.changes[0].note)


def test_the_programs_own_replace_on_changes_is_honoured(aws_plan: dict[str, Any]) -> None:
    old, new = copy.deepcopy(aws_plan), copy.deepcopy(aws_plan)
    for document in (old, new):
        resource(document, "single-gpu-ip")["replaceOnChanges"] = ["tags"]
    resource(new, "single-gpu-ip")["inputs"]["tags"]["team"] = "ml"
    assert only_change(diff_plans(old, new).replaced, "single-gpu-ip").replace_reasons == ["tags.team"]


def test_plans_without_property_dependencies_fall_back_to_names(aws_plan: dict[str, Any]) -> None:
    """Plans written before inputs recorded their sources: the cascade is guessed from names, with a warning."""
    old = copy.deepcopy(aws_plan)
    old.pop("providerConfig")
    for entry in old["resources"]:
        for key in ("propertyDependencies", "providerUrn", "replaceOnChanges"):
            entry.pop(key)
    new = copy.deepcopy(old)
    resource(new, "single-gpu-net-vpc")["inputs"]["cidrBlock"] = "10.1.0.0/16"
    diff = diff_plans(old, new)
    assert "guessed from names" in diff.warnings[0]
    assert names(diff.replaced) == ["single-gpu-net-vpc"]
    assert "single-gpu-net-public" in names(diff.possibly_replaced)
    # A region change still replaces everything: the old `region` field stands for the provider config.
    moved = copy.deepcopy(old)
    moved["region"] = "us-east-1"
    assert len(diff_plans(old, moved).replaced) == sum(1 for r in old["resources"] if r["custom"])


def test_plans_record_the_default_providers_config_without_credentials(k8s_plan: dict[str, Any]) -> None:
    """What a diff needs to see a provider move, and nothing that could be a credential."""
    values = {k: v for k, v in example_config("onprem").items() if not (isinstance(v, dict) and set(v) == {"secure"})}
    kubeconfig = "apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: TOKEN-should-never-print\n"
    values.update({"kubernetes:kubeconfig": kubeconfig, "kubernetes:context": "a", "aws:secretKey": "SECRET-KEY"})
    secrets = {"llmscale:apiKeys": json.dumps({"team": OLD_KEY}), "llmscale:hfToken": OLD_TOKEN}
    values.update(secrets)
    config, region = parse_values(values, frozenset(secrets), "stacks/Pulumi.onprem.yaml")
    loaded = LoadedStack(
        name="onprem",
        source="stacks/Pulumi.onprem.yaml",
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=frozenset(secrets),
    )
    document = plan_document(run_program(loaded, program))
    recorded = document["providerConfig"]["kubernetes"]
    assert recorded["context"] == "a"
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", recorded["kubeconfig"])
    assert "aws" not in document["providerConfig"]
    assert "TOKEN-should-never-print" not in json.dumps(document)
    assert "SECRET-KEY" not in json.dumps(document)
    # A resource on the default Kubernetes provider is replaced when that provider's context changes.
    old = copy.deepcopy(k8s_plan)
    namespace = resource(old, "onprem-namespace")
    namespace["provider"] = namespace["providerUrn"] = None
    old["providerConfig"] = {"kubernetes": {"context": "a"}}
    new = copy.deepcopy(old)
    new["providerConfig"]["kubernetes"]["context"] = "b"
    change = only_change(diff_plans(old, new).replaced, "onprem-namespace")
    assert change.reasons == ("the default kubernetes provider is replaced: context a → b",)


# --- secrets ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["single-gpu", "onprem"])
def test_a_changed_secret_never_shows_its_plaintext(stack: str) -> None:
    old = with_secrets(stack, {"llmscale:apiKeys": json.dumps({"team": OLD_KEY}), "llmscale:hfToken": OLD_TOKEN})
    new = with_secrets(
        stack,
        {"llmscale:apiKeys": json.dumps({"team": NEW_KEY, "other": NEW_KEY[::-1]}), "llmscale:hfToken": NEW_TOKEN},
    )
    diff = diff_plans(old, new)
    printed = everything_printed(diff)
    for plaintext in (OLD_KEY, NEW_KEY, NEW_KEY[::-1], OLD_TOKEN, NEW_TOKEN):
        assert plaintext not in printed
        for change in (*diff.changed, *diff.replaced):
            assert all(plaintext not in json.dumps([p.old, p.new]) for p in change.changes)
    # Secrets compare redacted: whatever the program derives from them, the values themselves never differ.
    for change in (*diff.changed, *diff.replaced):
        for prop in change.changes:
            assert REDACTED not in (prop.old, prop.new) or (prop.old, prop.new) == (REDACTED, REDACTED)


def _ssm_value(document: dict[str, Any]) -> dict[str, Any]:
    return resource(document, "single-gpu-api-keys", SSM_PARAMETER)["inputs"]


def test_a_secret_that_became_plain_shows_as_secret_on_both_sides(aws_plan: dict[str, Any]) -> None:
    assert _ssm_value(aws_plan)["value"] == REDACTED
    new = copy.deepcopy(aws_plan)
    _ssm_value(new)["value"] = PLAINTEXT
    diff = diff_plans(aws_plan, new)
    change = only_change(diff.changed, "single-gpu-api-keys")
    assert [(p.path, p.kind, p.old, p.new) for p in change.changes] == [("value", "update", REDACTED, REDACTED)]
    assert PLAINTEXT not in everything_printed(diff)


def test_a_plain_value_that_became_secret_shows_as_secret_on_both_sides(aws_plan: dict[str, Any]) -> None:
    old = copy.deepcopy(aws_plan)
    _ssm_value(old)["value"] = PLAINTEXT
    diff = diff_plans(old, aws_plan)
    change = only_change(diff.changed, "single-gpu-api-keys")
    assert [(p.old, p.new) for p in change.changes] == [(REDACTED, REDACTED)]
    assert PLAINTEXT not in everything_printed(diff)


def test_secrets_inside_structures_stay_redacted() -> None:
    # A structure holding a secret replaced by a scalar, and the SDK's wrapped secret form: neither side shows.
    changes = diff_values(
        {
            "env": {"token": REDACTED, "mode": "a"},
            "wrapped": {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": PLAINTEXT},
        },
        {"env": PLAINTEXT, "wrapped": "other"},
    )
    assert [(c.path, c.old, c.new) for c in changes] == [("env", REDACTED, REDACTED), ("wrapped", REDACTED, REDACTED)]
    # Strings the plan scrubbed (secret text replaced inside a longer string) are safe to show.
    (change,) = diff_values({"h": f"Bearer {REDACTED}"}, {"h": f"Token {REDACTED}"})
    assert (change.old, change.new) == (f"Bearer {REDACTED}", f"Token {REDACTED}")
    # Equal secrets are equal: a changed secret cannot be seen in redacted plans.
    assert diff_values({"a": REDACTED}, {"a": REDACTED}) == []


def test_values_compare_as_json() -> None:
    """`true` is not `1` (Python says it is); `2` and `2.0` are one JSON number; dict key order does not matter."""
    changes = diff_values(
        {"a": True, "b": [1, 0], "c": 2.0, "d": {"x": 1, "y": 2}},
        {"a": 1, "b": [1, False], "c": 2, "d": {"y": 2, "x": 1}},
    )
    assert [(c.path, c.old, c.new) for c in changes] == [("a", True, 1), ("b[1]", 0, False)]


# --- replacement, ignoreChanges and providers ------------------------------------------------------------


def test_kubernetes_immutable_fields_force_replacement(k8s_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(k8s_plan)
    deployment = resource(new, "onprem-chat-deployment")["inputs"]
    deployment["spec"]["selector"]["matchLabels"]["extra"] = "x"
    deployment["spec"]["template"]["metadata"].setdefault("labels", {})["extra"] = "x"
    service = resource(new, "onprem-chat-service")["inputs"]
    service["spec"]["clusterIP"] = "10.0.0.10"
    namespace = resource(new, "onprem-namespace")["inputs"]
    namespace["metadata"]["name"] = "llm-2"
    diff = diff_plans(k8s_plan, new)
    assert names(diff.replaced) == ["onprem-chat-deployment", "onprem-chat-service", "onprem-namespace"]
    assert only_change(diff.replaced, "onprem-chat-deployment").replace_reasons == ["spec.selector.matchLabels.extra"]
    assert "spec.template.metadata.labels.extra" in paths(only_change(diff.replaced, "onprem-chat-deployment"))
    assert only_change(diff.replaced, "onprem-chat-service").replace_reasons == ["spec.clusterIP"]
    assert only_change(diff.replaced, "onprem-namespace").replace_reasons == ["metadata.name"]
    assert diff.changed == []


def test_a_label_change_is_an_update_and_keys_with_dots_are_quoted(k8s_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(k8s_plan)
    service = resource(new, "onprem-chat-service")["inputs"]
    service["metadata"].setdefault("labels", {})["example.com/team"] = "ml"
    diff = diff_plans(k8s_plan, new)
    change = only_change(diff.changed, "onprem-chat-service")
    assert [(p.path, p.kind, p.new) for p in change.changes] == [('metadata.labels["example.com/team"]', "add", "ml")]
    assert diff.replaced == []


def test_user_data_without_replace_on_change_is_an_update(aws_plan: dict[str, Any]) -> None:
    old, new = copy.deepcopy(aws_plan), copy.deepcopy(aws_plan)
    for document in (old, new):
        resource(document, "single-gpu-gpu")["inputs"]["userDataReplaceOnChange"] = False
    resource(new, "single-gpu-gpu")["inputs"]["userData"] += "\n# one more line\n"
    diff = diff_plans(old, new)
    assert names(diff.changed) == ["single-gpu-gpu"]
    assert diff.replaced == []
    (prop,) = diff.changed[0].changes
    assert prop.path == "userData"
    assert not prop.forces_replacement
    # A multi-line string shows as a line diff, not as two copies of the whole text.
    text = render_diff_text(diff)
    assert "+# one more line" in text
    assert text.count("#cloud-config") == 0


def test_ignore_changes_are_set_aside(aws_plan: dict[str, Any]) -> None:
    """The instance ignores `ami` (a new AMI must not replace a running host): a known AMI is not a change."""
    assert resource(aws_plan, "single-gpu-gpu")["ignoreChanges"] == ["ami"]
    new = copy.deepcopy(aws_plan)
    resource(new, "single-gpu-gpu")["inputs"]["ami"] = "ami-0123456789abcdef0"
    diff = diff_plans(aws_plan, new)
    assert (diff.changed, diff.replaced) == ([], [])
    assert [(ref.name, path) for ref, path in diff.ignored] == [("single-gpu-gpu", "ami")]
    assert "Ignored (ignoreChanges" in render_diff_text(diff)
    # Without ignoreChanges the same change replaces the instance.
    resource(new, "single-gpu-gpu")["ignoreChanges"] = []
    assert only_change(diff_plans(aws_plan, new).replaced, "single-gpu-gpu").replace_reasons == ["ami"]


def test_a_value_becoming_known_or_unknown_is_a_change(aws_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(aws_plan)
    subnet = resource(new, "single-gpu-net-public", "aws:ec2/subnet:Subnet")["inputs"]
    assert subnet["availabilityZone"] == UNKNOWN_TEXT
    subnet["availabilityZone"] = "eu-west-1b"
    diff = diff_plans(aws_plan, new)
    change = only_change(diff.replaced, "single-gpu-net-public")
    assert [(p.path, p.old, p.new) for p in change.changes] == [("availabilityZone", UNKNOWN_TEXT, "eu-west-1b")]


def _with_provider(document: dict[str, Any], name: str, **inputs: str) -> dict[str, Any]:
    """A copy of the onprem cluster's provider under another name and config, added to the plan."""
    original = resource(document, "onprem-cluster", "pulumi:providers:kubernetes")
    provider = {**copy.deepcopy(original), "name": name, "urn": original["urn"].replace("onprem-cluster", name)}
    provider["inputs"].update(inputs)
    document["resources"].append(provider)
    return provider


def test_a_resource_moved_to_a_provider_for_another_cluster_is_replaced(k8s_plan: dict[str, Any]) -> None:
    """pulumi/pulumi step_generator.go `providerChanged`: a move is a replacement when the new provider's
    DiffConfig says so, i.e. when it points at another cluster (pulumi-kubernetes: context, kubeconfig)."""
    new = copy.deepcopy(k8s_plan)
    other = _with_provider(new, "another-cluster", context="another-context")
    namespace = resource(new, "onprem-namespace")
    namespace["provider"], namespace["providerUrn"] = "another-cluster", other["urn"]
    diff = diff_plans(k8s_plan, new)
    change = only_change(diff.replaced, "onprem-namespace")
    assert [(p.path, p.old, p.new) for p in change.changes] == [("(provider)", "onprem-cluster", "another-cluster")]
    assert change.reasons == ("moved to provider another-cluster, whose context differs: replaced",)
    assert names(diff.added) == ["another-cluster"]


def test_a_resource_moved_to_a_provider_for_the_same_cluster_is_not_replaced(k8s_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(k8s_plan)
    same = _with_provider(new, "same-cluster")
    namespace = resource(new, "onprem-namespace")
    namespace["provider"], namespace["providerUrn"] = "same-cluster", same["urn"]
    diff = diff_plans(k8s_plan, new)
    assert diff.replaced == []
    change = only_change(diff.changed, "onprem-namespace")
    assert [(p.path, p.forces_replacement, p.note) for p in change.changes] == [
        ("(provider)", False, "moved to provider same-cluster, whose config forces no replacement")
    ]


def test_a_resource_moved_to_an_unknown_provider_may_be_replaced(k8s_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(k8s_plan)
    resource(new, "onprem-namespace")["provider"] = "not-in-the-plan"
    resource(new, "onprem-namespace")["providerUrn"] = None
    change = only_change(diff_plans(k8s_plan, new).possibly_replaced, "onprem-namespace")
    assert [(p.path, p.old, p.new, p.maybe) for p in change.changes] == [
        ("(provider)", "onprem-cluster", "not-in-the-plan", True)
    ]


# --- outputs, counts, violations, schema errors ----------------------------------------------------------


def test_outputs_counts_violations_and_schema_errors(k8s_plan: dict[str, Any]) -> None:
    old, new = copy.deepcopy(k8s_plan), copy.deepcopy(k8s_plan)
    advisory = {"policy": "monitoring", "enforcement": "advisory", "resource": None, "message": "no alert rule"}
    mandatory = {"policy": "min-active-replicas", "enforcement": "mandatory", "resource": "x", "message": "one replica"}
    old["violations"] = [advisory, advisory, {**advisory, "message": "gone"}]
    new["violations"] = [advisory, mandatory]
    old["schemaErrors"] = ["Deployment a: spec.x: unknown field"]
    new["schemaErrors"] = ["Deployment b: spec.y: unknown field"]
    new["outputs"]["endpoint"] = "https://llm.example.com"
    new["outputs"]["models"] = ["chat"]
    new["counts"][DEPLOYMENT] = 5
    diff = diff_plans(old, new)
    assert diff.new_violations == [mandatory]
    assert diff.resolved_violations == [advisory, {**advisory, "message": "gone"}]  # one of the two duplicates
    assert diff.mandatory_after == 1
    assert diff.new_schema_errors == ["Deployment b: spec.y: unknown field"]
    assert diff.resolved_schema_errors == ["Deployment a: spec.x: unknown field"]
    assert diff.schema_errors_after == 1
    assert [(p.path, p.kind, p.old, p.new) for p in diff.outputs] == [
        ("endpoint", "update", "https://llm.corp.example.com", "https://llm.example.com"),
        ("models[1]", "delete", "analysis", None),
    ]
    assert diff.counts == {DEPLOYMENT: (k8s_plan["counts"][DEPLOYMENT], 5)}
    assert not diff.has_resource_changes
    assert diff.has_changes
    text = render_diff_text(diff)
    assert "Policy violations: 1 new, 2 resolved" in text
    assert "new       mandatory min-active-replicas [x]: one replica" in text
    assert "`llmscale plan` exits 1" in text


# --- property paths --------------------------------------------------------------------------------------


def test_paths_read_like_pulumi_property_paths() -> None:
    assert format_path(("spec", "template", "spec", "containers", 0, "args", 9)) == (
        "spec.template.spec.containers[0].args[9]"
    )
    assert format_path(("metadata", "labels", "app.kubernetes.io/name")) == 'metadata.labels["app.kubernetes.io/name"]'
    assert format_path(("tags", "llmscale:tier")) == "tags.llmscale:tier"
    assert format_path(("data", "3")) == 'data["3"]'
    assert parse_path('tags["Name"]') == ("tags", "Name")
    assert parse_path("spec.replicas") == ("spec", "replicas")
    assert parse_path("a[*].b") == ("a", "*", "b")


@given(st.lists(st.one_of(st.text(max_size=12), st.integers(min_value=0, max_value=999)), min_size=1, max_size=6))
def test_paths_round_trip(path: list[str | int]) -> None:
    assert parse_path(format_path(tuple(path))) == tuple(path)


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "not an llmscale plan"),
        ({"resources": []}, "no formatVersion"),
        ({"formatVersion": "1", "resources": []}, "positive integer"),
        ({"formatVersion": 99, "resources": []}, "newer than this llmscale reads"),
        ({"formatVersion": 1, "resources": {}}, "`resources` must be a list"),
        ({"formatVersion": 1, "resources": [{"type": "t", "name": "n"}]}, "resources[0] must have"),
        ({"formatVersion": 1, "resources": [{"urn": "u", "type": "t", "name": "n", "inputs": []}]}, "inputs must"),
        ({"formatVersion": 1, "resources": [], "violations": {}}, "`violations` must be a list"),
        ({"formatVersion": 1, "resources": [], "providerConfig": []}, "`providerConfig` must be an object"),
        (
            {"formatVersion": 1, "resources": [{"urn": "u", "type": "t", "name": "n", "propertyDependencies": []}]},
            "propertyDependencies must map inputs to URN lists",
        ),
    ],
)
def test_invalid_documents_are_rejected_with_a_reason(document: Any, reason: str) -> None:
    with pytest.raises(PlanFileError, match=re.escape(reason)) as raised:
        validate_plan(document, "plans/x.json")
    assert str(raised.value).startswith("plans/x.json: ")
    with pytest.raises(PlanFileError):
        diff_plans({"formatVersion": 1, "resources": []}, document)


def test_load_plan_reports_unreadable_files(tmp_path: Path, host_plan: dict[str, Any]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(host_plan), encoding="utf-8")
    assert load_plan(good) == host_plan
    with pytest.raises(PlanFileError, match="no such file"):
        load_plan(tmp_path / "missing.json")
    with pytest.raises(PlanFileError, match="is a directory"):
        load_plan(tmp_path)
    (tmp_path / "broken.json").write_text('{"formatVersion": 1,\n  "resources": [', encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"not valid JSON \(line 2"):
        load_plan(tmp_path / "broken.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(PlanFileError, match="cannot be read"):
        load_plan(tmp_path / "binary.json")


# --- text ------------------------------------------------------------------------------------------------


def test_text_says_preview_is_authoritative_and_uses_preview_markers(aws_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(aws_plan)
    resource(new, "single-gpu-net-vpc")["inputs"]["cidrBlock"] = "10.1.0.0/16"
    resource(new, "single-gpu-ip")["inputs"]["tags"]["team"] = "ml"
    new["resources"] = [r for r in new["resources"] if r["name"] != "single-gpu-ssm-core"]
    diff = diff_plans(aws_plan, new)
    text = render_diff_text(diff)
    # The VPC is replaced, and with it maybe the subnet, the security group, the route table, and through the
    # subnet the instance and the route table association; what reads their ids is updated.
    updated = len(diff.changed)
    assert updated > 1  # the address's tag, and the resources that read a (maybe) replaced id
    unchanged = len(aws_plan["resources"]) - 7 - updated
    assert text.startswith("Verdict: DESTRUCTIVE: 1 to replace, 5 may be replaced, 1 to delete, including 1 that ")
    assert AUTHORITATIVE_NOTE in text
    assert re.search(r"^ \+-  aws:ec2/vpc:Vpc +single-gpu-net-vpc  \(replace: cidrBlock\)$", text, re.M)
    assert re.search(r"^ ~   aws:ec2/eip:Eip +single-gpu-ip  \(update\)$", text, re.M)
    assert re.search(r"^ \+-\? aws:ec2/subnet:Subnet +single-gpu-net-public  \(may be replaced: vpcId\)$", text, re.M)
    assert re.search(
        r"^ -   aws:iam/rolePolicyAttachment:RolePolicyAttachment +single-gpu-ssm-core  \(delete\)$", text, re.M
    )
    assert '- "10.42.0.0/16"' in text
    assert '+ "10.1.0.0/16"' in text
    assert "+ tags.team" in text
    expected = f"0 to create, 1 to delete, 1 to replace, 5 may be replaced, {updated} to update, {unchanged} unchanged."
    assert text.rstrip().endswith(expected)


# --- the command -----------------------------------------------------------------------------------------


def diff_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A fresh app holding only the diff command."""

    register(app)
    return app


def run_diff(*args: str) -> Result:
    return CliRunner().invoke(diff_app(), ["diff", *args])


@pytest.fixture()
def plan_files(tmp_path: Path, aws_plan: dict[str, Any]) -> tuple[Path, Path]:
    new = copy.deepcopy(aws_plan)
    resource(new, "single-gpu-net-vpc")["inputs"]["cidrBlock"] = "10.1.0.0/16"
    _ssm_value(new)["value"] = PLAINTEXT
    old_file, new_file = tmp_path / "base.json", tmp_path / "new.json"
    old_file.write_text(json.dumps(aws_plan), encoding="utf-8")
    new_file.write_text(json.dumps(new), encoding="utf-8")
    return old_file, new_file


def test_cli_prints_the_diff_to_stdout_and_exits_0(plan_files: tuple[Path, Path]) -> None:
    result = run_diff(*map(str, plan_files))
    assert result.exit_code == 0, result.stderr
    assert "Plan diff for stack single-gpu" in result.stdout
    assert "single-gpu-net-vpc  (replace: cidrBlock)" in result.stdout
    assert PLAINTEXT not in result.stdout + result.stderr
    assert result.stderr == ""


def test_cli_identical_plans_exit_0(plan_files: tuple[Path, Path]) -> None:
    result = run_diff(str(plan_files[0]), str(plan_files[0]))
    assert result.exit_code == 0
    assert "No resource changes." in result.stdout


def test_cli_markdown(plan_files: tuple[Path, Path]) -> None:
    result = run_diff(*map(str, plan_files), "--markdown")
    assert result.exit_code == 0, result.stderr
    first, second, third = result.stdout.split("\n")[:3]
    assert first.startswith("**`single-gpu`: DESTRUCTIVE: 1 to replace, 5 may be replaced, including 1 that ")
    assert (second, third) == ("", "## llmscale diff: `single-gpu`")
    assert "```diff" in result.stdout
    assert PLAINTEXT not in result.stdout + result.stderr
    summary = diff_plans(*(json.loads(path.read_text(encoding="utf-8")) for path in plan_files)).summary_line()
    assert summary.startswith("0 to create, 0 to delete, 1 to replace, 5 may be replaced, ")
    assert result.stderr == f"single-gpu: {summary}\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"stack": "x"}', "not an llmscale plan"),
        ("[]", "not an llmscale plan"),
    ],
)
def test_cli_bad_input_exits_2(
    tmp_path: Path, plan_files: tuple[Path, Path], content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    for args in ((str(bad), str(plan_files[1])), (str(plan_files[0]), str(bad))):
        for extra in ((), ("--markdown",)):
            result = run_diff(*args, *extra)
            assert result.exit_code == 2
            assert result.stdout == ""
            assert result.stderr.startswith(f"{bad}: ")
            assert message in result.stderr
            assert "Traceback" not in result.stderr


def test_diff_comment_bad_input_exits_2(tmp_path: Path, host_plan: dict[str, Any]) -> None:
    app = diff_app()
    missing = CliRunner().invoke(app, ["diff-comment", str(tmp_path / "nowhere")])
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert missing.stderr == f"{tmp_path / 'nowhere'}: no such directory\n"
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "status").write_text("compard\n", encoding="utf-8")
    typo = CliRunner().invoke(app, ["diff-comment", str(tmp_path)])
    assert (typo.exit_code, typo.stdout) == (2, "")
    assert typo.stderr.startswith(f"{tmp_path / 'x' / 'status'}: must be one of compared, new, removed")
    # A compared stack whose plan is unreadable is reported, not fatal.
    (tmp_path / "x" / "status").write_text("compared\n", encoding="utf-8")
    (tmp_path / "x" / "new.json").write_text(json.dumps(host_plan), encoding="utf-8")
    (tmp_path / "x" / "base.json").write_text("{broken", encoding="utf-8")
    result = CliRunner().invoke(app, ["diff-comment", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "<b>x</b>: not compared: no usable plan on the base branch" in result.stdout
    assert "base.json: not valid JSON" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_missing_argument_is_a_usage_error() -> None:
    assert run_diff("only-one.json").exit_code == 2


# --- the example workflow --------------------------------------------------------------------------------


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_workflow_parses_and_runs_on_pull_requests() -> None:
    document = workflow()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "pull_request" in triggers
    jobs = document["jobs"]
    assert set(jobs) >= {"offline", "preview"}
    assert document["permissions"] == {"contents": "read"}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def test_workflow_offline_job_needs_no_credentials() -> None:
    offline = workflow()["jobs"]["offline"]
    text = yaml.safe_dump(offline)
    assert "secrets." not in text
    assert "id-token" not in json.dumps(offline.get("permissions", {}))
    runs = "\n".join(step.get("run", "") for step in _steps(offline))
    # The planning and comparing is scripts/pr-preview.sh, from the pull request's checkout (tested below).
    assert "bash pr/scripts/pr-preview.sh" in runs
    script = PREVIEW_SCRIPT.read_text(encoding="utf-8")
    assert '"$PR_LLMSCALE" plan "$stack" --json' in script
    assert '"$BASE_LLMSCALE" plan "$stack" --json' in script
    assert '"$PR_LLMSCALE" diff-comment' in script
    posting = next(step for step in _steps(offline) if "script" in step.get("with", {}))
    assert "out/comment.md" in posting["with"]["script"]
    checkouts = [s for s in _steps(offline) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert sorted(s["with"]["path"] for s in checkouts) == ["base", "pr"]


def test_workflow_cloud_preview_only_with_oidc_configured() -> None:
    preview = workflow()["jobs"]["preview"]
    assert "vars.AWS_ROLE_ARN != ''" in preview["if"]
    assert preview["permissions"]["id-token"] == "write"
    uses = [str(step.get("uses", "")) for step in _steps(preview)]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    pulumi = [s for s in _steps(preview) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert len(pulumi) == 1
    assert pulumi[0]["with"]["command"] == "preview"
    assert pulumi[0]["with"]["policyPacks"] == "policies"


def test_workflow_actions_are_pinned_by_version() -> None:
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), step["uses"]


def test_workflow_shell_steps_are_valid_bash() -> None:
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                script = re.sub(r"\$\{\{.*?\}\}", "x", step["run"])  # GitHub expressions are substituted first
                result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True, check=False)
                assert result.returncode == 0, (step.get("name"), result.stderr)


def test_workflow_comment_script_is_valid_javascript(tmp_path: Path) -> None:
    assert shutil.which("node"), "node is missing: it checks the workflow's JavaScript (Debian package nodejs)"
    scripts = [
        step["with"]["script"]
        for job in workflow()["jobs"].values()
        for step in job["steps"]
        if "script" in step.get("with", {})
    ]
    assert len(scripts) == 1
    source = tmp_path / "script.js"
    source.write_text(f"(async () => {{\n{scripts[0]}\n}})();\n", encoding="utf-8")  # github-script's wrapper
    result = subprocess.run(["node", "--check", str(source)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- the preview script the workflow runs ---------------------------------------------------------------

SHIM = """#!/usr/bin/env bash
# llmscale for one side of the test: `plan STACK --json [--markdown FILE]` answers from prepared plans;
# anything else (diff-comment) is the real llmscale.
set -euo pipefail
if [ "$1" = plan ]; then
  [ -d stacks ] || {{ echo "not run inside a checkout" >&2; exit 3; }}
  stack="$2"; shift 2; markdown=""
  while [ $# -gt 0 ]; do case "$1" in --markdown) markdown="$2"; shift 2;; *) shift;; esac; done
  if [ -f "{plans}/$stack.error" ]; then cat "{plans}/$stack.error" >&2; exit 2; fi
  if [ -n "$markdown" ]; then echo "Plan summary of $stack" > "$markdown"; fi
  cat "{plans}/$stack.json"
  exit "$(cat "{plans}/$stack.rc" 2>/dev/null || echo 0)"
fi
exec "{real}" "$@"
"""
INVALID = "stacks/Pulumi.broken.yaml: llmscale:tier: must be one of single-gpu, multi-gpu, enterprise"


def _preview_tree(
    tmp_path: Path, example_plans: Mapping[str, dict[str, Any]], edited: Callable[..., Any]
) -> dict[str, Path]:
    """Two checkouts (pull request, base branch) with their llmscale shims: one stack unchanged, one region move,
    one renamed profile, one new, one invalid, one removed."""
    real = Path(sys.executable).parent / "llmscale"
    sides = {
        "pr": {
            "single-gpu": example_plans["single-gpu"],
            "multi-gpu": edited("region")[1],
            "onprem": edited("rename-profile")[1],
            "brandnew": example_plans["single-gpu-host"],
            "broken": None,
        },
        "base": {
            "single-gpu": example_plans["single-gpu"],
            "multi-gpu": example_plans["multi-gpu"],
            "onprem": example_plans["onprem"],
            "gone": example_plans["single-gpu-host"],
        },
    }
    paths: dict[str, Path] = {}
    for side, plans in sides.items():
        checkout, prepared = tmp_path / side, tmp_path / f"{side}-plans"
        (checkout / "stacks").mkdir(parents=True)
        prepared.mkdir()
        for stack, document in plans.items():
            (checkout / "stacks" / f"Pulumi.{stack}.yaml").write_text("config: {}\n", encoding="utf-8")
            if document is None:
                (prepared / f"{stack}.error").write_text(INVALID + "\n", encoding="utf-8")
            else:
                (prepared / f"{stack}.json").write_text(json.dumps(document), encoding="utf-8")
        shim = tmp_path / f"{side}-llmscale"
        shim.write_text(SHIM.format(plans=prepared, real=real), encoding="utf-8")
        shim.chmod(0o755)
        paths[side], paths[f"{side}-llmscale"] = checkout, shim
    (tmp_path / "pr-plans" / "multi-gpu.rc").write_text("1\n", encoding="utf-8")  # findings on the pull request
    return paths


def _run_preview(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    variables = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OUT": "out", **env}
    return subprocess.run(
        ["bash", str(PREVIEW_SCRIPT)], cwd=tmp_path, env=variables, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_the_preview_script_writes_one_comment_for_every_stack(
    tmp_path: Path, example_plans: Mapping[str, dict[str, Any]], edited: Callable[..., Any]
) -> None:
    paths = _preview_tree(tmp_path, example_plans, edited)
    outputs, summary = tmp_path / "github-output", tmp_path / "step-summary"
    result = _run_preview(
        tmp_path,
        PR_LLMSCALE=str(paths["pr-llmscale"]),
        BASE_LLMSCALE=str(paths["base-llmscale"]),
        HEAD_SHA="1234567890abcdef",
        BASE_SHA="fedcba0987654321",
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    statuses = {path.name: (path / "status").read_text().strip() for path in (out / "stacks").iterdir()}
    assert statuses == {
        "brandnew": "new",
        "broken": "invalid",
        "gone": "removed",
        "multi-gpu": "compared",
        "onprem": "compared",
        "single-gpu": "compared",
    }
    comment = (out / "comment.md").read_text(encoding="utf-8")
    marker, verdict = comment.split("\n")[:2]
    assert marker == "<!-- llmscale-preview -->"
    assert verdict == (
        "**llmscale preview: DESTRUCTIVE.** 6 stacks: 2 destructive (`multi-gpu`, `onprem`); 1 invalid (`broken`); "
        "1 new (`brandnew`); 1 removed (`gone`); 1 unchanged."
    )
    assert "at 1234567, compared with the base branch at fedcba0." in comment
    # Unchanged and removed stacks: one line each. The others: a <details> block whose summary is the verdict.
    assert re.search(r"\n- `single-gpu`: no changes \(\d+ resources\)\.\n", comment)
    assert "\n- `gone`: removed. Deleting the stack file does not delete its resources" in comment
    assert comment.count("<details><summary><b>") == 4
    assert "<details><summary><b>multi-gpu</b>: DESTRUCTIVE: " in comment
    assert re.search(r"<details><summary><b>onprem</b>: DESTRUCTIVE: \d+ to delete, including ", comment)
    assert "<details><summary><b>brandnew</b>: new stack: 2 resources to create.</summary>" in comment
    assert INVALID in comment
    assert comment.index("<b>broken</b>") < comment.index("<b>multi-gpu</b>") < comment.index("<b>brandnew</b>")
    assert "**Failing:** `broken`, `multi-gpu`." in comment
    assert len(comment) < 65_536
    assert "Plan summary of" not in comment  # the plan summaries are in the job summary only
    assert "Plan summary of onprem" in summary.read_text(encoding="utf-8")
    failed = "broken (invalid stack); multi-gpu (mandatory policy violations or schema errors)"
    assert outputs.read_text(encoding="utf-8") == f"failed={failed}\n"
    assert (out / "failed").read_text(encoding="utf-8").splitlines() == failed.split("; ")


@pytest.mark.slow
def test_the_preview_script_without_the_base_branchs_llmscale(
    tmp_path: Path, example_plans: Mapping[str, dict[str, Any]], edited: Callable[..., Any]
) -> None:
    paths = _preview_tree(tmp_path, example_plans, edited)
    result = _run_preview(tmp_path, PR_LLMSCALE=str(paths["pr-llmscale"]), BASE_LLMSCALE=str(tmp_path / "missing"))
    assert result.returncode == 0, result.stderr
    comment = (tmp_path / "out" / "comment.md").read_text(encoding="utf-8")
    assert "3 not compared (`multi-gpu`, `onprem`, `single-gpu`)" in comment.split("\n")[1]
    assert "<b>single-gpu</b>: not compared: no usable plan on the base branch; see the job log." in comment


def test_the_preview_script_lists_the_stacks_for_the_cloud_preview(example_plans: Mapping[str, dict[str, Any]]) -> None:
    result = subprocess.run(
        ["bash", str(PREVIEW_SCRIPT), "aws-stacks", str(STACKS)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == sorted(stack for stack, d in example_plans.items() if d["platform"] == "aws")
    assert "scripts/pr-preview.sh aws-stacks" in yaml.safe_dump(workflow()["jobs"]["cloud-stacks"])


def test_the_preview_script_is_clean_bash() -> None:
    assert subprocess.run(["bash", "-n", str(PREVIEW_SCRIPT)], check=False).returncode == 0
    if shutil.which("shellcheck"):
        result = subprocess.run(["shellcheck", str(PREVIEW_SCRIPT)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def test_the_cloud_preview_creates_a_stack_new_in_the_pull_request() -> None:
    """pulumi/actions v6.6.1: `upsert` creates the stack (LocalWorkspace.createOrSelectStack) instead of failing."""
    (step,) = [s for s in _steps(workflow()["jobs"]["preview"]) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"]["upsert"] is True
