"""Tests for the Kubernetes components (ServingLayer, VllmModel, InferenceGateway, ClusterAddons) under the
recording mock runtime: the real program is run for the onprem stack and variants of it, and the plan document
is checked for schema errors, provider wiring, ordering against the add-ons, secrets and outputs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic.alias_generators import to_camel

from llmscale import versions
from llmscale.config.loader import LoadedStack, load_stack, parse_values, read_stack_file
from llmscale.config.models import AddonsConfig
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.recorder import REDACTED
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program
from tests.helpers import strings

ONPREM_FILE = PACKAGE_ROOT / "stacks" / "Pulumi.onprem.yaml"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_TYPE = "pulumi:providers:kubernetes"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
GATEWAY_GROUPS = ("kubernetes:gateway.networking.k8s.io/", "kubernetes:gateway.envoyproxy.io/")
ADDON_SWITCHES = [field.alias or to_camel(name) for name, field in AddonsConfig.model_fields.items()]
SERVING_CHARTS = (versions.NVIDIA_DEVICE_PLUGIN_CHART, versions.KEDA_CHART, versions.ENVOY_GATEWAY_CHART)
CLUSTER_SCOPED = {"Namespace", "PriorityClass", "GatewayClass"}
REAL_KEY = "sk-live-REALkey0123456789abcdefXYZ"
OTHER_REAL_KEY = "sk-live-OTHERreal9876543210zyxwvu"
REAL_HF_TOKEN = "hf_REALtokenABCDEFGHIJKLMNOPqrstu"


# --- helpers ---------------------------------------------------------------------------------------------


def onprem_config_section() -> dict[str, Any]:
    """The `config:` mapping of the onprem stack file, as written (secrets as `secure:` values)."""
    return copy.deepcopy(yaml.safe_load(ONPREM_FILE.read_text(encoding="utf-8"))["config"])


def write_stack(directory: Path, name: str, config: dict[str, Any]) -> Path:
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


def plan_of(stack: LoadedStack) -> dict[str, Any]:
    return plan_document(run_program(stack, program))


def of_type(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == kind]


def kubernetes_objects(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources that are Kubernetes objects (manifests), not providers or Helm releases."""
    return [
        r
        for r in document["resources"]
        if r["type"].startswith("kubernetes:") and r["type"] != HELM_RELEASE and "kind" in r["inputs"]
    ]


