"""Tests for the single host's bundle: docker compose, Prometheus, Alertmanager, the start-up scripts and the
EC2 bootstrap.

The bundle is a pure function of the stack config: pinned images, loopback-only dashboards, HTTPS through Caddy
only, and no secret value in any file (secrets are read on the host at start-up).
"""

from __future__ import annotations

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

import llmscale.host.bundle as host_bundle
from llmscale import versions
from llmscale.config.loader import LoadedStack, load_stack, parse_values
from llmscale.config.models import StackConfig
from llmscale.host.bundle import (
    BundleFile,
    SecretSource,
    render_bootstrap,
    render_bundle,
    ssm_prefix,
    user_data_files,
)
from llmscale.serving.vllm_args import termination_grace_seconds

STACKS = ("single-gpu", "single-gpu-host")
SERVICES = (
    "vllm",
    "usage-meter",
    "caddy",
    "prometheus",
    "alertmanager",
    "grafana",
    "node-exporter",
    "dcgm-exporter",
)
PINNED = {
    "vllm": versions.VLLM_IMAGE,
    "usage-meter": versions.VLLM_IMAGE,  # python3 is all it needs, and the vLLM image is on the host already
    "caddy": versions.CADDY_IMAGE,
    "prometheus": versions.PROMETHEUS_IMAGE,
    "alertmanager": versions.ALERTMANAGER_IMAGE,
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
    "bin/check-hf-access.py",
    "bin/start.sh",
    "usage-meter/usage-meter.py",
    "README.txt",
    "prometheus/rules/llmscale.yml",
    "alertmanager/alertmanager.yml",
    "grafana/dashboards/llmscale.json",
]
# Files whose text holds Go templates for Prometheus or Alertmanager, not leftovers of jinja2.
GO_TEMPLATES = ("prometheus/rules/", "alertmanager/")

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
AMTOOL_MISSING = (
    "amtool is not installed: install the Debian `prometheus-alertmanager` package, which provides /usr/bin/amtool"
)
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
    for path in ("bin/start.sh", "bin/render-api-keys.py", "bin/check-hf-access.py"):
        assert bundle[path].mode == 0o755, path
    for path in ("docker-compose.yml", "caddy/Caddyfile", "prometheus/prometheus.yml", "README.txt"):
        assert bundle[path].mode == 0o644
    assert bundle["usage-meter/usage-meter.py"].mode == 0o644  # run by the container's python3, not executed
    for file in bundle.values():
        assert file.content.endswith("\n"), file.path
        if file.path.startswith(GO_TEMPLATES):
            continue
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
    # The directory: start.sh renames a new matcher into place, which a single-file bind mount would not show.
    assert "./caddy:/etc/caddy:ro" in volumes
    assert not [v for v in volumes if v.startswith("./caddy/")]
    assert "import api-keys.caddy" in bundle["caddy/Caddyfile"].content  # next to the Caddyfile
    assert "respond @unauthorized" in bundle["caddy/Caddyfile"].content


