"""The simulator reads the stack's planned objects: what it extracts from each example plan, with the defaults the
API servers and controllers fill in, and one-line errors for what it cannot play."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llmscale.config.loader import load_stack
from llmscale.k8s.weights import weights_plan
from llmscale.policy.model import Inventory
from llmscale.policy.pack import inventory_from_plan
from llmscale.simulate.stack import SimStack, SimulationError, stack_from_inventory, stack_from_plan
from tests.helpers import edit, example_plan


def planned(stack: str) -> dict[str, Any]:
    """The offline plan document of an example stack (planned once per test session; a copy each call)."""
    return copy.deepcopy(example_plan(stack))


def inventory(stack: str) -> Inventory:
    """The records the policy runners see for an example stack."""
    return inventory_from_plan(planned(stack))


def kind(name: str) -> str:
    """The Pulumi type token of a Kubernetes kind used in the example plans."""
    return {
        "ScaledObject": "kubernetes:keda.sh/v1alpha1:ScaledObject",
        "Deployment": "kubernetes:apps/v1:Deployment",
        "StackSettings": "llmscale:index:StackSettings",
    }[name]


@pytest.fixture(scope="module")
def enterprise() -> SimStack:
    return stack_from_plan(planned("enterprise"))


def test_enterprise_sites_servers_and_routes(enterprise: SimStack) -> None:
    assert [s.name for s in enterprise.sites] == ["primary", "standby"]
    primary = enterprise.primary
    chat = next(s for s in primary.servers if s.name == "chat")
    assert (chat.profile, chat.lane, chat.max_num_seqs, chat.queue_limit, chat.shutdown_timeout) == (
        "chat",
        "interactive",
        128,
        384,
        300,
    )
    # The startup probe's window follows the model's size and its path, here a download from the Hub.
    config = load_stack("enterprise").config
    window = weights_plan(config, next(p for p in config.models if p.name == "chat")).startup_window_seconds
    assert (chat.grace_seconds, chat.pre_stop_seconds, chat.startup_budget_seconds) == (340, 10, window)
    assert chat.zone_spread and chat.load_path == "hub" and chat.model_cache == "emptyDir"
    assert chat.scrape_seconds == 15
    route = next(r for r in primary.routes if r.name == "chat")
    assert route.timeout_seconds == 300 and route.retries == 2 and route.retry_on_503
    assert (route.rate_limit_requests, route.rate_limit_window_seconds, route.rate_limit_per_client) == (1500, 60, True)
    assert primary.envoy_replicas == 2


def test_enterprise_scaled_object_as_planned(enterprise: SimStack) -> None:
    scaler = next(s for s in enterprise.primary.servers if s.name == "chat").scaler
    assert scaler is not None
    assert (scaler.polling_seconds, scaler.cooldown_seconds, scaler.min_replicas, scaler.max_replicas) == (
        15,
        300,
        2,
        12,
    )
    assert [(t.counts_waiting, t.counts_running, t.threshold) for t in scaler.prometheus] == [
        (True, False, 5),
        (True, True, 21),  # the chat profile's inFlightTarget
    ]
    assert [(t.start, t.end, t.desired_replicas) for t in scaler.cron] == [
        ("15 6 * * 1,2,3,4,5", "0 20 * * 1,2,3,4,5", 3)
    ]
    assert scaler.scale_down.stabilization_seconds == 3600
    assert [(p.type, p.value, p.period_seconds) for p in scaler.scale_down.policies] == [("Pods", 1, 300)]


def test_enterprise_nodes_autoscaler_and_failover(enterprise: SimStack) -> None:
    primary, standby = enterprise.primary, enterprise.standby
    assert standby is not None
    assert [(g.min_size, g.max_size) for g in primary.node_groups] == [(2, 7)] * 3
    assert [(g.min_size, g.max_size) for g in standby.node_groups] == [(1, 7)] * 3
    assert primary.autoscaler is not None
    assert (primary.autoscaler.scale_down_unneeded, primary.autoscaler.max_graceful_termination) == (600, 1840)
    assert enterprise.failover is not None
    assert (enterprise.failover.primary.interval_seconds, enterprise.failover.primary.failure_threshold) == (10, 3)
    assert enterprise.failover.ttl_seconds == 60
    standby_chat = next(s for s in standby.servers if s.name == "chat").scaler
    assert standby_chat is not None and standby_chat.min_replicas == 1


def test_single_host_schedule_and_server() -> None:
    stack = stack_from_plan(planned("single-gpu"))
    site = stack.primary
    assert site.single_host and site.host_schedule is not None
    # The instance starts schedule.warmUpMinutes (15) before the 07:00 window and stops when it ends.
    assert site.host_schedule.start == "cron(45 6 ? * MON,TUE,WED,THU,FRI *)"
    assert site.host_schedule.stop == "cron(0 20 ? * MON,TUE,WED,THU,FRI *)"
    server = site.servers[0]
    # docker compose's stop_grace_period covers vLLM's 600 s drain and its teardown (10 + 600 + 30 s).
    assert (server.max_num_seqs, server.queue_limit, server.shutdown_timeout, server.grace_seconds) == (
        64,
        192,
        600,
        640,
    )


def test_existing_cluster_has_no_managed_nodes() -> None:
    stack = stack_from_plan(planned("onprem"))
    assert stack.platform == "kubernetes"
    assert stack.primary.node_groups == () and stack.primary.autoscaler is None
    assert {s.name for s in stack.primary.servers} == {"chat", "analysis"}


def test_extraction_works_from_records_alone() -> None:
    """CrossGuard hands over records, not the plan document: the same extraction applies."""
    document = planned("multi-gpu")
    assert stack_from_inventory(inventory_from_plan(document), "multi-gpu") == stack_from_plan(document)


def test_defaults_fill_in_what_the_objects_leave_out() -> None:
    """No `--shutdown-timeout`, no grace period, no queue limit: vLLM's 0 (abort), the kubelet's 30 s, unbounded."""

    def bare(props: dict[str, Any]) -> None:
        pod = props["spec"]["template"]["spec"]
        pod.pop("terminationGracePeriodSeconds")
        container = pod["containers"][0]
        args = container["args"]
        for flag in ("--shutdown-timeout", "--max-num-queued-reqs"):
            index = args.index(flag)
            del args[index : index + 2]
        container.pop("lifecycle")

    records = inventory("multi-gpu")
    name = next(r.name for r in records.records if r.type == kind("Deployment"))
    server = stack_from_inventory(edit(records, name, bare)).primary.servers[0]
    assert (server.shutdown_timeout, server.grace_seconds, server.queue_limit, server.pre_stop_seconds) == (
        0,
        30,
        None,
        0,
    )


def test_unsupported_trigger_is_one_line_naming_the_object() -> None:
    records = inventory("multi-gpu")
    name = next(r.name for r in records.records if r.type == kind("ScaledObject"))

    def cpu_trigger(props: dict[str, Any]) -> None:
        props["spec"]["triggers"].append({"type": "cpu", "metadata": {"value": "50"}})

    with pytest.raises(
        SimulationError, match=r"^ScaledObject/chat: triggers\[3\]: trigger type 'cpu' is not simulated"
    ):
        stack_from_inventory(edit(records, name, cpu_trigger))


def test_a_plan_without_settings_cannot_be_simulated() -> None:
    records = inventory("multi-gpu")
    bare = Inventory.of(r for r in records.records if r.type != kind("StackSettings"))
    with pytest.raises(SimulationError, match="StackSettings"):
        stack_from_inventory(bare)
