"""GPU nodes and the cluster autoscaler: how long capacity takes to arrive, and when it goes away.

Cluster autoscaler 1.35.2 (kubernetes/autoscaler tag cluster-autoscaler-1.35.2, `cluster-autoscaler/config/
flags/flags.go`, `config/const.go`, `core/scaledown/actuation/drain.go`):

- it looks every `--scan-interval` (10 s) for pods that cannot be scheduled and grows a node group (up to its
  maximum) with the nodes they need, counting nodes already on their way; `--balance-similar-node-groups`
  spreads the new nodes over the per-zone groups;
- a node whose requested share of GPUs is below `--scale-down-gpu-utilization-threshold` (0.5) and whose pods
  fit elsewhere is unneeded; after `--scale-down-unneeded-time` (10 min) it is drained and deleted, never below
  the group's minimum, and not within `--scale-down-delay-after-add` (10 min) of a scale-up;
- a drain evicts each pod with a grace period of `min(terminationGracePeriodSeconds,
  --max-graceful-termination-sec)` (`Evictor.evictPod`).

How long a replica takes to serve is added up stage by stage from the constants below: node boot, image pull,
weights from their source, engine start. They are estimates (UNVERIFIED: nothing in this repository measured
them), kept in one place so that they can be calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_READY_SECONDS = 180.0  # EC2 GPU instance launch, boot, kubelet registration, NVIDIA device plugin up
HOST_BOOT_SECONDS = 90.0  # a stopped single host: start, boot, docker compose up
IMAGE_PULL_SECONDS = 120.0  # vllm/vllm-openai (~20 GiB unpacked) onto a node that has never pulled it
HUB_GB_PER_SECOND = 0.2  # weights downloaded from the Hugging Face Hub
S3_GB_PER_SECOND = 1.0  # weights streamed from same-region S3 (--load-format runai_streamer)
DISK_GB_PER_SECOND = 125 / 1024  # weights read from a gp3 volume at its baseline 125 MiB/s (AWS gp3 baseline)
SHARED_GB_PER_SECOND = 0.25  # weights read from a shared ReadWriteMany volume
GPU_LOAD_GB_PER_SECOND = 2.0  # weights copied from host memory into the GPU
ENGINE_START_SECONDS = 60.0  # vLLM engine start: KV cache profiling, CUDA graph capture


@dataclass(eq=False, slots=True)
class Node:
    """A GPU node (or the single host): its group and zone, GPUs in use, and what it has cached."""

    group: int
    zone: str
    gpus: int
    ready_at: float
    used: int = 0
    images: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    unneeded_since: float | None = None
    deleting: bool = False
    launched_at: float = 0.0

    def ready(self, now: float) -> bool:
        """Whether pods can start on it now."""
        return self.ready_at <= now and not self.deleting

    @property
    def free(self) -> int:
        """GPUs not held by any pod."""
        return self.gpus - self.used


def load_seconds(weights_gb: float, source: str) -> float:
    """Seconds to bring the weights into the GPU from a source: hub, s3, disk or shared."""
    rate = {
        "hub": HUB_GB_PER_SECOND,
        "s3": S3_GB_PER_SECOND,
        "disk": DISK_GB_PER_SECOND,
        "shared": SHARED_GB_PER_SECOND,
    }[source]
    into_gpu = 0.0 if source == "s3" else weights_gb / GPU_LOAD_GB_PER_SECOND  # the streamer loads as it reads
    return weights_gb / rate + into_gpu


def weights_source(load_path: str, model_cache: str, cached_on_node: bool, cached_on_site: bool) -> str:
    """Where a starting replica reads its weights from.

    `--load-format runai_streamer` streams from S3 every time; a local path is read from disk; a Hub model is
    downloaded into the pod's own emptyDir on every start, into a hostPath cache once per node, into a shared
    claim once per site, and on the single host once per disk.
    """
    if load_path == "s3":
        return "s3"
    if load_path == "local" or model_cache == "host":
        return "disk"
    if model_cache == "hostPath" and cached_on_node:
        return "disk"
    if model_cache == "pvc" and cached_on_site:
        return "shared"
    return "hub"


def start_seconds(weights_gb: float, source: str, image_cached: bool, startup_budget: float) -> tuple[float, bool]:
    """Seconds from scheduling until a replica is ready, and whether the startup probe restarted it once.

    A start longer than the startup probe allows (`failureThreshold × periodSeconds`) is killed by the kubelet
    and restarted in the same pod: the image and an emptyDir download survive, so the second start reads the
    weights from disk.
    """
    pull = 0.0 if image_cached else IMAGE_PULL_SECONDS
    first = pull + load_seconds(weights_gb, source) + ENGINE_START_SECONDS
    if first <= startup_budget:
        return first, False
    retry = load_seconds(weights_gb, "disk" if source in ("hub", "disk") else source) + ENGINE_START_SECONDS
    return startup_budget + retry, True


def unneeded(node: Node, evictable_gpus: int, free_elsewhere: int, threshold: float) -> bool:
    """Whether the autoscaler counts a node as unneeded: little of it in use, and what is can move elsewhere."""
    if node.gpus <= 0:
        return False
    in_use = node.used
    if in_use == 0:
        return True
    return in_use / node.gpus < threshold and evictable_gpus == in_use and evictable_gpus <= free_elsewhere
