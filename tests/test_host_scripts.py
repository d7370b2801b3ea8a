"""The single host's scripts, run for real: shellcheck on every shell script the project renders or ships,
`bin/start.sh` against a stubbed `aws` that fails and a stubbed `docker`, the Hugging Face check against a
fake Hub on loopback (no network), and the host-side Python scripts on the host's Python grammar (3.10).
"""

from __future__ import annotations

import ast
import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmscale.host.bundle as host_bundle
from llmscale.config.loader import load_stack, parse_values
from llmscale.config.models import StackConfig
from llmscale.host.bundle import SecretSource, render_bootstrap, user_data_files
from llmscale.paths import PACKAGE_ROOT
from llmscale.plan.render import render_kubernetes
from tests.helpers import example_plan
from tests.host_fakes import (
    FakeHub,
    FakeHubHandler,
    HostDirs,
    Stubs,
    bundle_for,
    free_port,
    install,
    make_stubs,
    point_at,
    run,
    serve,
)

SHELLCHECK_MISSING = "shellcheck is not installed: install Debian's `shellcheck` package (scripts/test.sh does)"
STACK = "host-test"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
API_KEYS = {"team-a": "teamAkey-0123456789abcdef", "team-b": "teamBkey-0123456789abcdef"}
HF_TOKEN = "hf_validTokenForTheTests0123456789"
SLACK = "https://hooks.slack.example/services/T0/B0/secretpart"
PAGERDUTY = "pagerdutyroutingkey0123456789ab"
GRAFANA = "grafana-password-not-to-be-printed"
SECRET_VALUES = (*API_KEYS.values(), HF_TOKEN, SLACK, PAGERDUTY, GRAFANA)


def config_with(**settings: Any) -> StackConfig:
    """A single-gpu AWS stack (no domain: the address comes from LLMSCALE_SITE_NAME) with the given secrets."""
    values = {
        "aws:region": "eu-west-1",
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:models": [{"name": "chat", "model": MODEL}],
        "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
        "llmscale:apiKeys": json.dumps(API_KEYS),
        **settings,
    }
    secrets = {"llmscale:apiKeys", *(key for key in settings if key in EVERY_SECRET)}
    config, _ = parse_values(values, secrets, f"stacks/Pulumi.{STACK}.yaml")
    return config


EVERY_SECRET = {
    "llmscale:hfToken": HF_TOKEN,
    "llmscale:slackWebhookUrl": SLACK,
    "llmscale:pagerdutyRoutingKey": PAGERDUTY,
    "llmscale:grafanaAdminPassword": GRAFANA,
}


# --- shellcheck ------------------------------------------------------------------------------------------


def shell_scripts() -> dict[str, str]:
    """Every shell script llmscale renders (each start.sh variant, the Helm script) or ships in the repository."""
    scripts: dict[str, str] = {}
    configs = {
        "single-gpu": load_stack("single-gpu").config,
        "single-gpu-host": load_stack("single-gpu-host").config,
        "every-secret": config_with(**EVERY_SECRET),
        "only-keys": config_with(),
    }
    for name, config in configs.items():
        for source in SecretSource:
            scripts[f"{name}-{source}-start.sh"] = bundle_for(config, name, source)["bin/start.sh"].content
    for stack in ("onprem", "multi-gpu"):
        files = render_kubernetes(example_plan(stack))
        [addons] = [f for f in files if f.path == "addons.sh"]
        scripts[f"{stack}-addons.sh"] = addons.content
    for path in ("scripts/test.sh", "scripts/plan-example.sh", ".ci/run"):
        scripts[path.replace("/", "-")] = (PACKAGE_ROOT / path).read_text(encoding="utf-8")
    return scripts


