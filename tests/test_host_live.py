"""The single host's gateway, live: the rendered Caddyfile run by Debian's `caddy`, the rendered usage meter,
and a fake vLLM on loopback.

Checked over real TLS: 401/200 by key, by name and by IP; `Bearer` in any case; health with vLLM healthy,
dead and unreachable (never an empty 200); OpenAI-shaped JSON errors; streaming that flows as it is generated;
a client that leaves aborting the generation; an access-log line per request naming the client and never the
key; per-client request and token counters.

Only ports and the admin socket differ from the production files (`tune_caddyfile`); the processes are
stopped by the fixtures that start them.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import shutil
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmscale.config.loader import load_stack
from llmscale.host.bundle import SecretSource
from llmscale.monitoring import client_usage
from tests.host_fakes import (
    FakeVllm,
    FakeVllmHandler,
    HostDirs,
    Process,
    bundle_for,
    free_port,
    install,
    point_at,
    port_open,
    run,
    running,
    serve,
    serves_tls,
    tune_caddyfile,
    wait_for,
)

DOMAIN = "llm.corp.example.com"  # the single-gpu-host example stack's domain
KEYS = {"team-a": "teamAkey-0123456789abcdef", "team-b": "teamB.~+/=_-key0123456789"}
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "Hello"}]}


def caddy_binary() -> str:
    found = shutil.which("caddy")
    assert found, "caddy is missing: install Debian's `caddy` package (scripts/test.sh does)"
    return found


@dataclass
class Gateway:
    """A running Caddy and usage meter in front of a fake vLLM."""

    https_port: int
    metrics_port: int
    root_ca: Path
    vllm: FakeVllm
    caddy: Process
    meter: Process
    caddyfile: Path
    meter_script: Path

    def context(self, verify_name: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.root_ca))
        context.check_hostname = verify_name
        return context

    def request(
        self,
        method: str,
        path: str,
        *,
        name: str | None = DOMAIN,
        key: str | None = None,
        scheme: str = "Bearer",
        body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request over TLS; `name` is the server name and Host (None: by IP, no server name at all)."""
        response, connection = self.open(method, path, name=name, key=key, scheme=scheme, body=body)
        with contextlib.closing(connection):
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def open(
        self,
        method: str,
        path: str,
        *,
        name: str | None = DOMAIN,
        key: str | None = None,
        scheme: str = "Bearer",
        body: dict[str, Any] | None = None,
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPSConnection]:
        """A request sent and its response's head read; the body is the caller's to read."""
        connection = self.send(method, path, name=name, key=key, scheme=scheme, body=body)
        return connection.getresponse(), connection

    def send(
        self,
        method: str,
        path: str,
        *,
        name: str | None = DOMAIN,
        key: str | None = None,
        scheme: str = "Bearer",
        body: dict[str, Any] | None = None,
    ) -> http.client.HTTPSConnection:
        """A request sent, nothing read yet."""
        gateway = self

        class Connection(http.client.HTTPSConnection):
            def connect(self) -> None:
                raw = socket.create_connection(("127.0.0.1", gateway.https_port), timeout=10)
                self.sock = gateway.context(name is not None).wrap_socket(raw, server_hostname=name)

        connection = Connection("127.0.0.1", self.https_port, timeout=10)
        headers = {"Host": name or f"127.0.0.1:{self.https_port}"}
        if key is not None:
            headers["Authorization"] = f"{scheme} {key}"
        payload = json.dumps(body).encode() if body is not None else None
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        return connection

    def counters(self) -> dict[str, float]:
        """The usage meter's samples by their text (`name{labels}`)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.metrics_port, timeout=10)
        with contextlib.closing(connection):
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                samples[series] = float(value)
        return samples

    def adapted(self) -> dict[str, Any]:
        """The running Caddyfile as Caddy itself reads it (`caddy adapt`): its JSON configuration."""
        done = run([caddy_binary(), "adapt", "--config", str(self.caddyfile), "--adapter", "caddyfile"])
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def meter_constant(self, name: str) -> Any:
        """A constant of the rendered usage meter, read from the script the test runs."""
        spec = importlib.util.spec_from_file_location("rendered_usage_meter", self.meter_script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, name)

    def access_log(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.caddy.output().splitlines() if line.startswith("{")]
        return [line for line in lines if str(line.get("logger", "")).startswith("http.log.access")]


@contextlib.contextmanager
def gateway_on(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
    site_name: str | None = None,
    upstream_port: int | None = None,
) -> Iterator[Gateway]:
    """The stack's bundle installed under `root`, its API keys written, Caddy and the meter running.

    `upstream_port`: where the meter looks for vLLM instead of the fake one (a closed port: vLLM is down)."""
    dirs = HostDirs(root)
    point_at(monkeypatch, dirs)
    loaded = load_stack(stack)
    source = SecretSource.FILES if loaded.config.platform == "host" else SecretSource.SSM
    install(dirs, bundle_for(loaded.config, stack, source))
    dirs.secrets.mkdir(parents=True)
    (dirs.secrets / "api-keys").write_text(json.dumps(KEYS), encoding="utf-8")
    rendered = run([sys.executable, str(dirs.install / "bin" / "render-api-keys.py")])
    assert rendered.returncode == 0, rendered.stderr
    https_port, http_port, meter_port, metrics_port = (free_port() for _ in range(4))
    caddyfile = dirs.install / "caddy" / "Caddyfile"
    caddyfile.write_text(
        tune_caddyfile(
            caddyfile.read_text(encoding="utf-8"),
            https_port=https_port,
            http_port=http_port,
            admin=root / "caddy-admin.sock",
            meter_port=meter_port,
        ),
        encoding="utf-8",
    )
    caddy_env = {"HOME": str(root), "XDG_DATA_HOME": str(root / "data"), "XDG_CONFIG_HOME": str(root / "config")}
    if site_name is not None:
        caddy_env["LLMSCALE_SITE_NAME"] = site_name
    state = FakeVllm()
    with serve(FakeVllmHandler, state) as vllm:
        meter_env = {
            "METER_UPSTREAM": f"127.0.0.1:{upstream_port or vllm.server_port}",
            "METER_LISTEN": f"127.0.0.1:{meter_port}",
            "METER_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
            "METER_TIMEOUT_SECONDS": "30",
        }
        meter_script = dirs.install / "usage-meter" / "usage-meter.py"
        meter_command = [sys.executable, str(meter_script)]
        caddy_command = [caddy_binary(), "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        with (
            running(meter_command, root / "meter.log", meter_env) as meter,
            running(caddy_command, root / "caddy.log", caddy_env) as caddy,
        ):
            root_ca = root / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            wait_for(lambda: port_open(meter_port) and port_open(metrics_port), "the usage meter")
            wait_for(lambda: port_open(https_port) and root_ca.exists(), f"caddy:\n{caddy.output()}")
            wait_for(lambda: serves_tls(https_port), f"caddy to serve TLS:\n{caddy.output()}")
            yield Gateway(https_port, metrics_port, root_ca, state, caddy, meter, caddyfile, meter_script)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The on-prem example stack (domain llm.corp.example.com, Caddy's internal CA)."""
    root = tmp_path_factory.mktemp("gateway")
    with pytest.MonkeyPatch.context() as monkeypatch, gateway_on(root, monkeypatch, "single-gpu-host") as running:
        yield running


