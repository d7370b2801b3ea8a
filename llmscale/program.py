"""The Pulumi program: load the stack config, build the tier, export its outputs.

Run by `pulumi up` through `__main__.py`, and in-process by `llmscale plan` under mocks.
"""

from __future__ import annotations

import pulumi

from llmscale.config.errors import ConfigError, Problem
from llmscale.config.loader import load_from_pulumi


class StackConfigError(pulumi.RunError):
    """The stack's config is invalid. `pulumi up` prints the message; `llmscale plan` renders the problems itself,
    against the stack file it was given."""

    def __init__(self, error: ConfigError) -> None:
        self.problems: list[Problem] = list(error.problems)
        super().__init__("invalid stack config:\n" + "\n".join(error.lines()))


def main() -> None:
    """Validate the config before registering anything, then build the tier."""
    from components.tiers import build_tier

    try:
        config, region = load_from_pulumi()
    except ConfigError as error:
        raise StackConfigError(error) from None
    for name, value in build_tier(config, stack=pulumi.get_stack(), region=region).items():
        pulumi.export(name, value)
