"""Tests for llmscale.aws.eks and the scale-up lead time of llmscale.serving.schedules: the pure decisions behind
the EKS cluster (GPU node groups and their bounds, disk sizes, cluster-autoscaler tags and IAM) and the morning
window that
opens early so GPU nodes are there when the active hours start.

Plain examples first, then hypothesis properties over stack configs and schedules.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from llmscale.aws.eks import (
    CONTROL_PLANE_LOGS,
    GPU_LABEL,
    GPU_TAINT_KEY,
    MANAGED_ADDONS,
    NodeGroupPlan,
    accelerator_label,
    autoscaler_policy,
    autoscaler_tags,
    gpu_disk_gib,
    gpu_node_groups,
    max_gpus,
    min_gpus,
    pod_identity_trust_policy,
)
from llmscale.aws.network import CLUSTER_NAME
from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values
from llmscale.config.models import (
    DAYS,
    AwsStackConfig,
    CanaryConfig,
    EksConfig,
    GpuConfig,
    ModelProfile,
    Platform,
    ScheduleConfig,
    StackConfig,
    Tier,
)
from llmscale.serving.schedules import cron_window, with_lead_time
from llmscale.sizing.model_size import weights_gib

MINUTES_PER_DAY = 24 * 60
AUTOSCALER_TAG_PREFIX = "k8s.io/cluster-autoscaler/"
# Actions that only read: the one kind IAM cannot scope to resources, so the only kind allowed on `*` unconditioned.
READ_ONLY_ACTION = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$")


# --- helpers ---------------------------------------------------------------------------------------------------


def profile(
    name: str = "chat",
    *,
    model: str = "meta-llama/Llama-3.1-8B-Instruct",
    gpus: int = 1,
    min_replicas: int = 1,
    max_replicas: int = 2,
    canary: CanaryConfig | None = None,
) -> ModelProfile:
    return ModelProfile(
        name=name,
        model=model,
        gpus_per_replica=gpus,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        canary=canary,
    )


def stack(
    *profiles: ModelProfile,
    tier: Tier = Tier.MULTI_GPU,
    instance_type: str = "g6e.xlarge",
    gpus_per_node: int | None = None,
    gpu_disk_gb: int | None = None,
    zone_count: int = 2,
    headroom: int = 1,
    schedule: bool = True,
    off_hours: int = 0,
    eks_disk_gb: int | None = None,
) -> StackConfig:
    return AwsStackConfig(
        tier=tier,
        platform=Platform.AWS,
        region="eu-west-1",
        models=list(profiles) or [profile()],
        gpu=GpuConfig(instance_type=instance_type, gpus_per_node=gpus_per_node, disk_gb=gpu_disk_gb),
        eks=EksConfig(zone_count=zone_count, headroom_nodes=headroom, gpu_disk_gb=eks_disk_gb),
        schedule=ScheduleConfig(enabled=schedule, off_hours_min_replicas=off_hours),
    )


def expected_max_gpus(config: StackConfig) -> int:
    """GPUs at every profile's maximum, canaries included, computed here independently of eks_plan."""
    total = 0
    for p in config.models:
        replicas = p.max_replicas + (p.canary.replicas if p.canary is not None else 0)
        total += replicas * p.gpus_per_replica
    return total


def expected_min_gpus(config: StackConfig) -> int:
    return sum(p.min_replicas * p.gpus_per_replica for p in config.models)


def total_max(groups: list[NodeGroupPlan]) -> int:
    return sum(g.max_size for g in groups)


def total_min(groups: list[NodeGroupPlan]) -> int:
    return sum(g.min_size for g in groups)