def test_configuration_is_mounted_as_directories(compose: dict[str, Any]) -> None:
    """Files the update path replaces (by rename) reach running containers only through directory mounts."""
    services = compose["services"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./alertmanager:/etc/alertmanager:ro" in services["alertmanager"]["volumes"]
    assert "./usage-meter:/opt/usage-meter:ro" in services["usage-meter"]["volumes"]
    assert f"{host_bundle.SECRETS_DIR}/alertmanager:/run/llmscale-secrets:ro" in services["alertmanager"]["volumes"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert "." not in source.rsplit("/", 1)[-1], (name, volume)  # no single files


def test_usage_meter_sits_between_caddy_and_vllm(bundle: dict[str, BundleFile], compose: dict[str, Any]) -> None:
    meter = compose["services"]["usage-meter"]
    assert meter["entrypoint"] == ["python3", "/opt/usage-meter/usage-meter.py"]
    assert meter["environment"]["METER_UPSTREAM"] == "vllm:8000"
    assert meter["user"] == "65534:65534" and meter["read_only"] is True and meter["cap_drop"] == ["ALL"]
    assert "ports" not in meter
    caddyfile = bundle["caddy/Caddyfile"].content
    assert "reverse_proxy usage-meter:8001" in caddyfile
    assert "vllm:8000" not in caddyfile
    assert compose["services"]["caddy"]["depends_on"] == ["usage-meter"]
    # vLLM may stay down (a rejected token) while the gateway answers with an error: nothing depends on it.
    assert not any("vllm" in (s.get("depends_on") or []) for s in compose["services"].values())


# --- no secrets in the bundle ----------------------------------------------------------------------------


def test_example_bundles_hold_no_secret_placeholder(bundle: dict[str, BundleFile]) -> None:
    for file in bundle.values():
        assert "[secret]" not in file.content, file.path
        assert "placeholder-set-with-pulumi-config-set-secret" not in file.content, file.path


@pytest.mark.parametrize("source", list(SecretSource))
def test_real_secrets_never_rendered(secret_config: StackConfig, source: SecretSource) -> None:
    files = render_bundle(secret_config, "secret", secret_source=source, region="eu-west-1")
    texts = {f.path: f.content for f in files}
    texts["cloud-init"] = render_bootstrap("secret", "eu-west-1")
    for path, text in texts.items():
        for value in (API_KEY_A, API_KEY_B, HF_TOKEN, GRAFANA_PASSWORD, "[secret]"):
            assert value not in text, (path, value)


# --- prometheus ------------------------------------------------------------------------------------------


def test_prometheus_scrape_jobs(bundle: dict[str, BundleFile]) -> None:
    config = yaml.safe_load(bundle["prometheus/prometheus.yml"].content)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"vllm", "vllm-usage-meter", "dcgm-exporter", "node-exporter"} <= set(jobs)
    targets = {name: [t for sc in job["static_configs"] for t in sc["targets"]] for name, job in jobs.items()}
    assert targets["vllm"] == ["vllm:8000"]
    assert targets["vllm-usage-meter"] == ["usage-meter:9101"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
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
    from llmscale.aws.host import secret_parameter_values

    created = set(secret_parameter_values(secret_config))
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
        assert f"{host_bundle.SECRETS_DIR}/$file" in start
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


def matcher(**clients: str) -> str:
    """What the script writes: a map from the Authorization header (any case of `Bearer`) to the client's name,
    and @unauthorized for a header that matches no key. Keys are RE2 literals (punctuation escaped)."""

    def literal(key: str) -> str:
        return "".join(c if c.isalnum() or c == "_" else "\\" + c for c in key)

    lines = "".join(f'\t~(?i)^bearer\\s+{literal(key)}$ "{name}"\n' for name, key in clients.items())
    return (
        "map {http.request.header.Authorization} {http.auth.user.id} {\n"
        f'{lines}\tdefault ""\n}}\n'
        '@unauthorized vars {http.auth.user.id} ""\n'
    )


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
        "map {http.request.header.Authorization} {http.auth.user.id} {\n"
        '\t~(?i)^bearer\\s+k1\\-0123456789abcdef$ "team-a"\n'
        '\t~(?i)^bearer\\s+k2\\-ABCDEFGHIJ\\.\\~\\+\\/\\=_\\-$ "team-b"\n'
        '\tdefault ""\n'
        "}\n"
        '@unauthorized vars {http.auth.user.id} ""\n'
    )
    assert target.read_text(encoding="utf-8") == matcher(**{"team-a": k1, "team-b": k2})
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not (caddy / "api-keys.caddy.tmp").exists()


def test_api_keys_single_plain_key(api_keys_script: tuple[Path, Path, Path]) -> None:
    script, secrets, caddy = api_keys_script
    key = "plainKeyABCDEFGH0123456789"
    result = run_script(script, secrets, f"  {key}\n")
    assert result.returncode == 0, result.stderr
    assert (caddy / "api-keys.caddy").read_text(encoding="utf-8") == matcher(default=key)
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
    assert (caddy / "api-keys.caddy").read_text(encoding="utf-8") == matcher(default=key)


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


@pytest.mark.parametrize("name", ["-dash-first", "has space", "a" * 64, 'quo"te', "brace{x}"])
def test_api_keys_bad_client_name_exits_2(api_keys_script: tuple[Path, Path, Path], name: str) -> None:
    """Client names end up in the Caddyfile and in log lines: letters, digits, '.', '_' and '-' only."""
    script, secrets, caddy = api_keys_script
    result = run_script(script, secrets, json.dumps({name: "goodKeyABCDEFGHIJKLMNOP"}))
    assert result.returncode == 2
    assert "goodKey" not in result.stdout + result.stderr
    assert "client names" in result.stderr
    assert not (caddy / "api-keys.caddy").exists()


# --- the EC2 bootstrap -----------------------------------------------------------------------------------


def test_bootstrap_writes_the_sync_script_and_its_units() -> None:
    user_data = render_bootstrap("single-gpu", "eu-west-1")
    assert user_data.startswith("#cloud-config\n")
    document = yaml.safe_load(user_data)
    modes = {entry["path"]: int(entry["permissions"], 8) for entry in document["write_files"]}
    assert modes == {
        "/usr/local/sbin/llmscale-sync": 0o755,
        "/etc/systemd/system/llmscale-sync.service": 0o644,
        "/etc/systemd/system/llmscale-sync.timer": 0o644,
    }
    files = user_data_files(user_data)
    assert (
        "ExecStart=/usr/bin/python3 /usr/local/sbin/llmscale-sync" in files["/etc/systemd/system/llmscale-sync.service"]
    )
    timer = files["/etc/systemd/system/llmscale-sync.timer"]
    assert f"OnUnitInactiveSec={host_bundle.SYNC_INTERVAL_SECONDS}s" in timer
    assert host_bundle.SYNC_INTERVAL_SECONDS <= 30  # a revoked key must stop working within a minute
    assert document["runcmd"] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "llmscale-sync.timer"],
        ["systemctl", "start", "--no-block", "llmscale-sync.service"],
    ]


