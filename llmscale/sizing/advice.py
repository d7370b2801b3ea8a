"""What the capacity planner says beside its figures: why no fleet meets the SLO, and advice on an answer.

`llmscale.sizing.planner` raises the first as its SizingError message and adds the second to an answer's notes;
the size command maps each message to the option it names (`llmscale.commands.size`).
"""

from __future__ import annotations

from llmscale.sizing.fleet import recommend_tier
from llmscale.sizing.gpus import GpuSpec
from llmscale.sizing.inputs import TENSOR_PARALLEL_SIZES, SizingInputs
from llmscale.sizing.prices import on_demand_gpu_price


def why_unreachable(
    inputs: SizingInputs,
    gpu: GpuSpec,
    params: float,
    weight_gib: float,
    largest_memory: float,
    fastest: tuple[int, float, float] | None,
) -> str:
    """Why no tensor-parallel size sizes the load, with what would: more memory (`fastest` is None: nothing
    fits), a looser TTFT SLO (prefill alone is too slow), or a looser p99 SLO (one request alone is too slow).

    `fastest` is the fastest fitting size as (tp, lone-request end-to-end, lone-request ttft) seconds.
    """
    if fastest is None:
        most = max(tp for tp in TENSOR_PARALLEL_SIZES if tp <= inputs.max_gpus_per_replica)
        return (
            f"{inputs.model} needs {weight_gib:.0f} GiB of weights plus KV cache; {most}x {gpu.name} leave "
            f"{largest_memory:.0f} GiB: quantize (--quantization fp8/awq) or choose a GPU with more memory"
        )
    tp, lone_p99, lone_ttft = fastest
    if inputs.ttft_seconds is not None and lone_ttft > inputs.ttft_seconds and lone_p99 <= inputs.p99_seconds:
        return (
            f"TTFT SLO {inputs.ttft_seconds:g} s is unreachable: prefilling {inputs.prompt_tokens} tokens alone "
            f"takes {lone_ttft:.2f} s on {tp}x {gpu.name}; raise --ttft, shorten prompts or choose a faster GPU"
        )
    return (
        f"p99 SLO {inputs.p99_seconds:g} s is unreachable: one request alone takes {lone_p99:.1f} s for "
        f"{inputs.output_tokens} output tokens on {tp}x {gpu.name} ({params:g}B); raise --p99, shorten answers, "
        "quantize, or choose a faster GPU"
    )


def advice_notes(
    inputs: SizingInputs, gpu: GpuSpec, node_gpus: int | None, tp: int, to_provision: int, needed: int
) -> list[str]:
    """Notes on an answer that tell the user what to change or know: a replica wider than a node, weights the
    model id suggests are quantized, where the price comes from, and that the single-gpu tier has no headroom."""
    notes = []
    if node_gpus is not None and tp > node_gpus:
        notes.append(
            f"a replica needs {tp} GPUs on one node but {inputs.gpu} has {node_gpus}: choose a larger instance type"
        )
    if inputs.quantization is None:
        lowered = inputs.model.lower()
        for hint in ("awq", "gptq", "fp8"):
            if hint in lowered:
                notes.append(f"the model id suggests {hint.upper()} weights: pass --quantization {hint}")
    if inputs.price_per_gpu_hour is None:
        price = on_demand_gpu_price(inputs.gpu, inputs.region)
        if price is None:
            notes.append(f"no on-demand price for {inputs.gpu}: pass your rate with --price-per-gpu-hour")
        else:
            notes.append(f"cost at {price.source}; pass your {gpu.name} rate with --price-per-gpu-hour")
    if recommend_tier(needed, inputs.users) == "single-gpu":
        notes.append(
            f"the single-gpu tier runs one GPU without headroom (the {to_provision} to provision assume a fleet); "
            "a host failure is an outage until recovery"
        )
    return notes
