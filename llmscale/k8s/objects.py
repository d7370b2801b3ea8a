"""How a manifest becomes a pulumi_kubernetes resource: its stack-unique name and its argument names."""

from __future__ import annotations

import re
from typing import Any


def snake_case(key: str) -> str:
    """A manifest's camelCase field as the pulumi_kubernetes argument name (`stringData` -> `string_data`)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def resource_name(manifest: dict[str, Any]) -> str:
    """A stack-unique resource name for a manifest: kind, namespace and name."""
    metadata = manifest["metadata"]
    parts = [manifest["kind"].lower(), metadata.get("namespace"), metadata["name"]]
    return "-".join(part for part in parts if part)
