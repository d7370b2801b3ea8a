"""Monitoring on Kubernetes: kube-prometheus-stack, dcgm-exporter, scrape targets, alerts and the dashboard."""

from __future__ import annotations

import pulumi

from components.k8s.addons import ClusterAddons
from components.k8s.objects import register
from llmscale.config.models import StackConfig
from llmscale.k8s.monitoring import (
    GRAFANA_SECRET,
    alertmanager_values,
    dashboard_config_map_manifest,
    dcgm_service_monitor_manifest,
    gateway_pod_monitor_manifest,
    monitoring_releases,
    pod_monitor_manifest,
    prometheus_rule_manifest,
)


class Monitoring(pulumi.ComponentResource):
    """Metrics, alerts and dashboards for every model profile and GPU of the stack.

    The Helm releases are skippable (`monitoring.installStack`, `monitoring.installDcgmExporter`) for clusters
    that run their own; the PodMonitors, ServiceMonitor, PrometheusRule and dashboard are always created.
    """

    def __init__(
        self,
        name: str,
        *,
        config: StackConfig,
        stack: str,
        depends_on: list[pulumi.Resource],
        gateway_ready: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:Monitoring", name, None, opts)
        owned: list[pulumi.Resource] = []
        if config.monitoring.install_stack:
            # The stack's namespace is ours: create it first, so the Grafana Secret has somewhere to go.
            owned.append(
                register(
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {
                            "name": config.kubernetes.monitoring_namespace,
                            "labels": {"app.kubernetes.io/part-of": "llmscale"},
                        },
                    },
                    pulumi.ResourceOptions(parent=self),
                    name=f"{name}-namespace",
                )
            )
        password = config.grafana_admin_password
        if config.monitoring.install_stack and password is not None:
            secret = register(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": GRAFANA_SECRET, "namespace": config.kubernetes.monitoring_namespace},
                    "type": "Opaque",
                },
                pulumi.ResourceOptions(parent=self, depends_on=owned),
                name=f"{name}-grafana-admin",
                string_data=pulumi.Output.secret(
                    {"admin-user": "admin", "admin-password": password.get_secret_value()}
                ),
            )
            owned.append(secret)
        releases = monitoring_releases(config)
        # The receivers' webhook and routing key merge into the chart's values as a Pulumi secret.
        extra = alertmanager_values(config)
        stack_release = ClusterAddons(
            f"{name}-stack",
            releases=releases,
            extra_values={"kube-prometheus-stack": pulumi.Output.secret(extra)} if extra is not None else {},
            depends_on=owned,
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *stack_release.releases])
        for profile in config.models:
            register(pod_monitor_manifest(config, profile), after_crds, name=f"{name}-{profile.name}-pods")
        register(dcgm_service_monitor_manifest(config), after_crds, name=f"{name}-dcgm")
        if config.kubernetes.addons.envoy_gateway:
            # Its namespace is created by the Envoy Gateway release.
            register(
                gateway_pod_monitor_manifest(config),
                pulumi.ResourceOptions(
                    parent=self, depends_on=[*depends_on, *stack_release.releases, *(gateway_ready or [])]
                ),
                name=f"{name}-gateway",
            )
        register(prometheus_rule_manifest(config, stack), after_crds, name=f"{name}-rules")
        register(dashboard_config_map_manifest(config, stack), after_crds, name=f"{name}-dashboard")
        self.register_outputs({})