@pytest.fixture
def vllm(gateway: Gateway) -> Iterator[FakeVllm]:
    """The fake vLLM, healthy and with an empty request log, put back the same way after the test."""
    state = gateway.vllm
    state.healthy, state.stream_events, state.event_interval = True, 3, 0.0
    state.requests.clear()
    state.abandoned.clear()
    yield state
    state.healthy = True


# --- the API-key check -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [DOMAIN, None], ids=["by-name", "by-ip"])
def test_a_key_is_needed_by_name_and_by_ip(gateway: Gateway, vllm: FakeVllm, name: str | None) -> None:
    for key in (None, "not-a-key-0123456789", KEYS["team-a"] + "x"):
        status, headers, body = gateway.request("GET", "/v1/models", name=name, key=key)
        assert status == 401
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body)["error"] == {
            "message": "missing or invalid API key",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    assert vllm.requests == []  # nothing unauthenticated reaches vLLM
    status, _, body = gateway.request("GET", "/v1/models", name=name, key=KEYS["team-a"])
    assert status == 200
    assert json.loads(body)["data"][0]["id"] == "chat"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(gateway: Gateway, vllm: FakeVllm, scheme: str) -> None:
    status, _, _ = gateway.request("GET", "/v1/models", key=KEYS["team-b"], scheme=scheme)
    assert status == 200
    status, _, _ = gateway.request("GET", "/v1/models", key=KEYS["team-b"], scheme="Basic")
    assert status == 401


def meter_lines(gateway: Gateway) -> list[dict[str, Any]]:
    """The usage meter's log: one JSON line per request (client, path, status, tokens)."""
    lines = [json.loads(line) for line in gateway.meter.output().splitlines() if line.startswith("{")]
    return [line for line in lines if "status" in line]


def test_the_key_stops_at_the_gateway_and_the_meter_knows_the_client(gateway: Gateway, vllm: FakeVllm) -> None:
    before = len(meter_lines(gateway))
    status, _, _ = gateway.request("POST", "/v1/chat/completions", key=KEYS["team-b"], body=CHAT)
    assert status == 200
    (request,) = vllm.requests
    headers = {k.lower() for k in request["headers"]}
    assert "authorization" not in headers and "x-llmscale-client" not in headers
    assert json.loads(request["body"]) == CHAT
    line = wait_for(lambda: meter_lines(gateway)[before:], "the meter's log line")[0]
    assert (line["client"], line["path"], line["status"]) == ("team-b", "/v1/chat/completions", 200)
    assert (line["prompt_tokens"], line["completion_tokens"]) == (11, 7)


def test_a_client_cannot_claim_another_name(gateway: Gateway, vllm: FakeVllm) -> None:
    before = len(meter_lines(gateway))
    connection = http.client.HTTPSConnection("127.0.0.1", gateway.https_port, context=gateway.context(False))
    with contextlib.closing(connection):
        headers = {"Host": DOMAIN, "Authorization": f"Bearer {KEYS['team-a']}", "X-Llmscale-Client": "team-b"}
        connection.request("GET", "/v1/models", headers=headers)
        assert connection.getresponse().status == 200
    line = wait_for(lambda: meter_lines(gateway)[before:], "the meter's log line")[0]
    assert line["client"] == "team-a"


# --- health and errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [DOMAIN, None, "other-name.example"], ids=["by-name", "by-ip", "other-host"])
def test_health_by_name_by_ip_and_by_any_host(gateway: Gateway, vllm: FakeVllm, name: str | None) -> None:
    """By IP (an uptime probe, a load balancer) the answers are those by name: never Caddy's empty 200."""
    if name == "other-name.example":
        # A name the certificate does not cover: TLS by IP (no server name), another Host header.
        response, connection = gateway.open("GET", "/health", name=None)
        connection.close()
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.https_port, context=gateway.context(False))
        connection.request("GET", "/health", headers={"Host": name})
        status = connection.getresponse().status
        connection.close()
        assert status == 200
        vllm.healthy = False
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.https_port, context=gateway.context(False))
        connection.request("GET", "/health", headers={"Host": name})
        response = connection.getresponse()
        assert response.status == 503 and json.loads(response.read())["error"]["code"] == 503
        connection.close()
        return
    status, _, body = gateway.request("GET", "/health", name=name)
    assert (status, body) == (200, b"")  # vLLM's own healthy answer
    vllm.healthy = False
    status, headers, body = gateway.request("GET", "/health", name=name)
    assert status == 503
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == {
        "message": "the model server is unhealthy (vLLM answered 503)",
        "type": "server_error",
        "code": 503,
    }


