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
from llmscale.serving.metrics import VLLM_RUNNING
from llmscale.simulate.engine import simulate
from llmscale.simulate.report import build_report
from llmscale.simulate.run import Options
from llmscale.simulate.stack import SimStack, stack_from_plan
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


@pytest.mark.parametrize(("stack", "target"), [("multi-gpu", 20), ("onprem", 23), ("enterprise", 22)])
def test_each_example_carries_what_the_planner_derives(stack: str, target: int) -> None:
    config = load_stack(stack).config
    chat = config.models[0]
    result = size_for_stack(config, profile=chat)
    assert chat.in_flight_target == result.serving.in_flight_target == target
    # The mean requests in flight per replica at the peak, rounded up: the HPA then asks for exactly the replicas
    # the planner sized at the declared peak.
    assert target == math.ceil(result.requests_per_replica)
    assert math.ceil(result.concurrent_requests / target) == result.replicas


def test_size_prints_the_target_with_its_reasoning() -> None:
    args = ["size", "--users", "150", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "l40s"]
    args += ["--p99", "20", "--ttft", "2"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    serving = json.loads(result.stdout)["serving"]
    assert serving["inFlightTarget"] == 23
    assert serving["reasoning"][2].startswith("in-flight target 23: 22.7 requests in flight per replica")
    text = CliRunner().invoke(app, args)
    assert "KEDA in-flight target" in text.output and "23 requests in flight per replica" in text.output


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
