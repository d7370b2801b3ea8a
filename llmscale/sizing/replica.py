"""The replica model: one replica of tp GPUs, its steady state under a share of the load, and the SLO check.

Users mode is a closed loop: n users per replica, each thinking Z s between requests, keep
b(L) = n L / (Z + L) requests in flight when a request takes L s (Little's law), and L is the least fixed
point of L = ttft + output_tokens × step(b(L)). Batch traffic (an open stream of rb requests/s per replica)
adds rb × L in flight. The prefill load uses the request rate users would have if every answer took the whole
p99 budget, n / (Z + p99), plus the batch rate: a looser SLO lowers it, longer answers do not. With a request
rate instead, b = rate × L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmscale.sizing.calibration import PREFILL_OVERLAP, DecodeProfile
from llmscale.sizing.inputs import SizingInputs

P99_Z = 2.33  # 99th percentile of a normal: b99 = b + 2.33 √b requests in flight (Poisson)
MAX_REPLICAS = 100_000  # beyond this the answer is "unreachable", not a number


@dataclass(frozen=True)
class ReplicaState:
    """A replica's steady state at peak: requests in flight (mean and 99th percentile), latencies, request rate."""

    latency: float  # mean end-to-end seconds
    in_flight: float
    in_flight_p99: float
    ttft: float
    p99: float
    rate: float  # requests/s this replica completes
    prefill_share: float
    tpot: float  # seconds per output token at the 99th percentile of requests in flight


@dataclass(frozen=True)
class Replica:
    """One replica of `tp` GPUs: its steady state when it carries a share of the load.

    `prefill_seconds` is one prompt's prefill (the part the prefix cache does not serve), `kv_requests` how
    many requests of the workload's mean length the KV cache holds at once.
    """

    tp: int
    profile: DecodeProfile
    prefill_seconds: float
    kv_requests: float
    inputs: SizingInputs

    def state(self, replicas: int) -> ReplicaState | None:
        """The steady state with the load spread over `replicas` replicas; None when it never settles."""
        inputs = self.inputs
        batch = inputs.batch_requests_per_second / replicas
        if inputs.requests_per_second is not None:
            rate = inputs.requests_per_second / replicas + batch
            users = math.inf
        else:
            assert inputs.users is not None
            users = inputs.users / replicas
            rate = users / (inputs.think_time_seconds + inputs.p99_seconds) + batch
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
            cap = math.inf
        else:
            think = inputs.think_time_seconds

            def in_flight_at(latency: float) -> float:
                closed = users if think == 0 else users * latency / (think + latency)
                return closed + batch * latency

            def excess(latency: float) -> float:
                return ttft0 + out * slow * (t1 + (in_flight_at(latency) - 1) * c) - latency

            high = ttft0 + out * slow * (t1 + max(users - 1, 0) * c)
            if batch > 0:  # the batch stream's share grows with L: find a bracket, or no steady state
                while excess(high) > 0:
                    high *= 2
                    if high > 1e7:
                        return None
            low = 0.0
            for _ in range(80):  # excess is concave: one root, found by bisection
                middle = (low + high) / 2
                low, high = (middle, high) if excess(middle) > 0 else (low, middle)
            latency = high
            in_flight = in_flight_at(latency)
            rate = in_flight / latency
            cap = users + batch * latency
        in_flight_p99 = min(in_flight + P99_Z * math.sqrt(in_flight), cap)
        if in_flight_p99 > min(inputs.max_num_seqs, self.kv_requests):
            return None
        step = self.profile.step(max(in_flight_p99, 1.0)) * slow
        ttft = ttft0 + step
        return ReplicaState(latency, in_flight, in_flight_p99, ttft, ttft + (out - 1) * step, rate, rho, step)

    def meets_slo(self, state: ReplicaState | None) -> bool:
        """True when a steady state exists and its p99 (and TTFT and TPOT, when asked) are within the SLO."""
        if state is None:
            return False
        inputs = self.inputs
        return (
            state.p99 <= inputs.p99_seconds
            and (inputs.ttft_seconds is None or state.ttft <= inputs.ttft_seconds)
            and (inputs.tpot_seconds is None or state.tpot <= inputs.tpot_seconds)
        )

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

    def utilization(self, state: ReplicaState) -> float:
        """Output tokens/s at peak over what the replica delivers saturated (batch 256) under the same prompts."""
        saturated = self.profile.saturated_tokens_per_second() * (1 - PREFILL_OVERLAP * state.prefill_share)
        return min(1.0, state.rate * self.inputs.output_tokens / saturated)
