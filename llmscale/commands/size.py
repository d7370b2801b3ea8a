"""`llmscale size`: how many GPUs a load needs at peak, with headroom, tier, latency and cost.

A table goes to stderr, `--json` to stdout, `--plot FILE.svg` draws GPUs and p99 against load (matplotlib,
the `plot` extra). Exit 0 with an answer, 2 on bad input or an SLO nothing reaches (one line naming the option,
no traceback). The command parses its options and prints; the planner is `llmscale.sizing.planner`, the table
`llmscale.sizing.report` and the plot `llmscale.sizing.plot`.

The defaults are a stack's defaults, so that `llmscale size` and `llmscale new` tell one story: the GPU and the
p99 SLO of the tier presets (g6e.xlarge, 10 s), LoadConfig's prompt, answer and think time, vLLM's batch limit.
An EC2 instance type bounds a replica to the GPUs of one instance, as a stack's node type does; an accelerator
name (L40S) leaves tensor parallelism free up to 8 GPUs.
"""

from __future__ import annotations

import json
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
from llmscale.sizing.inputs import (
    DEFAULT_MAX_NUM_SEQS,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT_TOKENS,
    DEFAULT_THINK_TIME_SECONDS,
    DEFAULT_USERS,
    SizingError,
    SizingInputs,
    model_params,
)
from llmscale.sizing.planner import size
from llmscale.sizing.plot import write_plot
from llmscale.sizing.report import render_text

__all__ = ["STACK_GPU", "STACK_P99_SECONDS", "register", "size_command", "size_command_line"]

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
        try:
            write_plot(result, points, plot)
        except OSError as error:
            raise _fail("--plot", f"{shown(plot)}: cannot write ({error.strerror or type(error).__name__})") from None
        typer.echo(f"wrote {plot}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))


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


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401  (the optional `plot` extra)
    except ImportError:
        raise _fail("--plot", "needs matplotlib: install llmscale[plot] (pip install 'llmscale[plot]')") from None


def register(app: typer.Typer) -> None:
    """Add `size` to a Typer app."""
    app.command("size")(size_command)