def statements(document: str) -> list[dict[str, Any]]:
    parsed = json.loads(document)
    found = parsed["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def day_before(day: str) -> str:
    return DAYS[(DAYS.index(day) - 1) % 7]


# --- strategies ------------------------------------------------------------------------------------------------

NODE_TYPES = [("g6e.xlarge", 1), ("g6e.12xlarge", 4), ("g6e.48xlarge", 8)]


@st.composite
def profiles(draw: st.DrawFn, node_gpus: int) -> list[ModelProfile]:
    """1-4 profiles whose replicas fit a node of `node_gpus` GPUs (tensor parallel sizes 1, 2, 4, 8)."""
    count = draw(st.integers(1, 4))
    sizes = [g for g in (1, 2, 4, 8) if g <= node_gpus]
    drawn = []
    for index in range(count):
        low = draw(st.integers(0, 10))
        high = draw(st.integers(max(low, 1), 20))
        canary = draw(st.one_of(st.none(), st.builds(CanaryConfig, image=st.just("vllm/vllm-openai:v0.99.0"))))
        drawn.append(
            profile(f"p{index}", gpus=draw(st.sampled_from(sizes)), min_replicas=low, max_replicas=high, canary=canary)
        )
    return drawn


@st.composite
def configs(draw: st.DrawFn, tier: Tier | None = None) -> StackConfig:
    tier = tier if tier is not None else draw(st.sampled_from([Tier.MULTI_GPU, Tier.ENTERPRISE]))
    instance_type, node_gpus = draw(st.sampled_from(NODE_TYPES))
    # EKS needs subnets in two zones at least; the enterprise tier spans three.
    zone_count = draw(st.integers(3, 6) if tier is Tier.ENTERPRISE else st.integers(2, 6))
    return stack(
        *draw(profiles(node_gpus)),
        tier=tier,
        instance_type=instance_type,
        zone_count=zone_count,
        headroom=draw(st.integers(0, 6)),
        schedule=draw(st.booleans()),
        off_hours=draw(st.integers(0, 3)),
    )


clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
day_lists = st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)
leads = st.integers(1, 240)  # eks.scaleUpLeadMinutes


@st.composite
def windows(draw: st.DrawFn) -> ScheduleConfig:
    start = draw(clock)
    end = draw(clock.filter(lambda value: value != start))
    return ScheduleConfig(
        timezone=draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York"])),
        days=draw(day_lists),
        start=start,
        end=end,
    )


def window_length(schedule: ScheduleConfig) -> int:
    """Minutes from the start of the active window to its end."""
    return (minutes(schedule.end) - minutes(schedule.start)) % MINUTES_PER_DAY


# --- constants -------------------------------------------------------------------------------------------------


def test_control_plane_logs_include_audit_and_api() -> None:
    assert {"api", "audit"} <= set(CONTROL_PLANE_LOGS)


def test_managed_addons_are_the_six_a_gpu_cluster_needs() -> None:
    assert set(MANAGED_ADDONS) == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
        "aws-ebs-csi-driver",
        "eks-node-monitoring-agent",
    }


# --- GPU node groups: examples ---------------------------------------------------------------------------------


def test_multi_gpu_example_one_group_over_both_zones() -> None:
    # The shape of stacks/Pulumi.multi-gpu.yaml: 2..6 replicas of one GPU, night floor 0, one spare node.
    config = stack(profile(min_replicas=2, max_replicas=6), zone_count=2, headroom=1)
    assert gpu_node_groups(config) == [NodeGroupPlan("gpu", (0, 1), 0, 7, 0)]


def test_enterprise_one_group_per_zone_with_n_plus_2() -> None:
    config = stack(
        profile(min_replicas=3, max_replicas=12),
        tier=Tier.ENTERPRISE,
        instance_type="g6e.2xlarge",
        zone_count=3,
        headroom=2,
        off_hours=2,
    )
    groups = gpu_node_groups(config)
    assert [g.zone_indexes for g in groups] == [(0,), (1,), (2,)]
    assert len({g.name for g in groups}) == 3
    assert total_max(groups) >= 12 + 2
    assert total_min(groups) >= 3
    assert all(g.min_size <= g.desired_size <= g.max_size for g in groups)


def test_night_floor_zero_lets_the_gpu_nodes_go() -> None:
    config = stack(profile(min_replicas=4, max_replicas=8), off_hours=0)
    assert [g.min_size for g in gpu_node_groups(config)] == [0]


def test_night_floor_above_zero_keeps_the_active_minimum() -> None:
    config = stack(profile(min_replicas=4, max_replicas=8, gpus=4), instance_type="g6e.12xlarge", off_hours=1)
    assert [g.min_size for g in gpu_node_groups(config)] == [4]


