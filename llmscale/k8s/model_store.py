"""A Deployment's `store://` model, read from the bucket of the site (region) it runs in."""

from __future__ import annotations

from typing import Any

import pulumi

from llmscale.serving.vllm_args import store_path, store_uri


def in_site_store(manifest: dict[str, Any], bucket: pulumi.Input[str] | None) -> dict[str, Any]:
    """The Deployment with its `store://` arguments (vLLM's model, the copying init containers' sources) read
    from this site's model store bucket."""
    pod = manifest["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        resolved: list[Any] = []
        for arg in container.get("args", []):
            path = store_path(arg)
            if path is None:
                resolved.append(arg)
                continue
            if bucket is None:
                raise ValueError(f"{arg}: this site has no model store to read store:// models from")
            resolved.append(pulumi.Output.from_input(bucket).apply(lambda name, path=path: store_uri(name, path)))
        container["args"] = resolved
    return manifest
