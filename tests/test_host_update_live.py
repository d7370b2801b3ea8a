"""Day 2 on the EC2 host, live: llmscale-sync and bin/start.sh apply what `pulumi up` changed.

The bundle is published as the AWS component publishes it (one S3 object per file, the manifest and location
in SSM) into a stubbed `aws`; the rendered llmscale-sync installs it and runs start.sh, whose `docker compose`
calls a stub turns into real actions on the processes this test starts: Debian's `caddy` (reloaded), and
Debian's `prometheus` and `prometheus-alertmanager` (sent SIGHUP). A fake vLLM, a fake dcgm-exporter that
reports an XID error and a fake Slack webhook stand around them on loopback.

Only ports, intervals and paths differ from the production files (`Harness.tune`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import llmscale.host.bundle as host_bundle
from llmscale.config.loader import parse_values
from llmscale.config.models import StackConfig
from llmscale.host.bundle import BundleFile, SecretSource, bundle_manifest, render_bootstrap, user_data_files
from tests.host_fakes import (
    FakeExporterHandler,
    FakeHub,
    FakeHubHandler,
    FakeVllm,
    FakeVllmHandler,
    HostDirs,
    Receiver,
    ReceiverHandler,
    Stubs,
    bundle_for,
    free_port,
    make_stubs,
    point_at,
    port_open,
    run,
    running,
    serve,
    serves_tls,
    tune_caddyfile,
    wait_for,
)

pytestmark = pytest.mark.slow

STACK = "day2"
BUCKET = "day2-bundle-20260101"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
OLD_KEYS = {"team-a": "teamAoldkey-0123456789", "team-b": "teamBkey-0123456789abc"}
NEW_KEYS = {"team-a": "teamAnewkey-9876543210", "team-b": "teamBkey-0123456789abc"}


def config(max_error_rate: float = 0.001, pagerduty: bool = False) -> StackConfig:
    secrets = {"llmscale:apiKeys", "llmscale:slackWebhookUrl", *(["llmscale:pagerdutyRoutingKey"] if pagerduty else [])}
    values = {
        "aws:region": "eu-west-1",
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:models": [{"name": "chat", "model": MODEL}],
        "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
        "llmscale:slo": {"maxErrorRate": max_error_rate},
        "llmscale:apiKeys": json.dumps(OLD_KEYS),
        "llmscale:slackWebhookUrl": "https://hooks.slack.example/services/T0/B0/x",
    }
    if pagerduty:
        values["llmscale:pagerdutyRoutingKey"] = "routingkey0123456789abcdef012345"
    parsed, _ = parse_values(values, secrets, f"stacks/Pulumi.{STACK}.yaml")
    return parsed


def binary(name: str, package: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: install Debian's `{package}` package (scripts/test.sh does)"
    return found


@dataclass
class Harness:
    """One EC2 host in a directory: its bundle in the stub's S3 and SSM, its processes, its fakes."""

    dirs: HostDirs
    stubs: Stubs
    hub_url: str
    hub: FakeHub
    ports: dict[str, int]
    vllm: FakeVllm
    receiver: Receiver
    stack: contextlib.ExitStack
    sync_script: Path = field(init=False)

    def __post_init__(self) -> None:
        self.sync_script = self.dirs.root / "llmscale-sync"
        bootstrap = user_data_files(render_bootstrap(STACK, "eu-west-1"))
        self.sync_script.write_text(bootstrap[host_bundle.SYNC_SCRIPT], encoding="utf-8")

    # -- the bundle, as the AWS component publishes it --

    def tune(self, files: dict[str, BundleFile]) -> dict[str, BundleFile]:
        """The production files on loopback: ports, 1 s intervals, paths outside the containers."""
        ports, install = self.ports, self.dirs.install
        tuned = dict(files)
        caddyfile = tune_caddyfile(
            files["caddy/Caddyfile"].content,
            https_port=ports["https"],
            http_port=ports["http"],
            admin=self.dirs.root / "caddy-admin.sock",
            meter_port=ports["meter"],
        )
        prometheus = yaml.safe_load(files["prometheus/prometheus.yml"].content)
        prometheus["global"].update(scrape_interval="1s", evaluation_interval="1s")
        prometheus["rule_files"] = [f"{install}/prometheus/rules/*.yml"]
        prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{ports['am']}"]
        where = {
            "vllm": ports["vllm"],
            "vllm-usage-meter": ports["metrics"],
            "dcgm-exporter": ports["dcgm"],
            "prometheus": ports["prometheus"],
        }
        prometheus["scrape_configs"] = [job for job in prometheus["scrape_configs"] if job["job_name"] in where]
        for job in prometheus["scrape_configs"]:
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{where[job['job_name']]}"]
        routing = yaml.safe_load(files["alertmanager/alertmanager.yml"].content)
        routing["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
        text = yaml.safe_dump(routing, sort_keys=False).replace(
            host_bundle.ALERTMANAGER_SECRETS, str(self.dirs.secrets / "alertmanager")
        )
        for path, content in (
            ("caddy/Caddyfile", caddyfile),
            ("prometheus/prometheus.yml", yaml.safe_dump(prometheus, sort_keys=False)),
            ("alertmanager/alertmanager.yml", text),
        ):
            tuned[path] = BundleFile(path, content, files[path].mode)
        return tuned

    def publish(self, stack_config: StackConfig) -> dict[str, BundleFile]:
        """What `pulumi up` does: the objects, then the manifest (and the location), in the stub's S3 and SSM."""
        files = self.tune(bundle_for(stack_config, STACK, SecretSource.SSM))
        for file in files.values():
            self.stubs.put_object(BUCKET, f"bundle/{file.path}", file.content)
        manifest = bundle_manifest(stack_config, list(files.values()))
        parameters = self.stubs.parameters()
        if parameters.get(f"/llmscale/{STACK}/bundle", {}).get("value") != manifest:
            self.stubs.put_parameter(f"/llmscale/{STACK}/bundle", manifest, "String")
        if f"/llmscale/{STACK}/bundle-location" not in parameters:
            self.stubs.put_parameter(f"/llmscale/{STACK}/bundle-location", f"s3://{BUCKET}/bundle", "String")
        return files

    def sync(self) -> Any:
        """One run of llmscale-sync, as the timer starts it."""
        env = {
            **self.stubs.env(),
            "HF_ENDPOINT": self.hub_url,
            "LLMSCALE_SITE_NAME": "127.0.0.1",
            "LLMSCALE_RETRY_DELAY": "0",
            "LLMSCALE_RETRY_ATTEMPTS": "2",
        }
        return run([sys.executable, str(self.sync_script)], env=env, timeout=120)

    # -- the containers, as processes --

    def start_gateway(self) -> None:
        site = (self.dirs.install / "caddy" / "site.env").read_text().strip().split("=", 1)
        caddy_env = {
            "HOME": str(self.dirs.root),
            "XDG_DATA_HOME": str(self.dirs.root / "data"),
            "XDG_CONFIG_HOME": str(self.dirs.root / "config"),
            site[0]: site[1],
        }
        meter_env = {
            "METER_UPSTREAM": f"127.0.0.1:{self.ports['vllm']}",
            "METER_LISTEN": f"127.0.0.1:{self.ports['meter']}",
            "METER_METRICS_LISTEN": f"127.0.0.1:{self.ports['metrics']}",
        }
        meter = [sys.executable, str(self.dirs.install / "usage-meter" / "usage-meter.py")]
        caddyfile = self.dirs.install / "caddy" / "Caddyfile"
        caddy = [binary("caddy", "caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        self.stack.enter_context(running(meter, self.dirs.root / "meter.log", meter_env))
        self.caddy = self.stack.enter_context(running(caddy, self.dirs.root / "caddy.log", caddy_env))
        wait_for(lambda: port_open(self.ports["meter"]) and port_open(self.ports["https"]), "caddy and the meter")
        wait_for(lambda: serves_tls(self.ports["https"]), "caddy to serve TLS")

    def start_monitoring(self) -> None:
        alertmanager = [
            binary("prometheus-alertmanager", "prometheus-alertmanager"),
            f"--config.file={self.dirs.install / 'alertmanager' / 'alertmanager.yml'}",
            f"--storage.path={self.dirs.root / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{self.ports['am']}",
            "--cluster.listen-address=",
        ]
        prometheus = [
            binary("prometheus", "prometheus"),
            f"--config.file={self.dirs.install / 'prometheus' / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dirs.root / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}",
        ]
        am = self.stack.enter_context(running(alertmanager, self.dirs.root / "alertmanager.log"))
        self.prometheus = self.stack.enter_context(running(prometheus, self.dirs.root / "prometheus.log"))
        self.stubs.pid("alertmanager", am.process.pid)
        self.stubs.pid("prometheus", self.prometheus.process.pid)
        wait_for(lambda: port_open(self.ports["am"]) and port_open(self.ports["prometheus"]), "the monitoring")

    # -- asking them --

    def call(self, key: str) -> int:
        """GET /v1/models by IP with `Bearer KEY`: the status."""
        import ssl

        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the chain is test_host_live's
        connection = http.client.HTTPSConnection("127.0.0.1", self.ports["https"], context=context, timeout=10)
        with contextlib.closing(connection):
            connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {key}"})
            response = connection.getresponse()
            response.read()
            return response.status

    def alertmanager_config(self) -> str:
        url = f"http://127.0.0.1:{self.ports['am']}/api/v2/status"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)["config"]["original"]

    def rules(self) -> dict[str, str]:
        url = f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/rules"
        with urllib.request.urlopen(url, timeout=10) as response:
            groups = json.load(response)["data"]["groups"]
        return {
            rule["name"]: rule["query"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"
        }


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    dirs = HostDirs(tmp_path / "host")
    dirs.root.mkdir()
    point_at(monkeypatch, dirs)
    stubs = make_stubs(tmp_path / "stubs")
    stubs.put_parameter(f"/llmscale/{STACK}/api-keys", json.dumps(OLD_KEYS))
    with contextlib.ExitStack() as stack:
        vllm = FakeVllm()
        receiver = Receiver()
        ports = {name: free_port() for name in ("https", "http", "meter", "metrics", "prometheus", "am")}
        ports["vllm"] = stack.enter_context(serve(FakeVllmHandler, vllm)).server_port
        ports["dcgm"] = stack.enter_context(serve(FakeExporterHandler)).server_port
        slack = stack.enter_context(serve(ReceiverHandler, receiver))
        hub_state = FakeHub(models={MODEL: False})
        hub = stack.enter_context(serve(FakeHubHandler, hub_state))
        stubs.put_parameter(f"/llmscale/{STACK}/slack-webhook-url", f"http://127.0.0.1:{slack.server_port}/hook")
        yield Harness(dirs, stubs, f"http://127.0.0.1:{hub.server_port}", hub_state, ports, vllm, receiver, stack)


def docker_actions(stubs: Stubs) -> list[list[str]]:
    """What start.sh asked docker compose to do, beyond looking (`ps`)."""
    return [call for call in stubs.docker_calls() if call[0] != "ps"]


def downloads(stubs: Stubs) -> list[str]:
    return sorted(call[call.index("--key") + 1] for call in stubs.aws_calls() if call[:2] == ["s3api", "get-object"])


# --- the first run ---------------------------------------------------------------------------------------


def test_first_sync_installs_the_bundle_and_starts_every_service(harness: Harness) -> None:
    files = harness.publish(config())
    result = harness.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    for path, file in files.items():
        installed = harness.dirs.install / path
        assert installed.read_text(encoding="utf-8") == file.content, path
        assert installed.stat().st_mode & 0o777 == file.mode, path
    assert downloads(harness.stubs) == sorted(f"bundle/{path}" for path in files)
    actions = docker_actions(harness.stubs)
    assert actions[0][0] == "pull"  # a new compose file: images first
    (up,) = [a for a in actions if a[:2] == ["up", "-d"]]
    assert {"vllm", "caddy", "usage-meter", "prometheus", "alertmanager", "grafana"} <= set(up)
    assert len(actions) == 2  # fresh containers read their configuration: nothing to reload
    # Nothing changed: the next run only looks.
    harness.stubs.clear_calls()
    assert harness.sync().returncode == 0
    assert harness.stubs.docker_calls() == []
    assert [call[:2] for call in harness.stubs.aws_calls()] == [["ssm", "get-parameters"]] * 2


# --- a rotated key ---------------------------------------------------------------------------------------


def test_a_rotated_key_is_applied_by_the_update_path(harness: Harness) -> None:
    harness.publish(config())
    assert harness.sync().returncode == 0
    harness.start_gateway()
    assert harness.call(OLD_KEYS["team-a"]) == 200
    assert harness.call(NEW_KEYS["team-a"]) == 401
    # `pulumi up` with the new keys: the SecureString parameter gets a new value and version.
    harness.stubs.put_parameter(f"/llmscale/{STACK}/api-keys", json.dumps(NEW_KEYS))
    harness.stubs.clear_calls()
    asked = len(harness.hub.seen_tokens)
    started = time.monotonic()
    result = harness.sync()
    applied = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert harness.call(OLD_KEYS["team-a"]) == 401  # revoked
    assert harness.call(NEW_KEYS["team-a"]) == 200
    assert harness.call(NEW_KEYS["team-b"]) == 200
    # Exactly Caddy was reloaded: no download, no image pull, no other service touched.
    assert docker_actions(harness.stubs) == [
        ["up", "-d", "--remove-orphans", *up_services(harness)],
        ["exec", "-T", "caddy", "caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
    ]
    assert downloads(harness.stubs) == []
    assert len(harness.hub.seen_tokens) == asked  # vLLM keeps running: the Hub is not asked
    # The timer runs every SYNC_INTERVAL_SECONDS; with the run itself, the old key works for under a minute.
    assert host_bundle.SYNC_INTERVAL_SECONDS + applied < 60
    assert "teamAoldkey" not in harness.caddy.output()


def up_services(harness: Harness) -> list[str]:
    [up] = [call for call in harness.stubs.docker_calls() if call[:2] == ["up", "-d"]]
    return up[3:]


# --- a new threshold -------------------------------------------------------------------------------------


def test_a_threshold_change_reloads_prometheus_and_grafana_only(harness: Harness) -> None:
    harness.publish(config(max_error_rate=0.001))
    assert harness.sync().returncode == 0
    harness.start_monitoring()
    wait_for(lambda: "> 0.001" in harness.rules().get("LlmscaleErrorRateHigh", ""), "the rules to load")
    harness.stubs.clear_calls()
    harness.publish(config(max_error_rate=0.002))
    result = harness.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    # The rule and the dashboard's SLO line changed; nothing else was downloaded.
    assert downloads(harness.stubs) == [
        "bundle/grafana/dashboards/llmscale.json",
        "bundle/prometheus/rules/llmscale.yml",
    ]
    actions = [a for a in docker_actions(harness.stubs) if a[0] != "up"]
    assert actions == [["kill", "-s", "SIGHUP", "prometheus"], ["restart", "grafana"]]
    wait_for(lambda: "> 0.002" in harness.rules().get("LlmscaleErrorRateHigh", ""), "Prometheus to reload its rules")


def test_a_new_receiver_reloads_alertmanager_only(harness: Harness) -> None:
    harness.publish(config())
    assert harness.sync().returncode == 0
    harness.start_monitoring()
    assert "pagerduty_configs" not in harness.alertmanager_config()
    harness.stubs.put_parameter(f"/llmscale/{STACK}/pagerduty-routing-key", "routingkey0123456789abcdef012345")
    harness.stubs.clear_calls()
    harness.publish(config(pagerduty=True))
    result = harness.sync()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [a for a in docker_actions(harness.stubs) if a[0] != "up"] == [["kill", "-s", "SIGHUP", "alertmanager"]]
    wait_for(lambda: "pagerduty_configs" in harness.alertmanager_config(), "Alertmanager to reload its routing")
    key = harness.dirs.secrets / "alertmanager" / "pagerduty_routing_key"
    assert key.read_text().strip() == "routingkey0123456789abcdef012345"


# --- alerts reach someone --------------------------------------------------------------------------------


def test_an_alert_reaches_the_slack_receiver(harness: Harness) -> None:
    harness.publish(config())
    assert harness.sync().returncode == 0
    secret = harness.dirs.secrets / "alertmanager" / "slack_webhook_url"
    assert secret.read_text().strip().startswith("http://127.0.0.1:")
    harness.start_monitoring()
    posts = wait_for(lambda: harness.receiver.posts, "Alertmanager to post to the Slack webhook", timeout=40)
    (attachment,) = posts[0]["attachments"]
    assert attachment["title"] == "GPU 0 reported XID error 79"
    assert "may need a reset" in attachment["text"]


# --- failures --------------------------------------------------------------------------------------------


def test_a_failed_apply_is_retried_later_or_when_something_changes(harness: Harness) -> None:
    harness.publish(config())
    harness.stubs.put_parameter(f"/llmscale/{STACK}/api-keys", "short")  # not a valid key: start.sh fails
    result = harness.sync()
    assert result.returncode == 1
    assert "api-keys: every key must be 16-512 characters" in result.stderr
    assert "trying again in 300 s" in result.stderr
    harness.stubs.clear_calls()
    assert harness.sync().returncode == 0  # the same state failed a moment ago: wait
    assert harness.stubs.docker_calls() == []
    harness.stubs.put_parameter(f"/llmscale/{STACK}/api-keys", json.dumps(OLD_KEYS))  # fixed: try at once
    result = harness.sync()
    assert result.returncode == 0, result.stderr
    assert any(call[:2] == ["up", "-d"] for call in harness.stubs.docker_calls())


def test_files_that_do_not_match_the_manifest_are_not_installed(harness: Harness) -> None:
    files = harness.publish(config())
    harness.stubs.put_object(BUCKET, "bundle/caddy/Caddyfile", "# a newer upload than the manifest\n")
    result = harness.sync()
    assert result.returncode == 1
    assert "caddy/Caddyfile: S3 holds other content than the manifest says" in result.stderr
    assert not (harness.dirs.install / "caddy" / "Caddyfile").exists()
    assert harness.stubs.docker_calls() == []
    harness.stubs.put_object(BUCKET, "bundle/caddy/Caddyfile", files["caddy/Caddyfile"].content)
    assert harness.sync().returncode == 0


def test_a_file_dropped_from_the_bundle_is_removed(harness: Harness) -> None:
    harness.publish(config())
    assert harness.sync().returncode == 0
    stray = harness.dirs.install / "README.txt"
    assert stray.exists()
    manifest = json.loads(harness.stubs.parameters()[f"/llmscale/{STACK}/bundle"]["value"])
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "README.txt"]
    harness.stubs.put_parameter(f"/llmscale/{STACK}/bundle", json.dumps(manifest), "String")
    result = harness.sync()
    assert not stray.exists()
    assert result.returncode == 0, result.stderr
    assert "README.txt (removed)" in result.stderr
