"""The single host's bundle: docker compose, Caddy, Prometheus, Alertmanager and Grafana files, the usage meter,
and the scripts that start and update them.

A pure function of the stack config renders every file from `templates/single_host/`. `llmscale render`
(platform `host`) writes the bundle to a folder for an existing server. On EC2 the bundle lives in S3, one
object per file, described by a manifest in SSM (`bundle_manifest`); the instance's user data is only a
stable bootstrap (`render_bootstrap`) that installs `llmscale-sync`, a timer that applies every change of the
bundle or of a secret without touching the instance. Secrets are never rendered: the scripts read them on the
host at start-up, from SSM Parameter Store on AWS or from files the operator places on an existing server.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import yaml

from llmscale import versions
from llmscale.config.models import StackConfig
from llmscale.monitoring import client_usage
from llmscale.monitoring.alertmanager import file_secrets_config
from llmscale.monitoring.dashboards import dashboard
from llmscale.monitoring.rules import Flavour, rule_groups
from llmscale.paths import TEMPLATES
from llmscale.serving.loading import hub_adapters_gib, load_path, startup_window_seconds
from llmscale.serving.vllm_args import VLLM_PORT, termination_grace_seconds, vllm_args
from llmscale.sizing.model_size import weights_gib

if TYPE_CHECKING:
    import jinja2

INSTALL_DIR = "/opt/llmscale"
MODEL_DIR = "/opt/llmscale/models"
SECRETS_DIR = "/opt/llmscale/secrets"
# Where llmscale-sync keeps what it applied (outside the install directory, which it writes).
SYNC_STATE_DIR = "/var/lib/llmscale-sync"
SYNC_SCRIPT = "/usr/local/sbin/llmscale-sync"
# Seconds between two checks of the bundle and the secrets: a rotated key is applied within this, plus the run.
SYNC_INTERVAL_SECONDS = 30
# A run that failed (a rejected token, a secret SSM did not serve) is tried again after this many seconds,
# or at once when the bundle or a secret changes.
SYNC_RETRY_SECONDS = 300
BUNDLE_PREFIX = "bundle"
METER_PORT = 8001
METER_METRICS_PORT = 9101
CADDY_ADMIN_SOCKET = "/run/caddy-admin.sock"
# Where the Alertmanager container sees its receivers' secrets (SECRETS_DIR/alertmanager on the host).
ALERTMANAGER_SECRETS = "/run/llmscale-secrets"


class SecretSource(StrEnum):
    """Where the bundle's start-up script reads secrets from."""

    SSM = "ssm"
    FILES = "files"


@dataclass(frozen=True)
class HostSecret:
    """A secret of the single host: its SSM parameter (under the stack's prefix) and its file on the host."""

    parameter: str
    file: str
    setting: str


# Every secret the host can use, in the order start.sh fetches them; `setting` is the StackConfig field.
HOST_SECRETS = (
    HostSecret("api-keys", "api-keys", "api_keys"),
    HostSecret("hf-token", "hf_token", "hf_token"),
    HostSecret("grafana-admin-password", "grafana_admin_password", "grafana_admin_password"),
    HostSecret("slack-webhook-url", "slack_webhook_url", "slack_webhook_url"),
    HostSecret("pagerduty-routing-key", "pagerduty_routing_key", "pagerduty_routing_key"),
)
ALERT_SECRETS = ("slack_webhook_url", "pagerduty_routing_key")


def host_secrets(config: StackConfig) -> list[HostSecret]:
    """The secrets this stack's host reads: the API keys always, the others when the stack sets them."""
    return [s for s in HOST_SECRETS if s.parameter == "api-keys" or getattr(config, s.setting) is not None]


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: its path relative to the install directory, its text and its mode."""

    path: str
    content: str
    mode: int = 0o644

    @property
    def sha256(self) -> str:
        """The SHA-256 of the content (UTF-8), as the manifest records it and llmscale-sync checks it."""
        return hashlib.sha256(self.content.encode("utf-8")).hexdigest()


def ssm_prefix(stack: str) -> str:
    """The SSM Parameter Store path under which a stack's secrets and bundle manifest live."""
    return f"/llmscale/{stack}"


