"""Helpers shared by several test files."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmscale.policy.model import Inventory

REPO = Path(__file__).resolve().parent.parent
"""The directory holding tests/ and the example stacks/: the checkout, or its copy next to an installed wheel."""


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
