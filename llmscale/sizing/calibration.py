"""How the capacity planner turns GPUs and measured throughput into the decode speed of one replica.

Three layers, the first that applies wins:

1. **Your calibration file**: `vllm bench serve --save-result` results (`llmscale.sizing.calibration_file`) for
   the GPU, model, quantization and tensor-parallel size you plan for. They replace everything below.
2. **Measured rows** (`llmscale.sizing.measurements.REFERENCE_POINTS`, each with its source). A concurrency
   sweep of the very configuration (GPU, model size ±5 %, quantization, tensor parallelism) is fitted directly,
   like a calibration file. Otherwise the anchor suite (Lambda Labs, vLLM 0.5.4, one method on A100-80GB and
   H100, 7-8B and 70B at tensor parallelism 1 to 8) is scaled: on those GPUs the nearest point is scaled to the
   model's weight size and tensor-parallel size; other GPUs scale the nearest A100-80GB point by the ratio of
   memory bandwidths, corrected by one factor per GPU when the GPU has a saturated measurement of its own
   (A10G, MI300X).
3. **Memory-bandwidth estimate**: the same scaling without a correction, for GPUs with no saturated
   measurement (L4, L40S, T4, A100-40GB, H200, B200). The answer says so (`bandwidth_estimate`).

Whatever layer 2 or 3 gives, a GPU with at least the bandwidth, memory and FLOPs of another is never rated
slower than that GPU's own line (H200 against the H100's anchor points, say): layers built on different
evidence must not put a better GPU behind a worse one.

Everything reduces to one line per replica, the decode step time at a batch of b requests in flight:

    step(b) = t1 + (b - 1) × c

`t1` is the single-stream time per output token (decode is memory-bound at low batch: a token reads every
weight once, so t1 = bytes of weights / (0.77 × memory bandwidth), the 0.77 measured on an A100-40GB), and `c`
is what each extra request adds. Aggregate output throughput is b / step(b): it grows with batch and
saturates at 1 / c. Measured steps include the slowdown the run's own prompts caused (prefill steals GPU time
from decode); the fit takes it out with the planner's prefill model, so that the line holds for other prompts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from llmscale.config.models import Quantization
from llmscale.sizing.calibration_file import load_calibration, parse_quantization
from llmscale.sizing.gpus import GPU_SPECS, CalibrationError, GpuSpec, bytes_per_param, resolve_gpu
from llmscale.sizing.measurements import HELD_OUT_POINTS, REFERENCE_POINTS, SATURATED_BATCH, CalibrationPoint

__all__ = [
    "ANCHOR_GPU",
    "BANDWIDTH_EFFICIENCY",
    "GPU_SPECS",
    "HELD_OUT_POINTS",
    "PREFILL_MFU",
    "PREFILL_OVERLAP",
    "REFERENCE_POINTS",
    "SATURATED_BATCH",
    "TP_EFFICIENCY",
    "CalibrationError",
    "CalibrationPoint",
    "DecodeProfile",
    "GpuSpec",
    "bytes_per_param",
    "decode_profile",
    "gpu_correction",
    "load_calibration",
    "parse_quantization",
    "prefill_tokens_per_second",
    "resolve_gpu",
    "single_stream_seconds",
]

# Single-stream decode ≈ 0.77 × bandwidth / bytes of weights: 75 tok/s measured for Llama-3.1-8B BF16 on an
# A100-40GB (1555 GB/s, 16.06 GB of weights), johnmusgrave.com (vLLM 0.23).
BANDWIDTH_EFFICIENCY = 0.77
# A tensor-parallel replica of tp GPUs is worth tp × 0.8 GPUs of bandwidth and FLOPs for one stream (all-reduce
# per layer). NIM Llama-3.3-70B FP8 TP2 on H100: 52 tok/s at concurrency 1 against 58 from this rule.
TP_EFFICIENCY = 0.8
# Saturated throughput grows with the square root of the tensor-parallel size: Lambda's Llama-3.1-70B FP8 runs
# went x1.44 (A100) and x1.30 (H100) from TP2 to TP4, x1.22 and x1.15 from TP4 to TP8.
TP_THROUGHPUT_EXPONENT = 0.5
# Prefill is compute-bound: it runs at about half of the GPU's dense peak FLOPs (2 FLOPs per parameter per token).
PREFILL_MFU = 0.5
# Half of the prefill work hides in memory-bound decode steps; the other half slows them: step / (1 - 0.5 ρ).
PREFILL_OVERLAP = 0.5
MAX_PREFILL_SHARE = 0.95
ANCHOR_GPU = "A100-80GB"  # the GPU whose anchor points scale to GPUs without anchor points of their own


@dataclass(frozen=True)
class DecodeProfile:
    """Decode speed of one replica: step(b) = t1 + (b - 1) × c seconds per output token, and where it comes from."""

    t1: float
    c: float
    basis: str  # "calibration-file", "measured", "scaled" or "bandwidth-estimate"
    calibration: str
    notes: tuple[str, ...] = ()
    points: tuple[CalibrationPoint, ...] = ()  # the measured rows the line rests on

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


def decode_step_without_prefill(point: CalibrationPoint, gpu: GpuSpec) -> float:
    """The point's measured step with its own prompts' prefill slowdown taken out (the planner's prefill model).

    The other requests' prefill share ρ = their request rate × prompt / prefill speed, the rate from Little's
    law (concurrency over mean latency, times (C - 1) / C: a request's own prompt is not in its TPOT); the
    measured step is then step × (1 - 0.5 ρ). Points without lengths are taken as they are.
    """
    latency = point.mean_latency_seconds()
    if point.prompt_tokens is None or latency is None or latency <= 0:
        return point.step_seconds
    rate = (point.concurrency - 1) / latency
    prefill = point.prompt_tokens / prefill_tokens_per_second(
        gpu, point.params_billions, point.quantization, point.tensor_parallel
    )
    rho = min(rate * prefill, MAX_PREFILL_SHARE)
    return point.step_seconds * (1 - PREFILL_OVERLAP * rho)


def _fit_line(points: Sequence[tuple[float, float]], t1: float) -> tuple[float, float]:
    """(t1, c) of step(b) = t1 + (b - 1) c through (batch, step) points; t1 is kept unless a point has batch 1."""
    singles = [step for batch, step in points if batch <= 1]
    if singles:
        t1 = sum(singles) / len(singles)
    slopes = [(step - t1) / (batch - 1) for batch, step in points if batch > 1]
    c = sum(slopes) / len(slopes) if slopes else t1
    return t1, min(max(c, t1 / 1000), t1)


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

    Only saturated measurements (concurrency >= 256) of the GPU's own count; 1.0 with no points for GPUs that
    have none (a pure bandwidth estimate). One factor per GPU (a geometric mean) keeps GPUs in the same order
    for every model size.
    """
    own = tuple(
        p
        for p in REFERENCE_POINTS
        if p.used and not p.anchor and p.gpu == gpu.name and p.concurrency >= SATURATED_BATCH
    )
    if not own:
        return 1.0, ()
    logs = []
    for p in own:
        anchor = _nearest_anchor(ANCHOR_GPU, p.weight_gb, p.tensor_parallel)
        t1 = single_stream_seconds(gpu, p.weight_gb, p.tensor_parallel)
        _, c = _fit_line([(SATURATED_BATCH, _scaled_step(anchor, p.weight_gb, p.tensor_parallel, gpu))], t1)
        predicted = t1 + (p.concurrency - 1) * c
        logs.append(math.log(decode_step_without_prefill(p, gpu) / predicted))
    return math.exp(sum(logs) / len(logs)), own


def _near(point: CalibrationPoint, weight_gb: float, tensor_parallel: int) -> bool:
    return abs(point.weight_gb / weight_gb - 1) <= 0.05 and point.tensor_parallel == tensor_parallel


def _same_configuration(
    point: CalibrationPoint, gpu: GpuSpec, params: float, quantization: Quantization | None, tp: int
) -> bool:
    return (
        point.gpu == gpu.name
        and abs(point.params_billions / params - 1) <= 0.05
        and point.quantization == quantization
        and point.tensor_parallel == tp
    )


def decode_profile(
    gpu: GpuSpec,
    params_billions: float,
    quantization: Quantization | None,
    tensor_parallel: int,
    user_points: Iterable[CalibrationPoint] = (),
) -> DecodeProfile:
    """The decode line of one replica: from the user's points, a measured sweep of this configuration, the GPU's
    own anchor points, or bandwidth scaling (see the module docstring for the order)."""
    weight_gb = params_billions * bytes_per_param(quantization)
    t1 = single_stream_seconds(gpu, weight_gb, tensor_parallel)
    parallel = f" × {tensor_parallel} GPUs × {TP_EFFICIENCY}" if tensor_parallel > 1 else ""
    t1_note = (
        f"single-stream speed {1 / t1:.0f} tok/s from the bandwidth model "
        f"({BANDWIDTH_EFFICIENCY} × {gpu.bandwidth_gb_s:g} GB/s{parallel} / {weight_gb:.1f} GB of weights)"
    )
    mine = [p for p in user_points if _same_configuration(p, gpu, params_billions, quantization, tensor_parallel)]
    if mine:
        return _fitted_profile(gpu, weight_gb, tensor_parallel, t1, t1_note, mine, "calibration-file")
    profile = _own_profile(gpu, params_billions, quantization, tensor_parallel, t1, t1_note)
    return _no_slower_than_slower_gpus(profile, gpu, params_billions, quantization, tensor_parallel)


def _own_profile(
    gpu: GpuSpec,
    params_billions: float,
    quantization: Quantization | None,
    tensor_parallel: int,
    t1: float,
    t1_note: str,
) -> DecodeProfile:
    """The GPU's decode line from its own evidence: a measured sweep of this configuration, else the anchor
    suite scaled to it (its own anchor points, or the A100-80GB's by bandwidth with the GPU's correction)."""
    weight_gb = params_billions * bytes_per_param(quantization)
    swept = _sweep(gpu, params_billions, quantization, tensor_parallel)
    if swept:
        return _fitted_profile(gpu, weight_gb, tensor_parallel, t1, t1_note, swept, "measured")
    return _scaled_profile(gpu, weight_gb, tensor_parallel, t1, t1_note)


def _sweep(
    gpu: GpuSpec, params_billions: float, quantization: Quantization | None, tensor_parallel: int
) -> list[CalibrationPoint]:
    return [
        p
        for p in REFERENCE_POINTS
        if p.used and not p.anchor and _same_configuration(p, gpu, params_billions, quantization, tensor_parallel)
    ]


def _fitted_profile(
    gpu: GpuSpec,
    weight_gb: float,
    tensor_parallel: int,
    t1: float,
    t1_note: str,
    mine: Sequence[CalibrationPoint],
    basis: str,
) -> DecodeProfile:
    fit_t1, c = _fit_line([(p.concurrency, decode_step_without_prefill(p, gpu)) for p in mine], t1)
    if all(p.concurrency == 1 for p in mine):  # a single-stream measurement: the slope stays built in
        c = min(_scaled_profile(gpu, weight_gb, tensor_parallel, t1, t1_note).c, fit_t1)
    levels = ", ".join(str(p.concurrency) for p in sorted(mine, key=lambda p: p.concurrency))
    mine_file = basis == "calibration-file"
    owner = "your calibration file" if mine_file else f"measured sweep ({mine[0].engine})"
    notes = [f"{'your calibration' if mine_file else 'measured'}: {p.describe()}" for p in mine]
    notes.extend(p.note for p in mine if p.note)
    if fit_t1 == t1:
        notes.append(t1_note)
    described = f"{owner}, concurrency {levels}: {mine[0].model}"
    return DecodeProfile(fit_t1, c, basis, described, tuple(dict.fromkeys(notes)), tuple(mine))


def _dominates(faster: GpuSpec, slower: GpuSpec) -> bool:
    return (
        faster.name != slower.name
        and faster.bandwidth_gb_s >= slower.bandwidth_gb_s
        and faster.memory_gib >= slower.memory_gib
        and faster.dense_tflops >= slower.dense_tflops
    )


def _no_slower_than_slower_gpus(
    profile: DecodeProfile,
    gpu: GpuSpec,
    params_billions: float,
    quantization: Quantization | None,
    tensor_parallel: int,
) -> DecodeProfile:
    """A GPU with at least the bandwidth, memory and FLOPs of another decodes at least as fast as the planner
    rates that GPU: where a slower GPU's own line is faster in t1 or c (a measured sweep with a newer engine
    than the anchor suite, or anchor points of its own, as the H100 has, against a GPU scaled from the A100-80GB
    by bandwidth), the line takes the faster t1 and c of the two. Every dominated GPU is compared by its own
    line, so with dominance transitive the result is the same as comparing with their final lines."""
    weight_gb = params_billions * bytes_per_param(quantization)
    for other in GPU_SPECS.values():
        if not _dominates(gpu, other):
            continue
        other_t1 = single_stream_seconds(other, weight_gb, tensor_parallel)
        theirs = _own_profile(other, params_billions, quantization, tensor_parallel, other_t1, "")
        if theirs.t1 < profile.t1 or theirs.c < profile.c:
            profile = replace(
                profile,
                t1=min(profile.t1, theirs.t1),
                c=min(profile.c, theirs.c),
                notes=(
                    *profile.notes,
                    f"no slower than the {other.name} ({theirs.basis}: {theirs.calibration}): {gpu.name} has at "
                    "least its bandwidth, memory and FLOPs",
                ),
                points=tuple(dict.fromkeys((*profile.points, *theirs.points))),
            )
    return profile


def _scaled_profile(gpu: GpuSpec, weight_gb: float, tensor_parallel: int, t1: float, t1_note: str) -> DecodeProfile:
    notes = [t1_note]
    if any(p.used and p.anchor and p.gpu == gpu.name for p in REFERENCE_POINTS):
        point = _nearest_anchor(gpu.name, weight_gb, tensor_parallel)
        step = _scaled_step(point, weight_gb, tensor_parallel, gpu)
        basis = "measured" if _near(point, weight_gb, tensor_parallel) else "scaled"
        calibration = point.describe()
        points: tuple[CalibrationPoint, ...] = (point,)
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
        points = (point, *own)
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
    return DecodeProfile(t1, c, basis, calibration, tuple(notes), points)
