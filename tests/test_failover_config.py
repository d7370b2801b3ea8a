"""`llmscale:failover` and `llmscale:eks` validation: enterprise only, one standby, coherent names and regions."""

from __future__ import annotations

from typing import Any

import pytest

from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values

SECRETS = {"llmscale:apiKeys"}


def enterprise(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aws:region": "eu-west-1",
        "llmscale:tier": "enterprise",
        "llmscale:platform": "aws",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:eks": {"publicAccessCidrs": ["203.0.113.0/24"]},
        "llmscale:failover": {
            "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "recordName": "llm.example.com",
            "standbyRegion": "eu-central-1",
        },
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}  # None: the key left out


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_values(values, SECRETS, "stacks/Pulumi.x.yaml")
    return raised.value.lines()


def test_a_valid_enterprise_failover() -> None:
    config, region = parse_values(enterprise(), SECRETS, "s")
    assert config.failover is not None and config.failover.standby_region == "eu-central-1"
    assert config.eks.zone_total == 3 and region == "eu-west-1"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"llmscale:tier": "multi-gpu"}, "llmscale:failover: DNS failover belongs to the enterprise tier"),
        (
            {"llmscale:failover": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "llm.example.com",
                                   "standbyRegion": "eu-central-1", "standbyEndpoint": "203.0.113.10"}},
            "llmscale:failover.standbyRegion: give exactly one of standbyRegion (built here) or standbyEndpoint",
        ),
        (
            {"llmscale:failover": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "llm.example.com",
                                   "standbyRegion": "eu-west-1"}},
            "llmscale:failover.standbyRegion: is the primary region (eu-west-1); pick another",
        ),
        (
            {"llmscale:gateway": {"hostname": "other.example.com"}},
            "llmscale:gateway.hostname: the gateway answers other.example.com only",
        ),
        (
            {"llmscale:platform": "kubernetes", "aws:region": None, "llmscale:eks": None},
            "llmscale:failover.standbyRegion: only platform aws builds a standby region",
        ),
        ({"llmscale:eks": {"zoneCount": 2}}, "llmscale:eks.zoneCount: the enterprise tier spans at least 3 zones"),
        (
            {"llmscale:failover": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "llm.example.com",
                                   "standbyEndpoint": "https://x"}},
            "llmscale:failover.standbyEndpoint: must be a host name",
        ),
    ],
)  # fmt: skip
def test_invalid_failover(changes: dict[str, Any], expected: str) -> None:
    values = {k: v for k, v in enterprise(**changes).items() if v is not None}
    lines = problems(values)
    assert any(line.startswith(f"stacks/Pulumi.x.yaml: {expected}") for line in lines), lines


def test_eks_keys_only_on_aws() -> None:
    values = enterprise(**{"llmscale:platform": "kubernetes", "llmscale:eks": {"zoneCount": 3}})
    values.pop("aws:region")
    values["llmscale:failover"] = {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "llm.example.com",
                                   "standbyEndpoint": "llm-dr.example.com"}  # fmt: skip
    assert (
        "stacks/Pulumi.x.yaml: llmscale:eks: only used on platform aws (llmscale builds the cluster there); remove it"
        in (problems(values))
    )