def test_without_a_schedule_the_minimum_covers_the_minimum_replicas() -> None:
    config = stack(profile(min_replicas=3, max_replicas=8, gpus=2), instance_type="g6e.12xlarge", schedule=False)
    assert [g.min_size for g in gpu_node_groups(config)] == [math.ceil(6 / 4)]


def test_canary_replicas_count_toward_the_maximum() -> None:
    canary = CanaryConfig(image="vllm/vllm-openai:v0.99.0", replicas=2)
    without = stack(profile(min_replicas=1, max_replicas=3), headroom=0)
    with_canary = stack(profile(min_replicas=1, max_replicas=3, canary=canary), headroom=0)
    assert max_gpus(with_canary) == max_gpus(without) + 2
    assert total_max(gpu_node_groups(with_canary)) == total_max(gpu_node_groups(without)) + 2


def test_max_and_min_gpus() -> None:
    config = stack(
        profile("a", gpus=2, min_replicas=1, max_replicas=3),
        profile("b", gpus=4, min_replicas=2, max_replicas=2),
        instance_type="g6e.12xlarge",
    )
    assert max_gpus(config) == 2 * 3 + 4 * 2
    assert min_gpus(config) == 2 * 1 + 4 * 2


# --- GPU node groups: properties -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(configs(Tier.MULTI_GPU))
def test_multi_gpu_one_group_spanning_every_zone(config: StackConfig) -> None:
    [group] = gpu_node_groups(config)
    assert group.zone_indexes == tuple(range(config.eks.zone_total))


@settings(max_examples=150, deadline=None)
@given(configs(Tier.ENTERPRISE))
def test_enterprise_one_group_per_zone(config: StackConfig) -> None:
    groups = gpu_node_groups(config)
    assert [g.zone_indexes for g in groups] == [(i,) for i in range(config.eks.zone_total)]
    assert len({g.name for g in groups}) == len(groups)


@settings(max_examples=200, deadline=None)
@given(configs())
def test_maximum_covers_every_profile_at_its_maximum_plus_headroom(config: StackConfig) -> None:
    groups = gpu_node_groups(config)
    assert max_gpus(config) == expected_max_gpus(config)
    needed = math.ceil(expected_max_gpus(config) / config.gpu.gpus) + config.eks.headroom_nodes
    assert total_max(groups) >= needed


@settings(max_examples=200, deadline=None)
@given(configs())
def test_minimum_is_zero_with_a_zero_night_floor_else_covers_the_minimum_gpus(config: StackConfig) -> None:
    groups = gpu_node_groups(config)
    if config.schedule.enabled and config.schedule.off_hours_min_replicas == 0:
        assert total_min(groups) == 0
    else:
        assert total_min(groups) * config.gpu.gpus >= expected_min_gpus(config)


@settings(max_examples=200, deadline=None)
@given(configs())
def test_bounds_are_ordered(config: StackConfig) -> None:
    for group in gpu_node_groups(config):
        assert 0 <= group.min_size <= group.desired_size <= group.max_size
        assert group.max_size >= 1  # a group of maximum 0 is refused by EKS


@settings(max_examples=150, deadline=None)
@given(configs(), st.data())
def test_more_max_replicas_never_lowers_the_maximum(config: StackConfig, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(config.models) - 1))
    extra = data.draw(st.integers(1, 30))
    models = list(config.models)
    target = models[index]
    models[index] = target.model_copy(update={"max_replicas": target.max_replicas + extra})
    bigger = config.model_copy(update={"models": models})
    before, after = gpu_node_groups(config), gpu_node_groups(bigger)
    assert total_max(after) >= total_max(before)
    assert all(b.max_size <= a.max_size for b, a in zip(before, after, strict=True))


@settings(max_examples=150, deadline=None)
@given(configs(Tier.MULTI_GPU), st.integers(1, 20))
def test_headroom_adds_exactly_its_nodes_on_multi_gpu(config: StackConfig, extra: int) -> None:
    more = config.model_copy(
        update={"eks": config.eks.model_copy(update={"headroom_nodes": config.eks.headroom_nodes + extra})}
    )
    assert total_max(gpu_node_groups(more)) == total_max(gpu_node_groups(config)) + extra
    assert total_min(gpu_node_groups(more)) == total_min(gpu_node_groups(config))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 20), st.integers(0, 3))
