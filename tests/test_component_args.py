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


def test_the_host_args_hold_the_bundle_and_the_secrets_it_reads() -> None:
    from llmscale.aws.host import single_gpu_host_args
    from llmscale.host.bundle import SecretSource, render_bundle

    loaded = load_stack("single-gpu")
    args = single_gpu_host_args(loaded.config, stack="single-gpu", region="eu-west-1", tags={})
    bundle = render_bundle(loaded.config, "single-gpu", secret_source=SecretSource.SSM, region="eu-west-1")
    assert [f.path for f in args.bundle] == [f.path for f in bundle]
    assert args.allowed_cidrs == tuple(loaded.config.host.allowed_cidrs)
    assert args.instance_type == loaded.config.gpu.instance_type
    # The night schedule opens early enough for the host to boot and load the model.
    assert args.schedule is not None and args.schedule.start != loaded.config.schedule.start
    assert "hunter" not in repr(args)  # secret values stay out of reprs


def test_the_serving_args_hold_every_profile_and_the_sites_differences() -> None:
    from llmscale.k8s.serving_args import serving_layer_args

    config = load_stack("enterprise").config
    primary = serving_layer_args(config, "enterprise", expose=True, aws_region="eu-west-1")
    standby = serving_layer_args(config, "enterprise-standby", expose=True, standby=True, aws_region="eu-central-1")
    assert [m.profile for m in primary.models] == ["chat", "analysis"]
    assert [r.path for r in primary.gateway.routes] == ["/chat/v1", "/analysis/v1"]
    assert primary.public_service == (config.kubernetes.gateway_namespace, config.kubernetes.namespace)
    assert serving_layer_args(config, "x").public_service is None
    # The standby's Deployments know their site; its alert rules are named after it.
    assert primary.models[0].deployment != standby.models[0].deployment
    assert primary.monitoring.rules != standby.monitoring.rules
