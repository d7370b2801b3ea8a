"""The three tiers as components: `SingleGpuTier`, `MultiGpuTier` and `EnterpriseTier`.

Each takes its typed Args (`llmscale.tiers.args`), checks them as a stack file is checked, and builds on the
platform its Args name, through a mapping from the platform's type to a builder. Every resource is its child.

Stacks built before the tiers were components had their top-level resources at the root of the stack: each
direct child of a tier carries an alias to that former parent, so `pulumi up` moves them under the tier instead
of replacing them (their own children follow through the engine's parent aliases).
"""

from __future__ import annotations

from typing import ClassVar

import pulumi

from components.cluster_tier import ClusterTierComponent
from components.tier_base import FORMER_PARENT, Outputs, TierArgsError, TierComponent
from llmscale.aws.host import single_gpu_host_args
from llmscale.tiers.args import (
    AwsPlatform,
    EnterpriseTierArgs,
    HostPlatform,
    MultiGpuTierArgs,
    SingleGpuTierArgs,
    TierArgs,
)


class SingleGpuTier(TierComponent):
    """One GPU host serving one model profile behind HTTPS and API keys (`SingleGpuTierArgs`).

    On `AwsPlatform`: a `SingleGpuHost` (instance, network, bundle, DNS record, alarms, night schedule), with the
    outputs `endpoint`, `baseUrl`, `instanceId`, `publicIp` and `models`. On `HostPlatform` nothing is built in a
    cloud: `bundle` says how to render and start the existing server's bundle.
    """

    TYPE = "llmscale:index:SingleGpuTier"

    def __init__(self, name: str, args: SingleGpuTierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, args, opts)

    def _on_aws(self, platform: AwsPlatform) -> Outputs:
        from components.aws.single_host import SingleGpuHost

        self.host = SingleGpuHost(
            self._name,
            single_gpu_host_args(self.config, stack=self._name, region=platform.region, tags=self.tags),
            opts=self.child(),
        )
        return {
            "endpoint": self.host.endpoint,
            "baseUrl": self.host.base_url,
            "instanceId": self.host.instance_id,
            "publicIp": self.host.public_ip,
        }

    def _on_host(self, platform: HostPlatform) -> Outputs:
        # An existing server gets no cloud resources: its bundle is written by `llmscale render`.
        return {
            "bundle": pulumi.Output.from_input(
                f"llmscale render {self._name} --out DIR, then DIR/bin/start.sh on the server"
            )
        }

    BUILDERS: ClassVar = {AwsPlatform: _on_aws, HostPlatform: _on_host}


class MultiGpuTier(ClusterTierComponent):
    """A Kubernetes GPU pool behind an inference gateway, in one zone of failure (`MultiGpuTierArgs`):
    an EKS cluster with one NAT gateway on `AwsEksPlatform`, or an existing cluster on `KubernetesPlatform`."""

    TYPE = "llmscale:index:MultiGpuTier"

    def __init__(self, name: str, args: MultiGpuTierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, args, opts)


class EnterpriseTier(ClusterTierComponent):
    """The multi-gpu tier over three zones with a NAT gateway per zone, and DNS failover to a standby built in
    `failover.standbyRegion` or given as `failover.standbyEndpoint` (`EnterpriseTierArgs`)."""

    TYPE = "llmscale:index:EnterpriseTier"

    def __init__(self, name: str, args: EnterpriseTierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, args, opts)


TIERS: dict[type[TierArgs], type[TierComponent]] = {
    SingleGpuTierArgs: SingleGpuTier,
    MultiGpuTierArgs: MultiGpuTier,
    EnterpriseTierArgs: EnterpriseTier,
}
"""The tier component each Args type builds."""


__all__ = ["FORMER_PARENT", "TIERS", "EnterpriseTier", "MultiGpuTier", "Outputs", "SingleGpuTier", "TierArgsError"]
