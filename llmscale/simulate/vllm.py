"""vLLM 0.33 as the simulation runs it: continuous batching on the capacity planner's model, admission, drain.

Throughput and latency are the capacity planner's (`llmscale.sizing.planner`, `llmscale.sizing.calibration`),
not a second model: a decode step takes `t1 + (b - 1) × c` seconds with b requests in the batch
(`decode_profile`), a prompt
costs `prompt_tokens / prefill_rate` (`prefill_tokens_per_second`), half of which slows decode steps
(`PREFILL_OVERLAP`), and the KV cache left after the weights bounds the batch (`kv_bytes_per_token`,
`OVERHEAD_GIB_PER_GPU`). What the simulation adds is time: requests arrive, wait, run and leave.

Admission and shutdown, from the vllm 0.33.0 wheel:

- `--max-num-queued-reqs` bounds running plus waiting requests; one more is answered 503 (`check_admission` in
  `vllm/v1/engine/async_llm.py`); vLLM never answers 429. Without it the queue is unbounded.
- `--max-num-seqs` bounds the running batch (default 256).
- On SIGTERM, `--shutdown-timeout` 0 (the default) aborts every request in flight, otherwise vLLM drains for up to
  that many seconds (`EngineCore._handle_shutdown` in `vllm/v1/engine/core.py`, `launcher.py`); the kubelet
  sends SIGTERM after the preStop hook and SIGKILL `terminationGracePeriodSeconds` after the hook started.

Request lengths: the stack's `promptTokens` and `outputTokens` are long requests (the planner sizes for long
answers, p90-p99; every answer has `output_tokens` in its model); the simulation reads them as the 99th
percentile of a log-normal spread (`TOKEN_SPREAD`), so the mean request is about a third of the declared one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from llmscale.simulate.stack import Load, Server, SimulationError
from llmscale.simulate.stats import weighted_percentile
from llmscale.sizing.calibration import (
    PREFILL_OVERLAP,
    CalibrationError,
    CalibrationPoint,
    bytes_per_param,
    decode_profile,
    parse_quantization,
    prefill_tokens_per_second,
    resolve_gpu,
)
from llmscale.sizing.inputs import SizingError, kv_bytes_per_token, model_params
from llmscale.sizing.serving import OVERHEAD_GIB_PER_GPU

TOKEN_SPREAD = 0.5  # log-normal sigma of prompt and answer lengths (a wide chat mix; UNVERIFIED, no trace here)
DECLARED_QUANTILE_Z = 2.326  # the declared lengths are the 99th percentile
# Length classes: quantile bands of the log-normal, each played at its middle quantile's z-score.
CLASS_BANDS: tuple[tuple[float, float], ...] = (
    (0.50, -0.674),  # 0-50 %, at the 25th percentile
    (0.30, 0.385),  # 50-80 %, at the 65th
    (0.15, 1.150),  # 80-95 %, at the 87.5th
    (0.04, 1.881),  # 95-99 %, at the 97th
    (0.01, 2.576),  # the top 1 %, at the 99.5th
)
MAX_PREFILL_SHARE = 0.95  # beyond this a replica would only prefill: the planner's model has no steady state


@dataclass(frozen=True)
class RequestClass:
    """A slice of the request mix: its share and its prompt and answer lengths."""

    share: float
    prompt_tokens: float
    output_tokens: float


def request_classes(prompt_tokens: int, output_tokens: int) -> tuple[RequestClass, ...]:
    """The request mix for declared long requests: five log-normal quantile bands, shares summing to 1."""
    classes = []
    for share, z in CLASS_BANDS:
        factor = math.exp(TOKEN_SPREAD * (z - DECLARED_QUANTILE_Z))
        classes.append(RequestClass(share, max(1.0, prompt_tokens * factor), max(1.0, output_tokens * factor)))
    return tuple(classes)


@dataclass(frozen=True)
class ReplicaModel:
    """One replica's speed (the planner's decode line and prefill rate) and its limits (batch, KV cache, queue)."""

    t1: float
    c: float
    prefill_tokens_per_second: float
    seats: int  # requests that run at once: --max-num-seqs, or fewer when the KV cache holds fewer
    queue_limit: float  # running + waiting before 503 (inf without --max-num-queued-reqs)
    classes: tuple[RequestClass, ...]
    basis: str
    bandwidth_estimate: bool
    weights_gb: float

    @property
    def mean_prompt(self) -> float:
        """Mean prompt length of the mix."""
        return sum(k.share * k.prompt_tokens for k in self.classes)

    @property
    def mean_output(self) -> float:
        """Mean answer length of the mix."""
        return sum(k.share * k.output_tokens for k in self.classes)

    def step_seconds(self, batch: float, prefill_share: float) -> float:
        """Seconds per decode step with `batch` requests running while prefill takes `prefill_share` of the GPU."""
        slow = 1.0 / (1.0 - PREFILL_OVERLAP * prefill_share)
        return (self.t1 + max(batch - 1.0, 0.0) * self.c) * slow

    def prefill_share(self, arrivals_per_second: float) -> float:
        """Share of a replica's time spent prefilling the prompts arriving at this rate (the planner's ρ)."""
        return min(MAX_PREFILL_SHARE, arrivals_per_second * self.mean_prompt / self.prefill_tokens_per_second)


def replica_model(
    server: Server, instance_type: str, load: Load, calibration: Sequence[CalibrationPoint] = ()
) -> ReplicaModel:
    """The planner's replica for a server: the GPU of the node's instance type, the model, quantization and
    tensor-parallel size from its flags, and the stack's request mix."""
    try:
        gpu, _ = resolve_gpu(instance_type)
        quantization = parse_quantization(server.quantization)
        params = model_params(server.model)
    except (CalibrationError, SizingError) as error:
        raise SimulationError(f"{server.name}: {error}") from None
    tp = server.gpus_per_replica
    profile = decode_profile(gpu, params, quantization, tp, calibration)
    classes = request_classes(load.prompt_tokens, load.output_tokens)
    tokens = sum(k.share * (k.prompt_tokens + k.output_tokens) for k in classes)
    weight_gib = params * 1e9 * bytes_per_param(quantization) / 2**30
    usable = tp * (gpu.memory_gib * server.gpu_memory_utilization - OVERHEAD_GIB_PER_GPU) - weight_gib
    kv_requests = usable / (kv_bytes_per_token(params) * tokens / 2**30)
    if kv_requests < 1:
        raise SimulationError(
            f"{server.name}: {server.model} on {tp}x {gpu.name} leaves no room for one request's KV cache"
        )
    return ReplicaModel(
        t1=profile.t1,
        c=profile.c,
        prefill_tokens_per_second=prefill_tokens_per_second(gpu, params, quantization, tp),
        seats=max(1, min(server.max_num_seqs, math.floor(kv_requests))),
        queue_limit=float(server.queue_limit) if server.queue_limit is not None else math.inf,
        classes=classes,
        basis=profile.basis,
        bandwidth_estimate=profile.bandwidth_estimate,
        weights_gb=params * bytes_per_param(quantization),
    )


