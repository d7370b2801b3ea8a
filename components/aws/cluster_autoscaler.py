"""The cluster autoscaler: GPU nodes follow the pods, so they go away at night and come back in the morning."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.aws.pod_identity import pod_identity_role
from llmscale import versions
from llmscale.aws.eks import autoscaler_policy

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


class ClusterAutoscaler(pulumi.ComponentResource):
    """cluster-autoscaler with auto-discovery of this cluster's node groups, its IAM role through Pod Identity.

    It balances similar node groups (one GPU group per zone on enterprise) and removes nodes that stay unneeded
    for 10 minutes: when KEDA scales a profile to its night floor, its GPU nodes follow.
    """

    def __init__(
        self,
        name: str,
        *,
        cluster_name: pulumi.Input[str],
        region: str,
        kubernetes_version: str,
        max_graceful_termination: int,
        provider: k8s.Provider,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = pod_identity_role(
            (f"{name}-role", f"{name}-policy", f"{name}-identity"),
            cluster_name=cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.from_input(cluster_name).apply(autoscaler_policy),
            description="cluster-autoscaler of the llmscale cluster (Pod Identity)",
            tags=tags,
            opts=child,
        )
        release = versions.EKS_RELEASES[kubernetes_version]
        chart = release.autoscaler_chart
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name="cluster-autoscaler",
            namespace=NAMESPACE,
            chart=chart.chart,
            version=chart.version,
            repository_opts={"repo": chart.repository},
            values={
                "autoDiscovery": {"clusterName": cluster_name},
                "awsRegion": region,
                "cloudProvider": "aws",
                # The chart and image of the cluster's own minor version (see versions.EksRelease).
                "image": {"repository": release.autoscaler_image.repository, "tag": release.autoscaler_image.tag},
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                "nodeSelector": {"llmscale.io/node-pool": "system"},
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "expander": "least-waste",
                    "scale-down-unneeded-time": "10m",
                    "skip-nodes-with-system-pods": False,
                    # The autoscaler waits at most this long for evicted pods (default 600 s, flags.go), then
                    # removes the node anyway: vLLM replicas drain for up to their request timeout.
                    "max-graceful-termination-sec": max_graceful_termination,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[identity]),
        )
        self.register_outputs({"release": self.release.name, "chartVersion": pulumi.Output.from_input(chart.version)})
