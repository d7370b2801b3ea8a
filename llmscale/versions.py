"""Every container image, Helm chart and Kubernetes version llmscale deploys, pinned in one place with its source.

Metric names are tied to these versions (vLLM renamed metrics between releases): change a version here and
the metric names in `llmscale.serving.metrics` together. Each chart records the appVersion its `Chart.yaml` declares
at the pinned release (the vendored copy in `llmscale/schemas/helm/` is checked against it), and each EKS release
the cluster-autoscaler chart and image of its own minor version: tests fail when they drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Image:
    """A pinned container image: repository and tag, where the tag was read, and its digest once recorded."""

    repository: str
    tag: str
    source: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        """The reference a pod or compose file uses: `repository:tag`, with `@sha256:…` when a digest is known."""
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


@dataclass(frozen=True)
class HelmChart:
    """A pinned Helm chart: its name (or OCI reference), version, repository, and the appVersion it declares."""

    chart: str
    version: str
    repository: str | None = None
    app_version: str = ""
    source: str = ""


VLLM = Image("vllm/vllm-openai", "v0.33.0", "hub.docker.com/r/vllm/vllm-openai (vLLM release v0.33.0)")
CADDY = Image("caddy", "2.11.4", "hub.docker.com/_/caddy")
PROMETHEUS = Image("prom/prometheus", "v3.13.4", "hub.docker.com/r/prom/prometheus")
GRAFANA = Image("grafana/grafana", "12.4.4", "hub.docker.com/r/grafana/grafana")
NODE_EXPORTER = Image("prom/node-exporter", "v1.12.1", "hub.docker.com/r/prom/node-exporter")
# The single host's Alertmanager; reads receivers' secrets from files (api_url_file, routing_key_file).
ALERTMANAGER = Image("prom/alertmanager", "v0.34.0", "hub.docker.com/r/prom/alertmanager")
# Only to hand a node-local (hostPath) model cache to vLLM's user before vLLM starts.
BUSYBOX = Image("busybox", "1.37.0", "hub.docker.com/_/busybox")
# Copies model-store weights and adapters into a vLLM pod before vLLM starts (`aws s3 sync`). AWS CLI v2 reads
# EKS Pod Identity credentials from 2.15.0 on (docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html);
# the image is built from the CLI's own docker/Dockerfile (amazonlinux:2023, ENTRYPOINT /usr/local/bin/aws).
AWS_CLI = Image("amazon/aws-cli", "2.36.7", "aws/aws-cli tag 2.36.7 (2026-07-23), docker/Dockerfile")
DCGM_EXPORTER = Image(
    "nvcr.io/nvidia/k8s/dcgm-exporter", "4.5.3-4.8.2-ubuntu22.04", "NVIDIA/dcgm-exporter tag 4.5.3-4.8.2"
)
# The endpoint picker of cache-aware routing: moved from kubernetes-sigs/gateway-api-inference-extension (v1.5.0 was
# its last release there) to llm-d/llm-d-router, whose release job sets the chart's image to this repository and tag
# (hack/push-chart.sh at v0.10.0).
EPP = Image(
    "ghcr.io/llm-d/llm-d-router-endpoint-picker",
    "v0.10.0",
    "llm-d/llm-d-router v0.10.0 hack/push-chart.sh (EPP_RELEASE_IMAGE_REPOSITORY, tag = release tag)",
)

VLLM_IMAGE = VLLM.ref
CADDY_IMAGE = CADDY.ref
PROMETHEUS_IMAGE = PROMETHEUS.ref
GRAFANA_IMAGE = GRAFANA.ref
NODE_EXPORTER_IMAGE = NODE_EXPORTER.ref
ALERTMANAGER_IMAGE = ALERTMANAGER.ref
BUSYBOX_IMAGE = BUSYBOX.ref
AWS_CLI_IMAGE = AWS_CLI.ref
DCGM_EXPORTER_IMAGE = DCGM_EXPORTER.ref

# The GPU-ready AMI for the single host: NVIDIA driver, Docker and the NVIDIA container toolkit preinstalled.
# EC2 resolves this public SSM parameter to the newest AMI id of the region at deploy time.
GPU_AMI_SSM_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"

NVIDIA_DEVICE_PLUGIN_CHART = HelmChart(
    "nvidia-device-plugin",
    "0.20.0",
    "https://nvidia.github.io/k8s-device-plugin",
    app_version="0.20.0",
    source="NVIDIA/k8s-device-plugin v0.20.0 deployments/helm/nvidia-device-plugin/Chart.yaml",
)
KEDA_CHART = HelmChart(
    "keda",
    "2.20.2",
    "https://kedacore.github.io/charts",
    app_version="2.20.2",
    source="kedacore/charts v2.20.2 keda/Chart.yaml",
)
# Envoy Gateway publishes its chart as an OCI artifact; its version matches the Gateway API CRDs it bundles.
ENVOY_GATEWAY_CHART = HelmChart(
    "oci://docker.io/envoyproxy/gateway-helm",
    "v1.9.0",
    app_version="v1.9.0",
    source="envoyproxy/gateway v1.9.0 charts/gateway-helm (version and appVersion set by the release workflow)",
)
# kube-prometheus-stack 88.2.0 installs prometheus-operator v0.93.0, the CRDs vendored in llmscale/schemas/crds.
KUBE_PROMETHEUS_STACK_CHART = HelmChart(
    "kube-prometheus-stack",
    "88.2.0",
    "https://prometheus-community.github.io/helm-charts",
    app_version="v0.93.0",
    source="prometheus-community/helm-charts kube-prometheus-stack-88.2.0 charts/kube-prometheus-stack/Chart.yaml",
)
DCGM_EXPORTER_CHART = HelmChart(
    "dcgm-exporter",
    "4.8.2",
    "https://nvidia.github.io/dcgm-exporter/helm-charts",
    app_version="4.8.2",
    source="NVIDIA/dcgm-exporter 4.5.3-4.8.2 deployment/Chart.yaml",
)
# Envoy AI Gateway turns an HTTPRoute's InferencePool backend into Envoy configuration (Envoy Gateway v1.9.0 has no
# InferencePool support of its own). Both charts are OCI artifacts released with the tag as version and appVersion.
AI_GATEWAY_CRDS_CHART = HelmChart(
    "oci://docker.io/envoyproxy/ai-gateway-crds-helm",
    "v1.1.0",
    app_version="v1.1.0",
    source="envoyproxy/ai-gateway v1.1.0 manifests/charts/ai-gateway-crds-helm (version and appVersion set at release)",
)
AI_GATEWAY_CHART = HelmChart(
    "oci://docker.io/envoyproxy/ai-gateway-helm",
    "v1.1.0",
    app_version="v1.1.0",
    source="envoyproxy/ai-gateway v1.1.0 manifests/charts/ai-gateway-helm (version and appVersion set at release)",
)

_AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"
_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"


@dataclass(frozen=True)
class EksRelease:
    """A Kubernetes minor version EKS offers, its support window, and the cluster autoscaler built for it.

    The autoscaler's chart and image must match the cluster's minor version: chart 9.38.0 (autoscaler 1.31)
    lacks the `volumeattachments` RBAC that autoscaler >= 1.32 waits for, so it never scaled (kubernetes/autoscaler
    #7663; the rule was added in PR #7904, first released in chart 9.46.3).
    """

    version: str
    end_of_standard_support: date
    end_of_extended_support: date
    autoscaler_chart: HelmChart
    autoscaler_image: Image


EKS_CALENDAR_SOURCE = (
    "Amazon EKS Kubernetes release calendar (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), "
    "as listed by endoflife.date/amazon-eks in 2026"
)
EKS_CALENDAR_AS_OF = "2026-02"
EKS_SUPPORT: dict[str, tuple[date, date]] = {
    "1.29": (date(2025, 3, 23), date(2026, 3, 23)),
    "1.30": (date(2025, 7, 23), date(2026, 7, 23)),
    "1.31": (date(2025, 11, 26), date(2026, 11, 26)),
    "1.32": (date(2026, 3, 23), date(2027, 3, 23)),
    "1.33": (date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": (date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": (date(2027, 3, 27), date(2028, 3, 27)),
}
"""Each EKS minor version's end of standard and of extended support (14 months of standard support, then 12 of
extended support at a higher price), from EKS_CALENDAR_SOURCE as of EKS_CALENDAR_AS_OF."""


def _autoscaler(chart: str, app_version: str, image_tag: str, path: str) -> tuple[HelmChart, Image]:
    return (
        HelmChart(
            "cluster-autoscaler",
            chart,
            _AUTOSCALER_REPOSITORY,
            app_version=app_version,
            source=f"kubernetes/autoscaler cluster-autoscaler-chart-{chart} {path}/Chart.yaml",
        ),
        Image(_AUTOSCALER_IMAGE, image_tag, f"kubernetes/autoscaler tag cluster-autoscaler-{image_tag[1:]}"),
    )


EKS_RELEASES: dict[str, EksRelease] = {
    release.version: release
    for release in (
        EksRelease(
            "1.33",
            *EKS_SUPPORT["1.33"],
            *_autoscaler("9.51.0", "1.33.0", "v1.33.6", "charts/cluster-autoscaler"),
        ),
        EksRelease(
            "1.34",
            *EKS_SUPPORT["1.34"],
            *_autoscaler("9.53.0", "1.34.2", "v1.34.5", "cluster-autoscaler/charts/cluster-autoscaler"),
        ),
        EksRelease(
            "1.35",
            *EKS_SUPPORT["1.35"],
            *_autoscaler("9.59.0", "1.35.0", "v1.35.2", "cluster-autoscaler/charts/cluster-autoscaler"),
        ),
    )
}
"""Kubernetes versions llmscale builds EKS clusters with. 1.36 is left out: no cluster-autoscaler chart of that
minor is released yet (the newest, 9.59.0, is built for 1.35)."""

DEFAULT_KUBERNETES_VERSION = "1.35"
