"""Tags every AWS resource of a stack carries, so its owner and cost can be found."""

from __future__ import annotations


def stack_tags(stack: str, tier: str) -> dict[str, str]:
    """The common tags for a stack's resources."""
    return {"llmscale:stack": stack, "llmscale:tier": tier, "managed-by": "llmscale"}
