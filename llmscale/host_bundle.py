"""The single host's bundle: docker compose, Caddy, Prometheus and Grafana files, and the scripts that start them.

A pure function of the stack config renders every file from `templates/single_host/`. The same bundle is
written to an existing server by `llmscale render` (platform `host`) and carried in the EC2 instance's
cloud-init (platform `aws`). Secrets are never rendered: the scripts read them on the host at start-up, from
SSM Parameter Store on AWS or from files the operator places on an existing server.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from enum import StrEnum

import jinja2
import yaml

from llmscale import versions
from llmscale.config.models import StackConfig
from llmscale.monitoring.dashboards import dashboard
from llmscale.monitoring.rules import Flavour, rule_groups
from llmscale.paths import TEMPLATES
from llmscale.vllm_args import VLLM_PORT, vllm_args

INSTALL_DIR = "/opt/llmscale"
MODEL_DIR = "/opt/llmscale/models"
SECRETS_DIR = "/opt/llmscale/secrets"


class SecretSource(StrEnum):
    """Where the bundle's start-up script reads secrets from."""

    SSM = "ssm"
    FILES = "files"


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: its path relative to the install directory, its text and its mode."""

    path: str
    content: str
    mode: int = 0o644

    @property
    def gz_b64(self) -> str:
        """The content gzip-compressed and base64-encoded, as cloud-init's `gz+b64` encoding expects."""
        return base64.b64encode(gzip.compress(self.content.encode("utf-8"), mtime=0)).decode("ascii")


def ssm_prefix(stack: str) -> str:
    """The SSM Parameter Store path under which a stack's secrets live."""
    return f"/llmscale/{stack}"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "single_host"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, shell and Caddyfile text, not HTML
    )


def render_bundle(
    config: StackConfig,
    stack: str,
    *,
    secret_source: SecretSource,
    region: str | None = None,
) -> list[BundleFile]:
    """Every file of the single host's bundle for `config`, in a stable order."""
    profile = config.models[0]
    context = {
        "stack": stack,
        "tier": str(config.tier),
        "profile": profile,
        "vllm_args": vllm_args(profile, model_source=None),
        "vllm_port": VLLM_PORT,
        "images": {
            "vllm": profile.image or versions.VLLM_IMAGE,
            "caddy": versions.CADDY_IMAGE,
            "prometheus": versions.PROMETHEUS_IMAGE,
            "grafana": versions.GRAFANA_IMAGE,
            "node_exporter": versions.NODE_EXPORTER_IMAGE,
            "dcgm_exporter": versions.DCGM_EXPORTER_IMAGE,
        },
        "host": config.host,
        # Caddy reads the address from its environment when there is no domain (see bin/start.sh).
        "site_name": config.host.domain or "{$LLMSCALE_SITE_NAME}",
        "has_hf_token": config.hf_token is not None,
        "has_grafana_password": config.grafana_admin_password is not None,
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
        ("bin/start.sh", "start.sh.j2", 0o755),
        ("README.txt", "README.txt.j2", 0o644),
    ]
    rendered = [BundleFile(path, env.get_template(template).render(context), mode) for path, template, mode in files]
    rules = {"groups": rule_groups(config, Flavour.HOST, stack=stack, runbook=config.monitoring.runbook_url)}
    return [
        *rendered,
        BundleFile("prometheus/rules/llmscale.yml", yaml.safe_dump(rules, sort_keys=False, width=1000)),
        BundleFile(
            "grafana/dashboards/llmscale.json",
            json.dumps(dashboard(config, Flavour.HOST, stack=stack), indent=1) + "\n",
        ),
    ]


def render_user_data(bundle: list[BundleFile]) -> str:
    """cloud-init user data that writes the bundle to the instance and starts it.

    Files travel gzip-compressed (cloud-init's `gz+b64`): EC2 user data is limited to 16 KiB.
    """
    template = _environment().get_template("cloud-init.yaml.j2")
    return template.render(files=bundle, install_dir=INSTALL_DIR)


def user_data_files(user_data: str) -> dict[str, str]:
    """The files a cloud-init document written by `render_user_data` puts on the host, by absolute path."""
    document = yaml.safe_load(user_data) or {}
    files = {}
    for entry in document.get("write_files") or []:
        content = entry.get("content", "")
        if entry.get("encoding") == "gz+b64":
            content = gzip.decompress(base64.b64decode(content)).decode("utf-8")
        files[entry["path"]] = content
    return files
