"""Cost and hygiene rules: night schedules, GPU taints, encryption, open ports, secrets in plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmscale.policy.hardening import BUCKETS, INSTANCE, LAUNCH_TEMPLATE, NODE_GROUP, is_true, targets
from llmscale.policy.inspect import envoy_kubernetes_settings
from llmscale.policy.model import Finding, Inventory, Record

SECRET_PATTERNS = {
    "a Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "an OpenAI-style API key": re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"),
    "an AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
REDACTED = "[secret]"


def night_schedule(inventory: Inventory) -> Iterator[Finding]:
    """Stacks that are not production scale GPUs down outside active hours."""
    if inventory.settings.get("environment", "production") == "production":
        return
    has_host_schedule = any(inventory.of_type("aws:scheduler/schedule:Schedule"))
    has_cron = any(
        trigger.get("type") == "cron"
        for record in inventory.kubernetes("ScaledObject")
        for trigger in (record.props.get("spec") or {}).get("triggers") or []
    )
    builds_gpus = any(inventory.of_type("aws:ec2/instance:Instance")) or any(inventory.kubernetes("Deployment"))
    if builds_gpus and not (has_host_schedule or has_cron):
        yield Finding(
            f"a {inventory.settings.get('environment')} stack keeps its GPUs all night; enable llmscale:schedule"
        )


def gpu_taints(inventory: Inventory) -> Iterator[Finding]:
    """GPU node groups carry the `nvidia.com/gpu` NoSchedule taint, so only GPU workloads land on them."""
    for group in inventory.of_type("aws:eks/nodeGroup:NodeGroup"):
        if "NVIDIA" not in str(group.props.get("amiType", "")).upper():
            continue
        taints = group.props.get("taints") or []
        if not any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NO_SCHEDULE" for t in taints):
            yield Finding("GPU node group without the nvidia.com/gpu NoSchedule taint", group.name, group.urn)


def encryption_at_rest(inventory: Inventory) -> Iterator[Finding]:
    """Volumes and buckets holding model weights or data are encrypted: instance root volumes, EBS volumes,
    the disks of EKS node groups (set by their launch templates) and buckets."""
    for instance in inventory.of_type(INSTANCE):
        root = instance.props.get("rootBlockDevice") or {}
        if not root.get("encrypted"):
            yield Finding("root volume is not encrypted", instance.name, instance.urn)
    for volume in inventory.of_type("aws:ebs/volume:Volume"):
        if not volume.props.get("encrypted"):
            yield Finding("EBS volume is not encrypted", volume.name, volume.urn)
    yield from _node_disks(inventory)
    configurations = list(
        inventory.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        )
    )
    for bucket in sorted(inventory.of_type(*BUCKETS), key=lambda b: b.name):
        if not any(targets(configuration, bucket) for configuration in configurations):
            yield Finding("bucket without a server-side encryption configuration", bucket.name, bucket.urn)


def _node_disks(inventory: Inventory) -> Iterator[Finding]:
    templates = {t.name: t for t in inventory.of_type(LAUNCH_TEMPLATE)}
    for template in templates.values():
        mappings = template.props.get("blockDeviceMappings")
        for mapping in mappings if isinstance(mappings, list) else []:
            ebs = mapping.get("ebs")
            if isinstance(ebs, dict) and not is_true(ebs.get("encrypted")):
                yield Finding(
                    f"launch template volume {mapping.get('deviceName', '?')} is not encrypted",
                    template.name,
                    template.urn,
                )
    for group in inventory.of_type(NODE_GROUP):
        if not group.props.get("launchTemplate"):
            yield Finding(
                "node group without a launch template: its disks follow the account's EBS encryption default",
                group.name,
                group.urn,
            )
            continue
        used = [templates[name] for name in group.depends_on if name in templates]
        if used and not any(_sets_volumes(template) for template in used):
            yield Finding(
                "the node group's launch template sets no volumes: its disks follow the account's EBS "
                "encryption default",
                group.name,
                group.urn,
            )


def open_ports(inventory: Inventory) -> Iterator[Finding]:
    """No security group opens a port other than HTTPS to the whole internet."""
    for group in inventory.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.props.get("ingress") or []:
            world = "0.0.0.0/0" in (rule.get("cidrBlocks") or []) or "::/0" in (rule.get("ipv6CidrBlocks") or [])
            ports = (rule.get("fromPort"), rule.get("toPort"))
            if world and ports != (443, 443):
                yield Finding(f"ports {ports[0]}-{ports[1]} are open to the internet", group.name, group.urn)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def plaintext_secrets(inventory: Inventory) -> Iterator[Finding]:
    """No secret in a plain-text input: Kubernetes Secret data and SSM SecureStrings are Pulumi secrets, and no
    token-shaped string appears anywhere else."""
    for record in inventory.kubernetes("Secret"):
        for key in ("stringData", "data"):
            value = record.props.get(key)
            if value not in (None, REDACTED) and not _is_wrapped_secret(value):
                yield Finding(
                    f"Secret {key} is not a Pulumi secret: it is stored in plain text in the state", record.name
                )
    for record in inventory.of_type("aws:ssm/parameter:Parameter"):
        value = record.props.get("value")
        if (
            record.props.get("type") == "SecureString"
            and value not in (None, REDACTED)
            and not _is_wrapped_secret(value)
        ):
            yield Finding("SecureString value is not a Pulumi secret", record.name, record.urn)
    for record in inventory.records:
        for text in _strings(record.props):
            for what, pattern in SECRET_PATTERNS.items():
                if pattern.search(text):
                    yield Finding(f"an input contains {what} in plain text", record.name, record.urn)
                    break


def _is_wrapped_secret(value: Any) -> bool:
    return type(value).__name__ == "Secret" or (isinstance(value, dict) and "4dabf18193072939515e22adb298388d" in value)


SSL_CERT_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
SSL_PORTS_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
INTERNAL_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")


def _plaintext_ports(service: Record) -> list[Any]:
    """Ports of a load balancer Service that do not terminate TLS (AWS cloud provider annotations)."""
    annotations = (service.props.get("metadata") or {}).get("annotations") or {}
    ports = (service.props.get("spec") or {}).get("ports") or []
    if SSL_CERT_ANNOTATION not in annotations:
        return [port.get("port") for port in ports]
    tls_ports = {p.strip() for p in str(annotations.get(SSL_PORTS_ANNOTATION, "*")).split(",")}
    if "*" in tls_ports:
        return []
    return [p.get("port") for p in ports if str(p.get("port")) not in tls_ports and p.get("name") not in tls_ports]


def _envoy_service_type(inventory: Inventory, gateway: Record) -> str:
    """The type of the Service Envoy Gateway creates for a Gateway's proxies (LoadBalancer unless an EnvoyProxy
    referenced by the Gateway says otherwise, as Envoy Gateway v1.9.0's EnvoyProxy CRD defaults it)."""
    return (envoy_kubernetes_settings(inventory, gateway).get("envoyService") or {}).get("type") or "LoadBalancer"


