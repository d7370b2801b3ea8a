"""Tests for the `llmscale` command line: validate, plan and render, their exit codes and their output streams.

Human output goes to stderr and `--json` documents to stdout; config errors exit 2 with one line per problem;
no output ever contains a secret value or a traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from llmscale import __version__
from tests.helpers import REPO, write_stack

STACKS = REPO / "stacks"
AWS_STACK = "single-gpu"
HOST_STACK = "single-gpu-host"
PLANTED = "sk-live-PLANTED123456"
CIPHERTEXT = "v1:AAABBBdoesNotDecryptAnywhereZZZ999"
EXAMPLE_CIPHERTEXT = "v1:placeholder-set-with-pulumi-config-set-secret"
BUNDLE_FILES = (
    "docker-compose.yml",
    "caddy/Caddyfile",
    "prometheus/prometheus.yml",
    "alertmanager/alertmanager.yml",
    "grafana/provisioning/datasources/prometheus.yml",
    "grafana/provisioning/dashboards/llmscale.yml",
    "grafana/dashboards/llmscale.json",
    "prometheus/rules/llmscale.yml",
    "bin/start.sh",
    "bin/render-api-keys.py",
    "bin/check-hf-access.py",
    "usage-meter/usage-meter.py",
    "README.txt",
)

# A valid single-gpu AWS stack, as a stack file's `config:` mapping.
VALID_AWS: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "llmscale:tier": "single-gpu",
    "llmscale:platform": "aws",
    "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
    "llmscale:gpu": {"instanceType": "g6e.xlarge"},
    "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
    "llmscale:apiKeys": {"secure": CIPHERTEXT},
}


# --- helpers ---------------------------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    """Run the CLI in-process; stdout and stderr are captured separately."""
    from llmscale.cli import app

    return CliRunner().invoke(app, list(args))


def everything(result: Result) -> str:
    """All text a run produced, on either stream, plus any exception it raised."""
    text = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += repr(result.exception)
    return text


def shown(path: Path) -> str:
    """A stack file's path as the CLI prints it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def assert_clean_failure(result: Result) -> None:
    """A config error: exit 2, reported as lines on stderr, no traceback and nothing on stdout."""
    assert result.exit_code == 2, everything(result)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in everything(result)
    assert result.stdout == ""


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_plan() -> Result:
    """`llmscale plan single-gpu --json`, run once for the module."""
    return invoke("plan", AWS_STACK, "--json")


@pytest.fixture(scope="module")
def aws_document(aws_plan: Result) -> dict[str, Any]:
    assert aws_plan.exit_code == 0, everything(aws_plan)
    return json.loads(aws_plan.stdout)


@pytest.fixture(scope="module")
def host_plan() -> Result:
    return invoke("plan", HOST_STACK, "--json")


@pytest.fixture
def invalid_stack(tmp_path: Path) -> Path:
    """A stack file with several problems: unknown keys (one holding a secret-like value) and min > max."""
    config = {
        **VALID_AWS,
        "llmscale:bogusKey": PLANTED,
        "llmscale:models": [
            {
                "name": "chat",
                "model": "meta-llama/Llama-3.1-8B-Instruct",
                "minReplicas": 3,
                "maxReplicas": 2,
            }
        ],
        "llmscale:gpu": {"instanceType": "g6e.xlarge", "gpuCout": 1},
    }
    return write_stack(tmp_path, "broken", config)


# --- --version -------------------------------------------------------------------------------------------


def test_version_prints_the_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout
    assert result.stdout.strip() == f"llmscale {__version__}"


def test_no_arguments_shows_help_and_does_not_crash() -> None:
    result = invoke()
    assert "Traceback" not in everything(result)
    assert "validate" in result.output
    assert "plan" in result.output
    assert "render" in result.output