def manifest_parameter(stack: str) -> str:
    """The SSM parameter holding the bundle's manifest (`bundle_manifest`)."""
    return f"{ssm_prefix(stack)}/bundle"


def location_parameter(stack: str) -> str:
    """The SSM parameter holding `s3://BUCKET/PREFIX`, where the bundle's files are."""
    return f"{ssm_prefix(stack)}/bundle-location"


def _environment() -> jinja2.Environment:
    import jinja2  # only where a bundle is rendered: policies and plans of other stacks import this module too

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "single_host"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, shell and Caddyfile text, not HTML
    )


def start_period_seconds(config: StackConfig) -> int:
    """The vLLM healthcheck's `start_period`: the startup window for the model's size and path on the host.

    The host downloads a Hub model (and its adapters) into its model directory, streams an `s3://` model (vLLM
    0.33 loads an object-store model only with the Run:ai streamer) and reads a local path from disk
    (`llmscale.serving.loading`).
    """
    profile = config.models[0]
    path = load_path(profile.model, stream=True)
    return startup_window_seconds(weights_gib(profile), path, hub_gib=hub_adapters_gib(profile))


def render_bundle(
    config: StackConfig,
    stack: str,
    *,
    secret_source: SecretSource,
    region: str | None = None,
) -> list[BundleFile]:
    """Every file of the single host's bundle for `config`, in a stable order."""
    profile = config.models[0]
    secrets = host_secrets(config)
    files_of = {s.file for s in secrets}
    has_hf_token = config.hf_token is not None
    if secret_source is SecretSource.SSM:
        token_setting = f"llmscale:hfToken (SSM {ssm_prefix(stack)}/hf-token; `pulumi up` applies a new one)"
    else:
        token_setting = f"{SECRETS_DIR}/hf_token"
    context = {
        "stack": stack,
        "tier": str(config.tier),
        "profile": profile,
        "vllm_args": vllm_args(profile, model_source=None),
        "stop_grace_seconds": termination_grace_seconds(profile),
        "start_period_seconds": start_period_seconds(config),
        "adapter_repositories": [a.source for a in profile.adapters if a.store_path is None],
        "vllm_port": VLLM_PORT,
        "meter_port": METER_PORT,
        "meter_metrics_port": METER_METRICS_PORT,
        "meter_address": f"usage-meter:{METER_PORT}",
        "caddy_admin_socket": CADDY_ADMIN_SOCKET,
        "alertmanager_secrets": ALERTMANAGER_SECRETS,
        "images": {
            "vllm": profile.image or versions.VLLM_IMAGE,
            "caddy": versions.CADDY_IMAGE,
            "prometheus": versions.PROMETHEUS_IMAGE,
            "alertmanager": versions.ALERTMANAGER_IMAGE,
            "grafana": versions.GRAFANA_IMAGE,
            "node_exporter": versions.NODE_EXPORTER_IMAGE,
            "dcgm_exporter": versions.DCGM_EXPORTER_IMAGE,
        },
        "host": config.host,
        # Caddy reads the address from its environment when there is no domain (see bin/start.sh).
        "site_name": config.host.domain or "{$LLMSCALE_SITE_NAME}",
        "has_hf_token": has_hf_token,
        "has_grafana_password": config.grafana_admin_password is not None,
        "secret_files": [(s.parameter, s.file) for s in secrets],
        "alert_secret_files": [name for name in ALERT_SECRETS if name in files_of],
        "token_file": f"{SECRETS_DIR}/hf_token" if has_hf_token else None,
        "token_setting": token_setting,
        "client_metrics": {
            "requests": client_usage.CLIENT_REQUESTS,
            "prompt": client_usage.CLIENT_PROMPT_TOKENS,
            "generation": client_usage.CLIENT_GENERATION_TOKENS,
            "unmetered": client_usage.CLIENT_UNMETERED,
        },
        "secret_source": str(secret_source),
        "ssm_prefix": ssm_prefix(stack),
        "region": region,
        "install_dir": INSTALL_DIR,
        "model_dir": MODEL_DIR,
        "secrets_dir": SECRETS_DIR,
        "gpus": profile.gpus_per_replica,
        "retention_days": config.monitoring.retention_days,
    }
    env = _environment()
    files = [
        ("docker-compose.yml", "docker-compose.yml.j2", 0o644),
        ("caddy/Caddyfile", "Caddyfile.j2", 0o644),
        ("prometheus/prometheus.yml", "prometheus.yml.j2", 0o644),
        ("grafana/provisioning/datasources/prometheus.yml", "grafana-datasource.yml.j2", 0o644),
        ("grafana/provisioning/dashboards/llmscale.yml", "grafana-dashboards.yml.j2", 0o644),
        ("bin/render-api-keys.py", "render-api-keys.py.j2", 0o755),
        ("bin/check-hf-access.py", "check-hf-access.py.j2", 0o755),
        ("bin/start.sh", "start.sh.j2", 0o755),
        ("usage-meter/usage-meter.py", "usage-meter.py.j2", 0o644),
        ("README.txt", "README.txt.j2", 0o644),
    ]
    rendered = [BundleFile(path, env.get_template(template).render(context), mode) for path, template, mode in files]
    rules = {"groups": rule_groups(config, Flavour.HOST, stack=stack, runbook=config.monitoring.runbook_url)}
    routing = file_secrets_config(
        has_slack=config.slack_webhook_url is not None,
        has_pagerduty=config.pagerduty_routing_key is not None,
        secrets_dir=ALERTMANAGER_SECRETS,
    )
    board = client_usage.with_client_panels(dashboard(config, Flavour.HOST, stack=stack))
    return [
        *rendered,
        BundleFile("prometheus/rules/llmscale.yml", yaml.safe_dump(rules, sort_keys=False, width=1000)),
        BundleFile(
            "alertmanager/alertmanager.yml",
            f"# llmscale single host, stack {stack}: alert routing (receivers' secrets are read from files).\n"
            + yaml.safe_dump(routing, sort_keys=False, width=1000),
        ),
        BundleFile("grafana/dashboards/llmscale.json", json.dumps(board, indent=1) + "\n"),
    ]


