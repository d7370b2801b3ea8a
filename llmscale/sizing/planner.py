"""Capacity planner: how many GPUs a load needs at peak to meet a latency SLO, and what that costs.

The model, in five steps (every constant is named below; calibration data lives in `llmscale.sizing.calibration`):

1. **Decode speed of one replica.** `step(b) = t1 + (b - 1) × c` seconds per output token with b requests in
   flight (`llmscale.sizing.calibration.decode_profile`): t1 from memory bandwidth, c fitted to a measured point.
2. **Prefill.** A prompt costs `prompt_tokens / prefill_rate` seconds of GPU compute (half the GPU's dense
   peak FLOPs). Half of that work overlaps memory-bound decode steps; the other half slows them down:
   `step × 1 / (1 - 0.5 × ρ)`, ρ being the share of time the replica spends prefilling. ρ uses the request
   rate users would have if every answer took the whole p99 budget, `users / (think_time + p99)`, so that a
   looser SLO never adds load and longer answers never remove any (with `--rps`, the rate itself).
3. **Load (Little's law, closed loop).** n users per replica who think `think_time` seconds between requests
   keep `b = n × L / (think_time + L)` requests in flight when a request takes L seconds, and L is the least
   fixed point of `L = ttft + output_tokens × step(b)`. With a request rate instead, `b = rate × L`.
4. **Latency at the 99th percentile.** Requests in flight on one replica vary; at the 99th percentile there
   are `b99 = b + 2.33 × √b` (Poisson, at most n). Then `ttft = prefill / (1 - ρ) + step(b99)` and
   `p99 = ttft + (output_tokens - 1) × step(b99)`: meeting the SLO means every stream decodes at least
   `output_tokens / (p99 - ttft)` tokens/s. b99 must also fit vLLM's `--max-num-seqs` and the KV cache left
   after the weights.
5. **Fleet.** The fewest replicas that meet the SLO (binary search: more replicas only lower each one's load),
   for each tensor-parallel size whose memory holds the weights and at least one request's KV cache; the size
   needing the fewest GPUs wins. Then headroom (N+2 style), tier and cost.

Every step is monotone: more users, longer answers or prompts, a tighter SLO or a slower GPU never need fewer
GPUs, and the property tests check it.

Defaults and the problem statement's reference points (100 concurrent users on a 7B model → 5–8 GPUs,
500 → 20–30): they hold for a 7B model in BF16 on A10G GPUs (g5, 24 GB: the usual cheap home of a 7B model,
and a GPU with a measured vLLM figure), 1000-token prompts, 250-token answers, 10 s of think time and a p99
end-to-end latency of 20 s, which means streaming at ≥ 13 tokens/s, faster than people read. The "p99 < 2 s
for chat" rule of thumb cannot be an end-to-end bound for 250-token answers (125 tokens/s per stream is more
than a lone request gets from a BF16 7B model on anything but an H100): read it as time to first token
(`ttft_seconds=2`).

Weaknesses: the measured points are from older vLLM releases (0.5.4 and earlier); vLLM 0.6 already doubled
throughput on the same hardware, so estimates lean towards too many GPUs. The prefill load undercounts prompts
when answers come back much faster than the SLO. Every answer is assumed to have
`output_tokens` tokens (pass your p99 length, not the mean). Prefix caching, speculative decoding and
mixture-of-experts sparsity are ignored (an MoE model is sized as dense, pessimistically). Tensor-parallel
scaling is one rule for NVLink and PCIe GPUs alike. L4, L40S, T4 and A100-40GB capacities are memory-bandwidth
estimates: calibrate them with `vllm bench serve` results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llmscale.config.models import DAYS, GpuConfig, Lane, ModelProfile, Quantization, ScheduleConfig, StackConfig
from llmscale.sizing.calibration import (
    CalibrationError,
    CalibrationPoint,
    DecodeProfile,
    GpuSpec,
    bytes_per_param,
    decode_profile,
    prefill_tokens_per_second,
    resolve_gpu,
)
from llmscale.sizing.model_size import parameters_billions
from llmscale.sizing.prices import CURRENCY, GpuPrice, on_demand_gpu_price, stated_gpu_price

# --- documented defaults: together they land on the problem statement's reference points ----------------
DEFAULT_USERS = 100
DEFAULT_PROMPT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 250
DEFAULT_MODEL = "7b"
DEFAULT_GPU = "A10G"
DEFAULT_P99_SECONDS = 20.0
DEFAULT_THINK_TIME_SECONDS = 10.0
# None: the GPU's on-demand price from `llmscale.sizing.prices` (in `region`), unless a rate is stated.
DEFAULT_PRICE_PER_GPU_HOUR: float | None = GpuConfig.model_fields["price_per_gpu_hour"].default
DEFAULT_MAX_NUM_SEQS = 256  # vLLM's server default
DEFAULT_GPU_MEMORY_UTILIZATION: float = ModelProfile.model_fields["gpu_memory_utilization"].default

# --- model constants ------------------------------------------------------------------------------------
P99_Z = 2.33  # 99th percentile of a normal: b99 = b + 2.33 √b requests in flight (Poisson)
PREFILL_OVERLAP = 0.5  # half of the prefill work hides in memory-bound decode steps (fits the NIM 70B curve)
OVERHEAD_GIB_PER_GPU = 1.5  # activations, CUDA graphs and the CUDA context, outside weights and KV cache
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)
HEADROOM_GPUS = 2  # N+2: survive losing a node and a rollout at peak
HEADROOM_FACTOR = 1.25
SINGLE_GPU_MAX_USERS = 50
MULTI_GPU_MAX_GPUS = 8
ENTERPRISE_MIN_USERS = 500
MAX_REPLICAS = 100_000  # beyond this the answer is "unreachable", not a number
HOURS_PER_MONTH = 730.0  # 8760 / 12
WEEKS_PER_MONTH = 365 / 12 / 7

# KV cache per token (KiB, BF16) of grouped-query-attention models by size, from their config.json
# (Qwen2.5-0.5B, Llama-3.2-1B/3B, Llama-3.1-8B, Qwen2.5-14B/32B, Llama-3.1-70B/405B); interpolated in log size.
# Older multi-head models (Llama-2-7B: 512 KiB) hold four times as much per token.
KV_KIB_PER_TOKEN: tuple[tuple[float, float], ...] = (
    (0.5, 12),
    (1, 32),
    (3, 112),
    (8, 128),
    (14, 192),
    (32, 256),
    (70, 320),
    (405, 504),
)


class SizingError(ValueError):
    """Inputs the planner cannot size (invalid, or an SLO no configuration reaches); one line that says why."""


def kv_bytes_per_token(params_billions: float) -> float:
    """Bytes of KV cache one token takes in a model of this size (BF16 cache, grouped-query attention)."""
    table = KV_KIB_PER_TOKEN
    if params_billions <= table[0][0]:
        kib = table[0][1] * params_billions / table[0][0]
    elif params_billions >= table[-1][0]:
        kib = table[-1][1] * params_billions / table[-1][0]
    else:
        for (p0, k0), (p1, k1) in itertools.pairwise(table):
            if p0 <= params_billions <= p1:
                share = math.log(params_billions / p0) / math.log(p1 / p0)
                kib = k0 + share * (k1 - k0)
                break
    return kib * 1024


@dataclass(frozen=True)
class SizingInputs:
    """What to size for. Every field has a documented default; see the module docstring for why these.

    Give `users` (peak concurrent users, who think between requests) or `requests_per_second`, not both.
    `gpu` is a GPU model (A10G, L4, L40S, A100-40GB, A100-80GB, H100) or an EC2 instance type (g6e.xlarge).
    """

    users: int | None = DEFAULT_USERS
    requests_per_second: float | None = None
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    model: str = DEFAULT_MODEL
    quantization: Quantization | None = None
    gpu: str = DEFAULT_GPU
    p99_seconds: float = DEFAULT_P99_SECONDS
    ttft_seconds: float | None = None
    think_time_seconds: float = DEFAULT_THINK_TIME_SECONDS
    price_per_gpu_hour: float | None = DEFAULT_PRICE_PER_GPU_HOUR
    region: str | None = None
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION
    min_gpus_per_replica: int = 1
    max_gpus_per_replica: int = 8
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def __post_init__(self) -> None:
        if (self.users is None) == (self.requests_per_second is None):
            raise SizingError("give peak concurrent users or requests per second, not both and not neither")
        if self.users is not None and (isinstance(self.users, bool) or self.users < 1):
            raise SizingError(f"users must be a whole number >= 1, got {self.users}")
        if self.requests_per_second is not None and not self.requests_per_second > 0:
            raise SizingError(f"requests per second must be > 0, got {self.requests_per_second}")
        for name, value, low in (("prompt tokens", self.prompt_tokens, 1), ("output tokens", self.output_tokens, 1)):
            if value < low:
                raise SizingError(f"{name} must be >= {low}, got {value}")
        if not self.p99_seconds > 0:
            raise SizingError(f"p99 latency must be > 0 seconds, got {self.p99_seconds}")
        if self.ttft_seconds is not None and not 0 < self.ttft_seconds <= self.p99_seconds:
            raise SizingError(f"TTFT SLO must be > 0 and <= the p99 latency ({self.p99_seconds:g} s)")
        if not self.think_time_seconds >= 0:
            raise SizingError(f"think time must be >= 0 seconds, got {self.think_time_seconds}")
        if self.price_per_gpu_hour is not None and not self.price_per_gpu_hour >= 0:
            raise SizingError(f"price per GPU-hour must be >= 0, got {self.price_per_gpu_hour}")
        if self.max_num_seqs < 1:
            raise SizingError(f"max-num-seqs must be >= 1, got {self.max_num_seqs}")
        if not 0.1 < self.gpu_memory_utilization <= 0.98:
            raise SizingError(f"GPU memory utilization must be in (0.1, 0.98], got {self.gpu_memory_utilization}")
        if self.min_gpus_per_replica not in TENSOR_PARALLEL_SIZES:
            raise SizingError(f"GPUs per replica must be 1, 2, 4 or 8, got {self.min_gpus_per_replica}")
        if self.max_gpus_per_replica < self.min_gpus_per_replica:
            raise SizingError(
                f"at most {self.max_gpus_per_replica} GPUs per replica is fewer than the least asked "
                f"({self.min_gpus_per_replica})"
            )
        model_params(self.model)

    def to_json(self) -> dict[str, Any]:
        """The inputs as a camelCase document (echoed in the result, so a number can be traced to its inputs)."""
        return {
            "users": self.users,
            "requestsPerSecond": self.requests_per_second,
            "promptTokens": self.prompt_tokens,
            "outputTokens": self.output_tokens,
            "model": self.model,
            "quantization": self.quantization.value if self.quantization else None,
            "gpu": self.gpu,
            "p99Seconds": self.p99_seconds,
            "ttftSeconds": self.ttft_seconds,
            "thinkTimeSeconds": self.think_time_seconds,
            "pricePerGpuHour": self.price_per_gpu_hour,
            "region": self.region,
            "maxNumSeqs": self.max_num_seqs,
            "gpuMemoryUtilization": self.gpu_memory_utilization,
        }


def model_params(model: str) -> float:
    """Parameters in billions of a model id (meta-llama/Llama-3.1-8B-Instruct) or a size (7b, 70B, 0.5b)."""
    params = parameters_billions(model)
    if params is None or params <= 0:
        raise SizingError(f"model {model}: cannot tell its size from the name; pass a size such as 7b or 70b")
    return params


@dataclass(frozen=True)
class MonthlyCost:
    """GPU cost per month at the provisioned size: always on, and with the night schedule.

    The amounts are None when there is no price for the GPU (an on-prem node type and no stated rate).
    """

    price_per_gpu_hour: float | None
    always_on: float | None
    with_schedule: float | None
    active_hours_per_month: float
    off_hours_gpus: int
    schedule: str
    currency: str = CURRENCY
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """camelCase document, amounts rounded to cents."""
        return {
            "currency": self.currency,
            "pricePerGpuHour": self.price_per_gpu_hour,
            "alwaysOn": None if self.always_on is None else round(self.always_on, 2),
            "withSchedule": None if self.with_schedule is None else round(self.with_schedule, 2),
            "activeHoursPerMonth": round(self.active_hours_per_month, 1),
            "offHoursGpus": self.off_hours_gpus,
            "schedule": self.schedule,
            "source": self.source,
        }


@dataclass(frozen=True)
class SizingSource:
    """Where the throughput behind an answer comes from, and whether it is only a bandwidth estimate."""

    basis: str  # calibration-file, measured, scaled, bandwidth-estimate
    bandwidth_estimate: bool
    calibration: str
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """camelCase document."""
        return {
            "basis": self.basis,
            "bandwidthEstimate": self.bandwidth_estimate,
            "calibration": self.calibration,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class SizingResult:
    """The planner's answer for one load: GPUs at peak, with headroom, tier, latency, utilisation and cost."""

    inputs: SizingInputs
    gpu: str
    params_billions: float
    gpus_needed: int
    replicas: int
    gpus_per_replica: int
    gpus_to_provision: int
    replicas_to_provision: int
    recommended_tier: str
    estimated_p99_seconds: float
    estimated_ttft_seconds: float
    gpu_utilization: float
    requests_per_second: float
    concurrent_requests: float
    requests_per_replica: float
    kv_cache_requests_per_replica: float
    required_tokens_per_second_per_stream: float
    cost: MonthlyCost
    source: SizingSource

    def to_json(self) -> dict[str, Any]:
        """The result as the `--json` document: camelCase keys, `gpusNeeded` and `gpusToProvision` first."""
        return {
            "gpusNeeded": self.gpus_needed,
            "gpusToProvision": self.gpus_to_provision,
            "replicas": self.replicas,
            "gpusPerReplica": self.gpus_per_replica,
            "replicasToProvision": self.replicas_to_provision,
            "recommendedTier": self.recommended_tier,
            "gpu": self.gpu,
            "paramsBillions": self.params_billions,
            "estimatedP99Seconds": round(self.estimated_p99_seconds, 2),
            "estimatedTtftSeconds": round(self.estimated_ttft_seconds, 2),
            "gpuUtilization": round(self.gpu_utilization, 3),
            "requestsPerSecond": round(self.requests_per_second, 3),
            "concurrentRequests": round(self.concurrent_requests, 1),
            "requestsPerReplica": round(self.requests_per_replica, 1),
            "kvCacheRequestsPerReplica": round(self.kv_cache_requests_per_replica, 1),
            "requiredTokensPerSecondPerStream": round(self.required_tokens_per_second_per_stream, 1),
            "monthlyCost": self.cost.to_json(),
            "source": self.source.to_json(),
            "inputs": self.inputs.to_json(),
        }


