"""What the tier components share: Args checked as a stack file is, the stack's settings, the platform's
builder, registered outputs, and direct children aliased to their former place at the root of the stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pulumi

from components.settings import StackSettings
from llmscale.aws.tags import stack_tags
from llmscale.config.calibration_key import CalibrationKeyError, stack_calibration
from llmscale.config.errors import ConfigError
from llmscale.config.models import StackConfig
from llmscale.paths import program_project
from llmscale.policy.settings import stack_settings
from llmscale.tiers.args import TierArgs
from llmscale.tiers.config import stack_config

FORMER_PARENT = pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)
"""Where a tier's direct children were before the tiers were components: the stack itself."""

Outputs = dict[str, pulumi.Output[Any]]


class TierArgsError(pulumi.RunError):
    """A tier's Args break a rule a stack file is held to; the message has one line per problem."""

    def __init__(self, error: ConfigError) -> None:
        self.problems = list(error.problems)
        super().__init__("invalid tier arguments:\n" + "\n".join(error.lines()))


class TierComponent(pulumi.ComponentResource):
    """What the three tiers share: Args checked before anything is registered, the stack's settings for its
    policies (`settings`), the platform's builder, and the outputs a stack exports (`outputs`, registered too).
    """

    TYPE: ClassVar[str]
    BUILDERS: ClassVar[dict[type, Callable[[Any, Any], Outputs]]]

    config: StackConfig
    settings: StackSettings
    outputs: Outputs
    endpoint: pulumi.Output[str] | None
    models: pulumi.Output[list[str]]

    def __init__(self, name: str, args: TierArgs, opts: pulumi.ResourceOptions | None) -> None:
        try:
            config = stack_config(args)
            # Measured results the stack is sized from, read from the project directory as the loader read them.
            calibration = stack_calibration(config, program_project())
        except ConfigError as error:
            raise TierArgsError(error) from None
        except CalibrationKeyError as error:
            raise TierArgsError(ConfigError(type(args).__name__, [error.problem])) from None
        super().__init__(self.TYPE, name, None, opts)
        self.config = config
        self.tags = stack_tags(name, str(config.tier))
        self.settings = StackSettings(
            f"{name}-settings", settings=stack_settings(config, calibration), opts=self.child()
        )
        self.models = pulumi.Output.from_input([p.name for p in config.models])
        built = self.BUILDERS[type(args.platform)](self, args.platform)
        self.outputs = {**built, "models": self.models}
        self.endpoint = self.outputs.get("endpoint")
        self.register_outputs(self.outputs)

    def child(self, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
        """Options of a direct child: parented to the tier, aliased to where it was before."""
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self, aliases=[FORMER_PARENT]))
