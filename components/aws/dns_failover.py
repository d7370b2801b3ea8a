"""DNS failover between two regions (or a region and a facility): Route 53 health checks and failover records.

Route 53 answers with the PRIMARY record while its health check passes, with the SECONDARY when the primary
fails and the secondary passes, and with the primary when both fail. Both endpoints get a health check, so a
dead standby is visible (and alarmed on) before it is needed.

The health check requests `health_path` (the gateway's unauthenticated `/health` route) on each endpoint. For
a hostname endpoint (a load balancer), Route 53 resolves the name and sends it as the Host header and TLS SNI;
for an IP endpoint it connects to the address and sends `record_name` instead. The gateway's `/health` route
must therefore answer for that Host: an HTTPRoute restricted to the public hostname alone will 404 the checks
on a load balancer hostname. HTTPS checks do not validate the certificate.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.dns import (
    FAILOVER_TTL,
    EndpointKind,
    FailoverRecord,
    check_endpoint,
    failover_records,
    health_check_settings,
    resolve_endpoint_kind,
    validate_record_name,
)


class DnsFailover(pulumi.ComponentResource):
    """Two health-checked failover records of one name: PRIMARY to `primary_endpoint`, SECONDARY to the standby.

    Endpoints are hostnames (CNAME) or public IPv4 addresses (A, with an IP health check). The record type
    must be known before an endpoint's value is (e.g. the standby stack's load balancer, a StackReference
    output), so an endpoint that is not a plain string needs `primary_kind` / `secondary_kind`; its value is
    checked against the kind at deploy time. A hostname and an IP together become two CNAMEs, the IP side
    through a helper A record `<primary|secondary>.<record_name>` (a CNAME cannot share its name with an A).
    `record_name` must not be the zone apex when a CNAME is used.
    """

    fqdn: pulumi.Output[str]
    record_type: str
    primary_health_check_id: pulumi.Output[str]
    secondary_health_check_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        zone_id: pulumi.Input[str],
        record_name: str,
        primary_endpoint: pulumi.Input[str],
        secondary_endpoint: pulumi.Input[str],
        primary_kind: EndpointKind | None = None,
        secondary_kind: EndpointKind | None = None,
        health_path: str = "/health",
        port: int = 443,
        protocol: str = "HTTPS",
        tags: dict[str, str],
        provider: aws.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        record_name = validate_record_name(record_name)
        settings = health_check_settings(protocol, port, health_path)
        kinds = (
            resolve_endpoint_kind(primary_endpoint, primary_kind, "primary"),
            resolve_endpoint_kind(secondary_endpoint, secondary_kind, "secondary"),
        )
        layout = failover_records(record_name, *kinds)
        super().__init__("llmscale:index:DnsFailover", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        check_ids: list[pulumi.Output[str]] = []
        records: list[aws.route53.Record] = []
        for spec, endpoint in zip(layout, (primary_endpoint, secondary_endpoint), strict=True):
            value = pulumi.Output.from_input(endpoint).apply(lambda v, kind=spec.kind: check_endpoint(v, kind))
            check = aws.route53.HealthCheck(
                f"{name}-{spec.label}",
                **settings,
                **self._target(spec, value, record_name),
                tags={**tags, "Name": f"{name}-{spec.label}"},
                opts=child,
            )
            answer, helper = self._answer(name, spec, value, zone_id, child)
            records.append(
                aws.route53.Record(
                    f"{name}-{spec.label}",
                    zone_id=zone_id,
                    name=record_name,
                    type=spec.record_type,
                    ttl=FAILOVER_TTL,
                    records=[answer],
                    set_identifier=spec.set_identifier,
                    failover_routing_policies=[{"type": spec.role}],
                    health_check_id=check.id,
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=helper)),
                )
            )
            check_ids.append(check.id)

        self.fqdn = records[0].fqdn
        self.record_type = layout[0].record_type
        self.primary_health_check_id, self.secondary_health_check_id = check_ids
        self.register_outputs(
            {
                "fqdn": self.fqdn,
                "recordType": self.record_type,
                "primaryHealthCheckId": self.primary_health_check_id,
                "secondaryHealthCheckId": self.secondary_health_check_id,
            }
        )

    @staticmethod
    def _target(spec: FailoverRecord, value: pulumi.Output[str], record_name: str) -> dict[str, pulumi.Input[str]]:
        """What a health check probes: the hostname (resolved by Route 53), or the IP with the public name as Host."""
        if spec.kind == "hostname":
            return {"fqdn": value}
        return {"ip_address": value, "fqdn": record_name}

    def _answer(
        self,
        name: str,
        spec: FailoverRecord,
        value: pulumi.Output[str],
        zone_id: pulumi.Input[str],
        child: pulumi.ResourceOptions,
    ) -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
        """The value of a failover record (the endpoint, or the name of a helper A record holding its IP)."""
        if spec.helper_name is None:
            return value, []
        helper = aws.route53.Record(
            f"{name}-{spec.label}-address",
            zone_id=zone_id,
            name=spec.helper_name,
            type="A",
            ttl=FAILOVER_TTL,
            records=[value],
            opts=child,
        )
        return spec.helper_name, [helper]