# --- pure helpers -----------------------------------------------------------------------------------------


def headroom_gpus(gpus_needed: int, gpus_per_replica: int = 1) -> int:
    """GPUs to provision for `gpus_needed` at peak: max(N + 2, ceil(1.25 N)), rounded up to whole replicas.

    "If you need 8 GPUs, provision 10": two spare GPUs cover a lost node and a rolling update at peak, and a
    quarter more covers a forecast that was too low on bigger fleets.
    """
    if gpus_needed < 1 or gpus_per_replica < 1:
        raise SizingError("GPUs needed and GPUs per replica must be >= 1")
    wanted = max(gpus_needed + HEADROOM_GPUS, math.ceil(gpus_needed * HEADROOM_FACTOR))
    return math.ceil(wanted / gpus_per_replica) * gpus_per_replica


def recommend_tier(gpus_needed: int, users: int | None) -> str:
    """single-gpu when one GPU suffices for at most 50 users; enterprise beyond 8 GPUs or from 500 users on.

    With a request rate instead of users only the GPU count decides.
    """
    if gpus_needed > MULTI_GPU_MAX_GPUS or (users is not None and users >= ENTERPRISE_MIN_USERS):
        return "enterprise"
    if gpus_needed == 1 and (users is None or users <= SINGLE_GPU_MAX_USERS):
        return "single-gpu"
    return "multi-gpu"


