"""How far the planner's GPU counts are from measured ones, on points it was not calibrated on.

A held-out point says: a replica of `tp` GPUs served `concurrency` requests at once (no think time) with a
mean end-to-end latency L_measured, so K replicas (K × tp GPUs) carry K × concurrency / L_measured requests/s.
The planner's replica model (`llmscale.sizing.serving.build_replica`, the very model `size` searches with),
given the point's GPU, model, tensor parallelism, lengths and KV cache type and the same concurrency per
replica, predicts L_planner; to carry the same requests/s at that concurrency it needs
K × tp × L_planner / L_measured GPUs. K = 100 keeps whole replicas from hiding errors below one replica.

The same question is asked of every measured sweep the planner is calibrated on, predicted without that sweep
(`out_of_sweep_checks`: the 2024 anchor suite scaled by weight size, tensor parallelism and memory bandwidth,
no per-GPU correction): that is how far `scaled` and `bandwidth-estimate` answers can be off.

Asking `size` for the fewest GPUs under the bound p99 ≤ L_measured instead is ill-conditioned near a lone
request (at concurrency 1 the bound is the single-stream time, and a 7 % faster engine packs two requests per
replica: half the GPUs); the fixed-concurrency question measures the planner's speed model without that cliff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from llmscale.sizing.calibration import (
    ANCHOR_GPU,
    GPU_SPECS,
    SATURATED_BATCH,
    DecodeProfile,
    _fit_line,
    _nearest_anchor,
    _scaled_step,
    single_stream_seconds,
)
from llmscale.sizing.inputs import SizingError, SizingInputs
from llmscale.sizing.measurements import HELD_OUT_POINTS, REFERENCE_POINTS, CalibrationPoint
from llmscale.sizing.serving import build_replica

FLEET_MULTIPLE = 100
TOLERANCE = 0.25  # the planner must land within ±25 % of measured GPUs on held-out points of measured configurations


@dataclass(frozen=True)
class Check:
    """One held-out point: measured GPUs, the planner's GPUs and basis, and the relative error."""

    point: CalibrationPoint
    measured_gpus: int
    predicted_gpus: int | None
    basis: str

    @property
    def error(self) -> float | None:
        """predicted / measured - 1 (None when the planner called the load unreachable)."""
        return None if self.predicted_gpus is None else self.predicted_gpus / self.measured_gpus - 1

    @property
    def speed_ratio(self) -> float | None:
        """Measured speed over the model's: the latency the model predicts over the one measured (1 + error)."""
        return None if self.error is None else 1 + self.error


def held_out_inputs(point: CalibrationPoint) -> SizingInputs:
    """The sizing question a held-out point answers (see the module docstring)."""
    latency = point.mean_latency_seconds()
    if latency is None or point.prompt_tokens is None or point.output_tokens is None:
        raise SizingError(f"{point.describe()}: a held-out point needs prompt and answer lengths")
    return SizingInputs(
        users=FLEET_MULTIPLE * point.concurrency,
        prompt_tokens=point.prompt_tokens,
        output_tokens=point.output_tokens,
        model=f"{point.params_billions:g}b",
        quantization=point.quantization,
        gpu=point.gpu,
        p99_seconds=latency,
        think_time_seconds=0.0,
        max_num_seqs=max(point.concurrency, 256),
        min_gpus_per_replica=point.tensor_parallel,
        max_gpus_per_replica=point.tensor_parallel,
        kv_cache_dtype="fp8" if point.kv_cache_fp8 else "auto",
        price_per_gpu_hour=0.0,
    )


def check(point: CalibrationPoint, profile: DecodeProfile | None = None) -> Check:
    """Predict a held-out point (with `profile` instead of the planner's own, if given) and compare the GPUs."""
    measured = FLEET_MULTIPLE * point.tensor_parallel
    inputs = held_out_inputs(point)
    replica = build_replica(inputs, point.tensor_parallel)
    if profile is not None:
        replica = replace(replica, profile=profile)
    state = replica.state(FLEET_MULTIPLE)
    if state is None:
        return Check(point, measured, None, "unreachable")
    predicted = math.ceil(measured * state.latency / inputs.p99_seconds)
    return Check(point, measured, predicted, replica.profile.basis)


def anchor_scaled_profile(point: CalibrationPoint) -> DecodeProfile:
    """The decode line the planner would use for the point's configuration without any sweep or per-GPU
    correction: the nearest anchor point (on the point's GPU when the anchor suite measured it, else on the
    A100-80GB) scaled by weight size, tensor parallelism and memory bandwidth."""
    gpu = GPU_SPECS[point.gpu]
    t1 = single_stream_seconds(gpu, point.weight_gb, point.tensor_parallel)
    on_gpu = any(p.used and p.anchor and p.gpu == gpu.name for p in REFERENCE_POINTS)
    anchor = _nearest_anchor(gpu.name if on_gpu else ANCHOR_GPU, point.weight_gb, point.tensor_parallel)
    _, c = _fit_line([(SATURATED_BATCH, _scaled_step(anchor, point.weight_gb, point.tensor_parallel, gpu))], t1)
    return DecodeProfile(t1, c, "scaled" if on_gpu else "bandwidth-estimate", anchor.describe(), (), (anchor,))


def out_of_sweep_checks() -> list[Check]:
    """Every measured sweep row with lengths, predicted by anchor scaling alone (see the module docstring)."""
    rows = [p for p in REFERENCE_POINTS if p.used and not p.anchor and p.output_tokens and p.prompt_tokens]
    return [check(point, anchor_scaled_profile(point)) for point in rows]


def held_out_checks(points: tuple[CalibrationPoint, ...] = HELD_OUT_POINTS) -> list[Check]:
    """Every held-out point, checked."""
    return [check(point) for point in points]
