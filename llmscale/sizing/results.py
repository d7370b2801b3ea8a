"""What the capacity planner answers: GPUs at peak with an error range, headroom, tier, latency, the vLLM and
KEDA settings that follow, the rows of measurements it drew on, and the monthly cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmscale.sizing.fleet import MonthlyCost
from llmscale.sizing.inputs import SizingInputs
from llmscale.sizing.measurements import CalibrationPoint


@dataclass(frozen=True)
class ServingSettings:
    """The per-replica settings that follow from a sizing, with the reasoning behind each."""

    max_num_seqs: int
    queue_depth_target: int
    in_flight_target: int
    reasoning: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """camelCase document."""
        return {
            "maxNumSeqs": self.max_num_seqs,
            "queueDepthTarget": self.queue_depth_target,
            "inFlightTarget": self.in_flight_target,
            "reasoning": list(self.reasoning),
        }


@dataclass(frozen=True)
class TensorParallelOption:
    """One tensor-parallel size the planner weighed: replicas and GPUs it needs, or why it cannot serve."""

    tp: int
    replicas: int | None
    why_not: str = ""

    def to_json(self) -> dict[str, Any]:
        """camelCase document."""
        gpus = None if self.replicas is None else self.replicas * self.tp
        return {"gpusPerReplica": self.tp, "replicas": self.replicas, "gpus": gpus, "whyNot": self.why_not or None}


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
    """The planner's answer for one load: GPUs at peak (and the range the planner's measured error gives),
    headroom, tier, latency, utilisation, serving settings, the rows it drew on, and cost."""

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
    estimated_tpot_seconds: float = 0.0
    range_low: int | None = None
    range_high: int | None = None
    speed_band: tuple[float, float] = (1.0, 1.0)
    rows: tuple[CalibrationPoint, ...] = ()
    options: tuple[TensorParallelOption, ...] = ()
    serving: ServingSettings | None = None

    def to_json(self) -> dict[str, Any]:
        """The `--json` document: camelCase keys, `gpusNeeded`, its `range` and `gpusToProvision` first."""
        return {
            "gpusNeeded": self.gpus_needed,
            "range": {
                "low": self.range_low if self.range_low is not None else self.gpus_needed,
                "high": self.range_high,
                "speedBand": list(self.speed_band),
                "basis": self.source.basis,
            },
            "gpusToProvision": self.gpus_to_provision,
            "replicas": self.replicas,
            "gpusPerReplica": self.gpus_per_replica,
            "replicasToProvision": self.replicas_to_provision,
            "recommendedTier": self.recommended_tier,
            "gpu": self.gpu,
            "paramsBillions": self.params_billions,
            "estimatedP99Seconds": round(self.estimated_p99_seconds, 2),
            "estimatedTtftSeconds": round(self.estimated_ttft_seconds, 2),
            "estimatedTpotSeconds": round(self.estimated_tpot_seconds, 4),
            "gpuUtilization": round(self.gpu_utilization, 3),
            "requestsPerSecond": round(self.requests_per_second, 3),
            "concurrentRequests": round(self.concurrent_requests, 1),
            "requestsPerReplica": round(self.requests_per_replica, 1),
            "kvCacheRequestsPerReplica": round(self.kv_cache_requests_per_replica, 1),
            "requiredTokensPerSecondPerStream": round(self.required_tokens_per_second_per_stream, 1),
            "serving": self.serving.to_json() if self.serving else None,
            "tensorParallelOptions": [option.to_json() for option in self.options],
            "calibrationRows": [row.to_json() for row in self.rows],
            "monthlyCost": self.cost.to_json(),
            "source": self.source.to_json(),
            "inputs": self.inputs.to_json(),
        }
