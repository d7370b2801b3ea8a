"""CPU time of `llmscale plan` per example stack, beside the floor Pulumi itself sets: median of several runs.

For each stack in stacks/ this prints the CPU seconds (user + system, all threads) of

* the plan in-process: config loading, the program under mocks and the plan document with its schema checks,
  run-time invariants and policies (imports already done, caches warm from an earlier stack);
* `llmscale plan STACK --json` as a fresh process: adds the interpreter start, every import and the first use
  of each cache;
* the floor, measured both ways: a bare Pulumi program under `pulumi.runtime.set_mocks` that imports the same
  pulumi / pulumi_aws / pulumi_kubernetes modules the plan imported and registers the same resources (same
  type tokens, names, parents, providers and input values, as plain `CustomResource` / `ComponentResource` /
  `ProviderResource` registrations) — what any Pulumi program of that size costs before it decides anything.
  As a fresh process it is measured twice: with Python's default garbage collector, and with the collector
  off, as the `llmscale` console script runs;
* the simulated business day (and region failure) that the simulation policies play, the largest part of the
  in-process figure that the floor has no counterpart for;

and the ratios plan / floor. CPU time, not wall time, so that other work on a shared machine does not count.

The command's figure counts llmscale's own sources byte-compiled (the script compiles them first, as pip does on
install), so that PYTHONDONTWRITEBYTECODE does not bill the plan for compiling them on every run.

Usage: python benchmarks/plan_time.py [--runs N] [--stack NAME ...]
"""

from __future__ import annotations

import argparse
import compileall
import gc
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SDK_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_kubernetes")
"""Top-level packages whose modules the floor imports: the SDKs a plan cannot do without."""


# --- the floor: a bare mock program (no llmscale import, so that it can run as a fresh process) -----------------


def floor_program(spec: dict[str, Any]) -> None:
    """Import the SDK modules in `spec`, then register its resources under the plainest mocks Pulumi offers."""
    for name in spec["modules"]:
        importlib.import_module(name)

    import asyncio

    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func

    class EchoMocks(pulumi.runtime.Mocks):
        """Inputs echoed back as outputs, no id: what a preview knows."""

        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
            return None, args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
            return {}

    def register() -> None:
        created: dict[str, pulumi.Resource] = {}
        for entry in spec["resources"]:
            parent = created.get(entry["parentUrn"] or "")
            provider = created.get(entry["providerUrn"] or "")
            explicit = provider if isinstance(provider, pulumi.ProviderResource) else None
            opts = pulumi.ResourceOptions(parent=parent, provider=explicit)
            kind, name = entry["type"], entry["name"]
            if kind.startswith("pulumi:providers:"):
                made: pulumi.Resource = pulumi.ProviderResource(kind.split(":")[2], name, entry["inputs"], opts)
            elif entry["custom"]:
                made = pulumi.CustomResource(kind, name, entry["inputs"], opts)
            else:
                made = pulumi.ComponentResource(kind, name, None, opts)
                made.register_outputs({})
            created[entry["urn"]] = made

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        settings.reset_options(project="llmscale", stack=spec["stack"], preview=True)
        pulumi.runtime.set_mocks(EchoMocks(), project="llmscale", stack=spec["stack"], preview=True)
        loop.run_until_complete(run_pulumi_func(register))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# --- measuring ----------------------------------------------------------------------------------------------------


def example_stacks() -> list[str]:
    """Every stack file in stacks/, by name."""
    from llmscale.paths import PACKAGE_ROOT

    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PACKAGE_ROOT / "stacks").glob("Pulumi.*.yaml")
    )


def plan_in_process(stack: str) -> dict[str, Any]:
    """The plan document of `stack`, made the way `llmscale plan` makes it."""
    from llmscale.config.loader import load_stack
    from llmscale.plan.report import plan_document
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    return plan_document(run_program(load_stack(stack), program))


def floor_spec(stack: str, document: dict[str, Any], modules: list[str]) -> dict[str, Any]:
    """What the floor program imports and registers for one stack's plan."""
    keys = ("urn", "type", "name", "parentUrn", "providerUrn", "custom", "inputs")
    return {
        "stack": stack,
        "modules": modules,
        "resources": [{key: resource[key] for key in keys} for resource in document["resources"]],
    }


