"""`llmscale new`: stack files sized by the planner, valid by construction, never overwritten without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import llmscale.commands.new as new_command
from llmscale.cli import app
from llmscale.config.loader import load_stack
from llmscale.config.models import Platform, Tier
from llmscale.scaffold import StackRequest, sizing

ENTERPRISE = ["--tier", "enterprise", "--platform", "aws", "--region", "eu-west-1", "--users", "600",
              "--model", "meta-llama/Llama-3.1-8B-Instruct", "--allowed-cidr", "203.0.113.0/24"]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: llmscale\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["new", *args], input=stdin)


def test_writes_a_valid_stack_sized_by_the_planner(project: Path) -> None:
    result = run("acme-prod", *ENTERPRISE)
    assert result.exit_code == 0, result.stderr
    path = project / "stacks" / "Pulumi.acme-prod.yaml"
    loaded = load_stack(str(path))
    config = loaded.config
    assert (str(config.tier), str(config.platform), loaded.region) == ("enterprise", "aws", "eu-west-1")
    assert config.load.peak_concurrent_users == 600
    planned = sizing(
        StackRequest(name="acme-prod", tier=Tier.ENTERPRISE, platform=Platform.AWS, users=600,
                     model="meta-llama/Llama-3.1-8B-Instruct", region="eu-west-1")
    )  # fmt: skip
    assert planned.gpus_to_provision >= planned.gpus_needed + 2
    (profile,) = config.models
    assert profile.max_replicas * profile.gpus_per_replica >= planned.gpus_to_provision
    assert profile.min_replicas == 3
    assert f"{planned.gpus_needed} GPU(s) needed at peak" in path.read_text()


def test_secrets_are_placeholders_with_instructions(project: Path) -> None:
    assert run("acme-prod", *ENTERPRISE).exit_code == 0
    text = (project / "stacks" / "Pulumi.acme-prod.yaml").read_text()
    assert "pulumi config set --secret llmscale:apiKeys" in text
    config = yaml.safe_load(text)["config"]
    assert set(config["llmscale:apiKeys"]) == {"secure"}
    assert set(config["llmscale:hfToken"]) == {"secure"}


def test_refuses_to_overwrite_without_force(project: Path) -> None:
    assert run("acme-prod", *ENTERPRISE).exit_code == 0
    path = project / "stacks" / "Pulumi.acme-prod.yaml"
    path.write_text("# edited by hand\n")
    result = run("acme-prod", *ENTERPRISE)
    assert result.exit_code == 2
    assert "exists; pass --force" in result.stderr
    assert path.read_text() == "# edited by hand\n"
    assert run("acme-prod", *ENTERPRISE, "--force").exit_code == 0
    assert path.read_text() != "# edited by hand\n"


def test_missing_options_without_a_terminal_are_plain_errors(project: Path) -> None:
    result = run("pilot")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "--tier: required (no terminal to ask on)",
        "--platform: required (no terminal to ask on)",
        "--users: required (no terminal to ask on)",
        "--model: required (no terminal to ask on)",
    ]
    assert not (project / "stacks").exists()


def test_single_host_on_aws_needs_the_allowed_networks(project: Path) -> None:
    result = run("pilot", "--tier", "single-gpu", "--platform", "aws", "--region", "eu-west-1", "--users", "20",
                 "--model", "Qwen/Qwen2.5-7B-Instruct")  # fmt: skip
    assert result.exit_code == 2
    assert "--allowed-cidr: required" in result.stderr


def test_an_eks_stack_needs_the_networks_allowed_to_reach_its_api(project: Path) -> None:
    without = [arg for arg in ENTERPRISE if arg not in ("--allowed-cidr", "203.0.113.0/24")]
    result = run("acme-prod", *without)
    assert result.exit_code == 2
    assert "--allowed-cidr: required" in result.stderr
    assert run("acme-prod", *ENTERPRISE).exit_code == 0
    config = load_stack(str(project / "stacks" / "Pulumi.acme-prod.yaml")).config
    assert config.eks.public_access_cidrs == ["203.0.113.0/24"]
    assert config.eks.endpoint_public_access is True


def test_missing_options_are_asked_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(new_command, "_interactive", lambda: True)
    answers = "single-gpu\naws\n20\nQwen/Qwen2.5-7B-Instruct\neu-west-1\n198.51.100.0/24\n"
    result = run("pilot", stdin=answers)
    assert result.exit_code == 0, result.stderr
    config = load_stack(str(project / "stacks" / "Pulumi.pilot.yaml")).config
    assert config.host.allowed_cidrs == ["198.51.100.0/24"]
    assert config.models[0].model == "Qwen/Qwen2.5-7B-Instruct"


def test_an_invalid_request_writes_nothing(project: Path) -> None:
    result = run("pilot", "--tier", "single-gpu", "--platform", "kubernetes", "--users", "20",
                 "--model", "Qwen/Qwen2.5-7B-Instruct")  # fmt: skip
    assert result.exit_code == 2
    assert "llmscale:platform: kubernetes does not fit tier single-gpu" in result.stderr
    assert not (project / "stacks" / "Pulumi.pilot.yaml").exists()


def test_a_model_the_planner_cannot_size_is_a_clear_error(project: Path) -> None:
    result = run("x", "--tier", "multi-gpu", "--platform", "kubernetes", "--users", "50", "--model", "org/mystery")
    assert result.exit_code == 2
    assert result.stderr.startswith("cannot size x:")
    assert "Traceback" not in result.stderr


def test_single_gpu_warns_when_the_planner_wants_more(project: Path) -> None:
    assert run("pilot", "--tier", "single-gpu", "--platform", "host", "--users", "200",
               "--model", "Qwen/Qwen2.5-7B-Instruct").exit_code == 0  # fmt: skip
    assert "use tier multi-gpu" in (project / "stacks" / "Pulumi.pilot.yaml").read_text()
