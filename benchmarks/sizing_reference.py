"""The capacity planner's answers over a grid of loads, and the problem statement's reference-point check.

Users (10 to 1000) × model (7b, 70b) with every other input at its documented default (A10G, BF16, 1000 in /
250 out, p99 20 s, think time 10 s), then the same grid on other GPUs for comparison. Exit 1 when a reference
point falls outside its range. Usage: python benchmarks/sizing_reference.py [--gpu GPU ...]
"""

from __future__ import annotations

import argparse
import sys

from llmscale.config.models import Quantization
from llmscale.sizing.inputs import DEFAULT_GPU, SizingError, SizingInputs
from llmscale.sizing.planner import size

USERS = (10, 50, 100, 200, 500, 1000)
MODELS = ("7b", "70b")
# The problem statement's rules of thumb: concurrent users on a 7B model → GPUs needed.
REFERENCE_POINTS = ((100, 5, 8), (500, 20, 30))


def grid(gpu: str) -> list[str]:
    """One table row per (model, users) on `gpu`."""
    rows = [f"{'model':<6} {'users':>6} {'gpusNeeded':>10} {'replicas x tp':>13} {'toProvision':>11} "]
    rows[0] += f"{'p99 s':>6} {'util':>5}  {'tier':<11} basis"
    for model in MODELS:
        for users in USERS:
            try:
                r = size(SizingInputs(users=users, model=model, gpu=gpu))
            except SizingError as error:
                rows.append(f"{model:<6} {users:>6} {'-':>10}  {error}")
                continue
            rows.append(
                f"{model:<6} {users:>6} {r.gpus_needed:>10} {f'{r.replicas} x {r.gpus_per_replica}':>13} "
                f"{r.gpus_to_provision:>11} {r.estimated_p99_seconds:>6.1f} {r.gpu_utilization:>5.0%}  "
                f"{r.recommended_tier:<11} {r.source.basis}"
            )
    return rows


TP_GPUS = ("L40S", "A100-80GB", "H100", "H200", "B200", "MI300X")
TP_MODELS = (("8b", None), ("32b", None), ("70b", Quantization.FP8), ("70b", None), ("405b", Quantization.FP8))


def tp_table(users: int = 200) -> list[str]:
    """GPUs per replica (tensor parallelism) the planner picks per model size and GPU, for `users` users with every
    other input at its default: the fewest GPUs in total wins, ties go to the smaller replica."""
    header = f"{'model':<10}" + "".join(f"{gpu:>11}" for gpu in TP_GPUS)
    rows = [header]
    for model, quant in TP_MODELS:
        label = f"{model} {quant.value if quant else 'bf16'}"
        cells = []
        for gpu in TP_GPUS:
            try:
                r = size(SizingInputs(users=users, model=model, quantization=quant, gpu=gpu), with_range=False)
                cells.append(f"{r.replicas}x TP{r.gpus_per_replica}")
            except SizingError:
                cells.append("-")
        rows.append(f"{label:<10}" + "".join(f"{cell:>11}" for cell in cells))
    return rows


def reference_check() -> tuple[list[str], bool]:
    """The reference points with the documented defaults: lines to print and whether all are in range."""
    lines, ok = [], True
    for users, low, high in REFERENCE_POINTS:
        needed = size(SizingInputs(users=users, model="7b")).gpus_needed
        inside = low <= needed <= high
        ok &= inside
        lines.append(
            f"{users} concurrent users on a 7B model: {needed} GPUs (expected {low}-{high}) "
            f"{'OK' if inside else 'OUT OF RANGE'}"
        )
    return lines, ok


def main() -> int:
    """Print the grid for the default GPU (and any --gpu asked), then the reference check; 1 if it fails."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpu", action="append", default=[], help="Also print the grid for this GPU.")
    args = parser.parse_args()
    for gpu in [DEFAULT_GPU, *args.gpu]:
        print(f"## {gpu} (defaults: BF16, 1000 in / 250 out, p99 20 s, think 10 s)")
        print("\n".join(grid(gpu)))
        print()
    print("## tensor parallelism per model size (200 users, replicas x GPUs per replica)")
    print("\n".join(tp_table()))
    print()
    lines, ok = reference_check()
    print("## reference points")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
