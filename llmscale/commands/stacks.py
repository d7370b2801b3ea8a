"""The STACK argument every command takes: a stack name under stacks/ or a stack file path, loaded and validated."""

from __future__ import annotations

from pathlib import Path

from llmscale.commands.usage import fail, usage_error
from llmscale.config.errors import ConfigError
from llmscale.config.loader import LoadedStack, load_stack
from llmscale.paths import StackRefError, stack_file


def load_stack_ref(stack: str, stacks_dir: Path | None = None) -> LoadedStack:
    """A STACK argument's stack, loaded and validated; exits 2 with one line per problem."""
    if stacks_dir is not None and stacks_dir.exists() and not stacks_dir.is_dir():
        raise usage_error("--stacks-dir", "is a file, not a directory")
    try:
        path = stack_file(stack, stacks_dir)
    except StackRefError as error:
        raise usage_error("STACK", str(error)) from None
    try:
        return load_stack(str(path))
    except ConfigError as error:
        raise fail(error.lines()) from None
