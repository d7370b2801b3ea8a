"""What every config model shares: the camelCase base model, tiers and platforms, value patterns and their hints."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
NO_SPACE = r"^\S+$"
IMAGE_REF = r"^[^\s:@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
CLI_ARG = r"^--[a-z0-9][a-z0-9-]*(=.*)?$|^[^-].*$"
INSTANCE_TYPE = r"^[a-z0-9]+\.[a-z0-9-]+$"
HEADER_NAME = r"^[A-Za-z0-9-]+$"
DOMAIN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ZONE_ID = r"^Z[A-Z0-9]{5,31}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"
AZ_NAME = r"^[a-z]{2}-[a-z]+-\d[a-z]$"
ENVIRONMENT = r"^(production|staging|development)$"
MODEL_ID = r"^[^-\s]\S*$"
K8S_VERSION = r"^1\.\d{2}$"
AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
ENDPOINT = r"^(([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|\d{1,3}(\.\d{1,3}){3})$"
IAM_PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
ABS_PATH = r"^/[^\s]*$"
LABEL_KEY = r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
HTTP_URL = r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$"
RUNBOOK_URL = r"^https?://[^\s/#]+(/[^\s#]*)?$"
SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$"

PATTERN_HINTS: dict[str, str] = {
    DNS_LABEL: "must be a lowercase DNS label: a-z, 0-9 and '-', starting with a letter, at most 32 characters",
    NO_SPACE: "must be a non-empty value without spaces",
    AWS_REGION: "must be an AWS region such as eu-central-1",
    ENDPOINT: "must be a host name such as llm-standby.example.com or an IPv4 address",
    K8S_VERSION: "must be a Kubernetes minor version such as 1.35",
    IAM_PRINCIPAL_ARN: "must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins",
    MODEL_ID: "must be a model id without spaces, not starting with '-' (a Hugging Face id such as org/model)",
    IMAGE_REF: "must be an image reference such as vllm/vllm-openai:v0.33.0",
    CLI_ARG: "must be a vLLM flag such as --enable-chunked-prefill or --flag=value",
    INSTANCE_TYPE: "must be an EC2 instance type such as g6e.xlarge (or FAMILY.SIZE for your own nodes)",
    HEADER_NAME: "must be an HTTP header name such as x-session-id",
    DOMAIN: "must be a lowercase DNS name such as llm.example.com",
    ZONE_ID: "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
    EMAIL: "must be an email address",
    SUBNET_ID: "must be a subnet id such as subnet-0123456789abcdef0",
    AZ_NAME: "must be an availability zone name such as eu-west-1a",
    ENVIRONMENT: "must be production, staging or development",
    DNS_SUBDOMAIN: "must be a lowercase DNS name (a-z, 0-9, '-' and '.')",
    ABS_PATH: "must be an absolute path such as /var/lib/llmscale/models",
    LABEL_KEY: "must be a Kubernetes label key such as nvidia.com/gpu",
    HTTP_URL: "must be an http(s) URL such as http://prometheus.monitoring.svc:9090",
    RUNBOOK_URL: "must be an absolute http(s) URL without a #fragment, such as https://wiki.example.com/llm-runbook "
    "(each alert links to it with # and its name in lower case)",
    SNS_TOPIC_ARN: "must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:llm-alarms",
}
# Where the project lives (pyproject.toml [project.urls] Repository; a test keeps the two equal), and the runbook
# alerts link to by default: docs/runbook.md there, one section per alert.
REPOSITORY_URL = "https://github.com/llmscale/llmscale"
DEFAULT_RUNBOOK_URL = f"{REPOSITORY_URL}/blob/main/docs/runbook.md"
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigModel(BaseModel):
    """Base of every config model: camelCase keys, unknown keys rejected, values immutable once parsed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Tier(StrEnum):
    """The deployment tier: decides the presets and which components are built."""

    SINGLE_GPU = "single-gpu"
    MULTI_GPU = "multi-gpu"
    ENTERPRISE = "enterprise"


class Platform(StrEnum):
    """Where the tier runs: AWS (llmscale builds everything), an existing Kubernetes cluster, or an existing host."""

    AWS = "aws"
    KUBERNETES = "kubernetes"
    HOST = "host"


def scope(*, tiers: tuple[Tier, ...] = (), platforms: tuple[Platform, ...] = ()) -> dict[str, Any]:
    """Where a key is used, as a field's `json_schema_extra`: the configuration reference (docs/configuration.md)
    prints it. It documents and does not validate; the cross-key checks (`llmscale.config.checks`) do that.
    """
    return {
        **({"tiers": [str(tier) for tier in tiers]} if tiers else {}),
        **({"platforms": [str(platform) for platform in platforms]} if platforms else {}),
    }


CLUSTER_TIERS = (Tier.MULTI_GPU, Tier.ENTERPRISE)


def valid_cidrs(cidrs: list[str]) -> list[str]:
    bad = []
    for index, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            bad.append(str(index))
    if bad:
        raise ValueError(
            f"entry {', '.join(bad)} is not a network in CIDR notation (for example 203.0.113.0/24, host bits 0)"
        )
    return cidrs


def vpc_network(cidr: str, smallest_prefix: int, why: str) -> str:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ValueError("must be an IPv4 network such as 10.60.0.0/16") from None
    if not 16 <= network.prefixlen <= smallest_prefix:
        raise ValueError(f"must be between /16 and /{smallest_prefix} ({why})")
    return cidr
