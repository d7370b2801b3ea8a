"""A workload scanner over what llmscale deploys on Kubernetes: checkov, offline, over the manifests
`llmscale render` writes for every Kubernetes example stack, once per test session.

Every failed check must be one of the accepted exceptions below, on the resources it is accepted for; and
every exception must still be needed somewhere (a stale one is an error too), so the list stays exactly what
docs/security.md explains. checkov runs from its own venv (.venv/checkov, created on first use from the
`scan` extra of pyproject.toml) because its pins would downgrade llmscale's own dependencies.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from llmscale.cli import app
from llmscale.config.loader import load_stack
from llmscale.config.models import Tier
from llmscale.paths import PACKAGE_ROOT
from tests.helpers import EXAMPLE_STACKS

pytestmark = pytest.mark.slow

SECURITY_DOC = PACKAGE_ROOT / "docs" / "security.md"
CHECKOV_VENV = PACKAGE_ROOT / ".venv" / "checkov"
Manifest = dict[str, Any]


def checkov_requirement() -> str:
    """The pinned checkov of the `scan` extra, e.g. checkov==3.3.30."""
    with (PACKAGE_ROOT / "pyproject.toml").open("rb") as handle:
        [requirement] = tomllib.load(handle)["project"]["optional-dependencies"]["scan"]
    assert requirement.startswith("checkov=="), requirement
    return requirement


def checkov_executable() -> Path:
    """checkov at the pinned version: $LLMSCALE_CHECKOV, or .venv/checkov (installed there when missing)."""
    if os.environ.get("LLMSCALE_CHECKOV"):
        return Path(os.environ["LLMSCALE_CHECKOV"])
    executable = CHECKOV_VENV / "bin" / "checkov"
    wanted = checkov_requirement().removeprefix("checkov==")
    if executable.exists():
        # The installed version from the venv's metadata: `checkov --version` imports every check (seconds).
        version = "import importlib.metadata as m; print(m.version('checkov'))"
        found = subprocess.run(
            [str(CHECKOV_VENV / "bin" / "python"), "-c", version], capture_output=True, text=True, check=False
        )
        if found.stdout.strip() == wanted:
            return executable
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    subprocess.run(
        [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", checkov_requirement()], check=True
    )
    return executable


def kubernetes_example_stacks() -> list[str]:
    """The example stacks that deploy onto Kubernetes (multi-gpu and enterprise, any platform)."""
    return [name for name in EXAMPLE_STACKS if load_stack(name).config.tier in (Tier.MULTI_GPU, Tier.ENTERPRISE)]


@dataclass(frozen=True)
class Scan:
    """checkov's findings on the rendered manifests, with the manifests themselves."""

    root: Path
    stacks: list[str]
    failed: list[dict[str, Any]]
    passed: list[dict[str, Any]]
    summary: dict[str, Any]

    def manifest(self, finding: dict[str, Any]) -> Manifest:
        """The manifest a finding is about (checkov reports paths relative to the scanned directory)."""
        return _manifest(self.root / finding["file_path"].lstrip("/"))


