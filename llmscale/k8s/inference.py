"""Cache-aware routing: a Gateway API Inference Extension InferencePool per model profile, picked by an endpoint picker.

With `routing.strategy: cache-aware` Envoy asks an endpoint picker (EPP) which vLLM pod should take each request,
scoring every pod's queue depth, KV-cache use and the prefix of the prompt it has already cached (and, with LoRA
adapters, which adapters it holds). The objects here mirror what upstream's own chart renders at the pinned
release, read from its source (llm-d/llm-d-router v0.10.0, `config/charts/routerlib` and
`config/charts/llm-d-router-gateway`, where the EPP moved from kubernetes-sigs/gateway-api-inference-extension;
GIE v1.6.0 keeps only the InferencePool API and a round-robin reference picker "not recommended for production"):

- the InferencePool (`inference.networking.k8s.io/v1`, GIE v1.6.0 CRD) selects the profile's stable pods on the
  vLLM port and names the EPP Service;
- the EPP: ServiceAccount, the two Roles the chart grants (`<name>-sa`: pods; `<name>-non-sa`: pools, objectives,
  model rewrites), a leader-election Role when it runs more than one replica, the plugin ConfigMap, Deployment,
  Service, PodDisruptionBudget, NetworkPolicy and PodMonitor;
- an InferenceObjective (`llm-d.ai/v1alpha2`) per profile whose priority carries the profile's lane: without flow
  control the EPP rejects only requests of negative priority, and only once the pool is saturated, with HTTP 429
  (llm-d-router v0.10.0 `pkg/epp/requestcontrol/admission.go:65-129`), so batch traffic is shed first.

Envoy Gateway v1.9.0 cannot route to an InferencePool by itself (`internal/gatewayapi/validate.go:74-92` accepts
only Service, ServiceImport and Backend): the Envoy AI Gateway controller adds it as an extension-manager custom
backend, configured by `envoy_gateway_values` below. On that path the EPP's ext_proc filter is always fail-closed
(envoyproxy/ai-gateway v1.1.0 `internal/extensionserver/inferencepool.go:313-314` hard-codes
`FailureModeAllow: false`, and the upstream cluster is ORIGINAL_DST keyed on the header the EPP sets, so there is
nothing to fall back on): with the EPP down a profile's requests fail with HTTP 500. llmscale therefore states
`failureMode: FailClose` on the pool, runs the EPP redundantly where the tier promises availability, and alerts
when a profile's EPP is down (docs/routing.md).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from llmscale import versions
from llmscale.config.models import Lane, ModelProfile
from llmscale.k8s.labels import PART_OF, PROFILE_LABEL, selector_labels
from llmscale.serving.vllm_args import VLLM_PORT

Manifest = dict[str, Any]

POOL_GROUP = "inference.networking.k8s.io"
OBJECTIVE_API = "llm-d.ai/v1alpha2"
OBJECTIVE_HEADER = "x-llm-d-inference-objective"  # llm-d-router v0.10.0 pkg/epp/metadata/consts.go (ObjectiveKey)
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
AI_GATEWAY_CONTROLLER = "ai-gateway-controller"  # ai-gateway-helm values.yaml controller.fullnameOverride
AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"
AI_GATEWAY_EXTENSION_PORT = 1063  # the controller's gRPC extension server (ai-gateway-helm values.yaml service)

# Scorer weights of the EPP's default profile (routerlib templates/_config.yaml:19-88, equal to the binary's
# built-in default pkg/epp/config/loader/defaults.go:46-100): prefix affinity counts most, then queue and KV use.
SCORER_WEIGHTS: dict[str, int] = {"queue-scorer": 2, "kv-cache-utilization-scorer": 2, "prefix-cache-scorer": 3}
# `lora-affinity-scorer` is not in the default profile (scorer/loraaffinity/lora_affinity.go:29-103): it prefers a
# pod that already holds the requested adapter (1.0), then one with a free adapter slot (0.8).
LORA_AFFINITY_WEIGHT = 1

LANE_PRIORITY: dict[Lane, int] = {
    # Interactive requests are never shed by the EPP's admission; batch requests are, first, when every pod is
    # saturated (priority < 0 is "sheddable", admission.go:65-129).
    Lane.INTERACTIVE: 1,
    Lane.BATCH: -1,
}


def pool_name(profile: ModelProfile) -> str:
    """The InferencePool of a profile: named like its Deployment and Service."""
    return profile.name


def epp_name(profile: ModelProfile) -> str:
    """The EPP's Deployment, Service, ServiceAccount and ConfigMap of a profile."""
    return f"{profile.name}-epp"


