"""Stamp out a customer stack: a stack file sized by the capacity planner, from `templates/stacks/`.

The rendered file is validated before anything is written, so `llmscale new` never leaves an invalid stack
behind. Secrets are never written: the file carries placeholders and comments saying which
`pulumi config set --secret` commands replace them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import jinja2

from llmscale import catalog
from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values, read_stack_text
from llmscale.config.models import Platform, Quantization, ScheduleConfig, Tier
from llmscale.config.presets import PRESETS
from llmscale.paths import TEMPLATES
from llmscale.sizing import SizingInputs, SizingResult, size

PROFILE_NAME = "chat"
SECRET_PLACEHOLDER = "v1:placeholder-set-with-pulumi-config-set-secret"


@dataclass(frozen=True)
class StackRequest:
    """What a consultant asks for: a name, a tier and platform, the load and the model."""

    name: str
    tier: Tier
    platform: Platform
    users: int
    model: str
    region: str | None = None
    gpu: str | None = None
    quantization: Quantization | None = None
    p99_seconds: float | None = None
    allowed_cidrs: tuple[str, ...] = ()
    timezone: str = "UTC"
    environment: str | None = None
    notes: list[str] = field(default_factory=list)


def instance_type(request: StackRequest) -> str:
    """The GPU instance type: as asked, else the tier's preset."""
    return request.gpu or PRESETS[request.tier]["gpu"]["instanceType"]


def p99_seconds(request: StackRequest) -> float:
    """The p99 latency SLO: as asked, else the tier's preset."""
    return request.p99_seconds or PRESETS[request.tier]["slo"]["p99LatencySeconds"]


def sizing(request: StackRequest) -> SizingResult:
    """The planner's answer for the request's peak load on its GPU type."""
    gpu = instance_type(request)
    known = catalog.lookup(gpu)
    return size(
        SizingInputs(
            users=request.users,
            model=request.model,
            quantization=request.quantization,
            gpu=gpu,
            p99_seconds=p99_seconds(request),
            max_gpus_per_replica=known.gpus if known else 8,
            schedule=ScheduleConfig(timezone=request.timezone),
        )
    )


def context(request: StackRequest, result: SizingResult) -> dict[str, Any]:
    """Template values: replicas from the planner, everything else from the request and the tier presets."""
    preset_min = PRESETS[request.tier]["modelDefaults"]["minReplicas"]
    per_replica = result.gpus_per_replica
    if request.tier is Tier.SINGLE_GPU:
        min_replicas = max_replicas = 1
    else:
        max_replicas = max(math.ceil(result.gpus_to_provision / per_replica), preset_min)
        min_replicas = min(preset_min, max_replicas)
    return {
        "request": request,
        "tier": str(request.tier),
        "platform": str(request.platform),
        "instance_type": instance_type(request),
        "gpus_per_node": None if catalog.lookup(instance_type(request)) else per_replica,
        "profile": PROFILE_NAME,
        "gpus_per_replica": per_replica,
        "min_replicas": min_replicas,
        "max_replicas": max_replicas,
        "p99": p99_seconds(request),
        "availability": PRESETS[request.tier]["slo"]["availability"],
        "environment": request.environment or PRESETS[request.tier]["environment"],
        "sizing": result,
        "secret_placeholder": SECRET_PLACEHOLDER,
    }


def render_stack(request: StackRequest) -> tuple[str, SizingResult]:
    """The stack file's text and the sizing behind it; raises ConfigError if it would not validate."""
    result = sizing(request)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "stacks"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # YAML, not HTML
    )
    text = environment.get_template("stack.yaml.j2").render(context(request, result))
    source = f"stacks/Pulumi.{request.name}.yaml"
    values, secret_keys, _ = read_stack_text(text, source)
    parse_values(values, secret_keys, source)  # raises ConfigError: never write an invalid stack
    return text, result


__all__ = ["ConfigError", "StackRequest", "render_stack"]