def test_every_shell_script_passes_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail(SHELLCHECK_MISSING)
    paths = []
    for name, text in shell_scripts().items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    assert len(paths) >= 12
    result = run([shellcheck, "--shell=bash", "--severity=style", *paths])
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_the_single_iteration_loop(tmp_path: Path) -> None:
    """The check is live: the old start.sh's `for required in api-keys; do` is reported (SC2043)."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail(SHELLCHECK_MISSING)
    path = tmp_path / "old.sh"
    path.write_text('#!/usr/bin/env bash\nfor required in api-keys; do\n  echo "$required"\ndone\n', encoding="utf-8")
    result = run([shellcheck, "--shell=bash", str(path)])
    assert result.returncode == 1 and "SC2043" in result.stdout


# --- the host's Python -----------------------------------------------------------------------------------


def host_python_scripts() -> dict[str, str]:
    config = config_with(**EVERY_SECRET)
    bundle = bundle_for(config, STACK, SecretSource.SSM)
    scripts = {path: file.content for path, file in bundle.items() if path.endswith(".py")}
    scripts["llmscale-sync"] = user_data_files(render_bootstrap(STACK, "eu-west-1"))[host_bundle.SYNC_SCRIPT]
    return scripts


@pytest.mark.parametrize("name", sorted(host_python_scripts()))
def test_host_scripts_parse_on_the_hosts_python(name: str) -> None:
    """Ubuntu 22.04 (the GPU AMI) has Python 3.10; the scripts must not use newer syntax."""
    ast.parse(host_python_scripts()[name], filename=name, feature_version=(3, 10))


# --- start.sh and the secrets ----------------------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[tuple[FakeHub, str]]:
    state = FakeHub(token=HF_TOKEN, models={MODEL: "manual"}, granted={MODEL})
    with serve(FakeHubHandler, state) as server:
        yield state, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[HostDirs, Stubs]:
    """The AWS bundle (API keys and a Hugging Face token) installed under tmp_path, SSM holding both secrets."""
    dirs = HostDirs(tmp_path / "host")
    point_at(monkeypatch, dirs)
    install(dirs, bundle_for(config_with(**{"llmscale:hfToken": HF_TOKEN}), STACK, SecretSource.SSM))
    stubs = make_stubs(tmp_path / "stubs")
    stubs.put_parameter(f"/llmscale/{STACK}/api-keys", json.dumps(API_KEYS))
    stubs.put_parameter(f"/llmscale/{STACK}/hf-token", HF_TOKEN)
    return dirs, stubs


def start(dirs: HostDirs, stubs: Stubs, hub_url: str, attempts: int = 3) -> Any:
    env = {
        **stubs.env(),
        "HF_ENDPOINT": hub_url,
        "LLMSCALE_RETRY_ATTEMPTS": str(attempts),
        "LLMSCALE_RETRY_DELAY": "0",
        "LLMSCALE_SITE_NAME": "203.0.113.7",
    }
    return run(["bash", str(dirs.install / "bin" / "start.sh")], env=env)


def fetches(stubs: Stubs, name: str) -> int:
    wanted = f"/llmscale/{STACK}/{name}"
    return sum(1 for call in stubs.aws_calls() if call[:2] == ["ssm", "get-parameter"] and wanted in call)


def started_services(stubs: Stubs) -> list[str]:
    [up] = [call for call in stubs.docker_calls() if call[:2] == ["up", "-d"]]
    return [arg for arg in up[2:] if not arg.startswith("-")]


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for value in SECRET_VALUES:
            assert value not in text


def test_start_fetches_secrets_and_starts_every_service(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    result = start(dirs, stubs, hub[1])
    assert result.returncode == 0, result.stderr
    assert json.loads((dirs.secrets / "api-keys").read_text()) == API_KEYS
    assert (dirs.secrets / "hf_token").read_text().strip() == HF_TOKEN
    assert stat.S_IMODE((dirs.secrets / "api-keys").stat().st_mode) == 0o600
    assert started_services(stubs)[0] == "vllm"
    assert {"caddy", "usage-meter", "prometheus", "alertmanager", "grafana"} <= set(started_services(stubs))
    assert "team-a" in (dirs.install / "caddy" / "api-keys.caddy").read_text()
    assert (dirs.install / "caddy" / "site.env").read_text() == "LLMSCALE_SITE_NAME=203.0.113.7\n"
    no_secret_in(result.stdout, result.stderr)


def test_secret_fetch_retries_until_ssm_answers(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    """The old `fetch_once` ran inside `"$@" && return 0`, where `set -e` does not apply: no retry happened."""
    dirs, stubs = host
    stubs.fail(f"/llmscale/{STACK}/api-keys", 2)
    result = start(dirs, stubs, hub[1], attempts=3)
    assert result.returncode == 0, result.stderr
    assert fetches(stubs, "api-keys") == 3
    assert "fetch_once api-keys: attempt 1 of 3 failed" in result.stderr
    assert "fetch_once api-keys: attempt 2 of 3 failed" in result.stderr
    assert json.loads((dirs.secrets / "api-keys").read_text()) == API_KEYS


def test_a_failed_fetch_never_replaces_a_good_secret(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    assert start(dirs, stubs, hub[1]).returncode == 0
    before = (dirs.secrets / "api-keys").read_text()
    matcher = (dirs.install / "caddy" / "api-keys.caddy").read_text()
    stubs.fail(f"/llmscale/{STACK}/api-keys", 100)
    result = start(dirs, stubs, hub[1], attempts=3)
    assert result.returncode == 75, result.stderr  # applied, with a secret kept from before: run again later
    assert fetches(stubs, "api-keys") == 1 + 3
    assert (dirs.secrets / "api-keys").read_text() == before
    assert (dirs.install / "caddy" / "api-keys.caddy").read_text() == matcher
    assert "keeping the value fetched before" in result.stderr
    assert not list(dirs.secrets.glob("*.new"))
    no_secret_in(result.stdout, result.stderr)


def test_an_empty_answer_is_a_failed_fetch(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    assert start(dirs, stubs, hub[1]).returncode == 0
    before = (dirs.secrets / "hf_token").read_text()
    stubs.fail(f"/llmscale/{STACK}/hf-token", "empty")
    result = start(dirs, stubs, hub[1], attempts=2)
    assert result.returncode == 75, result.stderr
    assert f"/llmscale/{STACK}/hf-token is empty" in result.stderr
    assert (dirs.secrets / "hf_token").read_text() == before


def test_a_secret_never_fetched_stops_the_start_with_a_clear_message(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    stubs.fail(f"/llmscale/{STACK}/api-keys", "empty")
    result = start(dirs, stubs, hub[1], attempts=2)
    assert result.returncode == 1
    assert f"/llmscale/{STACK}/api-keys: cannot be read from SSM and was never fetched" in result.stderr
    assert not (dirs.secrets / "api-keys").exists()  # no empty file that a later run would take for a secret
    assert stubs.docker_calls() == []
    assert "key" not in result.stderr.lower().replace("api-keys", "")


def test_the_slack_and_pagerduty_secrets_reach_alertmanager_only(tmp_path: Path, monkeypatch, hub: tuple) -> None:
    dirs = HostDirs(tmp_path / "host")
    point_at(monkeypatch, dirs)
    install(dirs, bundle_for(config_with(**EVERY_SECRET), STACK, SecretSource.SSM))
    stubs = make_stubs(tmp_path / "stubs")
    values = {
        "api-keys": json.dumps(API_KEYS),
        "hf-token": HF_TOKEN,
        "slack-webhook-url": SLACK,
        "pagerduty-routing-key": PAGERDUTY,
        "grafana-admin-password": GRAFANA,
    }
    for name, value in values.items():
        stubs.put_parameter(f"/llmscale/{STACK}/{name}", value)
    result = start(dirs, stubs, hub[1])
    assert result.returncode == 0, result.stderr
    alertmanager = dirs.secrets / "alertmanager"
    assert sorted(p.name for p in alertmanager.iterdir()) == ["pagerduty_routing_key", "slack_webhook_url"]
    assert (alertmanager / "slack_webhook_url").read_text().strip() == SLACK
    assert stat.S_IMODE((alertmanager / "slack_webhook_url").stat().st_mode) == 0o400
    assert stat.S_IMODE(alertmanager.stat().st_mode) == 0o500
    routing = (dirs.install / "alertmanager" / "alertmanager.yml").read_text()
    assert "api_url_file: /run/llmscale-secrets/slack_webhook_url" in routing
    assert "routing_key_file: /run/llmscale-secrets/pagerduty_routing_key" in routing
    no_secret_in(result.stdout, result.stderr, routing)


def test_the_hub_is_asked_only_when_vllm_is_to_start(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    """A rotated API key or a new threshold must not wait for the Hub (or fail when it is down)."""
    dirs, stubs = host
    state, url = hub
    assert start(dirs, stubs, url).returncode == 0
    asked = len(state.seen_tokens)
    assert asked >= 2  # whoami-v2 and the model
    assert start(dirs, stubs, url).returncode == 0
    assert len(state.seen_tokens) == asked  # vLLM runs and nothing of its own changed (test_host_update_live
    # shows the same for a rotated API key)
    stubs.put_parameter(f"/llmscale/{STACK}/hf-token", "hf_aNewTokenOfTheSameAccount000000")
    state.token = "hf_aNewTokenOfTheSameAccount000000"
    assert start(dirs, stubs, url).returncode == 0
    assert state.seen_tokens[asked:] and set(state.seen_tokens[asked:]) == {"hf_aNewTokenOfTheSameAccount000000"}


def test_images_are_pulled_only_for_a_new_compose_file(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    assert start(dirs, stubs, hub[1]).returncode == 0
    assert [call[0] for call in stubs.docker_calls()].count("pull") == 1
    stubs.clear_calls()
    assert start(dirs, stubs, hub[1]).returncode == 0
    assert "pull" not in [call[0] for call in stubs.docker_calls()]
    compose = dirs.install / "docker-compose.yml"
    compose.write_text(compose.read_text() + "# changed\n")
    assert start(dirs, stubs, hub[1]).returncode == 0
    assert [call[0] for call in stubs.docker_calls()].count("pull") == 1


# --- the Hugging Face check ------------------------------------------------------------------------------


def test_a_rejected_token_starts_everything_but_vllm(host: tuple[HostDirs, Stubs], hub: tuple) -> None:
    dirs, stubs = host
    stubs.put_parameter(f"/llmscale/{STACK}/hf-token", "hf_revokedTokenOfLastYear000000000")
    result = start(dirs, stubs, hub[1])
    assert result.returncode == 1
    assert "Hugging Face: the token is not valid (whoami-v2 answered 401)" in result.stderr
    assert "llmscale:hfToken" in result.stderr
    assert "vLLM was not started or updated" in result.stderr
    services = started_services(stubs)
    assert "vllm" not in services
    assert {"caddy", "usage-meter", "prometheus", "alertmanager"} <= set(services)
    assert "hf_revokedTokenOfLastYear000000000" not in result.stdout + result.stderr


def check(dirs: HostDirs, hub_url: str) -> Any:
    script = dirs.install / "bin" / "check-hf-access.py"
    return run(["python3", str(script)], env={"HF_ENDPOINT": hub_url, "LLMSCALE_RETRY_DELAY": "0"})


@pytest.mark.parametrize(
    ("token", "models", "granted", "status", "message"),
    [
        (HF_TOKEN, {MODEL: False}, set(), 0, ""),
        (HF_TOKEN, {MODEL: "manual"}, {MODEL}, 0, ""),
        ("hf_other", {MODEL: False}, set(), 2, "the token is not valid (whoami-v2 answered 401)"),
        (HF_TOKEN, {}, set(), 2, f"model {MODEL} does not exist or the token's account cannot see it"),
        (HF_TOKEN, {MODEL: "auto"}, set(), 2, f"has no access to the gated model {MODEL} (the Hub answered 403)"),
    ],
    ids=["public", "gated-granted", "bad-token", "no-such-model", "gated-not-granted"],
)
def test_hf_check_with_a_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    token: str,
    models: dict,
    granted: set,
    status: int,
    message: str,
) -> None:
    dirs = HostDirs(tmp_path)
    point_at(monkeypatch, dirs)
    install(dirs, bundle_for(config_with(**{"llmscale:hfToken": HF_TOKEN}), STACK, SecretSource.SSM))
    dirs.secrets.mkdir(parents=True, exist_ok=True)
    (dirs.secrets / "hf_token").write_text(HF_TOKEN + "\n")
    with serve(FakeHubHandler, FakeHub(token=token, models=models, granted=granted)) as server:
        result = check(dirs, f"http://127.0.0.1:{server.server_port}")
        seen = server.state.seen_tokens
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert HF_TOKEN not in result.stdout + result.stderr
    assert seen and set(seen) == {HF_TOKEN}  # the token goes to the Hub, and nowhere else


def test_hf_check_without_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = HostDirs(tmp_path)
    point_at(monkeypatch, dirs)
    install(dirs, bundle_for(config_with(), STACK, SecretSource.SSM))
    with serve(FakeHubHandler, FakeHub(models={MODEL: "manual"})) as server:
        result = check(dirs, f"http://127.0.0.1:{server.server_port}")
        assert set(server.state.seen_tokens) == {None}
    assert result.returncode == 2
    assert f"model {MODEL} is gated: accept its conditions" in result.stderr
    assert "set a token of that account in llmscale:hfToken" in result.stderr


def test_hf_check_cannot_tell_when_the_hub_does_not_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No answer (no egress, the Hub down): warn and go on; vLLM may start from its cache."""
    dirs = HostDirs(tmp_path)
    point_at(monkeypatch, dirs)
    install(dirs, bundle_for(config_with(), STACK, SecretSource.SSM))
    result = check(dirs, f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 0
    assert "did not answer; token and model access not checked" in result.stderr


def test_hf_check_skips_models_that_are_not_on_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = HostDirs(tmp_path)
    point_at(monkeypatch, dirs)
    values = {"llmscale:models": [{"name": "chat", "model": "/models/local-llama"}]}
    install(dirs, bundle_for(config_with(**values), STACK, SecretSource.SSM))
    result = check(dirs, f"http://127.0.0.1:{free_port()}")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("models", "granted", "status", "message"),
    [
        ({MODEL: False, "org/sql-lora": False}, set(), 0, ""),
        ({MODEL: False}, set(), 2, "adapter org/sql-lora does not exist or the token's account cannot see it"),
        (
            {MODEL: False, "org/sql-lora": "manual"},
            set(),
            2,
            "has no access to the gated adapter org/sql-lora (the Hub answered 403)",
        ),
        ({MODEL: False, "org/sql-lora": "manual"}, {"org/sql-lora"}, 0, ""),
    ],
    ids=["public", "no-such-adapter", "gated-not-granted", "gated-granted"],
)
def test_hf_check_covers_the_adapters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: dict, granted: set, status: int, message: str
) -> None:
    """vLLM stops its start when an adapter cannot be downloaded: the start script asks the Hub first."""
    dirs = HostDirs(tmp_path)
    point_at(monkeypatch, dirs)
    adapters = [{"name": "sql", "source": "org/sql-lora", "rank": 8}]
    values = {"llmscale:hfToken": HF_TOKEN, "llmscale:models": [{"name": "chat", "model": MODEL, "adapters": adapters}]}
    install(dirs, bundle_for(config_with(**values), STACK, SecretSource.SSM))
    dirs.secrets.mkdir(parents=True, exist_ok=True)
    (dirs.secrets / "hf_token").write_text(HF_TOKEN + "\n")
    with serve(FakeHubHandler, FakeHub(token=HF_TOKEN, models=models, granted=granted)) as server:
        result = check(dirs, f"http://127.0.0.1:{server.server_port}")
    assert result.returncode == status, result.stderr
    assert message in result.stderr
    assert HF_TOKEN not in result.stdout + result.stderr
