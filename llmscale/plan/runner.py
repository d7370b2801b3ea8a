"""The offline plan: the real Pulumi program, run in-process under recording mocks.

No CLI, no credentials and no state backend: the program sees the stack's config exactly as `pulumi preview`
would hand it over (secrets it cannot decrypt become redacted placeholders), and every resource it registers
is recorded with its inputs.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await

from llmscale.config.loader import LoadedStack
from llmscale.plan.mock_runtime import mock_runtime, run_to_completion
from llmscale.plan.recorder import RecordedInvoke, RecordedResource, RecordingMocks, RecordingMonitor

PROJECT = "llmscale"


@dataclass
class PlanResult:
    """What a program registered for a stack: resources in registration order and the invokes it made."""

    stack: LoadedStack
    resources: list[RecordedResource]
    invokes: list[RecordedInvoke]
    outputs: dict[str, Any] = field(default_factory=dict)


class _ExportRecorder:
    """Collects `pulumi.export` calls, which the mock runtime otherwise discards."""

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}
        self._original = pulumi.export

    def __enter__(self) -> _ExportRecorder:
        def export(name: str, value: Any) -> None:
            self.outputs[name] = value

        pulumi.export = export
        return self

    def __exit__(self, *exc: object) -> None:
        pulumi.export = self._original


def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Exported values as a preview shows them: known values, or unknown, with secrets kept wrapped."""
    from llmscale.plan.recorder import SECRET_SIG_KEY, SECRET_SIG_VALUE, UNKNOWN_TEXT

    resolved: dict[str, Any] = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        known = _sync_await(output.is_known())
        secret = _sync_await(output.is_secret())
        if not known:
            resolved[name] = UNKNOWN_TEXT
            continue
        plain = _sync_await(output.future())
        resolved[name] = {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": plain} if secret else plain
    return resolved


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration (and back on after, if it was on).

    A plan allocates a few hundred thousand long-lived objects (the SDK modules it imports, its resources) and,
    with the default thresholds, the collector walks all of them again and again: a fifth of a plan's CPU time,
    for almost nothing to free. Memory is reclaimed by reference counting meanwhile, and the collector catches
    up with cycles as soon as it is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def run_program(stack: LoadedStack, program: Callable[[], None]) -> PlanResult:
    """Run `program` for `stack` under mocks in preview mode and return what it registered.

    Exceptions from the program propagate: a config error raised by the program is the caller's to report.
    """
    with collector_paused():
        return _run_program(stack, program)


def _run_program(stack: LoadedStack, program: Callable[[], None]) -> PlanResult:
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    with (
        mock_runtime(
            mocks,
            monitor,
            project=PROJECT,
            stack=stack.name,
            preview=True,
            config=stack.pulumi_config,
            secret_keys=sorted(stack.secret_keys),
            root_directory=str(stack.project_dir) if stack.project_dir is not None else None,
        ),
        _ExportRecorder() as exports,
    ):
        run_to_completion(program)
        outputs = _resolve_outputs(exports.outputs)
    return PlanResult(stack=stack, resources=monitor.recorded, invokes=mocks.invokes, outputs=outputs)