def schedule_hours(schedule: ScheduleConfig) -> float:
    """Active hours per month of a night schedule (all 730 when the schedule is off)."""
    if not schedule.enabled:
        return HOURS_PER_MONTH
    start_h, start_m = (int(part) for part in schedule.start.split(":"))
    end_h, end_m = (int(part) for part in schedule.end.split(":"))
    minutes = (end_h * 60 + end_m - start_h * 60 - start_m) % (24 * 60)
    return min(HOURS_PER_MONTH, minutes / 60 * len(schedule.days) * WEEKS_PER_MONTH)


def monthly_cost(
    gpus: int, gpus_per_replica: int, price: float | None, schedule: ScheduleConfig, source: str = ""
) -> MonthlyCost:
    """Cost of `gpus` for a month at `price` per GPU-hour, always on and under the night schedule.

    Under the schedule the provisioned GPUs run during the active window (all of it: a conservative figure,
    autoscaling usually runs fewer) and `offHoursMinReplicas` replicas run outside it. Without a price the
    amounts are None.
    """
    active = schedule_hours(schedule)
    floor = min(gpus, schedule.off_hours_min_replicas * gpus_per_replica) if schedule.enabled else gpus
    if schedule.enabled:
        days = ",".join(schedule.days) if len(schedule.days) < 7 else "daily"
        if schedule.days == list(DAYS[:5]):
            days = "mon-fri"
        described = (
            f"{schedule.start}-{schedule.end} {schedule.timezone} {days} ({active:.0f} h/month), "
            f"{floor} GPU{'s' if floor != 1 else ''} outside"
        )
    else:
        described = "no night schedule: always on"
    return MonthlyCost(
        price_per_gpu_hour=price,
        always_on=None if price is None else gpus * price * HOURS_PER_MONTH,
        with_schedule=None if price is None else price * (gpus * active + floor * (HOURS_PER_MONTH - active)),
        active_hours_per_month=active,
        off_hours_gpus=floor,
        schedule=described,
        source=source,
    )


