"""Plan documents as the diff reads them: validated, loaded from files, referred to by URN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmscale.plan.diff.model import PlanFileError, ResourceRef
from llmscale.plan.report import PLAN_FORMAT_VERSION


def validate_plan(document: Any, label: str) -> dict[str, Any]:
    """Check that `document` is an llmscale plan this version can read; raise PlanFileError naming `label`."""
    if not isinstance(document, dict):
        raise PlanFileError(f"{label}: not an llmscale plan (expected a JSON object from `llmscale plan --json`)")
    if "formatVersion" not in document:
        raise PlanFileError(f"{label}: not an llmscale plan (no formatVersion; write it with `llmscale plan --json`)")
    version = document["formatVersion"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PlanFileError(f"{label}: formatVersion must be a positive integer")
    if version > PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{label}: plan format {version} is newer than this llmscale reads ({PLAN_FORMAT_VERSION}); "
            "upgrade llmscale"
        )
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise PlanFileError(f"{label}: `resources` must be a list")
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict) or not all(isinstance(resource.get(k), str) for k in ("urn", "type", "name")):
            raise PlanFileError(f"{label}: resources[{index}] must have string urn, type and name")
        if not isinstance(resource.get("inputs", {}), dict):
            raise PlanFileError(f"{label}: resources[{index}].inputs must be an object")
        dependencies = resource.get("propertyDependencies", {})
        if not isinstance(dependencies, dict) or not all(isinstance(v, list) for v in dependencies.values()):
            raise PlanFileError(f"{label}: resources[{index}].propertyDependencies must map inputs to URN lists")
    for key, kind in (
        ("outputs", dict),
        ("counts", dict),
        ("violations", list),
        ("schemaErrors", list),
        ("providerConfig", dict),
    ):
        if key in document and not isinstance(document[key], kind):
            raise PlanFileError(f"{label}: `{key}` must be {'an object' if kind is dict else 'a list'}")
    return document


def load_plan(path: str | Path) -> dict[str, Any]:
    """Read and validate a plan file written by `llmscale plan --json`; raise PlanFileError with a clear reason."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise PlanFileError(f"{label}: is a directory, not a plan file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFileError(f"{label}: cannot be read ({error.__class__.__name__})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(
            f"{label}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    return validate_plan(document, label)


def _ref(resource: dict[str, Any]) -> ResourceRef:
    return ResourceRef(
        urn=resource["urn"],
        type=resource["type"],
        name=resource["name"],
        parent=resource.get("parent"),
        custom=bool(resource.get("custom", True)),
    )
