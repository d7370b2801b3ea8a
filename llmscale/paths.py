"""Where things are: the templates llmscale ships, and the stacks directory a command works on.

Installed from a wheel, the templates live inside the package (`llmscale/templates/`, mapped from the
checkout's top-level `templates/` at build time); run from a checkout they are read in place. Stack names
never resolve into the package: they resolve against the project the user works in (the nearest directory at
or above the working directory that holds Pulumi.yaml, else the working directory) or an explicit
`--stacks-dir`.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_ROOT = PACKAGE_DIR.parent
"""The directory holding the `llmscale` package: the checkout when run from one (site-packages when installed)."""

STACKS_DIR_NAME = "stacks"
PROJECT_FILE = "Pulumi.yaml"

# Pulumi's own rule for stack names (letters, digits, '-', '_' and '.'), at most 100 characters.
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def templates_dir() -> Path:
    """The jinja2 templates: inside the installed package, else the checkout's `templates/`."""
    packaged = PACKAGE_DIR / "templates"
    return packaged if packaged.is_dir() else PACKAGE_ROOT / "templates"


TEMPLATES = templates_dir()


def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: the working directory) holding Pulumi.yaml.

    Without one, `start` itself: a user's directory, never the directory llmscale is installed in.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / PROJECT_FILE).is_file():
            return directory
    return here


def stacks_project(directory: Path) -> Path:
    """The Pulumi project a directory of stack files belongs to, which relative paths in its stacks are read from.

    The nearest directory at or above it holding Pulumi.yaml; without one, the parent of a `stacks/` directory
    (where `llmscale new` writes the project files around it), else the directory itself.
    """
    here = directory.resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    return here.parent if here.name == STACKS_DIR_NAME else here


def program_project() -> Path:
    """The project directory of the running Pulumi program: where its Pulumi.yaml is.

    The engine passes it to the Python program (pulumi/pulumi v3.260.0
    sdk/python/cmd/pulumi-language-python-exec: `--root_directory`, "the project root directory, location of
    Pulumi.yaml", read back by `pulumi.get_root_directory()`); `llmscale plan` sets the same under its mocks.
    Without it (an older engine), the project around the working directory, which is the project directory
    unless Pulumi.yaml's `main` moves the program (pkg/engine/project.go `getPwdMain`).
    """
    import pulumi

    root = pulumi.get_root_directory()
    if root and Path(root).is_absolute():
        return Path(root)
    return project_root()


def stacks_dir(explicit: Path | None = None) -> Path:
    """The directory stack names resolve against: `explicit` (`--stacks-dir`), else the project's `stacks/`."""
    return explicit if explicit is not None else project_root() / STACKS_DIR_NAME


class StackRefError(ValueError):
    """A STACK argument that is neither a stack name nor a stack file path; the message is one line."""


def is_stack_path(ref: str) -> bool:
    """True when a STACK argument names a file (a path separator or a YAML suffix) rather than a stack."""
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def stack_file(ref: str, stacks: Path | None = None) -> Path:
    """The stack file a STACK argument means: a path as given, or `<stacks dir>/Pulumi.<name>.yaml`.

    Raises StackRefError for an argument that is neither (an empty string, spaces, characters Pulumi does not
    allow in stack names). Whether the file exists is the loader's question.
    """
    if is_stack_path(ref):
        return Path(ref)
    if not STACK_NAME.match(ref):
        raise StackRefError(
            "is neither a stack file path nor a stack name (letters, digits, '-', '_' and '.', at most 100)"
        )
    return stacks_dir(stacks) / f"Pulumi.{ref}.yaml"
