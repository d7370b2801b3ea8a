"""What the capacity planner knows about GPUs and measured vLLM throughput, and how it turns that into speeds.

Three layers, the first that applies wins:

1. **Your calibration file**: `vllm bench serve --save-result` results (JSON, or YAML/JSON lists of them) for
   the GPU, model, quantization and tensor-parallel size you plan for. They replace everything below.
2. **Measured reference points** (`REFERENCE_POINTS`, each with its source, from ../shared/reference/FACTS.md).
   The anchor suite (Lambda Labs, vLLM 0.5.4, one method on A100-80GB and H100) covers 7-8B and 70B models at
   tensor-parallel sizes 1 to 8: on those GPUs the nearest point is scaled to the model's weight size and
   tensor-parallel size. Other GPUs scale the nearest A100-80GB point by the ratio of memory bandwidths,
   corrected by one factor per GPU when the GPU has a saturated measurement of its own (A10G: 1.03).
3. **Memory-bandwidth estimate**: the same scaling without a correction, for GPUs with no saturated vLLM
   measurement in FACTS.md (L4, L40S, T4, A100-40GB). The answer says so (`bandwidth_estimate`).

Everything reduces to one line per replica, the decode step time at a batch of b requests in flight:

    step(b) = t1 + (b - 1) × c

`t1` is the single-stream time per output token (decode is memory-bound at low batch: a token reads every
weight once, so t1 = bytes of weights / (0.77 × memory bandwidth), the 0.77 measured on an A100-40GB), and `c`
is what each extra request adds, fitted so that step(b) passes through the measured point. Aggregate output
throughput is b / step(b): it grows with batch and saturates at 1 / c. The NIM Llama-3.3-70B curve in FACTS
(concurrency 1 to 100) fits this line within about 10 %.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from llmscale.config.models import Quantization
from llmscale.sizing import catalog
from llmscale.sizing.model_size import BYTES_PER_PARAM, parameters_billions

# Single-stream decode ≈ 0.77 × bandwidth / bytes of weights: 75 tok/s measured for Llama-3.1-8B BF16 on an
# A100-40GB (1555 GB/s, 16.06 GB of weights), FACTS.md.
BANDWIDTH_EFFICIENCY = 0.77
# A tensor-parallel replica of tp GPUs is worth tp × 0.8 GPUs of bandwidth and FLOPs for one stream (all-reduce
# per layer). NIM Llama-3.3-70B FP8 TP2 on H100: 52 tok/s at concurrency 1 against 58 from this rule.
TP_EFFICIENCY = 0.8
# Saturated throughput grows with the square root of the tensor-parallel size: Lambda's Llama-3.1-70B FP8 runs
# went x1.44 (A100) and x1.30 (H100) from TP2 to TP4, x1.22 and x1.15 from TP4 to TP8.
TP_THROUGHPUT_EXPONENT = 0.5
# "Saturated" benchmark runs (burst of prompts) are taken to run at vLLM's default --max-num-seqs.
SATURATED_BATCH = 256
# Prefill is compute-bound: it runs at about half of the GPU's dense peak FLOPs (2 FLOPs per parameter per token).
PREFILL_MFU = 0.5


class CalibrationError(ValueError):
    """A calibration file, or a GPU name, the planner cannot use; the message says what to fix."""


@dataclass(frozen=True)
class GpuSpec:
    """One GPU model: what the planner needs to scale throughput to it."""

    name: str
    bandwidth_gb_s: float
    memory_gib: int
    dense_tflops: float  # dense BF16/FP16 tensor throughput
    fp8: bool  # FP8 tensor cores: FP8 weights also double prefill speed
    source: str


_DATASHEET = "NVIDIA datasheet value, UNVERIFIED here"
GPU_SPECS: dict[str, GpuSpec] = {
    spec.name: spec
    for spec in (
        GpuSpec("T4", 320, 16, 65, False, _DATASHEET),
        GpuSpec("A10G", 600, 24, 70, False, f"bandwidth FACTS.md; FLOPs {_DATASHEET}"),
        GpuSpec("L4", 300, 24, 121, True, f"bandwidth FACTS.md (datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("L40S", 864, 48, 362, True, f"bandwidth FACTS.md (datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("A100-40GB", 1555, 40, 312, False, f"bandwidth FACTS.md; FLOPs {_DATASHEET}"),
        GpuSpec("A100-80GB", 2039, 80, 312, False, f"bandwidth FACTS.md (SXM, datasheet); FLOPs {_DATASHEET}"),
        GpuSpec("H100", 3350, 80, 989, True, f"bandwidth FACTS.md (SXM, datasheet); FLOPs {_DATASHEET}"),
    )
}
_ALIASES = {
    "a10g": "A10G",
    "t4": "T4",
    "l4": "L4",
    "l40s": "L40S",
    "a100-40gb": "A100-40GB",
    "a100-40": "A100-40GB",
    "a100-80gb": "A100-80GB",
    "a100-80": "A100-80GB",
    "h100": "H100",
    "h100-80gb": "H100",
    "h100-sxm": "H100",
}


def resolve_gpu(name: str) -> tuple[GpuSpec, int | None]:
    """The GPU model behind `name` and, for an EC2 instance type, how many GPUs one instance has.

    Accepts a GPU model (A10G, L4, L40S, A100-40GB, A100-80GB, H100, T4), an EC2 instance type from the
    catalogue (g5.xlarge → A10G), or a node type that names its GPU (onprem.l40s-x4 → L40S).
    """
    key = name.strip().lower()
    if key in _ALIASES:
        return GPU_SPECS[_ALIASES[key]], None
    if key == "a100":
        raise CalibrationError("gpu A100 is ambiguous: use A100-40GB or A100-80GB")
    instance = catalog.lookup(key)
    if instance is not None:
        model = instance.gpu_model if instance.gpu_model != "A100" else f"A100-{instance.gpu_memory_gib}GB"
        return GPU_SPECS[_ALIASES[model.lower()]], instance.gpus
    tokens = [token for token in _split(key) if token]
    for token in tokens:
        if token in _ALIASES:
            return GPU_SPECS[_ALIASES[token]], None
        if token == "a100":
            memory = "80" if any(t.startswith("80") for t in tokens) else "40" if "40gb" in tokens else None
            if memory:
                return GPU_SPECS[f"A100-{memory}GB"], None
    known = ", ".join(GPU_SPECS)
    raise CalibrationError(
        f"gpu {name}: unknown; use a GPU model ({known}) or a catalogued EC2 instance type such as g5.xlarge"
    )


def _split(text: str) -> list[str]:
    out, current = [], ""
    for char in text:
        if char.isalnum():
            current += char
        else:
            out.append(current)
            current = ""
    out.append(current)
    return out


def bytes_per_param(quantization: Quantization | None) -> float:
    """Bytes per weight for a quantization (None = BF16/FP16)."""
    return BYTES_PER_PARAM[quantization]


@dataclass(frozen=True)
class CalibrationPoint:
    """One throughput measurement: a replica of `tensor_parallel` GPUs serving `concurrency` requests at once.

    `output_tokens_per_second` is the aggregate over the replica. `tpot_ms` (mean time per output token) is
    used instead of concurrency / throughput when a benchmark reports it. `anchor` marks the one benchmark
    suite (same method on every GPU) that may be scaled across GPUs; other points only speak for their own GPU.
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

    def describe(self) -> str:
        """One line naming the measurement and where it comes from."""
        quant = self.quantization.value if self.quantization else "BF16"
        load = "single stream" if self.concurrency == 1 else f"concurrency {self.concurrency}"
        return (
            f"{self.model} {quant} on {self.tensor_parallel}x {self.gpu}, {self.engine}, {self.workload}, {load}: "
            f"{self.output_tokens_per_second:g} tok/s ({self.source})"
        )