def gpu_price(inputs: SizingInputs) -> GpuPrice | None:
    """The rate the cost is computed at: the stated one, else the GPU's on-demand price in `inputs.region`."""
    if inputs.price_per_gpu_hour is not None:
        return stated_gpu_price(inputs.price_per_gpu_hour, "the stated price per GPU-hour")
    return on_demand_gpu_price(inputs.gpu, inputs.region)


# --- the replica model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    """A replica's steady state at peak: requests in flight (mean and 99th percentile), latencies, request rate."""

    latency: float  # mean end-to-end seconds
    in_flight: float
    in_flight_p99: float
    ttft: float
    p99: float
    rate: float  # requests/s this replica completes
    prefill_share: float


@dataclass(frozen=True)
class _Replica:
    """One replica of `tp` GPUs: its steady state when it carries a share of the load."""

    tp: int
    profile: DecodeProfile
    prefill_seconds: float
    kv_requests: float
    inputs: SizingInputs

    def state(self, replicas: int) -> _State | None:
        """The steady state with the load spread over `replicas` replicas; None when it never settles.

        Users mode is a closed loop: n users per replica, each thinking Z s between requests, keep
        b(L) = n L / (Z + L) requests in flight when a request takes L s (Little's law), and L is the least
        fixed point of L = ttft + output_tokens × step(b(L)). The prefill load uses the request rate users
        would have if every answer took the whole p99 budget, n / (Z + p99): a looser SLO lowers it, longer
        answers do not. With a request rate instead, b = rate × L.
        """
        inputs = self.inputs
        if inputs.requests_per_second is not None:
            rate = inputs.requests_per_second / replicas
            users = math.inf
        else:
            assert inputs.users is not None
            users = inputs.users / replicas
            rate = users / (inputs.think_time_seconds + inputs.p99_seconds)
        rho = rate * self.prefill_seconds
        if rho >= 1:
            return None
        slow = 1 / (1 - PREFILL_OVERLAP * rho)
        ttft0 = self.prefill_seconds / (1 - rho)
        t1, c, out = self.profile.t1, self.profile.c, inputs.output_tokens
        if inputs.requests_per_second is not None:
            # L = ttft0 + out × slow × (t1 - c + rate × L × c), linear in L
            gain = out * slow * rate * c
            if gain >= 1:
                return None
            latency = (ttft0 + out * slow * (t1 - c)) / (1 - gain)
            in_flight = rate * latency
        else:
            think = inputs.think_time_seconds

            def in_flight_at(latency: float) -> float:
                return users if think == 0 else users * latency / (think + latency)

            def excess(latency: float) -> float:
                return ttft0 + out * slow * (t1 + (in_flight_at(latency) - 1) * c) - latency

            low, high = 0.0, ttft0 + out * slow * (t1 + max(users - 1, 0) * c)
            for _ in range(80):  # excess is concave: one root, found by bisection
                middle = (low + high) / 2
                low, high = (middle, high) if excess(middle) > 0 else (low, middle)
            latency = high
            in_flight = in_flight_at(latency)
            rate = in_flight / latency
        in_flight_p99 = min(in_flight + P99_Z * math.sqrt(in_flight), users)
        if in_flight_p99 > min(inputs.max_num_seqs, self.kv_requests):
            return None
        step = self.profile.step(max(in_flight_p99, 1.0)) * slow
        ttft = ttft0 + step
        return _State(latency, in_flight, in_flight_p99, ttft, ttft + (out - 1) * step, rate, rho)

    def meets_slo(self, state: _State | None) -> bool:
        """True when a steady state exists and its p99 (and TTFT, when asked) are within the SLO."""
        if state is None:
            return False
        ttft_slo = self.inputs.ttft_seconds
        return state.p99 <= self.inputs.p99_seconds and (ttft_slo is None or state.ttft <= ttft_slo)

    def replicas_needed(self) -> int | None:
        """The fewest replicas that meet the SLO (more replicas only lower each one's load), or None."""
        if not self.meets_slo(self.state(MAX_REPLICAS)):
            return None
        high = 1
        while not self.meets_slo(self.state(high)):
            high *= 2
        low = high // 2
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if self.meets_slo(self.state(middle)) else (middle, high)
        return high

    def lone_request(self) -> tuple[float, float]:
        """(ttft, end-to-end) of one request alone on an idle replica."""
        ttft = self.prefill_seconds + self.profile.t1
        return ttft, ttft + (self.inputs.output_tokens - 1) * self.profile.t1

    def utilization(self, state: _State) -> float:
        """Output tokens/s at peak over what the replica delivers saturated (batch 256) under the same prompts."""
        saturated = self.profile.saturated_tokens_per_second() * (1 - PREFILL_OVERLAP * state.prefill_share)
        return min(1.0, state.rate * self.inputs.output_tokens / saturated)


