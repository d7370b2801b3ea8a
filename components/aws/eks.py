"""The EKS cluster of the multi-gpu and enterprise tiers: control plane, node pools, add-ons, and the
Kubernetes provider the serving layer deploys through."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.node_pools import GpuNodePool, node_launch_template
from components.k8s.objects import register
from llmscale.aws import iam
from llmscale.aws.cluster_args import EksClusterArgs
from llmscale.aws.eks import (
    CONTROL_PLANE_LOGS,
    STORAGE_CLASS,
    SYSTEM_AMI_TYPE,
    SYSTEM_DISK_GIB,
    kubeconfig,
    launch_template_ref,
    node_monitoring_configuration,
    pod_identity_trust_policy,
    storage_class_manifest,
)

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster ready for GPU serving (`EksClusterArgs`, from `llmscale.aws.cluster_args.eks_cluster_args`).

    API authentication mode with access entries (the deploying principal is cluster admin, plus the configured
    admins), an API endpoint public to `public_access_cidrs` only or private (`endpoint_public_access`, with
    `private_access_cidrs` allowed to port 443), secrets envelope-encrypted with a dedicated KMS key, all
    control-plane logs, managed add-ons (VPC CNI, CoreDNS, kube-proxy, Pod Identity agent, EBS CSI driver
    through Pod Identity), a small CPU system pool for add-ons and a `GpuNodePool`, both on launch templates
    with encrypted disks and IMDSv2. `provider` deploys into the cluster only once the nodes and add-ons
    are ready; `cluster` and `gpu_pool` are the control plane and the GPU node groups.
    """

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    storage_class: str
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        args: EksClusterArgs,
        *,
        private_subnet_ids: pulumi.Output[list[str]],
        public_subnet_ids: pulumi.Output[list[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        eks, tags, cluster_name, region = args, args.tags, args.cluster_name, args.region

        cluster_role = aws.iam.Role(
            f"{name}-cluster",
            assume_role_policy=iam.assume_role_policy("eks.amazonaws.com"),
            description="EKS control plane of the llmscale cluster",
            tags=tags,
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of the Kubernetes Secrets of {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            # A fixed name: the network's subnet tags and the autoscaler's discovery tags refer to it.
            name=cluster_name,
            version=eks.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": pulumi.Output.all(private_subnet_ids, public_subnet_ids).apply(
                    lambda parts: [*parts[0], *parts[1]]
                ),
                "endpoint_private_access": True,
                # Public only when the stack asks, and then only from its networks (eks.publicAccessCidrs).
                "endpoint_public_access": eks.endpoint_public_access,
                **({"public_access_cidrs": list(eks.public_access_cidrs)} if eks.endpoint_public_access else {}),
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            # Managed add-ons below replace the self-managed defaults.
            bootstrap_self_managed_addons=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy]),
        )
        # The way in to a private endpoint from a VPN, Direct Connect or peered network.
        for index, cidr in enumerate(eks.private_access_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{index}",
                security_group_id=cluster.vpc_config.cluster_security_group_id,
                description=f"Kubernetes API from {cidr}",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                tags=tags,
                opts=child,
            )
        for index, principal in enumerate(eks.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=principal, tags=tags, opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=principal,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )

        node_role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=iam.assume_role_policy("ec2.amazonaws.com"),
            description="Nodes of the llmscale cluster",
            tags=tags,
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{arn.rsplit('/', 1)[1]}", role=node_role.name, policy_arn=arn,
                                         opts=child)
            for arn in NODE_POLICIES
        ]  # fmt: skip

        pod_identity = aws.eks.Addon(
            f"{name}-eks-pod-identity-agent",
            cluster_name=cluster.name,
            addon_name="eks-pod-identity-agent",
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=child,
        )
        networking = [
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster.name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                # The VPC CNI enforces NetworkPolicies only when asked: vLLM must be reachable from the gateway
                # and monitoring namespaces alone.
                configuration_values=json.dumps({"enableNetworkPolicy": "true"}) if addon == "vpc-cni" else None,
                tags=tags,
                # Nodes only become Ready with the CNI; kube-proxy runs on them too.
                opts=child,
            )
            for addon in ("vpc-cni", "kube-proxy")
        ]
        system_template = node_launch_template(
            f"{name}-system-nodes", ami_type=SYSTEM_AMI_TYPE, disk_gib=SYSTEM_DISK_GIB, tags=tags, opts=child
        )
        system_pool = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=private_subnet_ids,
            ami_type=SYSTEM_AMI_TYPE,
            instance_types=[eks.system_instance_type],
            launch_template=launch_template_ref(system_template),
            scaling_config={"min_size": eks.system_nodes, "max_size": eks.system_nodes + 2,
                            "desired_size": eks.system_nodes},
            labels={"llmscale.io/node-pool": "system"},
            update_config={"max_unavailable": 1},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*node_policies, *networking]),
        )  # fmt: skip
        coredns = aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=cluster.name,
            addon_name="coredns",
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            # CoreDNS pods need a node to run on before the add-on reports healthy.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system_pool]),
        )
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi",
            assume_role_policy=pod_identity_trust_policy(),
            description="EBS CSI driver of the llmscale cluster (Pod Identity)",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-ebs-csi", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child)
        ebs = aws.eks.Addon(
            f"{name}-aws-ebs-csi-driver",
            cluster_name=cluster.name,
            addon_name="aws-ebs-csi-driver",
            pod_identity_associations=[{"role_arn": ebs_role.arn, "service_account": "ebs-csi-controller-sa"}],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pod_identity, system_pool]),
        )

        # GPU faults reach node auto-repair only as the `AcceleratedHardwareReady` condition this agent sets.
        monitoring_agent = aws.eks.Addon(
            f"{name}-eks-node-monitoring-agent",
            cluster_name=cluster.name,
            addon_name="eks-node-monitoring-agent",
            configuration_values=json.dumps(node_monitoring_configuration(args.gpu_pool.taint_key)),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system_pool]),
        )

        # The pool was named `{name}-gpu-pool` before its children took their names from it.
        gpu_pool = GpuNodePool(
            f"{name}-gpu",
            args.gpu_pool,
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            private_subnet_ids=private_subnet_ids,
            depends_on=[*node_policies, *networking],
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-gpu-pool")]),
        )
        self.gpu_pool = gpu_pool
        gpu_groups = gpu_pool.groups

        self.cluster = cluster
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.node_role_arn = node_role.arn
        config_text = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda parts: kubeconfig(parts[0], parts[1], parts[2], region)
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=config_text,
            # Nothing deploys into the cluster before its nodes and add-ons are there.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[system_pool, *gpu_groups, coredns, ebs, pod_identity, monitoring_agent, *networking],
            ),
        )
        register(
            storage_class_manifest(),
            pulumi.ResourceOptions(parent=self, provider=self.provider),
            name=f"{name}-storage-class",
        )
        self.storage_class = STORAGE_CLASS
        self.register_outputs(
            {"clusterName": self.cluster_name, "endpoint": self.endpoint, "nodeRoleArn": self.node_role_arn}
        )
