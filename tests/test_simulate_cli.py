"""`llmscale simulate`: the report on stdout with `--json`, the summary on stderr, exit 2 with one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from llmscale.cli import app
from tests.test_simulate_stack import planned

REPORT_KEYS = {
    "gpuHours",
    "gpuHoursAlwaysOn",
    "savingPercent",
    "requests",
    "sloViolationMinutes",
    "p99Seconds",
    "scaleEvents",
    "hourly",
    "failover",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["simulate", *args])


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Saved plans of the example stacks (`llmscale plan STACK --json`), so each test does not plan again."""
    folder = tmp_path_factory.mktemp("plans")
    paths = {}
    for stack in ("multi-gpu", "enterprise"):
        paths[stack] = folder / f"{stack}.json"
        paths[stack].write_text(json.dumps(planned(stack)), encoding="utf-8")
    return paths


def report(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_report_has_the_documented_shape(plans: dict[str, Path]) -> None:
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json")
    document = report(result)
    assert set(document) >= REPORT_KEYS
    assert set(document["requests"]) == {"served", "rejected", "timedOut", "killed"}
    assert len(document["hourly"]) == 24 and document["failover"] is None
    assert document["hourly"][0]["hour"].startswith("2024-01-01T00:00")
    assert document["gpuHours"] <= document["gpuHoursAlwaysOn"]
    # The example states no gpu.pricePerGpuHour: the on-demand price of a g6e.xlarge GPU (us-east-1 figure), as
    # the plan says.
    assert document["cost"]["pricePerGpuHour"] == planned("multi-gpu")["cost"]["pricePerGpuHour"]
    assert document["cost"]["pricePerGpuHour"] == 1.861
    assert "Simulated 1 day of stack multi-gpu" in result.stderr


def test_a_stated_price_beats_the_price_table(plans: dict[str, Path]) -> None:
    document = report(run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--price-per-gpu-hour", "2.5"))
    assert document["cost"]["pricePerGpuHour"] == 2.5
    assert document["cost"]["withSchedule"] == pytest.approx(document["gpuHours"] * 2.5, abs=0.05)


def test_human_summary_only_without_json(plans: dict[str, Path]) -> None:
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]))
    assert result.exit_code == 0 and result.stdout == ""
    assert "GPU-hours" in result.stderr


def test_same_seed_same_report(plans: dict[str, Path]) -> None:
    first = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--seed", "3")
    second = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--seed", "3")
    assert first.stdout == second.stdout


def test_region_failure_reports_detection_rto_and_lost_requests(plans: dict[str, Path]) -> None:
    document = report(run("enterprise", "--plan", str(plans["enterprise"]), "--json", "--fail-region", "primary@10:00"))
    failover = document["failover"]
    assert failover["detectSeconds"] == 30 and failover["switchSeconds"] == 90
    assert failover["rtoSeconds"] is not None and failover["rtoSeconds"] >= 90
    assert failover["lost"] > 0 and failover["failAt"] == "Mon 10:00"


def test_traffic_file_is_played_as_given(plans: dict[str, Path], tmp_path: Path) -> None:
    csv = tmp_path / "traffic.csv"
    csv.write_text("minute,requests\n" + "".join(f"{m},{30}\n" for m in range(8 * 60, 9 * 60)), encoding="utf-8")
    document = report(run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--traffic", str(csv)))
    assert document["arrivals"] == 60 * 30
    assert document["hourly"][8]["arrivals"] == 60 * 30 and document["hourly"][10]["arrivals"] == 0
    as_json = tmp_path / "traffic.json"
    as_json.write_text(json.dumps({"requestsPerMinute": [10] * 1440}), encoding="utf-8")
    assert (
        report(run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--traffic", str(as_json)))["arrivals"]
        == 14_400
    )


def test_plot_writes_an_svg(plans: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "day.svg"
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--plot", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert "p99 SLO" in target.read_text(encoding="utf-8")


def test_plans_the_stack_itself_without_a_saved_plan() -> None:
    document = report(run("single-gpu-host", "--json", "--days", "0.5"))
    assert len(document["hourly"]) == 12 and document["requests"]["killed"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-region", "primary@25:00"], "--fail-region primary@25:00: expected primary@HH:MM"),
        (["--fail-region", "standby@10:00"], "only the primary region's failure is simulated"),
        (["--fail-region", "primary@10:00"], "has no standby region and DNS failover"),
        (["--profile", "weekend"], "--profile weekend: unknown; built-in profiles: business-day"),
        (["--plot", "day.png"], "--plot day.png: must be an .svg file"),
        (["--traffic", "missing.csv"], "missing.csv: cannot be read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(plans: dict[str, Path], args: list[str], message: str) -> None:
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_bad_traffic_row_names_the_file_and_line(plans: dict[str, Path], tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("requests\n5\nlots\n", encoding="utf-8")
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--traffic", str(csv))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{csv}: line 3: requests must be a number"


def test_a_plan_of_another_stack_is_refused(plans: dict[str, Path]) -> None:
    result = run("multi-gpu", "--plan", str(plans["enterprise"]))
    assert result.exit_code == 2
    assert "is a plan of stack enterprise, not multi-gpu" in result.stderr


def test_unknown_stack_is_one_line() -> None:
    result = run("no-such-stack")
    assert result.exit_code == 2 and "no such stack file" in result.stderr and "Traceback" not in result.output


def test_plan_markdown_carries_the_simulated_verdict() -> None:
    from llmscale.plan.markdown import plan_markdown
    from llmscale.simulate.verdict import plan_verdict

    document = planned("multi-gpu")
    line = plan_verdict(document)
    assert line.startswith("**Simulated business day:** ") and "GPU-hours" in line and "\n" not in line
    assert line in plan_markdown(document)
    assert plan_verdict({"stack": "x"}).startswith("**Simulated business day:** not simulated")


def test_a_traffic_file_repeats_to_fill_the_days(plans: dict[str, Path], tmp_path: Path) -> None:
    day = tmp_path / "day.json"
    day.write_text(json.dumps({"requestsPerMinute": [0] * 600 + [12] * 60 + [0] * 780}), encoding="utf-8")
    document = report(
        run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--json", "--traffic", str(day), "--days", "2")
    )
    assert document["arrivals"] == 2 * 60 * 12
    assert document["hourly"][10]["arrivals"] == document["hourly"][34]["arrivals"] == 720


def test_traffic_for_an_unknown_profile_is_refused(plans: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"profiles": {"chatt": [5]}}), encoding="utf-8")
    result = run("multi-gpu", "--plan", str(plans["multi-gpu"]), "--traffic", str(path))
    assert result.exit_code == 2
    assert "traffic for chatt: no such profile behind the stack's routes (profiles: chat)" in result.stderr