@example(4, 3, 4, 0).via("3-GPU replicas on 4-GPU nodes: one replica per node")
@example(4, 3, 4, 1).via("the same with one spare node")
def test_maximum_leaves_headroom_when_replicas_do_not_pack_evenly(
    node_gpus: int, per_replica: int, replicas: int, headroom: int
) -> None:
    """A replica never spans nodes: a node holds floor(node GPUs / replica GPUs) replicas, whatever GPUs are left.

    The maximum must hold every replica *and* the spare nodes, so counting GPUs (ceil(total / per node)) is not
    enough when the replica size does not divide the node (3-GPU replicas on 4-GPU nodes need one node each).
    """
    assume(per_replica <= node_gpus)
    config = stack(
        profile(gpus=per_replica, min_replicas=1, max_replicas=replicas),
        instance_type="custom.gpu",
        gpus_per_node=node_gpus,
        headroom=headroom,
    )
    nodes_for_replicas = math.ceil(replicas / (node_gpus // per_replica))
    assert total_max(gpu_node_groups(config)) >= nodes_for_replicas + headroom


# --- disk --------------------------------------------------------------------------------------------------------


@given(st.integers(50, 16_384))
def test_stated_gpu_disk_wins(stated: int) -> None:
    config = stack(profile(model="meta-llama/Llama-3.1-70B-Instruct"), eks_disk_gb=stated)
    assert gpu_disk_gib(config) == stated


def test_gpu_disk_grows_with_the_model() -> None:
    sizes = [gpu_disk_gib(stack(profile(model=f"org/model-{b}B"))) for b in (1, 8, 32, 70, 180, 405)]
    assert sizes == sorted(sizes)
    assert sizes[-1] > sizes[0]


@given(st.integers(1, 700), st.integers(1, 700))
def test_gpu_disk_is_monotonic_in_parameters(small: int, large: int) -> None:
    small, large = sorted((small, large))
    assert gpu_disk_gib(stack(profile(model=f"org/m-{small}B"))) <= gpu_disk_gib(
        stack(profile(model=f"org/m-{large}B"))
    )


@given(st.integers(1, 700))
def test_gpu_disk_holds_two_copies_of_the_weights(billions: int) -> None:
    chosen = profile(model=f"org/m-{billions}B")
    weights = weights_gib(chosen)
    assert weights is not None
    assert gpu_disk_gib(stack(chosen)) >= 2 * weights


def test_gpu_disk_follows_the_largest_profile() -> None:
    small = profile("small", model="org/m-8B")
    large = profile("large", model="org/m-70B")
    assert gpu_disk_gib(stack(small, large)) == gpu_disk_gib(stack(large)) > gpu_disk_gib(stack(small))


def test_gpu_disk_makes_room_for_a_canary_model() -> None:
    """A canary's model is downloaded to the same GPU nodes: the disk must hold the larger of the two."""
    canary = CanaryConfig(model="org/m-70B")
    with_canary = stack(profile(model="org/m-8B", canary=canary))
    assert gpu_disk_gib(with_canary) >= gpu_disk_gib(stack(profile(model="org/m-70B")))


def test_gpu_disk_gb_is_honoured_or_refused_on_eks() -> None:
    """`gpu.diskGb` states the GPU machines' disk. On EKS it must either size the GPU nodes (when eks.gpuDiskGb is
    unset) or be refused by the config checks; never silently ignored."""
    values = {
        "aws:region": "eu-west-1",
        "llmscale:tier": "multi-gpu",
        "llmscale:platform": "aws",
        "llmscale:models": [{"name": "chat", "model": "org/m-8B"}],
        "llmscale:gpu": {"instanceType": "g6e.xlarge", "diskGb": 900},
        "llmscale:eks": {"publicAccessCidrs": ["203.0.113.0/24"]},
        "llmscale:apiKeys": "[secret]",
    }
    try:
        config, _ = parse_values(values, {"llmscale:apiKeys"}, "stacks/Pulumi.disk.yaml")
    except ConfigError as error:
        assert any(problem.key.startswith("llmscale:gpu") and "diskGb" in problem.key for problem in error.problems)
        return
    assert gpu_disk_gib(config) == 900


# --- cluster-autoscaler tags ---------------------------------------------------------------------------------------


def test_autoscaler_tags_for_discovery_and_scale_from_zero() -> None:
    tags = autoscaler_tags("multi-gpu", 4)
    assert tags["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert tags["k8s.io/cluster-autoscaler/multi-gpu"] == "owned"
    assert tags[f"k8s.io/cluster-autoscaler/node-template/label/{GPU_LABEL}"] == "true"
    assert tags[f"k8s.io/cluster-autoscaler/node-template/taint/{GPU_TAINT_KEY}"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "4"


def test_gpu_label_and_taint_are_what_the_serving_layer_expects_by_default() -> None:
    from llmscale.config.models import KubernetesConfig

    defaults = KubernetesConfig()
    assert defaults.gpu_node_selector == {GPU_LABEL: "true"}
    assert defaults.gpu_taint_key == GPU_TAINT_KEY


cluster_names = st.from_regex(CLUSTER_NAME, fullmatch=True)


@settings(max_examples=100)
@given(cluster_names, st.integers(1, 16))
def test_autoscaler_tags_are_valid_aws_tags(cluster: str, gpus: int) -> None:
    tags = autoscaler_tags(cluster, gpus)
    assert len(tags) == 5
    for key, value in tags.items():
        assert key.startswith(AUTOSCALER_TAG_PREFIX)
        assert 0 < len(key) <= 128  # AWS tag key limit
        assert isinstance(value, str)
        assert len(value) <= 256  # AWS tag value limit
    assert tags[f"{AUTOSCALER_TAG_PREFIX}{cluster}"] == "owned"
    assert tags[f"{AUTOSCALER_TAG_PREFIX}node-template/resources/nvidia.com/gpu"] == str(gpus)


# --- IAM documents ---------------------------------------------------------------------------------------------


def check_autoscaler_policy(cluster: str) -> None:
    document = json.loads(autoscaler_policy(cluster))
    assert document["Version"] == "2012-10-17"
    writes = 0
    for statement in statements(autoscaler_policy(cluster)):
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        assert actions
        for action in actions:
            assert action != "*"
            assert not action.endswith(":*"), f"a whole service is granted: {action}"
            assert "*" not in action.split(":", 1)[1], f"wildcard action {action}"
        assert not ("*" in actions and "*" in resources)
        mutating = [a for a in actions if not READ_ONLY_ACTION.match(a)]
        if mutating:
            writes += len(mutating)
            condition = statement.get("Condition", {}).get("StringEquals", {})
            assert condition == {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}, mutating
    assert writes >= 2  # SetDesiredCapacity and TerminateInstanceInAutoScalingGroup


def test_autoscaler_policy_example() -> None:
    check_autoscaler_policy("multi-gpu")
    granted = {a for s in statements(autoscaler_policy("multi-gpu")) for a in as_list(s["Action"])}
    # The actions the cluster autoscaler needs on AWS, scale-from-zero of managed node groups included.
    assert {
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeTags",
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeInstanceTypes",
        "eks:DescribeNodegroup",
    } <= granted


@settings(max_examples=100)
@given(cluster_names)
def test_autoscaler_policy_scopes_writes_to_the_cluster(cluster: str) -> None:
    check_autoscaler_policy(cluster)


def test_pod_identity_trust_policy() -> None:
    [statement] = statements(pod_identity_trust_policy())
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    # EKS Pod Identity needs both: it tags the session with the pod's namespace, service account and cluster.
    assert set(as_list(statement["Action"])) == {"sts:AssumeRole", "sts:TagSession"}


# --- scale-up lead time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "lead", "new_start", "new_days"),
    [
        ("08:00", ["mon", "tue", "wed", "thu", "fri"], 30, "07:30", ["mon", "tue", "wed", "thu", "fri"]),
        ("08:00", ["mon"], 0, "08:00", ["mon"]),
        ("00:30", ["mon"], 30, "00:00", ["mon"]),
        ("00:10", ["mon"], 30, "23:40", ["sun"]),
        ("00:00", ["mon", "tue", "wed", "thu", "fri"], 30, "23:30", ["mon", "tue", "wed", "thu", "sun"]),
        ("01:00", ["sun"], 240, "21:00", ["sat"]),
        ("03:59", ["mon", "sun"], 240, "23:59", ["sat", "sun"]),
    ],
)
def test_lead_time_examples(start: str, days: list[str], lead: int, new_start: str, new_days: list[str]) -> None:
    schedule = ScheduleConfig(start=start, end="19:00", days=days)
    shifted = with_lead_time(schedule, lead)
    assert (shifted.start, shifted.days, shifted.end) == (new_start, new_days, "19:00")
    assert cron_window(shifted).end_days == cron_window(schedule).end_days


@settings(max_examples=400, deadline=None)
@given(windows(), leads)
def test_lead_time_opens_the_window_earlier(schedule: ScheduleConfig, lead: int) -> None:
    """Windows that stay shorter than a day once opened early (every realistic one: ≥ 4 hours of night)."""
    assume(window_length(schedule) + lead < MINUTES_PER_DAY)
    shifted = with_lead_time(schedule, lead)
    assert minutes(shifted.start) == (minutes(schedule.start) - lead) % MINUTES_PER_DAY
    crosses = minutes(schedule.start) < lead
    expected_days = sorted({day_before(d) for d in schedule.days}, key=DAYS.index) if crosses else schedule.days
    assert shifted.days == expected_days
    assert len(shifted.days) == len(schedule.days)
    assert shifted.end == schedule.end
    assert (shifted.timezone, shifted.enabled, shifted.off_hours_min_replicas) == (
        schedule.timezone,
        schedule.enabled,
        schedule.off_hours_min_replicas,
    )
    before, after = cron_window(schedule), cron_window(shifted)
    assert (after.end_hour, after.end_minute, after.end_days) == (before.end_hour, before.end_minute, before.end_days)
    assert (after.start_hour * 60 + after.start_minute) == minutes(shifted.start)
    assert after.start_days == tuple(shifted.days)


@given(windows())
def test_no_lead_time_changes_nothing(schedule: ScheduleConfig) -> None:
    assert with_lead_time(schedule, 0) == schedule


@settings(max_examples=400, deadline=None)
@given(windows(), leads)
@example(ScheduleConfig(start="00:00", end="23:59", days=["mon", "tue", "wed", "thu", "fri"]), 30).via(
    "an all-day window: opened 30 min early it must still end on mon..fri at 23:59, not 29 minutes later"
)
@example(ScheduleConfig(start="08:00", end="07:50", days=["mon"]), 30).via("a 23h50 window, lead longer than the gap")
@example(ScheduleConfig(start="08:00", end="07:30", days=["mon"]), 30).via("the new start equals the end")
def test_lead_time_keeps_the_end_for_windows_of_almost_a_day(schedule: ScheduleConfig, lead: int) -> None:
    """Whatever the window, the cron window of the result opens `lead` minutes earlier and ends where it ended.

    Opening early must never shorten the active window: ending on other days (or sooner) would let KEDA drop the
    floor in the middle of the active hours.
    """
    before, after = cron_window(schedule), cron_window(with_lead_time(schedule, lead))
    start_before = before.start_hour * 60 + before.start_minute
    start_after = after.start_hour * 60 + after.start_minute
    assert start_after == (start_before - lead) % MINUTES_PER_DAY
    assert (after.end_hour, after.end_minute, after.end_days) == (before.end_hour, before.end_minute, before.end_days)


@pytest.mark.parametrize(
    ("model", "value"),
    [("T4", "nvidia-tesla-t4"), ("A100", "nvidia-tesla-a100"), ("A10G", "nvidia-a10g"), ("L40S", "nvidia-l40s")],
)
def test_accelerator_label_uses_the_autoscalers_gpu_type_names(model: str, value: str) -> None:
    assert accelerator_label(model) == {"k8s.amazonaws.com/accelerator": value}
