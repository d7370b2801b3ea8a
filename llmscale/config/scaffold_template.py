"""What a new stack's template (`templates/stacks/`) is rendered with: the answers of a `StackRequest`, the tier's
preset and what the planner decided, as the template's variables.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from llmscale.config.models import Platform, Tier
from llmscale.config.presets import PRESETS
from llmscale.config.scaffold_request import (
    ENTERPRISE_ZONES,
    PROFILE_NAME,
    SECRET_PLACEHOLDER,
    TLS_SECRET,
    StackRequest,
    instance_type_for,
)
from llmscale.paths import TEMPLATES
from llmscale.sizing import catalog


def p99_seconds(request: StackRequest) -> float:
    """The p99 latency SLO: as asked, else the tier's preset."""
    return request.p99_seconds or PRESETS[request.tier]["slo"]["p99LatencySeconds"]


def _failover(request: StackRequest) -> dict[str, Any] | None:
    if request.tier is not Tier.ENTERPRISE:
        return None
    return {
        "hosted_zone_id": request.hosted_zone_id,
        "record_name": request.domain,
        "standby_region": request.standby_region,
        "primary_endpoint": request.primary_endpoint,
        "standby_endpoint": request.standby_endpoint,
    }


def tls_secret(request: StackRequest) -> str | None:
    """A gateway certificate Secret where llmscale does not terminate TLS itself (no ACM load balancer)."""
    if request.tier is Tier.SINGLE_GPU or request.platform is Platform.AWS:
        return None
    return TLS_SECRET


def _public_name(request: StackRequest) -> dict[str, str] | None:
    """Multi-gpu on aws with a DNS name: the gateway's name and zone (an ACM certificate and an HTTPS load balancer);
    without one its load balancer stays internal to the VPC."""
    if (
        request.tier is Tier.MULTI_GPU
        and request.platform is Platform.AWS
        and request.domain
        and request.hosted_zone_id
    ):
        return {"hostname": request.domain, "hosted_zone_id": request.hosted_zone_id}
    return None


def template_context(request: StackRequest, **decided: Any) -> dict[str, Any]:
    instance_type = instance_type_for(request)
    known = catalog.lookup(instance_type)
    preset = PRESETS[request.tier]
    return {
        "name": request.name,
        "tier": str(request.tier),
        "platform": str(request.platform),
        "region": request.region,
        "users": request.users,
        "model": request.model,
        "quantization": request.quantization.value if request.quantization else None,
        "instance_type": instance_type,
        "accelerator": known.gpu_model if known else _accelerator_of(instance_type),
        "gpus_per_node": request.gpus_per_node if known is None else None,
        "price_per_gpu_hour": request.price_per_gpu_hour,
        "profile": PROFILE_NAME,
        "p99": p99_seconds(request),
        "availability": preset["slo"]["availability"],
        "environment": request.environment or preset["environment"],
        "prompt_tokens": 1000,
        "output_tokens": 250,
        "timezone": request.timezone,
        "allowed_cidrs": list(request.allowed_cidrs),
        "kube_context": request.kube_context,
        "zones": ENTERPRISE_ZONES,
        "headroom_nodes": preset.get("eks", {}).get("headroomNodes", 0),
        "tls_secret": tls_secret(request),
        "public_name": _public_name(request),
        "failover": _failover(request),
        "secret_placeholder": SECRET_PLACEHOLDER,
        "size_command": "",
        "replica_notes": [],
        "cost_lines": [],
        "extra_steps": [],
        "sizing": None,
        "calibration": request.calibration_key,
        "min_replicas": 1,
        "max_replicas": 1,
        **decided,
    }


def _accelerator_of(node_type: str) -> str:
    """The GPU a node type names (onprem.l40s-x4 → L40S), as the planner reads it."""
    from llmscale.sizing.calibration import CalibrationError, resolve_gpu

    try:
        return resolve_gpu(node_type)[0].name
    except CalibrationError:
        return "your GPU"


def per_key_rate_limit(requests_per_second: float, gateway_replicas: int = 2) -> int:
    """`gateway.rateLimitRequestsPerMinute` for a stack's declared peak: one client key may carry all of it, twice
    over for bursts. The limit is local to each Envoy replica, and replicas share the traffic, so each allows its
    share; rounded up to a multiple of 50, at least 60 a minute."""
    per_replica = 2 * requests_per_second * 60 / max(1, gateway_replicas)
    return max(60, math.ceil(per_replica / 50) * 50)


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "stacks"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML and Python, not HTML
    )
    environment.globals["per_key_rate_limit"] = per_key_rate_limit
    return environment