def test_unknown_paths_are_a_json_404(gateway: Gateway, vllm: FakeVllm) -> None:
    for name in (DOMAIN, None):
        status, headers, body = gateway.request("GET", "/metrics", name=name, key=KEYS["team-a"])
        assert status == 404 and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == 404
    assert vllm.requests == []


def test_vllm_not_listening_is_a_json_503(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM not listening (starting, restarting, stopped): the meter answers 503 with a message, by IP too."""
    with gateway_on(tmp_path, monkeypatch, "single-gpu-host", upstream_port=free_port()) as gateway:
        for name in (DOMAIN, None):
            status, headers, body = gateway.request(
                "POST", "/v1/chat/completions", name=name, key=KEYS["team-a"], body=CHAT
            )
            assert status == 503
            assert headers["content-type"] == "application/json" and headers["retry-after"] == "30"
            assert json.loads(body)["error"] == {
                "message": "the model server is not accepting connections (starting, restarting or stopped)",
                "type": "server_error",
                "code": 503,
            }
            status, _, body = gateway.request("GET", "/health", name=name)
            assert status == 503 and json.loads(body)["error"]["code"] == 503


def test_meter_down_is_a_json_502(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with gateway_on(tmp_path, monkeypatch, "single-gpu-host") as gateway:
        gateway.meter.stop()
        for name in (DOMAIN, None):
            status, headers, body = gateway.request("GET", "/health", name=name)
            assert status == 502
            assert headers["content-type"] == "application/json"
            assert json.loads(body)["error"] == {
                "message": "the model gateway cannot reach the model server",
                "type": "server_error",
                "code": 502,
            }


def test_by_address_stack_answers_other_names_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS example has no domain: Caddy serves the host's address; a private name or address gets the same."""
    with gateway_on(tmp_path, monkeypatch, "single-gpu", site_name="127.0.0.1") as gateway:
        assert gateway.request("GET", "/v1/models", name=None, key=KEYS["team-a"])[0] == 200
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.https_port, context=gateway.context(False))
        with contextlib.closing(connection):
            connection.request("GET", "/health", headers={"Host": "ip-10-42-0-12.eu-west-1.compute.internal"})
            assert connection.getresponse().status == 200
        gateway.vllm.healthy = False
        connection = http.client.HTTPSConnection("127.0.0.1", gateway.https_port, context=gateway.context(False))
        with contextlib.closing(connection):
            connection.request("GET", "/health", headers={"Host": "10.42.0.12"})
            response = connection.getresponse()
            assert response.status == 503 and json.loads(response.read())["error"]["code"] == 503


