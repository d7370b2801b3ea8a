"""Capacity planner: how many GPUs a load needs at peak to meet a latency SLO, with its error, and what that costs.

The model, in five steps (calibration in `llmscale.sizing.calibration`, the replica in `llmscale.sizing.replica`;
the messages beside the figures in `llmscale.sizing.advice`, sizing across loads in `llmscale.sizing.sweeps`):

1. **Decode speed of one replica.** `step(b) = t1 + (b - 1) × c` seconds per output token with b requests in
   flight: t1 from memory bandwidth, c fitted to measured rows (`llmscale.sizing.measurements`).
2. **Prefill.** The prompt tokens the prefix cache does not serve cost `tokens / prefill_rate` seconds of GPU
   compute (half the GPU's dense peak FLOPs). Half of that work overlaps memory-bound decode steps; the other
   half slows them down: `step × 1 / (1 - 0.5 × ρ)`, ρ being the share of time the replica spends prefilling.
3. **Load (Little's law, closed loop).** n users per replica who think `think_time` seconds between requests
   keep `b = n × L / (think_time + L)` requests in flight when a request takes L seconds; batch traffic adds
   `rate × L`; L is the least fixed point of `L = ttft + output_tokens × step(b)`.
4. **Latency at the 99th percentile.** At the 99th percentile `b99 = b + 2.33 × √b` requests are in flight
   (Poisson). Then `ttft = prefill / (1 - ρ) + step(b99)`, `tpot = step(b99)` and
   `p99 = ttft + (output_tokens - 1) × tpot`. b99 must also fit vLLM's `--max-num-seqs` and the KV cache
   left after the weights, at the workload's mean sequence length (prompt + half the answer: vLLM allocates
   KV blocks as tokens are generated, vllm/v1/core/kv_cache_manager.py `allocate_slots`, vLLM 0.33).
5. **Fleet.** The fewest replicas that meet the SLO, for each tensor-parallel size whose memory holds the
   weights and one request's KV cache; the size needing the fewest GPUs wins. Then headroom (N+2), tier, cost,
   the batch limit and the KEDA queue-depth target that follow, and the error range.

**Error.** `range` sizes the same load at the ends of the speed band of the answer's basis (`SPEED_BANDS`):
the spread the planner showed on measured points it was not calibrated on (`llmscale.sizing.accuracy`,
`benchmarks/sizing_accuracy.py`); a test keeps the bands covering it.

Every step is monotone: more users, longer answers or prompts, a tighter SLO, less prefix reuse or a slower GPU
never need fewer GPUs, and the property tests check it.

Weaknesses: GPUs and model sizes without a measured sweep rest on the 2024 anchor suite (vLLM 0.5.4), which
later releases beat, so those estimates lean towards too many GPUs (their error band says how far). Every
answer is assumed to have `output_tokens` tokens (pass your p99 length). Speculative decoding and
mixture-of-experts sparsity are ignored (an MoE model is sized as dense, pessimistically). Tensor-parallel
scaling is one rule for NVLink and PCIe GPUs alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from llmscale.config.models import Lane, ModelProfile, StackConfig
from llmscale.sizing.advice import advice_notes, why_unreachable
from llmscale.sizing.calibration import decode_profile, prefill_tokens_per_second
from llmscale.sizing.fleet import MonthlyCost, gpu_price, headroom_gpus, monthly_cost, recommend_tier
from llmscale.sizing.gpus import CalibrationError, bytes_per_param, resolve_gpu
from llmscale.sizing.inputs import (
    TENSOR_PARALLEL_SIZES,
    SizingError,
    SizingInputs,
    model_params,
)
from llmscale.sizing.measurements import CalibrationPoint
from llmscale.sizing.model_size import parameters_billions
from llmscale.sizing.replica import Replica
from llmscale.sizing.results import SizingResult, SizingSource, TensorParallelOption
from llmscale.sizing.serving import OVERHEAD_GIB_PER_GPU, kv_request_gib, matching_user_points, serving_settings

# How much slower or faster than the model a deployment may measure, by the basis of the answer, as
# (slowest, fastest) multiples of the model's speed: at least the spread the planner showed on measured points it
# was not calibrated on (`python benchmarks/sizing_accuracy.py` prints them; a test keeps these bands covering
# them). measured: held-out versions and answer lengths of measured sweeps (0.87-0.97). scaled and
# bandwidth-estimate: the measured sweeps predicted without themselves, by scaling the 2024 anchor suite
# (0.95-4.31: recent engines are faster; the MI300X sweep 4.3x). calibration-file: your own sweep.
SPEED_BANDS: dict[str, tuple[float, float]] = {
    "calibration-file": (0.85, 1.15),
    "measured": (0.85, 1.15),
    "scaled": (0.9, 4.5),
    "bandwidth-estimate": (0.9, 4.5),
}


def size(
    inputs: SizingInputs, calibration: Sequence[CalibrationPoint] = (), *, with_range: bool = True
) -> SizingResult:
    """Size a deployment for `inputs`: GPUs needed at peak to meet the SLO, its error range, headroom, tier,
    serving settings and cost.

    `calibration` holds points from the user's `vllm bench serve` results (`load_calibration`); when some
    match the GPU, model size and quantization they replace the built-in table and the bandwidth estimate,
    and only their tensor-parallel sizes are considered. Raises SizingError when no tensor-parallel size
    fits the model in memory or reaches the SLO, with what would. `with_range=False` skips the two extra
    sizings the error range takes (for callers that only need `gpusNeeded`, such as load sweeps).
    """
    result = _size_once(inputs, calibration)
    if not with_range:
        return result
    slowest, fastest = SPEED_BANDS[result.source.basis]
    low = _gpus_at_speed(inputs, calibration, fastest)
    high = _gpus_at_speed(inputs, calibration, slowest)
    low = result.gpus_needed if low is None else min(low, result.gpus_needed)
    high = None if high is None else max(high, result.gpus_needed)
    return replace(result, range_low=low, range_high=high, speed_band=(slowest, fastest))


def _gpus_at_speed(inputs: SizingInputs, calibration: Sequence[CalibrationPoint], speed: float) -> int | None:
    try:
        return _size_once(replace(inputs, speed=inputs.speed * speed), calibration).gpus_needed
    except SizingError:
        return None


def _size_once(inputs: SizingInputs, calibration: Sequence[CalibrationPoint]) -> SizingResult:
    try:
        gpu, node_gpus = resolve_gpu(inputs.gpu)
    except CalibrationError as error:
        raise SizingError(str(error)) from None
    params = model_params(inputs.model)
    quant = inputs.quantization
    weight_gib = params * 1e9 * bytes_per_param(quant) / 2**30
    per_request_gib = kv_request_gib(inputs, params)
    new_tokens = inputs.prompt_tokens * (1 - inputs.prefix_reuse)

    user_points = matching_user_points(calibration, gpu.name, params, quant)
    sizes = sorted({p.tensor_parallel for p in user_points}) if user_points else list(TENSOR_PARALLEL_SIZES)
    sizes = [tp for tp in sizes if inputs.min_gpus_per_replica <= tp <= inputs.max_gpus_per_replica]
    if not sizes:
        raise SizingError(
            f"your calibration covers no tensor-parallel size from {inputs.min_gpus_per_replica} to "
            f"{inputs.max_gpus_per_replica} GPUs per replica"
        )
    options: list[tuple[int, int, Replica, int]] = []
    weighed: list[TensorParallelOption] = []
    fastest: tuple[int, float, float] | None = None  # tp, lone-request end-to-end, lone-request ttft
    largest_memory = 0.0
    for tp in sizes:
        usable = tp * (gpu.memory_gib * inputs.gpu_memory_utilization - OVERHEAD_GIB_PER_GPU)
        largest_memory = max(largest_memory, usable)
        kv_requests = (usable - weight_gib) / per_request_gib
        if kv_requests < 1:
            weighed.append(TensorParallelOption(tp, None, "weights and one request's KV cache do not fit"))
            continue
        profile = decode_profile(gpu, params, quant, tp, user_points)
        if inputs.speed != 1.0:
            profile = replace(profile, t1=profile.t1 / inputs.speed, c=profile.c / inputs.speed)
        prefill = new_tokens / prefill_tokens_per_second(gpu, params, quant, tp) / inputs.speed
        replica = Replica(tp=tp, profile=profile, prefill_seconds=prefill, kv_requests=kv_requests, inputs=inputs)
        lone_ttft, lone_e2e = replica.lone_request()
        if fastest is None or lone_e2e < fastest[1]:
            fastest = (tp, lone_e2e, lone_ttft)
        replicas = replica.replicas_needed()
        weighed.append(TensorParallelOption(tp, replicas, "" if replicas else "no replica count meets the SLO"))
        if replicas is not None:
            options.append((replicas * tp, tp, replica, replicas))
    if not options:
        raise SizingError(why_unreachable(inputs, gpu, params, weight_gib, largest_memory, fastest))
    gpus_needed, tp, replica, replicas = min(options, key=lambda option: (option[0], option[1]))
    state = replica.state(replicas)
    assert state is not None
    to_provision = headroom_gpus(gpus_needed, tp)
    notes = list(replica.profile.notes)
    notes.append(
        f"per replica at peak: {state.in_flight:.1f} requests in flight on average, {state.in_flight_p99:.0f} at "
        f"the 99th percentile; mean latency {state.latency:.1f} s; KV cache room for {replica.kv_requests:.0f} "
        f"requests of {inputs.prompt_tokens + inputs.output_tokens / 2:g} tokens on average"
    )
    if inputs.prefix_reuse:
        notes.append(f"{inputs.prefix_reuse:.0%} of prompt tokens come from the prefix cache: no prefill for them")
    notes.extend(advice_notes(inputs, gpu, node_gpus, tp, to_provision, gpus_needed))
    return SizingResult(
        inputs=inputs,
        gpu=gpu.name,
        params_billions=params,
        gpus_needed=gpus_needed,
        replicas=replicas,
        gpus_per_replica=tp,
        gpus_to_provision=to_provision,
        replicas_to_provision=to_provision // tp,
        recommended_tier=recommend_tier(gpus_needed, inputs.users),
        estimated_p99_seconds=state.p99,
        estimated_ttft_seconds=state.ttft,
        estimated_tpot_seconds=state.tpot,
        gpu_utilization=replica.utilization(state),
        requests_per_second=state.rate * replicas,
        concurrent_requests=state.in_flight * replicas,
        requests_per_replica=state.in_flight,
        kv_cache_requests_per_replica=replica.kv_requests,
        required_tokens_per_second_per_stream=inputs.output_tokens / max(inputs.p99_seconds - state.ttft, 1e-9),
        cost=_cost(inputs, to_provision, tp),
        source=SizingSource(
            basis=replica.profile.basis,
            bandwidth_estimate=replica.profile.bandwidth_estimate,
            calibration=replica.profile.calibration,
            notes=tuple(notes),
        ),
        rows=replica.profile.points,
        options=tuple(weighed),
        serving=serving_settings(inputs, replica, state, replicas),
    )


def _cost(inputs: SizingInputs, gpus: int, gpus_per_replica: int) -> MonthlyCost:
    price = gpu_price(inputs)
    if price is None:
        return monthly_cost(gpus, gpus_per_replica, None, inputs.schedule, f"no on-demand price for {inputs.gpu}")
    return monthly_cost(gpus, gpus_per_replica, price.per_gpu_hour, inputs.schedule, price.source)


def sizing_profile(config: StackConfig) -> ModelProfile:
    """The profile a stack is sized for: its largest interactive profile (the users' load is chat), else its
    largest profile."""
    interactive = [p for p in config.models if p.lane is Lane.INTERACTIVE] or list(config.models)

    def weight(profile: ModelProfile) -> float:
        return (parameters_billions(profile.model) or 0.0) * bytes_per_param(profile.quantization)

    return max(interactive, key=weight)


def size_for_stack(
    config: StackConfig,
    calibration: Sequence[CalibrationPoint] = (),
    profile: ModelProfile | None = None,
    region: str | None = None,
    *,
    own_replicas: bool = False,
) -> SizingResult:
    """Size a stack from its own config: `load`, `slo`, `gpu`, `schedule` and its sizing profile.

    The profile (default `sizing_profile(config)`) gives the model, quantization, `maxNumSeqs`,
    `gpuMemoryUtilization` and the least GPUs per replica; a replica never spans more GPUs than one node of
    `gpu.instanceType` has. `own_replicas`: size replicas of exactly the profile's GPUs (its tensor-parallel size),
    for what one of the stack's own replicas carries. Used by the policy pack's headroom and in-flight rules and
    by `llmscale new`; raises SizingError when the stack's SLO is unreachable or its GPU unknown.
    """
    chosen = profile or sizing_profile(config)
    if parameters_billions(chosen.model) is None:
        raise SizingError(
            f"model {chosen.model} (profile {chosen.name}): cannot tell its size from the name, so it cannot be sized"
        )
    least = next(tp for tp in TENSOR_PARALLEL_SIZES if tp >= chosen.gpus_per_replica)
    return size(
        SizingInputs(
            users=config.load.peak_concurrent_users,
            prompt_tokens=config.load.prompt_tokens,
            output_tokens=config.load.output_tokens,
            model=chosen.model,
            quantization=chosen.quantization,
            gpu=config.gpu.instance_type,
            p99_seconds=config.slo.p99_latency_seconds,
            ttft_seconds=config.slo.ttft_p95_seconds,
            think_time_seconds=config.load.think_time_seconds,
            price_per_gpu_hour=config.gpu.price_per_gpu_hour,
            region=region,
            max_num_seqs=chosen.max_num_seqs,
            gpu_memory_utilization=chosen.gpu_memory_utilization,
            min_gpus_per_replica=least,
            max_gpus_per_replica=least if own_replicas else max(least, config.gpu.gpus),
            schedule=config.schedule,
        ),
        calibration,
    )
