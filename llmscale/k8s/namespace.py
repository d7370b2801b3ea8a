"""The namespace-wide objects every profile's vLLM pods share: the namespace with its Pod Security labels, one
PriorityClass per lane, vLLM's ServiceAccount, the shared model-cache claim and the ingress NetworkPolicy.
"""

from __future__ import annotations

from llmscale.config.models import ModelCacheType, RoutingStrategy, StackConfig
from llmscale.k8s.labels import PRIORITY_CLASSES
from llmscale.k8s.objects import Manifest, object_metadata
from llmscale.serving.vllm_args import VLLM_PORT

SERVICE_ACCOUNT = "vllm"
MODEL_CACHE_CLAIM = "model-cache"


def namespace_manifest(config: StackConfig) -> Manifest:
    """The namespace every serving object lives in (never `default`), with Pod Security admission labels.

    vLLM runs as a non-root user without privileges, which the baseline standard admits; a node-local
    (hostPath) model cache is the one thing baseline forbids, so that choice lowers enforcement to privileged
    while audit and warnings stay on restricted.
    """
    host_path = config.kubernetes.model_cache.type is ModelCacheType.HOST_PATH
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": object_metadata(
            config.kubernetes.namespace,
            None,
            {
                "pod-security.kubernetes.io/enforce": "privileged" if host_path else "baseline",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        ),
    }


def priority_class_manifests() -> list[Manifest]:
    """One PriorityClass per lane: under GPU pressure the scheduler keeps interactive replicas over batch ones."""
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": object_metadata(name, None),
            "value": value,
            "globalDefault": False,
            "preemptionPolicy": "PreemptLowerPriority",
            "description": f"llmscale {lane} lane",
        }
        for lane, (name, value) in PRIORITY_CLASSES.items()
    ]


def service_account_manifest(config: StackConfig) -> Manifest:
    """The identity of vLLM pods; it talks to no Kubernetes API, so no token is mounted."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_metadata(SERVICE_ACCOUNT, config.kubernetes.namespace),
        "automountServiceAccountToken": False,
    }


def model_cache_claim_manifest(config: StackConfig) -> Manifest | None:
    """A ReadWriteMany claim shared by every replica when the model cache is `pvc`, else None."""
    cache = config.kubernetes.model_cache
    if cache.type is not ModelCacheType.PVC:
        return None
    spec: Manifest = {
        # Replicas of a profile run on different nodes, so one claim must mount on many nodes.
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": f"{cache.size_gb}Gi"}},
    }
    if cache.storage_class:
        spec["storageClassName"] = cache.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": object_metadata(MODEL_CACHE_CLAIM, config.kubernetes.namespace),
        "spec": spec,
    }


def network_policy_manifest(config: StackConfig) -> Manifest:
    """vLLM pods accept traffic only from the gateway and the monitoring namespace, only on the vLLM port."""
    k8s = config.kubernetes
    sources: list[Manifest] = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
        for namespace in (k8s.gateway_namespace, k8s.monitoring_namespace)
    ]
    if config.routing.strategy is RoutingStrategy.CACHE_AWARE:
        # The endpoint pickers, in this namespace, read every vLLM pod's /metrics to score it.
        sources.append({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "endpoint-picker"}}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_metadata("vllm-ingress", k8s.namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": VLLM_PORT}]}],
        },
    }
