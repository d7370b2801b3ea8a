"""GPU node pools of an EKS cluster: managed node groups on an NVIDIA AMI, tainted for GPU work only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from llmscale.aws.cluster_args import GpuNodePoolArgs
from llmscale.aws.eks import launch_template_ref, node_metadata_options, node_volumes


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
    """The GPU node groups of a cluster (`GpuNodePoolArgs`, from `llmscale.aws.cluster_args.gpu_node_pool_args`).

    One launch template shared by the groups (`{name}-nodes`: encrypted disk, IMDSv2 with one hop) and a
    managed node group per `args.groups` entry (`{name}` for one group, `{name}-{zone}` for one per zone), with
    the labels and taint the serving layer's pods select and tolerate, node auto-repair for failed GPUs, and
    cluster-autoscaler tags so that an empty group scales from zero; the autoscaler owns the current size.
    """

    groups: list[aws.eks.NodeGroup]
    launch_template: aws.ec2.LaunchTemplate

    def __init__(
        self,
        name: str,
        args: GpuNodePoolArgs,
        *,
        cluster_name: pulumi.Input[str],
        node_role_arn: pulumi.Input[str],
        private_subnet_ids: pulumi.Output[list[str]],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:GpuNodePool", name, None, opts)
        tags = args.tags
        template = node_launch_template(
            f"{name}-nodes",
            ami_type=args.ami_type,
            disk_gib=args.disk_gib,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.launch_template = template
        self.groups = [
            aws.eks.NodeGroup(
                # Groups are named gpu (one over all zones) or gpu-<zone>: the pool's name plus that suffix.
                f"{name}{plan.name.removeprefix('gpu')}",
                cluster_name=cluster_name,
                node_role_arn=node_role_arn,
                subnet_ids=private_subnet_ids.apply(lambda ids, zones=plan.zone_indexes: [ids[i] for i in zones]),
                ami_type=args.ami_type,
                instance_types=[args.instance_type],
                # The disk is in the launch template: EKS refuses `disk_size` beside one.
                launch_template=launch_template_ref(template),
                scaling_config={"min_size": plan.min_size, "max_size": plan.max_size,
                                "desired_size": plan.desired_size},
                labels=dict(args.labels),
                # Only pods that tolerate the taint (vLLM, GPU daemons) land on GPU nodes.
                taints=[{"key": args.taint_key, "value": "true", "effect": "NO_SCHEDULE"}],
                # Replace nodes whose GPU fails health checks.
                node_repair_config={"enabled": True},
                update_config={"max_unavailable": 1},
                tags={**tags, **args.autoscaler_tags},
                # The cluster autoscaler owns the current size.
                # Nodes join only once the node role's policies and the CNI are in place.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=depends_on, ignore_changes=["scalingConfig.desiredSize"]
                ),
            )
            for plan in args.groups
        ]  # fmt: skip
        self.register_outputs(
            {
                "launchTemplateId": template.id,
                "nodeGroupNames": pulumi.Output.all(*[group.node_group_name for group in self.groups]),
            }
        )
