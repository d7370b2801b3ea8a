"""Fixtures shared by the test files: the example stacks' offline plans, each run once per test session.

With pytest-xdist a session is one worker, so a stack is planned at most once per worker, whichever files the
worker runs (tests/helpers.py `example_run`, `example_plan`). The plans are shared: a test that changes one must
change a deep copy; the session fails at teardown if a shared plan was changed in place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from llmscale.plan.runner import PlanResult
from tests.helpers import ExampleStacks, changed_example_plans, example_plan, example_run


@pytest.fixture(scope="session", autouse=True)
def _shared_plans_stay_unchanged() -> Iterator[None]:
    yield
    changed = changed_example_plans()
    assert not changed, f"a test changed the shared plan of {', '.join(changed)} in place; copy it first"


@pytest.fixture(scope="session")
def example_runs() -> Mapping[str, PlanResult]:
    """Every example stack's offline plan run (`run_program` of the project's program), by stack name."""
    return ExampleStacks(example_run)


@pytest.fixture(scope="session")
def example_plans() -> Mapping[str, dict[str, Any]]:
    """Every example stack's plan document (`plan_document` of its run), by stack name; read-only: copy to change."""
    return ExampleStacks(example_plan)
