"""Tests for the CrossGuard adapter: the policy set as pulumi-policy stack validations, run without a PolicyPack.

`pulumi preview --policy-pack policies` runs the same rule functions as `llmscale plan`; these tests feed the
adapted validations PolicyResources built from the records of real offline plans and check that they report
exactly what `evaluate()` reports, at the enforcement level of the stack's tier, against the records' URNs.

The last tests go through pulumi-policy's own analyzer servicer (`_PolicyAnalyzerServicer.AnalyzeStack`, what
the engine calls), whose resources carry read-only proxies, unknown values during preview and unwrapped
secrets: the adapter must give the same answers there.

`policies/__main__.py` is never imported: constructing a PolicyPack blocks, waiting for the engine.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.recorder import UNKNOWN_TEXT
from llmscale.policy import redundancy
from llmscale.policy.crossguard import PACK_NAME, crossguard_policies, inventory_from_crossguard, validator
from llmscale.policy.model import Enforcement, Finding, Inventory, Policy, Record
from llmscale.policy.pack import POLICIES, evaluate, inventory_from_plan
from llmscale.policy.settings import SETTINGS_TYPE
from llmscale.serving import metrics
from tests.helpers import edit

EXAMPLE_STACKS = ("single-gpu", "single-gpu-host", "onprem", "multi-gpu")
POLICY = {policy.name: policy for policy in POLICIES}
M, A = Enforcement.MANDATORY, Enforcement.ADVISORY
LEVELS = {M: EnforcementLevel.MANDATORY, A: EnforcementLevel.ADVISORY}
POLICIES_DIR = PACKAGE_ROOT / "policies"

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
HF_TOKEN = "hf_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3h"

Report = tuple[str, EnforcementLevel, str, str | None]  # (adapted policy name, level, message, urn)


# --- helpers ---------------------------------------------------------------------------------------------


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def policy_resources(inventory: Inventory, parents: dict[str, str | None]) -> list[PolicyResource]:
    """The inventory's records as CrossGuard hands resources to a stack policy (parents and dependencies linked)."""
    resources = {
        r.urn: PolicyResource(
            resource_type=r.type,
            props=copy.deepcopy(r.props),
            urn=r.urn,
            name=r.name,
            opts=options(parents.get(r.urn)),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in inventory.records
    }
    assert len(resources) == len(inventory.records), "records need distinct URNs"
    by_name: dict[str, PolicyResource] = {}
    for resource in resources.values():
        by_name.setdefault(resource.name, resource)
    for r in inventory.records:
        resource = resources[r.urn]
        parent = parents.get(r.urn)
        if parent in resources:
            resource.parent = resources[parent]
        resource.dependencies = [by_name[name] for name in r.depends_on if name in by_name]
    return list(resources.values())


def run_adapted(resources: list[PolicyResource], policies: list[Policy] | None = None) -> list[Report]:
    """Every adapted policy's validation on the resources; what each reports, in order."""
    adapted = crossguard_policies() if policies is None else crossguard_policies(policies)
    args = StackValidationArgs(resources)
    reports: list[Report] = []
    for policy in adapted:

        def report(message: str, urn: str | None = None, policy: StackValidationPolicy = policy) -> None:
            reports.append((policy.name, policy.enforcement_level, message, urn))

        assert policy.validate(args, report) is None
    return reports


def adapted_name(policy: str, level: Enforcement) -> str:
    """The CrossGuard policy that reports a violation of `policy` at `level`."""
    both = {M, A} <= set(POLICY[policy].enforcement.values())
    return f"{policy}-advisory" if level is A and both else policy


def urn_of(inventory: Inventory, resource: str | None) -> str | None:
    if resource is None:
        return None
    (found,) = [r.urn for r in inventory.records if r.name == resource]
    return found


def expected_reports(inventory: Inventory) -> list[Report]:
    """What evaluate() says about the inventory, as CrossGuard reports it. A finding's own URN names its
    resource where two resources share a name (the EKS cluster and its IAM role)."""
    urns = [
        finding.urn
        for policy in POLICIES
        if policy.level_for(inventory.tier) is not Enforcement.DISABLED
        for finding in policy.rule(inventory)
    ]
    violations = evaluate(inventory)
    assert len(urns) == len(violations)
    return [
        (
            adapted_name(v.policy, v.enforcement),
            LEVELS[v.enforcement],
            v.message,
            urn or urn_of(inventory, v.resource),
        )
        for v, urn in zip(violations, urns, strict=True)
    ]


def with_settings(inventory: Inventory, **changes: Any) -> Inventory:
    settings = next(r for r in inventory.records if r.type == SETTINGS_TYPE)
    return edit(inventory, settings.name, lambda props: props.update(changes), SETTINGS_TYPE)


def undeclared_slo(inventory: Inventory) -> Inventory:
    return with_settings(inventory, declared=[k for k in inventory.settings["declared"] if k != "slo"])


def one_replica(inventory: Inventory) -> Inventory:
    def change(props: dict[str, Any]) -> None:
        props["spec"]["minReplicaCount"] = 0
        for trigger in props["spec"]["triggers"]:
            if trigger["type"] == "cron":
                trigger["metadata"]["desiredReplicas"] = "1"

    return edit(inventory, "onprem-chat-scaler", change)


def exposed(inventory: Inventory) -> Inventory:
    open_ssh = edit(
        inventory,
        "single-gpu-https",
        lambda p: p["ingress"].append({"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}),
    )
    return edit(open_ssh, "single-gpu-gpu", lambda p: p["rootBlockDevice"].update(encrypted=False))


def k8s(kind: str, resource_name: str, spec: dict[str, Any]) -> Record:
    return Record(
        type=f"kubernetes:monitoring.coreos.com/v1:{kind}",
        name=resource_name,
        props={"kind": kind, "spec": spec},
        urn=f"urn:pulumi:onprem::llmscale::kubernetes:monitoring.coreos.com/v1:{kind}::{resource_name}",
    )


def monitored(inventory: Inventory) -> Inventory:
    """The on-prem stack with the PodMonitors, dcgm ServiceMonitor and alert rules the monitoring policy wants."""
    alerts = [
        {"alert": name, "expr": f"{metric} > 0"}
        for name, metric in (
            ("Latency", metrics.VLLM_E2E_LATENCY),
            ("Queue", metrics.VLLM_QUEUE_DEPTH),
            ("Errors", metrics.VLLM_REQUEST_SUCCESS),
            ("Gpu", metrics.DCGM_GPU_UTIL),
        )
    ]
    return Inventory.of(
        [
            *inventory.records,
            k8s("PodMonitor", "onprem-chat-monitor", {"selector": {"matchLabels": {"llmscale.io/profile": "chat"}}}),
            k8s(
                "PodMonitor",
                "onprem-analysis-monitor",
                {"selector": {"matchLabels": {"llmscale.io/profile": "analysis"}}},
            ),
            k8s("ServiceMonitor", "onprem-dcgm", {"selector": {"matchLabels": {"app": "dcgm-exporter"}}}),
            k8s("PrometheusRule", "onprem-alerts", {"groups": [{"name": "llmscale", "rules": alerts}]}),
        ]
    )


def unhardened(inventory: Inventory) -> Inventory:
    """The multi-gpu stack with its AWS security baseline removed: every hardening policy finds something."""
    cluster = "aws:eks/cluster:Cluster"

    def open_cluster(props: dict[str, Any]) -> None:
        props["vpcConfig"]["publicAccessCidrs"] = ["0.0.0.0/0"]
        props.pop("encryptionConfig")

    def imdsv1(props: dict[str, Any]) -> None:
        props["metadataOptions"]["httpTokens"] = "optional"
        props["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"

    changed = edit(inventory, "multi-gpu-eks-cluster", open_cluster, cluster)
    changed = edit(changed, "multi-gpu-eks-gpu-nodes", imdsv1)
    return Inventory.of(r for r in changed.records if r.name != "multi-gpu-models-public-access")


# Inventories the adapter must judge exactly as evaluate() does: the examples, and changes that make mandatory
# and advisory findings on each tier (and on a stack without settings, which gets the strictest levels).
SCENARIOS: dict[str, tuple[str, Callable[[Inventory], Inventory]]] = {
    "single-gpu": ("single-gpu", lambda inv: inv),
    "single-gpu-host": ("single-gpu-host", lambda inv: inv),
    "onprem": ("onprem", lambda inv: inv),
    "single-gpu-exposed": ("single-gpu", exposed),
    "single-gpu-undeclared-slo": ("single-gpu", undeclared_slo),
    "onprem-undeclared-slo": ("onprem", undeclared_slo),
    "onprem-one-replica": ("onprem", one_replica),
    "onprem-enterprise": ("onprem", lambda inv: with_settings(inv, tier="enterprise")),
    "onprem-monitored": ("onprem", monitored),
    "onprem-no-settings": ("onprem", lambda inv: Inventory.of(r for r in inv.records if r.type != SETTINGS_TYPE)),
    "multi-gpu": ("multi-gpu", lambda inv: inv),
    "multi-gpu-unhardened": ("multi-gpu", unhardened),
    "multi-gpu-open-endpoint-intended": (
        "multi-gpu",
        lambda inv: with_settings(unhardened(inv), eksPublicEndpointOpenToInternet=True),
    ),
}


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, tuple[Inventory, dict[str, str | None]]]:
    """Each example stack's plan inventory, with the parent URN of each resource."""
    found = {}
    for stack in EXAMPLE_STACKS:
        document = example_plans[stack]
        found[stack] = (inventory_from_plan(document), {r["urn"]: r["parentUrn"] for r in document["resources"]})
    return found


@pytest.fixture
def scenario(request: pytest.FixtureRequest, plans: dict) -> tuple[Inventory, list[PolicyResource]]:
    stack, change = SCENARIOS[request.param]
    base, parents = plans[stack]
    inventory = change(base)
    return inventory, policy_resources(inventory, parents)


@pytest.fixture(scope="module")
def onprem(plans: dict) -> tuple[Inventory, list[PolicyResource]]:
    inventory, parents = plans["onprem"]
    return inventory, policy_resources(inventory, parents)


# --- the adapted policies --------------------------------------------------------------------------------


def test_every_policy_is_adapted() -> None:
    adapted = crossguard_policies()
    names = [p.name for p in adapted]
    assert len(names) == len(set(names))
    assert all(isinstance(p, StackValidationPolicy) for p in adapted)
    for policy in POLICIES:
        assert policy.name in names
    assert set(names) <= set(POLICY) | {f"{name}-advisory" for name in POLICY}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_adapted_names_and_enforcement_levels(policy: Policy) -> None:
    adapted = {
        p.name: p.enforcement_level for p in crossguard_policies() if p.name in (policy.name, f"{policy.name}-advisory")
    }
    levels = set(policy.enforcement.values()) - {Enforcement.DISABLED}
    if levels == {M, A}:
        assert adapted == {
            policy.name: EnforcementLevel.MANDATORY,
            f"{policy.name}-advisory": EnforcementLevel.ADVISORY,
        }
    else:
        (level,) = levels
        assert adapted == {policy.name: LEVELS[level]}


def test_a_policy_mandatory_on_some_tiers_and_advisory_on_others_becomes_two() -> None:
    assert {p.name: p.enforcement_level for p in crossguard_policies() if p.name.startswith("slo-declared")} == {
        "slo-declared": EnforcementLevel.MANDATORY,
        "slo-declared-advisory": EnforcementLevel.ADVISORY,
    }
    mixed = Policy("mixed", "A rule.", lambda inv: [], {"single-gpu": A, "multi-gpu": M, "enterprise": A})
    advisory = Policy("quiet", "Another rule.", lambda inv: [], {"multi-gpu": A})
    disabled = Policy("off", "Never on.", lambda inv: [], {"multi-gpu": Enforcement.DISABLED})
    assert [(p.name, p.enforcement_level) for p in crossguard_policies([mixed, advisory, disabled])] == [
        ("mixed", EnforcementLevel.MANDATORY),
        ("mixed-advisory", EnforcementLevel.ADVISORY),
        ("quiet", EnforcementLevel.ADVISORY),
    ]


def test_descriptions_are_the_rule_docstrings_on_one_line() -> None:
    for adapted in crossguard_policies():
        base = adapted.name.removesuffix("-advisory") if adapted.name not in POLICY else adapted.name
        assert adapted.description == " ".join(POLICY[base].description.split())
        assert adapted.description and "\n" not in adapted.description


def test_the_default_policy_list_is_the_pack() -> None:
    assert crossguard_policies.__defaults__ == (POLICIES,)
    assert PACK_NAME == "llmscale"


# --- the same answers as evaluate() ----------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(SCENARIOS), indirect=True)
def test_adapter_reports_what_evaluate_reports(scenario: tuple[Inventory, list[PolicyResource]]) -> None:
    inventory, resources = scenario
    assert Counter(run_adapted(resources)) == Counter(expected_reports(inventory))


@pytest.mark.parametrize("scenario", list(SCENARIOS), indirect=True)
def test_each_variant_reports_only_its_own_level(scenario: tuple[Inventory, list[PolicyResource]]) -> None:
    inventory, resources = scenario
    for name, level, _message, urn in run_adapted(resources):
        base = name if name in POLICY else name.removesuffix("-advisory")
        assert LEVELS[POLICY[base].level_for(inventory.tier)] == level
        assert urn is None or urn in {r.urn for r in inventory.records}


@pytest.mark.slow
def test_scenarios_cover_both_variants_and_both_levels(plans: dict) -> None:
    """The parity tests above see mandatory and advisory reports, and both variants of slo-declared."""
    reports = []
    for stack, change in SCENARIOS.values():
        inventory, parents = plans[stack]
        reports += run_adapted(policy_resources(change(inventory), parents))
    names = {name for name, *_ in reports}
    assert {"slo-declared", "slo-declared-advisory", "min-active-replicas", "zone-spread", "open-ports"} <= names
    assert {level for _, level, *_ in reports} == {EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY}
    assert any(urn is not None for *_, urn in reports)


def test_mandatory_and_advisory_variants_split_by_tier(plans: dict) -> None:
    for stack, level, reporting in (
        ("single-gpu", A, "slo-declared-advisory"),
        ("onprem", M, "slo-declared"),
    ):
        inventory, parents = plans[stack]
        reports = [r for r in run_adapted(policy_resources(undeclared_slo(inventory), parents)) if "slo" in r[0]]
        assert {name for name, *_ in reports} == {reporting}, stack
        assert {lvl for _, lvl, *_ in reports} == {LEVELS[level]}
        assert any("llmscale:slo is not declared" in message for _, _, message, _ in reports)


def test_reported_urns_are_the_records_urns(plans: dict) -> None:
    inventory, parents = plans["onprem"]
    changed = one_replica(inventory)
    reports = [r for r in run_adapted(policy_resources(changed, parents)) if r[0] == "min-active-replicas"]
    deployment = next(r for r in changed.records if r.name == "onprem-chat-deployment")
    assert deployment.urn.startswith("urn:pulumi:onprem::llmscale::")
    assert deployment.urn.endswith("$kubernetes:apps/v1:Deployment::onprem-chat-deployment")
    ((name, level, message, urn),) = reports
    assert (name, level, urn) == ("min-active-replicas", EnforcementLevel.MANDATORY, deployment.urn)
    assert "profile chat keeps 1 replica(s)" in message


def test_reported_urn_is_that_of_the_named_resource_when_names_repeat(plans: dict) -> None:
    """Pulumi names are unique per type only: the host's Role and InstanceProfile are both `single-gpu-host`."""
    inventory, parents = plans["single-gpu"]
    profile_type = "aws:iam/instanceProfile:InstanceProfile"
    assert sorted(r.type for r in inventory.records if r.name == "single-gpu-host") == [
        profile_type,
        "aws:iam/role:Role",
    ]
    leaky = edit(inventory, "single-gpu-host", lambda p: p.setdefault("tags", {}).update(note=HF_TOKEN), profile_type)
    reports = [r for r in run_adapted(policy_resources(leaky, parents)) if r[0] == "plaintext-secrets"]
    profile = next(r for r in leaky.records if r.type == profile_type)
    assert [(message, urn) for _, _, message, urn in reports] == [
        ("an input contains a Hugging Face token in plain text", profile.urn)
    ]


# --- the adapter calls the rule functions ----------------------------------------------------------------


def test_adapter_invokes_the_rule_with_an_inventory_mirroring_the_resources(
    onprem: tuple[Inventory, list[PolicyResource]],
) -> None:
    inventory, resources = onprem
    with patch.object(redundancy, "probes", wraps=redundancy.probes) as spy:
        (adapted,) = crossguard_policies([replace(POLICY["vllm-probes"], rule=redundancy.probes)])
        reports: list[tuple[str, str | None]] = []
        adapted.validate(StackValidationArgs(resources), lambda message, urn=None: reports.append((message, urn)))
    spy.assert_called_once()
    (seen,), kwargs = spy.call_args
    assert kwargs == {}
    assert isinstance(seen, Inventory)
    assert [(r.type, r.name, r.props) for r in seen.records] == [
        (p.resource_type, p.name, dict(p.props)) for p in resources
    ]
    assert [r.urn for r in seen.records] == [p.urn for p in resources]
    assert [r.parent for r in seen.records] == [r.parent for r in inventory.records]
    assert [r.depends_on for r in seen.records] == [r.depends_on for r in inventory.records]
    settings = next(p for p in resources if p.resource_type == SETTINGS_TYPE)
    assert seen.settings == dict(settings.props) == inventory.settings
    assert seen.tier == "multi-gpu"
    assert reports == []  # the example Deployments have all three probes


def test_inventory_from_crossguard_mirrors_the_plan_inventory(onprem: tuple[Inventory, list[PolicyResource]]) -> None:
    inventory, resources = onprem
    assert inventory_from_crossguard(StackValidationArgs(resources)) == inventory


def test_adapter_reports_each_finding_against_its_resource_urn(
    onprem: tuple[Inventory, list[PolicyResource]],
) -> None:
    inventory, resources = onprem
    rule = MagicMock(
        return_value=[
            Finding("about a deployment", "onprem-chat-deployment"),
            Finding("about the stack"),
            Finding("about something not in the stack", "nowhere"),
        ]
    )
    (adapted,) = crossguard_policies([Policy("spy", "Spies.", rule, {"multi-gpu": M})])
    reports: list[tuple[str, str | None]] = []
    adapted.validate(StackValidationArgs(resources), lambda message, urn=None: reports.append((message, urn)))
    rule.assert_called_once()
    assert reports == [
        ("about a deployment", urn_of(inventory, "onprem-chat-deployment")),
        ("about the stack", None),
        ("about something not in the stack", None),
    ]


def test_a_variant_runs_its_rule_only_where_the_tier_gives_its_level(
    onprem: tuple[Inventory, list[PolicyResource]],
) -> None:
    _, resources = onprem
    rule = MagicMock(return_value=[Finding("found")])
    mixed = Policy("mixed", "Mixed.", rule, {"single-gpu": A, "multi-gpu": M})
    mandatory, advisory = crossguard_policies([mixed])
    reports: list[tuple[str, str]] = []
    args = StackValidationArgs(resources)
    advisory.validate(args, lambda message, urn=None: reports.append(("advisory", message)))
    rule.assert_not_called()
    mandatory.validate(args, lambda message, urn=None: reports.append(("mandatory", message)))
    rule.assert_called_once()
    assert reports == [("mandatory", "found")]
    # Disabled on the tier: neither variant runs it.
    rule.reset_mock()
    for variant in crossguard_policies([replace(mixed, enforcement={"single-gpu": A, "enterprise": M})]):
        variant.validate(args, lambda message, urn=None: reports.append(("never", message)))
    rule.assert_not_called()


def test_validator_on_a_stack_without_settings_uses_the_strictest_level() -> None:
    rule = MagicMock(return_value=[Finding("no settings")])
    mixed = Policy("mixed", "Mixed.", rule, {"single-gpu": A, "multi-gpu": M})
    resource = PolicyResource("aws:s3/bucketV2:BucketV2", {}, "urn:b", "b", options(), None, None, [], {})
    reports: list[str] = []
    args = StackValidationArgs([resource])
    validator(mixed, A)(args, lambda message, urn=None: reports.append(f"advisory: {message}"))
    validator(mixed, M)(args, lambda message, urn=None: reports.append(f"mandatory: {message}"))
    assert reports == ["mandatory: no settings"]


# --- the policy pack files -------------------------------------------------------------------------------


def test_pulumi_policy_yaml_declares_a_python_runtime() -> None:
    document = yaml.safe_load((POLICIES_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    runtime = document["runtime"]
    assert (runtime["name"] if isinstance(runtime, dict) else runtime) == "python"
    assert document.get("description")


def test_policy_pack_main_imports_only_the_adapter_and_pulumi_policy() -> None:
    source = (POLICIES_DIR / "__main__.py").read_text(encoding="utf-8")
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module
            modules.add(node.module)
    assert modules == {"pulumi_policy", "llmscale.policy.crossguard"}
    assert "crossguard_policies()" in source and "PolicyPack(" in source


# --- through pulumi-policy's analyzer, as `pulumi preview --policy-pack` runs it ---------------------------


def to_engine(value: Any) -> Any:
    """A plan value as the engine sends it during preview: values known only after apply are unknowns."""
    if value == UNKNOWN_TEXT:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: to_engine(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_engine(item) for item in value]
    return value


def analyze_stack(inventory: Inventory, secrets: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, str, str]]:
    """(policy, message, urn) of every diagnostic pulumi-policy's AnalyzeStack returns for the inventory.

    `secrets` maps a record name to props sent as engine secrets (the signature object the engine marshals
    with KeepSecrets).
    """
    resources = []
    # The engine sends each resource's dependencies as URNs, as pulumi-policy's proxies expose them to rules.
    urns = {r.name: r.urn for r in inventory.records}
    for r in inventory.records:
        props = to_engine(copy.deepcopy(r.props))
        for key, value in (secrets or {}).get(r.name, {}).items():
            props[key] = {SECRET_SIG_KEY: SECRET_SIG, "value": value}
        properties = struct_pb2.Struct()
        properties.update(props)
        dependencies = [urns[name] for name in r.depends_on if name in urns]
        resources.append(
            proto.AnalyzerResource(
                urn=r.urn, type=r.type, name=r.name, properties=properties, dependencies=dependencies
            )
        )
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", crossguard_policies(), EnforcementLevel.ADVISORY)
    response = servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    # A diagnostic's message is the policy description, a newline, then the reported message.
    return [(d.policyName, d.message.rsplit("\n", 1)[-1], d.urn) for d in response.diagnostics]


def expected_diagnostics(inventory: Inventory) -> Counter:
    return Counter((name, message, urn or "") for name, _, message, urn in expected_reports(inventory))


def test_analyzer_runs_the_pack_on_the_example_cluster(plans: dict) -> None:
    inventory, _ = plans["onprem"]
    assert Counter(analyze_stack(inventory)) == expected_diagnostics(inventory)


def test_analyzer_runs_every_policy_during_preview_despite_unknown_values(plans: dict) -> None:
    """During preview the engine sends values computed by the cloud (ids, addresses) as unknowns."""
    inventory, _ = plans["single-gpu"]
    assert any(UNKNOWN_TEXT in str(r.props) for r in inventory.records)
    diagnostics = analyze_stack(inventory)
    skipped = [message for _, message, _ in diagnostics if "can't run policy" in message]
    assert skipped == []
    assert Counter(diagnostics) == expected_diagnostics(inventory)


def test_analyzer_rules_see_nested_values(plans: dict) -> None:
    """Resources reach the rules as pulumi-policy proxies: nested specs must read like the plan's dicts."""
    inventory, _ = plans["onprem"]

    def leak(props: dict[str, Any]) -> None:
        container = props["spec"]["template"]["spec"]["containers"][0]
        container["env"].append({"name": "HF_TOKEN", "value": HF_TOKEN})

    changed = edit(monitored(inventory), "onprem-chat-deployment", leak)
    expected = expected_diagnostics(changed)
    assert not any(name == "monitoring" for name, *_ in expected)
    assert (
        "plaintext-secrets",
        "an input contains a Hugging Face token in plain text",
        urn_of(changed, "onprem-chat-deployment"),
    ) in expected
    assert Counter(analyze_stack(changed)) == expected


def test_analyzer_does_not_flag_kubernetes_secrets_held_as_pulumi_secrets(plans: dict) -> None:
    """The engine sends secret values marked as secrets; pulumi-policy unwraps them before the rules see them."""
    inventory, _ = plans["onprem"]
    secrets = {
        "onprem-hf-token": {"stringData": {"token": HF_TOKEN}},
        "onprem-gateway-api-keys": {"stringData": {"keys": "chat-app:0123456789abcdef0123"}},
    }
    reported = [
        (name, message) for name, message, _ in analyze_stack(inventory, secrets) if name == "plaintext-secrets"
    ]
    assert reported == []


@pytest.mark.parametrize("scenario", ["multi-gpu-unhardened"], indirect=True)
def test_the_security_baseline_is_mandatory_under_crossguard(scenario: tuple[Inventory, list[PolicyResource]]) -> None:
    """Each hardening policy reports through the pack as a mandatory CrossGuard policy."""
    _inventory, resources = scenario
    mandatory = {name for name, level, _, _ in run_adapted(resources) if level is EnforcementLevel.MANDATORY}
    hardening = {"eks-endpoint-access", "eks-secrets-encryption", "imdsv2-required", "s3-public-access-block"}
    assert hardening | {"encryption-at-rest"} <= mandatory


@pytest.mark.parametrize("scenario", ["multi-gpu-open-endpoint-intended"], indirect=True)
def test_a_declared_open_endpoint_passes_under_crossguard(scenario: tuple[Inventory, list[PolicyResource]]) -> None:
    _inventory, resources = scenario
    assert "eks-endpoint-access" not in {name for name, _, _, _ in run_adapted(resources)}
