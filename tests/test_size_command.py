"""Tests for `llmscale size` on a fresh Typer app: output streams, JSON keys, exit codes and the SVG plot.

The command is registered with `register(app)` on an app of its own, so these tests do not depend on the
rest of the CLI.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from llmscale.commands.size import STACK_GPU, STACK_P99_SECONDS, register, size_command_line
from llmscale.config.models import Tier
from llmscale.config.presets import PRESETS
from llmscale.sizing import catalog
from llmscale.sizing.fleet import MULTI_GPU_MAX_GPUS
from llmscale.sizing.inputs import SizingInputs
from llmscale.sizing.sweeps import users_served
from tests.helpers import REPO


def make_app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def _root() -> None:
        """Test app."""

    register(app)
    return app


def invoke(*args: str) -> Result:
    """Run `size ARGS` in-process; stdout and stderr are captured separately."""
    return CliRunner().invoke(make_app(), ["size", *args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Exit 2, one line on stderr naming the problem, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_defaults_print_a_table_on_stderr_and_nothing_on_stdout() -> None:
    result = invoke()
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "GPUs needed at peak" in result.stderr
    assert "GPUs to provision" in result.stderr
    assert "monthly cost" in result.stderr


def test_json_goes_to_stdout_with_the_sizing_keys() -> None:
    result = invoke("--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert 5 <= document["gpusNeeded"] <= 8
    assert document["gpusToProvision"] == max(document["gpusNeeded"] + 2, -(-document["gpusNeeded"] * 5 // 4))
    assert document["recommendedTier"] == "multi-gpu"
    # The default GPU is a stack's (g6e.xlarge, an L40S): no vLLM measurement exists for it.
    assert document["source"]["bandwidthEstimate"] is True
    assert "GPUs needed at peak" in result.stderr


@pytest.mark.parametrize(("users", "low", "high"), [("100", 5, 8), ("500", 20, 30)])
def test_reference_points_through_the_command(users: str, low: int, high: int) -> None:
    document = json.loads(invoke("--users", users, "--model", "7b", "--json").stdout)
    assert low <= document["gpusNeeded"] <= high


def test_options_reach_the_planner() -> None:
    result = invoke(
        "--rps", "4", "--prompt-tokens", "500", "--output-tokens", "300", "--model", "70b", "--quantization", "fp8",
        "--gpu", "p5.48xlarge", "--p99", "30", "--ttft", "2", "--price-per-gpu-hour", "4.5", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    inputs = document["inputs"]
    assert inputs["requestsPerSecond"] == 4 and inputs["users"] is None
    assert (inputs["promptTokens"], inputs["outputTokens"], inputs["quantization"]) == (500, 300, "fp8")
    assert document["gpu"] == "H100" and document["monthlyCost"]["pricePerGpuHour"] == 4.5
    assert document["estimatedTtftSeconds"] <= 2


def test_bandwidth_estimates_are_flagged_in_both_outputs() -> None:
    result = invoke("--gpu", "L40S", "--json")
    assert json.loads(result.stdout)["source"]["bandwidthEstimate"] is True
    assert "BANDWIDTH ESTIMATE" in result.stderr


def test_a_calibration_file_overrides_the_table(tmp_path: Path) -> None:
    bench = {
        "model_id": "meta-llama/Llama-3.1-8B-Instruct",
        "max_concurrency": 32,
        "output_throughput": 1300.0,
        "mean_tpot_ms": 22.0,
        "gpu": "L40S",
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench), encoding="utf-8")
    model = "meta-llama/Llama-3.1-8B-Instruct"
    result = invoke("--gpu", "L40S", "--model", model, "--calibration", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    source = json.loads(result.stdout)["source"]
    assert source["basis"] == "calibration-file" and source["bandwidthEstimate"] is False


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--users", "0"), ("users must be",)),
        (("--users", "5", "--rps", "2"), ("not both",)),
        (("--gpu", "TPU-v5e"), ("gpu TPU-v5e: unknown",)),
        (("--model", "mistralai/Mistral-Nemo-Instruct"), ("cannot tell its size",)),
        (("--quantization", "int3"), ("quantization int3",)),
        (("--p99", "1", "--model", "70b", "--gpu", "L4"), ("unreachable",)),
        (("--ttft", "30"), ("TTFT SLO",)),
        (("--calibration", "missing.json"), ("missing.json", "cannot read")),
        (("--plot", "out.png"), ("must be an .svg file",)),
    ],
)
def test_bad_input_exits_2_with_one_line(args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_one_line_error(invoke(*args), "llmscale size:", *fragments)


def test_a_non_number_is_a_usage_error() -> None:
    result = invoke("--users", "many")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_plot_writes_an_svg_that_parses(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (a test dependency: the plot extra)

    target = tmp_path / "size.svg"
    result = invoke("--users", "200", "--plot", str(target), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["gpusNeeded"] >= 1
    root = ET.parse(target).getroot()
    assert root.tag.endswith("svg")
    text = target.read_text(encoding="utf-8")
    for label in ("GPUs needed at peak", "p99 SLO 10 s", "multi-gpu | enterprise", "peak concurrent users"):
        assert label in text
    assert f"wrote {target}" in result.stderr


def test_plot_is_reproducible(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (a test dependency: the plot extra)

    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    invoke("--plot", str(first))
    invoke("--plot", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_plot_against_request_rate(tmp_path: Path) -> None:
    import matplotlib  # noqa: F401  (a test dependency: the plot extra)

    target = tmp_path / "rps.svg"
    assert invoke("--rps", "3", "--plot", str(target)).exit_code == 0
    assert "peak requests per second" in target.read_text(encoding="utf-8")


def test_plot_without_matplotlib_asks_for_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "size.svg"
    assert_one_line_error(invoke("--plot", str(target)), "llmscale[plot]")
    assert not target.exists()


# --- one sizing story: the README's tier table is the planner's ---------------------------------------------

README = REPO / "README.md"


def served(gpus: int, model: str, p99: float, max_num_seqs: int) -> int:
    inputs = SizingInputs(
        model=model, gpu=STACK_GPU, p99_seconds=p99, max_num_seqs=max_num_seqs, max_gpus_per_replica=1
    )
    return users_served(gpus, inputs)


def test_the_readme_tier_table_is_what_the_planner_says() -> None:
    text = README.read_text(encoding="utf-8")
    single = served(1, "7b", STACK_P99_SECONDS, PRESETS[Tier.SINGLE_GPU]["modelDefaults"]["maxNumSeqs"])
    multi = served(MULTI_GPU_MAX_GPUS, "7b", STACK_P99_SECONDS, PRESETS[Tier.MULTI_GPU]["modelDefaults"]["maxNumSeqs"])
    assert f"| `single-gpu` | 1 | up to {single} |" in text
    assert f"| `multi-gpu` | 2–8 | up to {multi} |" in text
    eight_b = (served(1, "8b", STACK_P99_SECONDS, 64), served(MULTI_GPU_MAX_GPUS, "8b", STACK_P99_SECONDS, 128))
    assert f"With an 8B model the figures are {eight_b[0]} and {eight_b[1]} users" in text
    looser = (served(1, "7b", 20, 64), served(MULTI_GPU_MAX_GPUS, "7b", 20, 128))
    assert f"with a p99 of 20 s, {looser[0]} and {looser[1]}." in text


def test_the_size_defaults_are_a_stacks_defaults() -> None:
    for tier in Tier:
        preset = PRESETS[tier]
        assert preset["slo"]["p99LatencySeconds"] == STACK_P99_SECONDS
        known = catalog.lookup(preset["gpu"]["instanceType"])
        assert known is not None and known.gpu_model == catalog.lookup(STACK_GPU).gpu_model  # type: ignore[union-attr]
    document = json.loads(invoke("--json").stdout)
    assert document["inputs"]["gpu"] == STACK_GPU and document["inputs"]["p99Seconds"] == STACK_P99_SECONDS
    assert (document["inputs"]["promptTokens"], document["inputs"]["outputTokens"]) == (1000, 250)


def test_an_instance_type_keeps_a_replica_on_one_instance() -> None:
    one = invoke("--model", "70b", "--quantization", "fp8", "--gpu", "g6e.xlarge")
    assert_one_line_error(one, "llmscale size: --gpu:", "GiB of weights")
    four = json.loads(invoke("--model", "70b", "--quantization", "fp8", "--gpu", "g6e.12xlarge", "--json").stdout)
    assert four["gpusPerReplica"] <= 4
    free = json.loads(invoke("--model", "70b", "--quantization", "fp8", "--gpu", "L40S", "--json").stdout)
    assert free["gpusPerReplica"] >= 2


def test_the_command_line_reproduces_its_inputs() -> None:
    inputs = SizingInputs(
        users=30, model="org/m-8b", gpu="g6e.2xlarge", p99_seconds=12, max_num_seqs=64, region="eu-west-1"
    )
    line = size_command_line(inputs)
    assert line == (
        "llmscale size --users 30 --model org/m-8b --gpu g6e.2xlarge --p99 12 --max-num-seqs 64 --region eu-west-1"
    )
    document = json.loads(invoke(*line.split()[2:], "--json").stdout)
    assert document["inputs"]["maxNumSeqs"] == 64 and document["inputs"]["region"] == "eu-west-1"


def test_json_states_the_range_rows_and_serving_settings_for_the_long_prompt_70b_case() -> None:
    args = ["--users", "50", "--think-time", "0", "--model", "70b", "--quantization", "fp8", "--gpu", "H100"]
    args += ["--kv-cache-dtype", "fp8", "--prompt-tokens", "5000", "--output-tokens", "500", "--p99", "40", "--json"]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["replicas"], document["gpusPerReplica"]) == (1, 2)
    assert document["range"]["low"] <= document["gpusNeeded"] <= document["range"]["high"]
    assert document["calibrationRows"] and document["serving"]["maxNumSeqs"] >= 50
    assert "range (stated error)" in result.stderr and "queue-depth target" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--tpot", "0"), "--tpot"),
        (("--prefix-reuse", "1.5"), "--prefix-reuse"),
        (("--batch-rps", "-1"), "--batch-rps"),
        (("--kv-cache-dtype", "int3"), "--kv-cache-dtype"),
    ],
)
def test_workload_shape_options_reject_bad_values_naming_the_option(args: tuple[str, str], option: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert option in result.stderr and "Traceback" not in result.stderr


def test_prefix_reuse_and_tpot_reach_the_command_line_that_reproduces_a_sizing() -> None:
    line = size_command_line(SizingInputs(tpot_seconds=0.05, prefix_reuse=0.5, kv_cache_dtype="fp8"))
    assert "--tpot 0.05" in line and "--prefix-reuse 0.5" in line and "--kv-cache-dtype fp8" in line
