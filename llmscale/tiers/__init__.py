"""The three tiers for use in any Pulumi program: the components, their Args and the config sections they take.

    from llmscale.tiers import AwsEksPlatform, EnterpriseTier, EnterpriseTierArgs, ModelProfile

The components (`SingleGpuTier`, `MultiGpuTier`, `EnterpriseTier`) are imported on first use, so reading Args
and configs does not load the Pulumi providers.
"""

from __future__ import annotations

from typing import Any

from llmscale.config.models import (
    AutoscalingConfig,
    CanaryConfig,
    EksConfig,
    FailoverConfig,
    GatewayConfig,
    GpuConfig,
    HostConfig,
    KubernetesConfig,
    LoadConfig,
    ModelProfile,
    MonitoringConfig,
    RoutingConfig,
    ScheduleConfig,
    SloConfig,
)
from llmscale.tiers.args import (
    AwsEksPlatform,
    AwsPlatform,
    EnterpriseTierArgs,
    HostPlatform,
    KubernetesPlatform,
    MultiGpuTierArgs,
    SingleGpuTierArgs,
)

COMPONENTS = ("SingleGpuTier", "MultiGpuTier", "EnterpriseTier", "TierArgsError")

__all__ = [
    "AutoscalingConfig",
    "AwsEksPlatform",
    "AwsPlatform",
    "CanaryConfig",
    "EksConfig",
    "EnterpriseTierArgs",
    "FailoverConfig",
    "GatewayConfig",
    "GpuConfig",
    "HostConfig",
    "HostPlatform",
    "KubernetesConfig",
    "KubernetesPlatform",
    "LoadConfig",
    "ModelProfile",
    "MonitoringConfig",
    "MultiGpuTierArgs",
    "RoutingConfig",
    "ScheduleConfig",
    "SingleGpuTierArgs",
    "SloConfig",
    *COMPONENTS,
]


def __getattr__(name: str) -> Any:
    if name in COMPONENTS:
        import components.tiers

        return getattr(components.tiers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
