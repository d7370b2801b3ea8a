"""vLLM workloads on Kubernetes, per model profile: the Deployment (or its canary's), the Service and the PDB.

Every function returns a plain manifest (the dict `kubectl apply` takes), so tests and `llmscale render` see
exactly what the components create. The namespace-wide objects are in `llmscale.k8s.namespace`, the parts of a
replica's pod in `llmscale.k8s.replica`, and how replicas get their weights in `llmscale.k8s.weights`.
"""

from __future__ import annotations

from llmscale import versions
from llmscale.config.models import ModelCacheType, ModelProfile, StackConfig
from llmscale.k8s.labels import PRIORITY_CLASSES, labels, selector_labels, workload_name
from llmscale.k8s.namespace import SERVICE_ACCOUNT
from llmscale.k8s.objects import Manifest, object_metadata, restricted_container_security
from llmscale.k8s.replica import (
    HOME,
    MODEL_MOUNT,
    RUN_AS,
    http_probe,
    identity_env,
    model_cache_volume,
    replica_resources,
    topology_spread,
)
from llmscale.k8s.weights import copy_container, weights_plan
from llmscale.serving.loading import PROBE_PERIOD_SECONDS
from llmscale.serving.vllm_args import PRE_STOP_SECONDS, VLLM_PORT, termination_grace_seconds, vllm_args

HF_TOKEN_SECRET = "hf-token"
HF_TOKEN_MOUNT = "/var/run/secrets/huggingface"


def canary_profile(profile: ModelProfile) -> ModelProfile:
    """The profile as its canary serves it: the canary's image and model, the same name and limits."""
    assert profile.canary is not None
    return profile.model_copy(
        update={
            "image": profile.canary.image or profile.image,
            "model": profile.canary.model or profile.model,
            "canary": None,
        }
    )


def deployment_manifest(
    config: StackConfig,
    profile: ModelProfile,
    *,
    canary: bool = False,
    has_hf_token: bool = False,
    standby: bool = False,
    aws_region: str | None = None,
) -> Manifest:
    """The vLLM Deployment of a profile (or of its canary): probes, GPU limits, tolerations, tight security."""
    served = canary_profile(profile) if canary else profile
    namespace = config.kubernetes.namespace
    plan = weights_plan(config, served)
    env = [
        *identity_env(),
        {"name": "HF_HOME", "value": f"{MODEL_MOUNT}/huggingface"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
    ]
    if aws_region:
        # The model store's S3 client (Run:ai streamer) needs the region; credentials come from Pod Identity.
        env.append({"name": "AWS_REGION", "value": aws_region})
    mounts = [
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "home", "mountPath": HOME},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "model-cache", "mountPath": MODEL_MOUNT},
    ]
    volumes: list[Manifest] = [
        # Tensor-parallel workers exchange tensors through shared memory; the runtime's 64 MiB is too small.
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{4 * served.gpus_per_replica}Gi"}},
        # The root filesystem is read-only: compile caches (Triton, torch, FlashInfer) go to HOME and /tmp.
        {"name": "home", "emptyDir": {"sizeLimit": "20Gi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}},
        model_cache_volume(config),
    ]
    if has_hf_token:
        env.append({"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_MOUNT}/token"})
        mounts.append({"name": "hf-token", "mountPath": HF_TOKEN_MOUNT, "readOnly": True})
        volumes.append(
            {
                "name": "hf-token",
                "secret": {
                    "secretName": HF_TOKEN_SECRET,
                    "defaultMode": 0o440,
                    "items": [{"key": "token", "path": "token"}],
                },
            }
        )
    container = {
        "name": "vllm",
        "image": served.image or versions.VLLM_IMAGE,
        # The tag is pinned and the image is many GB: pulling it again on every start only slows cold starts.
        "imagePullPolicy": "IfNotPresent",
        "command": ["vllm", "serve"],
        "args": vllm_args(served, model_source=plan.model_source),
        "ports": [{"name": "http", "containerPort": VLLM_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": replica_resources(served, config),
        # Long enough for the weights' size and path (llmscale.serving.loading), not a constant.
        "startupProbe": http_probe(
            "/health", PROBE_PERIOD_SECONDS, plan.startup_window_seconds // PROBE_PERIOD_SECONDS
        ),
        "readinessProbe": http_probe("/health", 5, 3),
        "livenessProbe": http_probe("/health", 15, 4, timeout=10),
        # Let the gateway stop sending before vLLM stops accepting.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": restricted_container_security(),
        "volumeMounts": mounts,
    }
    init_containers = []
    if config.kubernetes.model_cache.type is ModelCacheType.HOST_PATH:
        # The kubelet creates a hostPath directory owned by root, and fsGroup does not apply to hostPath: hand
        # it to vLLM's user first. This one container runs as root with only CAP_CHOWN (the namespace enforces
        # the privileged level for hostPath anyway).
        init_containers.append(
            {
                "name": "model-cache-owner",
                "image": versions.BUSYBOX_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                # Recursive: a cache written under an earlier UID must become vLLM's again (a few hundred files).
                "command": ["chown", "-R", f"{RUN_AS}:{RUN_AS}", MODEL_MOUNT],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "16Mi"}},
                "securityContext": {
                    "runAsUser": 0,
                    "runAsNonRoot": False,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
                },
                "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_MOUNT}],
            }
        )
    init_containers += [copy_container(*copy, aws_region) for copy in plan.copies]
    replicas = profile.canary.replicas if canary and profile.canary else max(profile.min_replicas, 1)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            **object_metadata(workload_name(profile, canary), namespace),
            "labels": labels(profile, canary, standby),
            # pulumi-kubernetes waits 10 minutes for a Deployment by default: too short for a cold GPU start.
            "annotations": {"pulumi.com/timeoutSeconds": str(plan.rollout_seconds)},
        },
        "spec": {
            # The initial size: afterwards the autoscaler owns `replicas` (the component ignores changes to it).
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            # A new node, the image, copies of weights and adapters, then the startup probe's window.
            "progressDeadlineSeconds": plan.rollout_seconds,
            "selector": {"matchLabels": selector_labels(profile, canary)},
            # Never fewer serving replicas than wanted during a rollout: start the new one, then stop the old.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels(profile, canary, standby)},
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "automountServiceAccountToken": False,
                    "priorityClassName": PRIORITY_CLASSES[profile.lane][0],
                    "nodeSelector": dict(config.kubernetes.gpu_node_selector),
                    "tolerations": [
                        {"key": config.kubernetes.gpu_taint_key, "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "topologySpreadConstraints": topology_spread(config, profile, canary),
                    "terminationGracePeriodSeconds": termination_grace_seconds(served),
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "fsGroupChangePolicy": "OnRootMismatch",
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    **({"initContainers": init_containers} if init_containers else {}),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def service_manifest(config: StackConfig, profile: ModelProfile, *, canary: bool = False) -> Manifest:
    """The ClusterIP Service in front of a profile's replicas (or its canary's)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            **object_metadata(workload_name(profile, canary), config.kubernetes.namespace),
            "labels": labels(profile, canary),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(profile, canary),
            "ports": [{"name": "http", "port": VLLM_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pod_disruption_budget_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """At most one replica of a profile evicted at a time: drains always proceed, one node at a time.

    A `minAvailable` equal to the minimum would block every drain when the profile runs at its minimum.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {**object_metadata(workload_name(profile), config.kubernetes.namespace), "labels": labels(profile)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(profile)},
            # A crash-looping replica must not hold up a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
