"""The stack's whole `llmscale:` namespace: `StackConfig`, the keys every stack shares, and its three platform
variants, one per `platform`, each holding only the sections its platform reads.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic.fields import FieldInfo

from llmscale.config.aws_config import (
    EksConfig,
    FailoverConfig,
)
from llmscale.config.base import (
    CLUSTER_TIERS,
    ENVIRONMENT,
    ConfigModel,
    Platform,
    Tier,
    scope,
)
from llmscale.config.cluster import (
    AutoscalingConfig,
    GatewayConfig,
    KubernetesConfig,
    MonitoringConfig,
)
from llmscale.config.host_config import (
    HostConfig,
)
from llmscale.config.profiles import (
    ModelProfile,
)
from llmscale.config.service import (
    GpuConfig,
    LoadConfig,
    RoutingConfig,
    ScheduleConfig,
    SizingConfig,
    SloConfig,
)


class StackConfig(ConfigModel):
    """What every stack states, whatever its platform: the base of the three platform variants.

    A stack file parses into exactly one variant, chosen by `platform` (`parse_stack_config`):
    `AwsStackConfig`, `KubernetesStackConfig` or `HostStackConfig`. Each holds only the sections its platform
    reads, so a key stated on a platform that ignores it is rejected by the schema, and the AWS region is
    required exactly where llmscale builds in AWS.
    """

    tier: Tier = Field(
        description="`single-gpu` (one GPU host), `multi-gpu` (a Kubernetes GPU pool) or `enterprise` (multi-gpu "
        "over three zones with DNS failover to a standby): decides the presets and what gets built."
    )
    platform: Platform = Field(
        description="Where the tier runs: `aws` (llmscale builds the host or the EKS cluster), `kubernetes` (an "
        "existing cluster, multi-gpu and enterprise) or `host` (an existing server, single-gpu)."
    )
    models: Annotated[
        list[ModelProfile],
        Field(
            min_length=1,
            max_length=16,
            description="The model profiles: each gets its own vLLM server, scaling, route and alerts (one on the "
            "single-gpu tier). The tier preset fills in the replica and batch keys each profile leaves out.",
        ),
    ]
    gpu: GpuConfig = Field(default=GpuConfig(), description="The GPU machines and what they cost.")
    slo: SloConfig = Field(
        default=SloConfig(),
        description="The service level: sizing, alerts, dashboards and policies follow it. The slo-declared "
        "policy wants a multi-gpu or enterprise stack to state it.",
    )
    load: LoadConfig = Field(
        default=LoadConfig(),
        description="The peak load the GPUs are sized for (with slo, by the gpu-headroom policy and `llmscale new`).",
    )
    schedule: ScheduleConfig = Field(
        default=ScheduleConfig(), description="The night schedule: active hours, and capacity outside them."
    )
    sizing: SizingConfig = Field(
        default=SizingConfig(),
        description="What the capacity planner sizes the stack from (for the gpu-headroom policies and "
        "`llmscale simulate`): measured results, or its built-in figures.",
    )
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(),
        description="Metrics, alerts and dashboards: what to install, retention, and the runbook alerts link to.",
    )
    environment: Annotated[
        str,
        Field(
            pattern=ENVIRONMENT,
            description="`production`, `staging` or `development`: the night-schedule policy asks every stack "
            "that is not production to scale its GPUs down at night.",
        ),
    ] = "production"
    api_keys: SecretStr | None = Field(
        default=None,
        description="Secret. The API keys clients send as `Authorization: Bearer <key>`: a JSON object "
        '`{"client": "key"}` (the client name shows in logs and usage metrics, never the key) or one key. Required '
        "except on platform host, whose keys are files on the server.",
    )
    hf_token: SecretStr | None = Field(
        default=None,
        description="Secret. The Hugging Face token vLLM downloads gated models with; checked before vLLM starts "
        "on the single host.",
    )
    grafana_admin_password: SecretStr | None = Field(
        default=None,
        description="Secret. Grafana's admin password; none: generated (on the host at first start, on Kubernetes "
        "by the chart).",
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Secret. The Slack incoming webhook Alertmanager sends warnings (and, without PagerDuty, "
        "critical alerts) to.",
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="Secret. The PagerDuty Events v2 routing key Alertmanager sends critical alerts to."
    )

    _declared: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def declared_keys(self) -> frozenset[str]:
        """The `llmscale:` keys the stack file states itself, before tier presets: what the stack declared."""
        return self._declared

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: list[ModelProfile]) -> list[ModelProfile]:
        names = [profile.name for profile in models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"profile name(s) used twice: {', '.join(duplicates)}")
        return models


class ClusterSections(ConfigModel):
    """The sections of the platforms a Kubernetes cluster runs on (aws and kubernetes): the cluster, its
    gateway, routing, autoscaling and DNS failover."""

    routing: RoutingConfig = Field(
        default=RoutingConfig(),
        description="How the gateway balances requests over a profile's replicas.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    kubernetes: KubernetesConfig = Field(
        default=KubernetesConfig(),
        description="The cluster the serving layer runs on (built by llmscale on platform aws, or existing).",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    gateway: GatewayConfig = Field(
        default=GatewayConfig(),
        description="The inference gateway (Envoy Gateway): public name, TLS, proxies and per-key limits.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    autoscaling: AutoscalingConfig = Field(
        default=AutoscalingConfig(),
        description="How fast replicas follow the queue (KEDA and the HPA it drives).",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    failover: FailoverConfig | None = Field(
        default=None,
        description="DNS failover between the primary and a standby (required by the dns-failover policy on the "
        "enterprise tier); none: no failover.",
        json_schema_extra=scope(tiers=(Tier.ENTERPRISE,)),
    )


class HostSection(ConfigModel):
    """The section of the platforms a single GPU host runs on (aws and host)."""

    host: HostConfig = Field(
        default=HostConfig(),
        description="The single GPU host: who may reach it, its name and certificate, its network and recovery.",
        json_schema_extra=scope(tiers=(Tier.SINGLE_GPU,)),
    )


class AwsStackConfig(StackConfig, ClusterSections, HostSection):
    """A stack llmscale builds in AWS: the single host (single-gpu) or an EKS cluster (multi-gpu, enterprise)."""

    platform: Literal[Platform.AWS] = Field(description="`aws`: llmscale builds the host or the EKS cluster.")
    region: str = Field(
        alias="aws:region",
        description="The AWS region llmscale builds in (the AWS provider's own `aws:region` key); checked against "
        "the regions pulumi-aws knows.",
    )
    eks: EksConfig = Field(
        default=EksConfig(),
        description="The EKS cluster llmscale builds, with its VPC and node groups.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS, platforms=(Platform.AWS,)),
    )


class KubernetesStackConfig(StackConfig, ClusterSections):
    """A stack served from an existing Kubernetes cluster (multi-gpu, enterprise)."""

    platform: Literal[Platform.KUBERNETES] = Field(description="`kubernetes`: an existing cluster.")
    region: str | None = Field(
        default=None,
        alias="aws:region",
        description="The AWS region the Route 53 provider of a DNS failover signs its calls in; none: us-east-1.",
    )


class HostStackConfig(StackConfig, HostSection):
    """A stack served from an existing GPU server (single-gpu): nothing is built in a cloud."""

    platform: Literal[Platform.HOST] = Field(description="`host`: an existing server.")


ClusterStackConfig = AwsStackConfig | KubernetesStackConfig
"""A stack with a Kubernetes cluster to serve from: what the serving layer, gateway and cluster tiers read."""


def failover_of(config: StackConfig) -> FailoverConfig | None:
    """The stack's DNS failover; None without one, and on an existing server (which has no failover section)."""
    return config.failover if isinstance(config, ClusterSections) else None


