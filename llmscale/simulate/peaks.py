"""The declared peak in the simulation's terms: the capacity planner's request rate and replicas for a server,
and the fewest replicas that serve a rate within the SLO."""

from __future__ import annotations

from collections.abc import Sequence

from llmscale.simulate import vllm
from llmscale.simulate.stack import Server, SimStack, Slo
from llmscale.simulate.vllm import ReplicaModel
from llmscale.sizing.calibration import CalibrationError, CalibrationPoint, parse_quantization
from llmscale.sizing.inputs import TENSOR_PARALLEL_SIZES, SizingError, SizingInputs
from llmscale.sizing.planner import size


def planner_inputs(stack: SimStack, server: Server, prompt_tokens: float, output_tokens: float) -> SizingInputs:
    """The capacity planner's inputs for a server of the stack at its declared peak, with these request lengths."""
    load, slo = stack.load, stack.slo
    least = next((tp for tp in TENSOR_PARALLEL_SIZES if tp >= server.gpus_per_replica), 8)
    return SizingInputs(
        users=load.users,
        prompt_tokens=max(1, round(prompt_tokens)),
        output_tokens=max(1, round(output_tokens)),
        model=server.model,
        quantization=parse_quantization(server.quantization),
        gpu=stack.instance_type,
        p99_seconds=slo.p99_seconds,
        ttft_seconds=slo.ttft_p95_seconds,
        think_time_seconds=load.think_seconds,
        max_num_seqs=server.max_num_seqs,
        gpu_memory_utilization=min(0.98, max(0.11, server.gpu_memory_utilization)),
        min_gpus_per_replica=least,
        max_gpus_per_replica=least,
    )


def peak_rate_per_minute(
    stack: SimStack, model: ReplicaModel, server: Server, calibration: Sequence[CalibrationPoint] = ()
) -> tuple[float, str | None]:
    """Requests per minute at the declared peak: the planner's closed-loop rate for the declared users (who think
    between requests) at the mix's mean request, from the measured points the replicas run on when there are
    some; without a planner answer, users / (think time + p99)."""
    try:
        result = size(planner_inputs(stack, server, model.mean_prompt, model.mean_output), calibration)
        return result.requests_per_second * 60, None
    except (SizingError, CalibrationError, ValueError) as error:
        rate = stack.load.users / (stack.load.think_seconds + stack.slo.p99_seconds)
        return rate * 60, f"peak request rate is users / (think time + p99 SLO): the planner cannot size it ({error})"


def replicas_for_rate(model: ReplicaModel, slo: Slo, requests_per_second: float, most: int) -> int | None:
    """The fewest ready replicas that serve this rate within the SLO once settled, or None when `most` do not.

    The simulation's own replica (`vllm.steady_state`) with the request mix it plays, the load spread evenly: the
    p99 of the mix's end-to-end latency within `slo.p99LatencySeconds` and its TTFT p95 within
    `slo.ttftP95Seconds`. The planner answers another question: it sizes every request at the declared long
    lengths (the mix's 99th percentile), so its count for the same rate is several times this one, more than
    an autoscaler that follows the load ever runs.
    """
    if requests_per_second <= 0:
        return 0
    for replicas in range(1, most + 1):
        settled = vllm.steady_state(model, requests_per_second / replicas)
        if settled is None or settled.latency(0.99) > slo.p99_seconds:
            continue
        if slo.ttft_p95_seconds is None or settled.first_token(0.95) <= slo.ttft_p95_seconds:
            return replicas
    return None


def peak_replicas(stack: SimStack, server: Server, calibration: Sequence[CalibrationPoint] = ()) -> int | None:
    """Replicas the planner says serve the declared peak within the SLO (declared request lengths, the measured
    points when there are some), or None."""
    try:
        inputs = planner_inputs(stack, server, stack.load.prompt_tokens, stack.load.output_tokens)
        return size(inputs, calibration).replicas
    except (SizingError, CalibrationError, ValueError):
        return None
