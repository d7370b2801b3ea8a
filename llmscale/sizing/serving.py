"""What follows from a sized replica: vLLM's batch limit and KEDA's queue-depth target, with the reasoning;
and the replica model `size` weighs, rebuilt for one tensor-parallel size (accuracy checks)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from llmscale.sizing.calibration import CalibrationPoint, bytes_per_param, decode_profile, prefill_tokens_per_second
from llmscale.sizing.gpus import resolve_gpu
from llmscale.sizing.inputs import SizingInputs, model_params
from llmscale.sizing.replica import Replica, ReplicaState
from llmscale.sizing.results import ServingSettings

OVERHEAD_GIB_PER_GPU = 1.5  # activations, CUDA graphs and the CUDA context, outside weights and KV cache
QUEUE_DEPTH_CAP = 10  # the problem statement's "queue depth > 10 means overloaded"


def kv_request_gib(inputs: SizingInputs, params: float) -> float:
    """GiB of KV cache one request holds on average: prompt + half the answer (blocks are allocated as tokens
    are generated), at half the size with an FP8 cache."""
    from llmscale.sizing.inputs import kv_bytes_per_token

    tokens = inputs.prompt_tokens + inputs.output_tokens / 2
    per_token = kv_bytes_per_token(params) * (0.5 if inputs.kv_cache_dtype == "fp8" else 1.0)
    return per_token * tokens / 2**30


def matching_user_points(
    points: Sequence[CalibrationPoint], gpu_name: str, params: float, quantization: object
) -> list[CalibrationPoint]:
    """The user's points for this GPU, model size (±5 %) and quantization."""
    return [
        p
        for p in points
        if p.gpu == gpu_name and abs(p.params_billions / params - 1) <= 0.05 and p.quantization == quantization
    ]


def build_replica(inputs: SizingInputs, tp: int, calibration: Sequence[CalibrationPoint] = ()) -> Replica:
    """The replica model `size` weighs for `tp` GPUs per replica (for accuracy checks and the simulator)."""
    gpu, _ = resolve_gpu(inputs.gpu)
    params = model_params(inputs.model)
    quant = inputs.quantization
    usable = tp * (gpu.memory_gib * inputs.gpu_memory_utilization - OVERHEAD_GIB_PER_GPU)
    kv_requests = (usable - params * 1e9 * bytes_per_param(quant) / 2**30) / kv_request_gib(inputs, params)
    profile = decode_profile(gpu, params, quant, tp, matching_user_points(calibration, gpu.name, params, quant))
    prefill = inputs.prompt_tokens * (1 - inputs.prefix_reuse) / prefill_tokens_per_second(gpu, params, quant, tp)
    return Replica(tp=tp, profile=profile, prefill_seconds=prefill, kv_requests=kv_requests, inputs=inputs)


def serving_settings(inputs: SizingInputs, replica: Replica, state: ReplicaState, replicas: int) -> ServingSettings:
    """vLLM's `--max-num-seqs` and KEDA's per-replica queue-depth and in-flight targets for a sized replica (one of
    `replicas`, the fewest that meet the SLO at the peak), with the reasoning.

    max-num-seqs: the 99th percentile of requests in flight with a quarter more room, rounded up to a multiple
    of 8, no more than the KV cache holds (beyond it vLLM would preempt) nor the stated limit. Queue depth: a
    request that waits behind q others waits about q / (requests a replica completes per second); the target
    is the q whose wait still fits the TTFT budget left (the TTFT SLO, else the p99 budget) after the estimated
    TTFT, at least 1 and at most 10. In flight: the mean requests in flight per replica at the peak, rounded down,
    so that the autoscaler asks for at least `replicas` at the peak (the HPA asks for ceil(total / target) on
    KEDA's AverageValue metric: kubernetes pkg/controller/podautoscaler/replica_calculator.go,
    GetExternalPerPodMetricReplicas) and adds replicas as the load grows, not once batches are full (at least 1,
    at most the stated max-num-seqs).
    """
    room = math.ceil(state.in_flight_p99 * 1.25 / 8) * 8
    kv_cap = max(1, math.floor(replica.kv_requests))
    seqs = max(1, min(room, kv_cap, inputs.max_num_seqs))
    budget = inputs.ttft_seconds if inputs.ttft_seconds is not None else inputs.p99_seconds - state.p99 + state.ttft
    slack = max(budget - state.ttft, 0.0)
    depth = max(1, min(QUEUE_DEPTH_CAP, math.floor(slack * state.rate)))
    in_flight = max(1, min(math.floor(state.in_flight + 1e-9), inputs.max_num_seqs))
    which = "TTFT SLO" if inputs.ttft_seconds is not None else "p99 budget"
    reasoning = (
        f"max-num-seqs {seqs}: {state.in_flight_p99:.1f} requests in flight per replica at the 99th percentile, "
        f"+25 % rounded up to a multiple of 8 ({room}), at most the {kv_cap} the KV cache holds and the stated "
        f"limit {inputs.max_num_seqs}",
        f"queue-depth target {depth}: a replica completes {state.rate:.2f} requests/s, so each waiting request "
        f"adds about {1 / state.rate if state.rate else math.inf:.2f} s to TTFT; the {which} leaves "
        f"{slack:.2f} s after the estimated {state.ttft:.2f} s TTFT (kept between 1 and {QUEUE_DEPTH_CAP})",
        f"in-flight target {in_flight}: {state.in_flight:.1f} requests in flight per replica on average at the peak "
        f"with {replicas} replicas, the fewest that meet the SLO, rounded down so that the autoscaler asks for at "
        f"least {replicas} there; above it the autoscaler adds replicas (at most the stated limit "
        f"{inputs.max_num_seqs})",
    )
    return ServingSettings(seqs, depth, in_flight, reasoning)