@dataclass(frozen=True)
class SteadyState:
    """A replica fed a constant request rate once its batch has settled: requests running, and each request
    class's end-to-end latency and time to first token (nothing waits: the batch has a free seat)."""

    running: float
    latencies: tuple[float, ...]
    first_tokens: tuple[float, ...]
    shares: tuple[float, ...]

    def latency(self, quantile: float) -> float:
        """The end-to-end latency below which `quantile` of the requests finish."""
        value = weighted_percentile(zip(self.latencies, self.shares, strict=True), quantile)
        return 0.0 if value is None else value

    def first_token(self, quantile: float) -> float:
        """The time to first token below which `quantile` of the requests get theirs."""
        value = weighted_percentile(zip(self.first_tokens, self.shares, strict=True), quantile)
        return 0.0 if value is None else value


def steady_state(model: ReplicaModel, arrivals_per_second: float) -> SteadyState | None:
    """Where one replica settles under a constant rate (the fixed point the simulation's loop converges to).

    Little's law on the planner's line: the batch `b` is the rate times the mean latency, whose decode part grows
    with `b` (`t1 + (b - 1) c` per step), so `b = a (P + O (t1 - c)) / (1 - a O c)` above one request, with `P`
    the mean prompt's prefill time and `O` the mean answer's tokens slowed by the prefill share. None when the
    replica cannot keep up: its prefill alone fills it, or the batch this rate needs exceeds its seats
    (`--max-num-seqs` or the KV cache), so the queue grows without end.
    """
    rate = max(0.0, arrivals_per_second)
    rho = model.prefill_share(rate)
    if rho >= MAX_PREFILL_SHARE:
        return None
    per_token = 1.0 / (model.prefill_tokens_per_second * (1.0 - rho))
    slow = 1.0 / (1.0 - PREFILL_OVERLAP * rho)
    prompt, output = model.mean_prompt * per_token, model.mean_output * slow
    running = rate * (prompt + output * model.t1)
    if running > 1.0:
        growth = rate * output * model.c
        if growth >= 1.0:
            return None
        running = rate * (prompt + output * (model.t1 - model.c)) / (1.0 - growth)
    if running > model.seats:
        return None
    step = model.step_seconds(running, rho)
    return SteadyState(
        running=running,
        latencies=tuple(k.prompt_tokens * per_token + k.output_tokens * step for k in model.classes),
        first_tokens=tuple(k.prompt_tokens * per_token + step for k in model.classes),
        shares=tuple(k.share for k in model.classes),
    )


def admitted(offered: float, in_flight: float, replicas: int, queue_limit: float) -> float:
    """How many of `offered` requests vLLM admits: running plus waiting stay within `--max-num-queued-reqs` per
    replica (`check_admission` rejects when current + 1 > max); the rest get 503."""
    if replicas <= 0:
        return 0.0
    return min(offered, max(0.0, replicas * queue_limit - in_flight))


def kill_deadline(pre_stop: float, shutdown_timeout: float, grace: float) -> float:
    """Seconds after a pod's deletion at which requests still in flight on it are cut.

    The kubelet runs the preStop hook, then sends SIGTERM, and SIGKILL `grace` seconds after the hook started;
    vLLM aborts at SIGTERM with `--shutdown-timeout` 0 and otherwise drains up to the timeout.
    """
    sigterm = min(pre_stop, grace)
    if shutdown_timeout <= 0:
        return sigterm
    return min(sigterm + shutdown_timeout, grace)


def cut_fraction(total_seconds: float, deadline: float) -> float:
    """Share of one class's requests in flight still running `deadline` seconds from now.

    A request in flight is equally likely to be anywhere in its `total_seconds` of life, so its remaining time
    is uniform on [0, total_seconds].
    """
    if total_seconds <= deadline:
        return 0.0
    return 1.0 - deadline / total_seconds
