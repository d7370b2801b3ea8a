"""The human summary of a sizing, as `llmscale size` prints it on stderr: a two-column table of the figures, then
where they come from (the basis, the planner's notes, the serving settings' reasoning).

The JSON form is `SizingResult.to_json` (`llmscale.sizing.results`).
"""

from __future__ import annotations

from llmscale.sizing.results import SizingResult


def render_text(result: SizingResult) -> str:
    """The human summary: a small two-column table, then where the figures come from."""
    inputs = result.inputs
    quant = inputs.quantization.value if inputs.quantization else "BF16"
    load = f"{inputs.users} users" if inputs.users is not None else f"{inputs.requests_per_second:g} req/s"
    think = f", think {inputs.think_time_seconds:g} s" if inputs.users is not None else ""
    ttft_slo = f", TTFT <= {inputs.ttft_seconds:g} s" if inputs.ttft_seconds is not None else ""
    header = (
        f"{load}, {inputs.model} {quant} on {result.gpu}, {inputs.prompt_tokens} in / {inputs.output_tokens} out, "
        f"p99 <= {inputs.p99_seconds:g} s{ttft_slo}{think}"
    )
    replica_word = "replica" if result.replicas == 1 else "replicas"
    high = "unreachable" if result.range_high is None else str(result.range_high)
    rows = [
        ("GPUs needed at peak", f"{result.gpus_needed} ({result.replicas} {replica_word} x {result.gpus_per_replica})"),
        (
            "range (stated error)",
            f"{result.range_low}-{high} (measured speed x{result.speed_band[0]:g} to x{result.speed_band[1]:g} "
            f"of the model's, {result.source.basis})",
        ),
        ("GPUs to provision", f"{result.gpus_to_provision} (N+2 headroom, {result.replicas_to_provision} replicas)"),
        ("recommended tier", result.recommended_tier),
        ("estimated p99 / TTFT", f"{result.estimated_p99_seconds:.1f} s / {result.estimated_ttft_seconds:.2f} s"),
        ("GPU utilisation at peak", f"{result.gpu_utilization:.0%}"),
        (
            "in flight at peak",
            f"{result.concurrent_requests:.1f} requests ({result.requests_per_second:.2f} req/s), "
            f"{result.required_tokens_per_second_per_stream:.1f} tok/s per stream",
        ),
        *_serving_rows(result),
        *_cost_rows(result),
        ("throughput basis", f"{result.source.basis}: {result.source.calibration}"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [header, *(f"  {label:<{width}}  {value}" for label, value in rows)]
    if result.source.bandwidth_estimate:
        lines.append(
            f"  ! BANDWIDTH ESTIMATE: no vLLM measurement on {result.gpu} for this model; "
            "calibrate with --calibration FILE"
        )
    lines.extend(f"  - {note}" for note in result.source.notes)
    if result.serving is not None:
        lines.extend(f"  - {line}" for line in result.serving.reasoning)
    return "\n".join(lines)


def _serving_rows(result: SizingResult) -> list[tuple[str, str]]:
    if result.serving is None:
        return []
    return [
        ("vLLM --max-num-seqs", str(result.serving.max_num_seqs)),
        ("KEDA queue-depth target", f"{result.serving.queue_depth_target} waiting requests per replica"),
        ("KEDA in-flight target", f"{result.serving.in_flight_target} requests in flight per replica"),
    ]


def _cost_rows(result: SizingResult) -> list[tuple[str, str]]:
    cost = result.cost
    if cost.always_on is None or cost.with_schedule is None or cost.price_per_gpu_hour is None:
        return [("monthly cost", f"unknown: {cost.source}; pass --price-per-gpu-hour")]
    return [
        ("monthly cost, always on", f"${cost.always_on:,.0f} at ${cost.price_per_gpu_hour:.4g}/GPU-hour"),
        ("monthly cost, scheduled", f"${cost.with_schedule:,.0f} ({cost.schedule})"),
    ]
