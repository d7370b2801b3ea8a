"""The typed arguments of the tier components (`components.tiers`): where the tier runs and what it serves.

Each section is the same pydantic model a stack file's `llmscale:` key parses into, so a program that builds a
tier in code states exactly what a stack file would. A section left at None takes the tier's preset
(`llmscale.config.presets`), then the schema's defaults, as a key left out of a stack file does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from llmscale.config.models import (
    AWS_REGION,
    AutoscalingConfig,
    EksConfig,
    FailoverConfig,
    GatewayConfig,
    GpuConfig,
    HostConfig,
    KubernetesConfig,
    LoadConfig,
    ModelProfile,
    MonitoringConfig,
    Platform,
    RoutingConfig,
    ScheduleConfig,
    SizingConfig,
    SloConfig,
)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AwsPlatform(_Args):
    """Build on AWS: llmscale creates the GPU host, its network, DNS record and alarms in `region`."""

    kind: Literal[Platform.AWS] = Platform.AWS
    region: str = Field(pattern=AWS_REGION, description="The AWS region to build in (required).")


class AwsEksPlatform(AwsPlatform):
    """Build on AWS with an EKS cluster: network, cluster, node pools, model store and load balancer in `region`."""

    eks: EksConfig | None = Field(
        default=None, description="The EKS cluster and its VPC; default: the tier's preset (`llmscale:eks`)."
    )


class KubernetesPlatform(_Args):
    """Deploy into an existing Kubernetes cluster, reached through `kubernetes.kubeconfig`/`kubernetes.context`."""

    kind: Literal[Platform.KUBERNETES] = Platform.KUBERNETES
    region: str | None = Field(
        default=None,
        pattern=AWS_REGION,
        description="The AWS region the Route 53 provider of a DNS failover signs its calls in; default us-east-1.",
    )


class HostPlatform(_Args):
    """An existing server: nothing is built in a cloud, the server's bundle comes from `llmscale render`."""

    kind: Literal[Platform.HOST] = Platform.HOST


class TierArgs(_Args):
    """What every tier takes: the model profiles and the sections every tier reads.

    Every section defaults to None: the tier's preset, then the schema's defaults (as in a stack file). Secrets
    are `SecretStr`s, kept out of plan output and errors.
    """

    models: Annotated[list[ModelProfile], Field(min_length=1, max_length=16)] = Field(
        description="The model profiles (required): each gets its own vLLM server, scaling, route and alerts."
    )
    gpu: GpuConfig | None = Field(default=None, description="The GPU machines; default: the tier's preset.")
    slo: SloConfig | None = Field(default=None, description="The service level; default: the tier's preset.")
    load: LoadConfig | None = Field(default=None, description="The peak load; default: the tier's preset.")
    schedule: ScheduleConfig | None = Field(default=None, description="The night schedule; default: the preset.")
    sizing: SizingConfig | None = Field(
        default=None,
        description="Measured `vllm bench serve` results the gpu-headroom policies size from (a path relative to "
        "the project directory, or absolute); default: the planner's built-in figures.",
    )
    monitoring: MonitoringConfig | None = Field(default=None, description="Metrics and alerts; default: all on.")
    environment: Literal["production", "staging", "development"] | None = Field(
        default=None, description="`production`, `staging` or `development`; default: the tier's preset."
    )
    api_keys: SecretStr | None = Field(
        default=None, description='Client API keys: `{"client": "key"}` JSON or one key; required except on a host.'
    )
    hf_token: SecretStr | None = Field(default=None, description="Hugging Face token for gated models; default none.")
    grafana_admin_password: SecretStr | None = Field(default=None, description="Grafana admin; default: generated.")
    slack_webhook_url: SecretStr | None = Field(default=None, description="Slack webhook for alerts; default none.")
    pagerduty_routing_key: SecretStr | None = Field(default=None, description="PagerDuty routing key; default none.")

    _declared: frozenset[str] | None = PrivateAttr(default=None)


class SingleGpuTierArgs(TierArgs):
    """The single-gpu tier: one GPU host serving one model profile behind HTTPS and API keys."""

    platform: Annotated[AwsPlatform | HostPlatform, Field(discriminator="kind")] = Field(
        description="`AwsPlatform(region=...)` (llmscale builds the host) or `HostPlatform()` (an existing server)."
    )
    host: HostConfig | None = Field(default=None, description="The host's access, name and network; default none.")


class ClusterTierArgs(TierArgs):
    """What the cluster tiers (multi-gpu, enterprise) add: the cluster, its gateway, routing and autoscaling."""

    platform: Annotated[AwsEksPlatform | KubernetesPlatform, Field(discriminator="kind")] = Field(
        description="`AwsEksPlatform(region=...)` (llmscale builds EKS) or `KubernetesPlatform()` (an existing one)."
    )
    kubernetes: KubernetesConfig | None = Field(
        default=None, description="The cluster's namespaces, GPU nodes and add-ons; default: the tier's preset."
    )
    gateway: GatewayConfig | None = Field(default=None, description="The inference gateway; default: the preset.")
    routing: RoutingConfig | None = Field(default=None, description="Load balancing; default: the tier's preset.")
    autoscaling: AutoscalingConfig | None = Field(default=None, description="KEDA scaling; default: the schema's.")


class MultiGpuTierArgs(ClusterTierArgs):
    """The multi-gpu tier: a Kubernetes GPU pool behind an inference gateway, in one zone of failure."""


class EnterpriseTierArgs(ClusterTierArgs):
    """The enterprise tier: the multi-gpu tier over three zones, with DNS failover to a standby."""

    failover: FailoverConfig | None = Field(
        default=None, description="DNS failover to a standby (the dns-failover policy wants it); default none."
    )
