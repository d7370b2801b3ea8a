"""Helpers shared by several test files."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from llmscale.plan.runner import PlanResult
from llmscale.policy.model import Inventory

REPO = Path(__file__).resolve().parent.parent
"""The directory holding tests/ and the example stacks/: the checkout, or its copy next to an installed wheel."""
STACKS = REPO / "stacks"
"""The example stacks, one Pulumi.NAME.yaml each."""
EXAMPLE_STACKS = tuple(
    sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in STACKS.glob("Pulumi.*.yaml"))
)
"""Every example stack's name."""


def example_config(stack: str) -> dict[str, Any]:
    """A fresh copy of an example stack's `config:` mapping, to change and write with `write_stack`."""
    return yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]


def write_stack(directory: Path, name: str, config: dict[str, Any]) -> Path:
    """Write `config` as the `config:` mapping of the stack file `directory/Pulumi.NAME.yaml`; its path."""
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


def write_variant(
    directory: Path, example: str, change: Callable[[dict[str, Any]], Any], name: str | None = None
) -> Path:
    """Write an example stack with `change` applied to its config as `directory/Pulumi.NAME.yaml` (NAME defaults
    to the example's name); its path."""
    config = example_config(example)
    change(config)
    return write_stack(directory, name or example, config)


def strings(value: Any) -> list[str]:
    """Every string anywhere in a JSON-like value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def edit(
    inventory: Inventory, name: str, change: Callable[[dict[str, Any]], Any], kind: str | None = None
) -> Inventory:
    """A copy of the inventory in which exactly one record (by name, and type if given) has changed props."""
    records, hits = [], 0
    for record in inventory.records:
        if record.name == name and (kind is None or record.type == kind):
            props = copy.deepcopy(record.props)
            change(props)
            record = replace(record, props=props)
            hits += 1
        records.append(record)
    assert hits == 1, f"{hits} records named {name}"
    return Inventory.of(records)


# --- the example stacks' plans, run once per process ---------------------------------------------------------


@functools.cache
def example_run(stack: str) -> PlanResult:
    """An example stack's offline plan run (the project's program under the recording mocks), run once per process.

    Shared by every test that asks: read it, never change it.
    """
    from llmscale.config.loader import load_stack
    from llmscale.plan.runner import run_program
    from llmscale.program import main as program

    if stack not in EXAMPLE_STACKS:
        raise KeyError(f"{stack}: not an example stack (stacks/ has {', '.join(EXAMPLE_STACKS)})")
    return run_program(load_stack(stack), program)


_PLANS: dict[str, dict[str, Any]] = {}
_SNAPSHOTS: dict[str, str] = {}


def _snapshot(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, default=repr)


def example_plan(stack: str) -> dict[str, Any]:
    """An example stack's plan document (`plan_document` of `example_run`), built once per process.

    Shared by every test that asks: copy it (`copy.deepcopy`) before changing it; `changed_example_plans` tells
    which shared plans a test changed in place.
    """
    if stack not in _PLANS:
        from llmscale.plan.report import plan_document

        _PLANS[stack] = plan_document(example_run(stack))
        _SNAPSHOTS[stack] = _snapshot(_PLANS[stack])
    return _PLANS[stack]


def changed_example_plans() -> list[str]:
    """The example stacks whose shared plan document is no longer as it was built."""
    return [stack for stack, document in _PLANS.items() if _snapshot(document) != _SNAPSHOTS[stack]]


class ExampleStacks(Mapping[str, Any]):
    """A read-only mapping from example stack name to `get(stack)`, for session fixtures."""

    def __init__(self, get: Callable[[str], Any]) -> None:
        self._get = get

    def __getitem__(self, stack: str) -> Any:
        return self._get(stack)

    def __iter__(self) -> Iterator[str]:
        return iter(EXAMPLE_STACKS)

    def __len__(self) -> int:
        return len(EXAMPLE_STACKS)
