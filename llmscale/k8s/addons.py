"""Cluster add-ons the serving layer needs, as pinned Helm releases: GPU device plugin, KEDA, Envoy Gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmscale import versions
from llmscale.config.models import AwsStackConfig, ClusterStackConfig, GpuAmiType, RoutingStrategy
from llmscale.k8s import inference


@dataclass(frozen=True)
class AddonRelease:
    """One Helm release: its name, namespace, pinned chart and values."""

    name: str
    namespace: str
    chart: versions.HelmChart
    values: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    """Releases of this list that must be installed first (their CRDs or controllers are this one's inputs)."""


def addon_releases(config: ClusterStackConfig) -> list[AddonRelease]:
    """The add-ons this stack installs, skipping those the cluster already runs (`kubernetes.addons`)."""
    k8s = config.kubernetes
    releases = []
    # Bottlerocket's NVIDIA AMIs on the cluster llmscale builds already run the device plugin.
    bottlerocket = isinstance(config, AwsStackConfig) and config.eks.gpu_ami_type is GpuAmiType.BOTTLEROCKET_NVIDIA
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
    cache_aware = config.routing.strategy is RoutingStrategy.CACHE_AWARE
    if k8s.addons.envoy_gateway:
        # Cache-aware routing needs Envoy Gateway's extension manager pointed at the AI Gateway controller.
        values = inference.envoy_gateway_values() if cache_aware else {}
        releases.append(AddonRelease("envoy-gateway", k8s.gateway_namespace, versions.ENVOY_GATEWAY_CHART, values))
    if cache_aware and k8s.addons.ai_gateway:
        # The AI Gateway's CRDs first, then its controller, which watches Envoy Gateway's resources
        # (ai-gateway v1.1.0 site/docs/getting-started/installation.md: CRDs, then the controller).
        installed = ("envoy-gateway",) if k8s.addons.envoy_gateway else ()
        releases += [
            AddonRelease("ai-gateway-crds", inference.AI_GATEWAY_NAMESPACE, versions.AI_GATEWAY_CRDS_CHART, {}),
            AddonRelease(
                "ai-gateway",
                inference.AI_GATEWAY_NAMESPACE,
                versions.AI_GATEWAY_CHART,
                inference.ai_gateway_values(k8s.gateway_namespace),
                after=("ai-gateway-crds", *installed),
            ),
        ]
    return releases