def _matching_user_points(
    points: Iterable[CalibrationPoint], gpu: GpuSpec, params: float, quantization: Quantization | None
) -> list[CalibrationPoint]:
    return [
        p
        for p in points
        if p.gpu == gpu.name and abs(p.params_billions / params - 1) <= 0.05 and p.quantization == quantization
    ]


def size(inputs: SizingInputs, calibration: Sequence[CalibrationPoint] = ()) -> SizingResult:
    """Size a deployment for `inputs`: GPUs needed at peak to meet the SLO, headroom, tier and cost.

    `calibration` holds points from the user's `vllm bench serve` results (`load_calibration`); when some
    match the GPU, model size and quantization they replace the built-in table and the bandwidth estimate,
    and only their tensor-parallel sizes are considered. Raises SizingError when no tensor-parallel size
    fits the model in memory or reaches the SLO, with what would.
    """
    try:
        gpu, node_gpus = resolve_gpu(inputs.gpu)
    except CalibrationError as error:
        raise SizingError(str(error)) from None
    params = model_params(inputs.model)
    quant = inputs.quantization
    weight_gib = params * 1e9 * bytes_per_param(quant) / 2**30
    tokens = inputs.prompt_tokens + inputs.output_tokens
    kv_request_gib = kv_bytes_per_token(params) * tokens / 2**30

    user_points = _matching_user_points(calibration, gpu, params, quant)
    sizes = sorted({p.tensor_parallel for p in user_points}) if user_points else list(TENSOR_PARALLEL_SIZES)
    sizes = [tp for tp in sizes if inputs.min_gpus_per_replica <= tp <= inputs.max_gpus_per_replica]
    if not sizes:
        raise SizingError(
            f"your calibration covers no tensor-parallel size from {inputs.min_gpus_per_replica} to "
            f"{inputs.max_gpus_per_replica} GPUs per replica"
        )
    options: list[tuple[int, int, _Replica, int]] = []
    fastest: tuple[int, float, float] | None = None  # tp, lone-request end-to-end, lone-request ttft
    largest_memory = 0.0
    for tp in sizes:
        usable = tp * (gpu.memory_gib * inputs.gpu_memory_utilization - OVERHEAD_GIB_PER_GPU)
        largest_memory = max(largest_memory, usable)
        kv_requests = (usable - weight_gib) / kv_request_gib
        if kv_requests < 1:
            continue
        replica = _Replica(
            tp=tp,
            profile=decode_profile(gpu, params, quant, tp, user_points),
            prefill_seconds=inputs.prompt_tokens / prefill_tokens_per_second(gpu, params, quant, tp),
            kv_requests=kv_requests,
            inputs=inputs,
        )
        lone_ttft, lone_e2e = replica.lone_request()
        if fastest is None or lone_e2e < fastest[1]:
            fastest = (tp, lone_e2e, lone_ttft)
        replicas = replica.replicas_needed()
        if replicas is not None:
            options.append((replicas * tp, tp, replica, replicas))
    if not options:
        raise SizingError(_why_not(inputs, gpu, params, weight_gib, largest_memory, fastest))
    gpus_needed, tp, replica, replicas = min(options, key=lambda option: (option[0], option[1]))
    state = replica.state(replicas)
    assert state is not None
    to_provision = headroom_gpus(gpus_needed, tp)
    notes = list(replica.profile.notes)
    notes.append(
        f"per replica at peak: {state.in_flight:.1f} requests in flight on average, {state.in_flight_p99:.0f} at "
        f"the 99th percentile; mean latency {state.latency:.1f} s; KV cache room for {replica.kv_requests:.0f} "
        f"requests of {tokens} tokens"
    )
    notes.extend(_advice(inputs, gpu, node_gpus, tp, to_provision, gpus_needed))
    return SizingResult(
        inputs=inputs,
        gpu=gpu.name,
        params_billions=params,
        gpus_needed=gpus_needed,
        replicas=replicas,
        gpus_per_replica=tp,
        gpus_to_provision=to_provision,
        replicas_to_provision=to_provision // tp,
        recommended_tier=recommend_tier(gpus_needed, inputs.users),
        estimated_p99_seconds=state.p99,
        estimated_ttft_seconds=state.ttft,
        gpu_utilization=replica.utilization(state),
        requests_per_second=state.rate * replicas,
        concurrent_requests=state.in_flight * replicas,
        requests_per_replica=state.in_flight,
        kv_cache_requests_per_replica=replica.kv_requests,
        required_tokens_per_second_per_stream=inputs.output_tokens / max(inputs.p99_seconds - state.ttft, 1e-9),
        cost=_cost(inputs, to_provision, tp),
        source=SizingSource(
            basis=replica.profile.basis,
            bandwidth_estimate=replica.profile.bandwidth_estimate,
            calibration=replica.profile.calibration,
            notes=tuple(notes),
        ),
    )


