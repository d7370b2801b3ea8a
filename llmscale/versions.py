"""Every container image and Helm chart llmscale deploys, pinned in one place.

Metric names are tied to these versions (vLLM renamed metrics between releases): change a version here and
the metric names in `llmscale.metrics` together.
"""

from __future__ import annotations

from dataclasses import dataclass

VLLM_IMAGE = "vllm/vllm-openai:v0.33.0"
CADDY_IMAGE = "caddy:2.11.4"
PROMETHEUS_IMAGE = "prom/prometheus:v3.13.4"
# The single host's Alertmanager; reads receivers' secrets from files (api_url_file, routing_key_file).
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.34.0"
GRAFANA_IMAGE = "grafana/grafana:12.4.4"
NODE_EXPORTER_IMAGE = "prom/node-exporter:v1.12.1"
# Only to hand a node-local (hostPath) model cache to vLLM's user before vLLM starts.
BUSYBOX_IMAGE = "busybox:1.37.0"
DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04"

# The GPU-ready AMI for the single host: NVIDIA driver, Docker and the NVIDIA container toolkit preinstalled.
# EC2 resolves this public SSM parameter to the newest AMI id of the region at deploy time.
GPU_AMI_SSM_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"


@dataclass(frozen=True)
class HelmChart:
    """A pinned Helm chart: its name (or OCI reference), version and repository."""

    chart: str
    version: str
    repository: str | None = None


NVIDIA_DEVICE_PLUGIN_CHART = HelmChart("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin")
KEDA_CHART = HelmChart("keda", "2.20.2", "https://kedacore.github.io/charts")
# Envoy Gateway publishes its chart as an OCI artifact; its version matches the Gateway API CRDs it bundles.
ENVOY_GATEWAY_CHART = HelmChart("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0")
# kube-prometheus-stack 88.2.0 installs prometheus-operator v0.93.0, the CRDs vendored in llmscale/schemas/crds.
KUBE_PROMETHEUS_STACK_CHART = HelmChart(
    "kube-prometheus-stack", "88.2.0", "https://prometheus-community.github.io/helm-charts"
)
DCGM_EXPORTER_CHART = HelmChart("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")
# cluster-autoscaler: chart 9.38.0, with the autoscaler image matching the cluster's Kubernetes minor version;
# EKS versions llmscale builds are those listed here.
CLUSTER_AUTOSCALER_CHART = HelmChart("cluster-autoscaler", "9.38.0", "https://kubernetes.github.io/autoscaler")
CLUSTER_AUTOSCALER_IMAGE_TAGS = {"1.33": "v1.33.0"}