def test_bootstrap_round_trips_through_yaml() -> None:
    """The literal blocks cloud-init reads hold exactly the rendered files (indentation, blank lines)."""
    env = host_bundle._environment()
    user_data = render_bootstrap("acme", "us-east-1")
    files = user_data_files(user_data)
    context = yaml.safe_load(user_data)
    assert context and len(files) == 3
    sync = files["/usr/local/sbin/llmscale-sync"]
    rendered = env.get_template("sync.py.j2").render(
        stack="acme",
        region="us-east-1",
        manifest_parameter="/llmscale/acme/bundle",
        location_parameter="/llmscale/acme/bundle-location",
        ssm_prefix="/llmscale/acme",
        install_dir=host_bundle.INSTALL_DIR,
        state_dir=host_bundle.SYNC_STATE_DIR,
        sync_script=host_bundle.SYNC_SCRIPT,
        interval=host_bundle.SYNC_INTERVAL_SECONDS,
        retry_seconds=host_bundle.SYNC_RETRY_SECONDS,
    )
    assert sync == rendered
    assert "\n\n\n" in sync  # blank lines survive the block


def test_bootstrap_fits_ec2_limit() -> None:
    """EC2 rejects user data over 16 KiB."""
    assert len(render_bootstrap("a-rather-long-stack-name-for-a-customer", "ap-southeast-2").encode()) <= 16 * 1024


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


# --- alertmanager ----------------------------------------------------------------------------------------

RECEIVER_SECRETS = {
    "none": {},
    "slack": {"llmscale:slackWebhookUrl": "https://hooks.slack.example/services/T/B/x"},
    "pagerduty": {"llmscale:pagerdutyRoutingKey": "routingkey0123456789abcdef012345"},
    "both": {
        "llmscale:slackWebhookUrl": "https://hooks.slack.example/services/T/B/x",
        "llmscale:pagerdutyRoutingKey": "routingkey0123456789abcdef012345",
    },
}


