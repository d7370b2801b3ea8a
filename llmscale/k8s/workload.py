"""vLLM workloads on Kubernetes: namespace-wide objects and, per model profile, Deployment, Service and PDB.

Every function returns a plain manifest (the dict `kubectl apply` takes), so tests and `llmscale render` see
exactly what the components create.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmscale import versions
from llmscale.config.models import ModelCacheType, ModelProfile, RoutingStrategy, StackConfig
from llmscale.k8s.labels import PRIORITY_CLASSES, labels, selector_labels, workload_name
from llmscale.serving.loading import (
    PROBE_PERIOD_SECONDS,
    LoadPath,
    adapter_sizes,
    hub_adapters_gib,
    load_path,
    local_copy,
    object_store,
    rollout_seconds,
    startup_window_seconds,
)
from llmscale.serving.vllm_args import (
    MODELS_DIR,
    PRE_STOP_SECONDS,
    VLLM_PORT,
    adapter_dir,
    termination_grace_seconds,
    vllm_args,
)
from llmscale.sizing import catalog
from llmscale.sizing.model_size import weights_gib

Manifest = dict[str, Any]

SERVICE_ACCOUNT = "vllm"
HF_TOKEN_SECRET = "hf-token"
MODEL_CACHE_CLAIM = "model-cache"
# A UID above 10000 cannot collide with a user of the node (CIS/checkov CKV_K8S_40). The vLLM image has no
# passwd entry for it: USER and HOME stand in for one (see `identity_env`).
RUN_AS = 10001
RUN_AS_NAME = "vllm"
HOME = "/home/vllm"
MODEL_MOUNT = MODELS_DIR
HF_TOKEN_MOUNT = "/var/run/secrets/huggingface"
# Where the AWS CLI of a copying init container may write (its HOME): the pod's /tmp volume.
COPY_HOME = "/tmp"


def _metadata(name: str, namespace: str | None, extra_labels: dict[str, str] | None = None) -> Manifest:
    metadata: Manifest = {"name": name, "labels": {"app.kubernetes.io/part-of": "llmscale", **(extra_labels or {})}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


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
        "metadata": _metadata(
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
            "metadata": _metadata(name, None),
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
        "metadata": _metadata(SERVICE_ACCOUNT, config.kubernetes.namespace),
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
        "metadata": _metadata(MODEL_CACHE_CLAIM, config.kubernetes.namespace),
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
        "metadata": _metadata("vllm-ingress", k8s.namespace),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": VLLM_PORT}]}],
        },
    }


def replica_resources(profile: ModelProfile, config: StackConfig) -> Manifest:
    """CPU and memory for one replica: its share of a GPU node, less room for the node's own daemons.

    GPUs go in limits only (Kubernetes sets the request equal). There is no CPU limit: throttling the
    tokenizer and scheduler threads costs latency, and the GPU is the scarce resource.
    """
    node = catalog.lookup(config.gpu.instance_type)
    gpus = config.gpu.gpus
    share = profile.gpus_per_replica / gpus
    cpu = (
        profile.cpu
        if profile.cpu is not None
        else (max(1.0, math.floor((node.vcpus - 1) * share * 0.9)) if node else 4.0)
    )
    memory = (
        profile.memory_gi
        if profile.memory_gi is not None
        else (max(8, math.floor((node.memory_gib - 4) * share * 0.85)) if node else 32)
    )
    return {
        "requests": {"cpu": f"{cpu:g}", "memory": f"{memory}Gi"},
        "limits": {"memory": f"{memory}Gi", "nvidia.com/gpu": str(profile.gpus_per_replica)},
    }


def _model_cache_volume(config: StackConfig) -> Manifest:
    cache = config.kubernetes.model_cache
    if cache.type is ModelCacheType.PVC:
        return {"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM}}
    if cache.type is ModelCacheType.HOST_PATH:
        # Node-local cache: weights survive pod restarts on the same node.
        return {"name": "model-cache", "hostPath": {"path": cache.host_path, "type": "DirectoryOrCreate"}}
    return {"name": "model-cache", "emptyDir": {"sizeLimit": f"{cache.size_gb}Gi"}}


def _probe(path: str, period: int, failures: int, timeout: int = 5) -> Manifest:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def _topology_spread(config: StackConfig, profile: ModelProfile, canary: bool) -> list[Manifest]:
    selector = {"matchLabels": selector_labels(profile, canary)}
    constraints = [
        # Spread replicas over nodes when possible, so one node failure takes as few as possible.
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
        },
    ]
    if config.kubernetes.topology_spread:
        constraints.append(
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": selector,
            }
        )
    return constraints


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


def identity_env() -> list[Manifest]:
    """Who vLLM runs as, for libraries that ask and would otherwise look the UID up in /etc/passwd.

    `getpass.getuser()` reads LOGNAME, USER, LNAME, USERNAME and only then `pwd.getpwuid`, which raises for a
    UID without a passwd entry (CPython Lib/getpass.py); vLLM 0.33.0 calls it unguarded for the FlashAttention
    CuTe DSL cache (vllm/vllm_flash_attn/cute/cache_utils.py) and torch 2.14.0 for the vendored quack kernel
    cache (torch/_vendor/quack/cache/jit.py); torch inductor falls back to `uid_N`
    (torch/_inductor/runtime/cache_dir_utils.py). `~` comes from HOME (os.path.expanduser), for vLLM's cache
    root (vllm/envs.py VLLM_CACHE_ROOT) and Triton 3.8's cache (triton/knobs.py cache.home_dir).
    """
    return [
        {"name": "HOME", "value": HOME},
        {"name": "USER", "value": RUN_AS_NAME},
        {"name": "LOGNAME", "value": RUN_AS_NAME},
    ]


@dataclass(frozen=True)
class WeightsPlan:
    """How one Deployment's replicas get their weights and adapters, and how long a start may take."""

    path: LoadPath
    model_source: str | None  # the local copy vLLM loads instead of the object-store model, when copied
    copies: tuple[tuple[str, str, str], ...]  # (init container name, source, destination) for `aws s3 sync`
    startup_window_seconds: int
    rollout_seconds: int


