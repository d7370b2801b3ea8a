"""The tier components: one per stack, Args as typed as the stack file, aliases that keep existing stacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

import llmscale.program
from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack
from llmscale.config.models import EksConfig, GpuConfig, ModelProfile, Tier
from llmscale.plan import recorder
from llmscale.plan.runner import PlanResult, run_program
from llmscale.tiers.args import (
    AwsEksPlatform,
    AwsPlatform,
    EnterpriseTierArgs,
    HostPlatform,
    KubernetesPlatform,
    MultiGpuTierArgs,
    SingleGpuTierArgs,
)
from llmscale.tiers.config import stack_config, tier_args

EXAMPLES = ("single-gpu", "single-gpu-host", "multi-gpu", "onprem", "enterprise")
TIER_TYPES = {
    Tier.SINGLE_GPU: "llmscale:index:SingleGpuTier",
    Tier.MULTI_GPU: "llmscale:index:MultiGpuTier",
    Tier.ENTERPRISE: "llmscale:index:EnterpriseTier",
}


@pytest.mark.parametrize("stack", EXAMPLES)
def test_a_stack_config_and_its_tier_args_say_the_same(stack: str) -> None:
    loaded = load_stack(stack)
    args = tier_args(loaded.config)
    again = stack_config(args)
    assert again == loaded.config
    assert again.declared_keys == loaded.config.declared_keys


def test_the_platform_carries_the_region_and_the_cluster_only_where_they_are_used() -> None:
    single = tier_args(load_stack("single-gpu").config).platform
    assert isinstance(single, AwsPlatform) and single.region == "eu-west-1"
    assert isinstance(tier_args(load_stack("single-gpu-host").config).platform, HostPlatform)
    assert isinstance(tier_args(load_stack("onprem").config).platform, KubernetesPlatform)
    enterprise = load_stack("enterprise")
    platform = tier_args(enterprise.config).platform
    assert isinstance(platform, AwsEksPlatform) and platform.eks == enterprise.config.eks
    assert platform.region == enterprise.region == enterprise.config.region
    with pytest.raises(ValidationError, match="region"):
        AwsEksPlatform()  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="eks"):
        AwsPlatform(region="eu-west-1", eks={})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        # A cluster tier does not run on a single existing host.
        MultiGpuTierArgs(platform=HostPlatform(), models=[ModelProfile(name="chat", model="org/model")])


def test_args_written_in_code_get_the_tier_preset_and_declare_what_they_set() -> None:
    args = MultiGpuTierArgs(
        platform=AwsEksPlatform(region="eu-west-1", eks=EksConfig(public_access_cidrs=["203.0.113.0/24"])),
        models=[ModelProfile(name="chat", model="org/model")],
        gpu=GpuConfig(instance_type="g6e.2xlarge"),
        api_keys=SecretStr("k-0123456789abcdef0123"),
    )
    config = stack_config(args)
    assert config.tier is Tier.MULTI_GPU
    assert config.gpu.instance_type == "g6e.2xlarge"
    # The multi-gpu preset's replica range, as for a stack file that leaves them out.
    assert (config.models[0].min_replicas, config.models[0].max_replicas) == (2, 4)
    assert config.declared_keys == {"tier", "platform", "models", "gpu", "apiKeys", "eks"}


def test_args_written_in_code_are_checked_like_a_stack_file() -> None:
    args = SingleGpuTierArgs(
        platform=AwsPlatform(region="eu-west-1"),
        models=[ModelProfile(name="a", model="org/a"), ModelProfile(name="b", model="org/b")],
    )
    with pytest.raises(ConfigError) as caught:
        stack_config(args)
    assert any(
        line.startswith("SingleGpuTierArgs: llmscale:models: the single-gpu tier serves one model profile")
        for line in caught.value.lines()
    )


@pytest.fixture(scope="module")
def aliases() -> Iterator[dict[str, list[Any]]]:
    """Every registration's aliases, by URN, for the enterprise example."""
    seen: dict[str, list[Any]] = {}
    original = recorder.RecordingMonitor.RegisterResource

    def register(self: recorder.RecordingMonitor, request: Any) -> Any:
        response = original(self, request)
        seen[response.urn] = list(request.aliases)
        return response

    recorder.RecordingMonitor.RegisterResource = register  # type: ignore[method-assign]
    try:
        result = run_program(load_stack("enterprise"), llmscale.program.main)
    finally:
        recorder.RecordingMonitor.RegisterResource = original  # type: ignore[method-assign]
    seen["plan"] = [result]
    yield seen


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_program_builds_one_tier_at_the_root_of_the_stack(stack: str) -> None:
    loaded = load_stack(stack)
    result = run_program(loaded, llmscale.program.main)
    stack_urn = f"urn:pulumi:{stack}::llmscale::pulumi:pulumi:Stack::llmscale-{stack}"
    roots = [r for r in result.resources if r.parent in (None, stack_urn)]
    assert [(r.type, r.name) for r in roots] == [(TIER_TYPES[loaded.config.tier], stack)]
    (settings,) = [r for r in result.resources if r.type == "llmscale:index:StackSettings"]
    assert settings.parent == roots[0].urn


