"""`models[].inFlightTarget`: the requests in flight per replica the autoscaler aims for, from what one replica
carries within the SLO (`llmscale size`), instead of full batches (`maxNumSeqs`).

The in-flight trigger of a profile's ScaledObject takes it as its threshold; `llmscale size` derives it; the
example stacks carry it, and a simulated day of them shows what it buys against full batches.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from typer.testing import CliRunner

from llmscale.cli import app
from llmscale.config.errors import ConfigError
from llmscale.config.loader import load_stack, parse_values
from llmscale.k8s.autoscaling import scaled_object_manifest
from llmscale.policy.settings import in_flight_summary
from llmscale.serving.metrics import VLLM_RUNNING
from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report
from llmscale.simulate.run import Options
from llmscale.simulate.stack import SimStack, stack_from_plan
from llmscale.simulate.stack.servers import scaler_from_spec
from llmscale.sizing.planner import size_for_stack
from tests.test_simulate_stack import planned

SECRETS = {"llmscale:apiKeys"}


def cluster_stack(**chat: Any) -> dict[str, Any]:
    return {
        "llmscale:tier": "multi-gpu",
        "llmscale:platform": "kubernetes",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct", **chat}],
    }


def in_flight_threshold(manifest: dict[str, Any]) -> str:
    (trigger,) = [t for t in manifest["spec"]["triggers"] if VLLM_RUNNING in t["metadata"].get("query", "")]
    return trigger["metadata"]["threshold"]


def test_the_trigger_takes_the_target_and_full_batches_without_one() -> None:
    config, _ = parse_values(cluster_stack(maxNumSeqs=96, inFlightTarget=24), SECRETS, "s")
    assert in_flight_threshold(scaled_object_manifest(config, config.models[0])) == "24"
    config, _ = parse_values(cluster_stack(maxNumSeqs=96), SECRETS, "s")
    assert config.models[0].in_flight_target is None
    assert in_flight_threshold(scaled_object_manifest(config, config.models[0])) == "96"


def test_a_target_above_the_batch_is_refused_with_the_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_values(cluster_stack(maxNumSeqs=64, inFlightTarget=65), SECRETS, "stacks/Pulumi.x.yaml")
    assert raised.value.lines() == [
        "stacks/Pulumi.x.yaml: llmscale:models[0].inFlightTarget: a replica runs at most maxNumSeqs (64) at once; "
        "set at most that (the queue-depth target covers waiting requests)"
    ]


@pytest.mark.parametrize(("stack", "target"), [("multi-gpu", 19), ("onprem", 22), ("enterprise", 21)])
def test_each_example_carries_what_the_planner_derives(stack: str, target: int) -> None:
    config = load_stack(stack).config
    chat = config.models[0]
    result = size_for_stack(config, profile=chat, own_replicas=True)
    assert chat.in_flight_target == result.serving.in_flight_target == target
    # The mean requests in flight per replica at the peak, rounded down.
    assert target == math.floor(result.requests_per_replica)


@pytest.mark.parametrize("users", range(20, 820, 20))
def test_the_autoscaler_asks_for_at_least_the_planners_replicas_at_the_peak(users: int) -> None:
    """KEDA's AverageValue target asks the HPA for ceil(requests in flight / target) replicas: at the declared
    peak that is never fewer than the fewest replicas the planner found to meet the SLO."""
    values = cluster_stack()
    values["llmscale:load"] = {"peakConcurrentUsers": users}
    values["llmscale:slo"] = {"p99LatencySeconds": 20, "ttftP95Seconds": 2}
    config, _ = parse_values(values, SECRETS, "s")
    result = size_for_stack(config, own_replicas=True)
    target = result.serving.in_flight_target
    # The mean per replica at the peak rounded down (this load stays far below the preset's 128).
    assert target == math.floor(result.requests_per_replica + 1e-9) < config.models[0].max_num_seqs
    assert math.ceil(result.concurrent_requests / target - 1e-9) >= result.replicas


def test_size_prints_the_target_with_its_reasoning() -> None:
    args = ["size", "--users", "150", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "l40s"]
    args += ["--p99", "20", "--ttft", "2"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    serving = json.loads(result.stdout)["serving"]
    assert serving["inFlightTarget"] == 22
    assert serving["reasoning"][2].startswith("in-flight target 22: 22.7 requests in flight per replica")
    text = CliRunner().invoke(app, args)
    assert "KEDA in-flight target" in text.output and "22 requests in flight per replica" in text.output


def full_batches(stack: SimStack) -> SimStack:
    """The stack with every in-flight trigger back at its profile's maxNumSeqs."""
    sites = []
    for site in stack.sites:
        servers = []
        for server in site.servers:
            if server.scaler is not None:
                triggers = tuple(
                    dataclasses.replace(t, threshold=float(server.max_num_seqs)) if t.counts_running else t
                    for t in server.scaler.prometheus
                )
                server = dataclasses.replace(server, scaler=dataclasses.replace(server.scaler, prometheus=triggers))
            servers.append(server)
        sites.append(dataclasses.replace(site, servers=tuple(servers)))
    return dataclasses.replace(stack, sites=tuple(sites))


