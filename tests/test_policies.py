"""Tests for the policy set: every rule passes on the example stacks and fires on a minimally changed one.

Inventories come from real offline plans of the example stacks; "minimally changed" inventories copy those
records (deep copies of their properties) and change one thing, so that each firing case shows which change
the rule reacts to. Per-tier enforcement and the plan/CLI integration (`violations`, exit code 1 on a
mandatory violation) are tested at the end.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

import llmscale.program
from llmscale.config.loader import load_stack
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.policy.model import TIERS, Enforcement, Finding, Inventory, Policy, Record, Violation
from llmscale.policy.pack import POLICIES, evaluate, inventory_from_plan
from llmscale.policy.settings import SETTINGS_TYPE
from llmscale.serving import metrics
from llmscale.sizing.planner import size_for_stack
from tests.helpers import edit, example_config, write_stack, write_variant
from tests.resource_types import (
    BUCKET,
    BUCKET_OBJECT,
    CLUSTER,
    DNS_RECORD,
    HEALTH_CHECK,
    INSTANCE,
    LAUNCH_TEMPLATE,
    NODE_GROUP,
    PUBLIC_ACCESS_BLOCK,
)
from tests.test_simulate_policies import FIRING as SIMULATED_FIRING
from tests.test_simulate_stack import inventory as planned_inventory

EXAMPLE_STACKS = ("single-gpu", "single-gpu-host", "onprem", "multi-gpu", "enterprise")
POLICY = {policy.name: policy for policy in POLICIES}
M, A, D = Enforcement.MANDATORY, Enforcement.ADVISORY, Enforcement.DISABLED

MONITORING_KINDS = ("PodMonitor", "ServiceMonitor", "PrometheusRule")


CHAT_DEPLOYMENT = "onprem-chat-deployment"
CHAT_SCALER = "onprem-chat-scaler"
CHAT_PDB = "onprem-chat-pdb"
CHAT_ROUTE = "onprem-gateway-chat-route"
CHAT_TRAFFIC = "onprem-gateway-chat-traffic"
HOST_INSTANCE = "single-gpu-gpu"
# The single host's docker compose file: an S3 object of its bundle store.
HOST_COMPOSE = "single-gpu-bundle-docker-compose-yml"
HOST_SECURITY_GROUP = "single-gpu-https"

HF_TOKEN = "hf_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3h"  # "hf_" and 34 letters and digits
AWS_KEY = "AKIA" + "ABCDEFGHIJ234567"


# --- helpers ---------------------------------------------------------------------------------------------


def plan_inventory(stack: str) -> Inventory:
    return inventory_from_plan(plan_document(run_program(load_stack(stack), llmscale.program.main)))


def findings(policy: str, inventory: Inventory) -> list[Finding]:
    """What one policy's rule says about an inventory, whatever the stack's tier."""
    return list(POLICY[policy].rule(inventory))


def messages(policy: str, inventory: Inventory) -> list[str]:
    return [f.message for f in findings(policy, inventory)]


def without(inventory: Inventory, *names: str) -> Inventory:
    kept = [r for r in inventory.records if r.name not in names]
    assert len(kept) == len(inventory.records) - len(names)
    return Inventory.of(kept)


def without_types(inventory: Inventory, *types: str) -> Inventory:
    return Inventory.of(r for r in inventory.records if r.type not in types)


def adding(inventory: Inventory, *records: Record) -> Inventory:
    return Inventory.of([*inventory.records, *records])


def with_settings(inventory: Inventory, **changes: Any) -> Inventory:
    """The inventory with its StackSettings record changed (settings are re-read from that record)."""
    settings = next(r for r in inventory.records if r.type == SETTINGS_TYPE)
    return edit(inventory, settings.name, lambda props: props.update(changes), SETTINGS_TYPE)


def without_settings(inventory: Inventory) -> Inventory:
    return without_types(inventory, SETTINGS_TYPE)


def record(inventory: Inventory, name: str, kind: str | None = None) -> Record:
    (found,) = [r for r in inventory.records if r.name == name and (kind is None or r.type == kind)]
    return found


def vllm_container(props: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in props["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm"]
    return container


def edit_compose(inventory: Inventory, change: Callable[[dict[str, Any]], Any]) -> Inventory:
    """The single host's inventory with the docker compose file of its bundle (an S3 object) changed."""

    def rewrite(props: dict[str, Any]) -> None:
        compose = yaml.safe_load(props["content"])
        change(compose)
        props["content"] = yaml.safe_dump(compose, sort_keys=False)

    return edit(inventory, HOST_COMPOSE, rewrite, BUCKET_OBJECT)


def cron_trigger(spec: dict[str, Any]) -> dict[str, Any]:
    (trigger,) = [t for t in spec["triggers"] if t["type"] == "cron"]
    return trigger


def k8s(kind: str, resource_name: str, spec: dict[str, Any], group: str = "monitoring.coreos.com/v1") -> Record:
    props = {"kind": kind, "spec": spec}
    return Record(type=f"kubernetes:{group}:{kind}", name=resource_name, props=props, urn=f"urn:{resource_name}")


def aws(kind: str, resource_name: str, **props: Any) -> Record:
    return Record(type=kind, name=resource_name, props=props, urn=f"urn:{resource_name}")


# Firing tests register the policies they make fire: every policy must have one (see the coverage test).
FIRING: dict[str, list[str]] = {}


