"""The load plot of a sizing, as `llmscale size --plot FILE.svg` writes it: GPUs and p99 against load.

matplotlib is the optional `plot` extra and is imported only when a plot is drawn. The SVG is reproducible: a
fixed hash salt and no date, so the same inputs give the same file.
"""

from __future__ import annotations

import math
from pathlib import Path

from llmscale.sizing.fleet import ENTERPRISE_MIN_USERS, MULTI_GPU_MAX_GPUS, SINGLE_GPU_MAX_USERS
from llmscale.sizing.measurements import CalibrationPoint
from llmscale.sizing.results import SizingResult
from llmscale.sizing.sweeps import curve

PLOT_POINTS = 48


def plot_loads(result: SizingResult) -> list[float]:
    """The loads the plot sizes: PLOT_POINTS on a log scale up to twice `result`'s load (users: at least 1000,
    and its own load among them; requests/s: from a twentieth to twice it)."""
    inputs = result.inputs
    if inputs.users is not None:
        top = max(2 * inputs.users, 1000)
        values = {max(1, round(top ** (i / (PLOT_POINTS - 1)))) for i in range(PLOT_POINTS)}
        values.add(inputs.users)
        return sorted(float(v) for v in values)
    assert inputs.requests_per_second is not None
    low, high = inputs.requests_per_second / 20, inputs.requests_per_second * 2
    return sorted({low * (high / low) ** (i / (PLOT_POINTS - 1)) for i in range(PLOT_POINTS)})


def write_plot(result: SizingResult, points: tuple[CalibrationPoint, ...], path: Path) -> None:
    """Draw GPUs needed and to provision, and the estimated p99, against load around `result`'s own load, with the
    SLO and the tier boundaries, and write it to `path` as an SVG: the same inputs give the same bytes.

    Raises OSError when `path` cannot be written; the caller says so against its option.
    """
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "llmscale-size"  # stable ids: the same inputs give the same file
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    from matplotlib import pyplot

    inputs = result.inputs
    sized = [(load, r) for load, r in curve(inputs, plot_loads(result), points) if r is not None]
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
    finally:
        pyplot.close(figure)
