"""The parts of one vLLM replica's pod that its Deployment assembles: its share of a GPU node's CPU and memory,
the user it runs as, its model-cache volume, its health probes and its spread over nodes and zones.
"""

from __future__ import annotations

import math

from llmscale.config.models import ModelCacheType, ModelProfile, StackConfig
from llmscale.k8s.labels import selector_labels
from llmscale.k8s.namespace import MODEL_CACHE_CLAIM
from llmscale.k8s.objects import Manifest
from llmscale.serving.vllm_args import MODELS_DIR
from llmscale.sizing import catalog

# A UID above 10000 cannot collide with a user of the node (CIS/checkov CKV_K8S_40). The vLLM image has no
# passwd entry for it: USER and HOME stand in for one (see `identity_env`).
RUN_AS = 10001
RUN_AS_NAME = "vllm"
HOME = "/home/vllm"
MODEL_MOUNT = MODELS_DIR


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


def model_cache_volume(config: StackConfig) -> Manifest:
    """The pod volume that holds the model cache, of the stack's `kubernetes.modelCache.type`: the shared
    claim (`pvc`), a node-local directory (`hostPath`) or the pod's own scratch space."""
    cache = config.kubernetes.model_cache
    if cache.type is ModelCacheType.PVC:
        return {"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM}}
    if cache.type is ModelCacheType.HOST_PATH:
        # Node-local cache: weights survive pod restarts on the same node.
        return {"name": "model-cache", "hostPath": {"path": cache.host_path, "type": "DirectoryOrCreate"}}
    return {"name": "model-cache", "emptyDir": {"sizeLimit": f"{cache.size_gb}Gi"}}


def http_probe(path: str, period: int, failures: int, timeout: int = 5) -> Manifest:
    """A probe that GETs `path` on the vLLM container's `http` port every `period` seconds and gives up after
    `failures` misses in a row."""
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def topology_spread(config: StackConfig, profile: ModelProfile, canary: bool) -> list[Manifest]:
    """How a profile track's replicas spread: over nodes when they can, and over zones without exception when
    the stack asks for it (`kubernetes.topologySpread`)."""
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