STACK_VARIANTS: dict[Platform, type[StackConfig]] = {
    Platform.AWS: AwsStackConfig,
    Platform.KUBERNETES: KubernetesStackConfig,
    Platform.HOST: HostStackConfig,
}
"""The config model of each platform."""

AnyStackConfig = Annotated[AwsStackConfig | KubernetesStackConfig | HostStackConfig, Field(discriminator="platform")]
"""A stack's config: one of the platform variants, chosen by `platform`."""

_STACK_CONFIG: TypeAdapter[StackConfig] = TypeAdapter(AnyStackConfig)
UNION_TAG_ERRORS = ("union_tag_not_found", "union_tag_invalid")


def parse_stack_config(values: dict[str, Any]) -> StackConfig:
    """The platform variant `values` (the `llmscale:` keys without the namespace, plus `aws:region`) state.

    Raises pydantic's ValidationError; `llmscale.config.errors.stack_problems` words it for users. Without a
    valid `platform` there is no variant to check against: the error is then the base model's, over the keys
    every platform shares (and any key no platform knows), so a stack missing everything hears all of it at once.
    """
    try:
        return _STACK_CONFIG.validate_python(values)
    except ValidationError as error:
        if not any(entry["type"] in UNION_TAG_ERRORS for entry in error.errors()):
            raise
    specific = {info.alias or name for name, info in stack_fields().items()} - {
        info.alias or name for name, info in StackConfig.model_fields.items()
    }
    return StackConfig.model_validate({key: value for key, value in values.items() if key not in specific})


def stack_fields() -> dict[str, FieldInfo]:
    """Every key any platform's stack may state, by field name: the shared keys, then each platform's own, then
    the secrets (the order the configuration reference lists them in)."""
    shared = StackConfig.model_fields
    specific: dict[str, FieldInfo] = {}
    for variant in STACK_VARIANTS.values():
        for name, info in variant.model_fields.items():
            if name not in shared:
                specific.setdefault(name, info)
    secrets = {name for name, info in shared.items() if SecretStr in typing.get_args(info.annotation)}
    return {
        **{name: info for name, info in shared.items() if name not in secrets},
        **specific,
        **{name: shared[name] for name in shared if name in secrets},
    }


def platforms_of(alias: str) -> tuple[Platform, ...]:
    """The platforms whose stacks may state the top-level key `alias`."""
    return tuple(
        platform
        for platform, variant in STACK_VARIANTS.items()
        if any(alias in (name, info.alias) for name, info in variant.model_fields.items())
    )
