"""The endpoint picker (EPP) of one model profile's InferencePool: the objects upstream's chart renders for it.

llm-d/llm-d-router v0.10.0 (`config/charts/routerlib` and `config/charts/llm-d-router-gateway`), where the picker
moved from kubernetes-sigs/gateway-api-inference-extension, is the source of every choice here: its image, the
two Roles it is granted (and a leader-election Role with more than one replica), its command line, probes, grace
period and plugin file. `llmscale.k8s.inference` puts these beside the InferencePool and the gateway's side.
"""

from __future__ import annotations

from typing import Any

import yaml

from llmscale import versions
from llmscale.config.models import ModelProfile
from llmscale.k8s.labels import PART_OF, PROFILE_LABEL

Manifest = dict[str, Any]

POOL_GROUP = "inference.networking.k8s.io"
EPP_GRPC_PORT = 9002  # ext_proc, TLS with a self-signed certificate (--secure-serving defaults to true)
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
EPP_COMPONENT = "endpoint-picker"  # app.kubernetes.io/name of the pickers (the vLLM NetworkPolicy admits them)
EPP_CONFIG_FILE = "plugins.yaml"
# routerlib/templates/_deployment.yaml:14: "this timeout should mirror the longest grace period of the pods within
# the pool"; 130 s is the chart's value.
EPP_TERMINATION_GRACE_SECONDS = 130
# The chart asks for 8 CPUs and 8 GiB (routerlib values.yaml:59-65), sized for very large pools; GIE v1.5.0's chart
# asked for 4 CPUs. One profile's pool here is at most a few dozen pods, scored every 50 ms.
EPP_RESOURCES: Manifest = {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}}


# Scorer weights of the EPP's default profile (routerlib templates/_config.yaml:19-88, equal to the binary's
# built-in default pkg/epp/config/loader/defaults.go:46-100): prefix affinity counts most, then queue and KV use.
SCORER_WEIGHTS: dict[str, int] = {"queue-scorer": 2, "kv-cache-utilization-scorer": 2, "prefix-cache-scorer": 3}
# `lora-affinity-scorer` is not in the default profile (scorer/loraaffinity/lora_affinity.go:29-103): it prefers a
# pod that already holds the requested adapter (1.0), then one with a free adapter slot (0.8).
LORA_AFFINITY_WEIGHT = 1


def pool_name(profile: ModelProfile) -> str:
    """The InferencePool of a profile: named like its Deployment and Service."""
    return profile.name


def epp_name(profile: ModelProfile) -> str:
    """The EPP's Deployment, Service, ServiceAccount and ConfigMap of a profile."""
    return f"{profile.name}-epp"


def picker_labels(profile: ModelProfile) -> dict[str, str]:
    """Labels of a profile's picker objects and pods."""
    return {
        "app.kubernetes.io/name": EPP_COMPONENT,
        "app.kubernetes.io/instance": epp_name(profile),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        PROFILE_LABEL: profile.name,
    }


def picker_selector(profile: ModelProfile) -> dict[str, str]:
    """Labels that select exactly the pods of one profile's picker."""
    return {"app.kubernetes.io/name": EPP_COMPONENT, PROFILE_LABEL: profile.name}


def picker_metadata(name: str, namespace: str, profile: ModelProfile) -> Manifest:
    """Metadata of an object of a profile's cache-aware routing."""
    return {"name": name, "namespace": namespace, "labels": picker_labels(profile)}


def epp_plugin_config(profile: ModelProfile, *, adapters: bool = False) -> Manifest:
    """The EPP's EndpointPickerConfig: the default scorers, plus adapter affinity when the profile serves adapters.

    Plugin types and parameters as in routerlib `templates/_config.yaml:19-88`; the metrics data source scrapes
    vLLM's own `/metrics` over plain HTTP (vLLM serves no TLS inside the cluster).
    """
    weights = dict(SCORER_WEIGHTS)
    if adapters:
        weights["lora-affinity-scorer"] = LORA_AFFINITY_WEIGHT
    plugins: list[Manifest] = [{"type": name} for name in weights]
    plugins += [
        # insecureSkipVerify only matters for https; the chart renders it either way.
        {
            "type": "metrics-data-source",
            "parameters": {"scheme": "http", "path": "/metrics", "insecureSkipVerify": True},
        },
        # No parameters: the extractor's engine defaults to vllm (the chart sets defaultEngine only for others).
        {"type": "core-metrics-extractor"},
    ]
    return {
        "apiVersion": "llm-d.ai/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": plugins,
        "schedulingProfiles": [
            {
                "name": "default",
                "plugins": [{"pluginRef": name, "weight": weight} for name, weight in weights.items()],
            }
        ],
    }


