"""`llmscale new`: stack files sized by the planner, valid by construction, never overwritten without --force.

Every (tier, platform) llmscale builds gets a stack that validates and plans with no policy violation at all;
the numbers in its comment come back from the `llmscale size` command it names; a load the tier cannot carry is
refused with the tier that fits; bad options are one line naming the option; the interactive path asks for
what is missing, offers only what fits, and keeps every answer when a late one has to change.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import llmscale.commands.new as new_command
from llmscale.aws.eks import gpu_node_groups
from llmscale.cli import app
from llmscale.config.loader import load_stack
from llmscale.config.models import Platform, Tier
from llmscale.config.scaffold import RequestError, StackRequest, TierMisfitError, per_key_rate_limit, plan_stack
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program
from llmscale.sizing.cost import stack_cost
from llmscale.sizing.planner import size_for_stack

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
ZONE = "Z0123456789ABCDEFGHIJ"

# One request per (tier, platform) llmscale builds, each within what its tier carries.
COMBOS: dict[str, list[str]] = {
    "single-aws": ["--tier", "single-gpu", "--platform", "aws", "--region", "eu-west-1", "--users", "10",
                   "--allowed-cidr", "203.0.113.0/24"],
    "single-host": ["--tier", "single-gpu", "--platform", "host", "--users", "8"],
    "multi-aws": ["--tier", "multi-gpu", "--platform", "aws", "--region", "eu-west-1", "--users", "60",
                  "--allowed-cidr", "203.0.113.0/24", "--hosted-zone-id", ZONE, "--domain", "llm.acme.example"],
    "multi-k8s": ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "60", "--kube-context", "onprem"],
    "own-nodes": ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "60", "--gpu", "onprem.l40s-x4",
                  "--gpus-per-node", "4"],
    "ent-aws": ["--tier", "enterprise", "--platform", "aws", "--region", "eu-west-1", "--users", "600",
                "--allowed-cidr", "203.0.113.0/24", "--standby-region", "eu-central-1", "--hosted-zone-id", ZONE,
                "--domain", "llm.acme.example"],
    "ent-k8s": ["--tier", "enterprise", "--platform", "kubernetes", "--users", "300", "--hosted-zone-id", ZONE,
                "--domain", "llm.acme.example", "--primary-endpoint", "llm-a.acme.example",
                "--standby-endpoint", "8.8.4.4"],
}  # fmt: skip
ENTERPRISE = COMBOS["ent-aws"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no Pulumi project): `new` writes there, never into llmscale's checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, ["new", *args], input=stdin)


def one_line_error(result: Result, *fragments: str) -> str:
    """Exit 2 with exactly one line on stderr containing the fragments, no traceback, nothing on stdout."""
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def written(project: Path, name: str) -> str:
    return (project / "stacks" / f"Pulumi.{name}.yaml").read_text(encoding="utf-8")


def size_command(text: str) -> list[str]:
    """The `llmscale size ...` command the stack file's comment names, as arguments after `size`."""
    (line,) = [line for line in text.splitlines() if line.startswith("#   llmscale size ")]
    return shlex.split(line.removeprefix("#   llmscale size "))


