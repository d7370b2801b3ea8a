"""The components' own Args, decided from a stack's config by pure functions."""

from __future__ import annotations

from llmscale.aws.cluster_args import eks_cluster_args, gpu_node_pool_args
from llmscale.aws.eks import autoscaler_tags, gpu_disk_gib, gpu_node_groups
from llmscale.config.loader import load_stack


def test_the_gpu_pool_args_carry_the_stacks_gpu_nodes_and_their_site() -> None:
    config = load_stack("enterprise").config
    args = gpu_node_pool_args(config, cluster_name="enterprise", site="standby", tags={"t": "v"})
    assert args.instance_type == config.gpu.instance_type == "g6e.2xlarge"
    assert args.groups == tuple(gpu_node_groups(config)) and len(args.groups) == 3
    assert args.disk_gib == gpu_disk_gib(config)
    assert args.labels["llmscale.io/site"] == "standby" and args.labels["llmscale.io/node-pool"] == "gpu"
    assert args.taint_key == config.kubernetes.gpu_taint_key
    # The autoscaler's node-template tags describe the selector and taint, not llmscale's own pool labels.
    selector = {k: v for k, v in args.labels.items() if not k.startswith("llmscale.io/")}
    assert args.autoscaler_tags == autoscaler_tags("enterprise", config.gpu.gpus, selector, args.taint_key)
    assert args.tags == {"t": "v"}


def test_the_cluster_args_carry_the_eks_section_and_nothing_else_of_the_stack() -> None:
    config = load_stack("enterprise").config
    args = eks_cluster_args(config, cluster_name="enterprise", region="eu-west-1", site="primary", tags={})
    assert (args.cluster_name, args.region) == ("enterprise", "eu-west-1")
    assert args.kubernetes_version == config.eks.kubernetes_version == "1.35"
    assert args.endpoint_public_access is config.eks.endpoint_public_access
    assert args.public_access_cidrs == ("203.0.113.0/24",)
    assert args.admin_principal_arns == ("arn:aws:iam::123456789012:role/platform-admins",)
    assert (args.system_instance_type, args.system_nodes) == (config.eks.system_instance_type, config.eks.system_nodes)
    assert args.gpu_pool.labels["llmscale.io/site"] == "primary"
