"""Tests for `llmscale render` on a Kubernetes stack: one valid manifest file per object, no secret data in
any file, a Helm script per cluster that parses and refuses another cluster's kube context, a note on the
secrets to create per cluster, steps in an order that works, and no silent overwrite.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from llmscale import versions
from llmscale.k8s.schema import validate_object
from llmscale.plan.render import HELM_RELEASE, clusters, kubernetes_objects

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
def document(example_plans: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return example_plans[STACK]


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
    # Secrets are created from SECRETS.txt, not applied from files (an applied Secret without data would empty
    # the one created with the data).
    wanted = [o for o in objects if o["kind"] != "Secret"]
    assert len(files) == len(wanted)
    written = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in map(load, files)]
    assert len(set(written)) == len(written)
    expected = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in wanted}
    assert set(written) == expected
    kinds = {kind for kind, _, _ in written}
    assert {"Namespace", "Deployment", "Service", "ScaledObject", "HTTPRoute", "SecurityPolicy"} <= kinds
    assert "Secret" not in kinds
    # No Helm release or provider is written as a manifest.
    assert all("apiVersion" in load(path) for path in files)


def test_namespace_comes_first(rendered: Path) -> None:
    first = load(manifest_files(rendered)[0])
    assert first["kind"] == "Namespace"
    assert first["metadata"]["name"] == "llm"


def test_every_written_manifest_validates(rendered: Path) -> None:
    errors = {path.name: validate_object(load(path)) for path in manifest_files(rendered)}
    assert {name: problems for name, problems in errors.items() if problems} == {}


def test_no_file_holds_secret_data(rendered: Path, objects: list[dict[str, Any]]) -> None:
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"} >= SECRETS
    assert not [path for path in manifest_files(rendered) if load(path)["kind"] == "Secret"]
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
    assert text.count('--kube-context "$context"') == len(releases)


def test_secrets_note_names_both_secrets(rendered: Path) -> None:
    note = (rendered / "SECRETS.txt").read_text(encoding="utf-8")
    for name in SECRETS:
        assert f"--context onprem-gpu -n llm create secret generic {name}" in note
    assert "kube context onprem-gpu" in note.splitlines()[0]


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


def test_steps_come_in_an_order_that_works(first_run: Result, rendered: Path) -> None:
    steps = (rendered / "STEPS.txt").read_text(encoding="utf-8")
    assert steps.rstrip("\n") in first_run.stderr
    order = [steps.index(part) for part in ("addons.sh", "00-namespace-llm.yaml", "SECRETS.txt", "apply -f .")]
    assert order == sorted(order), steps


def test_crds_an_addon_needs_at_start_are_applied_before_any_chart(rendered: Path) -> None:
    """Envoy Gateway, configured to route to InferencePools, fails to start without that CRD."""
    text = (rendered / "addons.sh").read_text(encoding="utf-8")
    crds = sorted(path.name for path in rendered.glob("*-customresourcedefinition-*.yaml"))
    assert {load(rendered / name)["spec"]["names"]["kind"] for name in crds} == {"InferencePool", "InferenceObjective"}
    first_chart = text.index("helm upgrade --install")
    for name in crds:
        assert text.index(f'apply --server-side -f "$here/{name}"') < first_chart


def test_charts_are_installed_after_the_releases_they_depend_on(rendered: Path, releases: list[dict[str, Any]]) -> None:
    text = (rendered / "addons.sh").read_text(encoding="utf-8")
    at = {r["name"]: text.index(f"helm upgrade --install {r['inputs']['name']} ") for r in releases}
    ordered = [(r["name"], d) for r in releases for d in r["dependsOn"] if d in at]
    assert ("onprem-addons-ai-gateway", "onprem-addons-envoy-gateway") in ordered
    for release, dependency in ordered:
        assert at[dependency] < at[release], (release, dependency)


# --- the addons script's kube context guard ----------------------------------------------------------------


def fake_tools(directory: Path, cluster: str, current: str = "current") -> Path:
    """`kubectl` that answers the context questions with `cluster`, and `helm` that logs its arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    kubectl = directory / "kubectl"
    kubectl.write_text(
        f'#!/usr/bin/env bash\nif [ "$2" = current-context ]; then echo {current}; else echo {cluster}; fi\n',
        encoding="utf-8",
    )
    helm = directory / "helm"
    helm.write_text(f'#!/usr/bin/env bash\necho "$@" >> {directory}/helm.log\ncat > /dev/null\n', encoding="utf-8")
    for tool in (kubectl, helm):
        tool.chmod(0o755)
    return directory


def run_script(script: Path, tools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, check=False, env=environment, timeout=30
    )


def test_addons_refuse_another_context_and_pin_the_right_one(rendered: Path, tmp_path: Path) -> None:
    script = rendered / "addons.sh"
    tools = fake_tools(tmp_path / "tools", cluster="whatever")
    refused = run_script(script, tools, "other-context")
    assert refused.returncode == 2
    assert "onprem-gpu" in refused.stderr
    assert not (tools / "helm.log").exists()
    accepted = run_script(script, tools)  # the stack's own context is the default
    assert accepted.returncode == 0, accepted.stderr
    calls = (tools / "helm.log").read_text(encoding="utf-8").splitlines()
    assert calls and all("--kube-context onprem-gpu" in call for call in calls)


