"""Tests for the multi-gpu and enterprise tiers on platform aws, under mocks: the network, the EKS cluster (IAM,
encryption, logs, access entries, add-ons, node groups), the cluster autoscaler, the Kubernetes provider every
cluster object goes through, and the morning scale-up lead time.

The example stack (stacks/Pulumi.multi-gpu.yaml) and variants written to a temporary directory are planned
exactly as `llmscale plan` does (preview mode: values the cloud computes are unknown). EksCluster is also run on its
own in update mode, where subnet ids and the cluster endpoint are known, for what a preview cannot show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from typer.testing import CliRunner

import llmscale.program
import tests.aws_harness as harness
from components.aws.eks import CLUSTER_ADMIN_POLICY, EksCluster
from llmscale import versions
from llmscale.aws.cluster_args import eks_cluster_args
from llmscale.aws.eks import (
    GPU_LABEL,
    GPU_TAINT_KEY,
    MANAGED_ADDONS,
    SYSTEM_DISK_GIB,
    autoscaler_policy,
    autoscaler_tags,
    gpu_disk_gib,
    gpu_node_groups,
)
from llmscale.aws.network import ELB_TAG, INTERNAL_ELB_TAG
from llmscale.cli import app
from llmscale.config.errors import ConfigError
from llmscale.config.loader import LoadedStack, load_stack, parse_values
from llmscale.config.models import EksConfig
from llmscale.plan.recorder import UNKNOWN_TEXT
from llmscale.plan.report import plan_document
from llmscale.plan.runner import run_program
from llmscale.serving.schedules import cron_window
from llmscale.serving.vllm_args import termination_grace_seconds

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "stacks" / "Pulumi.multi-gpu.yaml"

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
VPC = "aws:ec2/vpc:Vpc"
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
KMS_KEY = "aws:kms/key:Key"
K8S_PROVIDER = "pulumi:providers:kubernetes"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

NODE_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
CRON = re.compile(r"^(?P<minute>\d+) (?P<hour>\d+) \* \* (?P<days>[0-6](,[0-6])*)$")
CRON_DAY = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


# --- plans -------------------------------------------------------------------------------------------------------


class Plan:
    """A stack and its plan document, with lookups by type and name."""

    def __init__(self, loaded: LoadedStack) -> None:
        self.loaded = loaded
        self.stack = loaded.name
        self.config = loaded.config
        self.document = plan_document(run_program(loaded, llmscale.program.main))
        self.resources: list[dict[str, Any]] = self.document["resources"]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [r for r in self.of_type(kind) if r["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, got {[r['name'] for r in self.of_type(kind)]}"
        return found[0]

    def children_of(self, component: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["parent"] == component]

    def gpu_groups(self) -> list[dict[str, Any]]:
        return sorted(
            (g for g in self.of_type(NODE_GROUP) if g["name"] != f"{self.stack}-eks-system"), key=lambda g: g["name"]
        )

    def system_group(self) -> dict[str, Any]:
        return self.one(NODE_GROUP, f"{self.stack}-eks-system")


def example_values() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def write_stack(directory: Path, name: str, document: dict[str, Any]) -> Path:
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def enterprise_document() -> dict[str, Any]:
    """Tier enterprise on aws with its preset (3 zones, N+2 headroom), two profiles, two admins."""
    return {
        "config": {
            "aws:region": "eu-west-1",
            "llmscale:tier": "enterprise",
            "llmscale:platform": "aws",
            "llmscale:eks": {
                "adminPrincipalArns": [
                    "arn:aws:iam::123456789012:role/platform-admins",
                    "arn:aws:iam::123456789012:user/alice",
                ],
                "publicAccessCidrs": ["198.51.100.0/24", "192.0.2.0/28"],
            },
            "llmscale:models": [
                {"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"},
                {"name": "batch", "model": "Qwen/Qwen2.5-7B-Instruct", "lane": "batch", "minReplicas": 2},
            ],
            "llmscale:slo": {"p99LatencySeconds": 10, "availability": 0.999, "maxErrorRate": 0.001},
            "llmscale:load": {"peakConcurrentUsers": 200},
            "llmscale:apiKeys": {"secure": "v1:x"},
            "llmscale:hfToken": {"secure": "v1:x"},
        }
    }


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eks-stacks")


@pytest.fixture(scope="module")
def example() -> Plan:
    return Plan(load_stack("multi-gpu"))


@pytest.fixture(scope="module")
def enterprise(variants_dir: Path) -> Plan:
    return Plan(load_stack(str(write_stack(variants_dir, "ent-aws", enterprise_document()))))


@pytest.fixture(scope="module")
def bottlerocket(variants_dir: Path) -> Plan:
    document = example_values()
    document["config"]["llmscale:eks"]["gpuAmiType"] = "BOTTLEROCKET_x86_64_NVIDIA"
    return Plan(load_stack(str(write_stack(variants_dir, "mg-bottlerocket", document))))


@pytest.fixture(scope="module")
def onprem() -> Plan:
    return Plan(load_stack("onprem"))


@pytest.fixture(params=["example", "enterprise"])
def tier_plan(request: pytest.FixtureRequest) -> Plan:
    return request.getfixturevalue(request.param)


def parsed(document: str) -> dict[str, Any]:
    return json.loads(document)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the example is valid ------------------------------------------------------------------------------------------


def test_example_has_no_schema_errors_and_no_mandatory_violation(example: Plan) -> None:
    assert example.config.tier == "multi-gpu"
    assert example.config.platform == "aws"
    assert example.document["schemaErrors"] == []
    mandatory = [v for v in example.document["violations"] if v["enforcement"] == "mandatory"]
    assert mandatory == []


def test_enterprise_variant_has_no_schema_errors(enterprise: Plan) -> None:
    assert enterprise.config.eks.zone_total == 3  # the enterprise preset
    assert enterprise.config.eks.headroom_nodes == 2
    assert enterprise.document["schemaErrors"] == []


def test_the_tier_builds_network_cluster_autoscaler_and_serving(tier_plan: Plan) -> None:
    components = {(r["type"], r["name"]) for r in tier_plan.resources if not r["custom"]}
    stack = tier_plan.stack
    assert {
        ("llmscale:index:Network", f"{stack}-net"),
        ("llmscale:index:EksCluster", f"{stack}-eks"),
        ("llmscale:index:ClusterAutoscaler", f"{stack}-autoscaler"),
        ("llmscale:index:ServingLayer", stack),
    } <= components
    assert tier_plan.document["outputs"]["clusterName"] == stack


# --- network -------------------------------------------------------------------------------------------------------


def subnets(plan: Plan, kind: str) -> list[dict[str, Any]]:
    return sorted((s for s in plan.of_type(SUBNET) if f"-net-{kind}-" in s["name"]), key=lambda s: s["name"])


@pytest.mark.parametrize(("fixture", "zones", "nats"), [("example", 2, 1), ("enterprise", 3, 3)])
def test_zones_subnets_and_nat(request: pytest.FixtureRequest, fixture: str, zones: int, nats: int) -> None:
    plan: Plan = request.getfixturevalue(fixture)
    assert len(subnets(plan, "public")) == zones
    assert len(subnets(plan, "private")) == zones
    assert len(plan.of_type(SUBNET)) == 2 * zones
    assert len(plan.of_type(NAT)) == nats
    assert len(plan.of_type(EIP)) == nats
    [vpc] = plan.of_type(VPC)
    assert vpc["inputs"]["cidrBlock"] == plan.config.eks.vpc_cidr


def test_private_routes_go_through_the_shared_nat_on_multi_gpu(example: Plan) -> None:
    stack = example.stack
    for index in range(2):
        table = example.one(ROUTE_TABLE, f"{stack}-net-private-{index}")
        assert f"{stack}-net-nat-0" in table["dependsOn"]


def test_private_routes_go_through_their_zones_nat_on_enterprise(enterprise: Plan) -> None:
    stack = enterprise.stack
    for index in range(3):
        table = enterprise.one(ROUTE_TABLE, f"{stack}-net-private-{index}")
        nats = {d for d in table["dependsOn"] if d.startswith(f"{stack}-net-nat-")}
        assert nats == {f"{stack}-net-nat-{index}"}


def test_subnet_tags_for_load_balancers_and_the_cluster(tier_plan: Plan) -> None:
    cluster_tag = f"kubernetes.io/cluster/{tier_plan.stack}"
    for subnet in subnets(tier_plan, "public"):
        tags = subnet["inputs"]["tags"]
        assert tags[ELB_TAG] == "1"
        assert INTERNAL_ELB_TAG not in tags
        assert tags[cluster_tag] in ("shared", "owned")
        assert subnet["inputs"]["mapPublicIpOnLaunch"] is False
    for subnet in subnets(tier_plan, "private"):
        tags = subnet["inputs"]["tags"]
        assert tags[INTERNAL_ELB_TAG] == "1"
        assert ELB_TAG not in tags
        assert tags[cluster_tag] in ("shared", "owned")


# --- IAM -----------------------------------------------------------------------------------------------------------


def expected_trust(stack: str) -> dict[str, str]:
    return {
        f"{stack}-eks-cluster": "eks.amazonaws.com",
        f"{stack}-eks-node": "ec2.amazonaws.com",
        f"{stack}-eks-ebs-csi": POD_IDENTITY_SERVICE,
        f"{stack}-autoscaler-role": POD_IDENTITY_SERVICE,
    }


def test_every_role_trusts_the_expected_service(tier_plan: Plan) -> None:
    expected = expected_trust(tier_plan.stack)
    roles = {r["name"]: r for r in tier_plan.of_type(ROLE)}
    assert set(expected) <= set(roles)
    for name, role in roles.items():
        document = role["inputs"]["assumeRolePolicy"]
        assert document != UNKNOWN_TEXT, name
        [statement] = parsed(document)["Statement"]
        assert statement["Effect"] == "Allow"
        assert set(statement["Principal"]) == {"Service"}, name
        service = statement["Principal"]["Service"]
        if name in expected:
            assert service == expected[name], name
        actions = set(as_list(statement["Action"]))
        assert "sts:AssumeRole" in actions
        if service == POD_IDENTITY_SERVICE:
            assert actions == {"sts:AssumeRole", "sts:TagSession"}, name
        else:
            assert actions == {"sts:AssumeRole"}, name


def test_inline_policies_never_grant_everything(tier_plan: Plan) -> None:
    policies = tier_plan.of_type(ROLE_POLICY)
    assert policies, "the cluster autoscaler has an inline policy"
    for policy in policies:
        document = policy["inputs"]["policy"]
        if document == UNKNOWN_TEXT:
            continue
        for statement in as_list(parsed(document)["Statement"]):
            actions = as_list(statement["Action"])
            resources = as_list(statement.get("Resource", []))
            assert "*" not in actions, policy["name"]
            assert not any(a.endswith(":*") and "*" in resources for a in actions), policy["name"]


def attached(plan: Plan, role: str) -> set[str]:
    return {a["inputs"]["policyArn"] for a in plan.of_type(ATTACHMENT) if role in a["dependsOn"]}


def test_role_attachments(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    assert attached(tier_plan, f"{stack}-eks-node") >= NODE_POLICIES
    assert "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" in attached(tier_plan, f"{stack}-eks-cluster")
    assert attached(tier_plan, f"{stack}-eks-ebs-csi") == {
        "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    }
    for arn in {a["inputs"]["policyArn"] for a in tier_plan.of_type(ATTACHMENT)}:
        assert not arn.endswith(("/AdministratorAccess", "/PowerUserAccess", "/IAMFullAccess")), arn


# --- the EKS cluster ---------------------------------------------------------------------------------------------


def the_cluster(plan: Plan) -> dict[str, Any]:
    return plan.one(CLUSTER, f"{plan.stack}-eks-cluster")


def test_cluster_version_name_auth_and_logs(tier_plan: Plan) -> None:
    inputs = the_cluster(tier_plan)["inputs"]
    assert inputs["version"] == "1.35"
    assert inputs["name"] == tier_plan.stack
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert {"audit", "api"} <= set(inputs["enabledClusterLogTypes"])
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True


def test_cluster_secrets_are_encrypted_with_a_rotated_kms_key(tier_plan: Plan) -> None:
    cluster = the_cluster(tier_plan)
    encryption = cluster["inputs"]["encryptionConfig"]
    assert as_list(encryption)[0]["resources"] == ["secrets"]
    key_names = {k["name"] for k in tier_plan.of_type(KMS_KEY)} & set(cluster["dependsOn"])
    assert key_names, "the cluster must depend on its KMS key"
    for name in key_names:
        assert tier_plan.one(KMS_KEY, name)["inputs"]["enableKeyRotation"] is True


def test_cluster_role_policy_is_attached_before_the_cluster(tier_plan: Plan) -> None:
    assert f"{tier_plan.stack}-eks-cluster-policy" in the_cluster(tier_plan)["dependsOn"]


def test_an_access_entry_and_admin_policy_per_admin_principal(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    principals = tier_plan.config.eks.admin_principal_arns
    assert principals
    entries = tier_plan.of_type(ACCESS_ENTRY)
    associations = tier_plan.of_type(ACCESS_POLICY)
    assert sorted(e["inputs"]["principalArn"] for e in entries) == sorted(principals)
    assert sorted(a["inputs"]["principalArn"] for a in associations) == sorted(principals)
    by_principal = {e["inputs"]["principalArn"]: e for e in entries}
    for association in associations:
        inputs = association["inputs"]
        assert inputs["clusterName"] == stack
        assert inputs["policyArn"] == CLUSTER_ADMIN_POLICY
        assert inputs["accessScope"] == {"type": "cluster"}
        # The association needs its access entry to exist first.
        assert by_principal[inputs["principalArn"]]["name"] in association["dependsOn"]
    for entry in entries:
        assert entry["inputs"]["clusterName"] == stack


# --- add-ons -------------------------------------------------------------------------------------------------------


def addons(plan: Plan) -> dict[str, dict[str, Any]]:
    return {a["inputs"]["addonName"]: a for a in plan.of_type(ADDON)}


def test_managed_addons(tier_plan: Plan) -> None:
    found = addons(tier_plan)
    assert set(found) == set(MANAGED_ADDONS)
    assert {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
        "aws-ebs-csi-driver",
        "eks-node-monitoring-agent",
    } == set(found)
    for addon in found.values():
        assert addon["inputs"]["clusterName"] == tier_plan.stack


def test_node_monitoring_agent_reaches_the_tainted_gpu_nodes(tier_plan: Plan) -> None:
    # Node auto-repair acts on GPU faults only through the agent's AcceleratedHardwareReady condition, which
    # needs its DCGM host engine on the GPU nodes; that DaemonSet tolerates nothing by default.
    agent = addons(tier_plan)["eks-node-monitoring-agent"]
    tolerations = json.loads(agent["inputs"]["configurationValues"])["dcgmAgent"]["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations


def test_ebs_csi_driver_uses_pod_identity(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    ebs = addons(tier_plan)["aws-ebs-csi-driver"]
    [association] = ebs["inputs"]["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    assert f"{stack}-eks-ebs-csi" in ebs["dependsOn"]  # its role
    assert f"{stack}-eks-eks-pod-identity-agent" in ebs["dependsOn"]  # the agent that hands out the credentials


def test_coredns_waits_for_the_system_nodes(tier_plan: Plan) -> None:
    assert f"{tier_plan.stack}-eks-system" in addons(tier_plan)["coredns"]["dependsOn"]


# --- node groups -------------------------------------------------------------------------------------------------


def test_system_pool(tier_plan: Plan) -> None:
    inputs = tier_plan.system_group()["inputs"]
    assert inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert not inputs.get("taints")
    assert inputs["instanceTypes"] == [tier_plan.config.eks.system_instance_type]
    scaling = inputs["scalingConfig"]
    assert scaling["minSize"] == tier_plan.config.eks.system_nodes >= 1
    assert scaling["minSize"] <= scaling["desiredSize"] <= scaling["maxSize"]


def check_gpu_group(plan: Plan, group: dict[str, Any], ami_type: str) -> None:
    inputs = group["inputs"]
    assert inputs["amiType"] == ami_type
    assert inputs["instanceTypes"] == [plan.config.gpu.instance_type]
    assert inputs["labels"][GPU_LABEL] == "true"
    assert inputs["taints"] == [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]
    assert inputs["nodeRepairConfig"] == {"enabled": True}
    assert "scalingConfig.desiredSize" in group["ignoreChanges"]
    tags = inputs["tags"]
    for key, value in autoscaler_tags(plan.stack, plan.config.gpu.gpus).items():
        assert tags[key] == value, key
    assert tags[f"k8s.io/cluster-autoscaler/{plan.stack}"] == "owned"
    # The disk is in the launch template now: EKS refuses `diskSize` (and `remoteAccess`) beside one.
    assert "diskSize" not in inputs and "remoteAccess" not in inputs
    template = launch_template_of(plan, group)
    sized = [m for m in template["inputs"]["blockDeviceMappings"] if "volumeSize" in m["ebs"]]
    assert [m["ebs"]["volumeSize"] for m in sized] == [gpu_disk_gib(plan.config)]
    assert gpu_disk_gib(plan.config) >= 100


LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def launch_template_of(plan: Plan, group: dict[str, Any]) -> dict[str, Any]:
    """The launch template a node group uses (its id is unknown in a plan: found through the dependency)."""
    [template] = [t for t in plan.of_type(LAUNCH_TEMPLATE) if t["name"] in group["dependsOn"]]
    assert set(group["inputs"]["launchTemplate"]) == {"id", "version"}
    return template


def check_launch_template(template: dict[str, Any], ami_type: str, disk_gib: int) -> None:
    """Encrypted gp3 volumes deleted with the node, the size on the data volume, IMDSv2 with one hop."""
    inputs = template["inputs"]
    mappings = {m["deviceName"]: m["ebs"] for m in inputs["blockDeviceMappings"]}
    expected = {"/dev/xvda", "/dev/xvdb"} if ami_type.startswith("BOTTLEROCKET") else {"/dev/xvda"}
    assert set(mappings) == expected
    for ebs in mappings.values():
        assert (ebs["encrypted"], ebs["volumeType"], ebs["deleteOnTermination"]) == ("true", "gp3", "true")
    data = "/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda"
    assert mappings[data]["volumeSize"] == disk_gib
    assert inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "disabled",
    }
    # What EKS forbids in a managed node group's template, or needs to keep choosing itself.
    for forbidden in ("iamInstanceProfile", "networkInterfaces", "imageId", "instanceType", "userData",
                      "vpcSecurityGroupIds", "securityGroupNames", "instanceInitiatedShutdownBehavior",
                      "hibernationOptions", "keyName"):  # fmt: skip
        assert forbidden not in inputs, forbidden
    assert {s["resourceType"] for s in inputs["tagSpecifications"]} == {"instance", "volume"}


def test_every_node_group_has_a_launch_template_with_encrypted_disks_and_imdsv2(tier_plan: Plan) -> None:
    groups = [tier_plan.system_group(), *tier_plan.gpu_groups()]
    for group in groups:
        template = launch_template_of(tier_plan, group)
        system = group is groups[0]
        disk = SYSTEM_DISK_GIB if system else gpu_disk_gib(tier_plan.config)
        check_launch_template(template, group["inputs"]["amiType"], disk)
        assert "diskSize" not in group["inputs"]
    # The GPU groups of a site share one template; the system pool has its own.
    assert len({launch_template_of(tier_plan, g)["name"] for g in groups}) == 2


def test_bottlerocket_gpu_nodes_size_and_encrypt_the_data_volume(bottlerocket: Plan) -> None:
    [group] = bottlerocket.gpu_groups()
    check_launch_template(
        launch_template_of(bottlerocket, group), "BOTTLEROCKET_x86_64_NVIDIA", gpu_disk_gib(bottlerocket.config)
    )


def test_multi_gpu_gpu_group(example: Plan) -> None:
    assert example.config.gpu.instance_type == "g6e.xlarge"
    [group] = example.gpu_groups()
    assert group["name"] == f"{example.stack}-eks-gpu"
    check_gpu_group(example, group, "AL2023_x86_64_NVIDIA")
    [planned] = gpu_node_groups(example.config)
    scaling = group["inputs"]["scalingConfig"]
    assert (scaling["minSize"], scaling["maxSize"]) == (planned.min_size, planned.max_size)
    # 6 replicas of one GPU on 1-GPU nodes plus one spare; the night floor is 0.
    assert (scaling["minSize"], scaling["maxSize"]) == (0, 7)
    # A preview cannot know subnet ids, but a multi-gpu group may use every private subnet.
    private = {f"{example.stack}-net-private-{i}" for i in range(2)}
    assert private <= set(group["dependsOn"])


def test_enterprise_one_gpu_group_per_zone(enterprise: Plan) -> None:
    groups = enterprise.gpu_groups()
    planned = gpu_node_groups(enterprise.config)
    assert [g["name"] for g in groups] == [f"{enterprise.stack}-eks-gpu-{i}" for i in range(3)]
    assert len(planned) == 3
    for group, plan in zip(groups, planned, strict=True):
        check_gpu_group(enterprise, group, "AL2023_x86_64_NVIDIA")
        scaling = group["inputs"]["scalingConfig"]
        assert group["name"] == f"{enterprise.stack}-eks-{plan.name}"
        assert (scaling["minSize"], scaling["maxSize"]) == (plan.min_size, plan.max_size)
        assert scaling["minSize"] <= scaling["maxSize"]
    max_replica_gpus = sum(p.max_replicas * p.gpus_per_replica for p in enterprise.config.models)
    total_max = sum(g["inputs"]["scalingConfig"]["maxSize"] for g in groups)
    assert total_max * enterprise.config.gpu.gpus >= max_replica_gpus + 2 * enterprise.config.gpu.gpus


def test_bottlerocket_variant_drops_the_device_plugin(bottlerocket: Plan, example: Plan) -> None:
    [group] = bottlerocket.gpu_groups()
    check_gpu_group(bottlerocket, group, "BOTTLEROCKET_x86_64_NVIDIA")
    plugin = [r for r in bottlerocket.of_type(HELM_RELEASE) if "nvidia-device-plugin" in r["name"]]
    assert plugin == []
    # AL2023's NVIDIA AMI carries only the driver: the example installs the plugin.
    assert [r for r in example.of_type(HELM_RELEASE) if "nvidia-device-plugin" in r["name"]]
    assert bottlerocket.document["schemaErrors"] == []


def check_pods_fit_gpu_nodes(plan: Plan) -> None:
    groups = plan.gpu_groups()
    deployments = plan.of_type(DEPLOYMENT)
    assert groups
    assert deployments
    for deployment in deployments:
        pod = deployment["inputs"]["spec"]["template"]["spec"]
        for group in groups:
            labels = group["inputs"]["labels"]
            assert pod["nodeSelector"].items() <= labels.items(), deployment["name"]
            for taint in group["inputs"]["taints"]:
                assert any(
                    t["key"] == taint["key"] and t.get("effect") == "NoSchedule" and t["operator"] == "Exists"
                    for t in pod["tolerations"]
                ), (deployment["name"], taint)


def test_vllm_pods_can_land_on_the_gpu_nodes(tier_plan: Plan) -> None:
    """Each vLLM Deployment selects labels the GPU node groups carry and tolerates their taint."""
    check_pods_fit_gpu_nodes(tier_plan)


def test_a_custom_gpu_selector_on_aws_is_honoured_or_refused(variants_dir: Path) -> None:
    """kubernetes.gpuNodeSelector / gpuTaintKey on platform aws: either the node groups llmscale builds carry them,
    or the config is refused; never vLLM pods that select a label no node has."""
    document = example_values()
    document["config"]["llmscale:kubernetes"] = {
        "gpuNodeSelector": {"example.com/gpu": "yes"},
        "gpuTaintKey": "example.com/gpu",
    }
    path = write_stack(variants_dir, "mg-selector", document)
    try:
        loaded = load_stack(str(path))
    except ConfigError as error:
        assert any("gpuNodeSelector" in p.key or "gpuTaintKey" in p.key for p in error.problems)
        return
    check_pods_fit_gpu_nodes(Plan(loaded))


# --- provider wiring -----------------------------------------------------------------------------------------------


def test_every_kubernetes_resource_uses_the_clusters_provider(tier_plan: Plan) -> None:
    provider = f"{tier_plan.stack}-eks-k8s"
    [registered] = tier_plan.of_type(K8S_PROVIDER)
    assert registered["name"] == provider
    assert registered["parent"] == f"{tier_plan.stack}-eks"
    kubernetes = [r for r in tier_plan.resources if r["type"].startswith("kubernetes:")]
    assert len(kubernetes) > 10
    wrong = [(r["type"], r["name"], r["provider"]) for r in kubernetes if r["provider"] != provider]
    assert wrong == []


def test_the_provider_waits_for_nodes_and_addons(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    provider = tier_plan.one(K8S_PROVIDER, f"{stack}-eks-k8s")
    needed = {g["name"] for g in tier_plan.of_type(NODE_GROUP)} | {a["name"] for a in tier_plan.of_type(ADDON)}
    assert f"{stack}-eks-system" in needed
    assert len(needed) == 1 + len(tier_plan.gpu_groups()) + len(MANAGED_ADDONS)
    assert needed <= set(provider["dependsOn"])
    assert f"{stack}-eks-cluster" in provider["dependsOn"]


# --- cluster autoscaler ------------------------------------------------------------------------------------------


def test_cluster_autoscaler_release(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    release = tier_plan.one(HELM_RELEASE, f"{stack}-autoscaler-release")
    inputs = release["inputs"]
    assert inputs["namespace"] == "kube-system"
    assert release["provider"] == f"{stack}-eks-k8s"
    values = inputs["values"]
    assert values["autoDiscovery"]["clusterName"] == stack
    assert values["cloudProvider"] == "aws"
    assert values["awsRegion"] == tier_plan.loaded.region
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert f"{stack}-autoscaler-identity" in release["dependsOn"]


def test_cluster_autoscaler_matches_the_clusters_minor_version(tier_plan: Plan) -> None:
    # Chart, image and cluster share a minor version: chart 9.38.0 (built for 1.31) lacked RBAC that image 1.33
    # waits for, and never scaled.
    version = tier_plan.config.eks.kubernetes_version
    pinned = versions.EKS_RELEASES[version]
    release = tier_plan.one(HELM_RELEASE, f"{tier_plan.stack}-autoscaler-release")["inputs"]
    assert release["version"] == pinned.autoscaler_chart.version
    assert release["values"]["image"]["tag"] == pinned.autoscaler_image.tag
    assert pinned.autoscaler_chart.app_version.startswith(f"{version}.")


def test_autoscaler_waits_for_the_longest_drain(tier_plan: Plan) -> None:
    # It removes a node after max-graceful-termination-sec (600 s by default) whatever the pods' grace period.
    values = tier_plan.one(HELM_RELEASE, f"{tier_plan.stack}-autoscaler-release")["inputs"]["values"]
    longest = max(termination_grace_seconds(p) for p in tier_plan.config.models)
    assert values["extraArgs"]["max-graceful-termination-sec"] == longest
    for deployment in tier_plan.of_type("kubernetes:apps/v1:Deployment"):
        grace = deployment["inputs"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace <= longest


def test_gpu_nodes_carry_the_accelerator_label_also_as_a_scale_from_zero_tag(tier_plan: Plan) -> None:
    # Without it the autoscaler adds nodes again while a new node's device plugin starts.
    for group in tier_plan.gpu_groups():
        inputs = group["inputs"]
        assert inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-l40s"
        assert inputs["tags"]["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"] == (
            "nvidia-l40s"
        )


def test_cluster_autoscaler_pod_identity_and_policy(tier_plan: Plan) -> None:
    stack = tier_plan.stack
    [association] = [a for a in tier_plan.of_type(POD_IDENTITY) if a["parent"] == f"{stack}-autoscaler"]
    inputs = association["inputs"]
    assert (inputs["namespace"], inputs["serviceAccount"], inputs["clusterName"]) == (
        "kube-system",
        "cluster-autoscaler",
        stack,
    )
    assert f"{stack}-autoscaler-role" in association["dependsOn"]
    [policy] = [p for p in tier_plan.of_type(ROLE_POLICY) if p["parent"] == f"{stack}-autoscaler"]
    assert f"{stack}-autoscaler-role" in policy["dependsOn"]
    if policy["inputs"]["policy"] != UNKNOWN_TEXT:
        assert parsed(policy["inputs"]["policy"]) == parsed(autoscaler_policy(stack))


# --- scale-up lead time --------------------------------------------------------------------------------------------


def cron_minutes(expression: str) -> tuple[int, tuple[int, ...]]:
    match = CRON.match(expression)
    assert match, expression
    days = tuple(int(d) for d in match["days"].split(","))
    return int(match["hour"]) * 60 + int(match["minute"]), days


def cron_triggers(plan: Plan) -> list[dict[str, Any]]:
    found = []
    for scaled in plan.of_type(SCALED_OBJECT):
        found += [t for t in scaled["inputs"]["spec"]["triggers"] if t["type"] == "cron"]
    return found


def expected_start(plan: Plan, lead: int) -> tuple[int, tuple[int, ...]]:
    schedule = plan.config.schedule
    hours, mins = (int(part) for part in schedule.start.split(":"))
    start = hours * 60 + mins - lead
    days = [CRON_DAY[d] for d in schedule.days]
    if start < 0:
        start += 24 * 60
        days = [(d - 1) % 7 for d in days]
    return start, tuple(sorted(days))


def test_cron_trigger_opens_earlier_on_aws(tier_plan: Plan) -> None:
    lead = tier_plan.config.eks.scale_up_lead_minutes
    assert lead == 30
    triggers = cron_triggers(tier_plan)
    assert triggers
    window = cron_window(tier_plan.config.schedule)
    for trigger in triggers:
        start, days = cron_minutes(trigger["metadata"]["start"])
        assert (start, tuple(sorted(days))) == expected_start(tier_plan, lead)
        end, end_days = cron_minutes(trigger["metadata"]["end"])
        assert end == window.end_hour * 60 + window.end_minute
        assert tuple(sorted(end_days)) == tuple(sorted(CRON_DAY[d] for d in window.end_days))
        assert trigger["metadata"]["timezone"] == tier_plan.config.schedule.timezone


def test_example_cron_trigger_text(example: Plan) -> None:
    [trigger] = cron_triggers(example)
    assert trigger["metadata"]["start"] == "30 7 * * 1,2,3,4,5"
    assert trigger["metadata"]["end"] == "0 19 * * 1,2,3,4,5"


def test_cron_trigger_opens_by_the_warm_up_on_platform_kubernetes(onprem: Plan) -> None:
    # No GPU nodes to start on an existing cluster, but models still take minutes to load.
    assert onprem.config.platform == "kubernetes"
    lead = onprem.config.schedule.warm_up_minutes
    assert lead == 15 != EksConfig().scale_up_lead_minutes
    assert not hasattr(onprem.config, "eks")  # an existing cluster's stack has no EKS section to read
    triggers = cron_triggers(onprem)
    assert triggers
    for trigger in triggers:
        assert cron_minutes(trigger["metadata"]["start"]) == expected_start(onprem, lead)
        assert trigger["metadata"]["start"] == "45 6 * * 1,2,3,4,5"
    assert not onprem.of_type(CLUSTER)


# --- EksCluster on its own, in update mode -------------------------------------------------------------------------


class ClusterMocks(harness.AwsMocks):
    """The harness's AWS mocks, plus the endpoint and CA certificate an EKS cluster reports once created."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        resource_id, state = super().new_resource(args)
        if args.typ == CLUSTER:
            state.update(
                endpoint="https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
                certificateAuthority={"data": "Q0VSVElGSUNBVEU="},
                vpcConfig={**state.get("vpcConfig", {}), "clusterSecurityGroupId": CLUSTER_SECURITY_GROUP},
            )
        return resource_id, state


