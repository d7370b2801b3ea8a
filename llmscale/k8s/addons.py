"""Cluster add-ons the serving layer needs, as pinned Helm releases: GPU device plugin, KEDA, Envoy Gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmscale import versions
from llmscale.config.models import GpuAmiType, Platform, StackConfig


@dataclass(frozen=True)
class AddonRelease:
    """One Helm release: its name, namespace, pinned chart and values."""

    name: str
    namespace: str
    chart: versions.HelmChart
    values: dict[str, Any] = field(default_factory=dict)


def addon_releases(config: StackConfig) -> list[AddonRelease]:
    """The add-ons this stack installs, skipping those the cluster already runs (`kubernetes.addons`)."""
    k8s = config.kubernetes
    releases = []
    # Bottlerocket's NVIDIA AMIs on the cluster llmscale builds already run the device plugin.
    bottlerocket = config.platform is Platform.AWS and config.eks.gpu_ami_type is GpuAmiType.BOTTLEROCKET_NVIDIA
    if k8s.addons.nvidia_device_plugin and not bottlerocket:
        releases.append(
            AddonRelease(
                "nvidia-device-plugin",
                "nvidia-device-plugin",
                versions.NVIDIA_DEVICE_PLUGIN_CHART,
                {
                    # Only GPU nodes need the plugin, and they carry the GPU taint.
                    "nodeSelector": dict(k8s.gpu_node_selector),
                    "tolerations": [{"key": k8s.gpu_taint_key, "operator": "Exists", "effect": "NoSchedule"}],
                    "priorityClassName": "system-node-critical",
                },
            )
        )
    if k8s.addons.keda:
        releases.append(AddonRelease("keda", "keda", versions.KEDA_CHART, {}))
    if k8s.addons.envoy_gateway:
        releases.append(AddonRelease("envoy-gateway", k8s.gateway_namespace, versions.ENVOY_GATEWAY_CHART, {}))
    return releases


def deep_merge(base: dict, extra: dict) -> dict:
    """`extra` merged into `base` key by key: nested mappings merge, anything else in `extra` replaces."""
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            deep_merge(merged[key], value) if isinstance(merged.get(key), dict) and isinstance(value, dict) else value
        )
    return merged