def named(document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The Kubernetes object of a kind (e.g. Deployment) by its metadata name."""
    (found,) = [
        r
        for r in kubernetes_objects(document)
        if r["inputs"]["kind"] == kind and r["inputs"]["metadata"]["name"] == name
    ]
    return found


def ancestors(document: dict[str, Any], resource: dict[str, Any]) -> list[dict[str, Any]]:
    by_urn = {r["urn"]: r for r in document["resources"]}
    chain = []
    current = by_urn.get(resource["parentUrn"])
    while current is not None:
        chain.append(current)
        current = by_urn.get(current["parentUrn"])
    return chain


def release_names(document: dict[str, Any]) -> dict[str, str]:
    """Helm release resource name by the release's own name (keda, envoy-gateway, ...)."""
    return {r["inputs"]["name"]: r["name"] for r in of_type(document, HELM_RELEASE)}


def real_secret_stack() -> LoadedStack:
    """The onprem stack with REAL (decrypted) secrets, as during `pulumi up`."""
    values, _, _ = read_stack_file(ONPREM_FILE)
    values["llmscale:apiKeys"] = json.dumps({"chat-app": REAL_KEY, "analytics": OTHER_REAL_KEY})
    values["llmscale:hfToken"] = REAL_HF_TOKEN
    secret_keys = frozenset({"llmscale:apiKeys", "llmscale:hfToken"})
    config, region = parse_values(values, secret_keys, "stacks/Pulumi.onprem.yaml")
    assert config.api_keys is not None and config.api_keys.get_secret_value() != REDACTED
    return LoadedStack(
        name="onprem",
        source="stacks/Pulumi.onprem.yaml",
        config=config,
        region=region,
        pulumi_config={k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        secret_keys=secret_keys,
        undecryptable=frozenset(),
    )


# --- fixtures (each plan run takes about a second) -------------------------------------------------------


@pytest.fixture(scope="module")
def onprem() -> dict[str, Any]:
    return plan_of(load_stack("onprem"))


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Canary on both profiles, sticky routing, a shared PVC cache and zone spreading."""
    config = onprem_config_section()
    config["llmscale:models"][0]["canary"] = {"image": "vllm/vllm-openai:v0.34.0", "weight": 20}
    config["llmscale:models"][1]["canary"] = {"model": "Qwen/Qwen2.5-32B-Instruct-AWQ-rev2"}
    config["llmscale:routing"] = {"strategy": "sticky", "sessionHeader": "x-conversation-id"}
    config["llmscale:kubernetes"]["modelCache"] = {"type": "pvc", "sizeGb": 500, "storageClass": "nfs-client"}
    config["llmscale:kubernetes"]["topologySpread"] = True
    config["llmscale:apiKeys"] = {"secure": "v1:x"}
    config["llmscale:hfToken"] = {"secure": "v1:x"}
    path = write_stack(tmp_path_factory.mktemp("variant"), "canary", config)
    return plan_of(load_stack(str(path)))


@pytest.fixture(scope="module")
def no_addons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The onprem stack on a cluster that already runs every add-on."""
    config = onprem_config_section()
    config["llmscale:kubernetes"]["addons"] = dict.fromkeys(ADDON_SWITCHES, False)
    path = write_stack(tmp_path_factory.mktemp("no-addons"), "bare", config)
    return plan_of(load_stack(str(path)))


@pytest.fixture(scope="module")
def real_secrets() -> dict[str, Any]:
    return plan_of(real_secret_stack())


@pytest.fixture(params=["onprem", "variant", "no_addons", "real_secrets"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.getfixturevalue(request.param)


# --- schema and shape ------------------------------------------------------------------------------------


def test_plans_have_no_schema_errors(document: dict[str, Any]) -> None:
    assert document["schemaErrors"] == []
    # Something was actually checked: the serving layer's objects are in the plan.
    kinds = {r["inputs"]["kind"] for r in kubernetes_objects(document)}
    assert {"Deployment", "Service", "ScaledObject", "HTTPRoute", "SecurityPolicy"} <= kinds


def test_onprem_objects(onprem: dict[str, Any]) -> None:
    assert onprem["stack"] == "onprem"
    assert (onprem["tier"], onprem["platform"]) == ("multi-gpu", "kubernetes")
    for profile in ("chat", "analysis"):
        for kind in (
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "ScaledObject",
            "HTTPRoute",
            "BackendTrafficPolicy",
        ):
            assert named(onprem, kind, profile)["inputs"]["metadata"]["namespace"] == "llm"
    assert {"nvidia-device-plugin", "keda", "envoy-gateway"} <= set(release_names(onprem))
    assert len(of_type(onprem, PROVIDER_TYPE)) == 1


def test_variant_has_canary_tracks(variant: dict[str, Any]) -> None:
    for profile in ("chat", "analysis"):
        named(variant, "Deployment", f"{profile}-canary")
        named(variant, "Service", f"{profile}-canary")
        (rule,) = named(variant, "HTTPRoute", profile)["inputs"]["spec"]["rules"]
        assert [ref["name"] for ref in rule["backendRefs"]] == [profile, f"{profile}-canary"]
    named(variant, "PersistentVolumeClaim", "model-cache")
    traffic = named(variant, "BackendTrafficPolicy", "chat")["inputs"]["spec"]
    assert traffic["loadBalancer"]["type"] == "ConsistentHash"


def test_routes_and_scalers_reference_objects_in_the_plan(document: dict[str, Any]) -> None:
    services = {
        r["inputs"]["metadata"]["name"] for r in kubernetes_objects(document) if r["inputs"]["kind"] == "Service"
    }
    deployments = {
        r["inputs"]["metadata"]["name"] for r in kubernetes_objects(document) if r["inputs"]["kind"] == "Deployment"
    }
    for resource in kubernetes_objects(document):
        inputs = resource["inputs"]
        if inputs["kind"] == "HTTPRoute":
            for rule in inputs["spec"]["rules"]:
                assert {ref["name"] for ref in rule["backendRefs"]} <= services, resource["name"]
        if inputs["kind"] == "ScaledObject":
            assert inputs["spec"]["scaleTargetRef"]["name"] in deployments


# --- provider wiring and ordering ------------------------------------------------------------------------


def test_every_kubernetes_resource_uses_the_stack_provider(document: dict[str, Any]) -> None:
    provider = f"{document['stack']}-cluster"
    (declared,) = of_type(document, PROVIDER_TYPE)
    assert declared["name"] == provider
    kubernetes = [r for r in document["resources"] if r["type"].startswith("kubernetes:")]
    assert kubernetes
    for resource in kubernetes:
        assert resource["provider"] == provider, resource["name"]


def test_onprem_provider_is_onprem_cluster(onprem: dict[str, Any]) -> None:
    (provider,) = of_type(onprem, PROVIDER_TYPE)
    assert provider["name"] == "onprem-cluster"
    assert provider["inputs"].get("namespace") == "llm"
    assert provider["inputs"].get("context") == "onprem-gpu"
    assert {r["provider"] for r in onprem["resources"] if r["type"].startswith("kubernetes:")} == {"onprem-cluster"}


@pytest.mark.parametrize("stack", ["onprem", "variant"])
def test_custom_resources_wait_for_the_addons(stack: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(stack)
    releases = release_names(document)
    assert {"nvidia-device-plugin", "keda", "envoy-gateway"} <= set(releases)
    scalers = of_type(document, SCALED_OBJECT)
    assert len(scalers) == 2
    for scaler in scalers:
        assert releases["keda"] in scaler["dependsOn"], scaler["name"]
    gateway_objects = [r for r in document["resources"] if r["type"].startswith(GATEWAY_GROUPS)]
    assert {r["inputs"]["kind"] for r in gateway_objects} >= {
        "GatewayClass",
        "Gateway",
        "HTTPRoute",
        "BackendTrafficPolicy",
        "SecurityPolicy",
    }
    for resource in gateway_objects:
        assert releases["envoy-gateway"] in resource["dependsOn"], resource["name"]


def test_no_helm_releases_when_every_addon_is_disabled(no_addons: dict[str, Any], onprem: dict[str, Any]) -> None:
    """`kubernetes.addons` all off: the serving layer installs no Helm release, and its objects wait for none."""
    serving_charts = {chart.chart for chart in SERVING_CHARTS}
    assert serving_charts <= {r["inputs"]["chart"] for r in of_type(onprem, HELM_RELEASE)}
    releases = of_type(no_addons, HELM_RELEASE)
    assert [r["name"] for r in releases if r["inputs"]["chart"] in serving_charts] == []
    assert [r["name"] for r in releases if r["parent"] == f"{no_addons['stack']}-addons"] == []
    release_resources = {r["name"] for r in releases}
    for resource in no_addons["resources"]:
        if resource["type"] == SCALED_OBJECT or resource["type"].startswith(GATEWAY_GROUPS):
            assert not release_resources & set(resource["dependsOn"]), resource["name"]
    assert len(of_type(no_addons, SCALED_OBJECT)) == 2
    assert no_addons["schemaErrors"] == []


def waits_for(document: dict[str, Any], resource: dict[str, Any], target: str) -> bool:
    """Whether `resource` is created after `target`, following dependencies only: a component's dependencies do
    not hold back its children, so each namespaced object (or something it depends on) must name the target."""
    by_name = {r["name"]: r for r in document["resources"]}
    seen: set[str] = set()
    queue = [resource]
    while queue:
        current = queue.pop()
        for name in current["dependsOn"]:
            if name == target:
                return True
            if name not in seen and name in by_name:
                seen.add(name)
                queue.append(by_name[name])
    return False


def test_namespaced_objects_wait_for_the_namespace(document: dict[str, Any]) -> None:
    """A namespaced object created before its Namespace fails (or races it): each depends on the Namespace,
    directly or through the component it belongs to."""
    namespaces = of_type(document, NAMESPACE)
    assert namespaces
    missing = []
    for namespace in namespaces:
        created = namespace["inputs"]["metadata"]["name"]
        for resource in kubernetes_objects(document):
            if resource["inputs"]["kind"] in CLUSTER_SCOPED:
                continue
            if resource["inputs"]["metadata"].get("namespace") != created:
                continue
            if not waits_for(document, resource, namespace["name"]):
                missing.append(resource["name"])
    assert missing == []


def test_deployments_leave_replicas_to_the_autoscaler(document: dict[str, Any]) -> None:
    scaled = {r["inputs"]["spec"]["scaleTargetRef"]["name"] for r in of_type(document, SCALED_OBJECT)}
    deployments = of_type(document, DEPLOYMENT)
    assert scaled
    for deployment in deployments:
        if deployment["inputs"]["metadata"]["name"] in scaled:
            assert "spec.replicas" in deployment["ignoreChanges"], deployment["name"]


# --- secrets ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["onprem", "real_secrets"])
def test_secrets_are_redacted(stack: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(stack)
    api_keys = named(document, "Secret", "llmscale-api-keys")
    hf_token = named(document, "Secret", "hf-token")
    assert api_keys["inputs"]["stringData"] == REDACTED
    assert hf_token["inputs"]["stringData"] == REDACTED
    assert "data" not in api_keys["inputs"] and "data" not in hf_token["inputs"]


def test_real_secrets_never_appear_in_the_document(real_secrets: dict[str, Any]) -> None:
    text = json.dumps(real_secrets)
    every_string = "\n".join(strings(real_secrets))
    for secret in (REAL_KEY, OTHER_REAL_KEY, REAL_HF_TOKEN):
        assert secret not in text
        assert secret not in every_string
        # Nor a recognisable part of it.
        assert secret[8:24] not in every_string
    assert real_secrets["summary"]["undecryptedSecrets"] == []


def test_hf_token_reaches_pods_only_as_a_file(real_secrets: dict[str, Any]) -> None:
    servers = [
        d
        for d in of_type(real_secrets, DEPLOYMENT)
        if d["inputs"]["metadata"]["labels"]["app.kubernetes.io/name"] == "vllm"
    ]
    assert servers
    for deployment in servers:
        (vllm,) = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
        variables = {item["name"]: item for item in vllm["env"]}
        assert "HF_TOKEN" not in variables
        assert variables["HF_TOKEN_PATH"]["value"].endswith("/token")


# --- outputs and names -----------------------------------------------------------------------------------


def test_base_urls_per_profile(onprem: dict[str, Any]) -> None:
    assert onprem["outputs"]["baseUrls"] == {
        "chat": "https://llm.corp.example.com/chat/v1",
        "analysis": "https://llm.corp.example.com/analysis/v1",
    }
    assert onprem["outputs"]["endpoint"] == "https://llm.corp.example.com"
    assert onprem["outputs"]["models"] == ["chat", "analysis"]


def test_every_resource_has_a_parent_and_the_stack_prefix(document: dict[str, Any]) -> None:
    stack = document["stack"]
    urns = {r["urn"] for r in document["resources"]}
    for resource in document["resources"]:
        assert resource["parentUrn"], resource["name"]
        assert resource["name"].startswith(f"{stack}-") or resource["name"] == stack, resource["name"]
        if resource["custom"] and resource["type"] != PROVIDER_TYPE:
            # Every cluster object belongs to a component of the serving layer, never directly to the stack.
            assert resource["parent"] is not None, resource["name"]
            assert resource["parentUrn"] in urns, resource["name"]


def test_resource_names_are_unique(document: dict[str, Any]) -> None:
    names = [(r["type"], r["name"]) for r in document["resources"]]
    assert len(names) == len(set(names))
    objects = [
        (r["inputs"]["kind"], r["inputs"]["metadata"].get("namespace"), r["inputs"]["metadata"]["name"])
        for r in kubernetes_objects(document)
    ]
    assert len(objects) == len(set(objects))
