"""The typed stack configuration: `StackConfig`, the whole `llmscale:` namespace of a stack file.

Field aliases are the camelCase keys users write in `stacks/Pulumi.<stack>.yaml`; unknown keys are rejected
everywhere so a typo never silently falls back to a default.

Each key's model lives in the module of its domain (`base`, `profiles`, `service`, `host_config`, `cluster`,
`aws_config`); every name stays importable from here.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PrivateAttr, SecretStr, field_validator

from llmscale.config.aws_config import (
    MIN_EKS_ZONES,
    EksConfig,
    FailoverConfig,
    GpuAmiType,
)
from llmscale.config.base import (
    ABS_PATH,
    AWS_REGION,
    AZ_NAME,
    CLI_ARG,
    CLUSTER_TIERS,
    DAYS,
    DEFAULT_RUNBOOK_URL,
    DNS_LABEL,
    DNS_SUBDOMAIN,
    DOMAIN,
    EMAIL,
    ENDPOINT,
    ENVIRONMENT,
    HEADER_NAME,
    HHMM,
    HTTP_URL,
    IAM_PRINCIPAL_ARN,
    IMAGE_REF,
    INSTANCE_TYPE,
    K8S_VERSION,
    LABEL_KEY,
    MODEL_ID,
    NO_SPACE,
    PATTERN_HINTS,
    REPOSITORY_URL,
    RUNBOOK_URL,
    SNS_TOPIC_ARN,
    SUBNET_ID,
    ZONE_ID,
    ConfigModel,
    Platform,
    Tier,
    scope,
    valid_cidrs,
    vpc_network,
)
from llmscale.config.cluster import (
    AddonsConfig,
    AutoscalingConfig,
    GatewayConfig,
    GatewayServiceType,
    KubernetesConfig,
    ModelCacheConfig,
    ModelCacheType,
    MonitoringConfig,
)
from llmscale.config.host_config import (
    HostConfig,
    TlsMode,
)
from llmscale.config.profiles import (
    CanaryConfig,
    Lane,
    ModelProfile,
    Quantization,
)
from llmscale.config.service import (
    GpuConfig,
    LoadConfig,
    RoutingConfig,
    RoutingStrategy,
    ScheduleConfig,
    SizingConfig,
    SloConfig,
)


class StackConfig(ConfigModel):
    """The whole `llmscale:` namespace of one stack, after tier presets are applied."""

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
    routing: RoutingConfig = Field(
        default=RoutingConfig(),
        description="How the gateway balances requests over a profile's replicas.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    host: HostConfig = Field(
        default=HostConfig(),
        description="The single GPU host: who may reach it, its name and certificate, its network and recovery.",
        json_schema_extra=scope(tiers=(Tier.SINGLE_GPU,)),
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
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(),
        description="Metrics, alerts and dashboards: what to install, retention, and the runbook alerts link to.",
    )
    eks: EksConfig = Field(
        default=EksConfig(),
        description="The EKS cluster llmscale builds, with its VPC and node groups.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS, platforms=(Platform.AWS,)),
    )
    failover: FailoverConfig | None = Field(
        default=None,
        description="DNS failover between the primary and a standby (required by the dns-failover policy on the "
        "enterprise tier); none: no failover.",
        json_schema_extra=scope(tiers=(Tier.ENTERPRISE,)),
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


__all__ = [
    "ABS_PATH",
    "AWS_REGION",
    "AZ_NAME",
    "CLI_ARG",
    "CLUSTER_TIERS",
    "DAYS",
    "DEFAULT_RUNBOOK_URL",
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "DOMAIN",
    "EMAIL",
    "ENDPOINT",
    "ENVIRONMENT",
    "HEADER_NAME",
    "HHMM",
    "HTTP_URL",
    "IAM_PRINCIPAL_ARN",
    "IMAGE_REF",
    "INSTANCE_TYPE",
    "K8S_VERSION",
    "LABEL_KEY",
    "MIN_EKS_ZONES",
    "MODEL_ID",
    "NO_SPACE",
    "PATTERN_HINTS",
    "REPOSITORY_URL",
    "RUNBOOK_URL",
    "SNS_TOPIC_ARN",
    "SUBNET_ID",
    "ZONE_ID",
    "AddonsConfig",
    "AutoscalingConfig",
    "CanaryConfig",
    "ConfigModel",
    "EksConfig",
    "FailoverConfig",
    "GatewayConfig",
    "GatewayServiceType",
    "GpuAmiType",
    "GpuConfig",
    "HostConfig",
    "KubernetesConfig",
    "Lane",
    "LoadConfig",
    "ModelCacheConfig",
    "ModelCacheType",
    "ModelProfile",
    "MonitoringConfig",
    "Platform",
    "Quantization",
    "RoutingConfig",
    "RoutingStrategy",
    "ScheduleConfig",
    "SizingConfig",
    "SloConfig",
    "StackConfig",
    "Tier",
    "TlsMode",
    "scope",
    "valid_cidrs",
    "vpc_network",
]
