"""The Pulumi project `llmscale new` writes around its stacks when the directory has none."""

from __future__ import annotations

import sys
from pathlib import Path

from llmscale import __version__
from llmscale.paths import PROJECT_FILE


def project_files(project_dir: Path, stacks_dir: Path) -> dict[Path, str]:
    """Pulumi.yaml, the program's entry point and the policy pack, for a directory that has no Pulumi project.

    The project runs the llmscale that wrote it: the Python environment it is installed in becomes the
    project's virtualenv (or `.venv` with a requirements file when llmscale runs outside one).
    """
    in_venv = sys.prefix != sys.base_prefix
    virtualenv = sys.prefix if in_venv else ".venv"
    try:
        stacks = stacks_dir.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        stacks = str(stacks_dir.resolve())
    values = {
        "version": __version__,
        "virtualenv": virtualenv,
        "in_venv": in_venv,
        "stacks_dir": stacks,
    }
    from llmscale.config.scaffold_template import template_environment

    environment = template_environment()
    files = {
        project_dir / PROJECT_FILE: environment.get_template("Pulumi.yaml.j2").render(values),
        project_dir / "__main__.py": environment.get_template("__main__.py.j2").render(values),
        project_dir / "policies" / "PulumiPolicy.yaml": environment.get_template("PulumiPolicy.yaml.j2").render(
            {**values, "virtualenv": virtualenv if in_venv else "../.venv"}
        ),
        project_dir / "policies" / "__main__.py": environment.get_template("policy_pack.py.j2").render(values),
    }
    if not in_venv:
        files[project_dir / "requirements.txt"] = environment.get_template("requirements.txt.j2").render(values)
    return files