def fires(*policies: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(test: Callable[..., None]) -> Callable[..., None]:
        for name in policies:
            FIRING.setdefault(name, []).append(test.__name__)
        return test

    return register


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inventories(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Inventory]:
    """The inventory of each example stack's offline plan."""
    return {name: inventory_from_plan(example_plans[name]) for name in EXAMPLE_STACKS}


@pytest.fixture(scope="module")
def onprem(inventories: dict[str, Inventory]) -> Inventory:
    return inventories["onprem"]


@pytest.fixture(scope="module")
def multi_gpu(inventories: dict[str, Inventory]) -> Inventory:
    return inventories["multi-gpu"]


@pytest.fixture(scope="module")
def multi_gpu_internal(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """The multi-gpu example without a public name: its load balancer stays inside the VPC."""

    def internal(config: dict[str, Any]) -> None:
        del config["llmscale:gateway"]["hostname"]
        del config["llmscale:gateway"]["hostedZoneId"]

    return plan_inventory(str(write_variant(tmp_path_factory.mktemp("internal"), "multi-gpu", internal, "internal")))


@pytest.fixture(scope="module")
def host(inventories: dict[str, Inventory]) -> Inventory:
    """The single-gpu AWS stack: one instance whose bundle (docker compose file, rules) is in S3 objects."""
    return inventories["single-gpu"]


@pytest.fixture(scope="module")
def monitored(onprem: Inventory) -> Inventory:
    """The on-prem stack with the monitoring stack the monitoring policy asks for."""
    alerts = " ".join(
        f"{metric} > 0"
        for metric in (
            metrics.VLLM_E2E_LATENCY,
            metrics.VLLM_QUEUE_DEPTH,
            metrics.VLLM_REQUEST_SUCCESS,
            metrics.DCGM_GPU_UTIL,
        )
    )
    bare = without(onprem, *(r.name for kind in MONITORING_KINDS for r in onprem.kubernetes(kind)))
    return adding(
        bare,
        k8s("PodMonitor", "onprem-chat-monitor", {"selector": {"matchLabels": {"llmscale.io/profile": "chat"}}}),
        k8s(
            "PodMonitor",
            "onprem-analysis-monitor",
            {"selector": {"matchLabels": {"llmscale.io/profile": "analysis"}}},
        ),
        k8s("ServiceMonitor", "onprem-dcgm", {"selector": {"matchLabels": {"app": "dcgm-exporter"}}}),
        k8s("PrometheusRule", "onprem-alerts", {"groups": [{"name": "llmscale", "rules": [{"expr": alerts}]}]}),
    )


# --- coverage --------------------------------------------------------------------------------------------


def test_every_policy_has_a_firing_test() -> None:
    """A policy added to POLICIES without a firing test here fails this test (and a removed one, too)."""
    assert set(FIRING) == set(POLICY), (
        f"untested: {sorted(set(POLICY) - set(FIRING))}; stale: {sorted(set(FIRING) - set(POLICY))}"
    )


def test_policy_names_are_unique_and_described() -> None:
    assert len(POLICY) == len(POLICIES)
    for policy in POLICIES:
        assert policy.description.strip(), policy.name
        assert set(policy.enforcement) <= set(TIERS), policy.name


# --- passing cases: the example stacks -------------------------------------------------------------------


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_have_no_mandatory_violation(inventories: dict[str, Inventory], stack: str) -> None:
    assert [v for v in evaluate(inventories[stack]) if v.enforcement == "mandatory"] == []


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_policy_passes_on_example_stacks_where_it_applies(
    inventories: dict[str, Inventory], policy: str, stack: str
) -> None:
    inventory = inventories[stack]
    if POLICY[policy].level_for(inventory.tier) is Enforcement.DISABLED:
        assert policy not in {v.policy for v in evaluate(inventory)}
        return
    # The examples carry no finding at all: their profiles reach what the capacity planner provisions for their
    # declared peak, they generate their monitoring, and their simulated day settles (an hour's scale-down
    # window), warms up before the window opens and lets the declared load past the per-key rate limits.
    assert findings(policy, inventory) == []


def test_example_stacks_are_what_the_passing_cases_assume(inventories: dict[str, Inventory]) -> None:
    assert {name: inv.tier for name, inv in inventories.items()} == {
        "single-gpu": "single-gpu",
        "single-gpu-host": "single-gpu",
        "onprem": "multi-gpu",
        "multi-gpu": "multi-gpu",
        "enterprise": "enterprise",
    }
    assert any(inventories["onprem"].kubernetes("Deployment"))
    assert any(inventories["single-gpu"].of_type(INSTANCE))
    # The existing server's stack records only its tier and settings: its bundle is rendered outside the stack.
    assert [r.type for r in inventories["single-gpu-host"].records] == ["llmscale:index:SingleGpuTier", SETTINGS_TYPE]


# --- min-active-replicas ---------------------------------------------------------------------------------


@fires("min-active-replicas")
def test_min_active_replicas_fires_on_a_cron_floor_of_one(onprem: Inventory) -> None:
    def one_replica(props: dict[str, Any]) -> None:
        props["spec"]["minReplicaCount"] = 0
        cron_trigger(props["spec"])["metadata"]["desiredReplicas"] = "1"

    (finding,) = findings("min-active-replicas", edit(onprem, CHAT_SCALER, one_replica))
    assert finding.resource == CHAT_DEPLOYMENT
    assert "profile chat keeps 1 replica(s) during active hours" in finding.message
    assert "minReplicas >= 2" in finding.message


def test_min_active_replicas_takes_the_higher_of_cron_floor_and_minimum(onprem: Inventory) -> None:
    def floor_from_minimum(props: dict[str, Any]) -> None:
        props["spec"]["minReplicaCount"] = 2
        cron_trigger(props["spec"])["metadata"]["desiredReplicas"] = "1"

    assert findings("min-active-replicas", edit(onprem, CHAT_SCALER, floor_from_minimum)) == []


def test_min_active_replicas_without_a_scaler_reads_the_deployment_replicas(onprem: Inventory) -> None:
    unscaled = without(onprem, CHAT_SCALER)
    assert findings("min-active-replicas", unscaled) == []  # the Deployment has replicas: 2
    single = edit(unscaled, CHAT_DEPLOYMENT, lambda p: p["spec"].update(replicas=1))
    (finding,) = findings("min-active-replicas", single)
    assert (finding.resource, "keeps 1 replica(s)" in finding.message) == (CHAT_DEPLOYMENT, True)


def test_min_active_replicas_ignores_canary_deployments(onprem: Inventory) -> None:
    def canary(props: dict[str, Any]) -> None:
        props["metadata"]["labels"]["llmscale.io/track"] = "canary"
        props["spec"]["replicas"] = 1

    assert findings("min-active-replicas", edit(without(onprem, CHAT_SCALER), CHAT_DEPLOYMENT, canary)) == []


# --- disruption-budgets ----------------------------------------------------------------------------------


@fires("disruption-budgets")
def test_disruption_budgets_fire_when_no_budget_selects_a_deployment(onprem: Inventory) -> None:
    (finding,) = findings("disruption-budgets", without(onprem, CHAT_PDB))
    assert finding.resource == CHAT_DEPLOYMENT
    assert "no PodDisruptionBudget" in finding.message


def test_disruption_budgets_need_a_matching_selector(onprem: Inventory) -> None:
    other = edit(onprem, CHAT_PDB, lambda p: p["spec"]["selector"]["matchLabels"].update({"llmscale.io/profile": "x"}))
    (finding,) = findings("disruption-budgets", other)
    assert (finding.resource, "no PodDisruptionBudget" in finding.message) == (CHAT_DEPLOYMENT, True)


@fires("disruption-budgets")
@pytest.mark.parametrize(
    "budget",
    [{"maxUnavailable": 0}, {"maxUnavailable": "0"}, {"maxUnavailable": "0%"}, {"minAvailable": "100%"}],
    ids=str,
)
def test_disruption_budgets_fire_on_a_budget_that_allows_no_eviction(onprem: Inventory, budget: dict) -> None:
    def blocking(props: dict[str, Any]) -> None:
        props["spec"].pop("maxUnavailable")
        props["spec"].update(budget)

    (finding,) = findings("disruption-budgets", edit(onprem, CHAT_PDB, blocking))
    assert finding.resource == CHAT_PDB
    assert f"PodDisruptionBudget {CHAT_PDB} allows no eviction" in finding.message
    assert "maxUnavailable: 1" in finding.message


def test_disruption_budgets_accept_a_min_available_below_all(onprem: Inventory) -> None:
    def min_available(props: dict[str, Any]) -> None:
        props["spec"].pop("maxUnavailable")
        props["spec"]["minAvailable"] = "50%"

    assert findings("disruption-budgets", edit(onprem, CHAT_PDB, min_available)) == []


# --- zone-spread -----------------------------------------------------------------------------------------


@fires("zone-spread")
def test_zone_spread_fires_on_enterprise_deployments_without_a_zone_constraint(onprem: Inventory) -> None:
    enterprise = with_settings(onprem, tier="enterprise")
    found = findings("zone-spread", enterprise)
    assert {f.resource for f in found} == {CHAT_DEPLOYMENT, "onprem-analysis-deployment"}
    assert all("not spread over zones (topology.kubernetes.io/zone)" in f.message for f in found)
    assert {(v.policy, v.enforcement) for v in evaluate(enterprise) if v.policy == "zone-spread"} == {
        ("zone-spread", M)
    }


def test_zone_spread_passes_with_a_zone_topology_constraint(onprem: Inventory) -> None:
    def spread(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod["topologySpreadConstraints"].append({"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone"})

    enterprise = edit(with_settings(onprem, tier="enterprise"), CHAT_DEPLOYMENT, spread)
    assert [f.resource for f in findings("zone-spread", enterprise)] == ["onprem-analysis-deployment"]


# --- dns-failover ----------------------------------------------------------------------------------------


def failover_records(*kinds: str) -> list[Record]:
    return [
        aws(DNS_RECORD, f"api-{kind.lower()}", name="llm.example.com", failoverRoutingPolicies=[{"type": kind}])
        for kind in kinds
    ]


@fires("dns-failover")
def test_dns_failover_fires_on_enterprise_without_records_or_health_checks(onprem: Inventory) -> None:
    enterprise = with_settings(onprem, tier="enterprise")
    found = findings("dns-failover", enterprise)
    assert len(found) == 2
    records, checks = found
    assert "PRIMARY" in records.message and "SECONDARY" in records.message
    assert "failover record" in records.message
    assert "0 Route 53 health check(s)" in checks.message
    assert all(f.resource is None for f in found)
    assert {v.enforcement for v in evaluate(enterprise) if v.policy == "dns-failover"} == {M}


def test_dns_failover_passes_with_two_health_checks_and_primary_and_secondary(onprem: Inventory) -> None:
    enterprise = adding(
        with_settings(onprem, tier="enterprise"),
        aws(HEALTH_CHECK, "primary-health", type="HTTPS", resourcePath="/health"),
        aws(HEALTH_CHECK, "standby-health", type="HTTPS", resourcePath="/health"),
        *failover_records("PRIMARY", "SECONDARY"),
    )
    assert findings("dns-failover", enterprise) == []


def test_dns_failover_names_what_is_missing(onprem: Inventory) -> None:
    partial = adding(
        with_settings(onprem, tier="enterprise"),
        aws(HEALTH_CHECK, "primary-health", type="HTTPS"),
        *failover_records("PRIMARY"),
    )
    found = messages("dns-failover", partial)
    assert len(found) == 2
    assert "no SECONDARY failover record" in found[0] and "PRIMARY" not in found[0]
    assert "1 Route 53 health check(s)" in found[1]


# --- vllm-probes -----------------------------------------------------------------------------------------


@fires("vllm-probes")
def test_vllm_probes_fire_when_the_container_lacks_a_liveness_probe(onprem: Inventory) -> None:
    changed = edit(onprem, CHAT_DEPLOYMENT, lambda p: vllm_container(p).pop("livenessProbe"))
    (finding,) = findings("vllm-probes", changed)
    assert finding.resource == CHAT_DEPLOYMENT
    assert finding.message == "vLLM container lacks livenessProbe"


@fires("vllm-probes")
def test_vllm_probes_fire_when_the_single_host_compose_has_no_healthcheck(host: Inventory) -> None:
    assert findings("vllm-probes", edit_compose(host, lambda c: None)) == []  # the rewrite itself changes nothing
    changed = edit_compose(host, lambda compose: compose["services"]["vllm"].pop("healthcheck"))
    (finding,) = findings("vllm-probes", changed)
    assert finding.resource == HOST_COMPOSE
    assert finding.message == "vLLM container lacks livenessProbe, readinessProbe, startupProbe"


# --- pinned-images ---------------------------------------------------------------------------------------


@fires("pinned-images")
@pytest.mark.parametrize(
    "image", ["vllm/vllm-openai:latest", "vllm/vllm-openai", "registry.local:5000/vllm/vllm-openai"]
)
def test_pinned_images_fire_on_latest_or_untagged_images(onprem: Inventory, image: str) -> None:
    changed = edit(onprem, CHAT_DEPLOYMENT, lambda p: vllm_container(p).update(image=image))
    (finding,) = findings("pinned-images", changed)
    assert finding.resource == CHAT_DEPLOYMENT
    assert f"image {image} is not pinned to a version tag or digest" in finding.message


@pytest.mark.parametrize(
    "image", ["vllm/vllm-openai@sha256:" + "a" * 64, "registry.local:5000/vllm/vllm-openai:v0.33.0"]
)
def test_pinned_images_accept_digests_and_version_tags(onprem: Inventory, image: str) -> None:
    changed = edit(onprem, CHAT_DEPLOYMENT, lambda p: vllm_container(p).update(image=image))
    assert findings("pinned-images", changed) == []


@fires("pinned-images")
def test_pinned_images_fire_on_the_single_host_compose_file(host: Inventory) -> None:
    changed = edit_compose(host, lambda c: c["services"]["vllm"].update(image="vllm/vllm-openai:latest"))
    (finding,) = findings("pinned-images", changed)
    assert (finding.resource, "vllm/vllm-openai:latest is not pinned" in finding.message) == (HOST_COMPOSE, True)


# --- slo-declared ----------------------------------------------------------------------------------------


@fires("slo-declared")
def test_slo_declared_fires_when_the_stack_does_not_declare_its_slo(onprem: Inventory) -> None:
    declared = [key for key in onprem.settings["declared"] if key != "slo"]
    changed = with_settings(onprem, declared=declared)
    (finding,) = findings("slo-declared", changed)
    assert finding.resource is None
    assert "llmscale:slo is not declared" in finding.message
    assert "p99LatencySeconds" in finding.message
    assert [(v.policy, v.enforcement) for v in evaluate(changed) if v.policy == "slo-declared"] == [("slo-declared", M)]


def test_slo_declared_also_wants_the_load(host: Inventory) -> None:
    declared = [key for key in host.settings["declared"] if key not in ("slo", "load")]
    changed = with_settings(host, declared=declared)
    found = messages("slo-declared", changed)
    assert len(found) == 2
    assert "llmscale:slo is not declared" in found[0]
    assert "llmscale:load is not declared" in found[1] and "peakConcurrentUsers" in found[1]
    # Advisory on the single-gpu tier.
    assert {v.enforcement for v in evaluate(changed) if v.policy == "slo-declared"} == {A}


@fires("slo-declared")
def test_slo_declared_fires_on_an_inventory_without_stack_settings(onprem: Inventory) -> None:
    bare = without_settings(onprem)
    assert bare.settings == {}
    (finding,) = findings("slo-declared", bare)
    assert "records no settings" in finding.message
    assert SETTINGS_TYPE in finding.message


# --- request-limits --------------------------------------------------------------------------------------


def drop_flag(flag: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        args = vllm_container(props)["args"]
        index = args.index(flag)
        del args[index : index + 2]

    return change


@fires("request-limits")
def test_request_limits_fire_without_max_num_seqs(onprem: Inventory) -> None:
    (finding,) = findings("request-limits", edit(onprem, CHAT_DEPLOYMENT, drop_flag("--max-num-seqs")))
    assert finding.resource == CHAT_DEPLOYMENT
    assert finding.message == "vLLM runs without --max-num-seqs: requests are unbounded"


def test_request_limits_read_flags_in_both_spellings(onprem: Inventory) -> None:
    def joined(props: dict[str, Any]) -> None:
        drop_flag("--max-num-seqs")(props)
        vllm_container(props)["args"].append("--max-num-seqs=128")

    assert findings("request-limits", edit(onprem, CHAT_DEPLOYMENT, joined)) == []

    def dangling(props: dict[str, Any]) -> None:
        drop_flag("--max-num-seqs")(props)
        vllm_container(props)["args"].append("--max-num-seqs")

    assert messages("request-limits", edit(onprem, CHAT_DEPLOYMENT, dangling)) == [
        "vLLM runs without --max-num-seqs: requests are unbounded"
    ]


@fires("request-limits")
def test_request_limits_fire_on_the_single_host_without_queue_bound(host: Inventory) -> None:
    def unbounded(compose: dict[str, Any]) -> None:
        command = compose["services"]["vllm"]["command"]
        index = command.index("--max-num-queued-reqs")
        del command[index : index + 2]

    (finding,) = findings("request-limits", edit_compose(host, unbounded))
    assert (finding.resource, finding.message) == (
        HOST_COMPOSE,
        "vLLM runs without --max-num-queued-reqs: requests are unbounded",
    )


def drop_route_timeout(props: dict[str, Any]) -> None:
    for rule in props["spec"]["rules"]:
        rule.pop("timeouts")


def drop_policy_timeout(props: dict[str, Any]) -> None:
    props["spec"].pop("timeout")


@fires("request-limits")
def test_request_limits_fire_without_route_or_gateway_timeout(onprem: Inventory) -> None:
    route_only = edit(onprem, CHAT_ROUTE, drop_route_timeout)
    policy_only = edit(onprem, CHAT_TRAFFIC, drop_policy_timeout)
    assert findings("request-limits", route_only) == []  # the BackendTrafficPolicy still sets one
    assert findings("request-limits", policy_only) == []  # the HTTPRoute still sets one
    (finding,) = findings("request-limits", edit(route_only, CHAT_TRAFFIC, drop_policy_timeout))
    assert finding.resource == CHAT_ROUTE
    assert "no request timeout" in finding.message and "15 s default" in finding.message


def test_request_limits_ignore_the_health_route(onprem: Inventory) -> None:
    assert findings("request-limits", edit(onprem, "onprem-gateway-health-route", drop_route_timeout)) == []


@fires("request-limits")
def test_request_limits_want_a_rate_limit_on_enterprise(onprem: Inventory) -> None:
    enterprise = with_settings(onprem, tier="enterprise")
    assert findings("request-limits", enterprise) == []
    (finding,) = findings("request-limits", edit(enterprise, CHAT_TRAFFIC, lambda p: p["spec"].pop("rateLimit")))
    assert finding.resource == CHAT_ROUTE
    assert "no per-key rate limit on this route" in finding.message
    # Not asked for below the enterprise tier.
    assert findings("request-limits", edit(onprem, CHAT_TRAFFIC, lambda p: p["spec"].pop("rateLimit"))) == []


# --- autoscaling-bounds ----------------------------------------------------------------------------------


@fires("autoscaling-bounds")
def test_autoscaling_bounds_fire_on_min_above_max(onprem: Inventory) -> None:
    inverted = edit(onprem, CHAT_SCALER, lambda p: p["spec"].update(minReplicaCount=5))
    (finding,) = findings("autoscaling-bounds", inverted)
    assert "ScaledObject of chat: minReplicaCount 5 > maxReplicaCount 4" in finding.message
    # The finding names a resource of the stack, as every other rule does: the ScaledObject.
    assert finding.resource == CHAT_SCALER


@fires("autoscaling-bounds")
def test_autoscaling_bounds_fire_when_a_replica_needs_more_gpus_than_a_node_has(onprem: Inventory) -> None:
    models = copy.deepcopy(onprem.settings["models"])
    models[1]["gpusPerReplica"] = 8
    (finding,) = findings("autoscaling-bounds", with_settings(onprem, models=models))
    assert finding.message == "profile analysis needs 8 GPUs per replica; nodes have 4"
    assert finding.resource is None


# --- in-flight-target ------------------------------------------------------------------------------------


def _in_flight_threshold(threshold: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        (trigger,) = [t for t in props["spec"]["triggers"] if metrics.VLLM_RUNNING in t["metadata"].get("query", "")]
        trigger["metadata"]["threshold"] = threshold

    return change


def test_the_example_scales_chat_at_what_a_replica_carries_within_the_slo(onprem: Inventory) -> None:
    (chat,) = [p for p in onprem.settings["models"] if p["name"] == "chat"]
    assert chat["sloInFlight"] == {"inFlightTarget": 22, "replicas": 4, "bandwidthEstimate": True}
    assert chat["inFlightThreshold"] == 22
    # Batch lanes scale on full batches: nothing to judge there.
    (analysis,) = [p for p in onprem.settings["models"] if p["name"] == "analysis"]
    assert analysis.get("sloInFlight") is None and analysis["inFlightThreshold"] == analysis["maxNumSeqs"] == 32
    assert findings("in-flight-target-estimate", onprem) == findings("in-flight-target", onprem) == []


@fires("in-flight-target-estimate")
def test_in_flight_target_estimate_fires_on_full_batches(onprem: Inventory) -> None:
    full_batches = edit(onprem, CHAT_SCALER, _in_flight_threshold("128"))
    (finding,) = findings("in-flight-target-estimate", full_batches)
    assert finding.resource == CHAT_SCALER
    assert finding.message.startswith(
        "profile chat adds replicas only above 128 requests in flight per replica; one replica carries 22 within "
        "the SLO, 4 replicas at the declared peak (a memory-bandwidth estimate"
    )
    assert finding.message.endswith("set models[0].inFlightTarget: 22")
    # At the target, or below it (more replicas than needed), it passes; measured figures are the other rule's.
    assert findings("in-flight-target-estimate", edit(onprem, CHAT_SCALER, _in_flight_threshold("22"))) == []
    assert findings("in-flight-target-estimate", edit(onprem, CHAT_SCALER, _in_flight_threshold("10"))) == []
    assert findings("in-flight-target", full_batches) == []


@fires("in-flight-target")
def test_in_flight_target_fires_on_measured_figures(onprem: Inventory) -> None:
    models = copy.deepcopy(onprem.settings["models"])
    models[0]["sloInFlight"]["bandwidthEstimate"] = False
    measured = with_settings(edit(onprem, CHAT_SCALER, _in_flight_threshold("64")), models=models)
    (finding,) = findings("in-flight-target", measured)
    assert "profile chat adds replicas only above 64 requests in flight per replica" in finding.message
    assert "estimate" not in finding.message
    assert findings("in-flight-target-estimate", measured) == []
    assert findings("in-flight-target", with_settings(onprem, models=models)) == []


# --- monitoring ------------------------------------------------------------------------------------------


@fires("monitoring")
def test_monitoring_fires_on_the_example_kubernetes_stack(onprem: Inventory) -> None:
    unmonitored = without(onprem, *(r.name for kind in MONITORING_KINDS for r in onprem.kubernetes(kind)))
    found = messages("monitoring", unmonitored)
    assert "no PodMonitor scrapes profile chat" in found
    assert "no PodMonitor scrapes profile analysis" in found
    assert any("dcgm-exporter" in m for m in found)
    for metric in (metrics.VLLM_E2E_LATENCY, metrics.VLLM_QUEUE_DEPTH, metrics.VLLM_REQUEST_SUCCESS):
        assert any(m.startswith("no alert rule") and metric in m for m in found), metric
    assert any(metrics.DCGM_GPU_UTIL in m for m in found)
    assert {v.enforcement for v in evaluate(unmonitored) if v.policy == "monitoring"} == {M}


def test_monitoring_passes_with_monitors_for_every_profile_and_alerts_on_every_signal(monitored: Inventory) -> None:
    assert findings("monitoring", monitored) == []


def test_monitoring_names_the_missing_profile_monitor_and_alert(monitored: Inventory) -> None:
    def no_gpu_alert(props: dict[str, Any]) -> None:
        rule = props["spec"]["groups"][0]["rules"][0]
        rule["expr"] = rule["expr"].replace(metrics.DCGM_GPU_UTIL, "up")

    changed = edit(without(monitored, "onprem-analysis-monitor"), "onprem-alerts", no_gpu_alert)
    assert messages("monitoring", changed) == [
        "no PodMonitor scrapes profile analysis",
        f"no alert rule on GPU utilisation ({metrics.DCGM_GPU_UTIL})",
    ]


@fires("monitoring")
def test_monitoring_fires_when_the_single_host_runs_no_gpu_exporter(host: Inventory) -> None:
    changed = edit_compose(host, lambda c: c["services"].pop("dcgm-exporter"))
    found = findings("monitoring", changed)
    assert Finding("the single host runs no dcgm-exporter", HOST_COMPOSE) in found
    assert not any("prometheus" in f.message for f in found)


@fires("monitoring")
def test_monitoring_reads_the_single_host_rules_from_its_bundle(host: Inventory) -> None:
    assert findings("monitoring", host) == []
    (rules,) = [r.name for r in host.of_type(BUCKET_OBJECT) if r.props["key"] == "bundle/prometheus/rules/llmscale.yml"]
    found = messages("monitoring", without(host, rules))
    assert f"no alert rule on latency ({metrics.VLLM_E2E_LATENCY})" in found
    assert f"no alert rule on GPU utilisation ({metrics.DCGM_GPU_UTIL})" in found


def test_monitoring_has_nothing_to_say_without_model_servers(inventories: dict[str, Inventory]) -> None:
    assert findings("monitoring", inventories["single-gpu-host"]) == []


# --- night-schedule --------------------------------------------------------------------------------------


def no_cron(props: dict[str, Any]) -> None:
    props["spec"]["triggers"] = [t for t in props["spec"]["triggers"] if t["type"] != "cron"]


@fires("night-schedule")
def test_night_schedule_fires_on_a_development_cluster_without_schedule(onprem: Inventory) -> None:
    unscheduled = edit(edit(onprem, CHAT_SCALER, no_cron), "onprem-analysis-scaler", no_cron)
    assert findings("night-schedule", unscheduled) == []  # production: GPUs stay up at night on purpose
    (finding,) = findings("night-schedule", with_settings(unscheduled, environment="development"))
    assert finding.message == "a development stack keeps its GPUs all night; enable llmscale:schedule"
    assert finding.resource is None


def test_night_schedule_accepts_one_cron_trigger(onprem: Inventory) -> None:
    partly = with_settings(edit(onprem, CHAT_SCALER, no_cron), environment="development")
    assert findings("night-schedule", partly) == []


@fires("night-schedule")
def test_night_schedule_fires_on_the_single_host_without_instance_schedule(host: Inventory) -> None:
    assert host.settings["environment"] == "development"
    schedules = [r.name for r in host.of_type("aws:scheduler/schedule:Schedule")]
    assert schedules
    (finding,) = findings("night-schedule", without(host, *schedules))
    assert "a development stack keeps its GPUs all night" in finding.message
    assert findings("night-schedule", with_settings(without(host, *schedules), environment="production")) == []


# --- gpu-taints ------------------------------------------------------------------------------------------


def node_group(ami: str, taints: list[dict[str, Any]] | None = None) -> Record:
    props: dict[str, Any] = {"amiType": ami, "instanceTypes": ["g6e.12xlarge"]}
    if taints is not None:
        props["taints"] = taints
    return aws(NODE_GROUP, "gpu-nodes", **props)


@fires("gpu-taints")
@pytest.mark.parametrize("taints", [None, [], [{"key": "nvidia.com/gpu", "effect": "NO_EXECUTE"}]], ids=str)
def test_gpu_taints_fire_on_a_gpu_node_group_without_the_taint(onprem: Inventory, taints: Any) -> None:
    (finding,) = findings("gpu-taints", adding(onprem, node_group("AL2023_x86_64_NVIDIA", taints)))
    assert finding.resource == "gpu-nodes"
    assert "GPU node group without the nvidia.com/gpu NoSchedule taint" in finding.message


def test_gpu_taints_pass_with_the_taint_and_ignore_other_node_groups(onprem: Inventory) -> None:
    tainted = node_group("AL2023_x86_64_NVIDIA", [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}])
    assert findings("gpu-taints", adding(onprem, tainted)) == []
    assert findings("gpu-taints", adding(onprem, node_group("AL2023_x86_64_STANDARD"))) == []


# --- encryption-at-rest ----------------------------------------------------------------------------------


@fires("encryption-at-rest")
def test_encryption_at_rest_fires_on_an_unencrypted_root_volume(host: Inventory) -> None:
    changed = edit(host, HOST_INSTANCE, lambda p: p["rootBlockDevice"].update(encrypted=False), INSTANCE)
    (finding,) = findings("encryption-at-rest", changed)
    assert (finding.resource, finding.message) == (HOST_INSTANCE, "root volume is not encrypted")


@fires("encryption-at-rest")
def test_encryption_at_rest_fires_on_an_unencrypted_ebs_volume(host: Inventory) -> None:
    found = findings("encryption-at-rest", adding(host, aws("aws:ebs/volume:Volume", "models", size=500)))
    assert found == [Finding("EBS volume is not encrypted", "models")]
    assert findings("encryption-at-rest", adding(host, aws("aws:ebs/volume:Volume", "models", encrypted=True))) == []


@fires("encryption-at-rest")
def test_encryption_at_rest_fires_on_a_bucket_without_encryption_configuration(host: Inventory) -> None:
    bucket = aws("aws:s3/bucketV2:BucketV2", "weights", bucket="llmscale-weights")
    (finding,) = findings("encryption-at-rest", adding(host, bucket))
    assert (finding.resource, finding.message) == ("weights", "bucket without a server-side encryption configuration")
    sse = aws(
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "weights-sse",
        bucket="llmscale-weights",
        rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
    )
    assert findings("encryption-at-rest", adding(host, bucket, sse)) == []


GPU_TEMPLATE = "multi-gpu-eks-gpu-nodes"
GPU_GROUP = "multi-gpu-eks-gpu"
MG_CLUSTER = "multi-gpu-eks-cluster"
PRIMARY_BUCKET = "enterprise-models-bucket"
PRIMARY_BLOCK = "enterprise-models-public-access"


@pytest.fixture(scope="module")
def eks(inventories: dict[str, Inventory]) -> Inventory:
    """The multi-gpu AWS stack: an EKS cluster whose node groups use launch templates."""
    return inventories["multi-gpu"]


@fires("encryption-at-rest")
def test_encryption_at_rest_fires_on_an_unencrypted_node_volume(eks: Inventory) -> None:
    def plain(props: dict[str, Any]) -> None:
        props["blockDeviceMappings"][0]["ebs"]["encrypted"] = "false"

    changed = edit(eks, GPU_TEMPLATE, plain, LAUNCH_TEMPLATE)
    assert [(f.resource, f.message) for f in findings("encryption-at-rest", changed)] == [
        (GPU_TEMPLATE, "launch template volume /dev/xvda is not encrypted")
    ]


@fires("encryption-at-rest")
def test_encryption_at_rest_fires_on_a_node_group_that_leaves_disks_to_the_account_default(eks: Inventory) -> None:
    without_template = edit(eks, GPU_GROUP, lambda p: p.pop("launchTemplate"), NODE_GROUP)
    assert [(f.resource, f.message) for f in findings("encryption-at-rest", without_template)] == [
        (GPU_GROUP, "node group without a launch template: its disks follow the account's EBS encryption default")
    ]
    no_volumes = edit(eks, GPU_TEMPLATE, lambda p: p.pop("blockDeviceMappings"), LAUNCH_TEMPLATE)
    assert messages("encryption-at-rest", no_volumes) == [
        "the node group's launch template sets no volumes: its disks follow the account's EBS encryption default"
    ]


def test_encryption_at_rest_passes_on_the_eks_example_and_checks_each_bucket(enterprise: Inventory) -> None:
    assert findings("encryption-at-rest", enterprise) == []
    # One encrypted bucket no longer hides another without encryption.
    extra = aws(BUCKET, "enterprise-scratch", bucketPrefix="scratch-")
    assert [f.resource for f in findings("encryption-at-rest", adding(enterprise, extra))] == ["enterprise-scratch"]


# --- imdsv2-required -------------------------------------------------------------------------------------


@fires("imdsv2-required")
def test_imdsv2_required_fires_on_a_host_that_accepts_imdsv1(host: Inventory) -> None:
    changed = edit(host, HOST_INSTANCE, lambda p: p["metadataOptions"].update(httpTokens="optional"), INSTANCE)
    assert [(f.resource, f.message) for f in findings("imdsv2-required", changed)] == [
        (HOST_INSTANCE, "instance metadata answers IMDSv1: set metadataOptions.httpTokens to required")
    ]
    # No metadata options at all is EC2's default: IMDSv1 allowed.
    assert len(findings("imdsv2-required", edit(host, HOST_INSTANCE, lambda p: p.pop("metadataOptions")))) == 1


@fires("imdsv2-required")
def test_imdsv2_required_fires_on_node_templates_and_groups_without_one(eks: Inventory) -> None:
    optional = edit(eks, GPU_TEMPLATE, lambda p: p["metadataOptions"].update(httpTokens="optional"), LAUNCH_TEMPLATE)
    assert [f.resource for f in findings("imdsv2-required", optional)] == [GPU_TEMPLATE]
    default = edit(eks, GPU_GROUP, lambda p: p.pop("launchTemplate"), NODE_GROUP)
    assert [f.resource for f in findings("imdsv2-required", default)] == [GPU_GROUP]


def test_imdsv2_required_passes_with_metadata_off_or_tokens_required(host: Inventory, eks: Inventory) -> None:
    assert findings("imdsv2-required", host) == [] and findings("imdsv2-required", eks) == []
    off = edit(host, HOST_INSTANCE, lambda p: p.update(metadataOptions={"httpEndpoint": "disabled"}), INSTANCE)
    assert findings("imdsv2-required", off) == []


# --- eks-secrets-encryption ------------------------------------------------------------------------------


@fires("eks-secrets-encryption")
@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.pop("encryptionConfig"),
        lambda p: p["encryptionConfig"].update(resources=[]),
        lambda p: p["encryptionConfig"].update(provider={}),
    ],
    ids=["removed", "no-secrets", "no-key"],
)
def test_eks_secrets_encryption_fires_when_removed(eks: Inventory, change: Callable[[dict[str, Any]], Any]) -> None:
    assert findings("eks-secrets-encryption", eks) == []
    changed = edit(eks, MG_CLUSTER, change, CLUSTER)
    assert [(f.resource, f.message) for f in findings("eks-secrets-encryption", changed)] == [
        (MG_CLUSTER, "Kubernetes Secrets are not envelope-encrypted with a KMS key (encryptionConfig for secrets)")
    ]


# --- s3-public-access-block ------------------------------------------------------------------------------


@fires("s3-public-access-block")
def test_s3_public_access_block_fires_when_removed(enterprise: Inventory) -> None:
    assert findings("s3-public-access-block", enterprise) == []
    changed = without(enterprise, PRIMARY_BLOCK)
    assert [(f.resource, f.message) for f in findings("s3-public-access-block", changed)] == [
        (PRIMARY_BUCKET, "bucket without a public access block")
    ]


@fires("s3-public-access-block")
def test_s3_public_access_block_fires_when_a_setting_is_turned_off(enterprise: Inventory) -> None:
    changed = edit(enterprise, PRIMARY_BLOCK, lambda p: p.update(blockPublicPolicy=False, ignorePublicAcls=False))
    assert messages("s3-public-access-block", changed) == [
        "the bucket's public access block leaves blockPublicPolicy, ignorePublicAcls off"
    ]


def test_s3_public_access_block_matches_a_block_by_bucket_name(host: Inventory) -> None:
    bucket = aws(BUCKET, "logs", bucket="llmscale-logs")
    flags = dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    block = aws(PUBLIC_ACCESS_BLOCK, "logs-block", bucket="llmscale-logs", **flags)
    assert findings("s3-public-access-block", adding(host, bucket, block)) == []
    other = aws(PUBLIC_ACCESS_BLOCK, "other-block", bucket="another-bucket", **flags)
    assert [f.resource for f in findings("s3-public-access-block", adding(host, bucket, other))] == ["logs"]


# --- eks-endpoint-access ---------------------------------------------------------------------------------


@fires("eks-endpoint-access")
@pytest.mark.parametrize(
    "change",
    [
        lambda p: p["vpcConfig"].update(publicAccessCidrs=["0.0.0.0/0"]),
        lambda p: p["vpcConfig"].update(publicAccessCidrs=["203.0.113.0/24", "::/0"]),
        lambda p: p["vpcConfig"].pop("publicAccessCidrs"),  # AWS's default for a public endpoint: 0.0.0.0/0
    ],
    ids=["ipv4-world", "ipv6-world", "aws-default"],
)
def test_eks_endpoint_access_fires_on_a_world_open_endpoint(
    eks: Inventory, change: Callable[[dict[str, Any]], Any]
) -> None:
    assert findings("eks-endpoint-access", eks) == []
    changed = edit(eks, MG_CLUSTER, change, CLUSTER)
    [finding] = findings("eks-endpoint-access", changed)
    assert finding.resource == MG_CLUSTER
    assert finding.message.startswith("the Kubernetes API endpoint is open to the whole internet")
    assert [v.enforcement for v in evaluate(changed) if v.policy == "eks-endpoint-access"] == [M]


def test_eks_endpoint_access_accepts_private_endpoints_and_a_declared_open_one(eks: Inventory) -> None:
    world = edit(eks, MG_CLUSTER, lambda p: p["vpcConfig"].update(publicAccessCidrs=["0.0.0.0/0"]), CLUSTER)
    assert findings("eks-endpoint-access", with_settings(world, eksPublicEndpointOpenToInternet=True)) == []
    private = edit(world, MG_CLUSTER, lambda p: p["vpcConfig"].update(endpointPublicAccess=False), CLUSTER)
    assert findings("eks-endpoint-access", private) == []


def test_the_stack_records_whether_a_world_open_endpoint_is_intended(eks: Inventory, tmp_path: Path) -> None:
    assert eks.settings["eksPublicEndpointOpenToInternet"] is False
    config = example_config("multi-gpu")
    config["llmscale:eks"].update(publicAccessCidrs=["0.0.0.0/0"])
    closed = write_stack(tmp_path, "world", config)
    result = invoke("plan", str(closed), "--json")
    assert result.exit_code == 1, everything(result)
    assert [v["policy"] for v in json.loads(result.stdout)["violations"] if v["enforcement"] == "mandatory"] == [
        "eks-endpoint-access"
    ]
    config["llmscale:eks"].update(publicEndpointOpenToInternet=True)
    intended = write_stack(tmp_path, "world-intended", config)
    result = invoke("plan", str(intended), "--json")
    assert result.exit_code == 0, everything(result)
    assert "eks-endpoint-access" not in {v["policy"] for v in json.loads(result.stdout)["violations"]}


# --- open-ports ------------------------------------------------------------------------------------------


def ingress(**rule: Any) -> Callable[[dict[str, Any]], None]:
    return lambda props: props["ingress"].append({"protocol": "tcp", **rule})


@fires("open-ports")
def test_open_ports_fire_on_ssh_from_the_internet(host: Inventory) -> None:
    changed = edit(host, HOST_SECURITY_GROUP, ingress(fromPort=22, toPort=22, cidrBlocks=["0.0.0.0/0"]))
    (finding,) = findings("open-ports", changed)
    assert (finding.resource, finding.message) == (HOST_SECURITY_GROUP, "ports 22-22 are open to the internet")


@fires("open-ports")
def test_open_ports_fire_on_ipv6_world(host: Inventory) -> None:
    changed = edit(host, HOST_SECURITY_GROUP, ingress(fromPort=8000, toPort=8000, ipv6CidrBlocks=["::/0"]))
    assert messages("open-ports", changed) == ["ports 8000-8000 are open to the internet"]


def test_open_ports_accept_https_from_the_internet_and_other_ports_from_private_networks(host: Inventory) -> None:
    https = edit(host, HOST_SECURITY_GROUP, ingress(fromPort=443, toPort=443, cidrBlocks=["0.0.0.0/0"]))
    https6 = edit(https, HOST_SECURITY_GROUP, ingress(fromPort=443, toPort=443, ipv6CidrBlocks=["::/0"]))
    private = edit(https6, HOST_SECURITY_GROUP, ingress(fromPort=22, toPort=22, cidrBlocks=["10.0.0.0/8"]))
    assert findings("open-ports", private) == []


# --- plaintext-secrets -----------------------------------------------------------------------------------


@fires("plaintext-secrets")
def test_plaintext_secrets_fire_on_a_kubernetes_secret_in_plain_text(onprem: Inventory) -> None:
    changed = edit(onprem, "onprem-hf-token", lambda p: p.update(stringData={"token": "not-a-token-shape"}))
    (finding,) = findings("plaintext-secrets", changed)
    assert finding.resource == "onprem-hf-token"
    assert "Secret stringData is not a Pulumi secret" in finding.message


@pytest.mark.parametrize(
    "value",
    ["[secret]", {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}],
    ids=["redacted", "wrapped"],
)
def test_plaintext_secrets_accept_pulumi_secrets(onprem: Inventory, value: Any) -> None:
    changed = edit(onprem, "onprem-hf-token", lambda p: p.update(stringData=value))
    assert findings("plaintext-secrets", changed) == []


@fires("plaintext-secrets")
def test_plaintext_secrets_find_a_hugging_face_token_anywhere_without_repeating_it(onprem: Inventory) -> None:
    def leak(props: dict[str, Any]) -> None:
        vllm_container(props)["env"].append({"name": "HF_TOKEN", "value": f"token={HF_TOKEN}"})

    (finding,) = findings("plaintext-secrets", edit(onprem, CHAT_DEPLOYMENT, leak))
    assert finding.resource == CHAT_DEPLOYMENT
    assert finding.message == "an input contains a Hugging Face token in plain text"
    assert HF_TOKEN not in finding.message and HF_TOKEN[3:] not in finding.message


@fires("plaintext-secrets")
def test_plaintext_secrets_find_an_aws_access_key(host: Inventory) -> None:
    changed = edit(host, HOST_INSTANCE, lambda p: p["tags"].update(note=f"key {AWS_KEY}"), INSTANCE)
    (finding,) = findings("plaintext-secrets", changed)
    assert (finding.resource, finding.message) == (HOST_INSTANCE, "an input contains an AWS access key in plain text")
    assert AWS_KEY not in finding.message


def test_plaintext_secrets_want_secure_strings_to_be_secrets(host: Inventory) -> None:
    changed = edit(host, "single-gpu-api-keys", lambda p: p.update(value='{"team": "abc"}'))
    (finding,) = findings("plaintext-secrets", changed)
    assert (finding.resource, finding.message) == ("single-gpu-api-keys", "SecureString value is not a Pulumi secret")


def test_plaintext_secrets_ignore_short_token_lookalikes(onprem: Inventory) -> None:
    def lookalike(props: dict[str, Any]) -> None:
        vllm_container(props)["env"].append({"name": "NOTE", "value": "hf_short sk-short AKIA1234"})

    assert findings("plaintext-secrets", edit(onprem, CHAT_DEPLOYMENT, lookalike)) == []


# --- per-tier enforcement --------------------------------------------------------------------------------

EXPECTED_LEVELS: dict[str, tuple[Enforcement, Enforcement, Enforcement]] = {
    # single-gpu, multi-gpu, enterprise
    "min-active-replicas": (D, M, M),
    "disruption-budgets": (D, M, M),
    "zone-spread": (D, D, M),
    "dns-failover": (D, D, M),
    "vllm-probes": (M, M, M),
    "pinned-images": (M, M, M),
    "slo-declared": (A, M, M),
    "request-limits": (M, M, M),
    "autoscaling-bounds": (M, M, M),
    "in-flight-target": (D, A, M),
    "in-flight-target-estimate": (D, A, A),
    "gpu-headroom": (D, M, M),
    "gpu-headroom-estimate": (D, A, M),
    "monitoring": (M, M, M),
    "night-schedule": (A, A, A),
    "gpu-taints": (A, A, A),
    "encryption-at-rest": (M, M, M),
    "imdsv2-required": (M, M, M),
    "eks-secrets-encryption": (M, M, M),
    "s3-public-access-block": (M, M, M),
    "eks-endpoint-access": (M, M, M),
    "open-ports": (A, A, A),
    "plaintext-secrets": (A, A, A),
    "tls-endpoint": (M, M, M),
    "gateway-redundancy": (D, A, M),
    "cache-aware-replicas": (D, A, A),
    "endpoint-picker-redundancy": (D, A, M),
    "night-kills": (M, M, M),
    "scale-flapping": (D, A, A),
    "failover-rto": (A, A, A),
    "morning-ramp": (A, A, A),
}


@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_level_for_each_tier(policy: str) -> None:
    assert policy in EXPECTED_LEVELS, f"add {policy} to EXPECTED_LEVELS"
    assert tuple(POLICY[policy].level_for(tier) for tier in TIERS) == EXPECTED_LEVELS[policy]
    assert POLICY[policy].level_for("no-such-tier") is D


@pytest.mark.parametrize("policy", [p.name for p in POLICIES])
def test_a_stack_without_settings_gets_the_strictest_level(policy: str) -> None:
    strictest = M if M in EXPECTED_LEVELS[policy] else A
    assert POLICY[policy].level_for(None) is strictest


def test_level_for_a_policy_of_my_own() -> None:
    mixed = Policy("x", "x", lambda inv: [], {"single-gpu": A, "enterprise": M})
    assert [mixed.level_for(t) for t in (*TIERS, None)] == [A, D, M, M]
    advisory = Policy("y", "y", lambda inv: [], {"multi-gpu": A})
    assert [advisory.level_for(t) for t in (*TIERS, None)] == [D, A, D, A]


def test_evaluate_skips_policies_disabled_on_the_tier(onprem: Inventory) -> None:
    # The on-prem Deployments have no zone constraint and the stack no Route 53 records: the rules fire...
    assert findings("zone-spread", onprem) and findings("dns-failover", onprem)
    # ...but both are disabled on the multi-gpu tier.
    assert {"zone-spread", "dns-failover"}.isdisjoint(v.policy for v in evaluate(onprem))


def test_evaluate_gives_a_stack_without_settings_the_strictest_level(onprem: Inventory) -> None:
    bare = without_settings(onprem)
    assert bare.tier is None
    levels = {(v.policy, v.enforcement) for v in evaluate(bare)}
    assert {("zone-spread", M), ("dns-failover", M), ("slo-declared", M)} <= levels


def test_evaluate_makes_one_violation_per_finding_with_the_tier_level(onprem: Inventory) -> None:
    spy_findings = [Finding("first", "a"), Finding("second")]
    custom = [
        Policy("mine", "mine", lambda inv: spy_findings, {"multi-gpu": M}),
        Policy("off", "off", lambda inv: [Finding("never")], {"single-gpu": M}),
    ]
    assert evaluate(onprem, custom) == [Violation("mine", M, "first", "a"), Violation("mine", M, "second", None)]


def test_violation_as_dict() -> None:
    assert Violation("p", A, "msg", "res").as_dict() == {
        "policy": "p",
        "enforcement": "advisory",
        "resource": "res",
        "message": "msg",
    }


def test_evaluate_on_enterprise_and_single_gpu_uses_each_tier_level(onprem: Inventory) -> None:
    declared = [key for key in onprem.settings["declared"] if key != "slo"]
    undeclared = with_settings(onprem, declared=declared)
    levels = {
        tier: {v.enforcement for v in evaluate(with_settings(undeclared, tier=tier)) if v.policy == "slo-declared"}
        for tier in TIERS
    }
    assert levels == {"single-gpu": {A}, "multi-gpu": {M}, "enterprise": {M}}


# --- plan integration ------------------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    from llmscale.cli import app

    return CliRunner().invoke(app, list(args))


def everything(result: Result) -> str:
    text = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += repr(result.exception)
    return text


def assert_violation_dicts(violations: list[dict[str, Any]]) -> None:
    for violation in violations:
        assert set(violation) == {"policy", "enforcement", "resource", "message"}
        assert violation["policy"] in POLICY
        assert violation["enforcement"] in ("mandatory", "advisory")
        assert violation["resource"] is None or isinstance(violation["resource"], str)
        assert isinstance(violation["message"], str) and violation["message"]


@pytest.fixture(scope="module")
def onprem_plan() -> Result:
    return invoke("plan", "onprem", "--json")


def test_plan_json_lists_violations(onprem_plan: Result, onprem: Inventory) -> None:
    assert onprem_plan.exit_code == 0, everything(onprem_plan)
    document = json.loads(onprem_plan.stdout)
    violations = document["violations"]
    assert isinstance(violations, list)
    assert_violation_dicts(violations)
    assert violations == [v.as_dict() for v in evaluate(onprem)]
    assert "mandatory" not in {v["enforcement"] for v in violations}
    # The human output lists them too.
    for violation in violations:
        where = f" [{violation['resource']}]" if violation["resource"] else ""
        line = f"{violation['enforcement']:<9} {violation['policy']}{where}: {violation['message']}"
        assert line in onprem_plan.stderr


def test_plan_exits_1_and_lists_a_mandatory_violation(tmp_path: Path) -> None:
    path = write_variant(
        tmp_path, "onprem", name="one-replica", change=lambda c: c["llmscale:models"][0].update(minReplicas=1)
    )
    result = invoke("plan", str(path), "--json")
    assert result.exit_code == 1, everything(result)
    assert "Traceback" not in everything(result)
    document = json.loads(result.stdout)
    assert_violation_dicts(document["violations"])
    mandatory = [v for v in document["violations"] if v["enforcement"] == "mandatory"]
    assert [(v["policy"], v["resource"]) for v in mandatory] == [("min-active-replicas", "one-replica-chat-deployment")]
    message = mandatory[0]["message"]
    assert "profile chat keeps 1 replica(s)" in message
    lines = [line for line in result.stderr.splitlines() if "min-active-replicas" in line]
    assert len(lines) == 1
    assert "mandatory" in lines[0]
    assert "[one-replica-chat-deployment]" in lines[0]
    assert message in lines[0]


def test_plan_with_advisory_violations_only_exits_0(tmp_path: Path) -> None:
    def development(config: dict[str, Any]) -> None:
        config["llmscale:environment"] = "development"
        config["llmscale:schedule"] = {"enabled": False}

    result = invoke("plan", str(write_variant(tmp_path, "onprem", name="dev", change=development)))
    assert result.exit_code == 0, everything(result)
    assert "advisory  night-schedule: a development stack keeps its GPUs all night" in result.stderr
    assert "mandatory" not in result.stderr


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_plan_documents_carry_the_violations_of_their_inventory(
    example_plans: Mapping[str, dict[str, Any]], inventories: dict[str, Inventory], stack: str
) -> None:
    document = example_plans[stack]
    assert document["violations"] == [v.as_dict() for v in evaluate(inventories[stack])]


# --- gateway redundancy ---------------------------------------------------------------------------------------


def test_example_gateways_run_two_proxies_with_a_budget(enterprise: Inventory) -> None:
    (proxy,) = [p for p in enterprise.kubernetes("EnvoyProxy") if p.name == "enterprise-gateway-proxy"]
    kubernetes = proxy.props["spec"]["provider"]["kubernetes"]
    assert kubernetes["envoyDeployment"]["replicas"] == 2
    assert kubernetes["envoyPDB"] == {"minAvailable": 1}
    keys = {c["topologyKey"] for c in kubernetes["envoyDeployment"]["pod"]["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert findings("gateway-redundancy", enterprise) == []


@fires("gateway-redundancy")
def test_gateway_redundancy_fires_on_one_proxy(enterprise: Inventory) -> None:
    def single(props: dict[str, Any]) -> None:
        props["spec"]["provider"]["kubernetes"]["envoyDeployment"]["replicas"] = 1
        del props["spec"]["provider"]["kubernetes"]["envoyPDB"]

    found = findings("gateway-redundancy", edit(enterprise, "enterprise-gateway-proxy", single))
    assert [f.message for f in found] == ["the gateway runs 1 proxy replica(s); set gateway.replicas to 2 or more"]


@fires("gateway-redundancy")
def test_gateway_redundancy_fires_without_an_envoy_proxy(enterprise: Inventory) -> None:
    def bare(props: dict[str, Any]) -> None:
        del props["spec"]["infrastructure"]

    found = findings("gateway-redundancy", edit(enterprise, "enterprise-gateway-gateway", bare))
    assert found and found[0].message.startswith("the gateway runs 1 proxy replica(s)")


# --- cache-aware routing --------------------------------------------------------------------------------


def test_the_cache_aware_example_passes_the_routing_policies(onprem: Inventory) -> None:
    assert list(onprem.kubernetes("InferencePool"))
    assert findings("cache-aware-replicas", onprem) == []
    assert findings("endpoint-picker-redundancy", onprem) == []


def test_a_single_endpoint_picker_is_judged_by_its_own_rule_not_the_profile_rules(onprem: Inventory) -> None:
    """One picker is a multi-gpu stack's default: advisory there, not a mandatory profile-redundancy finding."""

    def single(props: dict[str, Any]) -> None:
        props["spec"]["replicas"] = 1

    one_picker = without(edit(onprem, "onprem-chat-epp-deployment", single), "onprem-chat-epp-poddisruptionbudget")
    assert findings("min-active-replicas", one_picker) == []
    assert findings("disruption-budgets", one_picker) == []
    assert [f.resource for f in findings("endpoint-picker-redundancy", one_picker)] == ["onprem-chat-inferencepool"]


@fires("cache-aware-replicas")
def test_cache_aware_replicas_fires_when_a_pool_cannot_grow_past_one(onprem: Inventory) -> None:
    def one(props: dict[str, Any]) -> None:
        props["spec"]["maxReplicaCount"] = 1

    found = findings("cache-aware-replicas", edit(onprem, "onprem-chat-scaler", one))
    assert [f.resource for f in found] == ["onprem-chat-inferencepool"]
    assert "at most 1 vLLM replica" in found[0].message


@fires("endpoint-picker-redundancy")
def test_endpoint_picker_redundancy_fires_on_one_picker(onprem: Inventory) -> None:
    def single(props: dict[str, Any]) -> None:
        props["spec"]["replicas"] = 1

    found = findings("endpoint-picker-redundancy", edit(onprem, "onprem-analysis-epp-deployment", single))
    assert [f.resource for f in found] == ["onprem-analysis-inferencepool"]
    assert "runs 1 replica(s)" in found[0].message


@fires("endpoint-picker-redundancy")
def test_endpoint_picker_redundancy_fires_without_a_disruption_budget(onprem: Inventory) -> None:
    found = findings("endpoint-picker-redundancy", without(onprem, "onprem-chat-epp-poddisruptionbudget"))
    assert [f.message for f in found] == ["the endpoint picker of InferencePool chat has no PodDisruptionBudget"]


# --- GPU headroom ----------------------------------------------------------------------------------------


MEASURED = {"gpusNeeded": 8, "gpusToProvision": 10, "basis": "measured", "bandwidthEstimate": False}


@fires("gpu-headroom")
def test_gpu_headroom_fires_when_the_profiles_cannot_reach_needed_plus_headroom(onprem: Inventory) -> None:
    # onprem: chat 4 × 1 GPU + analysis 3 × 2 GPUs = 10 GPUs at most.
    short = with_settings(onprem, sizing={**MEASURED, "gpusNeeded": 9, "gpusToProvision": 11})
    assert messages("gpu-headroom", short) == [
        "the profiles can use at most 10 GPUs; the declared peak of 150 users needs 9, 11 with headroom; "
        "raise maxReplicas or lower the declared load"
    ]
    assert findings("gpu-headroom-estimate", short) == []


def test_gpu_headroom_passes_when_maximum_covers_headroom(onprem: Inventory) -> None:
    assert findings("gpu-headroom", with_settings(onprem, sizing=MEASURED)) == []


@fires("gpu-headroom-estimate")
def test_gpu_headroom_estimate_warns_instead_and_says_why(onprem: Inventory) -> None:
    estimate = with_settings(onprem, sizing={**MEASURED, "gpusToProvision": 12, "bandwidthEstimate": True})
    (message,) = messages("gpu-headroom-estimate", estimate)
    hint = "(a memory-bandwidth estimate: calibrate with `vllm bench serve` results in sizing.calibration)"
    assert f"12 with headroom {hint}" in message
    assert findings("gpu-headroom", estimate) == []


@pytest.mark.parametrize("stack", ["multi-gpu", "enterprise", "onprem"])
def test_example_stacks_provision_what_their_own_planner_asks(stack: str) -> None:
    """The examples are templates: their maxReplicas reach the planner's GPUs for the declared peak (headroom
    included) and the planner recommends the stack's own tier."""
    config = load_stack(stack).config
    result = size_for_stack(config)
    capacity = sum(p.max_replicas * p.gpus_per_replica for p in config.models)
    assert result.gpus_to_provision <= capacity, (result.gpus_to_provision, capacity)
    assert result.recommended_tier == str(config.tier)


def test_gpu_headroom_estimate_is_mandatory_on_enterprise_only(inventories: dict[str, Inventory]) -> None:
    """On the default GPU type (L40S: a bandwidth estimate) a short enterprise stack is refused, a short
    multi-gpu stack warned about."""
    short = {"gpusNeeded": 30, "gpusToProvision": 38, "basis": "bandwidth-estimate", "bandwidthEstimate": True}
    levels = {
        stack: {v.enforcement for v in evaluate(with_settings(inventories[stack], sizing=short))
                if v.policy == "gpu-headroom-estimate"}
        for stack in ("multi-gpu", "enterprise")
    }  # fmt: skip
    assert levels == {"multi-gpu": {A}, "enterprise": {M}}
    assert inventories["enterprise"].settings["instanceType"].startswith("g6e.")


def test_gpu_headroom_reports_a_stack_it_cannot_size(onprem: Inventory) -> None:
    unsized = with_settings(onprem, sizing={"error": "model x: cannot tell its size from the name"})
    assert messages("gpu-headroom-estimate", unsized) == [
        "the capacity planner cannot size this stack: model x: cannot tell its size from the name"
    ]
    assert findings("gpu-headroom", unsized) == []


# --- zones -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def enterprise(inventories: dict[str, Inventory]) -> Inventory:
    return inventories["enterprise"]


def gpu_groups(inventory: Inventory, site: str = "primary") -> list[Record]:
    return [
        r
        for r in inventory.of_type("aws:eks/nodeGroup:NodeGroup")
        if "NVIDIA" in r.props.get("amiType", "") and r.props["labels"].get("llmscale.io/site") == site
    ]


def test_enterprise_gpu_capacity_spans_three_zones_in_the_primary_region(enterprise: Inventory) -> None:
    assert len(gpu_groups(enterprise)) == 3
    assert gpu_groups(enterprise, "standby")  # the standby has its own, smaller groups
    assert findings("zone-spread", enterprise) == []


@fires("zone-spread")
def test_zone_spread_fires_on_gpu_capacity_in_two_zones(enterprise: Inventory) -> None:
    two_zones = without(enterprise, gpu_groups(enterprise)[0].name)
    assert messages("zone-spread", two_zones) == [
        "GPU capacity is in 2 node group(s); the enterprise tier keeps one per zone in at least 3 zones (eks.zoneCount)"
    ]


def test_losing_a_zone_must_leave_the_declared_peak(enterprise: Inventory) -> None:
    # Three GPU groups of at most 7 one-GPU nodes: losing one leaves 14 GPUs.
    sizes = [g.props["scalingConfig"]["maxSize"] for g in gpu_groups(enterprise)]
    assert sizes == [7, 7, 7]
    short = with_settings(enterprise, sizing={**MEASURED, "gpusNeeded": 15, "gpusToProvision": 17})
    assert "losing one zone leaves at most 14 GPUs; the declared peak needs 15; raise the profiles' maxReplicas " \
        "or eks.headroomNodes" in messages("gpu-headroom", short)  # fmt: skip
    enough = with_settings(enterprise, sizing={**MEASURED, "gpusNeeded": 14, "gpusToProvision": 17})
    assert not [m for m in messages("gpu-headroom", enough) if m.startswith("losing one zone")]


# --- TLS -------------------------------------------------------------------------------------------------


def test_enterprise_load_balancers_terminate_tls(enterprise: Inventory) -> None:
    balancers = [s for s in enterprise.kubernetes("Service") if s.props["spec"]["type"] == "LoadBalancer"]
    assert len(balancers) == 2  # one per region
    for service in balancers:
        assert service.props["spec"]["ports"] == [
            {"name": "https", "port": 443, "targetPort": 10080, "protocol": "TCP"}
        ]
        assert "service.beta.kubernetes.io/aws-load-balancer-ssl-cert" in service.props["metadata"]["annotations"]
    assert findings("tls-endpoint", enterprise) == []


@fires("tls-endpoint")
def test_tls_endpoint_fires_on_a_plain_http_load_balancer(enterprise: Inventory) -> None:
    name = next(s.name for s in enterprise.kubernetes("Service") if s.props["spec"]["type"] == "LoadBalancer")

    def plain_http(props: dict[str, Any]) -> None:
        del props["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"]
        props["spec"]["ports"] = [{"name": "http", "port": 80, "targetPort": 10080, "protocol": "TCP"}]

    (finding,) = findings("tls-endpoint", edit(enterprise, name, plain_http))
    assert finding.message == "internet-facing load balancer serves ports [80] without TLS"
    assert finding.resource == name


@fires("tls-endpoint")
def test_tls_endpoint_fires_on_a_tls_load_balancer_with_a_second_plain_port(enterprise: Inventory) -> None:
    name = next(s.name for s in enterprise.kubernetes("Service") if s.props["spec"]["type"] == "LoadBalancer")

    def second_port(props: dict[str, Any]) -> None:
        props["spec"]["ports"].append({"name": "http", "port": 80, "targetPort": 10080, "protocol": "TCP"})

    (finding,) = findings("tls-endpoint", edit(enterprise, name, second_port))
    assert finding.message == "internet-facing load balancer serves ports [80] without TLS"


def test_an_internal_load_balancer_is_not_an_internet_path(multi_gpu_internal: Inventory) -> None:
    (service,) = [s for s in multi_gpu_internal.kubernetes("Service") if s.props["spec"]["type"] == "LoadBalancer"]
    annotations = service.props["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert service.props["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 10080, "protocol": "TCP"}]
    assert findings("tls-endpoint", multi_gpu_internal) == []


def test_multi_gpu_on_aws_serves_https_only_with_its_certificate(multi_gpu: Inventory) -> None:
    (service,) = [s for s in multi_gpu.kubernetes("Service") if s.props["spec"]["type"] == "LoadBalancer"]
    assert service.props["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": 10080, "protocol": "TCP"}]
    assert "service.beta.kubernetes.io/aws-load-balancer-internal" not in service.props["metadata"]["annotations"]
    assert findings("tls-endpoint", multi_gpu) == []


@fires("tls-endpoint")
def test_tls_endpoint_fires_when_the_gateways_own_service_is_public(enterprise: Inventory) -> None:
    # Envoy Gateway's own Service defaults to LoadBalancer: on EKS a second, plain-HTTP way in.
    name = next(p.name for p in enterprise.kubernetes("EnvoyProxy"))

    def public(props: dict[str, Any]) -> None:
        props["spec"]["provider"]["kubernetes"]["envoyService"]["type"] = "LoadBalancer"

    found = findings("tls-endpoint", edit(enterprise, name, public))
    assert found and all("plain-HTTP listener(s) http that accept API keys" in f.message for f in found)


@fires("tls-endpoint")
def test_tls_endpoint_fires_on_an_existing_cluster_without_https(onprem: Inventory) -> None:
    gateway = next(g.name for g in onprem.kubernetes("Gateway"))

    def plain(props: dict[str, Any]) -> None:
        props["spec"]["listeners"] = [
            listener for listener in props["spec"]["listeners"] if listener["protocol"] == "HTTP"
        ]

    def unsectioned(props: dict[str, Any]) -> None:
        for parent in props["spec"]["parentRefs"]:
            parent.pop("sectionName", None)

    inventory = edit(onprem, gateway, plain)
    for route in [r.name for r in onprem.kubernetes("HTTPRoute") if r.name.endswith("-route")]:
        inventory = edit(inventory, route, unsectioned)
    (finding,) = findings("tls-endpoint", inventory)
    assert finding.message.startswith("the gateway's own LoadBalancer Service exposes plain-HTTP listener(s) http")
    assert finding.resource == gateway


def test_model_routes_of_an_existing_cluster_attach_to_https_only(onprem: Inventory) -> None:
    routes = [r for r in onprem.kubernetes("HTTPRoute") if r.props["metadata"]["name"] != "health"]
    assert routes
    for route in routes:
        assert route.props["spec"]["parentRefs"] == [{"name": "llmscale", "sectionName": "https"}]
    assert findings("tls-endpoint", onprem) == []


def test_declared_upstream_tls_passes_on_an_existing_cluster(onprem: Inventory) -> None:
    gateway = next(g.name for g in onprem.kubernetes("Gateway"))
    settings = next(r.name for r in onprem.records if r.type == SETTINGS_TYPE)

    def plain(props: dict[str, Any]) -> None:
        props["spec"]["listeners"] = [
            listener for listener in props["spec"]["listeners"] if listener["protocol"] == "HTTP"
        ]

    def declared(props: dict[str, Any]) -> None:
        props["tlsTerminatedUpstream"] = True

    assert findings("tls-endpoint", edit(edit(onprem, gateway, plain), settings, declared)) == []


# --- policies from simulation (cases in tests/test_simulate_policies.py) -----------------------------------


@fires("night-kills", "scale-flapping", "failover-rto", "morning-ramp")
@pytest.mark.parametrize("check", SIMULATED_FIRING, ids=lambda check: check.__name__)
def test_policies_from_simulation_fire(check: Callable[[Callable[[str], Inventory]], None]) -> None:
    check(planned_inventory)