_LAMBDA = "LambdaLabsML/vllm-benchmark benchmark_v0.md"
_LAMBDA_WORKLOAD = "ShareGPT, burst"
_NIM = "docs.nvidia.com/nim/benchmarking/llm"


def _lambda(model: str, params: float, quant: Quantization | None, gpu: str, tp: int, tps: float) -> CalibrationPoint:
    return CalibrationPoint(
        model, params, quant, gpu, tp, SATURATED_BATCH, tps, "vLLM 0.5.4", _LAMBDA_WORKLOAD, _LAMBDA, anchor=True
    )


def _nim(concurrency: int, tps: float) -> CalibrationPoint:
    return CalibrationPoint(
        "Llama-3.3-70B-Instruct", 70.6, Quantization.FP8, "H100", 2, concurrency, tps, "NIM 1.8.0",
        "5000 in / 500 out", _NIM, used=False,
    )  # fmt: skip


# The throughput reference points of FACTS.md. "Saturated" runs count as concurrency 256 (vLLM's default
# --max-num-seqs). Points with used=False are kept for reference and for the tests that check the model
# against them, but never size anything: their GPU is unverified or their engine is not vLLM.
REFERENCE_POINTS: tuple[CalibrationPoint, ...] = (
    CalibrationPoint(
        "Llama-3.1-8B-Instruct", 8.03, None, "A100-40GB", 1, 1, 75, "vLLM 0.23", "1024 in / 128 out",
        "johnmusgrave.com/p/vllm-throughput-latency-sweep-on",
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
    _nim(1, 52),
    _nim(5, 219),
    _nim(25, 623),
    _nim(50, 814),
    _nim(100, 917),
    CalibrationPoint(
        "Llama-3.1-8B-Instruct", 8.03, None, "A40", 1, 50, 1017, "vLLM (recent)", "100 in / 600 out",
        "databasemart.com/blog/vllm-gpu-benchmark-a40", used=False,
    ),
    CalibrationPoint(
        "Llama-2-7b-chat", 6.74, None, "A10G", 1, SATURATED_BATCH, 489, "vLLM (old), offline", "256 in / 128 out",
        "neuralmagic/nm-vllm benchmark JSON",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DecodeProfile:
    """Decode speed of one replica: step(b) = t1 + (b - 1) × c seconds per output token, and where it comes from."""

    t1: float
    c: float
    basis: str  # "calibration-file", "measured", "scaled" or "bandwidth-estimate"
    calibration: str
    notes: tuple[str, ...] = ()

    @property
    def bandwidth_estimate(self) -> bool:
        """True when no throughput was measured on this GPU: the capacity is a memory-bandwidth estimate."""
        return self.basis == "bandwidth-estimate"

    def step(self, batch: float) -> float:
        """Seconds per decode step with `batch` requests in flight."""
        return self.t1 + max(batch - 1.0, 0.0) * self.c

    def saturated_tokens_per_second(self) -> float:
        """Aggregate output tokens/s at vLLM's default batch of 256."""
        return SATURATED_BATCH / self.step(SATURATED_BATCH)


def single_stream_seconds(gpu: GpuSpec, weight_gb: float, tensor_parallel: int) -> float:
    """Seconds per output token for one lone request: the time to read every weight once, at 77 % of bandwidth."""
    return weight_gb / (BANDWIDTH_EFFICIENCY * gpu.bandwidth_gb_s * _tp_factor(tensor_parallel))


def prefill_tokens_per_second(
    gpu: GpuSpec, params_billions: float, quantization: Quantization | None, tensor_parallel: int
) -> float:
    """Prompt tokens/s one replica prefills: 2 FLOPs per parameter per token at half the dense peak."""
    flops = gpu.dense_tflops * 1e12 * _tp_factor(tensor_parallel) * PREFILL_MFU
    if quantization is Quantization.FP8 and gpu.fp8:
        flops *= 2
    return flops / (2 * params_billions * 1e9)


def _tp_factor(tensor_parallel: int) -> float:
    return 1.0 if tensor_parallel == 1 else tensor_parallel * TP_EFFICIENCY


def _fit_line(points: Sequence[tuple[float, float]], t1: float) -> tuple[float, float]:
    """(t1, c) of step(b) = t1 + (b - 1) c through (batch, step) points; t1 is kept unless a point has batch 1."""
    singles = [step for batch, step in points if batch <= 1]
    if singles:
        t1 = sum(singles) / len(singles)
    slopes = [(step - t1) / (batch - 1) for batch, step in points if batch > 1]
    c = sum(slopes) / len(slopes) if slopes else t1
    return t1, min(max(c, t1 / 1000), t1)


ANCHOR_GPU = "A100-80GB"  # the GPU whose anchor points scale to GPUs without anchor points of their own


def _distance(point: CalibrationPoint, weight_gb: float, tensor_parallel: int) -> float:
    return abs(math.log(point.weight_gb / weight_gb)) + abs(math.log(point.tensor_parallel / tensor_parallel))


def _nearest_anchor(gpu_name: str, weight_gb: float, tensor_parallel: int) -> CalibrationPoint:
    anchors = [p for p in REFERENCE_POINTS if p.used and p.anchor and p.gpu == gpu_name]
    return min(anchors, key=lambda p: _distance(p, weight_gb, tensor_parallel))


def _scaled_step(point: CalibrationPoint, weight_gb: float, tensor_parallel: int, gpu: GpuSpec) -> float:
    """Saturated step time of `point` moved to another weight size, tensor-parallel size and GPU bandwidth."""
    return (
        point.step_seconds
        * (weight_gb / point.weight_gb)
        * (GPU_SPECS[point.gpu].bandwidth_gb_s / gpu.bandwidth_gb_s)
        * (point.tensor_parallel / tensor_parallel) ** TP_THROUGHPUT_EXPONENT
    )


def gpu_correction(gpu: GpuSpec) -> tuple[float, tuple[CalibrationPoint, ...]]:
    """How much slower (> 1) or faster than bandwidth scaling of the anchor suite this GPU measured, and the points.

    1.0 with no points for GPUs that have no saturated measurement of their own (a pure bandwidth estimate).
    One factor per GPU (a geometric mean) keeps GPUs in the same order for every model size.
    """
    own = tuple(
        p
        for p in REFERENCE_POINTS
        if p.used and not p.anchor and p.gpu == gpu.name and p.concurrency == SATURATED_BATCH
    )
    if not own:
        return 1.0, ()
    logs = [
        math.log(
            p.step_seconds
            / _scaled_step(
                _nearest_anchor(ANCHOR_GPU, p.weight_gb, p.tensor_parallel), p.weight_gb, p.tensor_parallel, gpu
            )
        )
        for p in own
    ]
    return math.exp(sum(logs) / len(logs)), own


def _near(point: CalibrationPoint, weight_gb: float, tensor_parallel: int) -> bool:
    return abs(point.weight_gb / weight_gb - 1) <= 0.05 and point.tensor_parallel == tensor_parallel


def decode_profile(
    gpu: GpuSpec,
    params_billions: float,
    quantization: Quantization | None,
    tensor_parallel: int,
    user_points: Iterable[CalibrationPoint] = (),
) -> DecodeProfile:
    """The decode line of one replica: from the user's points, the GPU's own anchor points, or bandwidth scaling.

    User points are used when they match the GPU, the model size (±5 %), the quantization and the
    tensor-parallel size; several concurrencies are fitted together. A GPU of the anchor suite (A100-80GB,
    H100) scales its own nearest point (in log weight size + log tensor-parallel size). Any other GPU scales
    the nearest A100-80GB point by the ratio of memory bandwidths, times the GPU's correction when it has a
    measurement of its own (A10G); without one the answer is a bandwidth estimate.
    """
    weight_gb = params_billions * bytes_per_param(quantization)
    t1 = single_stream_seconds(gpu, weight_gb, tensor_parallel)
    parallel = f" × {tensor_parallel} GPUs × {TP_EFFICIENCY}" if tensor_parallel > 1 else ""
    t1_note = (
        f"single-stream speed {1 / t1:.0f} tok/s from the bandwidth model "
        f"({BANDWIDTH_EFFICIENCY} × {gpu.bandwidth_gb_s:g} GB/s{parallel} / {weight_gb:.1f} GB of weights)"
    )
    mine = [
        p
        for p in user_points
        if p.gpu == gpu.name
        and abs(p.params_billions / params_billions - 1) <= 0.05
        and p.quantization == quantization
        and p.tensor_parallel == tensor_parallel
    ]
    if mine:
        fit_t1, c = _fit_line([(p.concurrency, p.step_seconds) for p in mine], t1)
        if all(p.concurrency == 1 for p in mine):  # a single-stream measurement: the slope stays built in
            c = min(decode_profile(gpu, params_billions, quantization, tensor_parallel).c, fit_t1)
        levels = ", ".join(str(p.concurrency) for p in sorted(mine, key=lambda p: p.concurrency))
        notes = [f"your calibration: {p.describe()}" for p in mine]
        if fit_t1 == t1:
            notes.append(t1_note)
        return DecodeProfile(
            fit_t1, c, "calibration-file", f"your calibration file, concurrency {levels}: {mine[0].model}", tuple(notes)
        )
    notes = [t1_note]
    if any(p.used and p.anchor and p.gpu == gpu.name for p in REFERENCE_POINTS):
        point = _nearest_anchor(gpu.name, weight_gb, tensor_parallel)
        step = _scaled_step(point, weight_gb, tensor_parallel, gpu)
        basis = "measured" if _near(point, weight_gb, tensor_parallel) else "scaled"
        calibration = point.describe()
        if basis == "scaled":
            notes.append(
                f"scaled from that point by weight size ({point.weight_gb:.1f} → {weight_gb:.1f} GB) and "
                f"tensor parallelism ({point.tensor_parallel} → {tensor_parallel})"
            )
    else:
        point = _nearest_anchor(ANCHOR_GPU, weight_gb, tensor_parallel)
        correction, own = gpu_correction(gpu)
        step = _scaled_step(point, weight_gb, tensor_parallel, gpu) * correction
        ratio = f"{gpu.bandwidth_gb_s:g} / {GPU_SPECS[point.gpu].bandwidth_gb_s:g} GB/s"
        if own:
            basis = "measured" if any(_near(p, weight_gb, tensor_parallel) for p in own) else "scaled"
            calibration = "; ".join(p.describe() for p in own)
            notes.append(
                f"{point.describe()}, scaled by memory bandwidth ({ratio}) and by {correction:.2f}, "
                f"the ratio {gpu.name}'s own measurement showed"
            )
        else:
            basis = "bandwidth-estimate"
            calibration = point.describe()
            notes.append(
                f"no vLLM throughput measured on {gpu.name}: scaled from {point.gpu} by memory bandwidth ({ratio}); "
                "calibrate with `vllm bench serve` results (--calibration)"
            )
    _, c = _fit_line([(SATURATED_BATCH, step)], t1)
    return DecodeProfile(t1, c, basis, calibration, tuple(notes))


# --- calibration files -------------------------------------------------------------------------------------

_NONE_QUANT = {"", "none", "bf16", "fp16", "float16", "bfloat16", "auto"}


def parse_quantization(value: str | None) -> Quantization | None:
    """A quantization name as users write it; none/bf16/fp16 (or nothing) mean unquantized 16-bit weights."""
    if value is None or value.strip().lower() in _NONE_QUANT:
        return None
    try:
        return Quantization(value.strip().lower())
    except ValueError:
        allowed = ", ".join(["none", *(q.value for q in Quantization)])
        raise CalibrationError(f"quantization {value}: unknown; use one of {allowed}") from None


def load_calibration(path: Path) -> tuple[CalibrationPoint, ...]:
    """The points of a calibration file: one `vllm bench serve --save-result` JSON, or a list of them.

    YAML or JSON; a list at the top, or a mapping with `points:`, or one result. Each result needs
    `model_id` (or `model`), `gpu`, `max_concurrency` and `output_throughput` (tok/s); `tensor_parallel_size`
    (or `tp`, default 1), `quantization` (default none), `mean_tpot_ms` and `p99_e2el_ms` are used when present.
    vLLM writes everything but `gpu`, `tensor_parallel_size` and `quantization`: add them with
    `--metadata gpu=L40S tensor_parallel_size=1 quantization=none`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CalibrationError(f"{path}: cannot read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: cannot read (not UTF-8 text: a JSON or YAML file is expected)") from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError):
        raise CalibrationError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}") from None
    if isinstance(document, dict) and "points" in document:
        document = document["points"]
    records = document if isinstance(document, list) else [document]
    if not records:
        raise CalibrationError(f"{path}: holds no benchmark results")
    return tuple(_point(record, f"{path}[{index}]", str(path)) for index, record in enumerate(records))


def _point(record: object, where: str, source: str) -> CalibrationPoint:
    if not isinstance(record, dict):
        raise CalibrationError(f"{where}: is not a mapping of `vllm bench serve` result fields")
    model = record.get("model_id") or record.get("model")
    if not isinstance(model, str) or not model:
        raise CalibrationError(f"{where}: model_id is missing (vLLM writes it; or set model)")
    params = parameters_billions(model)
    if params is None:
        params = _number(record, "params_billions", where, required=False)
        if params is None:
            raise CalibrationError(f"{where}: cannot tell the size of {model} from its name; add params_billions: 8")
    gpu_name = record.get("gpu")
    if not isinstance(gpu_name, str):
        raise CalibrationError(f"{where}: gpu is missing; run vllm bench serve with --metadata gpu=L40S")
    gpu, _ = resolve_gpu(gpu_name)
    concurrency = _number(record, "max_concurrency", where)
    if concurrency is None or concurrency < 1 or concurrency != int(concurrency):
        raise CalibrationError(f"{where}: max_concurrency must be a whole number >= 1 (run with --max-concurrency N)")
    throughput = _number(record, "output_throughput", where)
    if throughput is None or throughput <= 0:
        raise CalibrationError(f"{where}: output_throughput must be a positive number of tokens/s")
    tp = _number(record, "tensor_parallel_size", where, required=False) or _number(record, "tp", where, required=False)
    tp = 1 if tp is None else tp
    if tp not in (1, 2, 4, 8):
        raise CalibrationError(f"{where}: tensor_parallel_size must be 1, 2, 4 or 8")
    quant = record.get("quantization")
    tpot = _number(record, "mean_tpot_ms", where, required=False)
    return CalibrationPoint(
        model=model,
        params_billions=params,
        quantization=parse_quantization(quant if isinstance(quant, str) else None),
        gpu=gpu.name,
        tensor_parallel=int(tp),
        concurrency=int(concurrency),
        output_tokens_per_second=float(throughput),
        engine=str(record.get("backend") or record.get("endpoint_type") or "vllm bench serve"),
        workload=_workload(record),
        source=source,
        tpot_ms=tpot if tpot and tpot > 0 else None,
        p99_e2el_ms=_number(record, "p99_e2el_ms", where, required=False),
    )


def _number(record: dict, key: str, where: str, required: bool = True) -> float | None:
    value = record.get(key)
    if value is None:
        if required:
            raise CalibrationError(f"{where}: {key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CalibrationError(f"{where}: {key} must be a number")
    try:
        return float(value)
    except ValueError:
        raise CalibrationError(f"{where}: {key} must be a number") from None


def _workload(record: dict) -> str:
    completed = record.get("completed")
    inputs, outputs = record.get("total_input_tokens"), record.get("total_output_tokens")
    if isinstance(completed, int) and completed > 0 and isinstance(inputs, int) and isinstance(outputs, int):
        return f"{inputs // completed} in / {outputs // completed} out"
    return "your workload"
