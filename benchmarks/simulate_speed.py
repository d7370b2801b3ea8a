"""How long `llmscale simulate` takes to play a simulated week of each example stack, on one core.

The stack is planned once (not timed: `benchmarks/plan_time.py` measures planning); each run times extracting
the simulation's view from the plan, the week of traffic (built-in business day, 500 users on the enterprise
example) and the report. CPU seconds of this process (one core) are the figure the target is about: a week of the
enterprise example in under 5 s; wall seconds are shown beside them (they include other load on the machine).
Usage: python benchmarks/simulate_speed.py [--runs N] [--days D] [--stack NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from llmscale.config.loader import load_stack
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program
from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report
from llmscale.simulate.run import Options
from llmscale.simulate.stack import stack_from_plan

TARGET_SECONDS = 5.0
DEFAULT_STACKS = ("enterprise", "multi-gpu", "onprem", "single-gpu")


def time_week(document: dict, days: float, runs: int) -> tuple[float, float, dict]:
    """Median CPU and wall seconds of extract + simulate + report, and the last report."""
    cpu, wall, report = [], [], {}
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        report = build_report(simulate(stack_from_plan(document), Options(days=days)))
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return statistics.median(cpu), statistics.median(wall), report


def main() -> None:
    """Print one row per stack, and whether the enterprise week meets the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--stack", action="append", dest="stacks")
    args = parser.parse_args()
    stacks = args.stacks or list(DEFAULT_STACKS)
    print(f"{'stack':<14} {'users':>6} {'days':>5} {'CPU s':>7} {'wall s':>7} {'requests':>10} {'GPU-hours':>10}")
    for stack in stacks:
        document = plan_document(run_program(load_stack(stack), program))
        cpu, wall, report = time_week(document, args.days, args.runs)
        users = stack_from_plan(document).load.users
        print(
            f"{stack:<14} {users:>6} {args.days:>5g} {cpu:>7.2f} {wall:>7.2f} {report['arrivals']:>10} "
            f"{report['gpuHours']:>10g}"
        )
        if stack == "enterprise" and args.days >= 7:
            verdict = "meets" if cpu < TARGET_SECONDS else "MISSES"
            median = f"median of {args.runs}"
            print(f"  enterprise week: {cpu:.2f} CPU s per run ({median}), {verdict} the {TARGET_SECONDS:g} s target")


if __name__ == "__main__":
    main()
