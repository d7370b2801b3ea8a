"""Decisions for the single GPU host on AWS: who may reach it, and the secrets it reads from SSM."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import SecretStr

from llmscale.config.models import StackConfig
from llmscale.host.bundle import host_secrets

HTTPS = 443


@dataclass(frozen=True)
class IngressRule:
    """One inbound rule of the host's security group."""

    cidr: str
    port: int
    description: str

    @property
    def is_ipv6(self) -> bool:
        """Whether the rule's network is IPv6 (the security group keeps those in a separate list)."""
        return ipaddress.ip_network(self.cidr).version == 6


def ingress_rules(allowed_cidrs: Sequence[str]) -> list[IngressRule]:
    """HTTPS from each allowed network and nothing else: no SSH (SSM Session Manager replaces it)."""
    return [IngressRule(cidr, HTTPS, f"HTTPS to the LLM endpoint from {cidr}") for cidr in allowed_cidrs]


def secret_parameter_values(config: StackConfig) -> dict[str, SecretStr]:
    """The SSM parameter names (under the stack's prefix) and secret values the host reads at start-up."""
    values = {secret.parameter: getattr(config, secret.setting) for secret in host_secrets(config)}
    return {name: value for name, value in values.items() if value}
