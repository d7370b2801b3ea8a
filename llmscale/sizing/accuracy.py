"""How far the planner's GPU counts are from measured ones, on points it was not calibrated on.

A held-out point says: a replica of `tp` GPUs served `concurrency` requests at once (no think time) with a
mean end-to-end latency L_measured, so K replicas (K × tp GPUs) carry K × concurrency / L_measured requests/s.
The planner's replica model (`llmscale.sizing.planner.build_replica`, the very model `size` searches with),
given the point's GPU, model, tensor parallelism, lengths and KV cache type and the same concurrency per
replica, predicts L_planner; to carry the same requests/s at that concurrency it needs
K × tp × L_planner / L_measured GPUs. K = 100 keeps whole replicas from hiding errors below one replica.

Asking `size` for the fewest GPUs under the bound p99 ≤ L_measured instead is ill-conditioned near a lone
request (at concurrency 1 the bound is the single-stream time, and a 7 % faster engine packs two requests per
replica: half the GPUs); the fixed-concurrency question measures the planner's speed model without that cliff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmscale.sizing.inputs import SizingError, SizingInputs
from llmscale.sizing.measurements import HELD_OUT_POINTS, CalibrationPoint
from llmscale.sizing.planner import build_replica

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


def check(point: CalibrationPoint) -> Check:
    """Predict a held-out point and compare the GPUs with what was measured."""
    measured = FLEET_MULTIPLE * point.tensor_parallel
    inputs = held_out_inputs(point)
    replica = build_replica(inputs, point.tensor_parallel)
    state = replica.state(FLEET_MULTIPLE)
    if state is None:
        return Check(point, measured, None, "unreachable")
    predicted = math.ceil(measured * state.latency / inputs.p99_seconds)
    return Check(point, measured, predicted, replica.profile.basis)


def held_out_checks(points: tuple[CalibrationPoint, ...] = HELD_OUT_POINTS) -> list[Check]:
    """Every held-out point, checked."""
    return [check(point) for point in points]
