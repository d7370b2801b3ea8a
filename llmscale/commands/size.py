"""`llmscale size`: how many GPUs a load needs at peak, with headroom, tier, latency and cost.

A table goes to stderr, `--json` to stdout, `--plot FILE.svg` draws GPUs and p99 against load (matplotlib,
the `plot` extra). Exit 0 with an answer, 2 on bad input or an SLO nothing reaches (one line naming the option,
no traceback). The planner itself is `llmscale.sizing.planner`; `size_for_stack` is re-exported here for callers of the
command layer.

The defaults are a stack's defaults, so that `llmscale size` and `llmscale new` tell one story: the GPU and the
p99 SLO of the tier presets (g6e.xlarge, 10 s), LoadConfig's prompt, answer and think time, vLLM's batch limit.
An EC2 instance type bounds a replica to the GPUs of one instance, as a stack's node type does; an accelerator
name (L40S) leaves tensor parallelism free up to 8 GPUs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from llmscale.commands.usage import shown, usage_error
from llmscale.config.models import Tier
from llmscale.config.presets import PRESETS
from llmscale.config.regions import region_problem
from llmscale.sizing import catalog
from llmscale.sizing.calibration import (
    CalibrationError,
    CalibrationPoint,
    load_calibration,
    parse_quantization,
    resolve_gpu,
)
from llmscale.sizing.planner import (
    DEFAULT_MAX_NUM_SEQS,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT_TOKENS,
    DEFAULT_THINK_TIME_SECONDS,
    DEFAULT_USERS,
    ENTERPRISE_MIN_USERS,
    MULTI_GPU_MAX_GPUS,
    SINGLE_GPU_MAX_USERS,
    SizingError,
    SizingInputs,
    SizingResult,
    curve,
    model_params,
    size,
    size_for_stack,
)

__all__ = ["STACK_GPU", "STACK_P99_SECONDS", "register", "size_command", "size_for_stack"]

PLOT_POINTS = 48
PREFIX = "llmscale size"

# A stack's defaults (the multi-gpu preset; every tier's preset has the same GPU model and p99 SLO).
STACK_GPU: str = PRESETS[Tier.MULTI_GPU]["gpu"]["instanceType"]
STACK_P99_SECONDS: float = PRESETS[Tier.MULTI_GPU]["slo"]["p99LatencySeconds"]

# Which option a planner message is about, by how the message starts (SizingInputs and size() messages).
_MESSAGE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("give peak concurrent users", "--users/--rps"),
    ("users must", "--users"),
    ("requests per second", "--rps"),
    ("prompt tokens", "--prompt-tokens"),
    ("output tokens", "--output-tokens"),
    ("p99 latency", "--p99"),
    ("p99 SLO", "--p99"),
    ("TTFT SLO", "--ttft"),
    ("TPOT SLO", "--tpot"),
    ("prefix reuse", "--prefix-reuse"),
    ("batch requests", "--batch-rps"),
    ("kv cache dtype", "--kv-cache-dtype"),
    ("think time", "--think-time"),
    ("price per GPU-hour", "--price-per-gpu-hour"),
    ("max-num-seqs", "--max-num-seqs"),
    ("model ", "--model"),
    ("gpu ", "--gpu"),
    ("quantization ", "--quantization"),
    ("your calibration", "--calibration"),
)


def _fail(option: str, message: str) -> typer.Exit:
    return usage_error(option, message, PREFIX)


def _option_for(message: str) -> str:
    for start, option in _MESSAGE_OPTIONS:
        if message.startswith(start):
            return option
    if "GiB of weights" in message:
        return "--gpu"
    return "--model"


def size_command(
    users: Annotated[
        int | None,
        typer.Option("--users", help=f"Peak concurrent users (default {DEFAULT_USERS} unless --rps is given)."),
    ] = None,
    rps: Annotated[float | None, typer.Option("--rps", help="Peak requests per second, instead of --users.")] = None,
    prompt_tokens: Annotated[int, typer.Option("--prompt-tokens", help="Prompt tokens per request.")] = (
        DEFAULT_PROMPT_TOKENS
    ),
    output_tokens: Annotated[
        int, typer.Option("--output-tokens", help="Output tokens per answer (size for your long answers).")
    ] = DEFAULT_OUTPUT_TOKENS,
    model: Annotated[
        str, typer.Option("--model", help="A model id (meta-llama/Llama-3.1-8B-Instruct) or a size (7b, 70b).")
    ] = DEFAULT_MODEL,
    max_num_seqs: Annotated[
        int, typer.Option("--max-num-seqs", help="vLLM's batch limit per replica (a profile's maxNumSeqs).")
    ] = DEFAULT_MAX_NUM_SEQS,
    quantization: Annotated[
        str, typer.Option("--quantization", help="none (BF16/FP16), fp8, awq, gptq, bitsandbytes, compressed-tensors.")
    ] = "none",
    gpu: Annotated[
        str,
        typer.Option(
            "--gpu",
            help="An EC2 type (g6e.xlarge: a replica stays on one instance) or a GPU: A10G, L4, L40S, A100-40GB, "
            "A100-80GB, H100, T4.",
        ),
    ] = STACK_GPU,
    gpus_per_node: Annotated[
        int | None,
        typer.Option("--gpus-per-node", help="GPUs per node of your own node type: a replica stays on one node."),
    ] = None,
    p99: Annotated[float, typer.Option("--p99", help="p99 end-to-end latency SLO, seconds.")] = STACK_P99_SECONDS,
    ttft: Annotated[
        float | None, typer.Option("--ttft", help="Time-to-first-token SLO, seconds (chat: 2). Off by default.")
    ] = None,
    tpot: Annotated[
        float | None,
        typer.Option(
            "--tpot", help="Time-per-output-token SLO, seconds (0.05 = 20 tokens/s per stream). Off by default."
        ),
    ] = None,
    prefix_reuse: Annotated[
        float,
        typer.Option("--prefix-reuse", help="Share of prompt tokens served by the prefix cache (0-0.95), e.g. 0.6."),
    ] = 0.0,
    batch_rps: Annotated[
        float,
        typer.Option("--batch-rps", help="Batch requests/s sharing the replicas (no latency SLO of their own)."),
    ] = 0.0,
    kv_cache_dtype: Annotated[
        str, typer.Option("--kv-cache-dtype", help="vLLM --kv-cache-dtype: auto (16-bit) or fp8 (half the memory).")
    ] = "auto",
    think_time: Annotated[
        float, typer.Option("--think-time", help="Seconds a user reads and types between requests.")
    ] = DEFAULT_THINK_TIME_SECONDS,
    price_per_gpu_hour: Annotated[
        float | None,
        typer.Option(
            "--price-per-gpu-hour", help="Your price of one GPU-hour (default: the GPU's on-demand price, --region)."
        ),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region whose on-demand price to use (default us-east-1).")
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            "--calibration",
            metavar="FILE",
            help="`vllm bench serve --save-result` results (JSON/YAML) that override the built-in figures.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the result as JSON to stdout.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", metavar="FILE.svg", help="Draw GPUs and p99 against load (needs matplotlib: the plot extra)."
        ),
    ] = None,
) -> None:
    """Size a deployment: GPUs and replicas at peak, GPUs to provision, tier, p99, utilisation and cost."""
    if plot is not None:
        if plot.suffix.lower() != ".svg":
            raise _fail("--plot", f"{shown(plot)}: must be an .svg file")
        if plot.is_dir():
            raise _fail("--plot", f"{shown(plot)} is a directory: name an .svg file")
        _require_matplotlib()
    if region is not None and (problem := region_problem(region)):
        raise _fail("--region", problem)
    try:
        resolve_gpu(gpu)
    except CalibrationError as error:
        raise _fail("--gpu", str(error)) from None
    try:
        model_params(model)
        quant = parse_quantization(quantization)
    except (SizingError, CalibrationError) as error:
        raise _fail(_option_for(str(error)), str(error)) from None
    try:
        points: tuple[CalibrationPoint, ...] = load_calibration(calibration) if calibration else ()
    except CalibrationError as error:
        raise _fail("--calibration", str(error)) from None
    instance = catalog.lookup(gpu)
    if gpus_per_node is not None:
        if instance is not None:
            raise _fail("--gpus-per-node", f"{gpu} is an EC2 type llmscale knows ({instance.gpus} GPUs); remove it")
        if not 1 <= gpus_per_node <= 16:
            raise _fail("--gpus-per-node", "must be a whole number of GPUs from 1 to 16")
    per_node = instance.gpus if instance is not None else gpus_per_node
    try:
        inputs = SizingInputs(
            users=DEFAULT_USERS if users is None and rps is None else users,
            requests_per_second=rps,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            model=model,
            quantization=quant,
            gpu=gpu,
            p99_seconds=p99,
            ttft_seconds=ttft,
            think_time_seconds=think_time,
            price_per_gpu_hour=price_per_gpu_hour,
            region=region,
            max_num_seqs=max_num_seqs,
            max_gpus_per_replica=min(per_node, 8) if per_node is not None else 8,
            tpot_seconds=tpot,
            prefix_reuse=prefix_reuse,
            batch_requests_per_second=batch_rps,
            kv_cache_dtype=kv_cache_dtype.strip().lower(),
        )
        result = size(inputs, points)
    except (SizingError, CalibrationError) as error:
        raise _fail(_option_for(str(error)), str(error)) from None
    typer.echo(render_text(result), err=True)
    if plot is not None:
        _plot(result, points, plot)
        typer.echo(f"wrote {plot}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))


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
    ]


def _cost_rows(result: SizingResult) -> list[tuple[str, str]]:
    cost = result.cost
    if cost.always_on is None or cost.with_schedule is None or cost.price_per_gpu_hour is None:
        return [("monthly cost", f"unknown: {cost.source}; pass --price-per-gpu-hour")]
    return [
        ("monthly cost, always on", f"${cost.always_on:,.0f} at ${cost.price_per_gpu_hour:.4g}/GPU-hour"),
        ("monthly cost, scheduled", f"${cost.with_schedule:,.0f} ({cost.schedule})"),
    ]


def users_served(gpus: int, inputs: SizingInputs, limit: int = 100_000) -> int:
    """The most concurrent users `inputs` (its model, GPU, SLO and tokens) serve with at most `gpus` GPUs at peak.

    The README's tier table quotes these figures for a stack's defaults; a test keeps the two equal.
    """
    from dataclasses import replace

    def fits(users: int) -> bool:
        try:
            return size(replace(inputs, users=users, requests_per_second=None), with_range=False).gpus_needed <= gpus
        except SizingError:
            return False

    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= limit and fits(high):
        low, high = high, high * 2
    while high - low > 1:  # more users never need fewer GPUs (the planner is monotone)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def size_command_line(inputs: SizingInputs) -> str:
    """The `llmscale size` command that reproduces a sizing: every input that differs from the command's default.

    `llmscale new` writes it into the stack file, so its numbers can be checked and recomputed.
    """
    parts = ["llmscale size"]
    if inputs.users is not None:
        parts.append(f"--users {inputs.users}")
    else:
        parts.append(f"--rps {inputs.requests_per_second:g}")
    parts.append(f"--model {inputs.model}")
    if inputs.quantization is not None:
        parts.append(f"--quantization {inputs.quantization.value}")
    if inputs.gpu != STACK_GPU:
        parts.append(f"--gpu {inputs.gpu}")
    if catalog.lookup(inputs.gpu) is None and inputs.max_gpus_per_replica != 8:
        parts.append(f"--gpus-per-node {inputs.max_gpus_per_replica}")
    if inputs.p99_seconds != STACK_P99_SECONDS:
        parts.append(f"--p99 {inputs.p99_seconds:g}")
    if inputs.ttft_seconds is not None:
        parts.append(f"--ttft {inputs.ttft_seconds:g}")
    if inputs.tpot_seconds is not None:
        parts.append(f"--tpot {inputs.tpot_seconds:g}")
    if inputs.prefix_reuse:
        parts.append(f"--prefix-reuse {inputs.prefix_reuse:g}")
    if inputs.batch_requests_per_second:
        parts.append(f"--batch-rps {inputs.batch_requests_per_second:g}")
    if inputs.kv_cache_dtype != "auto":
        parts.append(f"--kv-cache-dtype {inputs.kv_cache_dtype}")
    for option, value, default in (
        ("--prompt-tokens", inputs.prompt_tokens, DEFAULT_PROMPT_TOKENS),
        ("--output-tokens", inputs.output_tokens, DEFAULT_OUTPUT_TOKENS),
        ("--think-time", inputs.think_time_seconds, DEFAULT_THINK_TIME_SECONDS),
        ("--max-num-seqs", inputs.max_num_seqs, DEFAULT_MAX_NUM_SEQS),
    ):
        if value != default:
            parts.append(f"{option} {value:g}")
    if inputs.price_per_gpu_hour is not None:
        parts.append(f"--price-per-gpu-hour {inputs.price_per_gpu_hour:g}")
    if inputs.region is not None:
        parts.append(f"--region {inputs.region}")
    return " ".join(parts)


def _loads(result: SizingResult) -> list[float]:
    inputs = result.inputs
    if inputs.users is not None:
        top = max(2 * inputs.users, 1000)
        values = {max(1, round(top ** (i / (PLOT_POINTS - 1)))) for i in range(PLOT_POINTS)}
        values.add(inputs.users)
        return sorted(float(v) for v in values)
    assert inputs.requests_per_second is not None
    low, high = inputs.requests_per_second / 20, inputs.requests_per_second * 2
    return sorted({low * (high / low) ** (i / (PLOT_POINTS - 1)) for i in range(PLOT_POINTS)})


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401  (the optional `plot` extra)
    except ImportError:
        raise _fail("--plot", "needs matplotlib: install llmscale[plot] (pip install 'llmscale[plot]')") from None


def _plot(result: SizingResult, points: tuple[CalibrationPoint, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "llmscale-size"  # stable ids: the same inputs give the same file
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    from matplotlib import pyplot

    inputs = result.inputs
    sized = [(load, r) for load, r in curve(inputs, _loads(result), points) if r is not None]
    xs = [load for load, _ in sized]
    figure, gpus_axis = pyplot.subplots(figsize=(9, 5.5))
    try:
        gpus_axis.step(xs, [r.gpus_needed for _, r in sized], where="post", label="GPUs needed at peak", color="C0")
        gpus_axis.step(
            xs, [r.gpus_to_provision for _, r in sized], where="post", label="GPUs to provision", color="C0", ls="--"
        )
        gpus_axis.axhline(MULTI_GPU_MAX_GPUS, color="grey", lw=0.8, ls=":")
        gpus_axis.annotate(f"multi-gpu tier: up to {MULTI_GPU_MAX_GPUS} GPUs", (xs[0], MULTI_GPU_MAX_GPUS), fontsize=8)
        latency_axis = gpus_axis.twinx()
        latency_axis.plot(xs, [r.estimated_p99_seconds for _, r in sized], color="C1", label="estimated p99 (s)")
        latency_axis.axhline(inputs.p99_seconds, color="C3", ls="--", label=f"p99 SLO {inputs.p99_seconds:g} s")
        latency_axis.set_ylim(0, inputs.p99_seconds * 1.3)
        latency_axis.set_ylabel("p99 end-to-end latency (s)")
        if inputs.users is not None:
            for boundary, label in (
                (SINGLE_GPU_MAX_USERS, "single-gpu | multi-gpu"),
                (ENTERPRISE_MIN_USERS, "multi-gpu | enterprise"),
            ):
                gpus_axis.axvline(boundary, color="grey", lw=0.8)
                gpus_axis.annotate(label, (boundary, 0), rotation=90, fontsize=8, va="bottom", ha="right")
            gpus_axis.axvline(inputs.users, color="black", lw=0.8, ls=":")
            gpus_axis.set_xlabel("peak concurrent users")
        else:
            gpus_axis.axvline(inputs.requests_per_second or 0, color="black", lw=0.8, ls=":")
            gpus_axis.set_xlabel("peak requests per second")
        gpus_axis.set_xscale("log")
        gpus_axis.set_ylabel("GPUs")
        gpus_axis.set_ylim(0, max(MULTI_GPU_MAX_GPUS + 2, math.ceil(max(r.gpus_to_provision for _, r in sized) * 1.1)))
        quant = inputs.quantization.value if inputs.quantization else "BF16"
        estimate = " (bandwidth estimate)" if result.source.bandwidth_estimate else ""
        gpus_axis.set_title(
            f"{inputs.model} {quant} on {result.gpu}{estimate}: {inputs.prompt_tokens} in / {inputs.output_tokens} out"
        )
        handles = gpus_axis.get_legend_handles_labels()
        more = latency_axis.get_legend_handles_labels()
        gpus_axis.legend(handles[0] + more[0], handles[1] + more[1], loc="center left", fontsize=8)
        figure.tight_layout()
        figure.savefig(path, format="svg", metadata={"Date": None})
    except OSError as error:
        raise _fail("--plot", f"{shown(path)}: cannot write ({error.strerror or type(error).__name__})") from None
    finally:
        pyplot.close(figure)


def register(app: typer.Typer) -> None:
    """Add `size` to a Typer app."""
    app.command("size")(size_command)
