"""How a replica's weights reach the GPU, and how long its start may take before the probe gives up on it.

Three paths:

- `hub`: vLLM downloads the weights from the Hugging Face Hub into the model cache, then reads them from disk;
- `stream`: vLLM streams safetensors from S3 straight into GPU memory with the Run:ai model streamer
  (`--load-format runai_streamer`); vLLM 0.33 switches to it by itself for an `s3://` model and refuses any other
  explicit format for one (`vllm/config/vllm.py`);
- `disk`: the weights are already on a local disk (a local path, or a model-store copy an init container made
  before vLLM started, which the startup probe does not wait for).

The startup probe's window is a margin times the seconds the path needs for the model's size: transfer, read
from disk, and the engine's own start. The figures and where they come from:

- S3 streaming, 0.5 GB/s: run-ai/runai-model-streamer 0.15.9 `docs/src/benchmarks.md` Appendix C, 15 GB
  (Llama-3-8B) from same-region S3 in 28.24 s at concurrency 4 (0.53 GB/s); 8.45 s at 16 and 4.88 s at 32.
  vLLM leaves the concurrency at the streamer's default for object storage, 8 (`docs/src/env-vars.md`
  RUNAI_STREAMER_CONCURRENCY), between the first two points: 0.5 GB/s is the floor.
- Disk, 125 MiB/s: the baseline throughput of a gp3 volume, which llmscale's GPU nodes and single host use
  without provisioned throughput (AWS EBS volume types, gp3: 3,000 IOPS and 125 MiB/s baseline). The same
  benchmark read the safetensors from a gp3 volume provisioned with 1,000 MiB/s at 0.31 GB/s with vLLM's own
  loader (47.99 s, Appendix A), so the volume, not the loader, bounds it.
- Hub, 50 MiB/s: an allowance; no published per-download figure was found (UNVERIFIED). The weights are written
  to the cache and read back, so the disk figure applies once more.
- Engine start, 120 s: an allowance. The benchmark's vLLM 0.5.5 took 18-21 s from loaded weights to ready
  (Appendix D: 66.13 s ready vs 47.99 s load on gp3; 35.08 vs 14.34 with the streamer); vLLM 0.33 also compiles
  the model with torch.compile and captures CUDA graphs at start, with empty caches in a new pod (UNVERIFIED).
- Margin 1.5, and at least 5 minutes: a slow start that would succeed is never killed, a hung one is found.

A model whose size llmscale cannot read from its name is taken as `UNKNOWN_WEIGHTS_GIB` (a 70B model in BF16).
"""

from __future__ import annotations

import math
from enum import StrEnum

from llmscale.config.models import ModelProfile
from llmscale.serving.lora import adapter_gib, model_shape
from llmscale.serving.vllm_args import MODEL_STORE_SCHEME, MODELS_DIR, store_path
from llmscale.sizing.model_size import parameters_billions

S3_STREAM_GIB_PER_SECOND = 0.5 * 1e9 / 2**30
DISK_GIB_PER_SECOND = 125 / 1024
HUB_GIB_PER_SECOND = 50 / 1024
ENGINE_START_SECONDS = 120
MARGIN = 1.5
MIN_WINDOW_SECONDS = 300
UNKNOWN_WEIGHTS_GIB = 140.0
UNKNOWN_PARAMS_BILLIONS = 70.0
PROBE_PERIOD_SECONDS = 10
# Before the probe runs at all: a GPU node joins (EC2 launch, boot, device plugin) and pulls the ~20 GiB vLLM
# image; allowances, as in the simulator (`llmscale.simulate.nodes`: 180 s and 120 s), doubled.
NODE_AND_IMAGE_SECONDS = 600
MIN_ROLLOUT_SECONDS = 3600  # never less than the hour llmscale gave a rollout before


class LoadPath(StrEnum):
    """Where a starting replica's weights come from."""

    HUB = "hub"
    STREAM = "stream"
    DISK = "disk"


def object_store(model: str) -> bool:
    """True for a model in an object store: an `s3://` URI or a `store://` model-store path."""
    return model.startswith(("s3://", MODEL_STORE_SCHEME))


def local_copy(model: str) -> str:
    """Where an object-store model is copied to in the model cache before vLLM starts, when it is not streamed."""
    path = store_path(model)
    if path is not None:
        return f"{MODELS_DIR}/store/{path.strip('/')}"
    return f"{MODELS_DIR}/s3/{model.removeprefix('s3://').strip('/')}"


def load_path(model: str, *, stream: bool) -> LoadPath:
    """The path of a model: streamed or copied from an object store, read from a local path, or downloaded."""
    if object_store(model):
        return LoadPath.STREAM if stream else LoadPath.DISK
    if model.startswith("/"):
        return LoadPath.DISK
    return LoadPath.HUB


def adapter_sizes(profile: ModelProfile) -> dict[str, float]:
    """GiB of each adapter of a profile on disk (an upper bound, `llmscale.serving.lora.adapter_gib`), by name."""
    params = parameters_billions(profile.model)
    shape = model_shape(params if params is not None else UNKNOWN_PARAMS_BILLIONS)
    return {adapter.name: adapter_gib(shape, adapter.effective_rank) for adapter in profile.adapters}


def hub_adapters_gib(profile: ModelProfile) -> float:
    """GiB of the adapters vLLM downloads from the Hub at start."""
    sizes = adapter_sizes(profile)
    return sum(sizes[adapter.name] for adapter in profile.adapters if adapter.store_path is None)


def load_seconds(weights_gib: float | None, path: LoadPath, *, hub_gib: float = 0.0) -> float:
    """Seconds from vLLM's start to ready: transfer, read from disk and engine start, without margin.

    `hub_gib` is what vLLM downloads from the Hub besides the weights (its adapters).
    """
    weights = UNKNOWN_WEIGHTS_GIB if weights_gib is None else weights_gib
    if path is LoadPath.STREAM:
        transfer = weights / S3_STREAM_GIB_PER_SECOND
    elif path is LoadPath.DISK:
        transfer = weights / DISK_GIB_PER_SECOND
    else:
        transfer = weights / HUB_GIB_PER_SECOND + weights / DISK_GIB_PER_SECOND
    return transfer + hub_gib / HUB_GIB_PER_SECOND + ENGINE_START_SECONDS


def startup_window_seconds(weights_gib: float | None, path: LoadPath, *, hub_gib: float = 0.0) -> int:
    """The startup probe's window: margin × `load_seconds`, at least 5 minutes, in whole probe periods."""
    window = max(MIN_WINDOW_SECONDS, MARGIN * load_seconds(weights_gib, path, hub_gib=hub_gib))
    return PROBE_PERIOD_SECONDS * math.ceil(window / PROBE_PERIOD_SECONDS)


def copy_seconds(gib: float) -> float:
    """Seconds an init container needs to copy this much from S3 onto the node's disk (bound by the disk)."""
    return gib / DISK_GIB_PER_SECOND


def rollout_seconds(window_seconds: int, copy_gib: float = 0.0) -> int:
    """How long a rollout of one replica may take: a new node and image, init-container copies, then the probe."""
    total = NODE_AND_IMAGE_SECONDS + MARGIN * copy_seconds(copy_gib) + window_seconds
    return max(MIN_ROLLOUT_SECONDS, 60 * math.ceil(total / 60))
