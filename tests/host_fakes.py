"""What the single host's live tests run against: loopback servers, stub `aws` and `docker` commands, and the
rendered bundle installed in a temporary directory.

Every server listens on a free loopback port, answers with timeouts, and is stopped by the fixture or test
that started it. The stubs are small Python programs put first on PATH: `aws` answers from files (SSM
parameters, S3 objects) and can be told to fail; `docker` records each call and turns the few the update
path makes into real actions on the processes a test started (`caddy reload`, a SIGHUP).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import llmscale.host.bundle as host_bundle
from llmscale.config.models import StackConfig
from llmscale.host.bundle import BundleFile, SecretSource, render_bundle

SERVER_TIMEOUT = 10.0  # seconds a fake server waits on one request before giving up on it
WAIT = 20.0  # seconds a test waits for a server to come up or for something to happen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` until it returns something true; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (OSError, ValueError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def serves_tls(port: int) -> bool:
    """Whether a TLS handshake on the loopback port completes. Caddy listens before it has loaded or issued the
    site's certificate; until then a handshake gets `tlsv1 alert internal error` (a real client retries)."""
    import ssl

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw):
            return True
    except (ssl.SSLError, OSError):
        return False


# --- in-process HTTP servers -----------------------------------------------------------------------------


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and gives up on a silent client after SERVER_TIMEOUT."""

    protocol_version = "HTTP/1.1"
    timeout = SERVER_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler], state: Any = None) -> Iterator[ThreadingHTTPServer]:
    """A threaded server on a free loopback port for the duration of the block; `server.state` is `state`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class FakeVllm:
    """What the fake vLLM does and saw: health, the requests it served, the streams a client abandoned."""

    healthy: bool = True
    requests: list[dict[str, Any]] = field(default_factory=list)
    abandoned: list[float] = field(default_factory=list)
    stream_events: int = 3
    event_interval: float = 0.0
    # Set: the stream pauses after its first event until the event is set (a client that sees the first token
    # while the rest is still being generated proves nothing in between buffers the stream).
    hold_after_first: threading.Event | None = None


class FakeVllmHandler(QuietHandler):
    """An OpenAI-compatible server shaped like vLLM's: /health, /metrics, /v1/models, /v1/chat/completions."""

    def record(self, body: bytes) -> None:
        state: FakeVllm = self.server.state  # type: ignore[attr-defined]
        state.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})

    def do_GET(self) -> None:
        state: FakeVllm = self.server.state  # type: ignore[attr-defined]
        self.record(b"")
        if self.path == "/health":
            # vLLM's health endpoint: 200 with an empty body, 503 with an empty body when the engine is dead.
            self.send_response(200 if state.healthy else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/metrics":
            text = b'vllm:num_requests_running{model_name="chat",engine="0"} 0.0\n'
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        elif self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "chat", "object": "model"}]})
        else:
            self.send_json(404, {"detail": "Not Found"})

    def client_left(self, seconds: float) -> bool:
        """Wait up to `seconds` as vLLM does while it generates, watching for the client to go away."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                return True
        return False

    def do_POST(self) -> None:
        state: FakeVllm = self.server.state  # type: ignore[attr-defined]
        body = self.body()
        self.record(body)
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            self.send_json(404, {"detail": "Not Found"})
            return
        request = json.loads(body or b"{}")
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if request.get("generate_seconds") and self.client_left(float(request["generate_seconds"])):
            state.abandoned.append(time.monotonic())
            self.close_connection = True
            return
        if not request.get("stream"):
            self.send_json(200, {"id": "chatcmpl-1", "object": "chat.completion", "choices": [], "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        include = (request.get("stream_options") or {}).get("include_usage")
        events = [{"choices": [{"delta": {"content": f"t{i}"}}]} for i in range(state.stream_events)]
        if include:
            events.append({"choices": [], "usage": usage})
        try:
            for index, event in enumerate(events):
                data = f"data: {json.dumps(event)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                if index == 0 and state.hold_after_first is not None:
                    state.hold_after_first.wait(timeout=30)
                time.sleep(state.event_interval)
            done = b"data: [DONE]\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
        except OSError:
            state.abandoned.append(time.monotonic())
            self.close_connection = True


@dataclass
class FakeHub:
    """The Hugging Face Hub as llmscale's check sees it: which token is valid, which models exist or are gated."""

    token: str = "hf_validTokenForTheTests0123456789"
    models: dict[str, str | bool] = field(default_factory=dict)  # id -> gated ("manual", "auto" or False)
    granted: set[str] = field(default_factory=set)  # gated models the valid token may read
    seen_tokens: list[str | None] = field(default_factory=list)


