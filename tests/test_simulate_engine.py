"""The simulation loop on the example stacks: controllers acting at the times their semantics say, the planner's
model at steady state, traffic shapes and files."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from llmscale.simulate import nodes
from llmscale.simulate.engine import evolve, simulate
from llmscale.simulate.peaks import planner_inputs, replicas_for_rate
from llmscale.simulate.report import build_report, minute_violates
from llmscale.simulate.run import Options, Run, reference_start
from llmscale.simulate.stack import SimStack, SimulationError, stack_from_plan
from llmscale.simulate.state import Minute
from llmscale.simulate.traffic import (
    Traffic,
    business_day,
    business_share,
    load_traffic_file,
    poisson,
    poisson_from_uniform,
)
from llmscale.simulate.vllm import RequestClass, replica_model
from llmscale.sizing.inputs import SizingInputs
from llmscale.sizing.planner import size
from tests.test_simulate_stack import planned


@cache
def sim_stack(name: str) -> SimStack:
    return stack_from_plan(planned(name))


def hour_of_traffic(per_minute: float, start_hour: int = 10) -> Traffic:
    rates = [0.0] * 1440
    for minute in range(start_hour * 60, (start_hour + 1) * 60):
        rates[minute] = per_minute
    return Traffic({"*": rates}, poisson=False, description="one hour")


@pytest.fixture(scope="module")
def quiet_day() -> Run:
    """multi-gpu with one request a second from 10:00 to 11:00 and nothing else."""
    return simulate(sim_stack("multi-gpu"), Options(days=1, traffic=hour_of_traffic(60)))


def first_minute(run: Run, predicate: object, start: int = 0) -> int:
    return next(m for m in range(start, len(run.minutes)) if predicate(run.minutes[m]))  # type: ignore[operator]


def test_cron_window_brings_nodes_then_replicas_ahead_of_the_users(quiet_day: Run) -> None:
    """The cron window opens 30 min before 08:00 (eks.scaleUpLeadMinutes): the autoscaler launches GPU nodes,
    which take NODE_READY_SECONDS, then the pods pull the image and load the weights."""
    launch = first_minute(quiet_day, lambda m: m.gpus > 0)
    ready = first_minute(quiet_day, lambda m: m.ready["primary/chat"] == 2)
    assert launch == 7 * 60 + 30
    cold = nodes.NODE_READY_SECONDS + nodes.IMAGE_PULL_SECONDS + nodes.ENGINE_START_SECONDS
    assert ready - launch >= cold / 60
    assert ready < 8 * 60


def test_keda_scales_to_zero_a_cooldown_after_the_cron_window_closes(quiet_day: Run) -> None:
    """With no request running after 11:00, only the cron window keeps the profile active: it closes at 19:00
    and KEDA sets 0 replicas once `cooldownPeriod` (300 s) has passed."""
    (zero,) = [e for w in quiet_day.workloads for e in w.events if e.after == 0]
    assert zero.by == "keda"
    assert 19 * 3600 + 300 - 15 <= zero.seconds <= 19 * 3600 + 300 + 15  # polled every 15 s


def test_cluster_autoscaler_removes_nodes_after_the_unneeded_time(quiet_day: Run) -> None:
    """scale-down-unneeded-time is 10m in the stack's release values: the empty GPU nodes go 10 minutes after
    the pods have left (their preStop hook)."""
    pods_gone = first_minute(quiet_day, lambda m: m.ready["primary/chat"] == 0, start=12 * 60)
    nodes_gone = first_minute(quiet_day, lambda m: m.gpus == 0, start=pods_gone)
    assert nodes_gone - pods_gone == 10


def test_the_planner_and_the_simulator_agree_at_steady_state() -> None:
    """One request length (the planner's assumption), a constant rate, the planner's replica count: the fluid's
    fixed point has the planner's mean latency (Little's law on the same decode line and prefill rate)."""
    stack = sim_stack("multi-gpu")
    server = stack.primary.servers[0]
    rate = 6.0
    result = size(
        SizingInputs(
            users=None,
            requests_per_second=rate,
            prompt_tokens=1000,
            output_tokens=250,
            model=server.model,
            gpu=stack.instance_type,
            p99_seconds=30,
            max_num_seqs=server.max_num_seqs,
            gpu_memory_utilization=server.gpu_memory_utilization,
        )
    )
    model = dataclasses.replace(
        replica_model(server, stack.instance_type, stack.load), classes=(RequestClass(1.0, 1000, 250),)
    )
    per_replica = rate / result.replicas
    rho = model.prefill_share(per_replica)
    in_flight = 1.0
    for _ in range(2000):
        step = model.step_seconds(in_flight, rho)
        mean = 1000 / (model.prefill_tokens_per_second * (1 - rho)) + 250 * step
        in_flight = evolve(in_flight, per_replica, mean, model.seats, 5.0)
    planner_latency = result.requests_per_replica / per_replica
    assert mean == pytest.approx(planner_latency, rel=0.01)
    assert in_flight == pytest.approx(result.requests_per_replica, rel=0.01)


def fixed_replicas(stack: SimStack, name: str, replicas: int) -> SimStack:
    """The primary site alone, with one profile held at a number of ready replicas (no autoscaler)."""
    primary = stack.primary
    servers = tuple(
        dataclasses.replace(s, scaler=None, replicas=replicas) if s.name == name else s for s in primary.servers
    )
    return dataclasses.replace(stack, sites=(dataclasses.replace(primary, servers=servers),), failover=None)


def settled_minutes(stack: SimStack, per_second: float) -> list[Minute]:
    """An hour at a constant rate (no Poisson noise), after 20 minutes to settle."""
    traffic = Traffic({"*": [per_second * 60] * 1440}, poisson=False, description="constant")
    run = simulate(stack, Options(days=80 / 1440, traffic=traffic, warm_up_minutes=0))
    return run.minutes[20:]


@pytest.mark.parametrize(("stack_name", "per_second"), [("enterprise", 22.58), ("onprem", 5.83), ("multi-gpu", 8.0)])
def test_the_replicas_a_rate_needs_hold_the_slo_in_the_simulation(stack_name: str, per_second: float) -> None:
    """What the RTO waits for is the simulation's own answer: played at a constant rate with that many replicas
    ready, every settled minute keeps the SLO, and with one fewer none does. (The planner sizes every request at
    the declared long lengths: its count for the same rate is far above.)"""
    stack = sim_stack(stack_name)
    chat = next(s for s in stack.primary.servers if s.name == "chat")
    model = replica_model(chat, stack.instance_type, stack.load)
    needed = replicas_for_rate(model, stack.slo, per_second, 100)
    assert needed is not None and needed >= 2
    assert all(
        not minute_violates(m, stack.slo) for m in settled_minutes(fixed_replicas(stack, "chat", needed), per_second)
    )
    fewer = settled_minutes(fixed_replicas(stack, "chat", needed - 1), per_second)
    assert all(minute_violates(m, stack.slo) for m in fewer)
    planner = size(
        dataclasses.replace(planner_inputs(stack, chat, 1000, 250), users=None, requests_per_second=per_second)
    )
    assert planner.replicas > needed


def test_no_replica_count_holds_a_rate_beyond_the_maximum() -> None:
    stack = sim_stack("onprem")
    chat = next(s for s in stack.primary.servers if s.name == "chat")
    model = replica_model(chat, stack.instance_type, stack.load)
    assert replicas_for_rate(model, stack.slo, 0.0, 4) == 0
    assert replicas_for_rate(model, stack.slo, 1000.0, 4) is None


def test_evolve_reaches_littles_law_and_drains_a_full_batch_linearly() -> None:
    assert evolve(0.0, 2.0, 10.0, 100, 1000.0) == pytest.approx(20.0)
    assert evolve(150.0, 0.0, 10.0, 100, 5.0) == pytest.approx(150 - 100 / 10 * 5)


def test_zone_spread_keeps_replicas_balanced_over_zones() -> None:
    """`DoNotSchedule` on topology.kubernetes.io/zone with maxSkew 1: at the morning peak, replicas of the
    enterprise chat profile differ by at most one between zones."""
    run = simulate(sim_stack("enterprise"), Options(days=11 / 24, warm_up_minutes=120))
    work = next(w for w in run.workloads if w.key == "primary/chat")
    zones: dict[str, int] = {}
    for pod in work.pods:
        if pod.node is not None and pod.state in (1, 2):
            zones[pod.node.zone] = zones.get(pod.node.zone, 0) + 1
    assert len(zones) == 3 and max(zones.values()) - min(zones.values()) <= 1


def test_single_host_follows_its_eventbridge_schedule() -> None:
    """Stopped at 20:00, started at 06:45 (the 07:00 window less schedule.warmUpMinutes): the host boots and
    loads the weights from its disk before serving, and serves when the window opens."""
    run = simulate(sim_stack("single-gpu"), Options(days=1))
    ready = [m.ready["primary/chat"] for m in run.minutes]
    start = 7 * 60 - 15
    assert ready[6 * 60] == 0 and ready[start] == 0
    boot = nodes.HOST_BOOT_SECONDS + nodes.load_seconds(16.06, "disk") + nodes.ENGINE_START_SECONDS
    assert ready[start + math.ceil(boot / 60) - 1] == 0
    assert ready[start + math.ceil(boot / 60) + 1] == 1
    assert all(r == 1 for r in ready[7 * 60 : 20 * 60])
    assert ready[20 * 60 + 1] == 0
    assert run.minutes[3 * 60].gpus == 0 and run.minutes[12 * 60].gpus == 1


def test_an_existing_cluster_bills_the_gpus_its_pods_hold() -> None:
    stack = sim_stack("onprem")
    run = simulate(stack, Options(days=1, traffic=hour_of_traffic(60)))
    at_noon = run.minutes[12 * 60]
    per_replica = {f"primary/{s.name}": s.gpus_per_replica for s in stack.primary.servers}
    assert per_replica == {"primary/chat": 1, "primary/analysis": 2}
    assert at_noon.gpus == sum(per_replica[key] * ready for key, ready in at_noon.ready.items())
    assert run.minutes[3 * 60].gpus == 0


# --- traffic --------------------------------------------------------------------------------------------


def test_business_day_shape() -> None:
    schedule = sim_stack("multi-gpu").schedule  # 08:00-19:00 Europe/Paris, Monday to Friday
    monday = reference_start(schedule.timezone)

    def share(day: int, hour: float) -> float:
        local = (monday + timedelta(days=day, hours=hour)).astimezone(ZoneInfo(schedule.timezone))
        return business_share(schedule, local)

    assert share(0, 3) == 0.0  # night
    assert share(0, 7.5) == pytest.approx(0.1)  # the hour before the window ramps to 20 %
    assert share(0, 10) == 1.0
    assert share(0, 13) < 0.8  # lunch
    assert share(0, 19) == pytest.approx(0.3)  # closing
    assert 0 < share(0, 20) < 0.3  # the evening tail
    assert share(0, 23) == 0.0
    assert share(5, 12) == pytest.approx(0.03)  # Saturday: a trickle during the window's hours


def test_bursts_are_seeded_and_never_compound() -> None:
    schedule = sim_stack("multi-gpu").schedule
    start = reference_start(schedule.timezone)
    first = business_day(schedule, 100, start, 1440, seed=1)
    again = business_day(schedule, 100, start, 1440, seed=1)
    other = business_day(schedule, 100, start, 1440, seed=2)
    assert first == again and first != other
    assert max(first) <= 100 * 2.0 + 1e-9


def test_poisson_draws_have_the_right_mean_and_variance() -> None:
    generator = random.Random(5)
    for mean in (0.3, 4.0, 150.0):
        draws = [poisson(generator, mean) for _ in range(4000)]
        average = sum(draws) / len(draws)
        variance = sum((d - average) ** 2 for d in draws) / len(draws)
        assert average == pytest.approx(mean, rel=0.1, abs=0.05)
        assert variance == pytest.approx(mean, rel=0.15, abs=0.05)


def test_poisson_quantiles_rise_with_the_mean() -> None:
    """The gauge's quantile draw is monotone in the mean for a fixed uniform: compared runs stay coupled."""
    for uniform in (0.01, 0.3, 0.7, 0.999):
        values = [poisson_from_uniform(uniform, mean) for mean in (0.0, 0.5, 2.0, 10.0, 60.0, 300.0)]
        assert values == sorted(values)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.csv", "minute,count\n0,1\n", "needs a header with a requests column"),
        ("t.csv", "minute,requests\n5,1\n2,1\n", "line 3: minute 2 comes after a later minute"),
        ("t.csv", "requests\n-1\n", "line 2: requests must be a number >= 0"),
        ("t.json", "[1, -2]", "[1]: must be a number of requests >= 0"),
        ("t.json", '{"profiles": {"chat": []}}', "profiles.chat: must be a non-empty list"),
        ("t.json", "{", "not valid JSON"),
        ("t.txt", "1", "must be a .csv or .json file"),
    ],
)
def test_traffic_file_errors_name_the_place(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SimulationError) as raised:
        load_traffic_file(path)
    assert message in str(raised.value) and str(raised.value).startswith(str(path))


def test_traffic_file_per_profile_streams(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("minute,profile,requests\n0,chat,5\n1,chat,6\n0,analysis,2\n", encoding="utf-8")
    traffic = load_traffic_file(path)
    assert not traffic.poisson and traffic.repeat
    assert {name: values[:2] for name, values in traffic.per_minute.items()} == {
        "chat": [5.0, 6.0],
        "analysis": [2.0, 0.0],
    }
    assert {len(values) for values in traffic.per_minute.values()} == {1440}  # whole days, quiet after the file


@pytest.mark.parametrize("stack_name", ["enterprise", "onprem"])
def test_the_examples_per_key_rate_limits_let_their_declared_load_through(stack_name: str) -> None:
    """All of a day's users behind one application's key, bursts included: no 429 from the per-key limit."""
    stack = sim_stack(stack_name)
    assert stack.primary.routes[0].rate_limit_per_client
    report = build_report(simulate(stack, Options(days=1, warm_up_minutes=120)))
    assert report["rejections"]["rateLimited"] == 0
    assert report["requests"]["served"] > 250_000