# --- streaming and abandoned requests --------------------------------------------------------------------


def test_streams_flow_as_they_are_generated(gateway: Gateway, vllm: FakeVllm) -> None:
    # vLLM holds the rest of the stream until the client has its first event: if anything between them buffered
    # the stream, the first read would time out instead.
    vllm.hold_after_first = threading.Event()
    try:
        response, connection = gateway.open(
            "POST", "/v1/chat/completions", key=KEYS["team-a"], body={**CHAT, "stream": True}
        )
        with contextlib.closing(connection):
            assert connection.sock is not None
            connection.sock.settimeout(15)
            assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
            first = response.readline()
            vllm.hold_after_first.set()
            rest = response.read()
    finally:
        vllm.hold_after_first.set()
        vllm.hold_after_first = None
    assert first.startswith(b"data: ") and b"t0" in first
    assert b"t1" not in first
    assert rest.rstrip().endswith(b"data: [DONE]")


def handlers_before(routes: list[dict[str, Any]], earlier: list[dict[str, Any]]) -> Iterator[tuple[dict, list[dict]]]:
    """Each handler in `routes` (subroutes included), with the handlers that run before it on every request."""
    for route in routes:
        before = earlier
        for handler in route.get("handle", []):
            yield handler, before
            yield from handlers_before(handler.get("routes", []), before)
            before = [*before, handler]
        if "match" not in route:  # a route that runs for every request that comes this far
            earlier = before


def test_request_bodies_reach_the_meter_through_a_reader_that_keeps_its_end(gateway: Gateway) -> None:
    """Caddy hands every request body to its proxy through request_body's reader, limited as the meter is.

    Read straight from the server's body, the proxy's last read of it (the one after Content-Length) can come after
    Caddy has begun the response and closed that body; the proxy then drops its connection to the meter and the
    stream ends after its first event (the Caddyfile says where in Caddy and Go). That race is between two
    goroutines inside Caddy: no request can order it from outside, so this checks the configuration Caddy runs.
    """
    limit = gateway.meter_constant("MAX_BODY")
    (server,) = gateway.adapted()["apps"]["http"]["servers"].values()
    proxies = [(h, earlier) for h, earlier in handlers_before(server["routes"], []) if h["handler"] == "reverse_proxy"]
    assert len(proxies) == 4  # /health and /v1/, by the site's name and by any other name or address
    for _, earlier in proxies:
        assert [h for h in earlier if h["handler"] == "request_body"] == [
            {"handler": "request_body", "max_size": limit}
        ]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_a_client_that_leaves_aborts_the_generation(gateway: Gateway, vllm: FakeVllm, stream: bool) -> None:
    """vLLM stops generating when its client goes away; the meter in between must pass that on."""
    vllm.stream_events, vllm.event_interval = 100, 0.1
    body = {**CHAT, "stream": stream, **({} if stream else {"generate_seconds": 10})}
    if stream:
        response, connection = gateway.open("POST", "/v1/chat/completions", key=KEYS["team-a"], body=body)
        assert response.readline().startswith(b"data: ")
    else:
        connection = gateway.send("POST", "/v1/chat/completions", key=KEYS["team-a"], body=body)
        wait_for(lambda: vllm.requests, "the request to reach vLLM")
    connection.close()  # closes the socket: the client is gone
    # vLLM would otherwise generate for 10 s (no-stream) or 100 events (stream) for nobody.
    wait_for(lambda: vllm.abandoned, "vLLM to see its client leave", timeout=8)


