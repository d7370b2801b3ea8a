"""The single host's Caddy front, checked by Caddy itself: `caddy adapt --validate` on the rendered files.

The API-key matcher written at start-up is included, so a matcher Caddy cannot parse, a key that passes
without being listed, or a route that bypasses the check fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import llmscale.host_bundle as host_bundle
from llmscale.config.loader import load_stack, parse_values
from llmscale.host_bundle import SecretSource, render_bundle

KEYS = {"team-a": "abcdefghijklmnop1234", "team-b": "ZZZZZZZZZZZZZZZZ.~+/=-_"}


def _caddy() -> str:
    found = shutil.which("caddy")
    assert found, "caddy is missing: install Debian's `caddy` package (scripts/test.sh does)"
    return found


def _render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config, stack: str, source: SecretSource) -> Path:
    install, secrets = tmp_path / "install", tmp_path / "secrets"
    monkeypatch.setattr(host_bundle, "INSTALL_DIR", str(install))
    monkeypatch.setattr(host_bundle, "SECRETS_DIR", str(secrets))
    for file in render_bundle(config, stack, secret_source=source, region="eu-west-1"):
        target = install / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content)
    secrets.mkdir()
    (secrets / "api-keys").write_text(json.dumps(KEYS))
    subprocess.run([sys.executable, str(install / "bin/render-api-keys.py")], check=True)
    caddyfile = install / "caddy/Caddyfile"
    # Inside the container the matcher file is mounted at /etc/caddy; point at the rendered one instead.
    caddyfile.write_text(
        caddyfile.read_text().replace("/etc/caddy/api-keys.caddy", str(install / "caddy/api-keys.caddy"))
    )
    return caddyfile


def _adapt(caddyfile: Path, site_name: str | None = None) -> dict:
    env = {**os.environ, "HOME": str(caddyfile.parent)}
    if site_name:
        env["LLMSCALE_SITE_NAME"] = site_name
    done = subprocess.run(
        [_caddy(), "adapt", "--config", str(caddyfile), "--adapter", "caddyfile", "--validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _routes(adapted: dict) -> list[dict]:
    """The site's routes, looking through the host-matching subroute Caddy wraps around a named site."""
    (server,) = adapted["apps"]["http"]["servers"].values()
    routes = server["routes"]
    if len(routes) == 1 and any("host" in m for m in routes[0].get("match", [])):
        return routes[0]["handle"][0]["routes"]
    return routes


def _route_for(routes: list[dict], path: str) -> dict:
    return next(r for r in routes if any(path in m.get("path", []) for m in r.get("match", [])))


@pytest.fixture
def aws_caddyfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _render(tmp_path, monkeypatch, load_stack("single-gpu").config, "single-gpu", SecretSource.SSM)


def test_rendered_caddyfile_is_valid_for_an_address_without_domain(aws_caddyfile: Path) -> None:
    adapted = _adapt(aws_caddyfile, site_name="203.0.113.7")
    (server,) = adapted["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]
    assert server["tls_connection_policies"][0]["default_sni"] == "203.0.113.7"
    assert adapted["apps"]["tls"]["automation"]["policies"][0]["issuers"][0]["module"] == "internal"
    assert adapted["apps"]["tls"]["automation"]["policies"][0]["subjects"] == ["203.0.113.7"]


def test_v1_requires_one_of_the_configured_keys(aws_caddyfile: Path) -> None:
    v1 = _route_for(_routes(_adapt(aws_caddyfile, "203.0.113.7")), "/v1/*")
    reject, proxy = v1["handle"][0]["routes"]
    assert reject["handle"][0]["status_code"] == 401
    (matcher,) = reject["match"]
    allowed = matcher["not"][0]["header"]["Authorization"]
    assert sorted(allowed) == sorted(f"Bearer {key}" for key in KEYS.values())
    assert proxy["handle"][0]["handler"] == "reverse_proxy"
    assert proxy["handle"][0]["flush_interval"] == -1
    assert proxy["handle"][0]["upstreams"] == [{"dial": "vllm:8000"}]


def test_health_is_open_and_everything_else_is_404(aws_caddyfile: Path) -> None:
    routes = _routes(_adapt(aws_caddyfile, "203.0.113.7"))
    health = _route_for(routes, "/health")
    assert health["handle"][0]["routes"][0]["handle"][0]["upstreams"] == [{"dial": "vllm:8000"}]
    fallback = routes[-1]
    assert "match" not in fallback
    assert fallback["handle"][0]["routes"][0]["handle"][0]["status_code"] == 404
    assert not any("/metrics" in json.dumps(route.get("match", [])) for route in routes)


def test_domain_with_acme_uses_public_certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "host",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:host": {
            "domain": "llm.example.com",
            "tls": "acme",
            "acmeEmail": "ops@example.com",
            "allowedCidrs": ["0.0.0.0/0"],
        },
    }
    config, _ = parse_values(values, set(), "test")
    adapted = _adapt(_render(tmp_path, monkeypatch, config, "acme", SecretSource.FILES))
    (server,) = adapted["apps"]["http"]["servers"].values()
    assert server["routes"][0]["match"][0]["host"] == ["llm.example.com"]
    policies = adapted["apps"]["tls"]["automation"]["policies"]
    assert all(issuer["module"] != "internal" for policy in policies for issuer in policy.get("issuers", []))
    assert "tls_connection_policies" not in server or all(
        "default_sni" not in policy for policy in server["tls_connection_policies"]
    )