def receivers_config(receivers: dict[str, str]) -> StackConfig:
    values = {**SECRET_VALUES, **receivers}
    config, _ = parse_values(values, SECRET_KEYS | set(receivers), "stacks/Pulumi.secret.yaml")
    return config


@pytest.mark.parametrize("receivers", list(RECEIVER_SECRETS))
def test_alertmanager_routes_like_the_kubernetes_tiers(receivers: str) -> None:
    """The same receivers and routes as on Kubernetes; the secrets read from files, never written here."""
    from llmscale.k8s.monitoring import alertmanager_config

    config = receivers_config(RECEIVER_SECRETS[receivers])
    files = {f.path: f for f in render_bundle(config, "secret", secret_source=SecretSource.SSM, region="eu-west-1")}
    routing = yaml.safe_load(files["alertmanager/alertmanager.yml"].content)
    shared = alertmanager_config(
        has_slack=config.slack_webhook_url is not None, has_pagerduty=config.pagerduty_routing_key is not None
    )
    assert routing["route"] == shared["route"]
    for ours, theirs in zip(routing["receivers"], shared["receivers"], strict=True):
        for slack in ours.get("slack_configs", []):
            assert slack.pop("api_url_file") == "/run/llmscale-secrets/slack_webhook_url"
        for pager in ours.get("pagerduty_configs", []):
            assert pager.pop("routing_key_file") == "/run/llmscale-secrets/pagerduty_routing_key"
        assert ours == theirs
    for value in RECEIVER_SECRETS[receivers].values():
        assert all(value not in file.content for file in files.values())


@pytest.mark.parametrize("receivers", list(RECEIVER_SECRETS))
def test_amtool_accepts_the_alertmanager_config(receivers: str, tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail(
            "amtool is not installed: install Debian's `prometheus-alertmanager` package (scripts/test.sh does)"
        )
    config = receivers_config(RECEIVER_SECRETS[receivers])
    files = {f.path: f for f in render_bundle(config, "secret", secret_source=SecretSource.SSM, region="eu-west-1")}
    path = tmp_path / "alertmanager.yml"
    path.write_text(files["alertmanager/alertmanager.yml"].content, encoding="utf-8")
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = 1 + ("slack" in receivers or receivers == "both") + ("pagerduty" in receivers or receivers == "both")
    assert f"{expected} receivers" in result.stdout


# --- per-client usage on the dashboard -------------------------------------------------------------------


def test_dashboard_shows_usage_per_client(bundle: dict[str, BundleFile], tmp_path: Path) -> None:
    from llmscale.monitoring import client_usage

    board = json.loads(bundle["grafana/dashboards/llmscale.json"].content)
    titles = [panel["title"] for panel in board["panels"]]
    assert titles[-4:] == [
        "Requests per client",
        "Errors per client",
        "Tokens per client",
        "Responses without token counts",
    ]
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    positions = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in board["panels"]]
    assert len(set(positions)) == len(positions)  # no panel on top of another
    queries = [target["expr"] for panel in board["panels"][-4:] for target in panel["targets"]]
    for metric in client_usage.METRICS:
        assert any(metric in query for query in queries), metric
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(PROMTOOL_MISSING)
    rules = {
        "groups": [
            {
                "name": "panels",
                "rules": [
                    {"record": f"panel:query_{i}", "expr": q.replace("$__rate_interval", "5m")}
                    for i, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_lets_vllm_drain_its_requests(compose: dict[str, Any], stack: LoadedStack) -> None:
    # docker compose sends SIGKILL 10 s after SIGTERM by default; vLLM drains for --shutdown-timeout.
    profile = stack.config.models[0]
    service = compose["services"]["vllm"]
    assert service["stop_grace_period"] == f"{termination_grace_seconds(profile)}s"
    args = service["command"]
    assert int(args[args.index("--shutdown-timeout") + 1]) == profile.request_timeout_seconds
