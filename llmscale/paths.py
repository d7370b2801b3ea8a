"""Where the project's files are: the Pulumi project root, its stacks and its templates."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: the working directory) holding Pulumi.yaml.

    Falls back to the checkout llmscale itself runs from, so commands work from any directory.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return PACKAGE_ROOT


TEMPLATES = PACKAGE_ROOT / "templates"