# --- validate --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", [AWS_STACK, HOST_STACK])
def test_validate_example_stacks(stack: str) -> None:
    result = invoke("validate", stack)
    assert result.exit_code == 0, everything(result)
    assert "valid" in result.stderr
    assert f"Pulumi.{stack}.yaml" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("stack", [AWS_STACK, HOST_STACK])
def test_validate_accepts_a_stack_file_path(stack: str) -> None:
    path = STACKS / f"Pulumi.{stack}.yaml"
    result = invoke("validate", str(path))
    assert result.exit_code == 0, everything(result)
    assert "valid" in result.stderr


def test_validate_accepts_a_stack_file_outside_the_project(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "elsewhere", VALID_AWS)
    result = invoke("validate", str(path))
    assert result.exit_code == 0, everything(result)
    assert result.stderr.startswith(f"{shown(path)}: valid")


def test_validate_invalid_stack_reports_one_line_per_problem(invalid_stack: Path) -> None:
    result = invoke("validate", str(invalid_stack))
    assert_clean_failure(result)
    lines = result.stderr.splitlines()
    prefix = f"{shown(invalid_stack)}: "
    assert lines, "no problems reported"
    for line in lines:
        assert line.startswith(prefix), line
    keys = [line.removeprefix(prefix).split(": ", 1)[0] for line in lines]
    assert "llmscale:bogusKey" in keys
    assert "llmscale:gpu.gpuCout" in keys
    assert "llmscale:models[0].maxReplicas" in keys
    assert len(lines) == len(set(keys)) == 3


def test_validate_missing_stack_name() -> None:
    result = invoke("validate", "no-such-stack-anywhere")
    assert_clean_failure(result)
    assert "Pulumi.no-such-stack-anywhere.yaml" in result.stderr
    assert "no such stack file" in result.stderr


def test_missing_stack_message_suggests_only_existing_commands() -> None:
    """A hint such as `run llmscale X` must name a command the CLI has."""
    from llmscale.cli import app

    commands = {command.name or command.callback.__name__ for command in app.registered_commands if command.callback}
    result = invoke("validate", "no-such-stack-anywhere")
    suggested = re.findall(r"`llmscale ([a-z-]+)", result.stderr)
    assert set(suggested) <= commands, f"suggests {suggested}, commands are {sorted(commands)}"


def test_validate_missing_stack_file_path(tmp_path: Path) -> None:
    missing = tmp_path / "Pulumi.gone.yaml"
    result = invoke("validate", str(missing))
    assert_clean_failure(result)
    assert result.stderr.startswith(f"{shown(missing)}: ")
    assert "no such stack file" in result.stderr


def test_validate_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.malformed.yaml"
    path.write_text("config:\n  llmscale:tier: [single-gpu\n", encoding="utf-8")
    result = invoke("validate", str(path))
    assert_clean_failure(result)
    assert result.stderr.startswith(f"{shown(path)}: ")


# --- secrets never leak ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan", "render"])
def test_plain_text_api_keys_are_rejected_without_echo(tmp_path: Path, command: str) -> None:
    path = write_stack(tmp_path, "plain", {**VALID_AWS, "llmscale:apiKeys": PLANTED})
    args = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    result = invoke(*args)
    assert_clean_failure(result)
    assert "llmscale:apiKeys" in result.stderr
    assert "plain text" in result.stderr
    assert PLANTED not in everything(result)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "plan", "render"])
def test_secret_in_an_unknown_key_is_never_echoed(tmp_path: Path, command: str) -> None:
    path = write_stack(
        tmp_path,
        "typo",
        {**VALID_AWS, "llmscale:apiKey": PLANTED, "llmscale:host": {"allowedCidrs": [PLANTED]}},
    )
    args = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "render" else [])
    result = invoke(*args)
    assert_clean_failure(result)
    assert "llmscale:apiKey:" in result.stderr
    assert PLANTED not in everything(result)


# --- plan ------------------------------------------------------------------------------------------------


