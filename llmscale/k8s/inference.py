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

from llmscale.config.models import Lane, ModelProfile
from llmscale.k8s.labels import selector_labels
from llmscale.k8s.picker import (
    EPP_GRPC_PORT,
    POOL_GROUP,
    epp_config_map_manifest,
    epp_deployment_manifest,
    epp_disruption_budget_manifest,
    epp_name,
    epp_network_policy_manifest,
    epp_pod_monitor_manifest,
    epp_rbac_manifests,
    epp_service_manifest,
    picker_labels,
    picker_metadata,
    pool_name,
)
from llmscale.serving.vllm_args import VLLM_PORT

Manifest = dict[str, Any]

OBJECTIVE_API = "llm-d.ai/v1alpha2"
OBJECTIVE_HEADER = "x-llm-d-inference-objective"  # llm-d-router v0.10.0 pkg/epp/metadata/consts.go (ObjectiveKey)
AI_GATEWAY_CONTROLLER = "ai-gateway-controller"  # ai-gateway-helm values.yaml controller.fullnameOverride
AI_GATEWAY_NAMESPACE = "envoy-ai-gateway-system"
AI_GATEWAY_EXTENSION_PORT = 1063  # the controller's gRPC extension server (ai-gateway-helm values.yaml service)

LANE_PRIORITY: dict[Lane, int] = {
    # Interactive requests are never shed by the EPP's admission; batch requests are, first, when every pod is
    # saturated (priority < 0 is "sheddable", admission.go:65-129).
    Lane.INTERACTIVE: 1,
    Lane.BATCH: -1,
}


def objective_name(profile: ModelProfile) -> str:
    """The InferenceObjective every request of the profile names in `x-llm-d-inference-objective`."""
    return f"{profile.name}-{profile.lane}"


def inference_pool_manifest(profile: ModelProfile, namespace: str) -> Manifest:
    """The profile's stable vLLM pods as one InferencePool, whose endpoints its EPP picks.

    `endpointPickerRef.port` is the EPP Service's port (GIE v1.6.0 `api/v1/inferencepool_types.go:117-170`; a CEL
    rule requires it for kind Service). `FailClose` states what the pinned data path does when the EPP fails (see
    the module docstring); the CRD's default is the same, it is written out so a reader need not know it.
    """
    return {
        "apiVersion": f"{POOL_GROUP}/v1",
        "kind": "InferencePool",
        "metadata": {"name": pool_name(profile), "namespace": namespace, "labels": picker_labels(profile)},
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
        "metadata": picker_metadata(objective_name(profile), namespace, profile),
        "spec": {
            "poolRef": {"group": POOL_GROUP, "kind": "InferencePool", "name": pool_name(profile)},
            "priority": LANE_PRIORITY[profile.lane],
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