class FakeHubHandler(QuietHandler):
    def token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header else None

    def do_GET(self) -> None:
        hub: FakeHub = self.server.state  # type: ignore[attr-defined]
        token = self.token()
        hub.seen_tokens.append(token)
        if self.path == "/api/whoami-v2":
            if token == hub.token:
                self.send_json(200, {"type": "user", "name": "tester"})
            else:
                self.send_json(401, {"error": "Invalid credentials in Authorization header"})
            return
        model = self.path.removeprefix("/api/models/")
        if self.path.startswith("/api/models/") and model in hub.models:
            self.send_json(200, {"id": model, "gated": hub.models[model], "siblings": [{"rfilename": "config.json"}]})
            return
        self.send_json(404, {"error": "Repository not found"})

    def do_HEAD(self) -> None:
        hub: FakeHub = self.server.state  # type: ignore[attr-defined]
        token = self.token()
        hub.seen_tokens.append(token)
        model = self.path.split("/resolve/", 1)[0].lstrip("/")
        if model not in hub.models:
            status = 404
        elif hub.models[model] and not (token == hub.token and model in hub.granted):
            status = 403 if token == hub.token else 401
        else:
            status = 302  # to the CDN
        self.send_response(status)
        self.send_header("Content-Length", "0")
        if status == 302:
            self.send_header("Location", "https://cdn.example/file")
        self.end_headers()


@dataclass
class Receiver:
    """A Slack incoming webhook on loopback: the JSON documents Alertmanager posted."""

    posts: list[dict[str, Any]] = field(default_factory=list)


class ReceiverHandler(QuietHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.state  # type: ignore[attr-defined]
        receiver.posts.append(json.loads(self.body() or b"{}"))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class FakeExporterHandler(QuietHandler):
    """dcgm-exporter with one GPU that reported an XID error."""

    def do_GET(self) -> None:
        text = (
            b'DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-test",hostname="host",modelName="NVIDIA L40S"} 79\n'
            b'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-test",hostname="host",modelName="NVIDIA L40S"} 60\n'
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


# --- processes -------------------------------------------------------------------------------------------


@dataclass
class Process:
    """A server process a test started, with its output in a file."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextlib.contextmanager
def running(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Process]:
    """Run a server for the duration of the block; stopped (SIGTERM, then SIGKILL) when it ends."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
        )
    handle = Process(process, log)
    try:
        yield handle
    finally:
        handle.stop()


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A command that must finish within `timeout` seconds."""
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, **(env or {})}
    )


# --- the bundle on disk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostDirs:
    """Where a test installs the bundle: the install, secrets and model directories, and llmscale-sync's state."""

    root: Path

    @property
    def install(self) -> Path:
        return self.root / "opt"

    @property
    def secrets(self) -> Path:
        return self.install / "secrets"

    @property
    def models(self) -> Path:
        return self.install / "models"

    @property
    def sync_state(self) -> Path:
        return self.root / "sync-state"


def point_at(monkeypatch: pytest.MonkeyPatch, dirs: HostDirs) -> None:
    """Render the bundle (and the bootstrap) with its paths inside `dirs`."""
    monkeypatch.setattr(host_bundle, "INSTALL_DIR", str(dirs.install))
    monkeypatch.setattr(host_bundle, "SECRETS_DIR", str(dirs.secrets))
    monkeypatch.setattr(host_bundle, "MODEL_DIR", str(dirs.models))
    monkeypatch.setattr(host_bundle, "SYNC_STATE_DIR", str(dirs.sync_state))


def bundle_for(config: StackConfig, stack: str, source: SecretSource) -> dict[str, BundleFile]:
    return {f.path: f for f in render_bundle(config, stack, secret_source=source, region="eu-west-1")}


def install(dirs: HostDirs, files: dict[str, BundleFile]) -> None:
    """Write the bundle as `llmscale render` would: every file with its mode."""
    for file in files.values():
        target = dirs.install / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.content, encoding="utf-8")
        target.chmod(file.mode)


