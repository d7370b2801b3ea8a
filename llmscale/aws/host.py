"""Decisions for the single GPU host on AWS: who may reach it, and the secrets it reads from SSM."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import SecretStr

from llmscale.config.models import AwsStackConfig, ScheduleConfig, StackConfig
from llmscale.host.bundle import BundleFile, SecretSource, bundle_manifest, host_secrets, render_bundle
from llmscale.serving.schedules import with_lead_time
from llmscale.sizing.model_size import host_disk_gib

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


@dataclass(frozen=True)
class SingleGpuHostArgs:
    """The single GPU host of stack `stack` in `region`: everything `SingleGpuHost` builds, decided.

    `bundle` and `bundle_manifest` are what the host runs (`llmscale.host.bundle`), `secret_parameters` the SSM
    SecureStrings it reads at start-up (parameter name under the stack's prefix to value). The network is new
    (`vpc_cidr`, in `availability_zone` or the first zone offering `instance_type`) unless `subnet_id` is given.
    HTTPS is open to `allowed_cidrs` only. `domain` in `hosted_zone_id` gets an A record (default none); with
    `recover_on_failure` (default on) alarms recover the instance and notify `alarm_topic_arn` (default none);
    `schedule` starts and stops it (default none: always on).
    """

    stack: str
    region: str
    instance_type: str
    disk_gib: int
    allowed_cidrs: tuple[str, ...]
    bundle: tuple[BundleFile, ...]
    bundle_manifest: str
    vpc_cidr: str
    secret_parameters: dict[str, SecretStr] = field(default_factory=dict, repr=False)
    subnet_id: str | None = None
    availability_zone: str | None = None
    domain: str | None = None
    hosted_zone_id: str | None = None
    recover_on_failure: bool = True
    alarm_topic_arn: str | None = None
    schedule: ScheduleConfig | None = None
    tags: dict[str, str] = field(default_factory=dict)


def single_gpu_host_args(config: AwsStackConfig, *, stack: str, region: str, tags: dict[str, str]) -> SingleGpuHostArgs:
    """The stack's host (`host`, `gpu`, its one profile, `schedule`) with its bundle rendered to read its secrets
    from SSM."""
    host = config.host
    bundle = render_bundle(config, stack, secret_source=SecretSource.SSM, region=region)
    return SingleGpuHostArgs(
        stack=stack,
        region=region,
        instance_type=config.gpu.instance_type,
        disk_gib=host_disk_gib(config.models[0], config.gpu.disk_gb),
        allowed_cidrs=tuple(host.allowed_cidrs),
        bundle=tuple(bundle),
        bundle_manifest=bundle_manifest(config, bundle),
        vpc_cidr=host.vpc_cidr,
        secret_parameters=secret_parameter_values(config),
        subnet_id=host.subnet_id,
        availability_zone=host.availability_zone,
        domain=host.domain,
        hosted_zone_id=host.hosted_zone_id,
        recover_on_failure=host.recover_on_failure,
        alarm_topic_arn=host.alarm_topic_arn,
        # The instance boots, starts its containers and loads the model before the users arrive.
        schedule=with_lead_time(config.schedule, config.schedule.warm_up_minutes) if config.schedule.enabled else None,
        tags=tags,
    )
