"""Tests for the pure Kubernetes manifest functions of llmscale.k8s, on the onprem stack and variants of it.

Each manifest is checked for what the cluster will do with it: pods land on GPU nodes and stay secure, Services
and budgets select exactly their profile's pods, the autoscaler reads the right queue, the gateway routes and
protects each profile, and every object passes the upstream schema of its kind.
"""

from __future__ import annotations

import copy
import zoneinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic.alias_generators import to_camel

from llmscale import versions
from llmscale.config.loader import load_stack, parse_values
from llmscale.config.models import (
    DAYS,
    AddonsConfig,
    Lane,
    ModelCacheType,
    ModelProfile,
    RoutingStrategy,
    ScheduleConfig,
    StackConfig,
)
from llmscale.k8s import inference, picker
from llmscale.k8s.addons import addon_releases
from llmscale.k8s.autoscaling import (
    cron_expressions,
    in_flight_query,
    queue_query,
    replica_floor,
    scaled_object_manifest,
)
from llmscale.k8s.gateway import API_KEYS_SECRET, gateway_class_manifest, gateway_manifest, serves_https
from llmscale.k8s.gateway_policies import backend_traffic_policy_manifest, security_policy_manifest
from llmscale.k8s.labels import PRIORITY_CLASSES, workload_name
from llmscale.k8s.namespace import (
    MODEL_CACHE_CLAIM,
    model_cache_claim_manifest,
    namespace_manifest,
    network_policy_manifest,
    priority_class_manifests,
    service_account_manifest,
)
from llmscale.k8s.routes import HEALTH_ROUTE, health_route_manifest, http_route_manifest
from llmscale.k8s.schema import validate_object
from llmscale.k8s.weights import weights_plan
from llmscale.k8s.workload import HF_TOKEN_SECRET, deployment_manifest, pod_disruption_budget_manifest, service_manifest
from llmscale.serving.metrics import VLLM_QUEUE_DEPTH
from llmscale.serving.schedules import cron_window, with_lead_time
from llmscale.serving.vllm_args import VLLM_PORT, vllm_args
from tests.helpers import example_config

SECRET_KEYS = frozenset({"llmscale:apiKeys", "llmscale:hfToken"})
CANARY_IMAGE = "vllm/vllm-openai:v0.34.0"
CANARY_MODEL = "Qwen/Qwen2.5-32B-Instruct-AWQ-rev2"
CRON_DAY = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
GPU_RESOURCE = "nvidia.com/gpu"
RETRY_TRIGGERS = {"connect-failure", "refused-stream", "reset-before-request", "retriable-status-codes"}


# --- config helpers --------------------------------------------------------------------------------------


def onprem_values() -> dict[str, Any]:
    """The onprem stack's `config:` mapping, secrets as placeholder strings (as the offline tools read them)."""
    values = example_config("onprem")
    for key in SECRET_KEYS:
        values[key] = "[secret]"
    return values


def config(**overrides: Any) -> StackConfig:
    """The onprem config with whole `llmscale:<key>` values replaced."""
    values = onprem_values()
    for key, value in overrides.items():
        values[f"llmscale:{key}"] = value
    parsed, _ = parse_values(values, SECRET_KEYS, "tests/onprem-variant")
    return parsed


def kubernetes(**changes: Any) -> dict[str, Any]:
    """The onprem `llmscale:kubernetes` mapping with some keys changed (None removes a key)."""
    merged = {**onprem_values()["llmscale:kubernetes"], **changes}
    return {key: value for key, value in merged.items() if value is not None}


def canary_models() -> list[dict[str, Any]]:
    """The onprem profiles with a canary each: chat tries a new image, analysis a new model."""
    models = copy.deepcopy(onprem_values()["llmscale:models"])
    models[0]["canary"] = {"image": CANARY_IMAGE, "weight": 20, "replicas": 2}
    models[1]["canary"] = {"model": CANARY_MODEL}
    return models


ONPREM = config()
# Sticky routing, a canary per profile, a shared PVC cache and zone spreading all at once.
VARIANT = config(
    routing={"strategy": "sticky", "sessionHeader": "x-conversation-id"},
    models=canary_models(),
    kubernetes=kubernetes(modelCache={"type": "pvc", "sizeGb": 500, "storageClass": "nfs-client"}, topologySpread=True),
)
ENTERPRISE = config(tier="enterprise")
EMPTY_DIR = config(kubernetes=kubernetes(modelCache=None))
NO_SCHEDULE = config(schedule={"enabled": False})
ROUND_ROBIN = config(routing={"strategy": "round-robin"})
LEAST_LOADED = config(routing={"strategy": "least-loaded"})
NO_RATE_LIMIT = config(gateway={"hostname": "llm.corp.example.com"})
CUSTOM_GPU_NODES = config(
    kubernetes=kubernetes(gpuNodeSelector={"example.com/accelerator": "l40s"}, gpuTaintKey="example.com/gpu")
)
PINNED_IMAGE = config(
    models=[{**onprem_values()["llmscale:models"][0], "image": "registry.corp.example.com/vllm:v0.33.0-corp"}]
)

CONFIGS: dict[str, StackConfig] = {
    "onprem": ONPREM,
    "variant": VARIANT,
    "enterprise": ENTERPRISE,
    "empty-dir": EMPTY_DIR,
    "no-schedule": NO_SCHEDULE,
    "round-robin": ROUND_ROBIN,
    "no-rate-limit": NO_RATE_LIMIT,
    "custom-gpu-nodes": CUSTOM_GPU_NODES,
    "pinned-image": PINNED_IMAGE,
}


def profile(cfg: StackConfig, name: str) -> ModelProfile:
    return next(p for p in cfg.models if p.name == name)


def deployments(cfg: StackConfig, *, has_hf_token: bool = True) -> list[dict[str, Any]]:
    """Every Deployment of a config: one per profile, plus one per canary."""
    result = []
    for p in cfg.models:
        result.append(deployment_manifest(cfg, p, has_hf_token=has_hf_token))
        if p.canary is not None:
            result.append(deployment_manifest(cfg, p, canary=True, has_hf_token=has_hf_token))
    return result


