"""Package discovery for setuptools (everything else is in pyproject.toml).

`templates/` stays at the top of the checkout, next to the Pulumi program, and ships in the wheel as
`llmscale.templates`, so an installed llmscale finds its jinja2 templates (see llmscale/paths.py).
"""

from setuptools import find_namespace_packages, setup

# Namespace packages too: llmscale/policy has no __init__.py.
PACKAGES = find_namespace_packages(include=["llmscale", "llmscale.*", "components", "components.*"])

setup(
    packages=[*PACKAGES, "llmscale.templates"],
    package_dir={"llmscale.templates": "templates"},
)