def _role(name: str, namespace: str, profile: ModelProfile, rules: list[Manifest]) -> list[Manifest]:
    role: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": picker_metadata(name, namespace, profile),
        "rules": rules,
    }
    binding: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": picker_metadata(name, namespace, profile),
        "subjects": [{"kind": "ServiceAccount", "name": epp_name(profile), "namespace": namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
    }
    return [role, binding]


READ = ["get", "watch", "list"]


def epp_rbac_manifests(profile: ModelProfile, namespace: str, replicas: int) -> list[Manifest]:
    """The EPP's ServiceAccount and exactly the Roles upstream's chart grants it.

    routerlib `templates/_rbac.yaml:42-66` (pods), llm-d-router-gateway `templates/rbac.yaml:1-33` (pools,
    objectives and model rewrites in both API groups: the EPP watches the legacy group too) and, with more than
    one replica, `templates/_leader-election-rbac.yaml:1-33` (leases and events).
    """
    name = epp_name(profile)
    account: Manifest = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": picker_metadata(name, namespace, profile),
    }
    manifests = [account]
    manifests += _role(f"{name}-sa", namespace, profile, [{"apiGroups": [""], "resources": ["pods"], "verbs": READ}])
    objectives = ["inferenceobjectives", "inferencemodelrewrites"]
    manifests += _role(
        f"{name}-non-sa",
        namespace,
        profile,
        [
            {"apiGroups": ["inference.networking.x-k8s.io"], "resources": objectives, "verbs": READ},
            {"apiGroups": ["llm-d.ai"], "resources": objectives, "verbs": READ},
            {"apiGroups": [POOL_GROUP], "resources": ["inferencepools"], "verbs": READ},
        ],
    )
    if replicas > 1:
        manifests += _role(
            f"{name}-leader-election",
            namespace,
            profile,
            [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        )
    return manifests


def epp_config_map_manifest(profile: ModelProfile, namespace: str, *, adapters: bool = False) -> Manifest:
    """The plugin configuration the EPP reads from `/config` at start."""
    text = yaml.safe_dump(epp_plugin_config(profile, adapters=adapters), sort_keys=False)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": picker_metadata(epp_name(profile), namespace, profile),
        "data": {EPP_CONFIG_FILE: text},
    }


def epp_args(profile: ModelProfile, namespace: str, replicas: int) -> list[str]:
    """The EPP's command line, as routerlib `templates/_deployment.yaml:74-128` builds it for an InferencePool.

    `--metrics-endpoint-auth=false`: the binary's default (true) wants a bearer token checked by TokenReview and a
    ClusterRole for the scraper; the NetworkPolicy lets only the monitoring namespace reach the metrics port.
    `--tracing=false`: the binary defaults to exporting traces to a collector that is not there.
    """
    args = [
        "--pool-name",
        pool_name(profile),
        "--pool-namespace",
        namespace,
        "--pool-group",
        POOL_GROUP,
        "--zap-encoder",
        "json",
        "--config-file",
        f"/config/{EPP_CONFIG_FILE}",
        "--grpc-health-port",
        str(EPP_HEALTH_PORT),
        "--tracing=false",
        "--metrics-endpoint-auth=false",
    ]
    if replicas > 1:
        # Active-passive: only the leader reports ready, so the Service sends every request to it and the
        # prefix-cache index (kept in the picker's memory) is one (chart README, "High Availability (HA) Modes").
        args.append("--ha-enable-leader-election")
    return args


