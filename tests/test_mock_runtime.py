"""Tests for the mock runtime the offline plan and the test harnesses run Pulumi programs in."""

from __future__ import annotations

import asyncio

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from llmscale.plan.mock_runtime import mock_runtime, resolve, run_to_completion
from llmscale.plan.recorder import RecordingMocks, RecordingMonitor


def test_a_program_runs_with_its_config_and_the_caller_gets_its_loop_back() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    seen: dict[str, object] = {}
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)

    def program() -> None:
        seen["value"] = pulumi.Config("demo").require("size")
        seen["stack"] = pulumi.get_stack()
        seen["output"] = pulumi.Output.from_input("known")

    try:
        with mock_runtime(mocks, monitor, project="demo", stack="dev", preview=True, config={"demo:size": "3"}):
            run_to_completion(program)
            assert resolve(seen["output"]) == "known"
        assert seen["value"] == "3" and seen["stack"] == "dev"
        assert asyncio.get_event_loop() is loop
        assert runtime_config.get_config("demo:size") is None
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_a_failing_program_still_restores_the_callers_loop_and_config() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = RecordingMocks()

    def program() -> None:
        raise RuntimeError("the program failed")

    try:
        with (
            pytest.raises(RuntimeError, match="the program failed"),
            mock_runtime(
                mocks, RecordingMonitor(mocks), project="demo", stack="dev", preview=True, config={"a:b": "c"}
            ),
        ):
            run_to_completion(program)
        assert asyncio.get_event_loop() is loop
        assert runtime_config.get_config("a:b") is None
    finally:
        asyncio.set_event_loop(None)
        loop.close()