@pytest.mark.slow
def test_a_simulated_day_keeps_the_slo_through_the_day_where_full_batches_do_not() -> None:
    stack = stack_from_plan(planned("onprem"))
    options = Options(days=1, warm_up_minutes=120)
    scaled = build_report(simulate(stack, options))
    batched = build_report(simulate(full_batches(stack), options))
    assert batched["p99Seconds"] > 20 >= scaled["p99Seconds"]
    assert scaled["sloViolationMinutes"] < batched["sloViolationMinutes"]
    # Within the active window (07:00-20:00) the target holds the SLO in all but a few burst minutes; what is left
    # is the hour before it, when early users meet the night floor of zero replicas and get 503.
    in_window = [h for h in scaled["hourly"] if 7 <= int(h["hour"][11:13]) < 20]
    assert sum(h["sloViolationMinutes"] for h in in_window) <= 10
    assert max(h["replicas"]["primary/chat"] for h in scaled["hourly"]) == 4


def test_the_policy_judges_the_profiles_own_replica_size() -> None:
    """On 4-GPU nodes the planner, free to choose, sizes 4-GPU replicas for 800 users of an 8B model; the stack's
    replicas have 1 GPU, and one of them carries what a 1-GPU replica carries, not a quarter of a 4-GPU one's."""
    values = cluster_stack(gpusPerReplica=1)
    values["llmscale:gpu"] = {"instanceType": "g6e.12xlarge"}
    values["llmscale:load"] = {"peakConcurrentUsers": 800}
    values["llmscale:slo"] = {"p99LatencySeconds": 20, "ttftP95Seconds": 2}
    config, _ = parse_values(values, SECRETS, "s")
    own = size_for_stack(config, own_replicas=True)
    assert own.gpus_per_replica == 1
    summary = in_flight_summary(config, config.models[0])
    assert summary is not None and summary["inFlightTarget"] == own.serving.in_flight_target
    free = size_for_stack(config)
    assert (free.gpus_per_replica, free.serving.in_flight_target) == (4, 98)
    assert own.serving.in_flight_target == 21


def test_a_canarys_pods_are_left_out_of_the_stable_replicas_load() -> None:
    canary = {"model": "meta-llama/Llama-3.1-8B-Instruct", "weight": 20, "replicas": 1}
    with_canary, _ = parse_values(cluster_stack(canary=canary), SECRETS, "s")
    without, _ = parse_values(cluster_stack(), SECRETS, "s")
    for config, expected in ((with_canary, True), (without, False)):
        manifest = scaled_object_manifest(config, config.models[0])
        queries = [t["metadata"]["query"] for t in manifest["spec"]["triggers"] if t["type"] == "prometheus"]
        assert len(queries) == 2
        assert all(('pod!~"chat-canary-.+"' in query) is expected for query in queries)
        # The simulator reads the same queries: a stable-only trigger sums the stable Deployment's pods.
        scaler = scaler_from_spec("chat", manifest["spec"])
        assert [t.stable_only for t in scaler.prometheus] == [expected, expected]


def test_routing_on_a_single_gpu_stack_is_refused() -> None:
    values = {
        "aws:region": "eu-west-1",
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "aws",
        "llmscale:apiKeys": "[secret]",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct"}],
        "llmscale:host": {"allowedCidrs": ["203.0.113.0/24"]},
        "llmscale:routing": {"strategy": "least-loaded"},
    }
    with pytest.raises(ConfigError) as raised:
        parse_values(values, SECRETS, "stacks/Pulumi.x.yaml")
    assert raised.value.lines() == [
        "stacks/Pulumi.x.yaml: llmscale:routing: only used by the multi-gpu and enterprise tiers; remove it"
    ]


@pytest.mark.parametrize("key", ["inFlightTarget", "queueDepthTarget"])
def test_autoscaler_targets_on_a_single_gpu_stack_are_refused(key: str) -> None:
    values = {
        "llmscale:tier": "single-gpu",
        "llmscale:platform": "host",
        "llmscale:models": [{"name": "chat", "model": "meta-llama/Llama-3.1-8B-Instruct", key: 8}],
    }
    with pytest.raises(ConfigError) as raised:
        parse_values(values, set(), "stacks/Pulumi.x.yaml")
    assert raised.value.lines() == [
        f"stacks/Pulumi.x.yaml: llmscale:models[0].{key}: only used by the multi-gpu and enterprise tiers (the "
        "single host runs one replica, no autoscaler); remove it"
    ]