def test_every_direct_child_of_the_tier_keeps_its_former_root_urn(aliases: dict[str, list[Any]]) -> None:
    """Re-parenting changes a resource's URN: without an alias to the stack root, `pulumi up` on a stack built
    before the tiers were components would replace every resource (GPU nodes, buckets, DNS records)."""
    result: PlanResult = aliases["plan"][0]
    (tier,) = [r for r in result.resources if r.type == "llmscale:index:EnterpriseTier"]
    children = [r for r in result.resources if r.parent == tier.urn]
    names = {r.name for r in children}
    # The resources that were at the root before: settings, providers, the store, both sites and the DNS.
    assert {
        "enterprise-settings",
        "enterprise-standby-region",
        "enterprise-models",
        "enterprise-tls",
        "enterprise-net",
        "enterprise-eks",
        "enterprise-models-reader",
        "enterprise-autoscaler",
        "enterprise",
        "enterprise-standby-tls",
        "enterprise-standby-net",
        "enterprise-standby-eks",
        "enterprise-standby-autoscaler",
        "enterprise-standby",
        "enterprise-failover",
    } <= names
    for child in children:
        (alias,) = [a for a in aliases[child.urn] if a.spec.noParent]
        # Same name and type, no parent: urn:pulumi:<stack>::llmscale::<type>::<name>, the former URN.
        assert not alias.spec.name and not alias.spec.type and not alias.spec.parentUrn
    # Deeper resources keep their parent: the engine derives their former URNs from their parents' aliases.
    # (pulumi_aws adds aliases of its own for renamed resource types; those name no parent.)
    deeper = [r for r in result.resources if r.parent not in (tier.urn, None) and r is not tier]
    assert deeper and not [r.name for r in deeper if any(a.spec.noParent for a in aliases[r.urn])]


def test_the_renamed_gpu_pool_keeps_its_former_name(aliases: dict[str, list[Any]]) -> None:
    """The pool's children take their names from it: it is `<cluster>-gpu` now, `<cluster>-gpu-pool` before."""
    result: PlanResult = aliases["plan"][0]
    pools = [r for r in result.resources if r.type == "llmscale:index:GpuNodePool"]
    assert sorted(r.name for r in pools) == ["enterprise-eks-gpu", "enterprise-standby-eks-gpu"]
    for pool in pools:
        assert [a.spec.name for a in aliases[pool.urn]] == [f"{pool.name}-pool"]


def test_the_tier_registers_its_outputs() -> None:
    result = run_program(load_stack("enterprise"), llmscale.program.main)
    assert set(result.outputs) >= {"endpoint", "baseUrls", "clusterName", "modelStore", "models", "failoverName"}
    assert result.outputs["models"] == ["chat", "analysis"]
    assert result.outputs["endpoint"] == "https://llm.example.com"


def test_enterprise_args_take_a_failover_and_multi_gpu_args_do_not() -> None:
    models = [ModelProfile(name="chat", model="org/model")]
    with pytest.raises(ValidationError, match="failover"):
        MultiGpuTierArgs(platform=KubernetesPlatform(), models=models, failover={})  # type: ignore[call-arg]
    assert EnterpriseTierArgs(platform=KubernetesPlatform(), models=models).failover is None
