"""What the capacity planner sizes for: the load, the model, the GPU and the SLO, with documented defaults.

Defaults and the problem statement's reference points (100 concurrent users on a 7B model → 5–8 GPUs,
500 → 20–30): they hold for a 7B model in BF16 on A10G GPUs (g5, 24 GB), 1000-token prompts, 250-token
answers, 10 s of think time and a p99 end-to-end latency of 20 s (≥ 13 tokens/s per stream, faster than people
read). The "p99 < 2 s for chat" rule of thumb is read as time to first token (`ttft_seconds=2`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from llmscale.config.models import GpuConfig, ModelProfile, Quantization, ScheduleConfig
from llmscale.sizing.model_size import parameters_billions

# --- documented defaults: together they land on the problem statement's reference points ----------------
DEFAULT_USERS = 100
DEFAULT_PROMPT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 250
DEFAULT_MODEL = "7b"
DEFAULT_GPU = "A10G"
DEFAULT_P99_SECONDS = 20.0
DEFAULT_THINK_TIME_SECONDS = 10.0
# None: the GPU's on-demand price from `llmscale.sizing.prices` (in `region`), unless a rate is stated.
DEFAULT_PRICE_PER_GPU_HOUR: float | None = GpuConfig.model_fields["price_per_gpu_hour"].default
DEFAULT_MAX_NUM_SEQS = 256  # vLLM's server default
DEFAULT_GPU_MEMORY_UTILIZATION: float = ModelProfile.model_fields["gpu_memory_utilization"].default
DEFAULT_PREFIX_REUSE = 0.0  # share of prompt tokens served from vLLM's prefix cache
MAX_PREFIX_REUSE = 0.95
KV_CACHE_DTYPES = ("auto", "fp8")  # vLLM --kv-cache-dtype: auto keeps the model's 16-bit cache, fp8 halves it
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)

# KV cache per token (KiB, BF16) of grouped-query-attention models by size, from their config.json
# (Qwen2.5-0.5B, Llama-3.2-1B/3B, Llama-3.1-8B, Qwen2.5-14B/32B, Llama-3.1-70B/405B); interpolated in log size.
# Older multi-head models (Llama-2-7B: 512 KiB) hold four times as much per token.
KV_KIB_PER_TOKEN: tuple[tuple[float, float], ...] = (
    (0.5, 12),
    (1, 32),
    (3, 112),
    (8, 128),
    (14, 192),
    (32, 256),
    (70, 320),
    (405, 504),
)


class SizingError(ValueError):
    """Inputs the planner cannot size (invalid, or an SLO no configuration reaches); one line that says why."""


def kv_bytes_per_token(params_billions: float) -> float:
    """Bytes of KV cache one token takes in a model of this size (BF16 cache, grouped-query attention)."""
    table = KV_KIB_PER_TOKEN
    if params_billions <= table[0][0]:
        kib = table[0][1] * params_billions / table[0][0]
    elif params_billions >= table[-1][0]:
        kib = table[-1][1] * params_billions / table[-1][0]
    else:
        for (p0, k0), (p1, k1) in itertools.pairwise(table):
            if p0 <= params_billions <= p1:
                share = math.log(params_billions / p0) / math.log(p1 / p0)
                kib = k0 + share * (k1 - k0)
                break
    return kib * 1024


@dataclass(frozen=True)
class SizingInputs:
    """What to size for. Every field has a documented default; see the module docstring for why these.

    Give `users` (peak concurrent users, who think between requests) or `requests_per_second`, not both.
    `gpu` is a GPU model (A10G, L4, L40S, A100-40GB, A100-80GB, H100, H200, B200, MI300X) or an EC2 instance
    type (g6e.xlarge). Workload shape: `prefix_reuse` is the share of prompt tokens vLLM's prefix cache serves
    (a shared system prompt, a chat's history), which need no prefill; `batch_requests_per_second` is batch
    traffic on the same replicas (no latency SLO of its own, but it takes batch slots, KV cache and prefill);
    `tpot_seconds` bounds the time per output token as `ttft_seconds` bounds the first one; `kv_cache_dtype`
    is vLLM's `--kv-cache-dtype` (fp8 halves the KV cache per token).
    """

    users: int | None = DEFAULT_USERS
    requests_per_second: float | None = None
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    model: str = DEFAULT_MODEL
    quantization: Quantization | None = None
    gpu: str = DEFAULT_GPU
    p99_seconds: float = DEFAULT_P99_SECONDS
    ttft_seconds: float | None = None
    think_time_seconds: float = DEFAULT_THINK_TIME_SECONDS
    price_per_gpu_hour: float | None = DEFAULT_PRICE_PER_GPU_HOUR
    region: str | None = None
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION
    min_gpus_per_replica: int = 1
    max_gpus_per_replica: int = 8
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    tpot_seconds: float | None = None
    prefix_reuse: float = DEFAULT_PREFIX_REUSE
    batch_requests_per_second: float = 0.0
    kv_cache_dtype: str = "auto"
    speed: float = 1.0  # measured speed over the model's (the error range sizes at the ends of its band)

    def __post_init__(self) -> None:
        if (self.users is None) == (self.requests_per_second is None):
            raise SizingError("give peak concurrent users or requests per second, not both and not neither")
        if self.users is not None and (isinstance(self.users, bool) or self.users < 1):
            raise SizingError(f"users must be a whole number >= 1, got {self.users}")
        if self.requests_per_second is not None and not self.requests_per_second > 0:
            raise SizingError(f"requests per second must be > 0, got {self.requests_per_second}")
        for name, value, low in (("prompt tokens", self.prompt_tokens, 1), ("output tokens", self.output_tokens, 1)):
            if value < low:
                raise SizingError(f"{name} must be >= {low}, got {value}")
        if not self.p99_seconds > 0:
            raise SizingError(f"p99 latency must be > 0 seconds, got {self.p99_seconds}")
        if self.ttft_seconds is not None and not 0 < self.ttft_seconds <= self.p99_seconds:
            raise SizingError(f"TTFT SLO must be > 0 and <= the p99 latency ({self.p99_seconds:g} s)")
        if self.tpot_seconds is not None and not 0 < self.tpot_seconds < self.p99_seconds:
            raise SizingError(f"TPOT SLO must be > 0 seconds per token and below the p99 ({self.p99_seconds:g} s)")
        if not 0 <= self.prefix_reuse <= MAX_PREFIX_REUSE:
            raise SizingError(f"prefix reuse must be a share from 0 to {MAX_PREFIX_REUSE}, got {self.prefix_reuse}")
        if not self.batch_requests_per_second >= 0:
            raise SizingError(f"batch requests per second must be >= 0, got {self.batch_requests_per_second}")
        if self.kv_cache_dtype not in KV_CACHE_DTYPES:
            raise SizingError(f"kv cache dtype {self.kv_cache_dtype}: use one of {', '.join(KV_CACHE_DTYPES)}")
        if not self.speed > 0:
            raise SizingError(f"speed factor must be > 0, got {self.speed}")
        if not self.think_time_seconds >= 0:
            raise SizingError(f"think time must be >= 0 seconds, got {self.think_time_seconds}")
        if self.price_per_gpu_hour is not None and not self.price_per_gpu_hour >= 0:
            raise SizingError(f"price per GPU-hour must be >= 0, got {self.price_per_gpu_hour}")
        if self.max_num_seqs < 1:
            raise SizingError(f"max-num-seqs must be >= 1, got {self.max_num_seqs}")
        if not 0.1 < self.gpu_memory_utilization <= 0.98:
            raise SizingError(f"GPU memory utilization must be in (0.1, 0.98], got {self.gpu_memory_utilization}")
        if self.min_gpus_per_replica not in TENSOR_PARALLEL_SIZES:
            raise SizingError(f"GPUs per replica must be 1, 2, 4 or 8, got {self.min_gpus_per_replica}")
        if self.max_gpus_per_replica < self.min_gpus_per_replica:
            raise SizingError(
                f"at most {self.max_gpus_per_replica} GPUs per replica is fewer than the least asked "
                f"({self.min_gpus_per_replica})"
            )
        model_params(self.model)

    def to_json(self) -> dict[str, Any]:
        """The inputs as a camelCase document (echoed in the result, so a number can be traced to its inputs)."""
        return {
            "users": self.users,
            "requestsPerSecond": self.requests_per_second,
            "promptTokens": self.prompt_tokens,
            "outputTokens": self.output_tokens,
            "model": self.model,
            "quantization": self.quantization.value if self.quantization else None,
            "gpu": self.gpu,
            "p99Seconds": self.p99_seconds,
            "ttftSeconds": self.ttft_seconds,
            "thinkTimeSeconds": self.think_time_seconds,
            "pricePerGpuHour": self.price_per_gpu_hour,
            "region": self.region,
            "maxNumSeqs": self.max_num_seqs,
            "gpuMemoryUtilization": self.gpu_memory_utilization,
            "tpotSeconds": self.tpot_seconds,
            "prefixReuse": self.prefix_reuse,
            "batchRequestsPerSecond": self.batch_requests_per_second,
            "kvCacheDtype": self.kv_cache_dtype,
        }


def model_params(model: str) -> float:
    """Parameters in billions of a model id (meta-llama/Llama-3.1-8B-Instruct) or a size (7b, 70B, 0.5b)."""
    params = parameters_billions(model)
    if params is None or params <= 0:
        raise SizingError(f"model {model}: cannot tell its size from the name; pass a size such as 7b or 70b")
    return params
