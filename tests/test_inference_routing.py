"""Tests for llmscale.k8s.inference: the objects of cache-aware routing agree with each other, with the vLLM pods
they route to, with the vendored upstream schemas, and with what the pinned charts accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llmscale import versions
from llmscale.config.models import Lane, ModelProfile
from llmscale.k8s import inference, picker
from llmscale.k8s.defaults import defaulted
from llmscale.k8s.helm_values import unknown_keys
from llmscale.k8s.labels import labels
from llmscale.k8s.schema import validate_object
from llmscale.policy import routing
from llmscale.policy.model import Inventory, Record
from llmscale.serving.vllm_args import VLLM_PORT

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "llmscale"
GATEWAY_NAMESPACE = "envoy-gateway-system"
MONITORING_NAMESPACE = "monitoring"
CHAT = ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct")
BATCH = ModelProfile(name="reports", model="meta-llama/Llama-3.1-8B-Instruct", lane=Lane.BATCH)


def objects(profile: ModelProfile = CHAT, replicas: int = 1, **options: Any) -> list[dict[str, Any]]:
    return inference.cache_aware_manifests(
        profile,
        NAMESPACE,
        replicas=replicas,
        gateway_namespace=GATEWAY_NAMESPACE,
        monitoring_namespace=MONITORING_NAMESPACE,
        **options,
    )


def only(manifests: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def matches(selector: dict[str, str], pod_labels: dict[str, str]) -> bool:
    return all(pod_labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("replicas", [1, 2])
@pytest.mark.parametrize("profile", [CHAT, BATCH], ids=lambda p: p.name)
def test_every_object_passes_its_upstream_schema(profile: ModelProfile, replicas: int) -> None:
    for manifest in objects(profile, replicas, adapters=True):
        assert validate_object(manifest) == [], manifest["kind"]


def test_the_pool_selects_the_profiles_stable_pods_on_the_vllm_port() -> None:
    pool = inference.inference_pool_manifest(CHAT, NAMESPACE)
    selector = pool["spec"]["selector"]["matchLabels"]
    assert matches(selector, labels(CHAT))
    assert not matches(selector, labels(CHAT, canary=True))
    assert not matches(selector, labels(BATCH))
    assert pool["spec"]["targetPorts"] == [{"number": VLLM_PORT}]


def test_the_pool_names_the_pickers_service_and_its_port() -> None:
    manifests = objects()
    ref = only(manifests, "InferencePool")["spec"]["endpointPickerRef"]
    service = only(manifests, "Service", ref["name"])
    assert ref["port"]["number"] in [port["port"] for port in service["spec"]["ports"]]
    assert ref["failureMode"] == "FailClose"


def test_the_crd_default_failure_mode_is_what_the_pool_states() -> None:
    pool = inference.inference_pool_manifest(CHAT, NAMESPACE)
    del pool["spec"]["endpointPickerRef"]["failureMode"]
    assert defaulted(pool)["spec"]["endpointPickerRef"]["failureMode"] == "FailClose"


@pytest.mark.parametrize("replicas", [1, 2])
def test_service_monitor_policy_and_budget_select_the_picker_pods(replicas: int) -> None:
    manifests = objects(replicas=replicas)
    deployment = only(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    assert matches(only(manifests, "Service")["spec"]["selector"], pod_labels)
    assert matches(only(manifests, "PodMonitor")["spec"]["selector"]["matchLabels"], pod_labels)
    assert matches(only(manifests, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"], pod_labels)
    # The picker's pods are not vLLM pods: no vLLM selector, PodMonitor or policy picks them up.
    assert not matches(
        inference.inference_pool_manifest(CHAT, NAMESPACE)["spec"]["selector"]["matchLabels"], pod_labels
    )
    budgets = [m for m in manifests if m["kind"] == "PodDisruptionBudget"]
    assert len(budgets) == (1 if replicas > 1 else 0)


def test_ports_the_objects_name_are_ports_the_container_opens() -> None:
    manifests = objects()
    container = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    opened = {port["containerPort"] for port in container["ports"]}
    named = {port["name"] for port in container["ports"]}
    assert {port["targetPort"] for port in only(manifests, "Service")["spec"]["ports"]} <= opened
    assert {e["port"] for e in only(manifests, "PodMonitor")["spec"]["podMetricsEndpoints"]} <= named
    allowed = {p["port"] for rule in only(manifests, "NetworkPolicy")["spec"]["ingress"] for p in rule["ports"]}
    assert allowed == {picker.EPP_GRPC_PORT, picker.EPP_METRICS_PORT}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] in opened


def test_only_the_gateway_reaches_ext_proc_and_only_monitoring_the_metrics() -> None:
    rules = only(objects(), "NetworkPolicy")["spec"]["ingress"]
    by_port = {rule["ports"][0]["port"]: rule["from"][0]["namespaceSelector"]["matchLabels"] for rule in rules}
    assert by_port[picker.EPP_GRPC_PORT] == {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}
    assert by_port[picker.EPP_METRICS_PORT] == {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}


def granted(manifests: list[dict[str, Any]], account: str) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) the ServiceAccount gets through its RoleBindings."""
    roles = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Role"}
    rights = set()
    for binding in (m for m in manifests if m["kind"] == "RoleBinding"):
        if any(s["kind"] == "ServiceAccount" and s["name"] == account for s in binding["subjects"]):
            for rule in roles[binding["roleRef"]["name"]]["rules"]:
                rights |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return rights


