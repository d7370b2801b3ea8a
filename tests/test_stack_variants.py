"""A stack's config is one of three platform variants, chosen by `platform`: each holds only what its platform reads.

`AwsStackConfig` requires the region and carries the EKS section; `KubernetesStackConfig` (an existing cluster) has
no EKS section and an optional region; `HostStackConfig` (an existing server) has neither, nor any cluster section.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack, parse_values
from llmscale.config.models import (
    STACK_VARIANTS,
    AnyStackConfig,
    AwsStackConfig,
    EksConfig,
    HostStackConfig,
    KubernetesStackConfig,
    ModelProfile,
    Platform,
)
from llmscale.tiers.args import AwsEksPlatform, EnterpriseTierArgs, KubernetesPlatform
from llmscale.tiers.config import stack_config

SECRETS = {"llmscale:apiKeys"}
CHAT = [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}]
CLUSTER_KEYS = ("routing", "kubernetes", "gateway", "autoscaling", "failover")


def stack(tier: str, platform: str, **keys: Any) -> dict[str, Any]:
    """A valid stack's values on `platform`, with `keys` (`llmscale:` keys, or `aws:region`) added or replaced."""
    values: dict[str, Any] = {"llmscale:tier": tier, "llmscale:platform": platform, "llmscale:models": CHAT}
    if platform != "host":
        values["llmscale:apiKeys"] = "[secret]"
    if platform == "aws":
        values["aws:region"] = "eu-west-1"
        values["llmscale:host" if tier == "single-gpu" else "llmscale:eks"] = (
            {"allowedCidrs": ["203.0.113.0/24"]} if tier == "single-gpu" else {"publicAccessCidrs": ["203.0.113.0/24"]}
        )
    values.update(keys)
    return {key: value for key, value in values.items() if value is not None}


