"""Measured serving throughput the capacity planner is calibrated on, and the held-out points it is judged by.

Every row records its source (a URL, or repository + path), the engine and its version, the GPU, the tensor
parallel size, the prompt and answer lengths, the concurrency and what was measured. Nothing here is
estimated: a figure that could not be cited was left out (no vLLM serving figure with its version was found
for L4, L40S, H200 or B200; those GPUs are sized by memory bandwidth and say so).

`REFERENCE_POINTS` calibrate the planner (rows with `used=False` are kept for reference only).
`HELD_OUT_POINTS` are never used for calibration: `llmscale.sizing.accuracy` predicts them and
`benchmarks/sizing_accuracy.py` prints the error.

Engines other than vLLM are marked in `engine`; no cited factor between NIM and vLLM was found, so NIM rows
are used as measured (factor 1.0) and every answer that rests on them names the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmscale.config.models import Quantization
from llmscale.sizing.gpus import bytes_per_param

# "Saturated" benchmark runs (a burst of prompts) are taken to run at vLLM's default --max-num-seqs.
SATURATED_BATCH = 256


@dataclass(frozen=True)
class CalibrationPoint:
    """One throughput measurement: a replica of `tensor_parallel` GPUs serving `concurrency` requests at once.

    `output_tokens_per_second` is the aggregate over the replica. `tpot_ms` (mean time per output token) is
    used instead of concurrency / throughput when a benchmark reports it. `anchor` marks the one benchmark
    suite (same method on every GPU) that may be scaled across GPUs; other points only speak for their own GPU.
    `prompt_tokens`/`output_tokens` are the mean lengths of the run; `kv_cache_fp8` that the KV cache was FP8.
    """

    model: str
    params_billions: float
    quantization: Quantization | None
    gpu: str
    tensor_parallel: int
    concurrency: int
    output_tokens_per_second: float
    engine: str
    workload: str
    source: str
    anchor: bool = False
    used: bool = True
    tpot_ms: float | None = None
    p99_e2el_ms: float | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    ttft_ms: float | None = None
    kv_cache_fp8: bool = False
    note: str = ""

    @property
    def weight_gb(self) -> float:
        """Bytes of weights read per decoded token, in GB (1e9)."""
        return self.params_billions * bytes_per_param(self.quantization)

    @property
    def step_seconds(self) -> float:
        """Seconds per decode step at this point's concurrency (every in-flight request gains one token)."""
        if self.tpot_ms is not None:
            return self.tpot_ms / 1000
        return self.concurrency / self.output_tokens_per_second

    @property
    def vllm(self) -> bool:
        """True when the measurement was taken on vLLM (any version)."""
        return self.engine.lower().startswith("vllm")

    def mean_latency_seconds(self) -> float | None:
        """Mean end-to-end seconds of a request: TTFT + (answer - 1) × TPOT, else Little's law at this concurrency."""
        if self.output_tokens is None:
            return None
        if self.ttft_ms is not None and self.tpot_ms is not None:
            return self.ttft_ms / 1000 + (self.output_tokens - 1) * self.tpot_ms / 1000
        return self.concurrency * self.output_tokens / self.output_tokens_per_second

    def describe(self) -> str:
        """One line naming the measurement and where it comes from."""
        quant = self.quantization.value if self.quantization else "BF16"
        load = "single stream" if self.concurrency == 1 else f"concurrency {self.concurrency}"
        return (
            f"{self.model} {quant} on {self.tensor_parallel}x {self.gpu}, {self.engine}, {self.workload}, {load}: "
            f"{self.output_tokens_per_second:g} tok/s ({self.source})"
        )

    def to_json(self) -> dict[str, object]:
        """camelCase document of the row (the `size --json` answer lists the rows it drew on)."""
        return {
            "model": self.model,
            "quantization": self.quantization.value if self.quantization else None,
            "gpu": self.gpu,
            "tensorParallel": self.tensor_parallel,
            "concurrency": self.concurrency,
            "promptTokens": self.prompt_tokens,
            "outputTokens": self.output_tokens,
            "outputTokensPerSecond": self.output_tokens_per_second,
            "tpotMs": self.tpot_ms,
            "ttftMs": self.ttft_ms,
            "engine": self.engine,
            "source": self.source,
        }


_LAMBDA = "LambdaLabsML/vllm-benchmark benchmark_v0.md"
_LAMBDA_WORKLOAD = "ShareGPT, burst"
_NIM = "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance (Llama-3.3-70b-instruct, 2 x H100 80G, fp8 TP2)"
_NIM_NOTE = (
    "engine NIM, not vLLM (no cited NIM/vLLM factor: used as measured); the page does not state the KV cache type: "
    "its concurrency-100 TTFT (8 s, less than one request's time) means more than 49 requests of 5,250 tokens were "
    "cached at once, which a BF16 cache on 2 x 80 GB cannot hold, so the row is taken as an FP8 KV cache"
)
_AMD = (
    "https://www.amd.com/en/developer/resources/rocm-hub/dev-ai/performance-results.html "
    "(rocm/vllm:rocm7.0.0_vllm_0.11.1_20251103, 8x MI300X)"
)
_AMD_NOTE = (
    "the page reports 'Throughput (tokens/s)' without saying whether prompt tokens count; with 128-token prompts "
    "the two readings differ by 6 % (2048-token answers) or 3 % (4096): taken as output tokens/s"
)
_MUSGRAVE = "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on"


def _lambda(model: str, params: float, quant: Quantization | None, gpu: str, tp: int, tps: float) -> CalibrationPoint:
    return CalibrationPoint(
        model, params, quant, gpu, tp, SATURATED_BATCH, tps, "vLLM 0.5.4", _LAMBDA_WORKLOAD, _LAMBDA, anchor=True
    )


