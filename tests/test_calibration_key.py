"""`llmscale:sizing.calibration`: a stack sized from measured results is judged by them.

The key's path is read from the project directory (where Pulumi.yaml is) by `llmscale validate` and `plan`
wherever they run from, and by the program through the root directory the engine passes it; a missing or
unreadable file is one line naming the key (exit 2), never a traceback; the headroom policies and `llmscale
simulate` size from the measured points.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from components.tier_base import TierArgsError
from llmscale.cli import app
from llmscale.config.calibration_key import calibration_path, stack_calibration
from llmscale.config.loader import load_stack
from llmscale.config.models import ModelProfile, SizingConfig
from llmscale.paths import program_project, stacks_project
from llmscale.plan.mock_runtime import mock_runtime, run_to_completion
from llmscale.plan.recorder import RecordingMocks, RecordingMonitor
from llmscale.plan.runner import run_program
from llmscale.policy.settings import SETTINGS_TYPE, sizing_summary
from llmscale.program import StackConfigError
from llmscale.program import main as program
from llmscale.tiers.args import KubernetesPlatform, MultiGpuTierArgs
from tests.helpers import example_config, write_stack

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
KEY = "llmscale:sizing.calibration"


def bench_results(path: Path, tpot_ms: float = 8.0, gpu: str = "L40S") -> Path:
    """A `vllm bench serve` sweep of MODEL on one GPU as `llmscale loadtest` saves it: a directory of results."""
    path.mkdir(parents=True, exist_ok=True)
    for concurrency, tpot in ((1, tpot_ms), (16, tpot_ms * 1.3), (64, tpot_ms * 2.2)):
        point = {
            "model_id": MODEL, "max_concurrency": concurrency, "output_throughput": concurrency * 1000 / tpot,
            "mean_tpot_ms": tpot, "completed": 100, "total_input_tokens": 100_000, "total_output_tokens": 25_000,
            "gpu": gpu, "tensor_parallel_size": "1", "quantization": "none", "replicas": "1",
        }  # fmt: skip
        (path / f"chat-c{concurrency}.json").write_text(json.dumps(point), encoding="utf-8")
    return path


def make_project(root: Path, calibration: str | None = "bench", users: int = 400) -> Path:
    """A Pulumi project at `root`: Pulumi.yaml, the multi-gpu example (on L40S, with more users than its six
    replicas carry by the built-in figures) as stacks/Pulumi.acme.yaml, and measured results in bench/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: llmscale\nruntime: python\nstackConfigDir: stacks\n", encoding="utf-8")
    bench_results(root / "bench")
    config = example_config("multi-gpu")
    config["llmscale:load"]["peakConcurrentUsers"] = users
    if calibration is not None:
        config["llmscale:sizing"] = {"calibration": calibration}
    (root / "stacks").mkdir(exist_ok=True)
    write_stack(root / "stacks", "acme", config)
    return root


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line(result: Result, *fragments: str) -> str:
    """Exit 2 with exactly one line on stderr holding the fragments, no traceback."""
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def recorded_sizing(document: dict[str, Any]) -> dict[str, Any]:
    """The planner's figures the plan recorded for the stack's policies (its StackSettings)."""
    (settings,) = [r for r in document["resources"] if r["type"] == SETTINGS_TYPE]
    return settings["inputs"]["sizing"]


def headroom_findings(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in document["violations"] if v["policy"] in ("gpu-headroom", "gpu-headroom-estimate")]


# --- the policies size from the measured points -------------------------------------------------------------


def test_the_headroom_policies_size_a_calibrated_stack_from_its_measurements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "proj")
    monkeypatch.chdir(project)
    calibrated = invoke("plan", "acme", "--json")
    assert calibrated.exit_code == 0, calibrated.stderr
    document = json.loads(calibrated.stdout)
    assert recorded_sizing(document)["basis"] == "calibration-file"
    assert recorded_sizing(document)["calibration"] == "bench"
    assert recorded_sizing(document)["gpusToProvision"] <= 6
    assert headroom_findings(document) == []

    make_project(project, calibration=None)  # the same stack without the key: the built-in figures flag it
    plain = invoke("plan", "acme", "--json")
    estimate = json.loads(plain.stdout)
    assert recorded_sizing(estimate)["basis"] == "bandwidth-estimate"
    (finding,) = headroom_findings(estimate)
    assert "the profiles can use at most 6 GPUs" in finding["message"]
    assert "sizing.calibration" in finding["message"]


def test_sizing_summary_uses_the_points_it_is_given(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    loaded = load_stack(str(project / "stacks" / "Pulumi.acme.yaml"))
    points = stack_calibration(loaded.config, project)
    assert len(points) == 3
    measured, built_in = sizing_summary(loaded.config, points), sizing_summary(loaded.config)
    assert measured["basis"] == "calibration-file" and built_in["basis"] == "bandwidth-estimate"
    assert measured["gpusNeeded"] < built_in["gpusNeeded"]


# --- a missing or unreadable file ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_missing_calibration_file_is_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    project = make_project(tmp_path / "proj", calibration="results/missing.json")
    monkeypatch.chdir(project)
    line = one_line(invoke(command, "acme"), "stacks/Pulumi.acme.yaml", KEY, "results/missing.json", str(project))
    assert "no such file or directory" in line


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("{not json", "not valid JSON"), ('{"model_id": "org/Model-8B"}', "gpu is missing")],
)
def test_an_unusable_calibration_file_is_one_line_naming_the_key_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, fragment: str
) -> None:
    project = make_project(tmp_path / "proj", calibration="bad.json")
    (project / "bad.json").write_text(content, encoding="utf-8")
    monkeypatch.chdir(project)
    one_line(invoke("plan", "acme"), KEY, "bad.json", fragment)


