"""Tests for the example plans the test files share (tests/helpers.py, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tests.helpers import EXAMPLE_STACKS, changed_example_plans, example_plan

HOST = "single-gpu-host"  # the smallest plan: one settings record


def test_every_example_stack_is_offered_and_planned_once(example_plans: Mapping[str, dict[str, Any]]) -> None:
    assert list(example_plans) == list(EXAMPLE_STACKS) and len(example_plans) == len(EXAMPLE_STACKS)
    assert example_plans[HOST] is example_plan(HOST)
    assert example_plans[HOST]["stack"] == HOST
    with pytest.raises(KeyError, match="not an example stack"):
        example_plans["no-such-stack"]


def test_a_plan_changed_in_place_is_found() -> None:
    document = example_plan(HOST)
    assert HOST not in changed_example_plans()
    document["planted"] = True
    try:
        assert HOST in changed_example_plans()
    finally:
        del document["planted"]
    assert HOST not in changed_example_plans()
