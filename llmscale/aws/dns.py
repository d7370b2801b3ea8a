"""DNS failover as pure functions: endpoint kinds, record names, PRIMARY/SECONDARY record layout and Route 53
health-check settings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal

EndpointKind = Literal["hostname", "ip"]
FailoverRole = Literal["PRIMARY", "SECONDARY"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = ("hostname", "ip")
PROTOCOLS = ("HTTP", "HTTPS")
FAILOVER_TTL = 60
HEALTH_CHECK_INTERVAL = 10  # seconds; 10 (fast) or 30 (standard)
HEALTH_CHECK_FAILURES = 3
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")


def _normalise(value: str) -> str:
    return value.strip().lower().rstrip(".")


# Route 53 is a global service, but the AWS provider still needs a region to sign its calls.
ROUTE53_SIGNING_REGION = "us-east-1"


def endpoint_kind(value: str) -> EndpointKind:
    """`ip` for an IPv4 address, `hostname` for a DNS name; anything else (a URL, IPv6, a port) is an error."""
    text = _normalise(value)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if not HOSTNAME.match(text):
            raise ValueError(
                f"endpoint {value!r} must be a hostname (e.g. abc.elb.eu-west-1.amazonaws.com) or an IPv4 address, "
                "without scheme, port or path"
            ) from None
        return "hostname"
    if address.version != 4:
        raise ValueError(f"endpoint {value!r} is IPv6: only IPv4 addresses (A records) are supported")
    if not address.is_global:
        raise ValueError(f"endpoint {value!r} is not a public address: Route 53 health checkers cannot reach it")
    return "ip"


def check_endpoint(value: str, kind: EndpointKind) -> str:
    """The endpoint, normalised, after checking it is of the declared kind (run at deploy time for Outputs)."""
    actual = endpoint_kind(value)
    if actual != kind:
        raise ValueError(f"endpoint {value!r} was declared a {kind} but is a {actual}")
    return _normalise(value)


def resolve_endpoint_kind(value: object, declared: str | None, label: str) -> EndpointKind:
    """The kind of an endpoint at construction time: inferred from a plain string, else the declared one.

    The record type must be known before the endpoint's value is (another stack's output), so an Output
    endpoint needs an explicit kind; a plain string must agree with the kind declared for it.
    """
    if declared is not None and declared not in ENDPOINT_KINDS:
        raise ValueError(f"{label} kind {declared!r} must be one of {', '.join(ENDPOINT_KINDS)}")
    if isinstance(value, str):
        inferred = endpoint_kind(value)
        if declared is not None and declared != inferred:
            raise ValueError(f"{label} endpoint {value!r} is a {inferred}, but its kind was declared {declared!r}")
        return inferred
    if declared is None:
        raise ValueError(f"{label} endpoint is not a plain string: declare its kind ('hostname' or 'ip')")
    return declared  # type: ignore[return-value]  (checked above)


def validate_record_name(record_name: str) -> str:
    """A fully qualified DNS name for the failover record, normalised (lowercase, no trailing dot)."""
    name = _normalise(record_name)
    if not HOSTNAME.match(name):
        raise ValueError(f"record name {record_name!r} must be a fully qualified DNS name (e.g. llm.example.com)")
    return name


@dataclass(frozen=True)
class FailoverRecord:
    """One failover record: its role, set identifier, type, and (for a mixed pair) the helper A record name."""

    role: FailoverRole
    set_identifier: str
    kind: EndpointKind
    record_type: Literal["A", "CNAME"]
    helper_name: str | None = None

    @property
    def label(self) -> str:
        """`primary` or `secondary`: for resource names and set identifiers."""
        return self.role.lower()


def failover_records(record_name: str, primary: EndpointKind, secondary: EndpointKind) -> list[FailoverRecord]:
    """The PRIMARY and SECONDARY records of one name, which must share a type.

    Two IPs: two A records. Two hostnames: two CNAMEs. A hostname and an IP (an EKS load balancer failing over
    to an on-prem address): both CNAMEs, the IP side pointing at a helper A record `<role>.<record_name>`,
    because Route 53 does not let a CNAME and an A record share a name.
    """
    name = validate_record_name(record_name)
    record_type: Literal["A", "CNAME"] = "A" if primary == secondary == "ip" else "CNAME"
    records = []
    for role, kind in (("PRIMARY", primary), ("SECONDARY", secondary)):
        helper = f"{role.lower()}.{name}" if record_type == "CNAME" and kind == "ip" else None
        records.append(FailoverRecord(role, role.lower(), kind, record_type, helper))  # type: ignore[arg-type]
    return records


def health_check_settings(protocol: str, port: int, health_path: str) -> dict[str, Any]:
    """The settings every failover health check shares: protocol, port, path, fast interval, latency graphs."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"health check protocol {protocol!r} must be one of {', '.join(PROTOCOLS)}")
    if not 1 <= port <= 65535:
        raise ValueError(f"health check port {port} must be between 1 and 65535")
    if not health_path.startswith("/") or any(c.isspace() for c in health_path):
        raise ValueError(f"health check path {health_path!r} must start with '/' and contain no spaces")
    return {
        "type": protocol,
        "port": port,
        "resource_path": health_path,
        "request_interval": HEALTH_CHECK_INTERVAL,
        "failure_threshold": HEALTH_CHECK_FAILURES,
        "measure_latency": True,
    }