def weights_plan(config: StackConfig, profile: ModelProfile) -> WeightsPlan:
    """Streamed, copied or downloaded weights (`kubernetes.modelCache.streamWeights`), the model-store adapters
    to copy, and the startup probe's and the rollout's windows for that path and the model's size."""
    path = load_path(profile.model, stream=config.kubernetes.model_cache.stream_weights)
    weights = weights_gib(profile)
    sizes = adapter_sizes(profile)
    copies: list[tuple[str, str, str]] = []
    copy_gib = 0.0
    model_source = None
    if object_store(profile.model) and path is LoadPath.DISK:
        model_source = local_copy(profile.model)
        copies.append(("copy-model", profile.model, model_source))
        copy_gib += weights if weights is not None else 0.0
    for adapter in profile.adapters:
        if adapter.store_path is not None:
            copies.append((f"copy-adapter-{adapter.name}", adapter.source, adapter_dir(adapter)))
            copy_gib += sizes[adapter.name]
    window = startup_window_seconds(weights, path, hub_gib=hub_adapters_gib(profile))
    return WeightsPlan(path, model_source, tuple(copies), window, rollout_seconds(window, copy_gib))


def _copy_container(name: str, source: str, destination: str, aws_region: str | None) -> Manifest:
    """An init container that copies an object-store prefix into the model cache with the AWS CLI.

    It runs as the pod's user with the pod's identity: the EKS Pod Identity webhook injects its credentials into
    init containers as into containers (aws/amazon-eks-pod-identity-webhook `pkg/handler/handler.go`
    `getPodSpecPatch`, which patches `InitContainers` first), and the model store's read policy is the role's.
    `aws s3 sync` copies only what changed, so a cache kept across restarts (hostPath, pvc) is copied once. A
    `store://` source is resolved to the site's bucket by the serving layer, as the model argument is.
    """
    env = [{"name": "HOME", "value": COPY_HOME}]
    if aws_region:
        env.append({"name": "AWS_REGION", "value": aws_region})
    return {
        "name": name,
        "image": versions.AWS_CLI_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["s3", "sync", source.rstrip("/") + "/", destination + "/", "--only-show-errors"],
        "env": env,
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "model-cache", "mountPath": MODEL_MOUNT},
            {"name": "tmp", "mountPath": COPY_HOME},
        ],
    }


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
        _model_cache_volume(config),
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
        "startupProbe": _probe("/health", PROBE_PERIOD_SECONDS, plan.startup_window_seconds // PROBE_PERIOD_SECONDS),
        "readinessProbe": _probe("/health", 5, 3),
        "livenessProbe": _probe("/health", 15, 4, timeout=10),
        # Let the gateway stop sending before vLLM stops accepting.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
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
    init_containers += [_copy_container(*copy, aws_region) for copy in plan.copies]
    replicas = profile.canary.replicas if canary and profile.canary else max(profile.min_replicas, 1)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            **_metadata(workload_name(profile, canary), namespace),
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
                    "topologySpreadConstraints": _topology_spread(config, profile, canary),
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
            **_metadata(workload_name(profile, canary), config.kubernetes.namespace),
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
        "metadata": {**_metadata(workload_name(profile), config.kubernetes.namespace), "labels": labels(profile)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(profile)},
            # A crash-looping replica must not hold up a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
