"""The Pulumi program: load the stack config, build its one tier, export the tier's outputs.

Run by `pulumi up` through `__main__.py`, and in-process by `llmscale plan` under mocks.
"""

from __future__ import annotations

from typing import Any

import pulumi

from llmscale.config.errors import ConfigError, Problem
from llmscale.config.loader import load_from_pulumi
from llmscale.config.models import StackConfig
from llmscale.tiers.config import tier_args


class StackConfigError(pulumi.RunError):
    """The stack's config is invalid. `pulumi up` prints the message; `llmscale plan` renders the problems itself,
    against the stack file it was given."""

    def __init__(self, error: ConfigError) -> None:
        self.problems: list[Problem] = list(error.problems)
        super().__init__("invalid stack config:\n" + "\n".join(error.lines()))


def build_tier(config: StackConfig, *, stack: str) -> Any:
    """Register the stack's tier component (named after the stack) from its validated config, and return it."""
    from components.tiers import TIERS

    args = tier_args(config)
    return TIERS[type(args)](stack, args)


def main() -> None:
    """Validate the config before registering anything, then build the tier and export its outputs."""
    try:
        config, _ = load_from_pulumi()
    except ConfigError as error:
        raise StackConfigError(error) from None
    tier = build_tier(config, stack=pulumi.get_stack())
    for name, value in tier.outputs.items():
        pulumi.export(name, value)