def test_a_stream_cut_short_is_still_counted(gateway: Gateway, vllm: FakeVllm) -> None:
    """A stream the client leaves after its first event was answered 200: it counts, without tokens to count."""
    before, lines = gateway.counters(), len(meter_lines(gateway))

    def cut_short() -> list[dict[str, Any]]:
        # team-b: the requests team-a abandoned in the tests before may still be logged while this one runs.
        return [line for line in meter_lines(gateway)[lines:] if line["client"] == "team-b"]

    # vLLM holds the stream after its first event: the meter is waiting on vLLM when Caddy drops the request, and
    # vLLM's connection is shut under the meter's read.
    vllm.hold_after_first = threading.Event()
    try:
        response, connection = gateway.open(
            "POST", "/v1/chat/completions", key=KEYS["team-b"], body={**CHAT, "stream": True}
        )
        assert response.readline().startswith(b"data: ")
        connection.close()
        (line,) = wait_for(cut_short, "the meter's log line of the stream cut short")
    finally:
        vllm.hold_after_first.set()
        vllm.hold_after_first = None
    assert (line["method"], line["path"], line["status"]) == ("POST", "/v1/chat/completions", 200)
    after = gateway.counters()
    for series in (
        f'{client_usage.CLIENT_REQUESTS}{{client="team-b",code="200"}}',
        f'{client_usage.CLIENT_UNMETERED}{{client="team-b"}}',
    ):
        assert after.get(series, 0) - before.get(series, 0) == 1


# --- attribution: the access log and the counters --------------------------------------------------------


def test_one_access_log_line_per_request_names_the_client(gateway: Gateway, vllm: FakeVllm) -> None:
    before = len(gateway.access_log())
    for client in ("team-a", "team-b", "team-a"):
        assert gateway.request("GET", "/v1/models", key=KEYS[client])[0] == 200
    assert gateway.request("GET", "/v1/models", key="not-a-key-0123456789")[0] == 401
    lines = wait_for(lambda: (lambda log: log if len(log) >= before + 4 else None)(gateway.access_log()), "log lines")
    new = lines[before:]
    assert [(line["user_id"], line["status"], line["request"]["uri"]) for line in new] == [
        ("team-a", 200, "/v1/models"),
        ("team-b", 200, "/v1/models"),
        ("team-a", 200, "/v1/models"),
        ("", 401, "/v1/models"),
    ]
    assert all(line["request"]["headers"]["Authorization"] == [] for line in new)
    log = gateway.caddy.output() + gateway.meter.output()
    for key in KEYS.values():
        assert key not in log
    assert "not-a-key-0123456789" not in log


def test_counters_per_client_count_requests_and_tokens(gateway: Gateway, vllm: FakeVllm) -> None:
    before = gateway.counters()
    stream = {**CHAT, "stream": True}
    with_usage = {**stream, "stream_options": {"include_usage": True}}
    for key, body in (("team-a", CHAT), ("team-a", with_usage), ("team-a", stream), ("team-b", CHAT)):
        response, connection = gateway.open("POST", "/v1/chat/completions", key=KEYS[key], body=body)
        with contextlib.closing(connection):
            assert response.status == 200
            response.read()
    assert gateway.request("GET", "/v1/models", key=KEYS["team-b"])[0] == 200
    after = gateway.counters()

    def delta(series: str) -> float:
        return after.get(series, 0) - before.get(series, 0)

    requests, prompt = client_usage.CLIENT_REQUESTS, client_usage.CLIENT_PROMPT_TOKENS
    generation, unmetered = client_usage.CLIENT_GENERATION_TOKENS, client_usage.CLIENT_UNMETERED
    assert delta(f'{requests}{{client="team-a",code="200"}}') == 3
    assert delta(f'{requests}{{client="team-b",code="200"}}') == 2
    # The fake vLLM's usage block: 11 prompt, 7 completion tokens; the stream without include_usage has none.
    assert delta(f'{prompt}{{client="team-a"}}') == 22
    assert delta(f'{generation}{{client="team-a"}}') == 14
    assert delta(f'{unmetered}{{client="team-a"}}') == 1
    assert delta(f'{prompt}{{client="team-b"}}') == 11
    assert delta(f'{unmetered}{{client="team-b"}}') == 0  # GET /v1/models has no tokens to count
    names = {series.split("{", 1)[0] for series in after}
    assert names <= set(client_usage.METRICS)


def test_counters_count_rejections_by_code(gateway: Gateway, vllm: FakeVllm) -> None:
    before = gateway.counters()
    vllm.healthy = False  # health is not under /v1/: not counted
    gateway.request("GET", "/health")
    response, connection = gateway.open("POST", "/v1/nothing-here", key=KEYS["team-b"], body=CHAT)
    with contextlib.closing(connection):
        assert response.status == 404
    after = gateway.counters()
    series = f'{client_usage.CLIENT_REQUESTS}{{client="team-b",code="404"}}'
    assert after.get(series, 0) - before.get(series, 0) == 1
    assert not [s for s in after if 'client=""' in s and s not in before]