def _cost(inputs: SizingInputs, gpus: int, gpus_per_replica: int) -> MonthlyCost:
    price = gpu_price(inputs)
    if price is None:
        return monthly_cost(gpus, gpus_per_replica, None, inputs.schedule, f"no on-demand price for {inputs.gpu}")
    return monthly_cost(gpus, gpus_per_replica, price.per_gpu_hour, inputs.schedule, price.source)


def _why_not(
    inputs: SizingInputs,
    gpu: GpuSpec,
    params: float,
    weight_gib: float,
    largest_memory: float,
    fastest: tuple[int, float, float] | None,
) -> str:
    if fastest is None:
        most = max(tp for tp in TENSOR_PARALLEL_SIZES if tp <= inputs.max_gpus_per_replica)
        return (
            f"{inputs.model} needs {weight_gib:.0f} GiB of weights plus KV cache; {most}x {gpu.name} leave "
            f"{largest_memory:.0f} GiB: quantize (--quantization fp8/awq) or choose a GPU with more memory"
        )
    tp, lone_p99, lone_ttft = fastest
    if inputs.ttft_seconds is not None and lone_ttft > inputs.ttft_seconds and lone_p99 <= inputs.p99_seconds:
        return (
            f"TTFT SLO {inputs.ttft_seconds:g} s is unreachable: prefilling {inputs.prompt_tokens} tokens alone "
            f"takes {lone_ttft:.2f} s on {tp}x {gpu.name}; raise --ttft, shorten prompts or choose a faster GPU"
        )
    return (
        f"p99 SLO {inputs.p99_seconds:g} s is unreachable: one request alone takes {lone_p99:.1f} s for "
        f"{inputs.output_tokens} output tokens on {tp}x {gpu.name} ({params:g}B); raise --p99, shorten answers, "
        "quantize, or choose a faster GPU"
    )