def _keyed_listeners(inventory: Inventory, gateway: Record) -> list[str]:
    """Plain-HTTP listeners of a Gateway that serve a route protected by API keys."""
    name = (gateway.props.get("metadata") or {}).get("name")
    listeners = (gateway.props.get("spec") or {}).get("listeners") or []
    plain = {listener.get("name") for listener in listeners if listener.get("protocol") == "HTTP"}
    keyed_routes = {
        ref.get("name")
        for policy in inventory.kubernetes("SecurityPolicy")
        if (policy.props.get("spec") or {}).get("apiKeyAuth")
        for ref in (policy.props.get("spec") or {}).get("targetRefs") or []
    }
    exposed = set()
    for route in inventory.kubernetes("HTTPRoute"):
        if (route.props.get("metadata") or {}).get("name") not in keyed_routes:
            continue
        for parent in (route.props.get("spec") or {}).get("parentRefs") or []:
            if parent.get("name") != name:
                continue
            section = parent.get("sectionName")
            exposed |= plain if section is None else plain & {section}
    return sorted(exposed)


def tls_endpoint(inventory: Inventory) -> Iterator[Finding]:
    """Every path from outside the cluster to a listener that accepts API keys is TLS: API keys travel in every
    request's Authorization header. An existing cluster may declare TLS terminated in front of its gateway
    (`gateway.tlsTerminatedUpstream`)."""
    for service in inventory.kubernetes("Service"):
        spec = service.props.get("spec") or {}
        annotations = (service.props.get("metadata") or {}).get("annotations") or {}
        if spec.get("type") != "LoadBalancer" or str(annotations.get(INTERNAL_ANNOTATION, "")).lower() == "true":
            continue
        plain = _plaintext_ports(service)
        if plain:
            yield Finding(f"internet-facing load balancer serves ports {plain} without TLS", service.name, service.urn)
    if inventory.settings.get("tlsTerminatedUpstream"):
        return
    for gateway in inventory.kubernetes("Gateway"):
        service_type = _envoy_service_type(inventory, gateway)
        if service_type not in EXPOSED_SERVICE_TYPES:
            continue
        listeners = _keyed_listeners(inventory, gateway)
        if listeners:
            yield Finding(
                f"the gateway's own {service_type} Service exposes plain-HTTP listener(s) {', '.join(listeners)} "
                "that accept API keys; set gateway.tlsSecretName, or declare gateway.tlsTerminatedUpstream",
                gateway.name,
                gateway.urn,
            )


def _sets_volumes(template: Record) -> bool:
    mappings = template.props.get("blockDeviceMappings")
    return isinstance(mappings, list) and bool(mappings)
