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
import re
import shutil
import subprocess
from collections.abc import Callable
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
    PlanDiff,
    PlanFileError,
    ResourceChange,
    diff_plans,
    diff_values,
    format_path,
    load_plan,
    parse_path,
    render_diff_text,
    validate_plan,
)
from llmscale.plan.markdown import diff_markdown
from llmscale.plan.recorder import REDACTED, SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program

STACKS = PACKAGE_ROOT / "stacks"
WORKFLOW = PACKAGE_ROOT / ".github" / "workflows" / "preview.yml"
INSTANCE = "aws:ec2/instance:Instance"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
PLAINTEXT = "hunter2-PLAINTEXT-should-never-print"
OLD_KEY, NEW_KEY = "sk-live-OLDkey0123456789abcdef", "sk-live-NEWkey9876543210fedcba"
OLD_TOKEN, NEW_TOKEN = "hf_OLDtokenABCDEFGHIJKLMNOPQRS", "hf_NEWtokenZYXWVUTSRQPONMLKJIH"


# --- helpers ---------------------------------------------------------------------------------------------


def plan(ref: str) -> dict[str, Any]:
    return plan_document(run_program(load_stack(ref), program))


def stack_config(stack: str) -> dict[str, Any]:
    return yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]


def variant(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The plan of an example stack with one change to its config, from a stack file of the same name."""
    config = stack_config(stack)
    edit(config)
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return plan(str(path))


def with_secrets(stack: str, secrets: dict[str, str]) -> dict[str, Any]:
    """The plan of an example stack whose secrets are decrypted (as during `pulumi up`) to these values."""
    values = {k: v for k, v in stack_config(stack).items() if not (isinstance(v, dict) and set(v) == {"secure"})}
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


@pytest.fixture(scope="module")
def aws_plan() -> dict[str, Any]:
    return plan("single-gpu")


@pytest.fixture(scope="module")
def k8s_plan() -> dict[str, Any]:
    return plan("onprem")


@pytest.fixture(scope="module")
def host_plan() -> dict[str, Any]:
    return plan("single-gpu-host")


# --- identical plans -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["single-gpu", "single-gpu-host", "onprem"])
def test_two_runs_of_the_same_stack_differ_in_nothing(stack: str) -> None:
    first, second = plan(stack), plan(stack)
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
    """The VPC and subnet are replaced; the instance, security group and routes may be (their ids are unknown)."""

    def edit(config: dict[str, Any]) -> None:
        config.setdefault("llmscale:host", {})["vpcCidr"] = "10.50.0.0/16"

    diff = diff_plans(aws_plan, variant(tmp_path, "single-gpu", edit))
    assert (diff.added, diff.removed, diff.changed) == ([], [], [])
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
        (c.resource.name, c.resource.type): [(p.path, p.uncertain, p.forces_replacement, p.note) for p in c.changes]
        for c in diff.possibly_replaced
    }
    from_subnet = "known after apply; comes from replaced single-gpu-net-public"
    from_vpc = "known after apply; comes from replaced single-gpu-net-vpc"
    assert maybe == {
        ("single-gpu-gpu", INSTANCE): [("subnetId", True, True, from_subnet)],
        ("single-gpu-https", "aws:ec2/securityGroup:SecurityGroup"): [("vpcId", True, True, from_vpc)],
        ("single-gpu-net-public", "aws:ec2/routeTable:RouteTable"): [("vpcId", True, True, from_vpc)],
        ("single-gpu-net-public", "aws:ec2/routeTableAssociation:RouteTableAssociation"): [
            ("subnetId", True, True, from_subnet)
        ],
    }
    assert diff.unchanged == len(aws_plan["resources"]) - 6
    assert "2 to replace, 4 may be replaced, 0 to update" in diff.summary_line()
    text = render_diff_text(diff)
    assert re.search(r"^ \+-\? aws:ec2/instance:Instance +single-gpu-gpu  \(may be replaced: subnetId\)$", text, re.M)
    assert "~ subnetId  (may force replacement; known after apply" in text


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
    assert outputs["baseUrls.code"].new == "http://llm.corp.example.com/code/v1"
    assert outputs[f"models[{len(k8s_plan['outputs']['models'])}]"].new == "code"
    assert diff.counts[DEPLOYMENT] == (2, 3)
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
    assert diff.counts[DEPLOYMENT] == (2, 1)
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


def test_a_provider_change_replaces_the_resource(k8s_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(k8s_plan)
    resource(new, "onprem-namespace")["provider"] = "another-cluster"
    change = only_change(diff_plans(k8s_plan, new).replaced, "onprem-namespace")
    assert [(p.path, p.old, p.new) for p in change.changes] == [("(provider)", "onprem-cluster", "another-cluster")]


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
        ("endpoint", "update", "http://llm.corp.example.com", "https://llm.example.com"),
        ("models[1]", "delete", "analysis", None),
    ]
    assert diff.counts == {DEPLOYMENT: (2, 5)}
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
    text = render_diff_text(diff_plans(aws_plan, new))
    # The VPC is replaced, and with it maybe the subnet, the security group, the route table, and through the
    # subnet the instance and the route table association.
    unchanged = len(aws_plan["resources"]) - 8
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
    expected = f"0 to create, 1 to delete, 1 to replace, 5 may be replaced, 1 to update, {unchanged} unchanged."
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
    assert result.stdout.startswith("## llmscale diff: `single-gpu`\n")
    assert "```diff" in result.stdout
    assert PLAINTEXT not in result.stdout + result.stderr
    summary = diff_plans(*(json.loads(path.read_text(encoding="utf-8")) for path in plan_files)).summary_line()
    assert summary.startswith("0 to create, 0 to delete, 1 to replace, 5 may be replaced, 1 to update,")
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
    assert "llmscale plan" in runs
    assert "--json" in runs
    assert "llmscale diff" in runs
    assert "--markdown" in runs
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
