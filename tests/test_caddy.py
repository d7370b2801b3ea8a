"""The single host's Caddy front, checked by Caddy itself: `caddy adapt --validate` on the rendered files.

The API-key map written at start-up is included, so a map Caddy cannot parse, a key that passes without
being listed, or a route that bypasses the check fails here. tests/test_host_live.py runs the same files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import llmscale.host.bundle as host_bundle
from llmscale.config.loader import load_stack, parse_values
from llmscale.host.bundle import SecretSource, render_bundle

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
    # The Caddyfile imports api-keys.caddy by a path relative to itself: no rewriting needed.
    return install / "caddy/Caddyfile"


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


def _sites(adapted: dict) -> list[tuple[list[str] | None, list[dict]]]:
    """Each site of the HTTPS server: (the host names it matches, None for any, its routes)."""
    (server,) = adapted["apps"]["http"]["servers"].values()
    sites = []
    for route in server["routes"]:
        hosts = next((m["host"] for m in route.get("match", []) if "host" in m), None)
        sites.append((hosts, route["handle"][0]["routes"]))
    return sites


def _routes(adapted: dict) -> list[dict]:
    """The routes of the named site (the first one)."""
    return _sites(adapted)[0][1]


def _route_for(routes: list[dict], path: str) -> dict:
    return next(r for r in routes if any(path in m.get("path", []) for m in r.get("match", [])))


def _handlers(routes: list[dict], name: str) -> list[dict]:
    found = []
    for route in routes:
        for handler in route.get("handle", []):
            if handler.get("handler") == name:
                found.append(handler)
            found += _handlers(handler.get("routes", []), name)
    return found


@pytest.fixture
def aws_caddyfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _render(tmp_path, monkeypatch, load_stack("single-gpu").config, "single-gpu", SecretSource.SSM)


def test_rendered_caddyfile_is_valid_for_an_address_without_domain(aws_caddyfile: Path) -> None:
    adapted = _adapt(aws_caddyfile, site_name="203.0.113.7")
    (server,) = adapted["apps"]["http"]["servers"].values()
    assert server["listen"] == [":443"]
    assert all(policy["default_sni"] == "203.0.113.7" for policy in server["tls_connection_policies"])
    policies = adapted["apps"]["tls"]["automation"]["policies"]
    assert [issuer["module"] for policy in policies for issuer in policy["issuers"]] == ["internal"]
    assert adapted["admin"]["listen"] == "unix//run/caddy-admin.sock"  # reloads, from inside the container only


def test_every_name_and_address_gets_the_same_routes(aws_caddyfile: Path) -> None:
    """By name or by IP (probes, load balancers): never Caddy's empty 200 for a host no site matches."""
    sites = _sites(_adapt(aws_caddyfile, "203.0.113.7"))
    assert [hosts for hosts, _ in sites] == [["203.0.113.7"], None]
    # Equal but for the names Caddy gives each site's `handle` group.
    named, any_host = (re.sub(r'"group\d+"', '"group"', json.dumps(routes)) for _, routes in sites)
    assert named == any_host


def test_v1_maps_each_key_to_its_client_and_rejects_the_rest(aws_caddyfile: Path) -> None:
    routes = _routes(_adapt(aws_caddyfile, "203.0.113.7"))
    (mapping,) = _handlers(routes, "map")
    assert mapping["source"] == "{http.request.header.Authorization}"
    assert mapping["destinations"] == ["{http.auth.user.id}"]  # the access log's user_id
    assert mapping["defaults"] == [""]
    outputs = {m["outputs"][0]: m["input_regexp"] for m in mapping["mappings"]}
    assert sorted(outputs) == sorted(KEYS)
    for client, key in KEYS.items():
        assert re.fullmatch(outputs[client], f"Bearer {key}")
        assert re.fullmatch(outputs[client], f"bearer  {key}")  # the scheme is case-insensitive (RFC 9110)
        assert not re.fullmatch(outputs[client], f"Bearer {key}x")
        assert not re.fullmatch(outputs[client], f"Basic {key}")
    v1 = _route_for(routes, "/v1/*")
    reject, proxy = v1["handle"][0]["routes"]
    json_type, response = reject["handle"]
    assert json_type["response"]["set"] == {"Content-Type": ["application/json"]}
    assert response["status_code"] == 401
    assert json.loads(response["body"])["error"]["code"] == "invalid_api_key"
    assert reject["match"] == [{"vars": {"{http.auth.user.id}": [""]}}]
    handler = proxy["handle"][0]
    assert handler["handler"] == "reverse_proxy"
    assert "flush_interval" not in handler  # streams flush by themselves; -1 would keep abandoned requests alive
    assert handler["upstreams"] == [{"dial": "usage-meter:8001"}]
    assert handler["headers"]["request"]["delete"] == ["Authorization"]
    assert handler["headers"]["request"]["set"] == {"X-Llmscale-Client": ["{http.auth.user.id}"]}


def test_access_log_per_request_without_credentials(aws_caddyfile: Path) -> None:
    adapted = _adapt(aws_caddyfile, "203.0.113.7")
    (server,) = adapted["apps"]["http"]["servers"].values()
    assert server["logs"]  # every site logs its requests
    assert not server["logs"].get("should_log_credentials")  # Authorization is logged empty
    loggers = adapted["logging"]["logs"]
    assert any(log.get("writer", {}).get("output") == "stdout" for log in loggers.values())


def test_health_is_open_and_everything_else_is_a_json_404(aws_caddyfile: Path) -> None:
    routes = _routes(_adapt(aws_caddyfile, "203.0.113.7"))
    health = _route_for(routes, "/health")
    assert health["handle"][0]["routes"][0]["handle"][0]["upstreams"] == [{"dial": "usage-meter:8001"}]
    fallback = routes[-1]
    assert "match" not in fallback
    json_type, response = fallback["handle"][0]["routes"][0]["handle"]
    assert json_type["response"]["set"] == {"Content-Type": ["application/json"]}
    assert response["status_code"] == 404
    assert json.loads(response["body"])["error"]["code"] == 404
    assert not any("/metrics" in json.dumps(route.get("match", [])) for route in routes)


def test_errors_are_openai_shaped_json(aws_caddyfile: Path) -> None:
    adapted = _adapt(aws_caddyfile, "203.0.113.7")
    (server,) = adapted["apps"]["http"]["servers"].values()
    responses = _handlers(server["errors"]["routes"], "static_response")
    assert responses and all(r["status_code"] == "{http.error.status_code}" for r in responses)
    body = responses[0]["body"].replace("{http.error.status_code}", "502")
    assert json.loads(body)["error"] == {
        "message": "the model gateway cannot reach the model server",
        "type": "server_error",
        "code": 502,
    }


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
    sites = _sites(adapted)
    assert [hosts for hosts, _ in sites] == [["llm.example.com"], None]
    policies = adapted["apps"]["tls"]["automation"]["policies"]
    assert all(issuer["module"] != "internal" for policy in policies for issuer in policy.get("issuers", []))
    (server,) = adapted["apps"]["http"]["servers"].values()
    # A client that connects by IP sends no server name: it gets the domain's certificate.
    assert all(policy["default_sni"] == "llm.example.com" for policy in server["tls_connection_policies"])