def _nim(version: str, concurrency: int, ttft_ms: float, itl_ms: float, tps: float, used: bool) -> CalibrationPoint:
    return CalibrationPoint(
        "Llama-3.3-70B-Instruct", 70.6, Quantization.FP8, "H100", 2, concurrency, tps, f"NIM {version}",
        "5000 in / 500 out", f"{_NIM}, version {version}", used=used, tpot_ms=itl_ms, prompt_tokens=5000,
        output_tokens=500, ttft_ms=ttft_ms, kv_cache_fp8=True, note=_NIM_NOTE,
    )  # fmt: skip


def _amd(output_tokens: int, concurrency: int, tps: float) -> CalibrationPoint:
    return CalibrationPoint(
        "amd/Llama-3.1-70B-Instruct-FP8-KV", 70.6, Quantization.FP8, "MI300X", 8, concurrency, tps,
        "vLLM 0.11.1 (ROCm)", f"128 in / {output_tokens} out, {concurrency} prompts at once", _AMD, prompt_tokens=128,
        output_tokens=output_tokens, kv_cache_fp8=True, note=_AMD_NOTE,
    )  # fmt: skip


# Calibration rows. "Saturated" runs count as concurrency 256 (vLLM's default --max-num-seqs).
REFERENCE_POINTS: tuple[CalibrationPoint, ...] = (
    CalibrationPoint(
        "Llama-3.1-8B-Instruct", 8.03, None, "A100-40GB", 1, 1, 75, "vLLM 0.23", "1024 in / 128 out", _MUSGRAVE,
        prompt_tokens=1024, output_tokens=128,
    ),
    CalibrationPoint(
        "Llama-3.1-8B-Instruct", 8.03, None, "A100-40GB", 1, 8, 495, "vLLM 0.23", "1024 in / 128 out", _MUSGRAVE,
        prompt_tokens=1024, output_tokens=128, note="6.6 x the single-stream 75 tok/s, as the post states for C=8",
    ),
    _lambda("Llama-3.1-8B", 8.03, Quantization.FP8, "A100-80GB", 1, 1518),
    _lambda("Llama-3.1-8B", 8.03, Quantization.FP8, "H100", 1, 3400),
    _lambda("Mistral-7B-Instruct-v0.3", 7.25, None, "A100-80GB", 1, 1591),
    _lambda("Mistral-7B-Instruct-v0.3", 7.25, None, "H100", 1, 3281),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "A100-80GB", 2, 663),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "A100-80GB", 4, 957),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "A100-80GB", 8, 1163),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "H100", 2, 1728),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "H100", 4, 2243),
    _lambda("Llama-3.1-70B", 70.6, Quantization.FP8, "H100", 8, 2573),
    CalibrationPoint(
        "Llama-3.1-8B", 8.03, None, "H100", 1, SATURATED_BATCH, 8088, "vLLM 0.6.0", "5000 prompts, max-num-seqs 256",
        f"{_LAMBDA} (v0.5.4 vs v0.6.0 table; GPU UNVERIFIED)", used=False,
    ),
    CalibrationPoint(
        "Llama-3.1-70B", 70.6, None, "H100", 4, SATURATED_BATCH, 3543, "vLLM 0.6.0", "5000 prompts",
        f"{_LAMBDA} (v0.5.4 vs v0.6.0 table; GPU UNVERIFIED)", used=False,
    ),
    _nim("1.8.0", 1, 406.77, 18.58, 51.67, used=True),
    _nim("1.8.0", 5, 546.7, 21.83, 218.48, used=True),
    _nim("1.8.0", 25, 688.69, 38.75, 623.4, used=True),
    _nim("1.8.0", 50, 834.51, 59.73, 814.37, used=True),
    # Concurrency 100 queues (TTFT 8 s): the replica is past its KV cache, not a steady state the line describes.
    _nim("1.8.0", 100, 7996.25, 92.91, 917.26, used=False),
    _amd(2048, 3200, 13279.6),
    CalibrationPoint(
        "Llama-3.1-8B-Instruct", 8.03, None, "A40", 1, 50, 1017, "vLLM (recent)", "100 in / 600 out",
        "databasemart.com/blog/vllm-gpu-benchmark-a40", used=False,
    ),
    CalibrationPoint(
        "Llama-2-7b-chat", 6.74, None, "A10G", 1, SATURATED_BATCH, 489, "vLLM (old), offline", "256 in / 128 out",
        "neuralmagic/nm-vllm benchmark JSON",
    ),
)  # fmt: skip

# Held out: measured like the rows above, never used to calibrate. Other versions or other answer lengths of
# configurations the planner is calibrated on, so the error they show is the error of a prediction.
HELD_OUT_POINTS: tuple[CalibrationPoint, ...] = (
    _nim("1.5.0", 1, 368.11, 19.94, 48.44, used=False),
    _nim("1.5.0", 5, 446.68, 23.89, 199.17, used=False),
    _nim("1.5.0", 25, 751.74, 42.12, 564.5, used=False),
    _nim("1.5.0", 50, 1083.13, 63.72, 738.78, used=False),
    CalibrationPoint(
        "amd/Llama-3.1-70B-Instruct-FP8-KV", 70.6, Quantization.FP8, "MI300X", 8, 1500, 11449.7, "vLLM 0.11.1 (ROCm)",
        "128 in / 4096 out, 1500 prompts at once", _AMD, used=False, prompt_tokens=128, output_tokens=4096,
        kv_cache_fp8=True, note=_AMD_NOTE,
    ),
)  # fmt: skip
