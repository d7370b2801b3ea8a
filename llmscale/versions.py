"""Every container image and Helm chart llmscale deploys, pinned in one place.

Metric names are tied to these versions (vLLM renamed metrics between releases): change a version here and
the metric names in `llmscale.metrics` together.
"""

from __future__ import annotations

VLLM_IMAGE = "vllm/vllm-openai:v0.33.0"
CADDY_IMAGE = "caddy:2.11.4"
PROMETHEUS_IMAGE = "prom/prometheus:v3.13.4"
GRAFANA_IMAGE = "grafana/grafana:12.4.4"
NODE_EXPORTER_IMAGE = "prom/node-exporter:v1.12.1"
DCGM_EXPORTER_IMAGE = "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04"

# The GPU-ready AMI for the single host: NVIDIA driver, Docker and the NVIDIA container toolkit preinstalled.
# EC2 resolves this public SSM parameter to the newest AMI id of the region at deploy time.
GPU_AMI_SSM_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