def test_the_program_stops_on_a_missing_calibration_before_registering_anything(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    loaded = load_stack(str(project / "stacks" / "Pulumi.acme.yaml"))
    for result in (project / "bench").iterdir():
        result.unlink()
    (project / "bench").rmdir()
    with pytest.raises(StackConfigError) as raised:
        run_program(loaded, program)
    (problem,) = raised.value.problems
    assert problem.key == KEY and "bench: no such file or directory" in problem.message


def test_tier_args_in_code_with_a_missing_calibration_name_the_key(tmp_path: Path) -> None:
    args = MultiGpuTierArgs(
        platform=KubernetesPlatform(),
        models=[ModelProfile(name="chat", model=MODEL)],
        api_keys=SecretStr('{"team-a": "a-long-random-key-for-the-test-0123456789"}'),
        sizing=SizingConfig(calibration=str(tmp_path / "missing.json")),
    )
    from components.tiers import TIERS

    mocks = RecordingMocks()
    with (
        mock_runtime(mocks, RecordingMonitor(mocks), project="p", stack="s", preview=True),
        pytest.raises(TierArgsError, match=r"MultiGpuTierArgs: llmscale:sizing\.calibration: .*missing\.json"),
    ):
        run_to_completion(lambda: TIERS[MultiGpuTierArgs]("s", args))


# --- relative paths are read from the project directory -----------------------------------------------------


def test_plan_reads_the_path_from_the_project_wherever_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "docs").mkdir()
    for cwd, stack in (
        (elsewhere, str(project / "stacks" / "Pulumi.acme.yaml")),  # outside any project, a stack file path
        (project / "docs", "acme"),  # a subdirectory of the project, a stack name
    ):
        monkeypatch.chdir(cwd)
        result = invoke("plan", stack, "--json")
        assert result.exit_code == 0, result.stderr
        assert recorded_sizing(json.loads(result.stdout))["basis"] == "calibration-file"


def test_the_program_reads_the_path_from_the_root_directory_the_engine_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "proj")
    loaded = load_stack(str(project / "stacks" / "Pulumi.acme.yaml"))
    assert loaded.project_dir == project.resolve()
    # The working directory is another project without the results: only the engine's root directory finds them.
    other = tmp_path / "other"
    other.mkdir()
    (other / "Pulumi.yaml").write_text("name: other\nruntime: python\n", encoding="utf-8")
    monkeypatch.chdir(other)
    result = run_program(loaded, program)
    (settings,) = [r for r in result.resources if r.type == SETTINGS_TYPE]
    assert settings.inputs["sizing"]["basis"] == "calibration-file"
    with pytest.raises(StackConfigError, match="no such file or directory in the project directory"):
        run_program(dataclasses.replace(loaded, project_dir=None), program)  # an engine without a root directory


def test_program_project_is_the_engines_root_directory_else_the_working_directorys_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "proj")
    (project / "docs").mkdir()
    monkeypatch.chdir(project / "docs")
    seen: list[Path] = []
    for root in (str(tmp_path), None):
        mocks = RecordingMocks()
        with mock_runtime(mocks, RecordingMonitor(mocks), project="p", stack="s", preview=True, root_directory=root):
            run_to_completion(lambda: seen.append(program_project()))
    assert seen == [tmp_path, project.resolve()]


def test_a_stacks_directory_belongs_to_the_project_around_it(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    assert stacks_project(project / "stacks") == project.resolve()
    assert stacks_project(tmp_path / "loose" / "stacks") == (tmp_path / "loose").resolve()  # where `new` puts one
    assert stacks_project(tmp_path / "mine") == (tmp_path / "mine").resolve()
    assert calibration_path("bench", project) == project / "bench"
    assert calibration_path(str(tmp_path / "abs.json"), project) == tmp_path / "abs.json"


# --- the simulation runs the replicas at the measured speed -------------------------------------------------


def test_simulate_sizes_and_runs_a_calibrated_stack_from_its_measurements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "proj", users=100)
    monkeypatch.chdir(project)

    def report() -> dict[str, Any]:
        result = invoke("simulate", "acme", "--days", "0.05", "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    calibrated = report()
    make_project(project, calibration=None, users=100)
    estimated = report()
    estimate_note = "memory-bandwidth estimate"
    assert not any(estimate_note in note for note in calibrated["notes"])
    assert any(estimate_note in note for note in estimated["notes"])

    def peak(document: dict[str, Any]) -> float:
        found = re.search(r"peak ([\d.]+) req/s", document["traffic"])
        assert found is not None, document["traffic"]
        return float(found.group(1))

    # The declared users' request rate follows the measured answers: faster answers, sooner the next request.
    assert peak(calibrated) > peak(estimated)
