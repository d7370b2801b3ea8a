"""Register a plain manifest as the matching pulumi_kubernetes resource, so components build what pure
functions decided without restating it."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from llmscale.k8s.objects import resource_name, snake_case

BUILT_IN: dict[tuple[str, str], type[pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): k8s.apiextensions.v1.CustomResourceDefinition,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("storage.k8s.io/v1", "StorageClass"): k8s.storage.v1.StorageClass,
}


def register(
    manifest: dict[str, Any], opts: pulumi.ResourceOptions, name: str | None = None, **extra: Any
) -> pulumi.CustomResource:
    """Create the resource for `manifest` (built-in kinds typed, custom resources generic).

    `extra` adds constructor arguments the manifest cannot hold, such as a Secret's secret data.
    """
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    name = name or resource_name(manifest)
    fields = {key: value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
    resource_class = BUILT_IN.get((api_version, kind))
    if resource_class is not None:
        return resource_class(name, opts=opts, **{snake_case(key): value for key, value in fields.items()}, **extra)
    unexpected = set(fields) - {"metadata", "spec"}
    if unexpected:
        raise ValueError(f"{kind} {name}: custom resources carry only metadata and spec, not {sorted(unexpected)}")
    return k8s.apiextensions.CustomResource(
        name, api_version=api_version, kind=kind, metadata=fields["metadata"], spec=fields.get("spec"), opts=opts
    )