def objective_name(profile: ModelProfile) -> str:
    """The InferenceObjective every request of the profile names in `x-llm-d-inference-objective`."""
    return f"{profile.name}-{profile.lane}"


def _epp_labels(profile: ModelProfile) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": EPP_COMPONENT,
        "app.kubernetes.io/instance": epp_name(profile),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        PROFILE_LABEL: profile.name,
    }


def _epp_selector(profile: ModelProfile) -> dict[str, str]:
    return {"app.kubernetes.io/name": EPP_COMPONENT, PROFILE_LABEL: profile.name}


def _metadata(name: str, namespace: str, profile: ModelProfile) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": _epp_labels(profile)}


def inference_pool_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """The profile's stable vLLM pods as one InferencePool, whose endpoints its EPP picks.

    `endpointPickerRef.port` is the EPP Service's port (GIE v1.6.0 `api/v1/inferencepool_types.go:117-170`; a CEL
    rule requires it for kind Service). `FailClose` states what the pinned data path does when the EPP fails (see
    the module docstring); the CRD's default is the same, it is written out so a reader need not know it.
    """
    return {
        "apiVersion": f"{POOL_GROUP}/v1",
        "kind": "InferencePool",
        "metadata": {"name": pool_name(profile), "namespace": namespace, "labels": _epp_labels(profile)},
        "spec": {
            "selector": {"matchLabels": selector_labels(profile)},
            "targetPorts": [{"number": VLLM_PORT}],
            "endpointPickerRef": {
                "name": epp_name(profile),
                "port": {"number": EPP_GRPC_PORT},
                "failureMode": "FailClose",
            },
        },
    }


def inference_objective_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """The profile's lane as an EPP priority (llm-d-router v0.10.0 `apix/v1alpha2/inferenceobjective_types.go`)."""
    return {
        "apiVersion": OBJECTIVE_API,
        "kind": "InferenceObjective",
        "metadata": _metadata(objective_name(profile), namespace, profile),
        "spec": {
            "poolRef": {"group": POOL_GROUP, "kind": "InferencePool", "name": pool_name(profile)},
            "priority": LANE_PRIORITY[profile.lane],
        },
    }


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
        "metadata": _metadata(name, namespace, profile),
        "rules": rules,
    }
    binding: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(name, namespace, profile),
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
    account: Manifest = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(name, namespace, profile)}
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
        "metadata": _metadata(epp_name(profile), namespace, profile),
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
                "labelSelector": {"matchLabels": _epp_selector(profile)},
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(epp_name(profile), namespace, profile),
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": _epp_selector(profile)},
            "template": {"metadata": {"labels": _epp_labels(profile)}, "spec": pod},
        },
    }