def all_manifests(cfg: StackConfig, *, has_hf_token: bool = True) -> list[dict[str, Any]]:
    """Every object the serving layer creates for a config, as the components register them."""
    objects: list[dict[str, Any]] = [
        namespace_manifest(cfg),
        *priority_class_manifests(),
        service_account_manifest(cfg),
        network_policy_manifest(cfg),
        gateway_class_manifest(),
        gateway_manifest(cfg),
        health_route_manifest(cfg),
        security_policy_manifest(cfg),
    ]
    claim = model_cache_claim_manifest(cfg)
    if claim is not None:
        objects.append(claim)
    objects += deployments(cfg, has_hf_token=has_hf_token)
    for p in cfg.models:
        objects += [
            service_manifest(cfg, p),
            pod_disruption_budget_manifest(cfg, p),
            scaled_object_manifest(cfg, p),
            http_route_manifest(cfg, p),
            backend_traffic_policy_manifest(cfg, p),
        ]
        if p.canary is not None:
            objects.append(service_manifest(cfg, p, canary=True))
    return objects


def pod(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod(deployment)["containers"]
    return only


def volume_at(deployment: dict[str, Any], mount_path: str) -> dict[str, Any]:
    """The volume mounted at `mount_path` in the vLLM container."""
    (mount,) = [m for m in container(deployment)["volumeMounts"] if m["mountPath"] == mount_path]
    (volume,) = [v for v in pod(deployment)["volumes"] if v["name"] == mount["name"]]
    return volume


def env(deployment: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container(deployment)["env"]}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """True when a matchLabels selector selects objects with `labels`."""
    return all(labels.get(key) == value for key, value in selector.items())


def served_names(args: list[str]) -> list[str]:
    start = args.index("--served-model-name") + 1
    names = []
    for arg in args[start:]:
        if arg.startswith("--"):
            break
        names.append(arg)
    return names


onprem_profiles = pytest.mark.parametrize("name", ["chat", "analysis"])
all_configs = pytest.mark.parametrize("cfg", list(CONFIGS.values()), ids=list(CONFIGS))


# --- the variants are what they claim to be --------------------------------------------------------------


def test_variants_differ_from_onprem_where_intended() -> None:
    assert ONPREM.kubernetes.namespace == "llm"
    assert ONPREM.kubernetes.model_cache.type is ModelCacheType.HOST_PATH
    assert not ONPREM.kubernetes.topology_spread
    assert VARIANT.kubernetes.model_cache.type is ModelCacheType.PVC
    assert VARIANT.kubernetes.topology_spread
    assert all(p.canary is not None for p in VARIANT.models)
    assert EMPTY_DIR.kubernetes.model_cache.type is ModelCacheType.EMPTY_DIR
    # The enterprise preset turns on zone spreading; the stack's own values still win where it states them.
    assert ENTERPRISE.kubernetes.topology_spread
    assert ENTERPRISE.gateway.rate_limit_requests_per_minute == 400


# --- Deployment ------------------------------------------------------------------------------------------


@all_configs
def test_every_object_is_namespaced_outside_default(cfg: StackConfig) -> None:
    assert cfg.kubernetes.namespace != "default"
    assert namespace_manifest(cfg)["metadata"]["name"] == cfg.kubernetes.namespace
    cluster_scoped = {"Namespace", "PriorityClass", "GatewayClass"}
    for manifest in all_manifests(cfg):
        if manifest["kind"] in cluster_scoped:
            assert "namespace" not in manifest["metadata"], manifest["kind"]
        else:
            assert manifest["metadata"]["namespace"] == cfg.kubernetes.namespace, manifest["kind"]


def test_default_namespace_is_not_default() -> None:
    from llmscale.config.models import KubernetesConfig

    assert KubernetesConfig().namespace not in ("default", "")


@all_configs
def test_image_is_pinned(cfg: StackConfig) -> None:
    for p in cfg.models:
        image = container(deployment_manifest(cfg, p))["image"]
        assert image == (p.image or versions.VLLM_IMAGE)
        tag = image.rsplit("/", 1)[-1]
        assert "@sha256:" in image or (":" in tag and not tag.endswith(":latest")), image


def test_profile_image_replaces_the_default_image() -> None:
    assert container(deployment_manifest(PINNED_IMAGE, PINNED_IMAGE.models[0]))["image"] == (
        "registry.corp.example.com/vllm:v0.33.0-corp"
    )
    assert versions.VLLM_IMAGE.rsplit(":", 1)[-1].startswith("v")


@all_configs
def test_command_and_args_come_from_the_profile(cfg: StackConfig) -> None:
    for p in cfg.models:
        vllm = container(deployment_manifest(cfg, p))
        assert vllm["command"] == ["vllm", "serve"]
        assert vllm["args"] == vllm_args(p)
        assert {"name": "http", "containerPort": VLLM_PORT, "protocol": "TCP"} in vllm["ports"]


@onprem_profiles
def test_gpus_only_in_limits_memory_guaranteed_no_cpu_limit(name: str) -> None:
    p = profile(ONPREM, name)
    resources = container(deployment_manifest(ONPREM, p))["resources"]
    assert resources["limits"][GPU_RESOURCE] == str(p.gpus_per_replica)
    assert GPU_RESOURCE not in resources["requests"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"]
    assert resources["requests"]["cpu"]
    assert "cpu" not in resources["limits"]


def test_gpu_counts_of_the_onprem_profiles() -> None:
    assert container(deployment_manifest(ONPREM, profile(ONPREM, "chat")))["resources"]["limits"][GPU_RESOURCE] == "1"
    analysis = container(deployment_manifest(ONPREM, profile(ONPREM, "analysis")))
    assert analysis["resources"]["limits"][GPU_RESOURCE] == "2"


@all_configs
def test_pods_tolerate_the_gpu_taint_and_select_gpu_nodes(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        spec = pod(deployment)
        assert any(
            t["key"] == cfg.kubernetes.gpu_taint_key
            and t["effect"] == "NoSchedule"
            and (t["operator"] == "Exists" or "value" in t)
            for t in spec["tolerations"]
        ), spec["tolerations"]
        assert spec["nodeSelector"] == cfg.kubernetes.gpu_node_selector


def test_custom_gpu_taint_and_selector_are_used() -> None:
    spec = pod(deployment_manifest(CUSTOM_GPU_NODES, CUSTOM_GPU_NODES.models[0]))
    assert spec["nodeSelector"] == {"example.com/accelerator": "l40s"}
    assert [t["key"] for t in spec["tolerations"]] == ["example.com/gpu"]


@onprem_profiles
def test_probes_on_health_with_a_long_startup(name: str) -> None:
    vllm = container(deployment_manifest(ONPREM, profile(ONPREM, name)))
    port_names = {port["name"] for port in vllm["ports"]}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = vllm[kind]
        assert probe["httpGet"]["path"] == "/health", kind
        assert probe["httpGet"]["port"] in port_names | {VLLM_PORT}, kind
    startup = vllm["startupProbe"]
    # Downloading and loading weights takes minutes: the window follows the model's size and load path.
    window = startup["periodSeconds"] * startup["failureThreshold"]
    assert window == weights_plan(ONPREM, profile(ONPREM, name)).startup_window_seconds >= 5 * 60
    assert vllm["readinessProbe"] != vllm["livenessProbe"]
    # Liveness must be more patient than readiness: a busy replica is taken out of rotation, not restarted.
    readiness, liveness = vllm["readinessProbe"], vllm["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > (
        readiness["periodSeconds"] * readiness["failureThreshold"]
    )


@all_configs
def test_shared_memory_is_a_memory_backed_empty_dir(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        volume = volume_at(deployment, "/dev/shm")
        assert volume["emptyDir"]["medium"] == "Memory"


@pytest.mark.parametrize(
    ("cfg", "cache_type"),
    [(EMPTY_DIR, "emptyDir"), (ONPREM, "hostPath"), (VARIANT, "pvc")],
    ids=["emptyDir", "hostPath", "pvc"],
)
def test_model_cache_volume_follows_the_cache_type(cfg: StackConfig, cache_type: str) -> None:
    cache = cfg.kubernetes.model_cache
    assert str(cache.type) == cache_type
    for deployment in deployments(cfg):
        (volume,) = [v for v in pod(deployment)["volumes"] if v["name"] == "model-cache"]
        assert any(m["name"] == "model-cache" for m in container(deployment)["volumeMounts"])
        sources = set(volume) - {"name"}
        if cache_type == "emptyDir":
            assert sources == {"emptyDir"}
        elif cache_type == "hostPath":
            assert sources == {"hostPath"}
            assert volume["hostPath"]["path"] == cache.host_path
        else:
            assert sources == {"persistentVolumeClaim"}
            assert volume["persistentVolumeClaim"]["claimName"] == MODEL_CACHE_CLAIM == "model-cache"
    claim = model_cache_claim_manifest(cfg)
    if cache_type == "pvc":
        assert claim is not None
        assert claim["metadata"]["name"] == "model-cache"
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        assert claim["spec"]["resources"]["requests"]["storage"] == f"{cache.size_gb}Gi"
        assert claim["spec"]["storageClassName"] == "nfs-client"
    else:
        assert claim is None


def test_default_model_cache_is_an_empty_dir() -> None:
    from llmscale.config.models import KubernetesConfig

    assert KubernetesConfig().model_cache.type is ModelCacheType.EMPTY_DIR


@all_configs
def test_hf_token_is_a_mounted_file_only_when_there_is_one(cfg: StackConfig) -> None:
    for deployment in deployments(cfg, has_hf_token=True):
        secret_volumes = [v for v in pod(deployment)["volumes"] if "secret" in v]
        assert [v["secret"]["secretName"] for v in secret_volumes] == [HF_TOKEN_SECRET] == ["hf-token"]
        (volume,) = secret_volumes
        (mount,) = [m for m in container(deployment)["volumeMounts"] if m["name"] == volume["name"]]
        assert mount["readOnly"] is True
        (item,) = volume["secret"]["items"]
        variables = env(deployment)
        assert variables["HF_TOKEN_PATH"]["value"] == f"{mount['mountPath']}/{item['path']}"
        # The token never becomes an environment variable.
        assert "HF_TOKEN" not in variables
        assert all("valueFrom" not in item for item in variables.values())
    for deployment in deployments(cfg, has_hf_token=False):
        assert not any("secret" in v for v in pod(deployment)["volumes"])
        assert "HF_TOKEN_PATH" not in env(deployment)
        assert not any(m["name"] == "hf-token" for m in container(deployment)["volumeMounts"])


@all_configs
def test_pods_run_locked_down(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        spec = pod(deployment)
        security = container(deployment)["securityContext"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["securityContext"].get("runAsUser", 1) != 0
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        assert security["readOnlyRootFilesystem"] is True
        assert security.get("privileged", False) is False
        assert spec["automountServiceAccountToken"] is False
        assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))
    account = service_account_manifest(cfg)
    assert account["automountServiceAccountToken"] is False
    assert all(pod(d)["serviceAccountName"] == account["metadata"]["name"] for d in deployments(cfg))


# Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod_security_violations(spec: dict[str, Any], level: str) -> list[str]:
    """What the Pod Security admission controller would reject at `level` (the checks relevant here)."""
    if level == "privileged":
        return []
    problems = [key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    problems += [f"hostPath volume {v['name']}" for v in spec.get("volumes", []) if "hostPath" in v]
    pod_seccomp = spec.get("securityContext", {}).get("seccompProfile", {}).get("type")
    if pod_seccomp == "Unconfined":
        problems.append("seccomp Unconfined")
    for c in spec["containers"]:
        security = c.get("securityContext", {})
        if security.get("privileged"):
            problems.append(f"{c['name']}: privileged")
        added = set(security.get("capabilities", {}).get("add", []))
        if added - BASELINE_CAPABILITIES:
            problems.append(f"{c['name']}: capabilities {sorted(added - BASELINE_CAPABILITIES)}")
        if any(port.get("hostPort") for port in c.get("ports", [])):
            problems.append(f"{c['name']}: hostPort")
    if level == "restricted":
        for v in spec.get("volumes", []):
            kinds = set(v) - {"name"}
            if not kinds <= RESTRICTED_VOLUME_TYPES:
                problems.append(f"volume {v['name']}: {sorted(kinds)}")
        for c in spec["containers"]:
            security = c.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{c['name']}: allowPrivilegeEscalation")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                problems.append(f"{c['name']}: capabilities not dropped")
    return problems


@pytest.mark.parametrize("cfg", [EMPTY_DIR, ONPREM, VARIANT], ids=["emptyDir", "hostPath", "pvc"])
def test_pods_are_admitted_by_the_namespace_pod_security_level(cfg: StackConfig) -> None:
    """The namespace enforces a Pod Security level; the pods of every profile must pass it, or none starts."""
    labels = namespace_manifest(cfg)["metadata"]["labels"]
    level = labels.get("pod-security.kubernetes.io/enforce", "privileged")
    for deployment in deployments(cfg):
        assert pod_security_violations(pod(deployment), level) == [], (
            f"{deployment['metadata']['name']} is rejected by the namespace's enforced level {level!r}"
        )


def test_priority_class_by_lane() -> None:
    classes = {m["metadata"]["name"]: m["value"] for m in priority_class_manifests()}
    chat = pod(deployment_manifest(ONPREM, profile(ONPREM, "chat")))["priorityClassName"]
    analysis = pod(deployment_manifest(ONPREM, profile(ONPREM, "analysis")))["priorityClassName"]
    assert profile(ONPREM, "chat").lane is Lane.INTERACTIVE
    assert profile(ONPREM, "analysis").lane is Lane.BATCH
    assert chat == PRIORITY_CLASSES[Lane.INTERACTIVE][0]
    assert analysis == PRIORITY_CLASSES[Lane.BATCH][0]
    assert chat in classes and analysis in classes
    assert classes[chat] > classes[analysis]
    assert not any(m["globalDefault"] for m in priority_class_manifests())


@all_configs
def test_rolling_update_never_drops_a_serving_replica(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate"
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0
        assert strategy["rollingUpdate"]["maxSurge"] not in (0, "0", "0%")


@all_configs
def test_zone_spread_only_when_configured(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        constraints = pod(deployment).get("topologySpreadConstraints", [])
        zones = [c for c in constraints if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert len(zones) == (1 if cfg.kubernetes.topology_spread else 0)
        for constraint in constraints:
            # A constraint counts exactly the pods of this Deployment.
            assert constraint["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_enterprise_preset_spreads_over_zones() -> None:
    for deployment in deployments(ENTERPRISE):
        keys = [c["topologyKey"] for c in pod(deployment)["topologySpreadConstraints"]]
        assert "topology.kubernetes.io/zone" in keys
    for deployment in deployments(ONPREM):
        keys = [c["topologyKey"] for c in pod(deployment).get("topologySpreadConstraints", [])]
        assert "topology.kubernetes.io/zone" not in keys


@all_configs
def test_selector_matches_template_labels(cfg: StackConfig) -> None:
    for deployment in deployments(cfg):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector
        assert selects(selector, deployment["spec"]["template"]["metadata"]["labels"])


def test_deployment_selectors_do_not_overlap() -> None:
    """A Deployment (and its Service) must never adopt another profile's or the canary's pods."""
    all_deployments = deployments(VARIANT) + deployments(ONPREM)
    for one in deployments(VARIANT):
        for other in all_deployments:
            if other["metadata"]["name"] == one["metadata"]["name"]:
                continue
            assert not selects(one["spec"]["selector"]["matchLabels"], other["spec"]["template"]["metadata"]["labels"])


# --- Service and PodDisruptionBudget ---------------------------------------------------------------------


@pytest.mark.parametrize("cfg", [ONPREM, VARIANT], ids=["onprem", "variant"])
def test_service_selects_exactly_its_deployment(cfg: StackConfig) -> None:
    for p in cfg.models:
        tracks = [False, True] if p.canary is not None else [False]
        for canary in tracks:
            service = service_manifest(cfg, p, canary=canary)
            deployment = deployment_manifest(cfg, p, canary=canary)
            assert service["metadata"]["name"] == deployment["metadata"]["name"] == workload_name(p, canary)
            assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
            (port,) = service["spec"]["ports"]
            assert port["port"] == VLLM_PORT == 8000
            container_ports = {cp["name"]: cp["containerPort"] for cp in container(deployment)["ports"]}
            assert port["targetPort"] in (*container_ports, VLLM_PORT)


@pytest.mark.parametrize("cfg", [ONPREM, VARIANT], ids=["onprem", "variant"])
def test_pdb_allows_drains_one_replica_at_a_time(cfg: StackConfig) -> None:
    for p in cfg.models:
        budget = pod_disruption_budget_manifest(cfg, p)
        deployment = deployment_manifest(cfg, p)
        assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert budget["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in budget["spec"]


# --- ScaledObject ----------------------------------------------------------------------------------------


def triggers(scaled: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [t for t in scaled["spec"]["triggers"] if t["type"] == kind]


@all_configs
def test_scaled_object_targets_the_deployment_and_reads_the_queue(cfg: StackConfig) -> None:
    for p in cfg.models:
        scaled = scaled_object_manifest(cfg, p)
        deployment = deployment_manifest(cfg, p)
        target = scaled["spec"]["scaleTargetRef"]
        assert target["name"] == deployment["metadata"]["name"]
        assert target.get("kind", "Deployment") == "Deployment"
        assert scaled["metadata"]["namespace"] == deployment["metadata"]["namespace"]
        (queue,) = [
            t
            for t in triggers(scaled, "prometheus")
            if t["metadata"]["query"] == queue_query(cfg.kubernetes.namespace, p)
        ]
        query = queue["metadata"]["query"]
        assert VLLM_QUEUE_DEPTH == "vllm:num_requests_waiting"
        assert VLLM_QUEUE_DEPTH in query
        assert f'model_name="{p.name}"' in query
        assert f'namespace="{cfg.kubernetes.namespace}"' in query
        assert queue["metricType"] == "AverageValue"
        assert queue["metadata"]["threshold"] == str(p.queue_depth_target)
        assert queue["metadata"]["serverAddress"] == cfg.kubernetes.prometheus_url


@all_configs
def test_in_flight_requests_keep_a_profile_active(cfg: StackConfig) -> None:
    # KEDA scales to zero once every trigger is inactive for cooldownPeriod; the queue is empty while requests
    # still generate, so one trigger must count running requests too, active above zero.
    for p in cfg.models:
        scaled = scaled_object_manifest(cfg, p)
        (in_flight,) = [
            t
            for t in triggers(scaled, "prometheus")
            if t["metadata"]["query"] == in_flight_query(cfg.kubernetes.namespace, p)
        ]
        query = in_flight["metadata"]["query"]
        assert "vllm:num_requests_running" in query and "vllm:num_requests_waiting" in query
        assert f'model_name="{p.name}"' in query
        assert in_flight["metadata"]["activationThreshold"] == "0"
        # What one replica carries within the SLO, or a full batch where the profile does not say.
        expected = p.in_flight_target if p.in_flight_target is not None else p.max_num_seqs
        assert in_flight["metadata"]["threshold"] == str(expected)


@all_configs
def test_trigger_metadata_values_are_strings(cfg: StackConfig) -> None:
    for p in cfg.models:
        for trigger in scaled_object_manifest(cfg, p)["spec"]["triggers"]:
            for key, value in trigger["metadata"].items():
                assert isinstance(value, str), f"{p.name} {trigger['type']}.{key} = {value!r}"


@all_configs
def test_cron_floor_iff_scheduled_and_min_at_least_one(cfg: StackConfig) -> None:
    for p in cfg.models:
        scaled = scaled_object_manifest(cfg, p)
        crons = triggers(scaled, "cron")
        scheduled = cfg.schedule.enabled and p.min_replicas >= 1
        assert len(crons) == (1 if scheduled else 0)
        spec = scaled["spec"]
        if scheduled:
            (cron,) = crons
            assert cron["metadata"]["desiredReplicas"] == str(p.min_replicas)
            assert cron["metadata"]["timezone"] == cfg.schedule.timezone
            # Off the EKS cluster llmscale builds, the floor opens warmUpMinutes early so models are loaded in time.
            assert cfg.platform == "kubernetes"
            warmed = with_lead_time(cfg.schedule, cfg.schedule.warm_up_minutes)
            start, end = cron_expressions(cron_window(warmed))
            assert (cron["metadata"]["start"], cron["metadata"]["end"]) == (start, end)
            assert spec["minReplicaCount"] == min(cfg.schedule.off_hours_min_replicas, p.min_replicas)
        else:
            assert spec["minReplicaCount"] == p.min_replicas
        assert spec["minReplicaCount"] == replica_floor(cfg, p)
        assert spec["maxReplicaCount"] == p.max_replicas
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] == cfg.autoscaling.scale_down_stabilization_seconds


def test_onprem_scaling_values() -> None:
    for p in ONPREM.models:
        scaled = scaled_object_manifest(ONPREM, p)
        # offHoursMinReplicas is 0 on the onprem stack: every profile may scale to zero at night.
        assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (0, p.max_replicas)
        (cron,) = triggers(scaled, "cron")
        # The active window opens at 07:00; the floor comes warmUpMinutes (15, the default) earlier.
        assert ONPREM.schedule.start == "07:00" and ONPREM.schedule.warm_up_minutes == 15
        assert cron["metadata"] == {
            "timezone": "Europe/Berlin",
            "start": "45 6 * * 1,2,3,4,5",
            "end": "0 20 * * 1,2,3,4,5",
            "desiredReplicas": str(p.min_replicas),
        }
    chat = scaled_object_manifest(ONPREM, profile(ONPREM, "chat"))
    analysis = scaled_object_manifest(ONPREM, profile(ONPREM, "analysis"))
    assert triggers(chat, "cron")[0]["metadata"]["desiredReplicas"] == "2"
    assert triggers(chat, "prometheus")[0]["metadata"]["threshold"] == "5"
    assert triggers(analysis, "prometheus")[0]["metadata"]["threshold"] == "10"


def cron_start(cfg: StackConfig) -> set[str]:
    """The cron floor's start expression of every scheduled profile."""
    return {triggers(scaled_object_manifest(cfg, p), "cron")[0]["metadata"]["start"] for p in cfg.models}


def test_the_floor_leads_by_the_warm_up_off_eks_and_by_the_node_lead_on_eks() -> None:
    # On an existing cluster only the model has to load: schedule.warmUpMinutes. On the EKS cluster llmscale
    # builds, GPU nodes start first: eks.scaleUpLeadMinutes, whatever the warm-up says.
    onprem = config(schedule={**onprem_values()["llmscale:schedule"], "warmUpMinutes": 40})
    assert onprem.platform == "kubernetes" and onprem.schedule.start == "07:00"
    assert cron_start(onprem) == {"20 6 * * 1,2,3,4,5"}
    assert cron_start(config(schedule={**onprem_values()["llmscale:schedule"], "warmUpMinutes": 0})) == {
        "0 7 * * 1,2,3,4,5"
    }

    eks = load_stack("multi-gpu").config
    assert eks.platform == "aws" and eks.schedule.start == "08:00"
    for warm_up, lead, expected in [(15, 25, "35 7"), (40, 25, "35 7"), (40, 0, "0 8"), (0, 50, "10 7")]:
        variant = eks.model_copy(
            update={
                "schedule": eks.schedule.model_copy(update={"warm_up_minutes": warm_up}),
                "eks": eks.eks.model_copy(update={"scale_up_lead_minutes": lead}),
            }
        )
        assert cron_start(variant) == {f"{expected} * * 1,2,3,4,5"}, (warm_up, lead)


def test_off_hours_floor_is_clamped_to_the_profile_minimum() -> None:
    models = copy.deepcopy(onprem_values()["llmscale:models"])
    models[0].update(minReplicas=3, maxReplicas=4)
    models[1].update(minReplicas=1, maxReplicas=2)
    cfg = config(models=models, schedule={**onprem_values()["llmscale:schedule"], "offHoursMinReplicas": 2})
    assert scaled_object_manifest(cfg, profile(cfg, "chat"))["spec"]["minReplicaCount"] == 2
    # analysis has minReplicas 1: an off-hours floor of 2 would be above its own minimum.
    assert scaled_object_manifest(cfg, profile(cfg, "analysis"))["spec"]["minReplicaCount"] == 1


def test_profile_with_min_zero_has_no_cron_floor() -> None:
    models = copy.deepcopy(onprem_values()["llmscale:models"])
    models[1]["minReplicas"] = 0
    cfg = config(models=models)
    scaled = scaled_object_manifest(cfg, profile(cfg, "analysis"))
    assert triggers(scaled, "cron") == []
    assert scaled["spec"]["minReplicaCount"] == 0


def test_no_schedule_keeps_the_profile_minimum() -> None:
    for p in NO_SCHEDULE.models:
        scaled = scaled_object_manifest(NO_SCHEDULE, p)
        assert triggers(scaled, "cron") == []
        assert scaled["spec"]["minReplicaCount"] == p.min_replicas


# --- cron expressions (property) -------------------------------------------------------------------------

TIMEZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def schedules(draw: st.DrawFn) -> ScheduleConfig:
    start = draw(clock)
    end = draw(clock.filter(lambda value: value != start))
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    return ScheduleConfig(
        timezone=draw(st.sampled_from(TIMEZONES)),
        days=days,
        start=start,
        end=end,
        warm_up_minutes=draw(st.integers(0, 240)),
    )


def day_numbers(field: str) -> list[int]:
    numbers = [int(part) for part in field.split(",")]
    assert all(0 <= n <= 6 for n in numbers), field
    assert len(set(numbers)) == len(numbers), field
    return numbers


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_cron_expressions_follow_the_schedule(schedule: ScheduleConfig) -> None:
    start, end = cron_expressions(cron_window(schedule))
    start_fields, end_fields = start.split(" "), end.split(" ")
    assert len(start_fields) == 5 and len(end_fields) == 5
    start_hour, start_minute = (int(x) for x in schedule.start.split(":"))
    end_hour, end_minute = (int(x) for x in schedule.end.split(":"))
    assert start_fields[:4] == [str(start_minute), str(start_hour), "*", "*"]
    assert end_fields[:4] == [str(end_minute), str(end_hour), "*", "*"]
    configured = {CRON_DAY[day] for day in schedule.days}
    assert set(day_numbers(start_fields[4])) == configured
    if schedule.end < schedule.start:  # the window crosses midnight: it ends on the following day
        assert set(day_numbers(end_fields[4])) == {(n + 1) % 7 for n in configured}
    else:
        assert set(day_numbers(end_fields[4])) == configured


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_scaled_object_cron_trigger_uses_the_schedule(schedule: ScheduleConfig) -> None:
    cfg = ONPREM.model_copy(update={"schedule": schedule})
    chat = profile(cfg, "chat")
    (cron,) = triggers(scaled_object_manifest(cfg, chat), "cron")
    assert cron["metadata"]["timezone"] == schedule.timezone
    warmed = with_lead_time(schedule, schedule.warm_up_minutes)
    assert (cron["metadata"]["start"], cron["metadata"]["end"]) == cron_expressions(cron_window(warmed))
    # The floor still ends where the active window ends.
    assert cron["metadata"]["end"] == cron_expressions(cron_window(schedule))[1]


def test_window_across_midnight_ends_the_next_day() -> None:
    schedule = ScheduleConfig(timezone="Asia/Tokyo", days=["fri", "sat", "sun"], start="22:30", end="06:15")
    start, end = cron_expressions(cron_window(schedule))
    assert start == "30 22 * * 5,6,0"
    assert set(day_numbers(end.split(" ")[4])) == {6, 0, 1}
    assert end.startswith("15 6 * * ")


# --- Gateway ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [ONPREM, ROUND_ROBIN, LEAST_LOADED, NO_RATE_LIMIT],
    ids=["onprem", "round-robin", "least-loaded", "no-rate-limit"],
)
def test_http_route_per_profile(cfg: StackConfig) -> None:
    for p in cfg.models:
        route = http_route_manifest(cfg, p)
        (rule,) = route["spec"]["rules"]
        assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": f"/{p.name}/v1"}}]
        (rewrite,) = [f for f in rule["filters"] if f["type"] == "URLRewrite"]
        assert rewrite["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1"}
        (backend,) = rule["backendRefs"]
        if cfg.routing.strategy is RoutingStrategy.CACHE_AWARE:
            # The profile's InferencePool, named like its Service, and the lane's objective on every request.
            assert backend == {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": p.name}
            assert inference.objective_header_filter(p) in rule["filters"]
        else:
            service = service_manifest(cfg, p)
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"] == 8000 == service["spec"]["ports"][0]["port"]
        assert rule["timeouts"]["request"] == f"{p.request_timeout_seconds}s"
        assert route["spec"]["hostnames"] == ["llm.corp.example.com"]
        parent = {"name": gateway_manifest(cfg)["metadata"]["name"]}
        # Where the Gateway terminates TLS itself, model routes attach to the HTTPS listener only.
        expected = {**parent, "sectionName": "https"} if serves_https(cfg) else parent
        assert route["spec"]["parentRefs"] == [expected]


def test_onprem_route_timeouts() -> None:
    assert http_route_manifest(ONPREM, profile(ONPREM, "chat"))["spec"]["rules"][0]["timeouts"]["request"] == "300s"
    analysis = http_route_manifest(ONPREM, profile(ONPREM, "analysis"))
    assert analysis["spec"]["rules"][0]["timeouts"]["request"] == "1800s"


def test_canary_splits_the_route_by_weight() -> None:
    for p in VARIANT.models:
        assert p.canary is not None
        (rule,) = http_route_manifest(VARIANT, p)["spec"]["rules"]
        stable, canary = rule["backendRefs"]
        assert stable["name"] == p.name
        assert canary["name"] == f"{p.name}-canary"
        assert stable["port"] == canary["port"] == 8000
        assert (stable["weight"], canary["weight"]) == (100 - p.canary.weight, p.canary.weight)
        assert service_manifest(VARIANT, p, canary=True)["metadata"]["name"] == f"{p.name}-canary"
        assert deployment_manifest(VARIANT, p, canary=True)["metadata"]["name"] == f"{p.name}-canary"
    assert profile(VARIANT, "chat").canary.weight == 20  # type: ignore[union-attr]
    assert profile(VARIANT, "analysis").canary.weight == 10  # type: ignore[union-attr]


def test_canary_deployment_runs_the_canary_image_and_model() -> None:
    chat = profile(VARIANT, "chat")
    canary = container(deployment_manifest(VARIANT, chat, canary=True))
    stable = container(deployment_manifest(VARIANT, chat))
    assert canary["image"] == CANARY_IMAGE
    assert stable["image"] == versions.VLLM_IMAGE
    assert canary["args"][0] == chat.model
    assert deployment_manifest(VARIANT, chat, canary=True)["spec"]["replicas"] == 2

    analysis = profile(VARIANT, "analysis")
    canary = container(deployment_manifest(VARIANT, analysis, canary=True))
    assert canary["image"] == versions.VLLM_IMAGE
    assert canary["args"][0] == CANARY_MODEL
    assert container(deployment_manifest(VARIANT, analysis))["args"][0] == analysis.model
    for p in VARIANT.models:
        # Both tracks answer to the profile name, so clients and metrics see one model.
        for track in (False, True):
            args = container(deployment_manifest(VARIANT, p, canary=track))["args"]
            assert served_names(args)[0] == p.name


def test_health_route_is_open_and_reaches_an_interactive_profile() -> None:
    route = health_route_manifest(ONPREM)
    assert route["metadata"]["name"] == HEALTH_ROUTE
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "Exact", "value": "/health"}}]
    assert [b["name"] for b in rule["backendRefs"]] == ["chat"]


def traffic_policy(cfg: StackConfig, name: str) -> dict[str, Any]:
    return backend_traffic_policy_manifest(cfg, profile(cfg, name))["spec"]


@pytest.mark.parametrize("cfg", [ONPREM, VARIANT], ids=["onprem", "variant"])
def test_traffic_policy_targets_the_route(cfg: StackConfig) -> None:
    for p in cfg.models:
        route = http_route_manifest(cfg, p)
        policy = backend_traffic_policy_manifest(cfg, p)
        assert policy["metadata"]["namespace"] == route["metadata"]["namespace"]
        assert policy["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route["metadata"]["name"]}
        ]


@pytest.mark.parametrize(
    ("cfg", "balancer"),
    [(ROUND_ROBIN, "RoundRobin"), (LEAST_LOADED, "LeastRequest"), (VARIANT, "ConsistentHash")],
    ids=["round-robin", "least-loaded", "sticky"],
)
def test_load_balancer_by_strategy(cfg: StackConfig, balancer: str) -> None:
    for p in cfg.models:
        spec = backend_traffic_policy_manifest(cfg, p)["spec"]
        assert spec["loadBalancer"]["type"] == balancer
        if balancer == "ConsistentHash":
            hashing = spec["loadBalancer"]["consistentHash"]
            assert hashing["type"] == "Header"
            assert hashing["header"]["name"] == cfg.routing.session_header == "x-conversation-id"
        else:
            assert "consistentHash" not in spec["loadBalancer"]


@pytest.mark.parametrize("cfg", [LEAST_LOADED, VARIANT], ids=["least-loaded", "variant"])
def test_retries_only_what_never_reached_a_model(cfg: StackConfig) -> None:
    for p in cfg.models:
        retry = backend_traffic_policy_manifest(cfg, p)["spec"]["retry"]
        assert set(retry["retryOn"]["triggers"]) == RETRY_TRIGGERS
        assert retry["retryOn"]["httpStatusCodes"] == [503]


def test_cache_aware_routes_retry_no_503_and_set_no_balancer() -> None:
    """A retry would reach the pod the picker chose again; the AI Gateway replaces Envoy's balancing."""
    for p in ONPREM.models:
        spec = backend_traffic_policy_manifest(ONPREM, p)["spec"]
        assert set(spec["retry"]["retryOn"]["triggers"]) == RETRY_TRIGGERS - {"retriable-status-codes"}
        assert "httpStatusCodes" not in spec["retry"]["retryOn"]
        assert "loadBalancer" not in spec and "healthCheck" not in spec
        assert spec["circuitBreaker"] == backend_traffic_policy_manifest(LEAST_LOADED, p)["spec"]["circuitBreaker"]


def test_rate_limit_per_api_key_only_when_configured() -> None:
    for name in ("chat", "analysis"):
        limit = traffic_policy(ONPREM, name)["rateLimit"]
        (rule,) = limit["local"]["rules"] if "local" in limit else limit["global"]["rules"]
        # Keyed on the client the API-key filter names (the key itself is stripped before rate limiting).
        assert rule["clientSelectors"] == [{"headers": [{"name": "x-llmscale-client", "type": "Distinct"}]}]
        security = security_policy_manifest(ONPREM)["spec"]["apiKeyAuth"]
        assert security["forwardClientIDHeader"] == "x-llmscale-client"
        assert rule["limit"] == {"requests": ONPREM.gateway.rate_limit_requests_per_minute, "unit": "Minute"}
        assert ONPREM.gateway.rate_limit_requests_per_minute == 400
        assert "rateLimit" not in traffic_policy(NO_RATE_LIMIT, name)


def test_security_policy_protects_every_profile_route_but_not_health() -> None:
    for cfg in (ONPREM, VARIANT):
        policy = security_policy_manifest(cfg)
        targets = policy["spec"]["targetRefs"]
        routes = [http_route_manifest(cfg, p)["metadata"]["name"] for p in cfg.models]
        assert sorted(t["name"] for t in targets) == sorted(routes)
        assert all(t["kind"] == "HTTPRoute" and t["group"] == "gateway.networking.k8s.io" for t in targets)
        assert health_route_manifest(cfg)["metadata"]["name"] not in {t["name"] for t in targets}
        auth = policy["spec"]["apiKeyAuth"]
        assert auth["credentialRefs"] == [{"group": "", "kind": "Secret", "name": API_KEYS_SECRET}]
        assert API_KEYS_SECRET == "llmscale-api-keys"
        assert auth["extractFrom"] == [{"headers": ["Authorization"]}]


def test_host_names_are_matched_by_the_model_routes_not_the_listener() -> None:
    """Health checks reach each region's load balancer by its own name: only model routes carry the host."""
    gateway = gateway_manifest(ONPREM)
    assert gateway["spec"]["gatewayClassName"] == gateway_class_manifest()["metadata"]["name"]
    assert all("hostname" not in listener for listener in gateway["spec"]["listeners"])
    assert [listener["port"] for listener in gateway["spec"]["listeners"]] == [80, 443]
    for profile in ONPREM.models:
        assert http_route_manifest(ONPREM, profile)["spec"]["hostnames"] == ["llm.corp.example.com"]
    assert "hostnames" not in health_route_manifest(ONPREM)["spec"]


@pytest.mark.parametrize("cfg", [LEAST_LOADED, ONPREM], ids=["least-loaded", "cache-aware"])
def test_network_policy_admits_only_gateway_monitoring_and_the_pickers(cfg: StackConfig) -> None:
    policy = network_policy_manifest(cfg)
    (rule,) = policy["spec"]["ingress"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for s in rule["from"]
        if "namespaceSelector" in s
    }
    assert namespaces == {cfg.kubernetes.gateway_namespace, cfg.kubernetes.monitoring_namespace}
    pods = [s["podSelector"]["matchLabels"] for s in rule["from"] if "podSelector" in s]
    if cfg.routing.strategy is RoutingStrategy.CACHE_AWARE:
        # The endpoint pickers scrape every vLLM pod's /metrics from the stack's own namespace.
        deployment = picker.epp_deployment_manifest(cfg.models[0], cfg.kubernetes.namespace, 1)
        (selector,) = pods
        assert selects(selector, deployment["spec"]["template"]["metadata"]["labels"])
    else:
        assert pods == []
    assert rule["ports"] == [{"protocol": "TCP", "port": VLLM_PORT}]
    for deployment in deployments(cfg):
        assert selects(
            policy["spec"]["podSelector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"]
        )


# --- schema validation of every object -------------------------------------------------------------------


@all_configs
@pytest.mark.parametrize("has_hf_token", [True, False], ids=["hf-token", "no-hf-token"])
def test_every_manifest_passes_its_schema(cfg: StackConfig, has_hf_token: bool) -> None:
    manifests = all_manifests(cfg, has_hf_token=has_hf_token)
    errors = [error for manifest in manifests for error in validate_object(manifest)]
    assert errors == []
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "PodDisruptionBudget", "ScaledObject", "HTTPRoute"} <= kinds
    assert {"BackendTrafficPolicy", "SecurityPolicy", "Gateway", "GatewayClass", "Namespace"} <= kinds


def test_variant_manifests_cover_canary_sticky_and_pvc() -> None:
    manifests = all_manifests(VARIANT)
    names = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    assert {
        ("Deployment", "chat-canary"),
        ("Service", "analysis-canary"),
        ("PersistentVolumeClaim", "model-cache"),
    } <= (names)
    assert all(validate_object(m) == [] for m in manifests)


# --- add-ons ---------------------------------------------------------------------------------------------

ADDONS = {
    "nvidiaDevicePlugin": ("nvidia-device-plugin", versions.NVIDIA_DEVICE_PLUGIN_CHART),
    "keda": ("keda", versions.KEDA_CHART),
    "envoyGateway": ("envoy-gateway", versions.ENVOY_GATEWAY_CHART),
}
# Every switch of `kubernetes.addons`, as the stack file spells it.
ADDON_SWITCHES = [field.alias or to_camel(name) for name, field in AddonsConfig.model_fields.items()]
PINNED_CHARTS = [value for value in vars(versions).values() if isinstance(value, versions.HelmChart)]


def test_serving_addons_by_default_with_pinned_charts() -> None:
    releases = {release.name: release for release in addon_releases(ONPREM)}
    assert {name for name, _ in ADDONS.values()} <= set(releases)
    for name, chart in ADDONS.values():
        assert releases[name].chart == chart
    for release in releases.values():
        # Every chart comes from llmscale.versions, pinned to a version.
        assert release.chart in PINNED_CHARTS, release.name
        assert release.chart.version and release.chart.version != "latest"
        assert release.chart.version.lstrip("v")[0].isdigit(), release.name
    assert releases["envoy-gateway"].namespace == ONPREM.kubernetes.gateway_namespace
    plugin = releases["nvidia-device-plugin"].values
    assert plugin["nodeSelector"] == ONPREM.kubernetes.gpu_node_selector
    assert any(t["key"] == ONPREM.kubernetes.gpu_taint_key for t in plugin["tolerations"])


def test_cache_aware_routing_adds_the_ai_gateway_after_its_crds_and_envoy_gateway() -> None:
    releases = {release.name: release for release in addon_releases(ONPREM)}
    assert releases["envoy-gateway"].values == inference.envoy_gateway_values()
    assert releases["ai-gateway-crds"].chart == versions.AI_GATEWAY_CRDS_CHART
    gateway = releases["ai-gateway"]
    assert gateway.chart == versions.AI_GATEWAY_CHART
    assert set(gateway.after) == {"ai-gateway-crds", "envoy-gateway"} <= set(releases)
    # The chart binds the InferencePool reader role to Envoy Gateway's service account in this namespace.
    assert gateway.values == {"envoyGateway": {"namespace": ONPREM.kubernetes.gateway_namespace}}
    plain = {release.name: release for release in addon_releases(LEAST_LOADED)}
    assert "ai-gateway" not in plain and "ai-gateway-crds" not in plain
    assert plain["envoy-gateway"].values == {}
    existing = config(kubernetes=kubernetes(addons={"aiGateway": False}))
    assert {"ai-gateway", "ai-gateway-crds"}.isdisjoint(r.name for r in addon_releases(existing))


@pytest.mark.parametrize("switched_off", list(ADDONS))
def test_each_addon_can_be_switched_off(switched_off: str) -> None:
    assert switched_off in ADDON_SWITCHES
    everything = {release.name for release in addon_releases(ONPREM)}
    cfg = config(kubernetes=kubernetes(addons={switched_off: False}))
    names = {release.name for release in addon_releases(cfg)}
    assert names == everything - {ADDONS[switched_off][0]}


def test_all_addons_switched_off() -> None:
    cfg = config(kubernetes=kubernetes(addons=dict.fromkeys(ADDON_SWITCHES, False)))
    assert addon_releases(cfg) == []


def test_custom_gpu_nodes_reach_the_device_plugin() -> None:
    (plugin,) = [r for r in addon_releases(CUSTOM_GPU_NODES) if r.name == "nvidia-device-plugin"]
    assert plugin.values["nodeSelector"] == {"example.com/accelerator": "l40s"}
    assert [t["key"] for t in plugin.values["tolerations"]] == ["example.com/gpu"]
