"""Tests for DNS failover: endpoint kinds and record layouts (pure) and the DnsFailover component under mocks."""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from components.aws.dns_failover import DnsFailover
from llmscale.aws import dns
from llmscale.policy.model import Inventory, Record
from llmscale.policy.redundancy import dns_failover
from tests.aws_harness import Run, run

ZONE_ID = "Z0123456789ABCDEFGHIJ"
RECORD = "llm.example.com"
PRIMARY_LB = "k8s-gateway-abc123.elb.eu-west-1.amazonaws.com"
STANDBY_LB = "k8s-gateway-def456.elb.us-west-2.amazonaws.com"
ONPREM_IP = "34.120.5.6"
ONPREM_IP_2 = "35.190.7.8"
TAGS = {"llmscale:stack": "t"}

CHECK = "aws:route53/healthCheck:HealthCheck"
DNS_RECORD = "aws:route53/record:Record"


def output(value: str) -> Any:
    """An endpoint known only at deploy time (e.g. another stack's output), made inside the program."""
    return lambda: pulumi.Output.from_input(value)


def build(primary: Any, secondary: Any, *, standby: bool = False, **options: Any) -> Run:
    """Run a DnsFailover; an endpoint given as a callable is called inside the program (Outputs need its loop)."""

    def program() -> dict[str, Any]:
        provider = aws.Provider("dns", region="us-east-1") if standby else None
        failover = DnsFailover(
            "dns",
            zone_id=ZONE_ID,
            record_name=RECORD,
            primary_endpoint=primary() if callable(primary) else primary,
            secondary_endpoint=secondary() if callable(secondary) else secondary,
            tags=TAGS,
            provider=provider,
            **options,
        )
        return {
            "fqdn": failover.fqdn,
            "primary_check": failover.primary_health_check_id,
            "secondary_check": failover.secondary_health_check_id,
        }

    return run(program)


def failover_records(plan: Run) -> dict[str, Any]:
    """Failover role -> record inputs."""
    return {
        r.inputs["failoverRoutingPolicies"][0]["type"]: r.inputs
        for r in plan.of_type(DNS_RECORD)
        if r.inputs.get("failoverRoutingPolicies")
    }


# --- pure decisions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [(PRIMARY_LB, "hostname"), ("LLM.Example.COM.", "hostname"), (ONPREM_IP, "ip"), (" 34.120.5.6 ", "ip")],
)
def test_endpoint_kind(value: str, kind: str) -> None:
    assert dns.endpoint_kind(value) == kind


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://llm.example.com", "without scheme"),
        ("llm.example.com:8443", "without scheme"),
        ("localhost", "without scheme"),
        ("2001:4860::8888", "IPv6"),
        ("10.1.2.3", "not a public address"),
        ("127.0.0.1", "not a public address"),
        ("", "without scheme"),
    ],
)
def test_bad_endpoints_are_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dns.endpoint_kind(value)


@given(st.ip_addresses(v=4))
def test_any_public_ipv4_address_is_an_ip_endpoint(address: ipaddress.IPv4Address) -> None:
    assume(address.is_global)
    assert dns.endpoint_kind(str(address)) == "ip"


@given(st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True), min_size=2, max_size=5))
def test_dns_names_are_hostname_endpoints(labels: list[str]) -> None:
    assume(not all(label.isdigit() for label in labels))
    assert dns.endpoint_kind(".".join(labels)) == "hostname"


def test_a_plain_string_endpoint_decides_its_own_kind() -> None:
    assert dns.resolve_endpoint_kind(ONPREM_IP, None, "secondary") == "ip"
    assert dns.resolve_endpoint_kind(PRIMARY_LB, "hostname", "primary") == "hostname"
    with pytest.raises(ValueError, match="is a ip, but its kind was declared 'hostname'"):
        dns.resolve_endpoint_kind(ONPREM_IP, "hostname", "secondary")


def test_an_output_endpoint_needs_a_declared_kind() -> None:
    assert dns.resolve_endpoint_kind(object(), "ip", "secondary") == "ip"
    with pytest.raises(ValueError, match="declare its kind"):
        dns.resolve_endpoint_kind(object(), None, "secondary")
    with pytest.raises(ValueError, match="must be one of hostname, ip"):
        dns.resolve_endpoint_kind(object(), "cname", "secondary")


def test_deploy_time_check_of_an_endpoint_against_its_kind() -> None:
    assert dns.check_endpoint("Standby.Example.com.", "hostname") == "standby.example.com"
    with pytest.raises(ValueError, match="declared a ip but is a hostname"):
        dns.check_endpoint(STANDBY_LB, "ip")


@pytest.mark.parametrize(
    ("primary", "secondary", "record_type", "helpers"),
    [
        ("hostname", "hostname", "CNAME", [None, None]),
        ("ip", "ip", "A", [None, None]),
        ("hostname", "ip", "CNAME", [None, f"secondary.{RECORD}"]),
        ("ip", "hostname", "CNAME", [f"primary.{RECORD}", None]),
    ],
)
def test_record_layout(primary: str, secondary: str, record_type: str, helpers: list[str | None]) -> None:
    layout = dns.failover_records(RECORD, primary, secondary)  # type: ignore[arg-type]
    assert [r.role for r in layout] == ["PRIMARY", "SECONDARY"]
    assert len({r.set_identifier for r in layout}) == 2
    assert {r.record_type for r in layout} == {record_type}  # one name, one type
    assert [r.helper_name for r in layout] == helpers