def epp_service_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """The Service the InferencePool names: ext_proc (h2c as the chart labels it) and metrics."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(epp_name(profile), namespace, profile),
        "spec": {
            "type": "ClusterIP",
            "selector": _epp_selector(profile),
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
        "metadata": _metadata(epp_name(profile), namespace, profile),
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _epp_selector(profile)}},
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
        "metadata": _metadata(epp_name(profile), namespace, profile),
        "spec": {
            "podSelector": {"matchLabels": _epp_selector(profile)},
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
            "selector": {"matchLabels": _epp_selector(profile)},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s"}],
        },
    }


def cache_aware_manifests(
    profile: ModelProfile,
    namespace: str,
    *,
    replicas: int,
    gateway_namespace: str,
    monitoring_namespace: str,
    monitoring: bool = True,
    adapters: bool = False,
) -> list[Manifest]:
    """Every object cache-aware routing adds for one profile, in apply order."""
    manifests = [
        inference_pool_manifest(profile, namespace),
        inference_objective_manifest(profile, namespace),
        *epp_rbac_manifests(profile, namespace, replicas),
        epp_config_map_manifest(profile, namespace, adapters=adapters),
        epp_deployment_manifest(profile, namespace, replicas),
        epp_service_manifest(profile, namespace),
        epp_network_policy_manifest(
            profile, namespace, gateway_namespace=gateway_namespace, monitoring_namespace=monitoring_namespace
        ),
    ]
    if replicas > 1:
        manifests.append(epp_disruption_budget_manifest(profile, namespace))
    if monitoring:
        manifests.append(epp_pod_monitor_manifest(profile, namespace))
    return manifests


CRD_FILES = (
    "gateway-api-inference-extension/inference.networking.k8s.io_inferencepools.yaml",
    "llm-d-router/llm-d.ai_inferenceobjectives.yaml",
)


def crd_manifests() -> list[Manifest]:
    """The InferencePool and InferenceObjective CRDs, as vendored: no chart installs them at the pinned versions
    (the AI Gateway's CRD chart holds only its own kinds), and Envoy Gateway must find the InferencePool kind
    before it starts watching it as a custom backend."""
    from llmscale.k8s.schema import CRD_DIR

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents = [yaml.load((CRD_DIR / relative).read_text(encoding="utf-8"), Loader=loader) for relative in CRD_FILES]
    # The files carry an empty `status` (controller-gen's output); the API server owns it.
    return [{key: value for key, value in crd.items() if key != "status"} for crd in documents]


def pool_backend_ref(profile: ModelProfile) -> Manifest:
    """An HTTPRoute backendRef to the profile's InferencePool (no port: the pool names its target ports)."""
    return {"group": POOL_GROUP, "kind": "InferencePool", "name": pool_name(profile)}


def objective_header_filter(profile: ModelProfile) -> Manifest:
    """The HTTPRoute filter that names the profile's InferenceObjective on every request it forwards.

    `set`, not `add`: a client cannot raise its own priority by sending the header itself.
    """
    return {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": OBJECTIVE_HEADER, "value": objective_name(profile)}]},
    }


def envoy_gateway_values() -> Manifest:
    """Envoy Gateway Helm values that hand InferencePool backends to the Envoy AI Gateway controller.

    From envoyproxy/ai-gateway v1.1.0 `manifests/envoy-gateway-values.yaml:20-57` (the Backend API and the
    extension manager's xDS hooks) and `examples/inference-pool/envoy-gateway-values-addon.yaml:21-28` (the
    InferencePool custom backend). Envoy Gateway reads its configuration only at start, and its chart puts no
    checksum of it on the pod (gateway-helm v1.9.0 `templates/envoy-gateway-deployment.yaml`): the annotation
    below changes with the configuration, so a change rolls the controller instead of waiting for a manual
    `kubectl rollout restart`.
    """
    envoy_gateway: Manifest = {
        "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
        "provider": {"type": "Kubernetes"},
        "extensionApis": {"enableEnvoyPatchPolicy": True, "enableBackend": True},
        "extensionManager": {
            "hooks": {
                "xdsTranslator": {
                    "translation": {
                        "listener": {"includeAll": True},
                        "route": {"includeAll": True},
                        "cluster": {"includeAll": True},
                        "secret": {"includeAll": True},
                    },
                    "post": ["Translation", "Cluster", "Route"],
                }
            },
            "service": {
                "fqdn": {
                    "hostname": f"{AI_GATEWAY_CONTROLLER}.{AI_GATEWAY_NAMESPACE}.svc.cluster.local",
                    "port": AI_GATEWAY_EXTENSION_PORT,
                }
            },
            "backendResources": [{"group": POOL_GROUP, "kind": "InferencePool", "version": "v1"}],
        },
    }
    digest = hashlib.sha256(json.dumps(envoy_gateway, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "config": {"envoyGateway": envoy_gateway},
        "deployment": {"pod": {"annotations": {"llmscale.io/envoy-gateway-config": digest}}},
    }


def ai_gateway_values(gateway_namespace: str) -> Manifest:
    """ai-gateway-helm values: Envoy Gateway's namespace, where the chart binds the InferencePool reader role.

    ai-gateway-helm v1.1.0 `templates/envoy_gateway_cluster_role_for_inference_pool.yaml` grants get/list/watch on
    InferencePools to ServiceAccount `envoy-gateway` in `envoyGateway.namespace`; Envoy Gateway needs it to
    resolve an HTTPRoute's InferencePool backend.
    """
    return {"envoyGateway": {"namespace": gateway_namespace}}