def sdk_modules_of_a_plan(stack: str) -> list[str]:
    """The SDK modules a fresh `llmscale plan STACK` imports (asked of a fresh interpreter, not of this one)."""
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from plan_time import plan_in_process\n"
        f"plan_in_process({stack!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {SDK_PACKAGES!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    return time.process_time()


def child_cpu_seconds(command: list[str]) -> float:
    """User + system CPU seconds of one run of `command` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_in_process(work: Any, runs: int) -> float:
    """Median CPU seconds of `work()` over `runs` runs in this process."""
    timings = []
    for _ in range(runs):
        started = cpu_seconds()
        work()
        timings.append(cpu_seconds() - started)
    return statistics.median(timings)


def median_command(command: list[str], runs: int) -> float:
    """Median CPU seconds of `command` over `runs` fresh processes."""
    return statistics.median(child_cpu_seconds(command) for _ in range(runs))


def simulated_day(document: dict[str, Any]) -> None:
    """The simulated business day (and region failure) the simulation policies share, for a fresh inventory."""
    from llmscale.policy.pack import inventory_from_plan
    from llmscale.simulate.policies import simulated

    simulated(inventory_from_plan({"resources": document["resources"]}))


def main() -> None:
    """Print one row per example stack: plan, floor and their ratio, in-process and as a command."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", action="append", help="only this example stack (repeatable)")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # run the floor program of a spec file
    parser.add_argument("--no-collector", action="store_true", help=argparse.SUPPRESS)  # ... with gc disabled
    args = parser.parse_args()
    if args.floor is not None:
        if args.no_collector:
            gc.disable()
        floor_program(json.loads(args.floor.read_text(encoding="utf-8")))
        return

    from llmscale.paths import PACKAGE_ROOT

    # Byte-compiled first, as pip does on install (the SDKs are): PYTHONDONTWRITEBYTECODE must not bill llmscale
    # for compiling its own sources on every run.
    for package in ("llmscale", "components"):
        compileall.compile_dir(PACKAGE_ROOT / package, quiet=1)
    stacks = args.stack or example_stacks()
    llmscale = str(Path(sys.executable).with_name("llmscale"))
    plan_in_process(stacks[0])  # imports and caches warm, as for any later plan in a long-lived process
    print(
        f"CPU seconds (user + system), median of {args.runs}. In-process: imports done, caches warm; "
        "sim: the simulated day inside it.\n"
        "Command: `llmscale plan STACK --json` as a fresh process (its collector is off); floor: the bare mock "
        "program as a fresh process, with Python's default collector, and with it off.",
        flush=True,
    )
    print(
        f"{'stack':<16} {'resources':>9} | {'in-process':>10} {'sim':>5} {'floor':>5} {'ratio':>5} | "
        f"{'command':>7} {'floor':>5} {'ratio':>5} | {'floor, gc off':>13} {'ratio':>5}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as scratch:
        for stack in stacks:
            document = plan_in_process(stack)
            spec = floor_spec(stack, document, sdk_modules_of_a_plan(stack))
            spec_file = Path(scratch) / f"{stack}.json"
            spec_file.write_text(json.dumps(spec), encoding="utf-8")
            floor_command = [sys.executable, __file__, "--floor", str(spec_file)]

            plan = median_in_process(lambda stack=stack: plan_in_process(stack), args.runs)
            sim = median_in_process(lambda document=document: simulated_day(document), args.runs)
            floor = median_in_process(lambda spec=spec: floor_program(spec), args.runs)
            command = median_command([llmscale, "plan", stack, "--json"], args.runs)
            floor_cold = median_command(floor_command, args.runs)
            floor_no_gc = median_command([*floor_command, "--no-collector"], args.runs)
            print(
                f"{stack:<16} {len(spec['resources']):>9} | {plan:>10.2f} {sim:>5.2f} {floor:>5.2f} "
                f"{plan / floor:>5.2f} | {command:>7.2f} {floor_cold:>5.2f} {command / floor_cold:>5.2f} | "
                f"{floor_no_gc:>13.2f} {command / floor_no_gc:>5.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
