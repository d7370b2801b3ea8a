"""Cost and hygiene rules: night schedules, GPU taints, encryption, open ports, secrets in plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from llmscale.plan.recorder import UNKNOWN_TEXT
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
    """Volumes and buckets holding model weights or data are encrypted."""
    for instance in inventory.of_type("aws:ec2/instance:Instance"):
        root = instance.props.get("rootBlockDevice") or {}
        if not root.get("encrypted"):
            yield Finding("root volume is not encrypted", instance.name, instance.urn)
    for volume in inventory.of_type("aws:ebs/volume:Volume"):
        if not volume.props.get("encrypted"):
            yield Finding("EBS volume is not encrypted", volume.name, volume.urn)
    configs = list(
        inventory.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        )
    )

    # A configuration names its bucket (its name, or one that starts with its `bucketPrefix`) when the name is
    # known, and depends on the bucket resource when the runner tells dependencies. One whose bucket is known
    # only after apply, with nothing to tell it by, vouches for one bucket that nothing else covers.
    def covers(config: Record, bucket: Record) -> bool:
        target = config.props.get("bucket")
        prefix = bucket.props.get("bucketPrefix")
        if bucket.name in config.depends_on or target in (bucket.name, bucket.props.get("bucket")):
            return True
        return isinstance(target, str) and isinstance(prefix, str) and bool(prefix) and target.startswith(prefix)

    buckets = inventory.of_type("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
    used: set[int] = set()
    uncovered = []
    # Longer prefixes first: `models-replica-` before `models-`, which both match `models-replica-…`.
    for bucket in sorted(buckets, key=lambda b: (-len(str(b.props.get("bucketPrefix") or "")), b.name)):
        match = next((i for i, c in enumerate(configs) if i not in used and covers(c, bucket)), None)
        if match is None:
            uncovered.append(bucket)
        else:
            used.add(match)
    spare = [
        config
        for index, config in enumerate(configs)
        if index not in used and config.props.get("bucket") in (None, UNKNOWN_TEXT) and not config.depends_on
    ]
    for bucket in uncovered[len(spare) :]:
        yield Finding("bucket without a server-side encryption configuration", bucket.name)


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


def tls_endpoint(inventory: Inventory) -> Iterator[Finding]:
    """Clients reach the gateway over TLS: API keys travel in every request's Authorization header."""
    balancers = [
        s for s in inventory.kubernetes("Service") if (s.props.get("spec") or {}).get("type") == "LoadBalancer"
    ]
    for service in balancers:
        annotations = (service.props.get("metadata") or {}).get("annotations") or {}
        ports = [p.get("port") for p in (service.props.get("spec") or {}).get("ports") or []]
        if SSL_CERT_ANNOTATION not in annotations and ports != [443]:
            yield Finding(f"load balancer serves ports {ports} without a TLS certificate", service.name, service.urn)
    if balancers:
        return
    for gateway in inventory.kubernetes("Gateway"):
        listeners = (gateway.props.get("spec") or {}).get("listeners") or []
        if not any(listener.get("protocol") == "HTTPS" for listener in listeners):
            yield Finding(
                "the gateway listens on plain HTTP only; set gateway.tlsSecretName (a certificate Secret)",
                gateway.name,
                gateway.urn,
            )
