"""What a stack declares (tier, SLO, load, schedule, profiles), recorded in the stack for its policies.

Policies see only resources, in `pulumi preview --policy-pack` as in `llmscale plan`; this summary is
registered as the inputs and outputs of a `llmscale:index:StackSettings` component so that both runners can
read what the stack promised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmscale import versions
from llmscale.config.models import AwsStackConfig, ClusterSections, Lane, ModelProfile, StackConfig

if TYPE_CHECKING:
    from llmscale.sizing.measurements import CalibrationPoint

SETTINGS_TYPE = "llmscale:index:StackSettings"


def sizing_summary(config: StackConfig, calibration: Sequence[CalibrationPoint] = ()) -> dict[str, Any]:
    """What the capacity planner says the declared peak needs, or why it cannot say.

    `calibration` holds the points of the stack's `sizing.calibration` results
    (`llmscale.config.calibration_key.stack_calibration`): the planner sizes from them as `llmscale new
    --calibration` did, so a stack sized from measurements is judged by the same measurements.
    """
    from llmscale.sizing.inputs import SizingError
    from llmscale.sizing.planner import size_for_stack

    try:
        result = size_for_stack(config, calibration).to_json()
    except SizingError as error:
        return {"error": str(error)}
    summary = {
        "gpusNeeded": result["gpusNeeded"],
        "gpusToProvision": result["gpusToProvision"],
        "basis": result["source"]["basis"],
        "bandwidthEstimate": result["source"]["bandwidthEstimate"],
    }
    if config.sizing.calibration is not None:
        summary["calibration"] = config.sizing.calibration
    return summary


def in_flight_summary(
    config: StackConfig, profile: ModelProfile, calibration: Sequence[CalibrationPoint] = ()
) -> dict[str, Any] | None:
    """What one replica of an interactive profile carries within the SLO, by the capacity planner: the in-flight
    target `llmscale size` prints for replicas of the profile's own GPUs, the replicas it means at the declared
    peak and the figures' basis. None for a batch profile (full batches are its point) or one the planner cannot
    size at that replica size."""
    from llmscale.sizing.gpus import CalibrationError
    from llmscale.sizing.inputs import SizingError
    from llmscale.sizing.planner import size_for_stack

    if profile.lane is not Lane.INTERACTIVE:
        return None
    try:
        result = size_for_stack(config, calibration, profile=profile, own_replicas=True)
    except (SizingError, CalibrationError):
        return None
    return {
        "inFlightTarget": result.serving.in_flight_target,
        "replicas": result.replicas,
        "bandwidthEstimate": result.source.bandwidth_estimate,
    }


def stack_settings(config: StackConfig, calibration: Sequence[CalibrationPoint] = ()) -> dict[str, Any]:
    """A plain summary of the config: no secrets, only what rules compare resources against.

    `calibration`: the measured points the stack is sized from (see `sizing_summary`)."""
    gateway = config.gateway if isinstance(config, ClusterSections) else None
    return {
        "tier": str(config.tier),
        "platform": str(config.platform),
        "environment": config.environment,
        "declared": sorted(config.declared_keys),
        "slo": config.slo.model_dump(by_alias=True),
        "load": config.load.model_dump(by_alias=True),
        "schedule": config.schedule.model_dump(by_alias=True),
        "gpusPerNode": config.gpu.gpus,
        "instanceType": config.gpu.instance_type,
        "sizing": sizing_summary(config, calibration),
        "rateLimitRequestsPerMinute": gateway.rate_limit_requests_per_minute if gateway else None,
        # The stack says TLS is terminated in front of an existing cluster's gateway (checked by tls-endpoint).
        "tlsTerminatedUpstream": gateway.tls_terminated_upstream if gateway else False,
        # The eks-endpoint-access policy accepts a world-open API endpoint only when the stack says so.
        "eksPublicEndpointOpenToInternet": isinstance(config, AwsStackConfig)
        and config.eks.public_endpoint_open_to_internet,
        "models": [
            {
                "name": p.name,
                "model": p.model,
                "lane": str(p.lane),
                "gpusPerReplica": p.gpus_per_replica,
                "minReplicas": p.min_replicas,
                "maxReplicas": p.max_replicas,
                # Serving settings in clear: the single host carries them compressed in its user data, so a
                # plan diff shows them here.
                "image": p.image or versions.VLLM_IMAGE,
                "maxModelLen": p.max_model_len,
                "maxNumSeqs": p.max_num_seqs,
                "maxNumQueuedReqs": p.queue_limit,
                "inFlightThreshold": p.in_flight_threshold,
                "sloInFlight": in_flight_summary(config, p, calibration),
                "quantization": str(p.quantization) if p.quantization else None,
            }
            for p in config.models
        ],
    }
