"""vLLM server arguments as a pure function of a model profile, shared by the single host and Kubernetes."""

from __future__ import annotations

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
)


def flag_name(arg: str) -> str:
    """`--max-model-len=4096` → `--max-model-len`."""
    return arg.split("=", 1)[0]


def vllm_args(profile: ModelProfile, *, model_source: str | None = None) -> list[str]:
    """Arguments after `vllm serve`: the model, its served names, and the capacity and backpressure limits.

    The profile name is served first so that vLLM's `model_name` metric label, which alerts and dashboards
    select on, is the profile name; the model id is served too so OpenAI clients may use either.
    `model_source` replaces the model id as the weights' location (a local path or a model store).
    """
    served = [profile.name] if profile.name == profile.model else [profile.name, profile.model]
    args = [
        model_source or profile.model,
        "--served-model-name",
        *served,
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
    ]
    if profile.gpus_per_replica > 1:
        args += ["--tensor-parallel-size", str(profile.gpus_per_replica)]
    if profile.quantization is not None:
        args += ["--quantization", str(profile.quantization)]
    if (model_source or profile.model).startswith("s3://"):
        # Weights from the model store: streamed from S3 with the Run:ai model streamer, not from the hub.
        args += ["--load-format", "runai_streamer"]
    return args + list(profile.extra_args)
