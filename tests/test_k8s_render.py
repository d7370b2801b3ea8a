"""Tests for `llmscale render` on a Kubernetes stack: one valid manifest file per object, no secret data in
any file, a Helm script that parses, a note on the secrets to create, and no silent overwrite.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from llmscale import versions
from llmscale.config.loader import load_stack
from llmscale.k8s.render import HELM_RELEASE, kubernetes_objects
from llmscale.k8s_schema import validate_object
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.program import main as program

STACK = "onprem"
SECRETS = {"hf-token", "llmscale-api-keys"}


def invoke(*args: str) -> Result:
    from llmscale.cli import app

    return CliRunner().invoke(app, list(args))


def manifest_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def load(path: Path) -> dict[str, Any]:
    (document,) = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    return document


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render") / "manifests"


@pytest.fixture(scope="module")
def first_run(out: Path) -> Result:
    return invoke("render", STACK, "--out", str(out))


@pytest.fixture(scope="module")
def rendered(first_run: Result, out: Path) -> Path:
    assert first_run.exit_code == 0, first_run.stdout + first_run.stderr
    return out


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return plan_document(run_program(load_stack(STACK), program))


@pytest.fixture(scope="module")
def objects(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The Kubernetes objects of the stack's plan, which the files must hold."""
    return kubernetes_objects(document)


@pytest.fixture(scope="module")
def releases(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == HELM_RELEASE]


def test_render_exits_zero(first_run: Result) -> None:
    assert first_run.exit_code == 0, first_run.stdout + first_run.stderr
    assert first_run.exception is None or isinstance(first_run.exception, SystemExit)
    assert "Traceback" not in first_run.stdout + first_run.stderr


def test_one_yaml_file_per_object(rendered: Path, objects: list[dict[str, Any]]) -> None:
    files = manifest_files(rendered)
    assert len(files) == len(objects)
    written = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in map(load, files)]
    assert len(set(written)) == len(written)
    expected = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    assert set(written) == expected
    kinds = {kind for kind, _, _ in written}
    assert {"Namespace", "Deployment", "Service", "ScaledObject", "HTTPRoute", "SecurityPolicy", "Secret"} <= kinds
    # No Helm release or provider is written as a manifest.
    assert all("apiVersion" in load(path) for path in files)


def test_namespace_comes_first(rendered: Path) -> None:
    first = load(manifest_files(rendered)[0])
    assert first["kind"] == "Namespace"
    assert first["metadata"]["name"] == "llm"


def test_every_written_manifest_validates(rendered: Path) -> None:
    errors = {path.name: validate_object(load(path)) for path in manifest_files(rendered)}
    assert {name: problems for name, problems in errors.items() if problems} == {}


def test_secret_files_hold_no_data(rendered: Path) -> None:
    secrets = [load(path) for path in manifest_files(rendered) if load(path)["kind"] == "Secret"]
    assert {s["metadata"]["name"] for s in secrets} >= SECRETS
    for secret in secrets:
        assert "stringData" not in secret
        assert "data" not in secret
    for path in rendered.rglob("*"):
        if path.is_file():
            assert "[secret]" not in path.read_text(encoding="utf-8"), path.name


def test_addons_script_parses_and_pins_versions(rendered: Path, releases: list[dict[str, Any]]) -> None:
    script = rendered / "addons.sh"
    assert script.is_file()
    assert script.stat().st_mode & stat.S_IXUSR
    bash = shutil.which("bash")
    assert bash is not None
    check = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    text = script.read_text(encoding="utf-8")
    for chart in (versions.NVIDIA_DEVICE_PLUGIN_CHART, versions.KEDA_CHART, versions.ENVOY_GATEWAY_CHART):
        assert f"{chart.chart}" in text
        assert f"--version {chart.version}" in text
    for release in releases:
        inputs = release["inputs"]
        assert f"helm upgrade --install {inputs['name']} {inputs['chart']}" in text
        assert f"--version {inputs['version']}" in text
    assert text.count("helm upgrade --install") == len(releases)


def test_secrets_note_names_both_secrets(rendered: Path) -> None:
    note = (rendered / "SECRETS.txt").read_text(encoding="utf-8")
    for name in SECRETS:
        assert f"-n llm create secret generic {name}" in note


def test_second_run_without_force_exits_2(rendered: Path) -> None:
    before = {path.name: path.read_text(encoding="utf-8") for path in rendered.iterdir()}
    second = invoke("render", STACK, "--out", str(rendered))
    assert second.exit_code == 2
    assert "--force" in second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert {path.name: path.read_text(encoding="utf-8") for path in rendered.iterdir()} == before
    forced = invoke("render", STACK, "--out", str(rendered), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert {path.name: path.read_text(encoding="utf-8") for path in rendered.iterdir()} == before