# --- two clusters: the enterprise example with its warm standby region -------------------------------------


@pytest.fixture(scope="module")
def two_clusters(
    tmp_path_factory: pytest.TempPathFactory, example_plans: Mapping[str, dict[str, Any]]
) -> tuple[Path, Result, dict[str, Any]]:
    out = tmp_path_factory.mktemp("render-enterprise") / "out"
    result = invoke("render", "enterprise", "--out", str(out))
    assert result.exit_code == 0, result.stdout + result.stderr
    return out, result, example_plans["enterprise"]


def test_each_cluster_gets_its_own_folder(two_clusters: tuple[Path, Result, dict[str, Any]]) -> None:
    out, _, document = two_clusters
    assert sorted(p.name for p in out.iterdir()) == ["STEPS.txt", "primary", "standby"]
    found = clusters(document)
    assert [(c.site, c.eks_name, c.region) for c in found] == [
        ("primary", "enterprise", "eu-west-1"),
        ("standby", "enterprise-standby", "eu-central-1"),
    ]
    for cluster in found:
        folder = out / cluster.site
        files = manifest_files(folder)
        expected = [o for o in kubernetes_objects(document, cluster.provider) if o["kind"] != "Secret"]
        assert len(files) == len(expected)
        assert load(files[0])["kind"] == "Namespace"
        sites = {
            (load(path)["metadata"].get("labels") or {}).get("llmscale.io/site")
            for path in files
            if load(path)["kind"] == "Deployment"
        }
        assert sites == {cluster.site}
        assert {"addons.sh", "SECRETS.txt"} <= {p.name for p in folder.iterdir()}


def test_each_addons_script_installs_its_own_cluster(
    two_clusters: tuple[Path, Result, dict[str, Any]], tmp_path: Path
) -> None:
    out, _, document = two_clusters
    primary = (out / "primary" / "addons.sh").read_text(encoding="utf-8")
    standby = (out / "standby" / "addons.sh").read_text(encoding="utf-8")
    assert "clusterName: enterprise\n" in primary and "awsRegion: eu-west-1" in primary
    assert "clusterName: enterprise-standby" in standby and "awsRegion: eu-central-1" in standby
    assert "enterprise-standby" not in primary
    per_cluster = [r for r in document["resources"] if r["type"] == HELM_RELEASE]
    assert primary.count("helm upgrade --install") + standby.count("helm upgrade --install") == len(per_cluster)

    standby_arn = "arn:aws:eks:eu-central-1:123456789012:cluster/enterprise-standby"
    tools = fake_tools(tmp_path / "tools", cluster=standby_arn)
    refused = run_script(out / "primary" / "addons.sh", tools, "some-context")
    assert refused.returncode == 2
    assert "not EKS cluster enterprise in eu-west-1" in refused.stderr
    assert "aws eks update-kubeconfig --region eu-west-1 --name enterprise" in refused.stderr
    assert not (tools / "helm.log").exists()
    accepted = run_script(out / "standby" / "addons.sh", tools, "standby-ctx")
    assert accepted.returncode == 0, accepted.stderr
    calls = (tools / "helm.log").read_text(encoding="utf-8").splitlines()
    assert len(calls) == standby.count("helm upgrade --install")
    assert all("--kube-context standby-ctx" in call for call in calls)


def test_each_cluster_has_its_own_secrets_note(two_clusters: tuple[Path, Result, dict[str, Any]]) -> None:
    out, _, _ = two_clusters
    for site, context in (("primary", "enterprise"), ("standby", "enterprise-standby")):
        note = (out / site / "SECRETS.txt").read_text(encoding="utf-8")
        assert note.startswith(f"Secrets of the {site} cluster")
        commands = [line for line in note.splitlines() if line.startswith("kubectl ")]
        assert len(commands) == len(set(commands)) == 2
        assert all(line.startswith(f"kubectl --context {context} -n llmscale create secret") for line in commands)


def test_two_cluster_steps_go_namespaces_secrets_then_the_rest(
    two_clusters: tuple[Path, Result, dict[str, Any]],
) -> None:
    out, result, _ = two_clusters
    steps = (out / "STEPS.txt").read_text(encoding="utf-8")
    assert steps.rstrip("\n") in result.stderr
    for site in ("primary", "standby"):
        section = steps[steps.index(f"{site} cluster") :]
        marks = [
            section.index(f"{site}/addons.sh"),
            section.index(f"{site}/00-namespace-"),
            section.index(f"{site}/SECRETS.txt"),
            section.index(f"apply -f {site}/ "),
        ]
        assert marks == sorted(marks)
    assert steps.index("primary cluster") < steps.index("standby cluster")


def test_out_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep\n", encoding="utf-8")
    result = invoke("render", STACK, "--out", str(target))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["--out: is a file, not a directory: name a directory to write into"]
    assert target.read_text(encoding="utf-8") == "keep\n"
