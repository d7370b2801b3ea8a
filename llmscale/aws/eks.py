"""EKS sizing decisions as pure functions: GPU node groups per zone, their bounds, labels, taints and the
cluster-autoscaler tags that let a group scale from zero."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from llmscale.aws.iam import policy_document
from llmscale.config.models import AwsStackConfig, StackConfig, Tier
from llmscale.k8s.workload import canary_profile
from llmscale.sizing.model_size import host_disk_gib

ROOT_DEVICE = "/dev/xvda"
# Bottlerocket keeps the OS on /dev/xvda and container images, kubelet and host containers on /dev/xvdb
# (bottlerocket-os/bottlerocket README, "Default Volumes"): the size belongs to the data volume.
BOTTLEROCKET_DATA_DEVICE = "/dev/xvdb"
# EKS gives node groups without a launch template 20 GiB (terraform-provider-aws/pulumi-aws eks.NodeGroup
# `disk_size`: "Defaults to 50 for Windows, 20 all other node groups"); the system pool keeps that size.
SYSTEM_DISK_GIB = 20
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
# One hop: only the node itself and host-network pods (VPC CNI, kube-proxy, Pod Identity agent) reach IMDS;
# other pods cannot borrow the node role (EKS Best Practices, "Restrict access to the instance profile
# assigned to the worker node"). Every pod that calls AWS has its own role through Pod Identity, and the EBS
# CSI driver falls back to the Kubernetes API for instance metadata when IMDS does not answer
# (kubernetes-sigs/aws-ebs-csi-driver pkg/cloud/metadata/metadata.go, DefaultMetadataSources imds, kubernetes).
IMDS_HOP_LIMIT = 1
GPU_LABEL = "nvidia.com/gpu.present"
GPU_TAINT_KEY = "nvidia.com/gpu"
CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
MANAGED_ADDONS = (
    "vpc-cni",
    "coredns",
    "kube-proxy",
    "eks-pod-identity-agent",
    "aws-ebs-csi-driver",
    "eks-node-monitoring-agent",
)
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
STORAGE_CLASS = "gp3-encrypted"


def accelerator_label(gpu_model: str) -> dict[str, str]:
    """The label the cluster autoscaler's AWS provider reads to know a node group's nodes carry GPUs.

    cluster-autoscaler (`cloudprovider/aws/README.md`, "Special note on GPU instances") treats a node with this
    label as a GPU node that is not ready until the device plugin has advertised its GPUs; without it the
    autoscaler sees a new GPU node without `nvidia.com/gpu` capacity while the plugin starts, and adds more nodes
    for the same pending pods. Values follow the provider's list of GPU types (`availableGPUTypes` in
    `cloudprovider/aws/aws_cloud_provider.go`: nvidia-tesla-t4, nvidia-tesla-a100, nvidia-a10g, nvidia-l4,
    nvidia-l40s, ...); only the label's presence decides whether a node counts as a GPU node.
    """
    model = gpu_model.lower()
    tesla = model in ("k80", "p100", "v100", "t4", "a100")
    return {ACCELERATOR_LABEL: f"nvidia-tesla-{model}" if tesla else f"nvidia-{model}"}


def node_monitoring_configuration(gpu_taint_key: str) -> dict:
    """Configuration of the `eks-node-monitoring-agent` add-on: its DCGM host engine runs on the GPU nodes.

    The agent reads GPU health from an `nv-hostengine` on the node, which the add-on's `dcgm-server` DaemonSet
    provides; that DaemonSet has no tolerations by default (`dcgmAgent.tolerations: []` in
    aws/eks-node-monitoring-agent v1.7.0 `charts/eks-node-monitoring-agent/values.yaml`), so on GPU nodes
    tainted for GPU work it would never start and GPU faults would go unreported. The node agent itself
    tolerates every taint by default.
    """
    return {"dcgmAgent": {"tolerations": [{"key": gpu_taint_key, "operator": "Exists", "effect": "NoSchedule"}]}}


def storage_class_manifest() -> dict:
    """The cluster's default StorageClass: encrypted gp3 volumes from the EBS CSI driver.

    Since EKS 1.30 no StorageClass is marked default, so a claim without `storageClassName` (Prometheus's
    volumeClaimTemplate, a user's PVC) would stay Pending. `WaitForFirstConsumer` creates each volume in the
    zone of the pod that mounts it.
    """
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            "labels": {"app.kubernetes.io/part-of": "llmscale"},
        },
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


@dataclass(frozen=True)
class NodeGroupPlan:
    """One managed GPU node group: the zones it may use and its size bounds."""

    name: str
    zone_indexes: tuple[int, ...]
    min_size: int
    max_size: int
    desired_size: int


def max_gpus(config: StackConfig) -> int:
    """GPUs the profiles can use at their largest, canaries included."""
    return sum((p.max_replicas + (p.canary.replicas if p.canary else 0)) * p.gpus_per_replica for p in config.models)


def min_gpus(config: StackConfig) -> int:
    """GPUs the profiles keep during active hours."""
    return sum(p.min_replicas * p.gpus_per_replica for p in config.models)


def nodes_for(config: StackConfig, *, maximum: bool) -> int:
    """Nodes the profiles fill at their maximum (or minimum): replicas do not split across nodes, so a node
    holds `GPUs per node // GPUs per replica` of them."""
    per_node = config.gpu.gpus
    total = 0
    for profile in config.models:
        replicas = profile.max_replicas + (profile.canary.replicas if profile.canary else 0)
        if not maximum:
            replicas = profile.min_replicas
        total += math.ceil(replicas / max(1, per_node // profile.gpus_per_replica))
    return total


def gpu_node_groups(config: AwsStackConfig) -> list[NodeGroupPlan]:
    """The GPU node groups of the cluster and their bounds.

    The maximum covers every profile at its maximum plus `eks.headroomNodes` spare nodes (N+2 on enterprise).
    With a night schedule whose floor is zero the minimum is zero: the autoscaler removes idle GPU nodes at
    night and adds them back when the morning cron floor makes pods pending. Enterprise gets one group per zone,
    so the autoscaler can balance zones; multi-gpu one group over all zones.
    """
    zones = config.eks.zone_total
    max_nodes = nodes_for(config, maximum=True) + config.eks.headroom_nodes
    night_floor_zero = config.schedule.enabled and config.schedule.off_hours_min_replicas == 0
    min_nodes = 0 if night_floor_zero else nodes_for(config, maximum=False)
    if config.tier is Tier.ENTERPRISE:
        per_zone_max = math.ceil(max_nodes / zones)
        per_zone_min = math.ceil(min_nodes / zones)
        return [
            NodeGroupPlan(f"gpu-{index}", (index,), per_zone_min, max(per_zone_max, per_zone_min, 1), per_zone_min)
            for index in range(zones)
        ]
    return [NodeGroupPlan("gpu", tuple(range(zones)), min_nodes, max(max_nodes, min_nodes, 1), min_nodes)]


def gpu_disk_gib(config: AwsStackConfig) -> int:
    """Root disk of a GPU node: images plus the largest profile's weights, twice (download and cache)."""
    stated = config.eks.gpu_disk_gb if config.eks.gpu_disk_gb is not None else config.gpu.disk_gb
    if stated is not None:
        return stated
    served = [*config.models, *(canary_profile(p) for p in config.models if p.canary is not None)]
    return max(host_disk_gib(profile, None) for profile in served)


def node_volumes(ami_type: str, disk_gib: int) -> list[dict[str, Any]]:
    """Block device mappings of a node's launch template: encrypted gp3, deleted with the node.

    With a launch template EKS takes the disk from the template and refuses the node group's `disk_size`
    (awsdocs/amazon-eks-user-guide latest/ug/nodes/launch-templates.adoc, "Launch template configuration
    basics"). Encryption uses the account's default EBS key (`aws/ebs`): a customer-managed key would also
    need a key policy grant for the Auto Scaling service-linked role. The launch template's `encrypted` is a
    string in the AWS provider.
    """
    volume = {"volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"}
    if ami_type.upper().startswith("BOTTLEROCKET"):
        return [
            # The OS volume keeps the AMI's size; it is encrypted like the data volume.
            {"device_name": ROOT_DEVICE, "ebs": dict(volume)},
            {"device_name": BOTTLEROCKET_DATA_DEVICE, "ebs": {**volume, "volume_size": disk_gib}},
        ]
    return [{"device_name": ROOT_DEVICE, "ebs": {**volume, "volume_size": disk_gib}}]


def node_metadata_options() -> dict[str, Any]:
    """Instance metadata of a node: IMDSv2 only, one hop (see IMDS_HOP_LIMIT), no instance tags in IMDS."""
    return {
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": IMDS_HOP_LIMIT,
        "instance_metadata_tags": "disabled",
    }


def autoscaler_tags(
    cluster_name: str, gpus_per_node: int, labels: dict[str, str] | None = None, taint_key: str = GPU_TAINT_KEY
) -> dict[str, str]:
    """Tags the cluster autoscaler discovers a node group by, and that describe its nodes while it has none.

    Without the node-template tags an empty GPU group cannot be scaled up: the autoscaler would not know that
    its nodes carry GPUs, the GPU label and the GPU taint.
    """
    node_labels = labels if labels is not None else {GPU_LABEL: "true"}
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
        **{f"k8s.io/cluster-autoscaler/node-template/label/{key}": value for key, value in node_labels.items()},
        f"k8s.io/cluster-autoscaler/node-template/taint/{taint_key}": "true:NoSchedule",
        "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": str(gpus_per_node),
    }


def autoscaler_policy(cluster_name: str) -> str:
    """IAM policy of the cluster autoscaler: describe anything, resize only groups tagged for this cluster."""
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                # Describe calls cannot be scoped to resources in IAM.
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
        ]
    )


def pod_identity_trust_policy() -> str:
    """Trust policy of a role assumed through EKS Pod Identity."""
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ]
    )


def kubeconfig(cluster_name: str, endpoint: str, certificate: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token`: no long-lived credentials in the state."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": certificate}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                        }
                    },
                }
            ],
        }
    )


def launch_template_ref(template: Any) -> dict[str, Any]:
    """A node group's `launch_template` argument: the template at its latest version, so a change rolls nodes.

    The version updates in place; the template's id does not (terraform-provider-aws
    internal/service/eks/node_group.go: `launch_template.id` ForceNew, `disk_size` ForceNew, `remote_access`
    conflicts with `launch_template`), so node groups created without a template are replaced once.
    """
    return {"id": template.id, "version": template.latest_version.apply(str)}
