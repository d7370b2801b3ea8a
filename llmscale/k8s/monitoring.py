"""Monitoring objects on Kubernetes: what Prometheus scrapes, the alert rules, the dashboard, and the values
of the monitoring stack's Helm releases. Alertmanager's routing (`alertmanager_config`, shared with the single
host) lives in `llmscale.monitoring.alertmanager` and is importable from here too."""

from __future__ import annotations

import json
from typing import Any

from llmscale import versions
from llmscale.aws.eks import STORAGE_CLASS
from llmscale.config.models import ModelProfile, Platform, StackConfig
from llmscale.k8s.addons import AddonRelease
from llmscale.k8s.gateway import GATEWAY
from llmscale.k8s.labels import PROFILE_LABEL
from llmscale.k8s.objects import Manifest
from llmscale.monitoring.alertmanager import alertmanager_config as alertmanager_config
from llmscale.monitoring.dashboards import dashboard
from llmscale.monitoring.rules import Flavour, rule_groups

STACK_RELEASE = "kube-prometheus-stack"
DCGM_RELEASE = "dcgm-exporter"
GRAFANA_SECRET = "grafana-admin"
PART_OF = {"app.kubernetes.io/part-of": "llmscale"}


def pod_monitor_manifest(config: StackConfig, profile: ModelProfile) -> Manifest:
    """Scrape vLLM's /metrics on every pod of a profile (stable and canary); job `<namespace>/vllm-<profile>`."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": f"vllm-{profile.name}", "namespace": config.kubernetes.namespace, "labels": PART_OF},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "vllm", PROFILE_LABEL: profile.name}},
            "podMetricsEndpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
        },
    }


def dcgm_service_monitor_manifest(config: StackConfig) -> Manifest:
    """Scrape dcgm-exporter, keeping the `namespace`/`pod` labels it sets for the pod that uses each GPU."""
    namespace = config.kubernetes.monitoring_namespace
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": DCGM_RELEASE, "namespace": namespace, "labels": PART_OF},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}},
            "namespaceSelector": {"matchNames": [namespace]},
            # Without honorLabels the GPU's pod would be renamed exported_pod and the per-model join would fail.
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s", "honorLabels": True}],
        },
    }


def gateway_pod_monitor_manifest(config: StackConfig) -> Manifest:
    """Scrape the Envoy proxies of the inference gateway (request counts, upstream errors, latency)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "inference-gateway", "namespace": config.kubernetes.gateway_namespace, "labels": PART_OF},
        "spec": {
            "selector": {"matchLabels": {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY}},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus", "interval": "30s"}],
        },
    }


def prometheus_rule_manifest(config: StackConfig, stack: str) -> Manifest:
    """The stack's recording rules and alerts as a PrometheusRule."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "llmscale", "namespace": config.kubernetes.namespace, "labels": PART_OF},
        "spec": {"groups": rule_groups(config, Flavour.KUBERNETES, stack=stack, runbook=config.monitoring.runbook_url)},
    }


def dashboard_config_map_manifest(config: StackConfig, stack: str) -> Manifest:
    """The dashboard as a ConfigMap Grafana's sidecar provisions (label `grafana_dashboard`)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "llmscale-dashboard",
            "namespace": config.kubernetes.monitoring_namespace,
            "labels": {**PART_OF, "grafana_dashboard": "1"},
        },
        "data": {"llmscale.json": json.dumps(dashboard(config, Flavour.KUBERNETES, stack=stack), indent=1)},
    }


def prometheus_storage_class(config: StackConfig) -> str | None:
    """The StorageClass of Prometheus's volume: the stack's choice, else on platform aws the cluster's encrypted
    gp3 class (EKS >= 1.30 marks no class default, and the operator's StatefulSet would wait forever), else the
    existing cluster's default (None)."""
    if config.monitoring.storage_class:
        return config.monitoring.storage_class
    return STORAGE_CLASS if config.platform is Platform.AWS else None


def monitoring_releases(config: StackConfig) -> list[AddonRelease]:
    """kube-prometheus-stack and dcgm-exporter, each skippable when the cluster already runs it."""
    monitoring = config.monitoring
    k8s = config.kubernetes
    releases = []
    if monitoring.install_stack:
        storage: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{monitoring.storage_gb}Gi"}},
        }
        storage_class = prometheus_storage_class(config)
        if storage_class:
            storage["storageClassName"] = storage_class
        releases.append(
            AddonRelease(
                STACK_RELEASE,
                k8s.monitoring_namespace,
                versions.KUBE_PROMETHEUS_STACK_CHART,
                {
                    "prometheus": {
                        "prometheusSpec": {
                            "retention": f"{monitoring.retention_days}d",
                            "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
                            # Pick up llmscale's PodMonitors, ServiceMonitors and rules, not only the chart's own.
                            "podMonitorSelectorNilUsesHelmValues": False,
                            "serviceMonitorSelectorNilUsesHelmValues": False,
                            "ruleSelectorNilUsesHelmValues": False,
                        }
                    },
                    "grafana": {
                        # Without a configured password the chart generates one in its own Secret.
                        **(
                            {
                                "admin": {
                                    "existingSecret": GRAFANA_SECRET,
                                    "userKey": "admin-user",
                                    "passwordKey": "admin-password",
                                }
                            }
                            if config.grafana_admin_password is not None
                            else {}
                        ),
                        "sidecar": {
                            "dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}
                        },
                    },
                },
            )
        )
    if monitoring.install_dcgm_exporter:
        releases.append(
            AddonRelease(
                DCGM_RELEASE,
                k8s.monitoring_namespace,
                versions.DCGM_EXPORTER_CHART,
                {
                    "nodeSelector": dict(k8s.gpu_node_selector),
                    "tolerations": [{"key": k8s.gpu_taint_key, "operator": "Exists", "effect": "NoSchedule"}],
                    # llmscale's own ServiceMonitor scrapes it (with honorLabels for the pod mapping).
                    "serviceMonitor": {"enabled": False},
                },
            )
        )
    return releases


def alertmanager_values(config: StackConfig) -> dict[str, Any] | None:
    """kube-prometheus-stack values routing alerts to the stack's Slack and PagerDuty, with their secrets in clear
    (to be wrapped as a Pulumi secret); None without either."""
    slack, pager = config.slack_webhook_url, config.pagerduty_routing_key
    if slack is None and pager is None:
        return None
    routing = alertmanager_config(has_slack=slack is not None, has_pagerduty=pager is not None)
    for receiver in routing["receivers"]:
        for slack_config in receiver.get("slack_configs", []):
            slack_config["api_url"] = slack.get_secret_value() if slack else None
        for pager_config in receiver.get("pagerduty_configs", []):
            pager_config["routing_key"] = pager.get_secret_value() if pager else None
    return {"alertmanager": {"config": routing}}