@functools.cache
def _manifest(path: Path) -> Manifest:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    root = tmp_path_factory.mktemp("rendered")
    stacks = kubernetes_example_stacks()
    for stack in stacks:
        result = CliRunner().invoke(app, ["render", stack, "--out", str(root / stack)])
        assert result.exit_code == 0, result.stdout + result.stderr
    done = subprocess.run(
        [str(checkov_executable()), "--directory", str(root), "--framework", "kubernetes", "--skip-download",
         "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        # No update check against PyPI either: the scan runs offline.
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: failed checks, judged below
    report = json.loads(done.stdout)  # one framework: one report (a list when checkov runs several)
    assert report["check_type"] == "kubernetes"
    results = report["results"]
    return Scan(root, stacks, results["failed_checks"], results["passed_checks"], report["summary"])


# --- the accepted exceptions -------------------------------------------------------------------------------


def containers(manifest: Manifest) -> list[Manifest]:
    pod = manifest["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def is_vllm(manifest: Manifest) -> bool:
    """A vLLM Deployment as llmscale renders it."""
    return manifest["kind"] == "Deployment" and any(
        c["name"] == "vllm" for c in manifest["spec"]["template"]["spec"]["containers"]
    )


def only_cache_owner_adds_chown(manifest: Manifest) -> bool:
    """The one container that adds a capability is the hostPath cache's owner, and it adds CHOWN only."""
    adding = {c["name"]: c["securityContext"]["capabilities"].get("add") for c in containers(manifest)
              if c.get("securityContext", {}).get("capabilities", {}).get("add")}  # fmt: skip
    volumes = manifest["spec"]["template"]["spec"]["volumes"]
    return adding == {"model-cache-owner": ["CHOWN"]} and any("hostPath" in v for v in volumes)


def is_picker(manifest: Manifest) -> bool:
    """An endpoint picker Deployment of cache-aware routing."""
    return manifest["kind"] == "Deployment" and any(
        c["name"] == "epp" for c in manifest["spec"]["template"]["spec"]["containers"]
    )


def no_cpu_limit_but_cpu_requests(manifest: Manifest) -> bool:
    """vLLM (or the picker) without a CPU limit, with a CPU request and a memory limit (what the exception
    promises)."""
    [main] = [c for c in manifest["spec"]["template"]["spec"]["containers"] if c["name"] in ("vllm", "epp")]
    resources = main["resources"]
    return (
        "cpu" not in resources.get("limits", {}) and "cpu" in resources["requests"] and "memory" in resources["limits"]
    )


def pulled_if_not_present(manifest: Manifest) -> bool:
    return all(c.get("imagePullPolicy") == "IfNotPresent" for c in containers(manifest))


@dataclass(frozen=True)
class Accepted:
    """A check llmscale fails on purpose, the resources it may fail on, and why (docs/security.md has more)."""

    check: str
    applies: Callable[[Manifest], bool]
    reason: str


ACCEPTED: tuple[Accepted, ...] = (
    Accepted(
        "CKV_K8S_11",
        lambda m: (is_vllm(m) or is_picker(m)) and no_cpu_limit_but_cpu_requests(m),
        "no CPU limit on vLLM or the endpoint picker: CFS throttling of their threads shows up as latency",
    ),
    Accepted(
        "CKV_K8S_15",
        lambda m: (is_vllm(m) or is_picker(m)) and pulled_if_not_present(m),
        "IfNotPresent: pinned multi-GB images; pulling again on every start only slows cold starts",
    ),
    Accepted(
        "CKV_K8S_25",
        lambda m: is_vllm(m) and only_cache_owner_adds_chown(m),
        "the init container that chowns a hostPath model cache adds CHOWN (fsGroup skips hostPath)",
    ),
    Accepted(
        "CKV_K8S_38",
        is_picker,
        "the endpoint picker watches pods, its InferencePool and objectives through the API: it needs its token",
    ),
    # Images are pinned by tag; this one goes once digests are recorded beside the pins.
    Accepted("CKV_K8S_43", lambda m: is_vllm(m) or is_picker(m), "images pinned by tag, not yet by digest"),
)


def accepted(scan: Scan, finding: dict[str, Any]) -> Accepted | None:
    rule = next((a for a in ACCEPTED if a.check == finding["check_id"]), None)
    return rule if rule is not None and rule.applies(scan.manifest(finding)) else None


def test_every_kubernetes_example_stack_is_scanned(scan: Scan) -> None:
    assert set(scan.stacks) >= {"multi-gpu", "enterprise", "onprem"}
    assert scan.summary["parsing_errors"] == 0
    scanned = {f["file_path"].lstrip("/").split("/", 1)[0] for f in [*scan.passed, *scan.failed]}
    assert scanned == set(scan.stacks)
    deployments = {
        (f["file_path"], f["resource"]) for f in [*scan.passed, *scan.failed] if f["resource"].startswith("Deployment.")
    }
    rendered = {p for stack in scan.stacks for p in (scan.root / stack).glob("**/*-deployment-*.yaml")}
    assert len(deployments) == len(rendered) > 0


def test_no_finding_outside_the_accepted_exceptions(scan: Scan) -> None:
    unexpected = sorted(
        f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})"
        for f in scan.failed
        if accepted(scan, f) is None
    )
    assert unexpected == [], "\n".join(unexpected)


@pytest.mark.parametrize("rule", ACCEPTED, ids=lambda a: a.check)
def test_each_accepted_exception_is_still_needed(scan: Scan, rule: Accepted) -> None:
    """A check that no longer fails anywhere must leave the list (and docs/security.md)."""
    assert any(f["check_id"] == rule.check and accepted(scan, f) is rule for f in scan.failed), (
        f"{rule.check} no longer fails on the rendered manifests: remove it from ACCEPTED and docs/security.md"
    )


def test_the_hardening_checks_pass_on_every_vllm_deployment(scan: Scan) -> None:
    """The checks the pods are hardened for: high UID, no root, no privilege escalation, read-only root
    filesystem, probes, seccomp, no service account token, no NET_RAW, secrets as files, own namespace."""
    wanted = {"CKV_K8S_40", "CKV_K8S_23", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_31",
              "CKV_K8S_38", "CKV_K8S_28", "CKV_K8S_37", "CKV_K8S_16", "CKV_K8S_35", "CKV_K8S_21"}  # fmt: skip
    vllm_files = {
        f["file_path"] for f in scan.passed if f["resource"].startswith("Deployment.") and is_vllm(scan.manifest(f))
    }
    assert vllm_files
    for path in vllm_files:
        passed = {f["check_id"] for f in scan.passed if f["file_path"] == path}
        assert wanted <= passed, (path, sorted(wanted - passed))


def test_the_exceptions_are_documented(scan: Scan) -> None:
    text = SECURITY_DOC.read_text(encoding="utf-8")
    for rule in ACCEPTED:
        assert f"| `{rule.check}`" in text, rule.check
    assert "checkov" in text and checkov_requirement().removeprefix("checkov==") in text
