"""AWS regions: llmscale's list is pulumi-aws's Region enum, and stack files naming another region are refused.

Also the failover endpoints of an enterprise stack on an existing cluster: `primaryEndpoint` where the primary is
not built here, public addresses only (Route 53 health checkers probe them from the internet).
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_aws import Region

from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values
from llmscale.config.regions import AWS_REGIONS, is_known_region, region_problem

SECRETS = {"llmscale:apiKeys"}


def test_the_list_is_the_providers_region_enum() -> None:
    assert set(AWS_REGIONS) == {region.value for region in Region}
    assert len(AWS_REGIONS) == len(set(AWS_REGIONS))


@pytest.mark.parametrize("region", ["eu-west-1", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"])
def test_known_regions(region: str) -> None:
    assert is_known_region(region) and region_problem(region) is None


@pytest.mark.parametrize(("region", "hint"), [("us-east-9", "did you mean"), ("mars-1", "such as eu-west-1")])
def test_unknown_regions_say_what_would_work_without_echoing(region: str, hint: str) -> None:
    problem = region_problem(region)
    assert problem is not None and hint in problem
    assert region not in problem


def single_gpu(region: str) -> dict[str, Any]:
    return {
        "aws:region": region,
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
    }


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_values(values, SECRETS, "stacks/Pulumi.x.yaml")
    return raised.value.lines()


@pytest.mark.parametrize("region", ["mars-1", "us-east-9", "eu-west-1a"])
def test_a_stack_in_an_unknown_region_is_refused(region: str) -> None:
    (line,) = problems(single_gpu(region))
    assert line.startswith("stacks/Pulumi.x.yaml: aws:region: is not an AWS region pulumi-aws knows")


def test_a_standby_in_an_unknown_region_is_refused() -> None:
    values = {
        **single_gpu("eu-west-1"),
        "llmscale:tier": "enterprise",
        "llmscale:host": None,
        "llmscale:failover": {
            "hostedZoneId": "Z0123456789ABCDEFGHIJ",
            "recordName": "llm.example.com",
            "standbyRegion": "eu-central-9",
        },
    }
    del values["llmscale:host"]
    lines = problems(values)
    assert any(
        line.startswith("stacks/Pulumi.x.yaml: llmscale:failover.standbyRegion: is not an AWS region") for line in lines
    )


def kubernetes_enterprise(**failover: Any) -> dict[str, Any]:
    return {
        "llmscale:tier": "enterprise",
        "llmscale:platform": "kubernetes",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:failover": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "llm.example.com", **failover},
    }


def test_an_existing_cluster_names_its_primary_endpoint() -> None:
    config, _ = parse_values(
        kubernetes_enterprise(standbyEndpoint="llm-b.example.com", primaryEndpoint="llm-a.example.com"), SECRETS, "s"
    )
    assert config.failover is not None and config.failover.primary_endpoint == "llm-a.example.com"
    assert problems(kubernetes_enterprise(standbyEndpoint="llm-b.example.com")) == [
        "stacks/Pulumi.x.yaml: llmscale:failover.primaryEndpoint: required on platform kubernetes: the public host "
        "name or IPv4 address the cluster's gateway answers on, which the primary health check probes"
    ]


def test_aws_has_no_primary_endpoint_to_give() -> None:
    values = {
        **kubernetes_enterprise(standbyRegion="eu-central-1", primaryEndpoint="llm-a.example.com"),
        "llmscale:platform": "aws",
        "aws:region": "eu-west-1",
        "llmscale:eks": {"publicAccessCidrs": ["203.0.113.0/24"]},
    }
    assert problems(values) == [
        "stacks/Pulumi.x.yaml: llmscale:failover.primaryEndpoint: platform aws health-checks the load balancer it "
        "builds; remove it"
    ]


@pytest.mark.parametrize("endpoint", ["10.0.0.5", "192.168.1.20", "203.0.113.7"])
def test_endpoints_must_be_public(endpoint: str) -> None:
    lines = problems(kubernetes_enterprise(standbyEndpoint=endpoint, primaryEndpoint="llm-a.example.com"))
    assert lines == [
        "stacks/Pulumi.x.yaml: llmscale:failover.standbyEndpoint: must be a public host name or a public IPv4 "
        "address: Route 53 health checkers probe it from the internet"
    ]