def bundle_manifest(config: StackConfig, bundle: list[BundleFile]) -> str:
    """The manifest llmscale-sync reads from SSM: each file's path, mode and SHA-256, and the secrets' names.

    Deterministic JSON (no bucket name, which is known only after apply: that is `location_parameter`), so
    that `llmscale plan`/`diff` show which files a change touches.
    """
    return json.dumps(
        {
            "files": [{"path": f.path, "mode": f"{f.mode:04o}", "sha256": f.sha256} for f in bundle],
            "secrets": [s.parameter for s in host_secrets(config)],
        },
        indent=1,
    )


def render_bootstrap(stack: str, region: str) -> str:
    """cloud-init user data: install llmscale-sync and its timer, and run it once. Nothing of the bundle.

    Depends only on the stack's name and region, so that a change of the bundle never changes the user data
    (which, with `user_data_replace_on_change`, would replace the instance).
    """
    env = _environment()
    context = {
        "stack": stack,
        "region": region,
        "manifest_parameter": manifest_parameter(stack),
        "location_parameter": location_parameter(stack),
        "ssm_prefix": ssm_prefix(stack),
        "install_dir": INSTALL_DIR,
        "state_dir": SYNC_STATE_DIR,
        "sync_script": SYNC_SCRIPT,
        "interval": SYNC_INTERVAL_SECONDS,
        "retry_seconds": SYNC_RETRY_SECONDS,
    }
    files = [
        BundleFile(SYNC_SCRIPT, env.get_template("sync.py.j2").render(context), 0o755),
        BundleFile("/etc/systemd/system/llmscale-sync.service", env.get_template("sync.service.j2").render(context)),
        BundleFile("/etc/systemd/system/llmscale-sync.timer", env.get_template("sync.timer.j2").render(context)),
    ]
    return env.get_template("cloud-init.yaml.j2").render(files=files, **context)


def user_data_files(user_data: str) -> dict[str, str]:
    """The files a cloud-init document puts on the host, by absolute path (plain or `gz+b64` content)."""
    document = yaml.safe_load(user_data) or {}
    files = {}
    for entry in document.get("write_files") or []:
        content = entry.get("content", "")
        if entry.get("encoding") == "gz+b64":
            content = gzip.decompress(base64.b64decode(content)).decode("utf-8")
        files[entry["path"]] = content
    return files
