"""`llmscale loadtest`: the Jobs and the host script that run `vllm bench serve` against a deployed stack."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from llmscale.cli import app
from llmscale.config.loader import load_stack
from llmscale.k8s.gateway import API_KEYS_SECRET
from llmscale.k8s.schema import validate_object
from llmscale.sizing.calibration_file import load_calibration
from llmscale.sizing.loadtest import RESULT_MARKER, bench_args, job_manifest, sweep_levels, sweeps
from tests.helpers import REPO

# Flags `vllm bench serve` 0.33 accepts (vllm/benchmarks/serve.py add_cli_args and datasets.py add_dataset_parser).
VLLM_BENCH_FLAGS = {
    "--backend", "--base-url", "--endpoint", "--model", "--served-model-name", "--dataset-name",
    "--random-input-len", "--random-output-len", "--random-range-ratio", "--ignore-eos", "--max-concurrency",
    "--num-prompts", "--request-rate", "--percentile-metrics", "--metric-percentiles", "--ready-check-timeout-sec",
    "--save-result", "--result-dir", "--result-filename", "--metadata", "--insecure",
}  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(app, ["loadtest", *args])


def stack_config(name: str):
    return load_stack(str(REPO / "stacks" / f"Pulumi.{name}.yaml")).config


@pytest.mark.parametrize("stack", ["multi-gpu", "enterprise"])
def test_kubernetes_tiers_get_a_valid_job_per_profile_reading_the_key_from_the_secret(stack: str, tmp_path: Path):
    result = run(str(REPO / "stacks" / f"Pulumi.{stack}.yaml"), "--out", str(tmp_path), "--base-url", "https://gw.test")
    assert result.exit_code == 0, result.stderr
    config = stack_config(stack)
    written = sorted(tmp_path.glob("loadtest-*.yaml"))
    assert [p.name for p in written] == sorted(f"loadtest-{p.name}.yaml" for p in config.models)
    for path in written:
        job = yaml.safe_load(path.read_text())
        assert validate_object(job) == []
        assert job["metadata"]["namespace"] == config.kubernetes.namespace
        container = job["spec"]["template"]["spec"]["containers"][0]
        key = next(e for e in container["env"] if e["name"] == "OPENAI_API_KEY")
        assert key == {
            "name": "OPENAI_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": API_KEYS_SECRET, "key": "default"}},
        }
        assert all("value" not in e or "KEY" not in e["name"] for e in container["env"])
        assert "--save-result" in container["command"][2] and "vllm bench serve" in container["command"][2]
    assert "autoscaling.keda.sh/paused-replicas=" in result.stderr


def test_no_literal_key_reaches_the_rendered_files(tmp_path: Path) -> None:
    stack = REPO / "stacks" / "Pulumi.multi-gpu.yaml"
    assert run(str(stack), "--out", str(tmp_path), "--client", "ci").exit_code == 0
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "OPENAI_API_KEY=" not in text and "Bearer" not in text
    job = yaml.safe_load(next(tmp_path.glob("*.yaml")).read_text())
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["key"] == "ci"


def test_the_single_host_gets_a_script_through_its_own_gateway(tmp_path: Path) -> None:
    result = run(str(REPO / "stacks" / "Pulumi.single-gpu.yaml"), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    script = (tmp_path / "loadtest.sh").read_text()
    assert (tmp_path / "loadtest.sh").stat().st_mode & 0o111
    assert "/opt/llmscale/secrets/api-keys" in script and "export OPENAI_API_KEY" in script
    assert "--base-url https://127.0.0.1 " in script and "--insecure" in script


def test_bench_flags_exist_in_vllm_and_carry_the_stack_token_lengths() -> None:
    config = stack_config("multi-gpu")
    sweep = sweeps(config, "https://llm.example.com", "default")[0]
    args = bench_args(sweep, sweep.concurrencies[0])
    assert {a for a in args if a.startswith("--")} <= VLLM_BENCH_FLAGS
    assert args[args.index("--random-input-len") + 1] == str(config.load.prompt_tokens)
    assert args[args.index("--random-output-len") + 1] == str(config.load.output_tokens)
    assert args[args.index("--base-url") + 1] == f"https://llm.example.com/{sweep.profile}"


def test_the_sweep_brackets_the_sized_peak() -> None:
    assert sweep_levels(10.0, 1) == (1, 2, 4, 8, 16, 32)
    assert sweep_levels(3.0, 2) == (2, 4, 8, 16)
    assert len(sweep_levels(5000.0, 1)) == 8


def test_a_result_printed_by_the_job_reads_back_as_one_replica_point(tmp_path: Path) -> None:
    """The loop: the Job's metadata (gpu, tp, quantization, replicas) makes its result a calibration point."""
    config = stack_config("multi-gpu")
    sweep = sweeps(config, "https://llm.example.com", "default")[0]
    replicas = int(sweep.metadata["replicas"])
    saved = {
        "model_id": sweep.tokenizer, "max_concurrency": 8 * replicas, "output_throughput": 400.0 * replicas,
        "completed": 80, "total_input_tokens": 80 * config.load.prompt_tokens,
        "total_output_tokens": 80 * config.load.output_tokens, "mean_tpot_ms": 20.0, **sweep.metadata,
    }  # fmt: skip
    log = f"noise\n{RESULT_MARKER} {json.dumps(saved)}\n"
    lines = [line.replace(f"{RESULT_MARKER} ", "- ", 1) for line in log.splitlines() if line.startswith(RESULT_MARKER)]
    path = tmp_path / "results.yaml"
    path.write_text("\n".join(lines) + "\n")
    (point,) = load_calibration(path)
    assert point.concurrency == 8 and point.output_tokens_per_second == pytest.approx(400.0)
    assert point.prompt_tokens == config.load.prompt_tokens