def tune_caddyfile(text: str, *, https_port: int, http_port: int, admin: Path, meter_port: int) -> str:
    """The production Caddyfile on loopback ports: listen ports, admin socket and the meter's address."""
    production_admin = "\tadmin unix//run/caddy-admin.sock\n"
    assert text.count(production_admin) == 1 and text.count("usage-meter:8001") == 2
    text = text.replace(production_admin, f"\tadmin unix/{admin}\n\thttps_port {https_port}\n\thttp_port {http_port}\n")
    return text.replace("usage-meter:8001", f"127.0.0.1:{meter_port}")


# --- stub commands ---------------------------------------------------------------------------------------

AWS_STUB = r'''
"""A stand-in for the AWS CLI: SSM parameters and S3 objects from files, failures on demand."""
import json, os, shutil, sys
state = os.environ["LLMSCALE_TEST_AWS"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\n")
def option(name, many=False):
    index = args.index(name)
    if not many:
        return args[index + 1]
    values = []
    for value in args[index + 1:]:
        if value.startswith("--"):
            break
        values.append(value)
    return values
def parameters():
    with open(os.path.join(state, "ssm.json")) as handle:
        return json.load(handle)
def failing(name):
    path = os.path.join(state, "fail.json")
    plan = json.load(open(path)) if os.path.exists(path) else {}
    mode = plan.get(name)
    if mode is None:
        return None
    if isinstance(mode, int):
        if mode <= 0:
            return None
        plan[name] = mode - 1
        json.dump(plan, open(path, "w"))
        return "error"
    return mode
if args[:2] == ["ssm", "get-parameter"]:
    name = option("--name")
    how = failing(name)
    if how == "error":
        sys.stderr.write("Could not connect to the endpoint URL: https://ssm.eu-west-1.amazonaws.com/\n")
        sys.exit(255)
    if how == "empty":
        sys.exit(0)
    known = parameters()
    if name not in known:
        sys.stderr.write("An error occurred (ParameterNotFound) when calling the GetParameter operation\n")
        sys.exit(254)
    if "--query" in args and option("--query") == "Parameter.Value" and option("--output") == "text":
        print(known[name]["value"])
    else:
        entry = known[name]
        print(json.dumps({"Parameter": {"Name": name, "Value": entry["value"], "Version": entry["version"]}}))
    sys.exit(0)
if args[:2] == ["ssm", "get-parameters"]:
    known, names = parameters(), option("--names", many=True)
    found = []
    for name in names:
        if name in known:
            entry = known[name]
            # Without --with-decryption SSM returns a SecureString's ciphertext, never its value.
            value = entry["value"] if entry.get("type") != "SecureString" else "AQICAHg-ciphertext-not-the-value"
            kind = entry.get("type", "String")
            found.append({"Name": name, "Type": kind, "Value": value, "Version": entry["version"]})
    print(json.dumps({"Parameters": found, "InvalidParameters": [n for n in names if n not in known]}))
    sys.exit(0)
if args[:2] == ["s3api", "get-object"]:
    bucket, key = option("--bucket"), option("--key")
    rest, positional = args[2:], []
    while rest:
        if rest[0].startswith("--"):
            rest = rest[2:]
        else:
            positional.append(rest.pop(0))
    (target,) = positional
    source = os.path.join(state, "s3", bucket, key)
    if not os.path.exists(source):
        sys.stderr.write("An error occurred (NoSuchKey) when calling the GetObject operation\n")
        sys.exit(254)
    shutil.copyfile(source, target)
    print(json.dumps({"ContentLength": os.path.getsize(source)}))
    sys.exit(0)
sys.stderr.write("aws stub: unsupported call %r\n" % (args,))
sys.exit(2)
'''

