"""Defects the simulation exists to catch before a deploy, each shown on a stack that has it and one that does not.

A ScaledObject whose only prometheus trigger is the queue looks idle to KEDA while requests still generate: at
the end of the cron window it scales the profile to zero under running requests. Without a drain (vLLM's default
`--shutdown-timeout 0`) those requests are cut; with one they finish, but the users still arriving in the evening
find no replica. The example stacks count running requests and drain within their request timeout.

The single host is stopped each night by EventBridge; docker gives a container 10 s after SIGTERM unless the
compose file's `stop_grace_period` says otherwise, so a compose file without it cuts the answers still running.
"""

from __future__ import annotations

from typing import Any

import pytest

from llmscale.policy.model import Inventory
from llmscale.serving.vllm_args import PRE_STOP_SECONDS, SHUTDOWN_MARGIN_SECONDS
from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report
from llmscale.simulate.run import Options, Run
from llmscale.simulate.stack import stack_from_inventory
from tests.helpers import edit
from tests.resource_types import BUCKET_OBJECT
from tests.test_simulate_stack import inventory, kind


def _named(records: Inventory, type_: str) -> str:
    return next(r.name for r in records.records if r.type == type_)


def queue_only(props: dict[str, Any]) -> None:
    """The ScaledObject as it was before it counted running requests: queue trigger and cron window only."""
    props["spec"]["triggers"] = [
        t for t in props["spec"]["triggers"] if "num_requests_running" not in t.get("metadata", {}).get("query", "")
    ]


def no_drain(props: dict[str, Any]) -> None:
    """vLLM without `--shutdown-timeout`: it aborts what it is running on SIGTERM."""
    args = props["spec"]["template"]["spec"]["containers"][0]["args"]
    index = args.index("--shutdown-timeout")
    del args[index : index + 2]


def long_answers(props: dict[str, Any]) -> None:
    """Answers long enough to outlast the 10 s preStop hook (2000 tokens at the 99th percentile)."""
    props["load"]["outputTokens"] = 2000


def _run(records: Inventory, seed: int = 0) -> Run:
    return simulate(stack_from_inventory(records, "multi-gpu"), Options(days=1, seed=seed))


@pytest.fixture(scope="module")
def multi_gpu() -> Inventory:
    records = inventory("multi-gpu")
    return edit(records, _named(records, kind("StackSettings")), long_answers)


@pytest.mark.parametrize("seed", [0, 1])
def test_queue_only_scaler_without_drain_cuts_requests_at_the_night_scale_down(multi_gpu: Inventory, seed: int) -> None:
    broken = edit(multi_gpu, _named(multi_gpu, kind("ScaledObject")), queue_only)
    broken = edit(broken, _named(broken, kind("Deployment")), no_drain)
    run = _run(broken, seed)
    assert run.killed_by.get("scale-to-zero", 0) > 1
    report = build_report(run)
    assert report["requests"]["killed"] > 0
    scale_to_zero = [e for w in run.workloads for e in w.events if e.after == 0 and e.by == "keda"]
    assert scale_to_zero, "KEDA should have scaled the profile to zero"
    evening = scale_to_zero[0].seconds // 60
    assert run.minutes[int(evening)].counts.killed > 0, "the cut happens at the scale to zero"


def _evening_refusals(run: Run) -> float:
    """Requests refused for want of a replica from 18:00 on."""
    return sum(minute.counts.no_replica for minute in run.minutes[18 * 60 :])


def test_queue_only_scaler_with_drain_turns_evening_users_away(multi_gpu: Inventory) -> None:
    broken = _run(edit(multi_gpu, _named(multi_gpu, kind("ScaledObject")), queue_only))
    fixed = _run(multi_gpu)
    assert build_report(broken)["requests"]["killed"] == 0  # the drain lets running requests finish...
    assert _evening_refusals(broken) > 1000  # ...but the profile is gone while users still come
    assert _evening_refusals(fixed) < _evening_refusals(broken) / 10


def test_no_drain_cuts_requests_at_every_scale_down(multi_gpu: Inventory) -> None:
    """Replicas removed while still serving: the HPA's daytime scale-downs cut streams without a drain."""
    broken = edit(multi_gpu, _named(multi_gpu, kind("Deployment")), no_drain)
    assert _run(broken).killed_by.get("scale-down", 0) > 1


@pytest.mark.parametrize("stack", ["multi-gpu", "enterprise", "onprem"])
def test_example_stacks_cut_no_request(stack: str) -> None:
    run = simulate(stack_from_inventory(inventory(stack), stack), Options(days=1))
    assert build_report(run)["requests"]["killed"] == 0
    assert sum(run.killed_by.values()) == pytest.approx(0.0, abs=1e-6)


def docker_default_stop_grace(props: dict[str, Any]) -> None:
    """The host's compose file as it was before it set `stop_grace_period` on vLLM: docker's 10 s default."""
    lines = props["content"].splitlines(keepends=True)
    kept = [line for line in lines if "stop_grace_period" not in line and "docker would kill it" not in line]
    assert len(lines) - len(kept) == 2, "the comment and the setting"
    props["content"] = "".join(kept)


@pytest.fixture(scope="module")
def single_host() -> Inventory:
    records = inventory("single-gpu")
    return edit(records, _named(records, kind("StackSettings")), long_answers)


def _host_run(records: Inventory) -> Run:
    return simulate(stack_from_inventory(records, "single-gpu"), Options(days=1))


def test_the_single_host_stop_cuts_long_answers_after_docker_stop_grace(single_host: Inventory) -> None:
    """EventBridge stops the host at the window's end; docker gives vLLM 10 s (compose `stop_grace_period`
    default), less than its 600 s drain: long answers still running at 20:00 are cut."""
    broken = edit(single_host, "single-gpu-bundle-docker-compose-yml", docker_default_stop_grace, BUCKET_OBJECT)
    stack = stack_from_inventory(broken, "single-gpu")
    assert stack.primary.servers[0].grace_seconds == 10
    run = _host_run(broken)
    assert run.killed_by.get("schedule", 0) > 0
    assert build_report(run)["requests"]["killed"] > 0
    stop = 20 * 60
    assert sum(m.counts.killed for m in run.minutes[stop : stop + 2]) > 0, "the cut happens at the stop"


def test_the_example_host_drains_before_docker_stops_it(single_host: Inventory) -> None:
    """The compose file waits for vLLM's drain (`stop_grace_period` = the request timeout and teardown): the
    same long answers finish at the night stop."""
    stack = stack_from_inventory(single_host, "single-gpu")
    server = stack.primary.servers[0]
    assert server.grace_seconds == PRE_STOP_SECONDS + server.shutdown_timeout + SHUTDOWN_MARGIN_SECONDS
    run = _host_run(single_host)
    assert run.killed_by.get("schedule", 0) == 0
    assert build_report(run)["requests"]["killed"] == 0
