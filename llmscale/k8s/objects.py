"""What a manifest is (the dict `kubectl apply` takes) and how it becomes a pulumi_kubernetes resource: its
metadata, its stack-unique name and its argument names."""

from __future__ import annotations

import re
from typing import Any

Manifest = dict[str, Any]


def object_metadata(name: str, namespace: str | None, extra_labels: dict[str, str] | None = None) -> Manifest:
    """The metadata of an llmscale object: its name, its namespace unless it is cluster-scoped (`None`), and the
    part-of label with any `extra_labels`."""
    metadata: Manifest = {"name": name, "labels": {"app.kubernetes.io/part-of": "llmscale", **(extra_labels or {})}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def restricted_container_security() -> Manifest:
    """The securityContext of a container that runs as a non-root user with nothing more than it needs: no
    privilege escalation, no capabilities, a read-only root filesystem (Pod Security Standards, restricted)."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def snake_case(key: str) -> str:
    """A manifest's camelCase field as the pulumi_kubernetes argument name (`stringData` -> `string_data`)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def resource_name(manifest: dict[str, Any]) -> str:
    """A stack-unique resource name for a manifest: kind, namespace and name."""
    metadata = manifest["metadata"]
    parts = [manifest["kind"].lower(), metadata.get("namespace"), metadata["name"]]
    return "-".join(part for part in parts if part)
