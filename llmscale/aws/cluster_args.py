"""The arguments of the EKS components (`EksCluster`, `GpuNodePool`), decided from a stack's config.

The components take these and nothing else of the stack, so a program can build a cluster without a
`StackConfig`; `eks_cluster_args` and `gpu_node_pool_args` are how llmscale's own tiers fill them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmscale.aws.eks import NodeGroupPlan, accelerator_label, autoscaler_tags, gpu_disk_gib, gpu_node_groups
from llmscale.config.models import AwsStackConfig
from llmscale.sizing import catalog


@dataclass(frozen=True)
class GpuNodePoolArgs:
    """The GPU node groups of one cluster: what their nodes run and carry, and each group's zones and bounds.

    `labels` and `taint_key` are what the vLLM pods select and tolerate; `autoscaler_tags` let the cluster
    autoscaler find the groups and scale an empty one from zero. No defaults: every value is the cluster's.
    """

    instance_type: str
    gpus_per_node: int
    ami_type: str
    disk_gib: int
    labels: dict[str, str]
    taint_key: str
    groups: tuple[NodeGroupPlan, ...]
    autoscaler_tags: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EksClusterArgs:
    """An EKS cluster ready for GPU serving, in `region`, named `cluster_name` (fixed: subnet and autoscaler
    tags name it).

    The API endpoint is public to `public_access_cidrs` only when `endpoint_public_access` (default: private);
    `private_access_cidrs` reach it on 443 from inside (default none); `admin_principal_arns` are cluster
    admins besides the deploying principal (default none). The CPU system pool runs `system_nodes` of
    `system_instance_type`; `gpu_pool` describes the GPU node groups.
    """

    cluster_name: str
    region: str
    kubernetes_version: str
    system_instance_type: str
    system_nodes: int
    gpu_pool: GpuNodePoolArgs
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    private_access_cidrs: tuple[str, ...] = ()
    admin_principal_arns: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


def gpu_node_pool_args(
    config: AwsStackConfig, *, cluster_name: str, site: str, tags: dict[str, str]
) -> GpuNodePoolArgs:
    """The GPU pool of the stack's cluster at `site` (primary or standby): the stack's GPU type, an NVIDIA AMI
    (`eks.gpuAmiType`), a disk sized for the models, the selector and taint of `kubernetes`, and the groups of
    `gpu_node_groups` (one per zone on enterprise)."""
    known = catalog.lookup(config.gpu.instance_type)
    selector = {**config.kubernetes.gpu_node_selector, **accelerator_label(known.gpu_model if known else "gpu")}
    taint = config.kubernetes.gpu_taint_key
    return GpuNodePoolArgs(
        instance_type=config.gpu.instance_type,
        gpus_per_node=config.gpu.gpus,
        ami_type=str(config.eks.gpu_ami_type),
        disk_gib=gpu_disk_gib(config),
        labels={**selector, "llmscale.io/node-pool": "gpu", "llmscale.io/site": site},
        taint_key=taint,
        groups=tuple(gpu_node_groups(config)),
        autoscaler_tags=autoscaler_tags(cluster_name, config.gpu.gpus, selector, taint),
        tags=tags,
    )


def eks_cluster_args(
    config: AwsStackConfig, *, cluster_name: str, region: str, site: str, tags: dict[str, str]
) -> EksClusterArgs:
    """The stack's EKS cluster (`eks`) at `site`, with its GPU pool."""
    eks = config.eks
    return EksClusterArgs(
        cluster_name=cluster_name,
        region=region,
        kubernetes_version=eks.kubernetes_version,
        system_instance_type=eks.system_instance_type,
        system_nodes=eks.system_nodes,
        gpu_pool=gpu_node_pool_args(config, cluster_name=cluster_name, site=site, tags=tags),
        endpoint_public_access=eks.endpoint_public_access,
        public_access_cidrs=tuple(eks.public_access_cidrs),
        private_access_cidrs=tuple(eks.private_access_cidrs),
        admin_principal_arns=tuple(eks.admin_principal_arns),
        tags=tags,
    )
