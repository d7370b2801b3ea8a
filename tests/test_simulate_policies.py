"""Policies from simulation: each fires on a stack that has the problem and passes on one that does not.

The `check_*_fires` functions are also run by the policy suite's coverage (tests/test_policies.py), which wants a
firing test for every registered policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmscale.policy.model import Enforcement, Finding, Inventory
from llmscale.policy.pack import POLICIES, evaluate
from llmscale.simulate import policies
from tests.helpers import edit
from tests.resource_types import BUCKET_OBJECT
from tests.test_simulate_defects import (
    docker_default_stop_grace,
    long_answers,
    no_drain,
    queue_only,
)
from tests.test_simulate_stack import inventory, kind

Inventories = Callable[[str], Inventory]


def _named(records: Inventory, type_: str) -> str:
    return next(r.name for r in records.records if r.type == type_)


def _settings(records: Inventory, change: Callable[[dict[str, Any]], None]) -> Inventory:
    return edit(records, _named(records, kind("StackSettings")), change)


def _scaler(records: Inventory, change: Callable[[dict[str, Any]], None], name: str | None = None) -> Inventory:
    target = name or _named(records, kind("ScaledObject"))
    return edit(records, target, change, kind("ScaledObject"))


def _fast_scale_down(props: dict[str, Any]) -> None:
    props["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"] = {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }


def _scale_down_window(seconds: int) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        behavior = props["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        behavior["scaleDown"]["stabilizationWindowSeconds"] = seconds

    return change


def _cron_at(start: str) -> Callable[[dict[str, Any]], None]:
    """The cron window opening when the users arrive, with no lead for nodes and cold starts."""

    def change(props: dict[str, Any]) -> None:
        for trigger in props["spec"]["triggers"]:
            if trigger["type"] == "cron":
                trigger["metadata"]["start"] = start

    return change


def _host_start_at(expression: str) -> Callable[[dict[str, Any]], None]:
    def change(props: dict[str, Any]) -> None:
        props["scheduleExpression"] = expression

    return change


# --- firing ---------------------------------------------------------------------------------------------


def check_night_kills_fires(stacks: Inventories) -> None:
    records = _settings(stacks("multi-gpu"), long_answers)
    records = _scaler(records, queue_only)
    records = edit(records, _named(records, kind("Deployment")), no_drain)
    (finding,) = policies.night_kills(records)
    assert finding.resource == "multi-gpu-chat-deployment"
    assert "cuts" in finding.message and "primary/chat" in finding.message and "scaling it to zero" in finding.message
    levels = {v.enforcement for v in evaluate(records) if v.policy == "night-kills"}
    assert levels == {Enforcement.MANDATORY}
    # The single host with docker's 10 s stop grace: the EventBridge stop cuts long answers, a mandatory finding.
    host = _settings(stacks("single-gpu"), long_answers)
    host = edit(host, "single-gpu-bundle-docker-compose-yml", docker_default_stop_grace, BUCKET_OBJECT)
    (finding,) = policies.night_kills(host)
    assert "primary/chat" in finding.message and "stopping the host" in finding.message
    assert finding.resource == "single-gpu-bundle-docker-compose-yml"
    levels = {v.enforcement for v in evaluate(host) if v.policy == "night-kills"}
    assert levels == {Enforcement.MANDATORY}


def check_scale_flapping_fires(stacks: Inventories) -> None:
    # The enterprise example's chat profile gives replicas back as soon as a queue has gone: replicas go up on
    # the queue, arrive after their cold start, empty it, go, and the queue comes back.
    fast = _scaler(stacks("enterprise"), _fast_scale_down, "enterprise-chat-scaler")
    (finding,) = policies.scale_flapping(fast)
    assert finding.resource == "enterprise-chat-deployment"
    assert "primary/chat reverses its scaling" in finding.message
    # A 10-minute scale-down window is not enough either.
    ten_minutes = _scaler(stacks("enterprise"), _scale_down_window(600), "enterprise-chat-scaler")
    (finding,) = policies.scale_flapping(ten_minutes)
    assert finding.resource == "enterprise-chat-deployment"
    simulated = policies.simulated(ten_minutes)
    assert simulated is not None and simulated.day_report["maxDirectionChangesPerHour"] > policies.FLAP_LIMIT


def check_failover_rto_fires(stacks: Inventories) -> None:
    strict = _settings(stacks("enterprise"), lambda props: props["slo"].update(availability=0.99999))
    (finding,) = policies.failover_rto(strict)
    assert "allows 26 s of downtime a month" in finding.message


def check_morning_ramp_fires(stacks: Inventories) -> None:
    # The host started when the window opens (no schedule.warmUpMinutes): it boots and loads for minutes.
    records = stacks("single-gpu")
    late_host = edit(records, "single-gpu-schedule-start", _host_start_at("cron(0 7 ? * MON,TUE,WED,THU,FRI *)"))
    (finding,) = policies.morning_ramp(late_host)
    assert "opens at 07:00 (Europe/Berlin)" in finding.message and "0 of 1" in finding.message
    assert "min after it opens" in finding.message and "schedule.warmUpMinutes" in finding.message
    # The cron floor at the window on an existing cluster: the models load after the users arrive.
    late_onprem = _scaler(stacks("onprem"), _cron_at("0 7 * * 1,2,3,4,5"), "onprem-chat-scaler")
    (finding,) = policies.morning_ramp(late_onprem)
    assert finding.resource == "onprem-chat-deployment" and "0 of 2" in finding.message
    # ... and on EKS, where GPU nodes start first.
    late = _scaler(stacks("multi-gpu"), _cron_at("0 8 * * 1,2,3,4,5"))
    (finding,) = policies.morning_ramp(late)
    assert finding.resource == "multi-gpu-chat-deployment" and "0 of 2" in finding.message


FIRING = [check_night_kills_fires, check_scale_flapping_fires, check_failover_rto_fires, check_morning_ramp_fires]


@pytest.mark.parametrize("check", FIRING, ids=lambda c: c.__name__)
def test_policies_from_simulation_fire(check: Callable[[Inventories], None]) -> None:
    check(inventory)


# --- passing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["multi-gpu", "enterprise", "onprem", "single-gpu", "single-gpu-host"])
def test_night_kills_pass_on_the_examples(stack: str) -> None:
    assert list(policies.night_kills(inventory(stack))) == []


def test_night_kills_pass_on_the_single_host_with_long_answers() -> None:
    # The compose file's stop_grace_period covers vLLM's drain: the answers running at the stop finish.
    assert list(policies.night_kills(_settings(inventory("single-gpu"), long_answers))) == []


@pytest.mark.parametrize("stack", ["enterprise", "multi-gpu", "onprem", "single-gpu-host"])
def test_scale_flapping_passes_on_the_examples(stack: str) -> None:
    # An hour's scale-down window (the default) stretches the queue-driven cycle beyond the hour.
    assert list(policies.scale_flapping(inventory(stack))) == []


def test_the_examples_wait_an_hour_before_giving_replicas_back() -> None:
    for record in inventory("enterprise").of_type(kind("ScaledObject")):
        behavior = record.props["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 3600


def test_failover_rto_passes_on_the_enterprise_example() -> None:
    assert list(policies.failover_rto(inventory("enterprise"))) == []


@pytest.mark.parametrize("stack", ["multi-gpu", "onprem", "single-gpu", "enterprise"])
def test_morning_ramp_passes_when_capacity_leads_the_users(stack: str) -> None:
    # eks.scaleUpLeadMinutes on EKS; schedule.warmUpMinutes for the host's start and on an existing cluster.
    assert list(policies.morning_ramp(inventory(stack))) == []


def test_unplayable_stacks_get_no_simulated_finding() -> None:
    bare = Inventory.of(r for r in inventory("multi-gpu").records if r.type != kind("StackSettings"))
    rules: list[Callable[[Inventory], Any]] = [
        policies.night_kills,
        policies.scale_flapping,
        policies.failover_rto,
        policies.morning_ramp,
    ]
    found: list[Finding] = [f for rule in rules for f in rule(bare)]
    assert found == []


def test_the_rules_share_one_simulation_per_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    records = inventory("single-gpu-host")
    calls: list[int] = []
    real = policies.simulate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(policies, "simulate", counted)
    for rule in (policies.night_kills, policies.scale_flapping, policies.morning_ramp):
        list(rule(records))
    assert len(calls) == 1


def test_registered_with_their_enforcement() -> None:
    levels = {p.name: p.enforcement for p in POLICIES}
    assert levels["night-kills"]["multi-gpu"] is Enforcement.MANDATORY
    # The single host's compose file waits for vLLM's drain: a night stop that cuts answers is a defect there too.
    assert levels["night-kills"]["single-gpu"] is Enforcement.MANDATORY
    assert {levels[name]["enterprise"] for name in ("scale-flapping", "failover-rto", "morning-ramp")} == {
        Enforcement.ADVISORY
    }
