"""Cluster add-ons as pinned Helm releases (GPU device plugin, KEDA, Envoy Gateway)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from llmscale.k8s.addons import AddonRelease
from llmscale.merge import deep_merge


class ClusterAddons(pulumi.ComponentResource):
    """Install the add-ons the serving layer relies on; each can be left to an existing installation.

    Their CRDs (ScaledObject, Gateway, BackendTrafficPolicy, ...) must exist before the serving objects:
    `releases` is what those objects depend on.
    """

    releases: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        *,
        releases: list[AddonRelease],
        extra_values: dict[str, pulumi.Input[dict]] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:ClusterAddons", name, None, opts)
        extra_values = extra_values or {}
        self.releases = []
        by_name: dict[str, pulumi.Resource] = {}
        for release in releases:
            chart = release.chart
            first = [by_name[name] for name in release.after]
            created = k8s.helm.v3.Release(
                f"{name}-{release.name}",
                name=release.name,
                namespace=release.namespace,
                create_namespace=True,
                chart=chart.chart,
                version=chart.version,
                repository_opts={"repo": chart.repository} if chart.repository else None,
                # Secret values (alert receivers) merge in as a Pulumi secret, kept encrypted in the state.
                values=pulumi.Output.all(release.values, extra_values[release.name]).apply(
                    lambda parts: deep_merge(parts[0], parts[1])
                )
                if release.name in extra_values
                else release.values,
                # Wait until the controllers run: their webhooks and CRDs must be ready for what follows.
                skip_await=False,
                timeout=600,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*(depends_on or []), *first]),
            )
            by_name[release.name] = created
            self.releases.append(created)
        self.register_outputs({"releases": pulumi.Output.from_input([release.name for release in releases])})
