"""Monitoring on Kubernetes: kube-prometheus-stack, dcgm-exporter, scrape targets, alerts and the dashboard."""

from __future__ import annotations

import pulumi

from components.k8s.addons import ClusterAddons
from components.k8s.objects import register
from llmscale.k8s.serving_args import MonitoringArgs


class Monitoring(pulumi.ComponentResource):
    """Metrics, alerts and dashboards for every model profile and GPU of the stack (`MonitoringArgs`).

    The Helm releases are skippable (`monitoring.installStack`, `monitoring.installDcgmExporter`) for clusters
    that run their own; the PodMonitors, ServiceMonitor, PrometheusRule and dashboard are always created.
    `releases` are the Helm releases; the rule and dashboard names are registered as outputs.
    """

    releases: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: MonitoringArgs,
        *,
        depends_on: list[pulumi.Resource],
        gateway_ready: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:Monitoring", name, None, opts)
        owned: list[pulumi.Resource] = []
        if args.namespace is not None:
            owned.append(register(args.namespace, pulumi.ResourceOptions(parent=self), name=f"{name}-namespace"))
        password = args.grafana_admin_password
        if args.grafana_secret is not None and password is not None:
            secret = register(
                args.grafana_secret,
                pulumi.ResourceOptions(parent=self, depends_on=owned),
                name=f"{name}-grafana-admin",
                string_data=pulumi.Output.secret(
                    {"admin-user": "admin", "admin-password": password.get_secret_value()}
                ),
            )
            owned.append(secret)
        # The receivers' webhook and routing key merge into the chart's values as a Pulumi secret.
        extra = args.alertmanager_values
        stack_release = ClusterAddons(
            f"{name}-stack",
            releases=list(args.releases),
            extra_values={"kube-prometheus-stack": pulumi.Output.secret(extra)} if extra is not None else {},
            depends_on=owned,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.releases = stack_release.releases
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *stack_release.releases])
        for profile, monitor in args.pod_monitors:
            register(monitor, after_crds, name=f"{name}-{profile}-pods")
        for profile, monitor in args.picker_monitors:
            register(monitor, after_crds, name=f"{name}-{profile}-picker")
        register(args.dcgm_monitor, after_crds, name=f"{name}-dcgm")
        if args.gateway_monitor is not None:
            register(
                args.gateway_monitor,
                pulumi.ResourceOptions(
                    parent=self, depends_on=[*depends_on, *stack_release.releases, *(gateway_ready or [])]
                ),
                name=f"{name}-gateway",
            )
        rules = register(args.rules, after_crds, name=f"{name}-rules")
        dashboard = register(args.dashboard, after_crds, name=f"{name}-dashboard")
        self.register_outputs(
            {
                "rules": pulumi.Output.from_input(args.rules["metadata"]["name"]),
                "dashboard": pulumi.Output.from_input(args.dashboard["metadata"]["name"]),
                "releases": pulumi.Output.from_input([r.name for r in args.releases]),
            }
        )
        self.rules, self.dashboard = rules, dashboard