@pytest.mark.parametrize("replicas", [1, 3])
def test_the_picker_gets_what_upstreams_chart_grants_and_nothing_else(replicas: int) -> None:
    manifests = objects(replicas=replicas)
    account = only(manifests, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    only(manifests, "ServiceAccount", account)
    rights = granted(manifests, account)
    read = {"get", "list", "watch"}
    assert {("", "pods", v) for v in read} <= rights
    assert {("inference.networking.k8s.io", "inferencepools", v) for v in read} <= rights
    assert {("llm-d.ai", "inferenceobjectives", v) for v in read} <= rights
    assert not {
        r for r in rights if r[2] in {"create", "update", "patch", "delete"} and r[1] not in {"leases", "events"}
    }
    leases = {r for r in rights if r[1] == "leases"}
    assert bool(leases) == (replicas > 1)


@pytest.mark.parametrize("replicas", [1, 2])
def test_leader_election_probes_and_rollout_follow_the_replica_count(replicas: int) -> None:
    deployment = only(objects(replicas=replicas), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    leader = replicas > 1
    assert ("--ha-enable-leader-election" in container["args"]) is leader
    assert container["readinessProbe"]["grpc"]["service"] == ("readiness" if leader else "inference-extension")
    assert container["livenessProbe"]["grpc"]["service"] == ("liveness" if leader else "inference-extension")
    assert deployment["spec"]["strategy"]["type"] == ("RollingUpdate" if leader else "Recreate")
    assert deployment["spec"]["replicas"] == replicas


def test_the_picker_reads_its_pool_and_plugin_file() -> None:
    manifests = objects()
    container = only(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--pool-name") + 1] == only(manifests, "InferencePool")["metadata"]["name"]
    assert args[args.index("--pool-namespace") + 1] == NAMESPACE
    config_path = args[args.index("--config-file") + 1]
    mount = next(m for m in container["volumeMounts"] if config_path.startswith(m["mountPath"] + "/"))
    volume = next(
        v for v in only(manifests, "Deployment")["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]
    )
    config_map = only(manifests, "ConfigMap", volume["configMap"]["name"])
    assert config_path.rsplit("/", 1)[1] in config_map["data"]
    assert container["image"] == versions.EPP.ref


def test_the_plugin_file_scores_queue_kv_cache_and_prefix_and_adapters_when_served() -> None:
    def weights(adapters: bool) -> dict[str, int]:
        text = picker.epp_config_map_manifest(CHAT, NAMESPACE, adapters=adapters)["data"][picker.EPP_CONFIG_FILE]
        config = yaml.safe_load(text)
        declared = {plugin["type"] for plugin in config["plugins"]}
        profile = config["schedulingProfiles"][0]["plugins"]
        assert {entry["pluginRef"] for entry in profile} <= declared
        return {entry["pluginRef"]: entry["weight"] for entry in profile}

    assert weights(False) == {"queue-scorer": 2, "kv-cache-utilization-scorer": 2, "prefix-cache-scorer": 3}
    assert weights(True)["lora-affinity-scorer"] == picker.LORA_AFFINITY_WEIGHT


def test_lanes_become_priorities_and_only_batch_is_sheddable() -> None:
    interactive = inference.inference_objective_manifest(CHAT, NAMESPACE)
    batch = inference.inference_objective_manifest(BATCH, NAMESPACE)
    assert interactive["spec"]["priority"] >= 0 > batch["spec"]["priority"]
    assert interactive["spec"]["poolRef"]["name"] == inference.pool_name(CHAT)


def test_the_route_filter_sets_the_objective_header_so_clients_cannot_raise_their_priority() -> None:
    modifier = inference.objective_header_filter(BATCH)["requestHeaderModifier"]
    assert "add" not in modifier
    assert modifier["set"] == [
        {
            "name": inference.OBJECTIVE_HEADER,
            "value": inference.inference_objective_manifest(BATCH, NAMESPACE)["metadata"]["name"],
        }
    ]


def test_the_route_backend_is_the_pool() -> None:
    route_rule = {
        "backendRefs": [inference.pool_backend_ref(CHAT)],
        "filters": [inference.objective_header_filter(CHAT)],
    }
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "chat", "namespace": NAMESPACE},
        "spec": {"parentRefs": [{"name": "llmscale"}], "rules": [route_rule]},
    }
    assert validate_object(route) == []
    ref = route_rule["backendRefs"][0]
    assert (ref["group"], ref["kind"], ref["name"]) == ("inference.networking.k8s.io", "InferencePool", "chat")


def test_envoy_gateway_values_are_keys_of_the_pinned_chart_and_hand_pools_to_the_ai_gateway() -> None:
    values = inference.envoy_gateway_values()
    chart = versions.ENVOY_GATEWAY_CHART
    assert unknown_keys(chart.chart, chart.version, values) == []
    manager = values["config"]["envoyGateway"]["extensionManager"]
    assert {"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"} in manager[
        "backendResources"
    ]
    assert manager["service"]["fqdn"]["port"] == inference.AI_GATEWAY_EXTENSION_PORT


def test_a_change_of_gateway_configuration_rolls_the_controller() -> None:
    annotation = "llmscale.io/envoy-gateway-config"
    before = inference.envoy_gateway_values()["deployment"]["pod"]["annotations"][annotation]
    original = inference.AI_GATEWAY_EXTENSION_PORT
    try:
        inference.AI_GATEWAY_EXTENSION_PORT = original + 1
        after = inference.envoy_gateway_values()["deployment"]["pod"]["annotations"][annotation]
    finally:
        inference.AI_GATEWAY_EXTENSION_PORT = original
    assert before != after


def test_ai_gateway_values_are_keys_of_the_pinned_chart() -> None:
    chart = versions.AI_GATEWAY_CHART
    assert unknown_keys(chart.chart, chart.version, inference.ai_gateway_values(GATEWAY_NAMESPACE)) == []


# --- policies ---------------------------------------------------------------------------------------------------


def inventory_of(manifests: list[dict[str, Any]]) -> Inventory:
    return Inventory.of(
        Record(type=f"kubernetes:{m['apiVersion']}:{m['kind']}", name=m["metadata"]["name"], props=m, urn=f"urn:{i}")
        for i, m in enumerate(manifests)
    )


def vllm_deployment(profile: ModelProfile, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": profile.name, "namespace": NAMESPACE},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels(profile)}}},
    }


def scaled_object(profile: ModelProfile, maximum: int) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": profile.name, "namespace": NAMESPACE},
        "spec": {"scaleTargetRef": {"name": profile.name}, "minReplicaCount": 1, "maxReplicaCount": maximum},
    }


def test_cache_aware_routing_over_one_replica_is_flagged() -> None:
    fixed = inventory_of([*objects(), vllm_deployment(CHAT, 1)])
    assert [f.resource for f in routing.cache_aware_replicas(fixed)] == ["chat"]
    scaled = inventory_of([*objects(), vllm_deployment(CHAT, 1), scaled_object(CHAT, 4)])
    assert list(routing.cache_aware_replicas(scaled)) == []
    capped = inventory_of([*objects(), vllm_deployment(CHAT, 1), scaled_object(CHAT, 1)])
    assert len(list(routing.cache_aware_replicas(capped))) == 1


def test_a_single_endpoint_picker_is_flagged_and_a_redundant_one_passes() -> None:
    single = list(routing.endpoint_picker_redundancy(inventory_of(objects(replicas=1))))
    assert len(single) == 1 and "1 replica" in single[0].message
    assert list(routing.endpoint_picker_redundancy(inventory_of(objects(replicas=2)))) == []


def test_a_redundant_picker_without_a_budget_is_flagged() -> None:
    manifests = [m for m in objects(replicas=2) if m["kind"] != "PodDisruptionBudget"]
    findings = list(routing.endpoint_picker_redundancy(inventory_of(manifests)))
    assert len(findings) == 1 and "PodDisruptionBudget" in findings[0].message


def test_a_pool_whose_picker_service_is_missing_is_flagged() -> None:
    manifests = [m for m in objects(replicas=2) if m["kind"] != "Service"]
    findings = list(routing.endpoint_picker_redundancy(inventory_of(manifests)))
    assert len(findings) == 1 and "names no endpoint picker" in findings[0].message


def test_the_values_docs_give_for_an_existing_envoy_gateway_are_the_ones_llmscale_sets() -> None:
    text = (REPO / "docs" / "routing.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == {"config": inference.envoy_gateway_values()["config"]}


def test_a_cache_aware_profile_with_adapters_gets_adapter_affinity(tmp_path: Path) -> None:
    from llmscale.config.loader import load_stack
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    document = yaml.safe_load((REPO / "stacks" / "Pulumi.onprem.yaml").read_text(encoding="utf-8"))
    document["config"]["llmscale:models"][0]["adapters"] = [{"name": "support-bot", "source": "acme/support-lora"}]
    path = tmp_path / "Pulumi.adapters.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    resources = run_program(load_stack(str(path)), program).resources
    maps = {r.name: r.inputs for r in resources if r.type == "kubernetes:core/v1:ConfigMap"}
    plugins = {
        name: {p["type"] for p in yaml.safe_load(inputs["data"][picker.EPP_CONFIG_FILE])["plugins"]}
        for name, inputs in maps.items()
        if name.endswith("-epp-configmap")
    }
    assert "lora-affinity-scorer" in plugins["adapters-chat-epp-configmap"]
    assert "lora-affinity-scorer" not in plugins["adapters-analysis-epp-configmap"]
