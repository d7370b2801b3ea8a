"""llmscale installed from its wheel (not the checkout), run from another directory: new, plan, render work.

The session builds the wheel once from a copy of the checkout, installs it into a fresh virtual environment,
and runs the installed `llmscale` command in an empty directory. The environment borrows the test
environment's third-party packages through a path entry (a `.pth` line), which Python adds without running
the `.pth` files found there, so the checkout's editable install stays out of reach: every llmscale module,
template and schema must come from the wheel. `.ci/run` also installs the wheel with its real dependencies in
a fresh environment and runs the command tests against it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = [pytest.mark.wheel, pytest.mark.slow]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once from a copy of the checkout (the build leaves its files in the copy)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "build", "dist", "*.egg-info", ".hypothesis"),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(root), "."],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (found,) = root.glob("llmscale-*.whl")
    return found


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its bin directory."""
    environment = tmp_path_factory.mktemp("installed") / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    python = environment / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Third-party packages from the test environment, as a plain path entry (its .pth files are not run).
    (Path(site) / "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return environment / "bin"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "customer-work"
    directory.mkdir()
    return directory


def llmscale(installed: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed / "llmscale"), *args], cwd=workdir, capture_output=True, text=True, check=False, timeout=300
    )


def test_the_wheel_holds_every_module_template_and_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("llmscale", "components"):
        for path in (REPO / package).rglob("*.py"):
            assert path.relative_to(REPO).as_posix() in names, path
    for path in (REPO / "templates").rglob("*.j2"):
        assert f"llmscale/templates/{path.relative_to(REPO / 'templates').as_posix()}" in names, path
    for path in (REPO / "llmscale" / "schemas").rglob("*"):
        if path.is_file():
            assert path.relative_to(REPO).as_posix() in names, path


def test_the_installed_package_is_the_wheels(installed: Path, workdir: Path) -> None:
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import llmscale, llmscale.paths as p; print(llmscale.__file__, p.TEMPLATES)",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    environment = installed.parent.resolve()
    assert all(Path(path).resolve().is_relative_to(environment) for path in where), where
    assert where[1].endswith("llmscale/templates")
    version = llmscale(installed, workdir, "--version")
    assert version.returncode == 0 and version.stdout.startswith("llmscale ")


def test_new_plan_and_render_from_another_directory(installed: Path, workdir: Path) -> None:
    cluster = llmscale(
        installed, workdir, "new", "acme", "--tier", "multi-gpu", "--platform", "kubernetes", "--users", "60",
        "--model", MODEL, "--kube-context", "acme-gpu",
    )  # fmt: skip
    assert cluster.returncode == 0, cluster.stderr
    assert (workdir / "stacks" / "Pulumi.acme.yaml").is_file()
    assert (workdir / "Pulumi.yaml").is_file() and (workdir / "policies" / "__main__.py").is_file()
    assert not list(installed.parent.rglob("Pulumi.acme.yaml")), "a stack file landed inside the environment"

    plan = llmscale(installed, workdir, "plan", "acme", "--json")
    assert plan.returncode == 0, plan.stderr
    document = json.loads(plan.stdout)
    assert document["violations"] == [] and document["schemaErrors"] == []

    rendered = llmscale(installed, workdir, "render", "acme", "--out", "manifests")
    assert rendered.returncode == 0, rendered.stderr
    assert (workdir / "manifests" / "addons.sh").is_file() and (workdir / "manifests" / "STEPS.txt").is_file()


def test_the_single_host_templates_are_installed(installed: Path, workdir: Path) -> None:
    host = llmscale(
        installed, workdir, "new", "pilot", "--tier", "single-gpu", "--platform", "aws", "--region", "eu-west-1",
        "--users", "10", "--model", MODEL, "--allowed-cidr", "203.0.113.0/24",
    )  # fmt: skip
    assert host.returncode == 0, host.stderr
    plan = llmscale(installed, workdir, "plan", "pilot")
    assert plan.returncode == 0, plan.stderr
    bundle = llmscale(installed, workdir, "render", "pilot", "--out", "bundle")
    assert bundle.returncode == 0, bundle.stderr
    assert "services:" in (workdir / "bundle" / "docker-compose.yml").read_text(encoding="utf-8")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    by_dir = llmscale(installed, elsewhere, "validate", "pilot", "--stacks-dir", str(workdir / "stacks"))
    assert by_dir.returncode == 0, by_dir.stderr