def test_plan_aws_exits_zero_and_prints_the_tree_on_stderr(aws_plan: Result) -> None:
    assert aws_plan.exit_code == 0, everything(aws_plan)
    tree = aws_plan.stderr
    assert "pulumi:pulumi:Stack" in tree
    assert "llmscale:index:SingleGpuHost" in tree
    assert "aws:ec2/instance:Instance" in tree
    assert "Resources by type" in tree
    assert "(known after apply)" in tree
    assert "Traceback" not in everything(aws_plan)


def test_plan_json_goes_to_stdout_only(aws_plan: Result, aws_document: dict[str, Any]) -> None:
    # stdout is exactly one JSON document: no human text mixed in.
    assert aws_plan.stdout.lstrip().startswith("{")
    assert "Resources by type" not in aws_plan.stdout
    assert "Plan for stack" not in aws_plan.stdout
    assert json.loads(aws_plan.stdout) == aws_document
    # and the human output carries no JSON.
    assert '"formatVersion"' not in aws_plan.stderr
    assert aws_document["stack"] == AWS_STACK
    assert aws_document["tier"] == "single-gpu"


def test_plan_json_document_shape(aws_document: dict[str, Any]) -> None:
    for key in ("stack", "tier", "resources", "counts", "outputs"):
        assert key in aws_document
    resources = aws_document["resources"]
    assert isinstance(resources, list)
    assert resources
    for resource in resources:
        for key in ("type", "name", "parent", "inputs"):
            assert key in resource, (key, resource.get("name"))
        assert isinstance(resource["inputs"], dict)
    assert sum(aws_document["counts"].values()) == len(resources)
    types = {r["type"] for r in resources}
    assert "llmscale:index:SingleGpuHost" in types
    assert "aws:ec2/instance:Instance" in types
    assert "pulumi:pulumi:Stack" not in types
    assert aws_document["outputs"]["endpoint"] == "(known after apply)"


def test_plan_without_json_writes_nothing_to_stdout() -> None:
    result = invoke("plan", HOST_STACK)
    assert result.exit_code == 0, everything(result)
    assert result.stdout == ""
    assert "Resources by type" in result.stderr


def test_plan_details_shows_inputs() -> None:
    result = invoke("plan", AWS_STACK, "--details")
    assert result.exit_code == 0, everything(result)
    assert result.stdout == ""
    assert "instanceType: g6e.xlarge" in result.stderr
    assert "value: [secret]" in result.stderr
    assert EXAMPLE_CIPHERTEXT not in result.stderr


def test_plan_redacts_secrets(aws_plan: Result, aws_document: dict[str, Any]) -> None:
    parameters = [
        r
        for r in aws_document["resources"]
        if r["type"] == "aws:ssm/parameter:Parameter" and r["inputs"]["type"] == "SecureString"
    ]
    assert parameters
    for parameter in parameters:
        assert parameter["inputs"]["value"] == "[secret]", parameter["name"]
        assert parameter["inputs"]["type"] == "SecureString"
    assert aws_document["summary"]["undecryptedSecrets"] == ["llmscale:apiKeys", "llmscale:hfToken"]
    # The stack file's ciphertext is never shown, and the instance's user data holds no secret placeholder.
    assert EXAMPLE_CIPHERTEXT not in everything(aws_plan)
    (instance,) = [r for r in aws_document["resources"] if r["type"] == "aws:ec2/instance:Instance"]
    assert "[secret]" not in instance["inputs"]["userData"]