def _grpc_probe(service: str, period: int, initial_delay: int = 0) -> Manifest:
    probe: Manifest = {"grpc": {"port": EPP_HEALTH_PORT, "service": service}, "periodSeconds": period}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def epp_deployment_manifest(profile: ModelProfile, namespace: str, replicas: int) -> Manifest:
    """The EPP of one profile: `replicas` pods, one active (leader election) when there are several.

    Probes as routerlib `_deployment.yaml:143-165`: with leader election the health server answers the
    `liveness` and `readiness` services (readiness only on the leader), otherwise `inference-extension`.
    A single replica is replaced with Recreate (the chart's choice: two pickers would split the prefix index);
    several roll one at a time, the standby taking over the lease.
    """
    leader = replicas > 1
    liveness = _grpc_probe("liveness" if leader else "inference-extension", 10, initial_delay=5)
    readiness = _grpc_probe("readiness" if leader else "inference-extension", 2)
    strategy: Manifest = (
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        if leader
        else {"type": "Recreate"}
    )
    field = [
        {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    pod: Manifest = {
        "serviceAccountName": epp_name(profile),
        "terminationGracePeriodSeconds": EPP_TERMINATION_GRACE_SECONDS,
        # The image runs as 65532 (llm-d-router v0.10.0 Dockerfile.epp `USER 65532:65532`).
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "epp",
                "image": versions.EPP.ref,
                "imagePullPolicy": "IfNotPresent",
                "args": epp_args(profile, namespace, replicas),
                "env": field,
                "ports": [
                    {"name": "grpc", "containerPort": EPP_GRPC_PORT},
                    {"name": "grpc-health", "containerPort": EPP_HEALTH_PORT},
                    {"name": "metrics", "containerPort": EPP_METRICS_PORT},
                ],
                "livenessProbe": liveness,
                "readinessProbe": readiness,
                "resources": EPP_RESOURCES,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "config", "mountPath": "/config", "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": epp_name(profile)}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if leader:
        pod["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": picker_selector(profile)},
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": picker_metadata(epp_name(profile), namespace, profile),
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": picker_selector(profile)},
            "template": {"metadata": {"labels": picker_labels(profile)}, "spec": pod},
        },
    }


def epp_service_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """The Service the InferencePool names: ext_proc (h2c as the chart labels it) and metrics."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": picker_metadata(epp_name(profile), namespace, profile),
        "spec": {
            "type": "ClusterIP",
            "selector": picker_selector(profile),
            "ports": [
                {
                    "name": "grpc-ext-proc",
                    "port": EPP_GRPC_PORT,
                    "targetPort": EPP_GRPC_PORT,
                    "protocol": "TCP",
                    "appProtocol": "kubernetes.io/h2c",
                },
                {"name": "http-metrics", "port": EPP_METRICS_PORT, "targetPort": EPP_METRICS_PORT, "protocol": "TCP"},
            ],
        },
    }


def epp_disruption_budget_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """Keep one picker through node drains, so a profile never loses its router to maintenance."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": picker_metadata(epp_name(profile), namespace, profile),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": picker_selector(profile)}},
    }


def epp_network_policy_manifest(
    profile: ModelProfile, namespace: str, *, gateway_namespace: str, monitoring_namespace: str
) -> Manifest:
    """Only the gateway's proxies reach ext_proc, only Prometheus reaches the metrics port."""

    def source(ns: str) -> Manifest:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": picker_metadata(epp_name(profile), namespace, profile),
        "spec": {
            "podSelector": {"matchLabels": picker_selector(profile)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [source(gateway_namespace)], "ports": [{"protocol": "TCP", "port": EPP_GRPC_PORT}]},
                {"from": [source(monitoring_namespace)], "ports": [{"protocol": "TCP", "port": EPP_METRICS_PORT}]},
            ],
        },
    }


def epp_pod_monitor_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """Scrape the EPP's own metrics (`llm_d_epp_*`); job `<namespace>/<profile>-epp`."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": epp_name(profile),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF},
        },
        "spec": {
            "selector": {"matchLabels": picker_selector(profile)},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s"}],
        },
    }
