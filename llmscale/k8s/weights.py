"""How a Deployment's replicas get their weights and adapters: streamed from the object store, copied into the
model cache by init containers, or downloaded, and how long a start and a rollout may take on that path.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale import versions
from llmscale.config.models import ModelProfile, StackConfig
from llmscale.k8s.objects import Manifest, restricted_container_security
from llmscale.k8s.replica import MODEL_MOUNT
from llmscale.serving.loading import (
    LoadPath,
    adapter_sizes,
    hub_adapters_gib,
    load_path,
    local_copy,
    object_store,
    rollout_seconds,
    startup_window_seconds,
)
from llmscale.serving.vllm_args import adapter_dir
from llmscale.sizing.model_size import weights_gib

# Where the AWS CLI of a copying init container may write (its HOME): the pod's /tmp volume.
COPY_HOME = "/tmp"


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


def copy_container(name: str, source: str, destination: str, aws_region: str | None) -> Manifest:
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
        "securityContext": restricted_container_security(),
        "volumeMounts": [
            {"name": "model-cache", "mountPath": MODEL_MOUNT},
            {"name": "tmp", "mountPath": COPY_HOME},
        ],
    }