def lines(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_values(values, SECRETS, "stacks/Pulumi.x.yaml")
    return raised.value.lines()


@pytest.mark.parametrize(
    ("name", "variant"),
    [
        ("single-gpu", AwsStackConfig),
        ("single-gpu-host", HostStackConfig),
        ("multi-gpu", AwsStackConfig),
        ("onprem", KubernetesStackConfig),
        ("enterprise", AwsStackConfig),
    ],
)
def test_each_example_parses_into_its_platforms_variant(name: str, variant: type) -> None:
    config = load_stack(name).config
    assert type(config) is variant is STACK_VARIANTS[config.platform]


def test_only_the_aws_variant_has_an_eks_section_and_a_required_region() -> None:
    assert "eks" in AwsStackConfig.model_fields and AwsStackConfig.model_fields["region"].is_required()
    assert "eks" not in KubernetesStackConfig.model_fields and "host" not in KubernetesStackConfig.model_fields
    assert not KubernetesStackConfig.model_fields["region"].is_required()
    assert not {*CLUSTER_KEYS, "eks", "region"} & set(HostStackConfig.model_fields)
    host = load_stack("single-gpu-host").config
    assert not any(hasattr(host, key) for key in (*CLUSTER_KEYS, "eks", "region"))


def test_the_union_is_discriminated_on_platform() -> None:
    schema = TypeAdapter(AnyStackConfig).json_schema()
    assert schema["discriminator"]["propertyName"] == "platform"
    assert set(schema["discriminator"]["mapping"]) == {str(p) for p in Platform}


@pytest.mark.parametrize(
    ("values", "line"),
    [
        (
            stack("multi-gpu", "kubernetes", **{"llmscale:eks": {"zoneCount": 2}}),
            "llmscale:eks: only used on platform aws (llmscale builds the cluster there); remove it",
        ),
        (
            stack("single-gpu", "host", **{"llmscale:gateway": {"replicas": 2}}),
            "llmscale:gateway: only used on platforms aws and kubernetes (a cluster); remove it",
        ),
        (
            stack("single-gpu", "host", **{"llmscale:failover": {"recordName": "llm.example.com"}}),
            "llmscale:failover: only used on platforms aws and kubernetes (a cluster); remove it",
        ),
        (
            stack("multi-gpu", "kubernetes", **{"llmscale:host": {"domain": "llm.example.com"}}),
            "llmscale:host: only used on platforms aws and host (the single-gpu tier); remove it",
        ),
    ],
    ids=["eks-on-kubernetes", "gateway-on-host", "failover-on-host", "host-on-kubernetes"],
)
def test_a_key_of_another_platform_is_refused_by_the_schema(values: dict[str, Any], line: str) -> None:
    assert lines(values) == [f"stacks/Pulumi.x.yaml: {line}"]


def test_the_region_is_required_on_aws_optional_on_kubernetes_and_unused_on_a_host() -> None:
    assert lines(stack("multi-gpu", "aws", **{"aws:region": None})) == [
        "stacks/Pulumi.x.yaml: aws:region: required on platform aws (for example `pulumi config set aws:region "
        "eu-west-1`)"
    ]
    config, region = parse_values(stack("multi-gpu", "kubernetes"), SECRETS, "s")
    assert isinstance(config, KubernetesStackConfig) and config.region is None and region is None
    config, region = parse_values(stack("multi-gpu", "kubernetes", **{"aws:region": "eu-west-1"}), SECRETS, "s")
    assert config.region == region == "eu-west-1"
    config, region = parse_values(stack("single-gpu", "host", **{"aws:region": "eu-west-1"}), set(), "s")
    assert isinstance(config, HostStackConfig) and region is None


def test_the_region_under_llmscale_is_refused_with_where_it_belongs() -> None:
    (line,) = lines(stack("single-gpu", "aws", **{"llmscale:region": "eu-west-1"}))
    assert line == (
        "stacks/Pulumi.x.yaml: llmscale:region: unknown key; the AWS region is aws:region (the AWS provider's key)"
    )


def test_the_enterprise_presets_eks_section_stays_off_an_existing_cluster() -> None:
    values = stack(
        "enterprise",
        "kubernetes",
        **{
            "llmscale:failover": {
                "hostedZoneId": "Z0123456789ABCDEFGHIJ",
                "recordName": "llm.example.com",
                "primaryEndpoint": "llm-primary.example.com",
                "standbyEndpoint": "llm-standby.example.com",
            }
        },
    )
    config, _ = parse_values(values, SECRETS, "s")
    assert isinstance(config, KubernetesStackConfig) and config.kubernetes.topology_spread
    aws, _ = parse_values(stack("enterprise", "aws"), SECRETS, "s")
    assert isinstance(aws, AwsStackConfig) and aws.eks.zone_total == 3


def test_a_stack_without_a_platform_hears_every_shared_problem_at_once() -> None:
    assert [line.split(": ")[1] for line in lines({})] == ["llmscale:tier", "llmscale:platform", "llmscale:models"]
    bad = lines({"llmscale:tier": "multi-gpu", "llmscale:platform": "gcp", "llmscale:eks": {}, "llmscale:modles": []})
    assert bad == [
        "stacks/Pulumi.x.yaml: llmscale:platform: Input should be 'aws', 'kubernetes' or 'host'",
        "stacks/Pulumi.x.yaml: llmscale:models: required key is missing",
        "stacks/Pulumi.x.yaml: llmscale:modles: unknown key; did you mean models? known keys: apiKeys, environment, "
        "gpu, grafanaAdminPassword, hfToken, load, models, monitoring, pagerdutyRoutingKey, platform, schedule, "
        "sizing, slackWebhookUrl, slo, tier",
    ]


def test_a_platform_that_does_not_fit_the_tier_is_blamed_not_the_tiers_sections() -> None:
    assert lines(stack("single-gpu", "kubernetes", **{"llmscale:host": {"domain": "llm.example.com"}})) == [
        "stacks/Pulumi.x.yaml: llmscale:platform: kubernetes does not fit tier single-gpu (allowed: aws, host); a "
        "single GPU needs no cluster; use tier multi-gpu, or platform host or aws"
    ]


def test_tier_args_build_the_variant_of_their_platform() -> None:
    eks = EksConfig(public_access_cidrs=["203.0.113.0/24"])
    models = [ModelProfile(name="chat", model="meta-llama/Llama-3.1-8B-Instruct")]
    keys = {"api_keys": "k-0123456789abcdef0123456789abcdef", "models": models}
    on_aws = stack_config(
        EnterpriseTierArgs(platform=AwsEksPlatform(region="eu-central-1", eks=eks), **keys)  # type: ignore[arg-type]
    )
    assert isinstance(on_aws, AwsStackConfig) and on_aws.region == "eu-central-1" and on_aws.eks.zone_total == 3
    existing = stack_config(EnterpriseTierArgs(platform=KubernetesPlatform(), **keys))  # type: ignore[arg-type]
    assert isinstance(existing, KubernetesStackConfig) and existing.region is None