DOCKER_STUB = r'''
"""A stand-in for `docker compose`: records every call; `caddy reload` and SIGHUP reach the test's processes."""
import json, os, signal, subprocess, sys
state = os.environ["LLMSCALE_TEST_DOCKER"]
args = sys.argv[1:]
assert args[0] == "compose" and args[1] == "-f", args
install = os.path.dirname(args[2])
command = args[3:]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(json.dumps(command) + "\n")
ids = os.path.join(state, "ids")
os.makedirs(ids, exist_ok=True)
if command[0] == "pull":
    sys.exit(0)
if command[:2] == ["up", "-d"]:
    for service in command[2:]:
        if not service.startswith("-") and not os.path.exists(os.path.join(ids, service)):
            open(os.path.join(ids, service), "w").write(service + "-container-1\n")
    sys.exit(0)
if command[:2] == ["ps", "-q"]:
    path = os.path.join(ids, command[2])
    if os.path.exists(path):
        sys.stdout.write(open(path).read())
    sys.exit(0)
if command[:3] == ["exec", "-T", "caddy"]:
    inner = [part.replace("/etc/caddy/", os.path.join(install, "caddy") + "/") for part in command[3:]]
    env = dict(os.environ)
    site = os.path.join(install, "caddy", "site.env")
    if os.path.exists(site):
        for line in open(site):
            name, _, value = line.strip().partition("=")
            env[name] = value
    sys.exit(subprocess.run(inner, env=env, timeout=30).returncode)
if command[:3] == ["kill", "-s", "SIGHUP"]:
    pid = os.path.join(state, "pids", command[3])
    if os.path.exists(pid):
        os.kill(int(open(pid).read()), signal.SIGHUP)
    sys.exit(0)
if command[0] == "restart":
    sys.exit(0)
sys.stderr.write("docker stub: unsupported call %r\n" % (command,))
sys.exit(2)
'''


@dataclass
class Stubs:
    """The stub commands' directories: `bin` (first on PATH), and the state each stub reads and records."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def aws(self) -> Path:
        return self.root / "aws"

    @property
    def docker(self) -> Path:
        return self.root / "docker"

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "LLMSCALE_TEST_AWS": str(self.aws),
            "LLMSCALE_TEST_DOCKER": str(self.docker),
        }

    def set_parameters(self, parameters: dict[str, dict[str, Any]]) -> None:
        (self.aws / "ssm.json").write_text(json.dumps(parameters), encoding="utf-8")

    def parameters(self) -> dict[str, dict[str, Any]]:
        return json.loads((self.aws / "ssm.json").read_text(encoding="utf-8"))

    def put_parameter(self, name: str, value: str, kind: str = "SecureString") -> None:
        """Create or overwrite a parameter as PutParameter does: the version goes up by one."""
        parameters = self.parameters()
        version = parameters.get(name, {}).get("version", 0) + 1
        parameters[name] = {"value": value, "version": version, "type": kind}
        self.set_parameters(parameters)

    def fail(self, name: str, how: int | str) -> None:
        """Make `ssm get-parameter` of `name` fail `how` times (an int), or answer empty ("empty")."""
        (self.aws / "fail.json").write_text(json.dumps({name: how}), encoding="utf-8")

    def put_object(self, bucket: str, key: str, content: str) -> None:
        target = self.aws / "s3" / bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    def aws_calls(self) -> list[list[str]]:
        path = self.aws / "calls.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def docker_calls(self) -> list[list[str]]:
        path = self.docker / "calls.log"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def clear_calls(self) -> None:
        for path in (self.aws / "calls.log", self.docker / "calls.log"):
            path.unlink(missing_ok=True)

    def pid(self, service: str, pid: int) -> None:
        (self.docker / "pids").mkdir(exist_ok=True)
        (self.docker / "pids" / service).write_text(str(pid), encoding="utf-8")


def make_stubs(root: Path) -> Stubs:
    stubs = Stubs(root)
    for directory in (stubs.bin, stubs.aws, stubs.docker):
        directory.mkdir(parents=True, exist_ok=True)
    for name, source in (("aws", AWS_STUB), ("docker", DOCKER_STUB)):
        path = stubs.bin / name
        path.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
        path.chmod(0o755)
    stubs.set_parameters({})
    return stubs