@pytest.fixture(scope="module")
def applied_enterprise_cluster(enterprise: Plan) -> Iterator[harness.Run]:
    private = [f"subnet-0private{i}" for i in range(3)]
    public = [f"subnet-0public{i}" for i in range(3)]

    def program() -> dict[str, Any]:
        cluster = EksCluster(
            "c",
            eks_cluster_args(
                enterprise.config, cluster_name="c", region="eu-west-1", site="primary", tags={"llmscale:stack": "c"}
            ),
            private_subnet_ids=pulumi.Output.from_input(private),
            public_subnet_ids=pulumi.Output.from_input(public),
        )
        return {"name": cluster.cluster_name}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness, "AwsMocks", ClusterMocks)
        yield harness.run(program)


def test_each_enterprise_gpu_group_lives_in_its_own_zone(applied_enterprise_cluster: harness.Run) -> None:
    groups = {g.name: g.inputs["subnetIds"] for g in applied_enterprise_cluster.of_type(NODE_GROUP)}
    assert groups["c-system"] == [f"subnet-0private{i}" for i in range(3)]
    for index in range(3):
        assert groups[f"c-gpu-{index}"] == [f"subnet-0private{index}"]


def test_cluster_spans_private_and_public_subnets(applied_enterprise_cluster: harness.Run) -> None:
    cluster = applied_enterprise_cluster.one(CLUSTER)
    subnet_ids = cluster.inputs["vpcConfig"]["subnetIds"]
    assert sorted(subnet_ids) == sorted(
        [*(f"subnet-0private{i}" for i in range(3)), *(f"subnet-0public{i}" for i in range(3))]
    )


