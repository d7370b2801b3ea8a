"""`llmscale simulate STACK`: a day (or more) of traffic played through the stack's planned objects.

The stack is planned offline (as `llmscale plan` does) or read from a saved plan (`--plan FILE.json`), and the
simulation plays the built-in business day or a traffic file through its gateways, vLLM replicas, KEDA, the
HPA, the cluster autoscaler and, with `--fail-region primary@HH:MM`, a Route 53 failover. A summary goes to
stderr, `--json` to stdout, `--plot FILE.svg` draws it. Exit 0 with a report, 2 on bad input (one line, no
traceback).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from llmscale.commands.usage import fail

if TYPE_CHECKING:
    from llmscale.sizing.measurements import CalibrationPoint

PROFILES = ("business-day",)
FAIL_REGION = re.compile(r"^(?P<site>[a-z]+)@(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)$")


def _plan(stack: str, plan_file: Path | None) -> tuple[dict[str, Any], float | None, tuple[CalibrationPoint, ...]]:
    """The plan document (run offline, or read from a file), the stack's price per GPU-hour and the measured
    points its `sizing.calibration` names (the replicas run at their speed, as the stack was sized)."""
    import pulumi

    from llmscale.config.calibration_key import CalibrationKeyError, stack_calibration
    from llmscale.config.errors import ConfigError
    from llmscale.config.loader import load_stack
    from llmscale.sizing.cost import stack_gpu_price

    try:
        loaded = load_stack(stack)
        assert loaded.project_dir is not None  # load_stack always finds the stack's project
        calibration = stack_calibration(loaded.config, loaded.project_dir)
    except ConfigError as error:
        raise fail(error.lines()) from None
    except CalibrationKeyError as error:
        raise fail([error.problem.render(loaded.source)]) from None
    # As the plan's cost: the stated rate, else the on-demand price of the instance type in the stack's region.
    stack_price = stack_gpu_price(loaded.config, loaded.region)
    price = None if stack_price is None else stack_price.per_gpu_hour
    if plan_file is not None:
        from llmscale.plan.diff import PlanFileError, load_plan

        try:
            document = load_plan(plan_file)
        except PlanFileError as error:
            raise fail([str(error)]) from None
        if document.get("stack") != loaded.name:
            raise fail([f"--plan {plan_file}: is a plan of stack {document.get('stack')}, not {loaded.name}"])
        return document, price, calibration
    from llmscale.plan.report import plan_document
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    try:
        return plan_document(run_program(loaded, program)), price, calibration
    except pulumi.RunError as error:
        raise fail([f"{loaded.source}: {line}" for line in str(error).splitlines()]) from None


def _fail_minute(value: str | None, days: float) -> int | None:
    if value is None:
        return None
    match = FAIL_REGION.match(value)
    if not match:
        raise fail([f"--fail-region {value}: expected primary@HH:MM (24-hour time on the first simulated day)"])
    if match.group("site") != "primary":
        raise fail([f"--fail-region {value}: only the primary region's failure is simulated (primary@HH:MM)"])
    minute = int(match.group("hour")) * 60 + int(match.group("minute"))
    if minute >= days * 1440:
        raise fail([f"--fail-region {value}: falls after the simulated {days:g} day(s)"])
    return minute


def simulate_command(
    stack: Annotated[
        str, typer.Argument(metavar="STACK", help="A stack name (stacks/Pulumi.STACK.yaml) or a stack file path.")
    ],
    traffic: Annotated[
        Path | None,
        typer.Option(
            "--traffic", metavar="FILE", help="Requests per minute from Monday 00:00: CSV (requests column) or JSON."
        ),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Built-in traffic when no --traffic is given: business-day.")
    ] = "business-day",
    days: Annotated[float, typer.Option("--days", help="Days to simulate from Monday 00:00.", min=0.05, max=28)] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random arrivals (same seed, same report).")] = 0,
    fail_region: Annotated[
        str | None,
        typer.Option("--fail-region", metavar="primary@HH:MM", help="Kill the primary region at this time on day 1."),
    ] = None,
    clients: Annotated[
        int,
        typer.Option("--clients", min=1, help="API keys the traffic comes from (per-key rate limits apply to each)."),
    ] = 1,
    price_per_gpu_hour: Annotated[
        float | None,
        typer.Option(
            "--price-per-gpu-hour",
            min=0,
            help="Price of a GPU-hour (default: the stack's gpu.pricePerGpuHour, else the on-demand price of its "
            "instance type).",
        ),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan", metavar="FILE.json", help="Use a saved `llmscale plan STACK --json` instead of planning."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the report as JSON to stdout.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE.svg", help="Draw load, replicas, GPUs and p99 (needs the plot extra)."),
    ] = None,
) -> None:
    """Play a day of traffic (and a region failure) through the stack's planned objects: what users and the bill see."""
    from llmscale.simulate.engine import simulate
    from llmscale.simulate.report import build_report, render_text
    from llmscale.simulate.run import Options
    from llmscale.simulate.stack import SimulationError, stack_from_plan
    from llmscale.simulate.traffic import load_traffic_file

    if profile not in PROFILES:
        raise fail([f"--profile {profile}: unknown; built-in profiles: {', '.join(PROFILES)}"])
    if plot is not None:
        if plot.suffix.lower() != ".svg":
            raise fail([f"--plot {plot}: must be an .svg file"])
        try:
            import matplotlib  # noqa: F401  (the optional `plot` extra)
        except ImportError:
            raise fail(["--plot needs matplotlib: install llmscale[plot] (pip install 'llmscale[plot]')"]) from None
    fail_minute = _fail_minute(fail_region, days)
    try:
        played = load_traffic_file(traffic) if traffic is not None else None
    except SimulationError as error:
        raise fail([str(error)]) from None
    document, stack_price, calibration = _plan(stack, plan_file)
    try:
        run = simulate(
            stack_from_plan(document),
            Options(
                days=days,
                seed=seed,
                traffic=played,
                clients=clients,
                fail_minute=fail_minute,
                price_per_gpu_hour=stack_price if price_per_gpu_hour is None else price_per_gpu_hour,
                calibration=calibration,
            ),
        )
    except SimulationError as error:
        raise fail([f"{document.get('source', stack)}: {error}"]) from None
    report = build_report(run)
    typer.echo(render_text(report), err=True)
    if plot is not None:
        from llmscale.simulate.plot import plot_run

        try:
            plot_run(run, plot)
        except OSError as error:
            raise fail([f"--plot {plot}: cannot write ({error.strerror or error.__class__.__name__})"]) from None
        typer.echo(f"wrote {plot}", err=True)
    if as_json:
        typer.echo(json.dumps(report, indent=2))


def register(app: typer.Typer) -> None:
    """Add `simulate STACK` to a Typer app."""
    app.command("simulate")(simulate_command)
