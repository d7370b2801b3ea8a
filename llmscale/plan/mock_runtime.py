"""Pulumi's runtime under mocks, in-process: the one place that sets it up and takes it down again.

A Pulumi program runs on an asyncio loop of its own with the runtime's settings, config and mocks set for one
project and stack. `mock_runtime` sets all of that up on a fresh loop and, however the program ends, clears the
config and gives the caller back its own event loop, so that programs can run one after another in one process
(the offline plan in `llmscale plan`, the test suite's harnesses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await


@contextmanager
def mock_runtime(
    mocks: pulumi.runtime.Mocks,
    monitor: Any,
    *,
    project: str,
    stack: str,
    preview: bool,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    root_directory: str | None = None,
) -> Iterator[None]:
    """Within the block, Pulumi's runtime answers from `mocks` through `monitor` for `project`/`stack`, with
    `config` (secret keys named), in preview mode or not, on a fresh event loop. `root_directory` is the
    project directory `pulumi.get_root_directory()` answers, as the engine passes it to a real program.

    Run a program in the block with `run_to_completion`; read its Outputs with `resolve`.
    """
    try:
        callers_loop: asyncio.AbstractEventLoop | None = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        callers_loop = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        runtime_settings.reset_options(project=project, stack=stack, preview=preview, root_directory=root_directory)
        runtime_config.set_all_config(dict(config or {}), list(secret_keys))
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
        yield
    finally:
        runtime_config.set_all_config({}, [])
        asyncio.set_event_loop(callers_loop)
        loop.close()


def run_to_completion(program: Callable[[], None]) -> None:
    """Run a Pulumi program to completion inside `mock_runtime`; its exceptions propagate."""
    _sync_await(run_pulumi_func(program))


def resolve(value: Any) -> Any:
    """An Output's value inside `mock_runtime`, or None when it is unknown (as in a preview)."""
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()) if _sync_await(output.is_known()) else None
