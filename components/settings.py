"""The StackSettings component: the stack's declared tier, SLO and load, visible to its policies."""

from __future__ import annotations

from typing import Any

import pulumi

from llmscale.policy.settings import SETTINGS_TYPE


class StackSettings(pulumi.ComponentResource):
    """Holds the stack's declarations (no secrets) as inputs and outputs; creates nothing in the cloud."""

    def __init__(self, name: str, *, settings: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SETTINGS_TYPE, name, dict(settings), opts)
        self.register_outputs(dict(settings))