def test_provider_kubeconfig_authenticates_with_aws_eks_get_token(applied_enterprise_cluster: harness.Run) -> None:
    provider = applied_enterprise_cluster.one(K8S_PROVIDER)
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    [cluster] = kubeconfig["clusters"]
    assert cluster["cluster"]["server"] == "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
    assert cluster["cluster"]["certificate-authority-data"] == "Q0VSVElGSUNBVEU="
    [user] = kubeconfig["users"]
    execution = user["user"]["exec"]
    assert execution["command"] == "aws"
    assert execution["args"] == ["eks", "get-token", "--cluster-name", "c", "--region", "eu-west-1"]
    assert "token" not in user["user"]  # no long-lived credential in the state
    assert kubeconfig["current-context"] == "c"


# --- the API endpoint --------------------------------------------------------------------------------------------

CLUSTER_SECURITY_GROUP = "sg-0cluster0000000001"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def test_the_api_endpoint_is_public_to_the_stacks_networks_only(tier_plan: Plan) -> None:
    vpc = the_cluster(tier_plan)["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == tier_plan.config.eks.public_access_cidrs
    assert not {"0.0.0.0/0", "::/0"} & set(vpc["publicAccessCidrs"])
    assert tier_plan.of_type(INGRESS_RULE) == []


def private_document() -> dict[str, Any]:
    document = example_values()
    eks = document["config"]["llmscale:eks"]
    eks.pop("publicAccessCidrs")
    eks.update(endpointPublicAccess=False, privateAccessCidrs=["10.99.0.0/16", "172.31.0.0/16"])
    return document


@pytest.fixture(scope="module")
def private(variants_dir: Path) -> Plan:
    return Plan(load_stack(str(write_stack(variants_dir, "mg-private", private_document()))))


def test_a_private_endpoint_admits_the_named_networks_to_port_443(private: Plan) -> None:
    vpc = the_cluster(private)["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc  # AWS would fill in 0.0.0.0/0 for a public endpoint only
    rules = sorted(private.of_type(INGRESS_RULE), key=lambda r: r["name"])
    assert [r["name"] for r in rules] == ["mg-private-eks-api-from-0", "mg-private-eks-api-from-1"]
    assert [r["inputs"]["cidrIpv4"] for r in rules] == ["10.99.0.0/16", "172.31.0.0/16"]
    for rule in rules:
        inputs = rule["inputs"]
        assert (inputs["ipProtocol"], inputs["fromPort"], inputs["toPort"]) == ("tcp", 443, 443)
        # The security group EKS creates for the cluster is only known after apply: see the update-mode test.
    assert [v for v in private.document["violations"] if v["enforcement"] == "mandatory"] == []


def test_the_private_networks_reach_the_cluster_security_group(private: Plan) -> None:
    """In update mode the rule lands on the security group EKS created for the cluster."""

    def program() -> None:
        EksCluster(
            "p",
            eks_cluster_args(private.config, cluster_name="p", region="eu-west-1", site="primary", tags={}),
            private_subnet_ids=pulumi.Output.from_input(["subnet-0a", "subnet-0b"]),
            public_subnet_ids=pulumi.Output.from_input(["subnet-0c", "subnet-0d"]),
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harness, "AwsMocks", ClusterMocks)
        run = harness.run(program)
    rules = run.of_type(INGRESS_RULE)
    assert len(rules) == 2
    assert {r.inputs["securityGroupId"] for r in rules} == {CLUSTER_SECURITY_GROUP}


def eks_problems(eks: dict[str, Any]) -> list[str]:
    document = example_values()
    document["config"]["llmscale:eks"] = {"kubernetesVersion": "1.33", **eks}
    values = {
        key: value for key, value in document["config"].items() if not isinstance(value, dict) or "secure" not in value
    }
    values["llmscale:apiKeys"] = "[secret]"
    try:
        parse_values(values, {"llmscale:apiKeys"}, "stacks/Pulumi.x.yaml")
    except ConfigError as error:
        return error.lines()
    return []


@pytest.mark.parametrize(
    ("eks", "expected"),
    [
        ({}, "llmscale:eks.publicAccessCidrs: required on platform aws: the networks allowed to reach the"),
        (
            {"endpointPublicAccess": False, "publicAccessCidrs": ["203.0.113.0/24"]},
            "llmscale:eks.publicAccessCidrs: only used with endpointPublicAccess true; remove it",
        ),
        (
            {"publicAccessCidrs": ["203.0.113.0/24"], "publicEndpointOpenToInternet": True},
            "llmscale:eks.publicEndpointOpenToInternet: publicAccessCidrs has no 0.0.0.0/0; remove it",
        ),
        (
            {"publicAccessCidrs": ["203.0.113.0/24", "2001:db8::/48"]},
            "llmscale:eks.publicAccessCidrs: entry 1 is IPv6; the cluster's API endpoint answers on IPv4 only",
        ),
        (
            {"endpointPublicAccess": False, "privateAccessCidrs": ["fd00:99::/56"]},
            "llmscale:eks.privateAccessCidrs: entry 0 is IPv6; the cluster's API endpoint answers on IPv4 only",
        ),
        ({"publicAccessCidrs": ["203.0.113.7/24"]}, "llmscale:eks.publicAccessCidrs: entry 0 is not a network"),
        (
            {"privateAccessCidrs": ["10.0.0.0/33"], "endpointPublicAccess": False},
            "llmscale:eks.privateAccessCidrs: entry 0",
        ),
        (
            {"publicAccessCidrs": ["203.0.113.0/24"], "zoneCount": 1},
            "llmscale:eks.zoneCount: EKS needs subnets in at least 2 availability zones",
        ),
        (
            {"publicAccessCidrs": ["203.0.113.0/24"], "zones": ["eu-west-1a"]},
            "llmscale:eks.zones: EKS needs subnets in at least 2 availability zones; name more",
        ),
    ],
)  # fmt: skip
def test_endpoint_and_zone_settings_are_validated(eks: dict[str, Any], expected: str) -> None:
    lines = eks_problems(eks)
    assert any(line.startswith(f"stacks/Pulumi.x.yaml: {expected}") for line in lines), lines


@pytest.mark.parametrize(
    "eks",
    [
        {"publicAccessCidrs": ["203.0.113.0/24"]},
        {"endpointPublicAccess": False},
        {"endpointPublicAccess": False, "privateAccessCidrs": ["10.99.0.0/16"]},
        {"publicAccessCidrs": ["0.0.0.0/0"], "publicEndpointOpenToInternet": True},
        # Validation accepts a world-open endpoint; the eks-endpoint-access policy refuses it (mandatory).
        {"publicAccessCidrs": ["0.0.0.0/0"]},
        {"publicAccessCidrs": ["203.0.113.0/24"], "zones": ["eu-west-1a", "eu-west-1b"]},
    ],
)
def test_valid_endpoint_settings(eks: dict[str, Any]) -> None:
    assert eks_problems(eks) == []


def test_zone_count_one_is_refused_before_anything_is_planned(variants_dir: Path) -> None:
    document = example_values()
    document["config"]["llmscale:eks"]["zoneCount"] = 1
    result = CliRunner().invoke(app, ["plan", str(write_stack(variants_dir, "mg-one-zone", document))])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "llmscale:eks.zoneCount: EKS needs subnets in at least 2 availability zones" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# --- the CLI -------------------------------------------------------------------------------------------------------


def test_llmscale_plan_multi_gpu_lists_network_and_cluster() -> None:
    result = CliRunner().invoke(app, ["plan", "multi-gpu"])
    text = result.stdout + result.stderr
    assert result.exit_code == 0, text
    for expected in ("multi-gpu-net", "aws:ec2/vpc:Vpc", "multi-gpu-eks", CLUSTER, NODE_GROUP, K8S_PROVIDER):
        assert expected in text, expected


def test_the_cluster_gets_an_encrypted_gp3_default_storage_class(tier_plan: Plan) -> None:
    # EKS >= 1.30 marks no StorageClass default: Prometheus's claim would stay Pending without one.
    storage_class = tier_plan.one("kubernetes:storage.k8s.io/v1:StorageClass", f"{tier_plan.stack}-eks-storage-class")
    inputs = storage_class["inputs"]
    assert inputs["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert inputs["provisioner"] == "ebs.csi.aws.com"
    assert inputs["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["provider"] == f"{tier_plan.stack}-eks-k8s"
    release = tier_plan.one(HELM_RELEASE, f"{tier_plan.stack}-monitoring-stack-kube-prometheus-stack")
    template = release["inputs"]["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]
    assert template["spec"]["storageClassName"] == inputs["metadata"]["name"]


def test_the_gateway_pod_monitor_waits_for_its_namespace(tier_plan: Plan) -> None:
    # envoy-gateway-system is created by the Envoy Gateway release, not by the monitoring releases.
    monitor = tier_plan.one("kubernetes:monitoring.coreos.com/v1:PodMonitor", f"{tier_plan.stack}-monitoring-gateway")
    assert f"{tier_plan.stack}-addons-envoy-gateway" in monitor["dependsOn"]