def test_plan_runs_when_secrets_cannot_be_decrypted(tmp_path: Path) -> None:
    config = {
        **VALID_AWS,
        "llmscale:apiKeys": {"secure": CIPHERTEXT},
        "llmscale:hfToken": {"secure": CIPHERTEXT + "hf"},
        "llmscale:grafanaAdminPassword": {"secure": CIPHERTEXT + "gf"},
    }
    path = write_stack(tmp_path, "encrypted", config)
    result = invoke("plan", str(path), "--json")
    assert result.exit_code == 0, everything(result)
    assert CIPHERTEXT not in everything(result)
    document = json.loads(result.stdout)
    assert document["stack"] == "encrypted"
    assert document["summary"]["undecryptedSecrets"] == [
        "llmscale:apiKeys",
        "llmscale:grafanaAdminPassword",
        "llmscale:hfToken",
    ]
    # The bundle's manifest and location are plain String parameters; every SecureString is redacted.
    values = [
        r["inputs"]["value"]
        for r in document["resources"]
        if r["type"] == "aws:ssm/parameter:Parameter" and r["inputs"]["type"] == "SecureString"
    ]
    assert values == ["[secret]"] * 3
    assert "Encrypted config not decrypted offline" in result.stderr


def test_plan_invalid_stack_exits_2_without_resources(invalid_stack: Path) -> None:
    result = invoke("plan", str(invalid_stack), "--json")
    assert_clean_failure(result)
    assert "Resources by type" not in result.stderr
    assert "aws:" not in result.stderr
    assert "pulumi:pulumi:Stack" not in result.stderr
    assert PLANTED not in everything(result)
    for line in result.stderr.splitlines():
        assert line.startswith(f"{shown(invalid_stack)}: "), line


def test_plan_missing_stack_exits_2() -> None:
    result = invoke("plan", "no-such-stack-anywhere")
    assert_clean_failure(result)
    assert "no such stack file" in result.stderr


def test_plan_host_stack_has_no_resources(host_plan: Result) -> None:
    assert host_plan.exit_code == 0, everything(host_plan)
    document = json.loads(host_plan.stdout)
    # Only the tier and the stack's settings record: no cloud resource for an existing server.
    assert [r["type"] for r in document["resources"]] == [
        "llmscale:index:SingleGpuTier",
        "llmscale:index:StackSettings",
    ]
    assert document["summary"]["customResources"] == 0
    assert "2 resources to create (0 cloud resources, 2 components)" in host_plan.stderr