@pytest.mark.parametrize(
    ("protocol", "port", "path", "message"),
    [("TCP", 443, "/health", "protocol"), ("HTTPS", 0, "/health", "port"), ("HTTP", 80, "health", "path")],
)
def test_bad_health_check_settings_are_refused(protocol: str, port: int, path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dns.health_check_settings(protocol, port, path)


@pytest.mark.parametrize("name", ["llm", "https://llm.example.com", "llm..example.com", "-llm.example.com"])
def test_bad_record_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="record name"):
        dns.validate_record_name(name)


# --- the component ---------------------------------------------------------------------------------------------


def test_two_hostnames_give_primary_and_secondary_cnames_each_health_checked() -> None:
    plan = build(PRIMARY_LB, STANDBY_LB)
    records = failover_records(plan)
    assert set(records) == {"PRIMARY", "SECONDARY"}
    assert len(plan.of_type(DNS_RECORD)) == 2
    assert {r["name"] for r in records.values()} == {RECORD}
    assert records["PRIMARY"]["setIdentifier"] != records["SECONDARY"]["setIdentifier"]
    assert {r["type"] for r in records.values()} == {"CNAME"}
    assert all(r["ttl"] == 60 and r["zoneId"] == ZONE_ID for r in records.values())
    assert records["PRIMARY"]["records"] == [PRIMARY_LB]
    assert records["SECONDARY"]["records"] == [STANDBY_LB]

    checks = {c.name: c for c in plan.of_type(CHECK)}
    assert records["PRIMARY"]["healthCheckId"] == "dns-primary-id" == plan.values["primary_check"]
    assert records["SECONDARY"]["healthCheckId"] == "dns-secondary-id" == plan.values["secondary_check"]
    assert checks["dns-primary"].inputs["fqdn"] == PRIMARY_LB
    assert checks["dns-secondary"].inputs["fqdn"] == STANDBY_LB
    for check in checks.values():
        assert check.inputs["type"] == "HTTPS"
        assert check.inputs["port"] == 443
        assert check.inputs["resourcePath"] == "/health"
        assert check.inputs["requestInterval"] == 10
        assert check.inputs["failureThreshold"] == 3
        assert check.inputs["measureLatency"] is True
        assert "ipAddress" not in check.inputs
        assert "regions" not in check.inputs  # Route 53's default checker regions
    assert plan.values["fqdn"] == RECORD


def test_two_ips_give_a_records_with_ip_health_checks() -> None:
    plan = build(ONPREM_IP, ONPREM_IP_2)
    records = failover_records(plan)
    assert {r["type"] for r in records.values()} == {"A"}
    assert records["PRIMARY"]["records"] == [ONPREM_IP]
    checks = {c.name: c.inputs for c in plan.of_type(CHECK)}
    assert checks["dns-primary"]["ipAddress"] == ONPREM_IP
    assert checks["dns-secondary"]["ipAddress"] == ONPREM_IP_2
    assert all(c["fqdn"] == RECORD for c in checks.values())  # Host header and SNI: the public name


def test_a_hostname_failing_over_to_an_ip_uses_a_helper_a_record() -> None:
    plan = build(PRIMARY_LB, ONPREM_IP)
    records = failover_records(plan)
    assert {r["type"] for r in records.values()} == {"CNAME"}
    assert records["SECONDARY"]["records"] == [f"secondary.{RECORD}"]
    helper = plan.one(DNS_RECORD, "dns-secondary-address").inputs
    assert helper == {"zoneId": ZONE_ID, "name": f"secondary.{RECORD}", "type": "A", "ttl": 60, "records": [ONPREM_IP]}
    assert "failoverRoutingPolicies" not in helper and "setIdentifier" not in helper
    secondary = plan.one(DNS_RECORD, "dns-secondary")
    assert plan.urn_of("dns-secondary-address") in secondary.dependencies
    assert {c.name: c.inputs.get("ipAddress") for c in plan.of_type(CHECK)} == {
        "dns-primary": None,
        "dns-secondary": ONPREM_IP,
    }


def test_a_standby_from_another_stack_with_a_declared_kind() -> None:
    plan = build(PRIMARY_LB, output(STANDBY_LB), secondary_kind="hostname")
    assert failover_records(plan)["SECONDARY"]["records"] == [STANDBY_LB]


def test_an_output_endpoint_without_a_kind_fails_before_any_resource() -> None:
    with pytest.raises(ValueError, match="secondary endpoint is not a plain string"):
        build(PRIMARY_LB, output(STANDBY_LB))


def test_an_output_endpoint_of_the_wrong_kind_fails_the_deployment() -> None:
    with pytest.raises(Exception, match="declared a ip but is a hostname"):
        build(PRIMARY_LB, output(STANDBY_LB), secondary_kind="ip")


def test_plain_http_health_checks() -> None:
    plan = build(PRIMARY_LB, STANDBY_LB, protocol="HTTP", port=80, health_path="/healthz")
    for check in plan.of_type(CHECK):
        assert (check.inputs["type"], check.inputs["port"], check.inputs["resourcePath"]) == ("HTTP", 80, "/healthz")


def test_the_project_failover_policy_is_satisfied() -> None:
    plan = build(PRIMARY_LB, ONPREM_IP)
    inventory = Inventory.of(Record(r.type, r.name, r.inputs, r.urn) for r in plan.resources)
    assert list(dns_failover(inventory)) == []


def test_children_are_parented_tagged_and_use_the_given_provider() -> None:
    plan = build(PRIMARY_LB, ONPREM_IP, standby=True)
    component = plan.one("llmscale:index:DnsFailover")
    provider = f"{plan.urn_of('dns', 'pulumi:providers:aws')}::dns-id"
    children = [r for r in plan.resources if r.custom and r.type != "pulumi:providers:aws"]
    assert len(children) == 5
    assert all(r.parent == component.urn and r.provider == provider for r in children)
    assert all(c.inputs["tags"] == {**TAGS, "Name": c.name} for c in plan.of_type(CHECK))