# --- every tier and platform plans clean -------------------------------------------------------------------


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each combination written once by `new` into one directory, and its offline plan document."""
    directory = tmp_path_factory.mktemp("stamped")
    out: dict[str, tuple[Path, dict[str, Any]]] = {}
    for name, args in COMBOS.items():
        result = CliRunner().invoke(app, ["new", name, *args, "--model", MODEL, "--stacks-dir", str(directory)])
        assert result.exit_code == 0, result.stderr
        path = directory / f"Pulumi.{name}.yaml"
        out[name] = (path, plan_document(run_program(load_stack(str(path)), program)))
    return out


@pytest.mark.parametrize("combo", list(COMBOS))
def test_every_tier_and_platform_plans_without_any_violation(
    stamped: dict[str, tuple[Path, dict[str, Any]]], combo: str
) -> None:
    path, document = stamped[combo]
    assert document["violations"] == []
    assert document["schemaErrors"] == []
    config = load_stack(str(path)).config
    assert str(config.tier) == COMBOS[combo][1]


@pytest.mark.parametrize("combo", list(COMBOS))
def test_cluster_stacks_scale_on_what_a_replica_carries_within_the_slo(
    stamped: dict[str, tuple[Path, dict[str, Any]]], combo: str
) -> None:
    path, _ = stamped[combo]
    config = load_stack(str(path)).config
    (chat,) = config.models
    if str(config.tier) == "single-gpu":
        assert chat.in_flight_target is None and "inFlightTarget" not in path.read_text(encoding="utf-8")
        return
    # The size command the file names gives the same target, below the full batch the preset runs.
    result = CliRunner().invoke(app, ["size", *size_command(path.read_text(encoding="utf-8")), "--json"])
    assert chat.in_flight_target == json.loads(result.stdout)["serving"]["inFlightTarget"]
    assert chat.in_flight_target == size_for_stack(config).serving.in_flight_target < chat.max_num_seqs


@pytest.mark.parametrize("combo", list(COMBOS))
def test_the_named_size_command_reproduces_the_numbers(
    stamped: dict[str, tuple[Path, dict[str, Any]]], combo: str
) -> None:
    path, _ = stamped[combo]
    text = path.read_text(encoding="utf-8")
    result = CliRunner().invoke(app, ["size", *size_command(text), "--json"])
    assert result.exit_code == 0, result.stderr
    sized = json.loads(result.stdout)
    stated = re.search(r"#   (\d+) GPU\(s\) needed at peak \(\d+ x (\d+)\), (\d+) with headroom", text)
    assert stated is not None
    needed, per_replica, provision = (int(group) for group in stated.groups())
    assert (sized["gpusNeeded"], sized["gpusPerReplica"], sized["gpusToProvision"]) == (needed, per_replica, provision)
    # ... and they are what the policy pack computes from the stack itself.
    loaded = load_stack(str(path))
    policy = size_for_stack(loaded.config)
    assert (policy.gpus_needed, policy.gpus_to_provision) == (needed, provision)


@pytest.mark.parametrize("combo", list(COMBOS))
def test_the_cost_in_the_comment_is_the_plans(stamped: dict[str, tuple[Path, dict[str, Any]]], combo: str) -> None:
    path, document = stamped[combo]
    text = path.read_text(encoding="utf-8")
    cost = document["cost"]
    if cost["monthlyAlwaysOn"] is None:
        assert "Monthly GPU cost: unknown" in text
        return
    assert f"Monthly GPU cost: ${cost['monthlyAlwaysOn']:,.0f} always on, " in text
    assert f"${cost['monthlyWithSchedule']:,.0f} with the night schedule" in text


def test_enterprise_on_aws_survives_losing_a_zone(stamped: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, _ = stamped["ent-aws"]
    config = load_stack(str(path)).config
    result = size_for_stack(config)
    sizes = [group.max_size for group in gpu_node_groups(config)]
    assert len(sizes) == 3
    assert (sum(sizes) - max(sizes)) * config.gpu.gpus >= result.gpus_needed
    (profile,) = config.models
    assert profile.max_replicas * profile.gpus_per_replica >= result.gpus_to_provision
    assert config.failover is not None and config.failover.standby_region == "eu-central-1"
    assert config.failover.record_name == "llm.acme.example"


def test_enterprise_on_kubernetes_fails_over_between_the_given_endpoints(
    stamped: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    _, document = stamped["ent-k8s"]
    records = [r for r in document["resources"] if r["type"] == "aws:route53/record:Record"]
    kinds = {policy["type"] for record in records for policy in record["inputs"].get("failoverRoutingPolicies", [])}
    assert kinds == {"PRIMARY", "SECONDARY"}
    checks = [r["inputs"] for r in document["resources"] if r["type"] == "aws:route53/healthCheck:HealthCheck"]
    assert {c.get("ipAddress") or c.get("fqdn") for c in checks} == {"llm-a.acme.example", "8.8.4.4"}
    assert all(c["type"] == "HTTPS" and c["port"] == 443 for c in checks)
    assert document["outputs"]["endpoint"] == "https://llm.acme.example"


def test_the_plan_cost_follows_the_stack(stamped: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, document = stamped["ent-aws"]
    loaded = load_stack(str(path))
    assert document["cost"] == stack_cost(loaded.config, loaded.region).to_json()
    assert document["cost"]["currency"] == "USD"
    assert 0 < document["cost"]["monthlyWithSchedule"] < document["cost"]["monthlyAlwaysOn"]


# --- the file itself ---------------------------------------------------------------------------------------


def test_secrets_are_placeholders_with_instructions(project: Path) -> None:
    assert run("acme-prod", *ENTERPRISE, "--model", MODEL).exit_code == 0
    text = written(project, "acme-prod")
    assert "pulumi config set --secret llmscale:apiKeys" in text
    config = yaml.safe_load(text)["config"]
    assert set(config["llmscale:apiKeys"]) == {"secure"}
    assert set(config["llmscale:hfToken"]) == {"secure"}


def test_writes_into_the_working_directory_with_a_pulumi_project(project: Path) -> None:
    result = run("pilot", *COMBOS["single-host"], "--model", MODEL)
    assert result.exit_code == 0, result.stderr
    assert (project / "stacks" / "Pulumi.pilot.yaml").is_file()
    pulumi_yaml = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert pulumi_yaml["name"] == "llmscale" and pulumi_yaml["stackConfigDir"] == "stacks"
    assert "from llmscale.program import main" in (project / "__main__.py").read_text(encoding="utf-8")
    assert "crossguard_policies" in (project / "policies" / "__main__.py").read_text(encoding="utf-8")
    # A project that exists is left alone.
    (project / "Pulumi.yaml").write_text("name: llmscale\n# mine\n", encoding="utf-8")
    assert run("other", *COMBOS["single-host"], "--model", MODEL).exit_code == 0
    assert "# mine" in (project / "Pulumi.yaml").read_text(encoding="utf-8")
    # The stack resolves by name from the project, as `pulumi` would find it.
    plan = CliRunner().invoke(app, ["validate", "pilot"])
    assert plan.exit_code == 0, plan.stderr


def test_refuses_to_overwrite_without_force(project: Path) -> None:
    assert run("acme-prod", *ENTERPRISE, "--model", MODEL).exit_code == 0
    path = project / "stacks" / "Pulumi.acme-prod.yaml"
    path.write_text("# edited by hand\n")
    one_line_error(run("acme-prod", *ENTERPRISE, "--model", MODEL), "NAME:", "exists; pass --force")
    assert path.read_text() == "# edited by hand\n"
    assert run("acme-prod", *ENTERPRISE, "--model", MODEL, "--force").exit_code == 0
    assert path.read_text() != "# edited by hand\n"


def test_accelerator_names_and_instance_types_both_work(project: Path) -> None:
    for gpu, instance_type in (("L40S", "g6e.xlarge"), ("A10G", "g5.xlarge"), ("g6.xlarge", "g6.xlarge")):
        name = f"g-{instance_type.replace('.', '-')}"
        result = run(name, *COMBOS["single-host"], "--model", "Qwen/Qwen2.5-1.5B-Instruct", "--gpu", gpu)
        assert result.exit_code == 0, result.stderr
        text = written(project, name)
        assert yaml.safe_load(text)["config"]["llmscale:gpu"]["instanceType"] == instance_type


# --- one sizing story --------------------------------------------------------------------------------------


def test_a_load_the_tier_cannot_carry_is_refused_with_the_tier_that_fits(project: Path) -> None:
    args = ["--tier", "single-gpu", "--platform", "aws", "--region", "eu-west-1", "--users", "30",
            "--allowed-cidr", "203.0.113.0/24", "--model", MODEL]  # fmt: skip
    line = one_line_error(run("acme", *args), "--tier:", "tier multi-gpu fits", "llmscale size --users 30")
    assert "need 3 GPUs at peak" in line
    assert not (project / "stacks").exists()
    sized = CliRunner().invoke(app, ["size", "--users", "30", "--model", MODEL, "--max-num-seqs", "64", "--json"])
    assert json.loads(sized.stdout)["recommendedTier"] == "multi-gpu"


def test_a_single_gpu_stack_holds_what_one_gpu_serves(project: Path) -> None:
    result = run("pilot", *COMBOS["single-host"], "--model", MODEL)
    assert result.exit_code == 0
    config = load_stack(str(project / "stacks" / "Pulumi.pilot.yaml")).config
    assert size_for_stack(config).gpus_needed == 1
    assert config.models[0].max_replicas == 1


# --- bad options: one line naming the option ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model", "7b"], ("--model:", "Hugging Face model id")),
        (["--model", "org/mystery"], ("--model:", "size from its name")),
        (["--timezone", "Berlin"], ("--timezone:", "IANA")),
        (["--region", "mars-1"], ("--region:", "not an AWS region")),
        (["--region", "us-east-9"], ("--region:", "did you mean")),
        (["--standby-region", "eu-west-1"], ("--standby-region:", "primary region")),
        (["--hosted-zone-id", "zone"], ("--hosted-zone-id:",)),
        (["--domain", "LLM example"], ("--domain:",)),
        (["--gpu", "B200!"], ("--gpu:",)),
    ],
)
def test_bad_options_are_one_line_naming_the_option(project: Path, args: list[str], fragments: tuple[str, ...]) -> None:
    base = dict(zip(ENTERPRISE[::2], ENTERPRISE[1::2], strict=True))
    base["--model"] = MODEL
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    one_line_error(run("acme", *[part for pair in base.items() for part in pair]), *fragments)
    assert not (project / "stacks").exists()


@pytest.mark.parametrize("name", ["bad_name!", "a b", "sub/dir", "x-", "x" * 41, "", "a.b"])
def test_names_that_are_not_stack_names_are_refused(project: Path, name: str) -> None:
    one_line_error(run(name, *COMBOS["single-host"], "--model", MODEL), "NAME:")
    assert not (project / "stacks").exists()


def test_a_model_too_big_for_the_replica_limit_names_the_option(project: Path) -> None:
    args = [*ENTERPRISE[:-6], "--standby-region", "eu-central-1", "--hosted-zone-id", ZONE, "--domain", "llm.a.example"]
    result = run("big", *args, "--model", "meta-llama/Llama-2-13b-chat-hf")
    line = one_line_error(result)
    assert line.startswith("--users:") or line.startswith("--p99:") or line.startswith("--gpu:"), line
    assert "maxReplicas" not in line


def test_options_that_do_not_apply_are_refused(project: Path) -> None:
    one_line_error(
        run("x", *COMBOS["multi-k8s"], "--model", MODEL, "--standby-region", "eu-central-1"),
        "--standby-region:",
        "only the enterprise tier on platform aws",
    )


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
    one_line_error(result, "--allowed-cidr: required")


def test_enterprise_needs_its_failover_options(project: Path) -> None:
    result = run("ent", *ENTERPRISE[:10], "--model", MODEL)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "--standby-region: required (no terminal to ask on)",
        "--hosted-zone-id: required (no terminal to ask on)",
        "--domain: required (no terminal to ask on)",
    ]


def test_an_invalid_request_writes_nothing(project: Path) -> None:
    result = run("pilot", "--tier", "single-gpu", "--platform", "kubernetes", "--users", "20",
                 "--model", "Qwen/Qwen2.5-7B-Instruct")  # fmt: skip
    one_line_error(result, "--platform: kubernetes does not fit tier single-gpu")
    assert not (project / "stacks" / "Pulumi.pilot.yaml").exists()


def test_stacks_dir_that_is_a_file_is_refused(project: Path) -> None:
    (project / "stacks").write_text("not a directory\n")
    one_line_error(run("x", *COMBOS["single-host"], "--model", MODEL), "stacks:", "is a file")
    one_line_error(
        run("x", *COMBOS["single-host"], "--model", MODEL, "--stacks-dir", str(project / "stacks")), "--stacks-dir:"
    )


# --- on a terminal -----------------------------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(new_command, "_interactive", lambda: True)


def test_missing_answers_are_asked_including_the_name(project: Path, terminal: None) -> None:
    answers = "pilot\nsingle-gpu\naws\n10\nQwen/Qwen2.5-7B-Instruct\neu-west-1\n198.51.100.0/24\n"
    result = run(stdin=answers)
    assert result.exit_code == 0, result.stderr
    config = load_stack(str(project / "stacks" / "Pulumi.pilot.yaml")).config
    assert config.host.allowed_cidrs == ["198.51.100.0/24"]
    assert config.models[0].model == "Qwen/Qwen2.5-7B-Instruct"
    assert "Stack name" in result.stderr


def test_only_platforms_that_fit_the_tier_are_offered(project: Path, terminal: None) -> None:
    answers = "single-gpu\nkubernetes\nhost\n8\n" + MODEL + "\n"
    result = run("pilot", stdin=answers)
    assert result.exit_code == 0, result.stderr
    assert "Platform (aws, host)" in result.stderr
    assert "choose one of aws, host" in result.stderr  # kubernetes was not accepted
    assert load_stack(str(project / "stacks" / "Pulumi.pilot.yaml")).config.platform == "host"


def test_a_bad_answer_is_asked_again(project: Path, terminal: None) -> None:
    answers = "multi-gpu\naws\n60\n7b\n" + MODEL + "\nmars-1\neu-west-1\n198.51.100.0/24\n"
    result = run("acme", stdin=answers)
    assert result.exit_code == 0, result.stderr
    assert "--model: must be a Hugging Face model id" in result.stderr
    assert "--region: is not an AWS region" in result.stderr
    assert load_stack(str(project / "stacks" / "Pulumi.acme.yaml")).region == "eu-west-1"


def test_a_late_error_keeps_every_other_answer(project: Path, terminal: None) -> None:
    # 30 users do not fit one GPU: the tier is asked again, and nothing else is.
    answers = "single-gpu\naws\n30\n" + MODEL + "\neu-west-1\n198.51.100.0/24\nmulti-gpu\n"
    result = run("acme", stdin=answers)
    assert result.exit_code == 0, result.stderr
    assert "tier multi-gpu fits" in result.stderr
    assert "Tier that fits (multi-gpu, enterprise)" in result.stderr
    assert result.stderr.count("Peak concurrent users") == 1
    assert result.stderr.count("AWS region") == 1
    loaded = load_stack(str(project / "stacks" / "Pulumi.acme.yaml"))
    assert (str(loaded.config.tier), loaded.region, loaded.config.load.peak_concurrent_users) == (
        "multi-gpu",
        "eu-west-1",
        30,
    )


def test_a_taken_name_is_asked_again(project: Path, terminal: None) -> None:
    assert run("pilot", *COMBOS["single-host"], "--model", MODEL).exit_code == 0
    before = written(project, "pilot")
    result = run("pilot", *COMBOS["single-host"], "--model", MODEL, stdin="pilot-2\n")
    assert result.exit_code == 0, result.stderr
    assert "exists; choose another name" in result.stderr
    assert written(project, "pilot") == before
    assert (project / "stacks" / "Pulumi.pilot-2.yaml").is_file()


# --- the replica decision, over many loads -----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(users=st.integers(min_value=1, max_value=3000), platform=st.sampled_from(["aws", "kubernetes"]))
def test_enterprise_replicas_cover_the_peak_after_losing_a_zone(users: int, platform: str) -> None:
    request = StackRequest(
        name="prop",
        tier=Tier.ENTERPRISE,
        platform=Platform(platform),
        users=users,
        model=MODEL,
        region="eu-west-1" if platform == "aws" else None,
        allowed_cidrs=("203.0.113.0/24",) if platform == "aws" else (),
        standby_region="eu-central-1" if platform == "aws" else None,
        hosted_zone_id=ZONE,
        domain="llm.acme.example",
        primary_endpoint=None if platform == "aws" else "llm-a.acme.example",
        standby_endpoint=None if platform == "aws" else "llm-b.acme.example",
    )
    try:
        plan = plan_stack(request)
    except RequestError as error:
        assert [problem.option for problem in error.problems] == ["--users"]  # more than 100 replicas
        return
    config = plan.config
    (profile,) = config.models
    result = size_for_stack(config)
    assert profile.max_replicas * profile.gpus_per_replica >= result.gpus_to_provision
    assert profile.min_replicas <= profile.max_replicas <= 100
    if platform == "aws":
        sizes = [group.max_size for group in gpu_node_groups(config)]
        assert (sum(sizes) - max(sizes)) * config.gpu.gpus >= result.gpus_needed
    else:
        left = profile.max_replicas - -(-profile.max_replicas // 3)
        assert left * profile.gpus_per_replica >= result.gpus_needed


@settings(max_examples=25, deadline=None)
@given(users=st.integers(min_value=1, max_value=400))
def test_multi_gpu_replicas_hold_the_gpus_to_provision_or_the_tier_is_refused(users: int) -> None:
    request = StackRequest(
        name="prop",
        tier=Tier.MULTI_GPU,
        platform=Platform.AWS,
        users=users,
        model=MODEL,
        region="eu-west-1",
        allowed_cidrs=("203.0.113.0/24",),
    )
    try:
        plan = plan_stack(request)
    except TierMisfitError as misfit:
        assert misfit.fits == (Tier.ENTERPRISE,)
        assert size_for_stack_of(request).gpus_needed > 8 or users >= 500
        return
    (profile,) = plan.config.models
    assert profile.max_replicas * profile.gpus_per_replica >= plan.sizing.gpus_to_provision
    assert plan.sizing.gpus_needed <= 8


def size_for_stack_of(request: StackRequest) -> Any:
    from llmscale.sizing.inputs import SizingInputs
    from llmscale.sizing.planner import size

    return size(
        SizingInputs(users=request.users, model=request.model, gpu="g6e.xlarge", p99_seconds=10, max_num_seqs=128,
                     max_gpus_per_replica=1)
    )  # fmt: skip


def test_multi_gpu_on_aws_names_its_endpoint_or_stays_in_the_vpc(project: Path) -> None:
    assert run("named", *COMBOS["multi-aws"], "--model", MODEL).exit_code == 0
    named = yaml.safe_load(written(project, "named"))["config"]["llmscale:gateway"]
    assert (named["hostname"], named["hostedZoneId"]) == ("llm.acme.example", ZONE)
    internal_args = COMBOS["multi-aws"][: COMBOS["multi-aws"].index("--hosted-zone-id")]
    assert run("internal", *internal_args, "--model", MODEL).exit_code == 0
    internal = written(project, "internal")
    assert "the load balancer is internal to the VPC" in internal
    assert "hostname" not in yaml.safe_load(internal)["config"]["llmscale:gateway"]


@pytest.mark.parametrize(("rps", "limit"), [(0.1, 60), (1.0, 100), (10.0, 600), (22.6, 1400)])
def test_the_per_key_rate_limit_carries_twice_the_peak(rps: float, limit: int) -> None:
    assert per_key_rate_limit(rps) == limit
    assert per_key_rate_limit(rps) * 2 >= 2 * rps * 60


def test_a_new_stacks_rate_limit_follows_its_declared_peak(project: Path) -> None:
    assert run("acme", *COMBOS["ent-aws"], "--model", MODEL).exit_code == 0
    loaded = load_stack(str(project / "stacks" / "Pulumi.acme.yaml"))
    peak = size_for_stack(loaded.config).requests_per_second
    assert loaded.config.gateway.rate_limit_requests_per_minute == per_key_rate_limit(peak)


# --- sized from measured results (llmscale loadtest) --------------------------------------------------------


def _results(path: Path, tpot_ms: float, gpu: str = "L40S") -> Path:
    """A sweep of `vllm bench serve` results for MODEL on one GPU, as `llmscale loadtest` saves them."""
    points = [
        {
            "model_id": MODEL, "max_concurrency": c, "output_throughput": c * 1000 / tpot, "mean_tpot_ms": tpot,
            "completed": 100, "total_input_tokens": 100_000, "total_output_tokens": 25_000,
            "gpu": gpu, "tensor_parallel_size": "1", "quantization": "none", "replicas": "1",
        }
        for c, tpot in ((1, tpot_ms), (16, tpot_ms * 1.3), (64, tpot_ms * 2.2))
    ]  # fmt: skip
    path.mkdir(parents=True, exist_ok=True)
    for point in points:
        (path / f"chat-c{point['max_concurrency']}.json").write_text(json.dumps(point), encoding="utf-8")
    return path


def test_new_sizes_from_a_calibration_and_names_it_in_the_size_command(project: Path) -> None:
    args = ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "200", "--kube-context", "onprem"]
    slow = _results(project / "slow", 25.0)
    fast = _results(project / "fast", 10.0)
    assert run("slow", *args, "--model", MODEL, "--calibration", str(slow)).exit_code == 0
    result = run("fast", *args, "--model", MODEL, "--calibration", str(fast))
    assert result.exit_code == 0, result.stderr

    def needed(text: str) -> int:
        stated = re.search(r"#   (\d+) GPU\(s\) needed at peak", text)
        assert stated is not None
        return int(stated.group(1))

    slow_text, fast_text = written(project, "slow"), written(project, "fast")
    assert needed(fast_text) < needed(slow_text)
    command = size_command(fast_text)
    assert command[command.index("--calibration") + 1] == str(fast)
    sized = CliRunner().invoke(app, ["size", *command, "--json"])
    assert sized.exit_code == 0, sized.stderr
    document = json.loads(sized.stdout)
    assert document["gpusNeeded"] == needed(fast_text)
    assert document["source"]["basis"] == "calibration-file"


@pytest.mark.parametrize(
    ("gpu", "variant", "exit_code"),
    [
        ("L40S", "estimate", 0),  # no measurement of its own: the estimates' rules, advisory here
        ("A10G", "", 1),  # measured rows: the rules on measured figures, `plan` exits 1 on gpu-headroom
    ],
)
def test_a_stack_sized_from_measurements_is_judged_by_them(
    project: Path, gpu: str, variant: str, exit_code: int
) -> None:
    """`new --calibration` names the results in the stack, so its own policies size it from them: no headroom
    finding. Without the key the policies' built-in figures need many more GPUs than the stack may use, and
    carry fewer requests per replica within the SLO than the measured in-flight target."""
    _results(project / "bench", 8.0, gpu)
    args = ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "200", "--kube-context", "onprem"]
    made = run("acme", *args, "--gpu", gpu, "--model", MODEL, "--calibration", "bench")
    assert made.exit_code == 0, made.stderr
    document = yaml.safe_load(written(project, "acme"))
    assert document["config"]["llmscale:sizing"] == {"calibration": "bench"}

    def plan(name: str) -> tuple[int, list[dict[str, Any]]]:
        result = CliRunner().invoke(app, ["plan", name, "--json"])
        return result.exit_code, json.loads(result.stdout)["violations"]

    assert plan("acme") == (0, [])
    del document["config"]["llmscale:sizing"]
    (project / "stacks" / "Pulumi.plain.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    code, violations = plan("plain")
    assert code == exit_code
    suffix = f"-{variant}" if variant else ""
    assert [v["policy"] for v in violations] == [f"gpu-headroom{suffix}", f"in-flight-target{suffix}"]


def test_new_names_the_results_relative_to_the_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From a subdirectory the path given is turned into the project's; results outside it stay absolute."""
    args = ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "60", "--kube-context", "onprem"]
    _results(project / "bench", 10.0)
    assert run("first", *args, "--model", MODEL).exit_code == 0  # writes the Pulumi project
    (project / "docs").mkdir()
    monkeypatch.chdir(project / "docs")
    assert run("inside", *args, "--model", MODEL, "--calibration", "../bench").exit_code == 0
    outside = _results(project.parent / f"{project.name}-results", 10.0)
    assert run("outside", *args, "--model", MODEL, "--calibration", str(outside)).exit_code == 0

    def key(name: str) -> str:
        return yaml.safe_load(written(project, name))["config"]["llmscale:sizing"]["calibration"]

    assert key("inside") == "bench"
    assert key("outside") == str(outside.resolve())
    assert load_stack(str(project / "stacks" / "Pulumi.inside.yaml")).project_dir == project.resolve()


def test_a_bad_calibration_is_one_line_naming_the_option(project: Path) -> None:
    bad = project / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    args = ["--tier", "multi-gpu", "--platform", "kubernetes", "--users", "60", "--kube-context", "onprem"]
    one_line_error(run("acme", *args, "--model", MODEL, "--calibration", str(bad)), "--calibration", "not valid JSON")