def test_plan_runs_repeatedly_in_one_process(aws_document: dict[str, Any]) -> None:
    """A second plan in the same process sees a fresh runtime: the same resources, nothing left over.

    (Resource order is compared strictly in test_plan.py's determinism test.)
    """
    again = invoke("plan", AWS_STACK, "--json")
    assert again.exit_code == 0, everything(again)
    document = json.loads(again.stdout)

    def by_urn(doc: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted(doc["resources"], key=lambda r: r["urn"])

    assert by_urn(document) == by_urn(aws_document)
    assert document["counts"] == aws_document["counts"]
    assert document["outputs"] == aws_document["outputs"]
    assert document["summary"] == aws_document["summary"]


# --- render ----------------------------------------------------------------------------------------------


def test_render_host_stack_writes_the_bundle(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    result = invoke("render", HOST_STACK, "--out", str(out))
    assert result.exit_code == 0, everything(result)
    assert result.stdout == ""
    assert "wrote" in result.stderr
    for name in BUNDLE_FILES:
        assert (out / name).is_file(), name
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(BUNDLE_FILES)
    start = out / "bin" / "start.sh"
    assert os.access(start, os.X_OK)
    assert start.stat().st_mode & stat.S_IXUSR
    assert stat.S_IMODE((out / "docker-compose.yml").stat().st_mode) == 0o644
    assert yaml.safe_load((out / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["vllm"]
    # An existing server reads its secrets from files: no SSM.
    assert "aws ssm" not in start.read_text(encoding="utf-8")


def test_render_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    assert invoke("render", HOST_STACK, "--out", str(out)).exit_code == 0
    compose = out / "docker-compose.yml"
    compose.write_text("# edited by hand\n", encoding="utf-8")
    before = {name: (out / name).read_bytes() for name in BUNDLE_FILES}

    again = invoke("render", HOST_STACK, "--out", str(out))
    assert_clean_failure(again)
    assert "--force" in again.stderr
    assert str(compose) in again.stderr
    assert {name: (out / name).read_bytes() for name in BUNDLE_FILES} == before

    forced = invoke("render", HOST_STACK, "--out", str(out), "--force")
    assert forced.exit_code == 0, everything(forced)
    assert compose.read_text(encoding="utf-8") != "# edited by hand\n"
    assert "services:" in compose.read_text(encoding="utf-8")


def test_render_refuses_when_only_one_file_exists(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    (out / "caddy").mkdir(parents=True)
    (out / "caddy" / "Caddyfile").write_text("keep me\n", encoding="utf-8")
    result = invoke("render", HOST_STACK, "--out", str(out))
    assert_clean_failure(result)
    assert (out / "caddy" / "Caddyfile").read_text(encoding="utf-8") == "keep me\n"
    assert not (out / "docker-compose.yml").exists()


def test_render_aws_stack(tmp_path: Path) -> None:
    out = tmp_path / "aws-bundle"
    result = invoke("render", AWS_STACK, "--out", str(out))
    assert result.exit_code == 0, everything(result)
    for name in BUNDLE_FILES:
        assert (out / name).is_file(), name
    start = (out / "bin" / "start.sh").read_text(encoding="utf-8")
    assert "aws ssm get-parameter" in start
    assert f"/llmscale/{AWS_STACK}/" in start
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "[secret]" not in text, path
            assert EXAMPLE_CIPHERTEXT not in text, path


def test_render_invalid_stack_writes_nothing(tmp_path: Path, invalid_stack: Path) -> None:
    out = tmp_path / "out"
    result = invoke("render", str(invalid_stack), "--out", str(out))
    assert_clean_failure(result)
    assert not out.exists()


def test_render_requires_out() -> None:
    result = invoke("render", HOST_STACK)
    assert result.exit_code == 2
    assert "Traceback" not in everything(result)


# --- validate and plan agree on every bad stack -------------------------------------------------------------

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"


def _without(config: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != key}


BAD_STACKS: dict[str, str] = {
    # A secret key with no value: null in the file, and the empty string Pulumi hands the program for it.
    "secret-without-value": yaml.safe_dump({"config": {**VALID_AWS, "llmscale:hfToken": None}}),
    "secret-empty": yaml.safe_dump({"config": {**VALID_AWS, "llmscale:hfToken": ""}}),
    "api-keys-without-value": yaml.safe_dump({"config": {**VALID_AWS, "llmscale:apiKeys": None}}),
    "structured-without-value": yaml.safe_dump({"config": {**VALID_AWS, "llmscale:gpu": None}}),
    "region-without-value": yaml.safe_dump({"config": {**VALID_AWS, "aws:region": None}}),
    "plain-api-keys": yaml.safe_dump({"config": {**VALID_AWS, "llmscale:apiKeys": PLANTED}}),
    "token-in-extra-args": yaml.safe_dump(
        {
            "config": {
                **VALID_AWS,
                "llmscale:models": [{"name": "chat", "model": "m/x", "extraArgs": ["--hf-token", HF_TOKEN]}],
            }
        }
    ),
    "token-as-model": yaml.safe_dump(
        {"config": {**VALID_AWS, "llmscale:models": [{"name": "chat", "model": HF_TOKEN}]}}
    ),
    "unknown-tag": yaml.safe_dump({"config": VALID_AWS}).replace("single-gpu", f"!{PLANTED}"),
    "undefined-alias": yaml.safe_dump({"config": VALID_AWS}).replace("single-gpu", f"*{PLANTED}"),
    "duplicate-key": yaml.safe_dump({"config": VALID_AWS}).replace(
        "llmscale:platform: aws", "llmscale:platform: aws\n  llmscale:platform: host"
    ),
    "missing-region": yaml.safe_dump({"config": _without(VALID_AWS, "aws:region")}),
    "schema-and-cross-key": yaml.safe_dump(
        {"config": {**VALID_AWS, "llmscale:models": [{"name": "chat", "model": "m/x", "maxReplicas": 2}]}}
    ),
}


@pytest.mark.parametrize("text", BAD_STACKS.values(), ids=BAD_STACKS.keys())
def test_validate_and_plan_report_identical_lines(tmp_path: Path, text: str) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text, encoding="utf-8")
    validated = invoke("validate", str(path))
    planned = invoke("plan", str(path), "--json")
    assert_clean_failure(validated)
    assert_clean_failure(planned)
    assert planned.stderr.splitlines() == validated.stderr.splitlines()
    for line in validated.stderr.splitlines():
        assert line.startswith(f"{shown(path)}: "), line
        assert line.count(f"{shown(path)}:") == 1, line
        assert PLANTED not in line and HF_TOKEN not in line


def test_a_secret_without_a_value_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "blank", {**VALID_AWS, "llmscale:hfToken": None})
    for command in ("validate", "plan"):
        result = invoke(command, str(path))
        assert result.stderr.splitlines() == [
            f"{shown(path)}: llmscale:hfToken: has no value; set it with "
            "`pulumi config set --secret llmscale:hfToken ...` or delete the line"
        ]


def test_config_errors_the_program_finds_name_the_file_plan_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the program ever reject what the loader accepted, plan still prints one line per problem, against
    the stack file it was given (not the program's `stacks/Pulumi.<name>.yaml`), with no header line."""
    import llmscale.program
    from llmscale.config.errors import ConfigError, Problem

    def rejecting() -> tuple[Any, Any]:
        raise ConfigError("stacks/Pulumi.elsewhere.yaml", [Problem("llmscale:gpu", "is wrong")])

    monkeypatch.setattr(llmscale.program, "load_from_pulumi", rejecting)
    path = write_stack(tmp_path, "elsewhere", VALID_AWS)
    result = invoke("plan", str(path), "--json")
    assert_clean_failure(result)
    assert result.stderr.splitlines() == [f"{shown(path)}: llmscale:gpu: is wrong"]


# --- internal errors exit 3 -----------------------------------------------------------------------------------

CRASH_SITES = {
    "in-the-program": ("llmscale.program", "build_tier"),
    "building-the-document": ("llmscale.plan.report", "plan_document"),
    "rendering-the-tree": ("llmscale.plan.report", "render_text"),
    "rendering-markdown": ("llmscale.plan.markdown", "plan_markdown"),
}


@pytest.mark.parametrize(("module", "name"), CRASH_SITES.values(), ids=CRASH_SITES.keys())
def test_a_crash_inside_plan_exits_3_with_one_line_and_no_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, name: str
) -> None:
    import importlib

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError(f"a message that quotes a config value: {PLANTED}")

    monkeypatch.setattr(importlib.import_module(module), name, crash)
    summary = tmp_path / "summary.md"
    result = invoke("plan", AWS_STACK, "--json", "--markdown", str(summary))
    assert result.exit_code == 3, everything(result)
    assert result.stdout == ""  # no document at all, not an empty or partial one
    assert not summary.exists()
    (line,) = result.stderr.splitlines()[-1:]
    assert line.startswith("llmscale plan: internal error (ZeroDivisionError at ")
    assert "this is a bug in llmscale" in line and "report it" in line and "llmscale --version" in line
    assert PLANTED not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_internal_error_names_where_it_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmscale.plan.report

    def crash(*args: Any, **kwargs: Any) -> Any:
        return {}["missing"]

    monkeypatch.setattr(llmscale.plan.report, "plan_document", crash)
    result = invoke("plan", AWS_STACK)
    assert result.exit_code == 3
    # The innermost frame of llmscale's own code: where plan called the function that failed.
    assert re.search(r"internal error \(KeyError at llmscale/cli\.py:\d+\)", result.stderr), result.stderr


def test_the_traceback_is_there_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmscale.plan.report

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(llmscale.plan.report, "plan_document", crash)
    monkeypatch.setenv("LLMSCALE_DEBUG", "1")
    result = invoke("plan", AWS_STACK)
    assert result.exit_code == 3
    assert "Traceback" in result.stderr and "ZeroDivisionError: boom" in result.stderr


def test_usage_errors_still_exit_2() -> None:
    for args in (["render", HOST_STACK], ["plan"], ["no-such-command"], ["plan", AWS_STACK, "--no-such-option"]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, everything(result))
        assert "internal error" not in result.stderr


# --- where stacks resolve, and usage errors ----------------------------------------------------------------


def test_stack_names_resolve_against_the_working_project_or_stacks_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "customers"
    (elsewhere / "stacks").mkdir(parents=True)
    (elsewhere / "stacks" / "Pulumi.acme.yaml").write_text(
        (STACKS / f"Pulumi.{HOST_STACK}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (elsewhere / "Pulumi.yaml").write_text("name: llmscale\nruntime: python\n", encoding="utf-8")
    (elsewhere / "sub").mkdir()
    monkeypatch.chdir(elsewhere / "sub")
    found = invoke("validate", "acme")
    assert found.exit_code == 0, everything(found)
    assert "stacks/Pulumi.acme.yaml: valid" in found.stderr
    # The checkout's examples are not found from here: names never resolve into llmscale's own directory.
    missing = invoke("validate", HOST_STACK)
    assert_clean_failure(missing)
    assert "no such stack file" in missing.stderr
    explicit = invoke("validate", HOST_STACK, "--stacks-dir", str(STACKS))
    assert explicit.exit_code == 0, everything(explicit)
    planned = invoke("plan", HOST_STACK, "--stacks-dir", str(STACKS), "--json")
    assert planned.exit_code == 0, everything(planned)
    rendered = invoke("render", HOST_STACK, "--stacks-dir", str(STACKS), "--out", str(tmp_path / "bundle"))
    assert rendered.exit_code == 0, everything(rendered)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("validate", "bad name!"), "STACK: is neither a stack file path nor a stack name"),
        (("plan", AWS_STACK, "--detials"), "llmscale plan: --detials: no such option (did you mean --details?)"),
        (("render", HOST_STACK), "llmscale render: --out: required"),
        (("size", "--users", "many"), "llmscale size: --users:"),
        (("validate", HOST_STACK, "--stacks-dir", "pyproject.toml"), "--stacks-dir: is a file, not a directory"),
        (("nonsense",), "llmscale: No such command 'nonsense'"),
    ],
)
def test_usage_errors_are_one_line(args: tuple[str, ...], line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = invoke(*args)
    assert_clean_failure(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(line), lines[0]


def test_plan_shows_the_monthly_cost(aws_plan: Result, aws_document: dict[str, Any], tmp_path: Path) -> None:
    cost = aws_document["cost"]
    assert set(cost) == {"currency", "pricePerGpuHour", "monthlyAlwaysOn", "monthlyWithSchedule", "source"}
    assert cost["currency"] == "USD" and cost["pricePerGpuHour"] == 1.861
    assert f"Monthly GPU cost: ${cost['monthlyAlwaysOn']:,.0f} always on" in aws_plan.stderr
    summary = tmp_path / "summary.md"
    assert invoke("plan", AWS_STACK, "--markdown", str(summary)).exit_code == 0
    assert f"Monthly GPU cost: \\${cost['monthlyWithSchedule']:,.0f}" not in summary.read_text(encoding="utf-8")
    assert f"\\${cost['monthlyWithSchedule']:,.0f} with the night schedule" in summary.read_text(encoding="utf-8")