def _advice(
    inputs: SizingInputs, gpu: GpuSpec, node_gpus: int | None, tp: int, to_provision: int, needed: int
) -> list[str]:
    notes = []
    if node_gpus is not None and tp > node_gpus:
        notes.append(
            f"a replica needs {tp} GPUs on one node but {inputs.gpu} has {node_gpus}: choose a larger instance type"
        )
    if inputs.quantization is None:
        lowered = inputs.model.lower()
        for hint in ("awq", "gptq", "fp8"):
            if hint in lowered:
                notes.append(f"the model id suggests {hint.upper()} weights: pass --quantization {hint}")
    if inputs.price_per_gpu_hour is None:
        price = on_demand_gpu_price(inputs.gpu, inputs.region)
        if price is None:
            notes.append(f"no on-demand price for {inputs.gpu}: pass your rate with --price-per-gpu-hour")
        else:
            notes.append(f"cost at {price.source}; pass your {gpu.name} rate with --price-per-gpu-hour")
    if recommend_tier(needed, inputs.users) == "single-gpu":
        notes.append(
            f"the single-gpu tier runs one GPU without headroom (the {to_provision} to provision assume a fleet); "
            "a host failure is an outage until recovery"
        )
    return notes


def curve(
    inputs: SizingInputs, loads: Iterable[float], calibration: Sequence[CalibrationPoint] = ()
) -> list[tuple[float, SizingResult | None]]:
    """Size `inputs` at each load (users, or requests/s when `inputs` gives a rate); None where unreachable."""
    points: list[tuple[float, SizingResult | None]] = []
    for load in loads:
        if inputs.requests_per_second is not None:
            varied = replace(inputs, requests_per_second=float(load))
        else:
            varied = replace(inputs, users=int(load))
        try:
            points.append((load, size(varied, calibration)))
        except SizingError:
            points.append((load, None))
    return points