def test_job_command_is_a_posix_script_that_prints_each_result() -> None:
    config = stack_config("multi-gpu")
    sweep = sweeps(config, "https://x.example.com", "default")[0]
    script = job_manifest(config, sweep, "default")["spec"]["template"]["spec"]["containers"][0]["command"][2]
    runs = [line for line in script.splitlines() if line.startswith("vllm bench serve")]
    assert len(runs) == len(sweep.concurrencies)
    assert shlex.split(runs[0])[:3] == ["vllm", "bench", "serve"]
    assert script.count(RESULT_MARKER) == len(sweep.concurrencies)


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--client", "a b"], "--client"), (["--range-ratio", "1"], "--range-ratio")],
)
def test_bad_options_are_one_line_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    result = run(str(REPO / "stacks" / "Pulumi.multi-gpu.yaml"), "--out", str(tmp_path), *args)
    assert result.exit_code == 2 and option in result.stderr and "Traceback" not in result.stderr


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    stack = str(REPO / "stacks" / "Pulumi.multi-gpu.yaml")
    assert run(stack, "--out", str(tmp_path)).exit_code == 0
    again = run(stack, "--out", str(tmp_path))
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run(stack, "--out", str(tmp_path), "--force").exit_code == 0


def test_a_stack_without_a_public_name_needs_base_url(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.internal.yaml"
    text = (REPO / "stacks" / "Pulumi.multi-gpu.yaml").read_text(encoding="utf-8")
    without_name = text.replace("    hostname: llm.example.com\n", "").replace(
        "    hostedZoneId: Z0123456789ABCDEFGHIJ\n", ""
    )
    stack.write_text(without_name, encoding="utf-8")
    assert load_stack(str(stack)).config.gateway.hostname is None
    out = tmp_path / "out"
    result = run(str(stack), "--out", str(out))
    assert result.exit_code == 2 and "--base-url" in result.stderr and not out.exists()


def test_an_enterprise_load_test_goes_through_the_failover_name(tmp_path: Path) -> None:
    config = stack_config("enterprise")
    assert config.gateway.hostname is None and config.failover is not None
    result = run(str(REPO / "stacks" / "Pulumi.enterprise.yaml"), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    job = (tmp_path / "loadtest-chat.yaml").read_text(encoding="utf-8")
    assert f"--base-url https://{config.failover.record_name}/chat" in job
