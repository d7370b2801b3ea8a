"""vLLM server arguments as a pure function of a model profile, shared by the single host and Kubernetes."""

from __future__ import annotations

import json

from llmscale.config.adapters import AdapterConfig, lora_rank
from llmscale.config.models import ModelProfile

VLLM_PORT = 8000

# Flags llmscale sets from profile keys; `extraArgs` may not set them a second time.
MODELLED_FLAGS = (
    "--served-model-name",
    "--host",
    "--port",
    "--max-model-len",
    "--max-num-seqs",
    "--gpu-memory-utilization",
    "--max-num-queued-reqs",
    "--tensor-parallel-size",
    "--quantization",
    "--api-key",
    "--load-format",
    "--shutdown-timeout",
    "--enable-lora",
    "--lora-modules",
    "--max-loras",
    "--max-lora-rank",
    "--max-cpu-loras",
)


MODEL_STORE_SCHEME = "store://"
"""A profile `model` of `store://org/model/` names that path in the stack's own model store: each site (the
primary and the standby region) reads it from its own region's bucket."""


def store_path(model: str) -> str | None:
    """The path inside the model store of a `store://` model, else None."""
    return model[len(MODEL_STORE_SCHEME) :] if model.startswith(MODEL_STORE_SCHEME) else None


def store_uri(bucket: str, path: str) -> str:
    """The S3 URI vLLM reads a model-store path from, in one site's bucket."""
    return f"s3://{bucket}/{path}"


MODELS_DIR = "/models"  # the model cache's mount in the vLLM container, on Kubernetes and on the single host
ADAPTERS_DIR = f"{MODELS_DIR}/adapters"


def adapter_dir(adapter: AdapterConfig) -> str:
    """Where a `store://` adapter is copied to before vLLM starts (names are unique in the stack)."""
    return f"{ADAPTERS_DIR}/{adapter.name}"


def adapter_path(adapter: AdapterConfig) -> str:
    """The `path` vLLM loads an adapter from: its Hugging Face id (vLLM downloads it), or the local copy of a
    model-store adapter (vLLM 0.33 reads no s3:// adapter: `get_adapter_absolute_path` in vllm/lora/utils.py
    takes a local path or else a Hub id)."""
    return adapter_dir(adapter) if adapter.store_path is not None else adapter.source


def lora_args(profile: ModelProfile) -> list[str]:
    """vLLM's LoRA flags for a profile's adapters, or none.

    `--lora-modules` is one flag followed by one JSON object per adapter: vLLM 0.33's `LoRAParserAction`
    (vllm/entrypoints/common/cli_args.py) reads each value with `json.loads` into a `LoRAModulePath` (`name`,
    `path`, `base_model_name`); a JSON list in one value is rejected. Every adapter may be in the same batch
    (`--max-loras`) and stays in CPU memory (`--max-cpu-loras`, at least `--max-loras`, vllm/config/lora.py), so
    none is evicted and read again from its path.
    """
    if not profile.adapters:
        return []
    count = str(len(profile.adapters))
    modules = [
        json.dumps({"name": a.name, "path": adapter_path(a), "base_model_name": profile.name}, separators=(",", ":"))
        for a in profile.adapters
    ]
    return [
        "--enable-lora",
        "--max-loras",
        count,
        "--max-cpu-loras",
        count,
        "--max-lora-rank",
        str(lora_rank(profile)),
        "--lora-modules",
        *modules,
    ]


def served_model_names(profile: ModelProfile) -> list[str]:
    """vLLM's `--served-model-name` values of a profile: its name, then its model id when that differs.

    The profile name is served first so that vLLM's `model_name` metric label, which alerts and dashboards
    select on, is the profile name; the model id is served too so OpenAI clients may use either (the store path
    without a site's bucket for a `store://` model).
    """
    path = store_path(profile.model)
    model_id = path.rstrip("/") if path is not None else profile.model
    return [profile.name] if profile.name == model_id else [profile.name, model_id]


PRE_STOP_SECONDS = 10  # the gateway stops sending to a terminating pod before vLLM stops accepting
SHUTDOWN_MARGIN_SECONDS = 30  # vLLM's own teardown after the last request


def termination_grace_seconds(profile: ModelProfile) -> int:
    """How long Kubernetes lets a terminating replica drain before killing it.

    The kubelet counts the grace period from the start of the preStop hook, and sends SIGKILL when it runs out
    (default 30 s). vLLM drains for up to `--shutdown-timeout` (the profile's request timeout) after SIGTERM:
    the period covers the hook, the longest request the gateway allows, and vLLM's teardown, so a scale-down or
    a rollout never cuts a stream.
    """
    return PRE_STOP_SECONDS + profile.request_timeout_seconds + SHUTDOWN_MARGIN_SECONDS


def flag_name(arg: str) -> str:
    """`--max-model-len=4096` → `--max-model-len`."""
    return arg.split("=", 1)[0]


def vllm_args(profile: ModelProfile, *, model_source: str | None = None) -> list[str]:
    """Arguments after `vllm serve`: the model, its served names, its adapters, and the capacity and
    backpressure limits.

    `model_source` replaces the model id as the weights' location (a local copy of a model-store model). A
    `store://` model stays as it is here: the serving layer resolves it to its own site's bucket.
    """
    args = [
        model_source or profile.model,
        "--served-model-name",
        *served_model_names(profile),
        "--host",
        "0.0.0.0",
        "--port",
        str(VLLM_PORT),
        "--max-model-len",
        str(profile.max_model_len),
        "--max-num-seqs",
        str(profile.max_num_seqs),
        "--gpu-memory-utilization",
        str(profile.gpu_memory_utilization),
        "--max-num-queued-reqs",
        str(profile.queue_limit),
        # On SIGTERM vLLM 0.33 aborts every request in flight unless given a drain time
        # (`--shutdown-timeout`, default 0: `EngineCore._handle_shutdown` in vllm/v1/engine/core.py): let the
        # longest request the gateway allows finish.
        "--shutdown-timeout",
        str(profile.request_timeout_seconds),
    ]
    if profile.gpus_per_replica > 1:
        args += ["--tensor-parallel-size", str(profile.gpus_per_replica)]
    if profile.quantization is not None:
        args += ["--quantization", str(profile.quantization)]
    args += lora_args(profile)
    if (model_source or profile.model).startswith(("s3://", MODEL_STORE_SCHEME)):
        # Weights from the model store: streamed from S3 with the Run:ai model streamer, not from the hub.
        args += ["--load-format", "runai_streamer"]
    return args + list(profile.extra_args)
