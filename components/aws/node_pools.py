"""GPU node pools of an EKS cluster: managed node groups on an NVIDIA AMI, tainted for GPU work only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale import catalog
from llmscale.config.models import StackConfig
from llmscale.eks_plan import accelerator_label, autoscaler_tags, gpu_disk_gib, gpu_node_groups


class GpuNodePool(pulumi.ComponentResource):
    """The GPU node groups of a cluster, sized by `llmscale.eks_plan.gpu_node_groups`.

    NVIDIA AMI (`eks.gpuAmiType`), the stack's GPU instance type, a disk sized for the models, the labels and
    taint the serving layer's pods select and tolerate (`kubernetes.gpuNodeSelector`, `kubernetes.gpuTaintKey`),
    node auto-repair for failed GPUs, and cluster-autoscaler tags so that an empty group scales from zero. On
    enterprise one group per zone, so the autoscaler can balance zones; the autoscaler owns the current size.
    """

    groups: list[aws.eks.NodeGroup]

    def __init__(
        self,
        name: str,
        *,
        prefix: str,
        config: StackConfig,
        cluster_name: pulumi.Input[str],
        autoscaler_cluster_name: str,
        node_role_arn: pulumi.Input[str],
        private_subnet_ids: pulumi.Output[list[str]],
        site: str,
        tags: dict[str, str],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:GpuNodePool", name, None, opts)
        disk = gpu_disk_gib(config)
        known = catalog.lookup(config.gpu.instance_type)
        labels = {**config.kubernetes.gpu_node_selector, **accelerator_label(known.gpu_model if known else "gpu")}
        taint = config.kubernetes.gpu_taint_key
        self.groups = [
            aws.eks.NodeGroup(
                f"{prefix}-{plan.name}",
                cluster_name=cluster_name,
                node_role_arn=node_role_arn,
                subnet_ids=private_subnet_ids.apply(lambda ids, zones=plan.zone_indexes: [ids[i] for i in zones]),
                ami_type=str(config.eks.gpu_ami_type),
                instance_types=[config.gpu.instance_type],
                disk_size=disk,
                scaling_config={"min_size": plan.min_size, "max_size": plan.max_size,
                                "desired_size": plan.desired_size},
                labels={**labels, "llmscale.io/node-pool": "gpu", "llmscale.io/site": site},
                # Only pods that tolerate the taint (vLLM, GPU daemons) land on GPU nodes.
                taints=[{"key": taint, "value": "true", "effect": "NO_SCHEDULE"}],
                # Replace nodes whose GPU fails health checks.
                node_repair_config={"enabled": True},
                update_config={"max_unavailable": 1},
                tags={**tags, **autoscaler_tags(autoscaler_cluster_name, config.gpu.gpus, labels, taint)},
                # The cluster autoscaler owns the current size.
                # Nodes join only once the node role's policies and the CNI are in place.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=depends_on, ignore_changes=["scalingConfig.desiredSize"]
                ),
            )
            for plan in gpu_node_groups(config)
        ]  # fmt: skip
        self.register_outputs({})
