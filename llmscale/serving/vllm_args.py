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
    "--shutdown-timeout",
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
    """Arguments after `vllm serve`: the model, its served names, and the capacity and backpressure limits.

    The profile name is served first so that vLLM's `model_name` metric label, which alerts and dashboards
    select on, is the profile name; the model id is served too so OpenAI clients may use either.
    `model_source` replaces the model id as the weights' location (a local path or a model store). A
    `store://` model stays as it is here: the serving layer resolves it to its own site's bucket.
    """
    path = store_path(profile.model)
    # Clients may name the model by its profile or by its id (the store path, without the bucket of a site).
    model_id = path.rstrip("/") if path is not None else profile.model
    served = [profile.name] if profile.name == model_id else [profile.name, model_id]
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
    if (model_source or profile.model).startswith(("s3://", MODEL_STORE_SCHEME)):
        # Weights from the model store: streamed from S3 with the Run:ai model streamer, not from the hub.
        args += ["--load-format", "runai_streamer"]
    return args + list(profile.extra_args)
