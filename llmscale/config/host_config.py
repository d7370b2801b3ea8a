"""`llmscale:host`: the single GPU host's access, name, certificate, network and recovery."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from llmscale.config.base import (
    AZ_NAME,
    DOMAIN,
    EMAIL,
    SNS_TOPIC_ARN,
    SUBNET_ID,
    ZONE_ID,
    ConfigModel,
    Platform,
    scope,
    valid_cidrs,
    vpc_network,
)


class TlsMode(StrEnum):
    """Certificates for the single host: a public ACME certificate or Caddy's internal CA."""

    ACME = "acme"
    INTERNAL = "internal"


class HostConfig(ConfigModel):
    """What the single-GPU host needs: who may reach it, its name, its network."""

    allowed_cidrs: list[str] = Field(
        default=[],
        description="Networks (CIDR) allowed to reach HTTPS (443) on the host; nothing else is open (no SSH: use SSM "
        "Session Manager). Required on platform aws; `tls: acme` needs 0.0.0.0/0 for the ACME validators.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    domain: Annotated[
        str | None,
        Field(
            pattern=DOMAIN,
            description="The host's DNS name: the name Caddy serves and, with hostedZoneId, the A record llmscale "
            "writes; none: clients use the address and Caddy's internal certificate.",
        ),
    ] = None
    hosted_zone_id: Annotated[
        str | None,
        Field(
            pattern=ZONE_ID,
            description="The Route 53 hosted zone of domain, where llmscale writes the host's A record (checked by "
            "`llmscale preflight`); none: you point the name at the Elastic IP yourself.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    tls: TlsMode = Field(
        default=TlsMode.INTERNAL,
        description="The certificate Caddy serves: `internal` (Caddy's own CA; clients must trust it or skip "
        "verification) or `acme` (a public certificate for domain, which needs port 443 open to the internet).",
    )
    acme_email: Annotated[
        str | None,
        Field(
            pattern=EMAIL,
            description="The contact address Caddy gives the ACME certificate authority (expiry notices); optional.",
        ),
    ] = None
    vpc_cidr: str = Field(
        default="10.42.0.0/16",
        description="The address range of the VPC llmscale builds for the host (a /16 to /24; the host's subnet is "
        "its first /24). Unused with subnetId.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    subnet_id: Annotated[
        str | None,
        Field(
            pattern=SUBNET_ID,
            description="An existing public subnet (routed to an internet gateway: the host's Elastic IP answers "
            "there) to put the host in, instead of a VPC of its own; its zone must offer gpu.instanceType.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    availability_zone: Annotated[
        str | None,
        Field(
            pattern=AZ_NAME,
            description="The zone of the host's subnet; none: the first zone (by name) of the region that offers "
            "gpu.instanceType, looked up at deploy time. Unused with subnetId.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    recover_on_failure: bool = Field(
        default=True,
        description="CloudWatch alarms that reboot the instance on a failed instance status check and move it to "
        "healthy hardware (stop and start) on a failed system check.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    alarm_topic_arn: Annotated[
        str | None,
        Field(
            pattern=SNS_TOPIC_ARN,
            description=(
                "SNS topic, in the stack's region, that the instance's recovery alarms notify when they fire "
                "and when they clear (subscribe email, AWS Chatbot or PagerDuty to it); none by default"
            ),
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None

    _allowed_cidrs = field_validator("allowed_cidrs")(valid_cidrs)

    _vpc_cidr = field_validator("vpc_cidr")(
        lambda cidr: vpc_network(cidr, 24, "an AWS VPC limit with room for a /26 subnet")
    )

    @model_validator(mode="after")
    def _tls_needs_public_name(self) -> HostConfig:
        if self.tls is TlsMode.ACME:
            if self.domain is None:
                raise ValueError("domain: tls acme needs a domain; set host.domain or use tls: internal")
            if "0.0.0.0/0" not in self.allowed_cidrs:
                raise ValueError(
                    "allowedCidrs: tls acme needs port 443 reachable by the ACME validators; add "
                    "0.0.0.0/0 or use tls: internal"
                )
        if self.hosted_zone_id is not None and self.domain is None:
            raise ValueError("domain: hostedZoneId is set, so a domain is needed for the DNS record")
        return self
