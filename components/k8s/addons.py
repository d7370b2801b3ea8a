"""Cluster add-ons as pinned Helm releases (GPU device plugin, KEDA, Envoy Gateway)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from llmscale.k8s.addons import AddonRelease


class ClusterAddons(pulumi.ComponentResource):
    """Install the add-ons the serving layer relies on; each can be left to an existing installation.

    Their CRDs (ScaledObject, Gateway, BackendTrafficPolicy, ...) must exist before the serving objects:
    `releases` is what those objects depend on.
    """

    releases: list[pulumi.Resource]

    def __init__(self, name: str, *, releases: list[AddonRelease], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmscale:index:ClusterAddons", name, None, opts)
        self.releases = []
        for release in releases:
            chart = release.chart
            self.releases.append(
                k8s.helm.v3.Release(
                    f"{name}-{release.name}",
                    name=release.name,
                    namespace=release.namespace,
                    create_namespace=True,
                    chart=chart.chart,
                    version=chart.version,
                    repository_opts={"repo": chart.repository} if chart.repository else None,
                    values=release.values,
                    # Wait until the controllers run: their webhooks and CRDs must be ready for what follows.
                    skip_await=False,
                    timeout=600,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.register_outputs({})
