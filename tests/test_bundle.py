"""Tests for the single host's bundle: docker compose, Prometheus, the start-up scripts and cloud-init.

The bundle is a pure function of the stack config: pinned images, loopback-only dashboards, HTTPS through Caddy
only, and no secret value in any file (secrets are read on the host at start-up).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import llmscale.host_bundle as host_bundle
from llmscale import versions
from llmscale.config.loader import LoadedStack, load_stack, parse_values
from llmscale.config.models import StackConfig
from llmscale.host_bundle import (
    BundleFile,
    SecretSource,
    render_bundle,
    render_user_data,
    ssm_prefix,
    user_data_files,
)

STACKS = ("single-gpu", "single-gpu-host")
SERVICES = ("vllm", "caddy", "prometheus", "grafana", "node-exporter", "dcgm-exporter")
PINNED = {
    "vllm": versions.VLLM_IMAGE,
    "caddy": versions.CADDY_IMAGE,
    "prometheus": versions.PROMETHEUS_IMAGE,
    "grafana": versions.GRAFANA_IMAGE,
    "node-exporter": versions.NODE_EXPORTER_IMAGE,
    "dcgm-exporter": versions.DCGM_EXPORTER_IMAGE,
}
BUNDLE_PATHS = [
    "docker-compose.yml",
    "caddy/Caddyfile",
    "prometheus/prometheus.yml",
    "grafana/provisioning/datasources/prometheus.yml",
    "grafana/provisioning/dashboards/llmscale.yml",
    "bin/render-api-keys.py",
    "bin/start.sh",
    "README.txt",
    "prometheus/rules/llmscale.yml",
    "grafana/dashboards/llmscale.json",
]

API_KEY_A = "k1-AAAAAAAAAAAAAAAAAAAAAAAA"
API_KEY_B = "k2-BBBBBBBBBBBBBBBBBBBBBBBB"
HF_TOKEN = "hf_REALtokenDoNotLeak0123456789"
GRAFANA_PASSWORD = "grafana-REALpasswordDoNotLeak"
SECRET_VALUES: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "llmscale:tier": "single-gpu",
    "llmscale:platform": "aws",
    "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
    "llmscale:gpu": {"instanceType": "g6e.xlarge"},
    "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
    "llmscale:apiKeys": json.dumps({"team-a": API_KEY_A, "team-b": API_KEY_B}),
    "llmscale:hfToken": HF_TOKEN,
    "llmscale:grafanaAdminPassword": GRAFANA_PASSWORD,
}
SECRET_KEYS = frozenset({"llmscale:apiKeys", "llmscale:hfToken", "llmscale:grafanaAdminPassword"})
# Files the compose file mounts that bin/start.sh writes on the host (never part of the bundle).
STARTUP_FILES = {"caddy/api-keys.caddy", "caddy/site.env"}
PROMTOOL_MISSING = (
    "promtool is not installed: install the Debian `prometheus` package (`apt-get install prometheus`), "
    "which provides /usr/bin/promtool, to check the rendered Prometheus config"
)


# --- helpers ---------------------------------------------------------------------------------------------


def source_for(stack: LoadedStack) -> SecretSource:
    """What `llmscale render` and the AWS component use: files on an existing server, SSM on AWS."""
    return SecretSource.FILES if stack.config.platform == "host" else SecretSource.SSM


def bundle_of(stack: LoadedStack, source: SecretSource | None = None) -> dict[str, BundleFile]:
    files = render_bundle(stack.config, stack.name, secret_source=source or source_for(stack), region=stack.region)
    return {f.path: f for f in files}


def compose_of(bundle: dict[str, BundleFile]) -> dict[str, Any]:
    return yaml.safe_load(bundle["docker-compose.yml"].content)


def port_parts(mapping: Any) -> tuple[str | None, str, str]:
    """A compose short port mapping as (host ip, host port, container port)."""
    text = str(mapping).split("/", 1)[0]
    parts = text.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return None, "", parts[0]


@pytest.fixture(scope="module")
def stacks() -> dict[str, LoadedStack]:
    return {name: load_stack(name) for name in STACKS}


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest, stacks: dict[str, LoadedStack]) -> LoadedStack:
    return stacks[request.param]


@pytest.fixture(scope="module")
def bundle(stack: LoadedStack) -> dict[str, BundleFile]:
    return bundle_of(stack)


@pytest.fixture(scope="module")
def compose(bundle: dict[str, BundleFile]) -> dict[str, Any]:
    return compose_of(bundle)


@pytest.fixture(scope="module")
def secret_config() -> StackConfig:
    """A config holding real (decrypted) secrets, as the program sees it during `pulumi up`."""
    config, _ = parse_values(SECRET_VALUES, SECRET_KEYS, "stacks/Pulumi.secret.yaml")
    return config


# --- the file set ----------------------------------------------------------------------------------------


def test_bundle_files_and_modes(bundle: dict[str, BundleFile]) -> None:
    assert list(bundle) == BUNDLE_PATHS
    assert bundle["bin/start.sh"].mode == 0o755
    assert bundle["bin/render-api-keys.py"].mode == 0o755
    for path in ("docker-compose.yml", "caddy/Caddyfile", "prometheus/prometheus.yml", "README.txt"):
        assert bundle[path].mode == 0o644
    for file in bundle.values():
        assert file.content.endswith("\n"), file.path
        if file.path.startswith("prometheus/rules/"):
            continue  # alert annotations are Prometheus templates
        assert "{{ " not in file.content and "{%" not in file.content, file.path


def test_render_is_deterministic(stack: LoadedStack, bundle: dict[str, BundleFile]) -> None:
    assert bundle_of(stack) == bundle


def test_yaml_files_parse(bundle: dict[str, BundleFile]) -> None:
    for path in ("docker-compose.yml", "prometheus/prometheus.yml", "grafana/provisioning/datasources/prometheus.yml"):
        assert isinstance(yaml.safe_load(bundle[path].content), dict), path
    datasource = yaml.safe_load(bundle["grafana/provisioning/datasources/prometheus.yml"].content)
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"


# --- docker compose --------------------------------------------------------------------------------------


def test_compose_services(compose: dict[str, Any]) -> None:
    assert set(SERVICES) <= set(compose["services"])


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        image = compose["services"][name]["image"]
        assert image == PINNED[name], name
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, image
        assert tag and tag != "latest", image
    for name, service in compose["services"].items():
        assert not service["image"].endswith(":latest"), name


def test_vllm_command(stack: LoadedStack, compose: dict[str, Any]) -> None:
    vllm = compose["services"]["vllm"]
    profile = stack.config.models[0]
    command = [str(arg) for arg in vllm["command"]]
    assert command[0] == profile.model
    assert "--max-num-queued-reqs" in command
    queued = command[command.index("--max-num-queued-reqs") + 1]
    assert int(queued) > 0
    assert command[command.index("--served-model-name") + 1] == profile.name
    assert command[command.index("--max-model-len") + 1] == str(profile.max_model_len)
    assert "--api-key" not in command  # Caddy checks the keys; vLLM is never reachable from outside
    assert vllm["entrypoint"] == ["vllm", "serve"]


def test_vllm_reserves_nvidia_gpus(stack: LoadedStack, compose: dict[str, Any]) -> None:
    devices = compose["services"]["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    assert devices[0]["driver"] == "nvidia"
    assert "gpu" in devices[0]["capabilities"]
    assert devices[0]["count"] == stack.config.models[0].gpus_per_replica


def test_dashboards_bind_loopback_only(compose: dict[str, Any]) -> None:
    for name in ("prometheus", "grafana"):
        ports = compose["services"][name]["ports"]
        assert ports, name
        for mapping in ports:
            host_ip, _, _ = port_parts(mapping)
            assert host_ip == "127.0.0.1", (name, mapping)


def test_only_caddy_publishes_443(compose: dict[str, Any]) -> None:
    publishers = {
        name
        for name, service in compose["services"].items()
        for mapping in service.get("ports", [])
        if "443" in port_parts(mapping)[1:]
    }
    assert publishers == {"caddy"}
    # Everything else that is published is loopback only; vLLM and the exporters are not published at all.
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            if name != "caddy":
                assert port_parts(mapping)[0] == "127.0.0.1", (name, mapping)
    for name in ("vllm", "node-exporter", "dcgm-exporter"):
        assert "ports" not in compose["services"][name], name


def test_secrets_are_referenced_as_files(stack: LoadedStack, compose: dict[str, Any]) -> None:
    services = compose["services"]
    grafana = services["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    assert "grafana_admin_password" in grafana["secrets"]
    declared = compose["secrets"]
    for name, secret in declared.items():
        assert secret["file"] == f"{host_bundle.SECRETS_DIR}/{name}", name
    used = {s for service in services.values() for s in service.get("secrets", [])}
    assert used <= set(declared)
    environment = services["vllm"]["environment"]
    assert "HF_TOKEN" not in environment
    if stack.config.hf_token is not None:
        assert environment["HF_TOKEN_PATH"] == "/run/secrets/hf_token"
        assert "hf_token" in services["vllm"]["secrets"]
    else:
        assert "HF_TOKEN_PATH" not in environment
        assert "hf_token" not in declared


def test_caddy_mounts_the_api_key_matcher(bundle: dict[str, BundleFile], compose: dict[str, Any]) -> None:
    volumes = compose["services"]["caddy"]["volumes"]
    assert "./caddy/api-keys.caddy:/etc/caddy/api-keys.caddy:ro" in volumes
    assert "import /etc/caddy/api-keys.caddy" in bundle["caddy/Caddyfile"].content
    assert "respond @unauthorized" in bundle["caddy/Caddyfile"].content


# --- no secrets in the bundle ----------------------------------------------------------------------------


def test_example_bundles_hold_no_secret_placeholder(bundle: dict[str, BundleFile]) -> None:
    for file in bundle.values():
        assert "[secret]" not in file.content, file.path
        assert "placeholder-set-with-pulumi-config-set-secret" not in file.content, file.path


@pytest.mark.parametrize("source", list(SecretSource))
def test_real_secrets_never_rendered(secret_config: StackConfig, source: SecretSource) -> None:
    files = render_bundle(secret_config, "secret", secret_source=source, region="eu-west-1")
    texts = {f.path: f.content for f in files}
    texts["cloud-init"] = render_user_data(files)
    for path, text in texts.items():
        for value in (API_KEY_A, API_KEY_B, HF_TOKEN, GRAFANA_PASSWORD, "[secret]"):
            assert value not in text, (path, value)


# --- prometheus ------------------------------------------------------------------------------------------


def test_prometheus_scrape_jobs(bundle: dict[str, BundleFile]) -> None:
    config = yaml.safe_load(bundle["prometheus/prometheus.yml"].content)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"vllm", "dcgm-exporter", "node-exporter"} <= set(jobs)
    targets = {name: [t for sc in job["static_configs"] for t in sc["targets"]] for name, job in jobs.items()}
    assert targets["vllm"] == ["vllm:8000"]
    assert targets["dcgm-exporter"] == ["dcgm-exporter:9400"]
    assert targets["node-exporter"] == ["node-exporter:9100"]


def test_scrape_targets_match_compose(bundle: dict[str, BundleFile], compose: dict[str, Any]) -> None:
    config = yaml.safe_load(bundle["prometheus/prometheus.yml"].content)
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.partition(":")
                if host == "localhost":
                    continue
                assert host in compose["services"], target
                assert port in [str(p) for p in compose["services"][host].get("expose", [])], target


def test_promtool_check_config(bundle: dict[str, BundleFile], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(PROMTOOL_MISSING)
    path = tmp_path / "prometheus.yml"
    path.write_text(bundle["prometheus/prometheus.yml"].content, encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- start.sh --------------------------------------------------------------------------------------------


def test_start_sh_syntax(stacks: dict[str, LoadedStack], tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash, "bash is required"
    for name, stack in stacks.items():
        for source in SecretSource:
            path = tmp_path / f"{name}-{source}.sh"
            path.write_text(bundle_of(stack, source)["bin/start.sh"].content, encoding="utf-8")
            result = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True, check=False)
            assert result.returncode == 0, (name, source, result.stderr)


def test_start_sh_reads_ssm(stacks: dict[str, LoadedStack]) -> None:
    stack = stacks["single-gpu"]
    start = bundle_of(stack, SecretSource.SSM)["bin/start.sh"].content
    assert start.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in start
    assert "aws ssm get-parameter" in start
    assert "--with-decryption" in start
    assert f"{ssm_prefix(stack.name)}/" in start
    assert f"/llmscale/{stack.name}/" in start
    assert f"--region {stack.region}" in start
    assert "fetch api-keys api-keys" in start
    assert "fetch hf-token hf_token" in start
    assert "python3 /opt/llmscale/bin/render-api-keys.py" in start
    assert "docker compose" in start


def test_start_sh_fetches_the_parameters_the_stack_creates(secret_config: StackConfig) -> None:
    """The SSM names start.sh reads are those the AWS component writes, under the same prefix."""
    from components.aws.single_host import secret_parameters

    # secret_parameters builds pulumi Outputs, which need an event loop of their own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        created = set(secret_parameters(secret_config))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    bundle = render_bundle(secret_config, "secret", secret_source=SecretSource.SSM, region="eu-west-1")
    [start] = [file for file in bundle if file.path == "bin/start.sh"]
    fetched = set(re.findall(r"^fetch ([a-z-]+) ", start.content, flags=re.MULTILINE))
    assert fetched == created == {"api-keys", "hf-token", "grafana-admin-password"}
    assert '--name "/llmscale/secret/$1"' in start.content


def test_start_sh_from_files_never_calls_aws(stacks: dict[str, LoadedStack]) -> None:
    for stack in stacks.values():
        start = bundle_of(stack, SecretSource.FILES)["bin/start.sh"].content
        assert not re.search(r"\baws\b", start), stack.name
        assert "ssm" not in start
        assert f"{host_bundle.SECRETS_DIR}/$required" in start
        assert "api-keys" in start


# --- render-api-keys.py ----------------------------------------------------------------------------------


@pytest.fixture
def api_keys_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stacks: dict[str, LoadedStack]
) -> tuple[Path, Path, Path]:
    """The rendered script with its paths pointed at tmp_path: (script, secrets dir, caddy dir)."""
    install = tmp_path / "install"
    secrets = tmp_path / "secrets"
    (install / "caddy").mkdir(parents=True)
    secrets.mkdir()
    monkeypatch.setattr(host_bundle, "INSTALL_DIR", str(install))
    monkeypatch.setattr(host_bundle, "SECRETS_DIR", str(secrets))
    stack = stacks["single-gpu-host"]
    script = tmp_path / "render-api-keys.py"
    script.write_text(bundle_of(stack)["bin/render-api-keys.py"].content, encoding="utf-8")
    return script, secrets, install / "caddy"


def matcher(*keys: str) -> str:
    """The @unauthorized matcher the script writes: one header line per key (alternatives), negated."""
    lines = "".join(f'\t\theader Authorization "Bearer {key}"\n' for key in keys)
    return f"@unauthorized {{\n\tnot {{\n{lines}\t}}\n}}\n"


def run_script(script: Path, secrets: Path, api_keys: str) -> subprocess.CompletedProcess[str]:
    (secrets / "api-keys").write_text(api_keys, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False)


def test_api_keys_json_object(api_keys_script: tuple[Path, Path, Path]) -> None:
    script, secrets, caddy = api_keys_script
    k1, k2 = "k1-0123456789abcdef", "k2-ABCDEFGHIJ.~+/=_-"
    result = run_script(script, secrets, json.dumps({"team-a": k1, "team-b": k2}) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    target = caddy / "api-keys.caddy"
    assert target.read_text(encoding="utf-8") == (
        "@unauthorized {\n"
        "\tnot {\n"
        f'\t\theader Authorization "Bearer {k1}"\n'
        f'\t\theader Authorization "Bearer {k2}"\n'
        "\t}\n"
        "}\n"
    )
    assert target.read_text(encoding="utf-8") == matcher(k1, k2)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (caddy / "api-keys.caddy.tmp").exists()


def test_api_keys_single_plain_key(api_keys_script: tuple[Path, Path, Path]) -> None:
    script, secrets, caddy = api_keys_script
    key = "plainKeyABCDEFGH0123456789"
    result = run_script(script, secrets, f"  {key}\n")
    assert result.returncode == 0, result.stderr
    assert (caddy / "api-keys.caddy").read_text(encoding="utf-8") == matcher(key)
    assert stat.S_IMODE((caddy / "api-keys.caddy").stat().st_mode) == 0o600


def test_api_keys_rewrite_replaces_old_keys(api_keys_script: tuple[Path, Path, Path]) -> None:
    script, secrets, caddy = api_keys_script
    assert run_script(script, secrets, "oldKeyABCDEFGHIJKLMNOP").returncode == 0
    assert run_script(script, secrets, "newKeyABCDEFGHIJKLMNOP").returncode == 0
    text = (caddy / "api-keys.caddy").read_text(encoding="utf-8")
    assert "newKey" in text and "oldKey" not in text


def test_api_keys_all_digit_key(api_keys_script: tuple[Path, Path, Path]) -> None:
    """A key of 16+ digits satisfies the documented rule; it must not be mistaken for a JSON number."""
    script, secrets, caddy = api_keys_script
    key = "12345678901234567890"
    result = run_script(script, secrets, key)
    assert result.returncode == 0, result.stderr
    assert (caddy / "api-keys.caddy").read_text(encoding="utf-8") == matcher(key)


@pytest.mark.parametrize(
    "bad",
    [
        "short-key",
        'has"quoteABCDEFGHIJKLMNOP',
        "has space ABCDEFGHIJKLMNOP",
        "x" * 513,
    ],
    ids=["short", "quote", "space", "too-long"],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_api_keys_invalid_key_exits_2_without_printing_it(
    api_keys_script: tuple[Path, Path, Path], bad: str, as_json: bool
) -> None:
    script, secrets, caddy = api_keys_script
    good = "goodKeyABCDEFGHIJKLMNOP"
    content = json.dumps({"good": good, "bad": bad}) if as_json else bad
    result = run_script(script, secrets, content)
    assert result.returncode == 2
    assert bad not in result.stdout + result.stderr
    assert good not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()
    assert not (caddy / "api-keys.caddy").exists()


@pytest.mark.parametrize("content", ["{}", "[]", '["listKeyABCDEFGHIJKLMNOP"]', '{"a": 12345}'])
def test_api_keys_malformed_json_exits_2(api_keys_script: tuple[Path, Path, Path], content: str) -> None:
    script, secrets, caddy = api_keys_script
    result = run_script(script, secrets, content)
    assert result.returncode == 2
    assert "listKey" not in result.stdout + result.stderr
    assert not (caddy / "api-keys.caddy").exists()


def test_monkeypatched_paths_are_rendered(api_keys_script: tuple[Path, Path, Path]) -> None:
    script, secrets, caddy = api_keys_script
    text = script.read_text(encoding="utf-8")
    assert json.dumps(str(secrets)) in text
    assert json.dumps(str(caddy / "api-keys.caddy")) in text


def test_default_paths_are_the_install_dir(bundle: dict[str, BundleFile]) -> None:
    text = bundle["bin/render-api-keys.py"].content
    assert 'SECRETS = "/opt/llmscale/secrets"' in text
    assert 'TARGET = "/opt/llmscale/caddy/api-keys.caddy"' in text


# --- cloud-init ------------------------------------------------------------------------------------------


def test_user_data(bundle: dict[str, BundleFile]) -> None:
    user_data = render_user_data(list(bundle.values()))
    assert user_data.startswith("#cloud-config\n")
    document = yaml.safe_load(user_data)
    entries = document["write_files"]
    assert [e["path"] for e in entries] == [f"/opt/llmscale/{path}" for path in bundle]
    for entry in entries:
        assert entry["path"].startswith("/opt/llmscale/")
        file = bundle[entry["path"].removeprefix("/opt/llmscale/")]
        # Compressed, since EC2 user data is limited to 16 KiB.
        assert entry["encoding"] == "gz+b64", file.path
        assert user_data_files(user_data)[entry["path"]] == file.content, file.path
        assert int(entry["permissions"], 8) == file.mode, file.path
    assert ["bash", "/opt/llmscale/bin/start.sh"] in document["runcmd"]


def test_user_data_fits_ec2_limit(bundle: dict[str, BundleFile]) -> None:
    """EC2 rejects user data over 16 KiB."""
    assert len(render_user_data(list(bundle.values())).encode("utf-8")) <= 16 * 1024


def test_user_data_round_trips_awkward_content() -> None:
    files = [
        BundleFile("a.txt", "first\n\n\tindented with a tab\n  two spaces\nlast\n"),
        BundleFile("bin/run.sh", "#!/bin/sh\necho 'a: b' # not yaml\n", 0o755),
        BundleFile("b.json", '{"key": [1, 2]}\n'),
    ]
    user_data = render_user_data(files)
    document = yaml.safe_load(user_data)
    decoded = user_data_files(user_data)
    assert [(e["path"], decoded[e["path"]], e["permissions"]) for e in document["write_files"]] == [
        ("/opt/llmscale/a.txt", files[0].content, "0644"),
        ("/opt/llmscale/bin/run.sh", files[1].content, "0755"),
        ("/opt/llmscale/b.json", files[2].content, "0644"),
    ]


def test_written_bundle_is_what_the_script_expects(tmp_path: Path, bundle: dict[str, BundleFile]) -> None:
    """Files the scripts and compose refer to by relative path are part of the bundle."""
    compose = bundle["docker-compose.yml"].content
    for relative in re.findall(r"\./([\w./-]+?)(?::|$)", compose, flags=re.MULTILINE):
        if relative in STARTUP_FILES:
            continue
        assert relative in bundle or any(p.startswith(relative.rstrip("/") + "/") for p in bundle), relative
    for path, file in bundle.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8")
        os.chmod(target, file.mode)
    assert os.access(tmp_path / "bin" / "start.sh", os.X_OK)
