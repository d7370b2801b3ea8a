"""Between a stack's config and a tier's arguments: both directions are pure and checked the same way.

`tier_args` turns a validated `StackConfig` (a stack file's) into the Args of its tier; `stack_config` turns a
tier's Args (a stack file's, or written in a program) back into the `StackConfig` the builders read, through the
same tier preset, schema and cross-key checks as `llmscale validate`, so Args written in code are held to the
same rules as a stack file.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from llmscale.config.checks import cross_checks
from llmscale.config.errors import REGION_KEY, ConfigError, stack_problems
from llmscale.config.models import (
    AwsStackConfig,
    ClusterSections,
    KubernetesStackConfig,
    StackConfig,
    Tier,
    parse_stack_config,
    stack_fields,
)
from llmscale.config.presets import apply_preset
from llmscale.tiers.args import (
    AwsEksPlatform,
    AwsPlatform,
    EnterpriseTierArgs,
    HostPlatform,
    KubernetesPlatform,
    MultiGpuTierArgs,
    SingleGpuTierArgs,
    TierArgs,
)

ARGS_BY_TIER: dict[Tier, type[TierArgs]] = {
    Tier.SINGLE_GPU: SingleGpuTierArgs,
    Tier.MULTI_GPU: MultiGpuTierArgs,
    Tier.ENTERPRISE: EnterpriseTierArgs,
}
TIER_OF_ARGS: dict[type[TierArgs], Tier] = {args: tier for tier, args in ARGS_BY_TIER.items()}


def _platform(config: StackConfig) -> AwsPlatform | KubernetesPlatform | HostPlatform:
    """The tier's platform argument for a stack: its platform variant's region and EKS section."""
    if isinstance(config, AwsStackConfig):
        if config.tier is Tier.SINGLE_GPU:
            return AwsPlatform(region=config.region)
        return AwsEksPlatform(region=config.region, eks=config.eks)
    if isinstance(config, KubernetesStackConfig):
        return KubernetesPlatform(region=config.region)
    return HostPlatform()


def tier_args(config: StackConfig) -> TierArgs:
    """The Args of the stack's tier: every section the tier reads, and the keys the stack file declared.

    `config` is validated already (`llmscale.config.loader.parse_values`), so its sections go in as they are.
    """
    args_type = ARGS_BY_TIER[config.tier]
    sections = {
        name: getattr(config, name)
        for name in args_type.model_fields
        if name != "platform" and name in type(config).model_fields
    }
    args = args_type(platform=_platform(config), **sections)
    args._declared = config.declared_keys
    return args


def _plain(value: Any) -> Any:
    """A section as the stack file would hold it: only the keys that were given, camelCase."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_unset=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def stack_values(args: TierArgs, tier: Tier) -> dict[str, Any]:
    """The `llmscale:` keys (without the namespace) a stack file would state for `args`, and its `aws:region`."""
    fields = stack_fields()
    values: dict[str, Any] = {"tier": str(tier), "platform": str(args.platform.kind)}
    for name in args.model_fields_set - {"platform"}:
        value = getattr(args, name)
        if value is not None:
            values[fields[name].alias or name] = _plain(value)
    if isinstance(args.platform, AwsEksPlatform) and args.platform.eks is not None:
        values["eks"] = _plain(args.platform.eks)
    region = region_of(args)
    if region is not None:
        values[REGION_KEY] = region
    return values


def region_of(args: TierArgs) -> str | None:
    """The AWS region the tier builds in (or signs Route 53 calls in), when its platform has one."""
    return getattr(args.platform, "region", None)


def stack_config(args: TierArgs, *, source: str | None = None) -> StackConfig:
    """The full config of a tier's Args: preset, schema and cross-key checks as for a stack file.

    Raises ConfigError naming `source` (default: the Args class) and every problem found.
    """
    tier = TIER_OF_ARGS[type(args)]
    source = source or type(args).__name__
    values = stack_values(args, tier)
    try:
        config = parse_stack_config(apply_preset(tier, values))
    except ValidationError as error:
        raise ConfigError(source, stack_problems(error)) from None
    config._declared = args._declared if args._declared is not None else frozenset(values) - {REGION_KEY}
    problems = cross_checks(config)
    if problems:
        raise ConfigError(source, problems)
    return config


def standby_config(config: StackConfig) -> StackConfig:
    """The warm standby's config: the same profiles with the standby's smaller minimum."""
    failover = config.failover if isinstance(config, ClusterSections) else None
    floor = failover.standby_min_replicas if failover else 1
    models = [p.model_copy(update={"min_replicas": min(floor, p.max_replicas)}) for p in config.models]
    standby = config.model_copy(update={"models": models})
    standby._declared = config.declared_keys
    return standby


def public_name(config: ClusterSections) -> tuple[str, str] | None:
    """The public DNS name of an AWS cluster's gateway and its hosted zone, when the stack has one.

    The failover name on enterprise; `gateway.hostname` in `gateway.hostedZoneId` otherwise. With a name the
    load balancer is internet-facing and serves HTTPS with a certificate for it; without one it stays internal.
    """
    if config.failover is not None:
        return config.failover.record_name, config.failover.hosted_zone_id
    if config.gateway.hostname and config.gateway.hosted_zone_id:
        return config.gateway.hostname, config.gateway.hosted_zone_id
    return None