def sizing_profile(config: StackConfig) -> ModelProfile:
    """The profile a stack is sized for: its largest interactive profile (the users' load is chat), else its
    largest profile."""
    interactive = [p for p in config.models if p.lane is Lane.INTERACTIVE] or list(config.models)

    def weight(profile: ModelProfile) -> float:
        return (parameters_billions(profile.model) or 0.0) * bytes_per_param(profile.quantization)

    return max(interactive, key=weight)


def size_for_stack(
    config: StackConfig,
    calibration: Sequence[CalibrationPoint] = (),
    profile: ModelProfile | None = None,
    region: str | None = None,
) -> SizingResult:
    """Size a stack from its own config: `load`, `slo`, `gpu`, `schedule` and its sizing profile.

    The profile (default `sizing_profile(config)`) gives the model, quantization, `maxNumSeqs`,
    `gpuMemoryUtilization` and the least GPUs per replica; a replica never spans more GPUs than one node of
    `gpu.instanceType` has. Used by the policy pack's headroom rule and by
    `llmscale new`; raises SizingError when the stack's SLO is unreachable or its GPU unknown.
    """
    chosen = profile or sizing_profile(config)
    if parameters_billions(chosen.model) is None:
        raise SizingError(
            f"model {chosen.model} (profile {chosen.name}): cannot tell its size from the name, so it cannot be sized"
        )
    least = next(tp for tp in TENSOR_PARALLEL_SIZES if tp >= chosen.gpus_per_replica)
    return size(
        SizingInputs(
            users=config.load.peak_concurrent_users,
            prompt_tokens=config.load.prompt_tokens,
            output_tokens=config.load.output_tokens,
            model=chosen.model,
            quantization=chosen.quantization,
            gpu=config.gpu.instance_type,
            p99_seconds=config.slo.p99_latency_seconds,
            ttft_seconds=config.slo.ttft_p95_seconds,
            think_time_seconds=config.load.think_time_seconds,
            price_per_gpu_hour=config.gpu.price_per_gpu_hour,
            region=region,
            max_num_seqs=chosen.max_num_seqs,
            gpu_memory_utilization=chosen.gpu_memory_utilization,
            min_gpus_per_replica=least,
            max_gpus_per_replica=max(least, config.gpu.gpus),
            schedule=config.schedule,
        ),
        calibration,
    )
