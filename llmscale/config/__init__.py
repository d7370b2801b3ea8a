"""The typed stack configuration and the ways to load it."""

from llmscale.config.errors import ConfigError, Problem
from llmscale.config.loader import LoadedStack, load_from_pulumi, load_stack, parse_values, resolve_stack
from llmscale.config.models import (
    Lane,
    ModelProfile,
    Platform,
    RoutingStrategy,
    StackConfig,
    Tier,
)

__all__ = [
    "ConfigError",
    "Lane",
    "LoadedStack",
    "ModelProfile",
    "Platform",
    "Problem",
    "RoutingStrategy",
    "StackConfig",
    "Tier",
    "load_from_pulumi",
    "load_stack",
    "parse_values",
    "resolve_stack",
]
