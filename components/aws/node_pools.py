"""GPU node pools of an EKS cluster: managed node groups on an NVIDIA AMI, tainted for GPU work only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.eks import (
    accelerator_label,
    autoscaler_tags,
    gpu_disk_gib,
    gpu_node_groups,
    launch_template_ref,
    node_metadata_options,
    node_volumes,
)
from llmscale.config.models import StackConfig
from llmscale.sizing import catalog


def node_launch_template(
    name: str, *, ami_type: str, disk_gib: int, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> aws.ec2.LaunchTemplate:
    """The launch template of a managed node group: encrypted gp3 disks and IMDSv2 with one hop.

    It holds no AMI, instance type, subnet, instance profile or user data: EKS keeps choosing the AMI of the
    node group's `ami_type` and merges its own bootstrap, and those settings stay on the node group
    (awsdocs/amazon-eks-user-guide latest/ug/nodes/launch-templates.adoc). No security groups either, so EKS
    still attaches the cluster security group. Pass it with `launch_template_ref`.
    """
    return aws.ec2.LaunchTemplate(
        name,
        description="llmscale node: encrypted gp3 disk, IMDSv2 only",
        block_device_mappings=node_volumes(ami_type, disk_gib),
        metadata_options=node_metadata_options(),
        tag_specifications=[{"resource_type": kind, "tags": tags} for kind in ("instance", "volume")],
        update_default_version=True,
        tags=tags,
        opts=opts,
    )


class GpuNodePool(pulumi.ComponentResource):
    """The GPU node groups of a cluster, sized by `llmscale.aws.eks.gpu_node_groups`.

    NVIDIA AMI (`eks.gpuAmiType`), the stack's GPU instance type, an encrypted disk sized for the models and
    IMDSv2 with one hop (a launch template shared by the groups, `node_launch_template`), the labels and
    taint the serving layer's pods select and tolerate (`kubernetes.gpuNodeSelector`, `kubernetes.gpuTaintKey`),
    node auto-repair for failed GPUs, and cluster-autoscaler tags so that an empty group scales from zero. On
    enterprise one group per zone, so the autoscaler can balance zones; the autoscaler owns the current size.
    """

    groups: list[aws.eks.NodeGroup]
    launch_template: aws.ec2.LaunchTemplate

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
        ami_type = str(config.eks.gpu_ami_type)
        template = node_launch_template(
            f"{prefix}-gpu-nodes", ami_type=ami_type, disk_gib=disk, tags=tags, opts=pulumi.ResourceOptions(parent=self)
        )
        self.launch_template = template
        self.groups = [
            aws.eks.NodeGroup(
                f"{prefix}-{plan.name}",
                cluster_name=cluster_name,
                node_role_arn=node_role_arn,
                subnet_ids=private_subnet_ids.apply(lambda ids, zones=plan.zone_indexes: [ids[i] for i in zones]),
                ami_type=ami_type,
                instance_types=[config.gpu.instance_type],
                # The disk is in the launch template: EKS refuses `disk_size` beside one.
                launch_template=launch_template_ref(template),
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
