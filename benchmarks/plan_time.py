"""Wall time of `llmscale plan` per example stack: median of several runs, in-process and as a command.

In-process runs time config loading, the program under mocks and the plan document; command runs add the
interpreter start and imports a user waits for. Usage: python benchmarks/plan_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from llmscale.config.loader import load_stack
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program


def example_stacks() -> list[str]:
    """Every stack file in stacks/, by name."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PACKAGE_ROOT / "stacks").glob("Pulumi.*.yaml")
    )


def time_in_process(stack: str, runs: int) -> tuple[float, int]:
    """Median seconds of load + plan + document, and the number of resources planned."""
    timings, count = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        document = plan_document(run_program(load_stack(stack), program))
        timings.append(time.perf_counter() - started)
        count = len(document["resources"])
    return statistics.median(timings), count


def time_command(stack: str, runs: int) -> float:
    """Median seconds of `llmscale plan STACK --json` as a separate process."""
    executable = Path(sys.executable).with_name("llmscale")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(executable), "plan", stack, "--json"], check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    """Print one row per example stack."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    time_in_process(example_stacks()[0], 1)  # warm imports once
    print(f"{'stack':<20} {'resources':>9} {'in-process s':>13} {'command s':>10}   (median of {args.runs})")
    for stack in example_stacks():
        seconds, count = time_in_process(stack, args.runs)
        command = time_command(stack, args.runs)
        print(f"{stack:<20} {count:>9} {seconds:>13.3f} {command:>10.3f}")


if __name__ == "__main__":
    main()
