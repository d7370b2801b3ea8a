"""Stamp out a customer stack: a stack file sized by the capacity planner, from `templates/stacks/`.

The decisions are pure functions of a `StackRequest`:

- every answer is checked on its own first (`answer_problem`), so a prompt can ask again at once and the command
  can name the option that is wrong;
- the planner sizes the stack exactly as the policy pack will (`size_for_stack` on the parsed config), and a
  load the tier cannot carry is refused with the tier that fits (`TierMisfitError`), never written into a stack that
  contradicts itself;
- replicas cover the planner's GPUs with headroom and, on the enterprise tier, losing any one zone still leaves
  the GPUs the declared peak needs (the check the `gpu-headroom` policies make);
- the rendered file is validated before anything is written, and its comment says which `llmscale size`
  command gives its numbers and what its GPUs cost per month.

Secrets are never written: the file carries placeholders and comments saying which
`pulumi config set --secret` commands replace them.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

from llmscale.aws.eks import gpu_node_groups
from llmscale.commands.size import size_command_line
from llmscale.config.calibration_key import stack_calibration
from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values, read_stack_text
from llmscale.config.models import Platform, StackConfig, Tier
from llmscale.config.presets import PRESETS
from llmscale.config.scaffold_project import project_files
from llmscale.config.scaffold_request import (  # noqa: F401  (re-exported: callers import them from here)
    COMMENT_WIDTH,
    ENTERPRISE_ZONES,
    HF_MODEL_ID,
    MAX_REPLICAS,
    NEW_STACK_NAME,
    OPTIONS,
    PROFILE_NAME,
    S3_MODEL,
    SECRET_PLACEHOLDER,
    TIER_ORDER,
    TLS_SECRET,
    OptionProblem,
    RequestError,
    StackRequest,
    TierMisfitError,
    answer_problem,
    does_not_apply,
    instance_type_for,
    request_problems,
    required_answers,
)
from llmscale.config.scaffold_template import (  # noqa: F401  (per_key_rate_limit: re-exported)
    p99_seconds,
    per_key_rate_limit,
    template_context,
    template_environment,
    tls_secret,
)
from llmscale.paths import project_root
from llmscale.sizing.cost import StackCost, stack_cost
from llmscale.sizing.planner import (
    SizingError,
    SizingResult,
    size_for_stack,
)

# --- sizing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaffoldPlan:
    """What `new` decided: the sizing behind the stack, its replicas, the why of them, and the monthly cost."""

    request: StackRequest
    sizing: SizingResult
    size_command: str
    instance_type: str
    min_replicas: int
    max_replicas: int
    replica_notes: tuple[str, ...]
    cost: StackCost
    config: StackConfig


def _parse(text: str, name: str, project: Path | None = None) -> tuple[StackConfig, str | None]:
    source = f"stacks/Pulumi.{name}.yaml"
    values, secret_keys, _ = read_stack_text(text, source)
    return parse_values(values, secret_keys, source, project=project)


def _zone_loss_left(config: StackConfig, max_replicas: int) -> int:
    """GPUs left at peak when the zone with the most GPU capacity is lost (the gpu-headroom policy's arithmetic)."""
    profile = config.models[0].model_copy(update={"max_replicas": max_replicas})
    trial = config.model_copy(update={"models": [profile]})
    if config.platform is Platform.AWS:
        sizes = [group.max_size for group in gpu_node_groups(trial)]
        return (sum(sizes) - max(sizes)) * config.gpu.gpus
    # An existing cluster: replicas spread evenly over its zones (topology spread, maxSkew 1).
    return (max_replicas - math.ceil(max_replicas / ENTERPRISE_ZONES)) * profile.gpus_per_replica


def _replicas(request: StackRequest, config: StackConfig, result: SizingResult) -> tuple[int, int, list[str]]:
    """(minReplicas, maxReplicas, why) for the sized profile."""
    preset_min: int = PRESETS[request.tier]["modelDefaults"]["minReplicas"]
    per_replica = result.gpus_per_replica
    if request.tier is Tier.SINGLE_GPU:
        return 1, 1, ["maxReplicas 1: the single-gpu tier runs one replica on one host, without headroom."]
    wanted = max(math.ceil(result.gpus_to_provision / per_replica), preset_min)
    notes = [f"maxReplicas {wanted}: the {result.gpus_to_provision} GPUs to provision, in replicas of {per_replica}."]
    if request.tier is Tier.ENTERPRISE:
        chosen = wanted
        while chosen <= MAX_REPLICAS and _zone_loss_left(config, chosen) < result.gpus_needed:
            chosen += 1
        if chosen != wanted:
            notes = [
                f"maxReplicas {chosen}: more than the {result.gpus_to_provision} GPUs to provision, so that losing "
                f"one of {ENTERPRISE_ZONES} zones still leaves the {result.gpus_needed} the peak needs."
            ]
        else:
            notes.append(
                f"Losing one of {ENTERPRISE_ZONES} zones still leaves the {result.gpus_needed} GPUs the peak needs."
            )
        wanted = chosen
    if wanted > MAX_REPLICAS:
        raise RequestError(
            [
                OptionProblem(
                    "--users",
                    f"{request.users} users need {wanted} replicas of {per_replica} GPU(s) on "
                    f"{instance_type_for(request)}, "
                    f"more than the {MAX_REPLICAS} a profile can have: choose a faster or larger --gpu, quantize "
                    "(--quantization), or loosen --p99",
                )
            ]
        )
    return min(preset_min, wanted), wanted, notes


def _misfit(request: StackRequest, result: SizingResult, command: str) -> TierMisfitError | None:
    """The refusal when the planner's tier for this load is bigger than the one asked for."""
    recommended = Tier(result.recommended_tier)
    if TIER_ORDER.index(request.tier) >= TIER_ORDER.index(recommended):
        return None
    fits = TIER_ORDER[TIER_ORDER.index(recommended) :]
    if request.tier is Tier.SINGLE_GPU and result.gpus_needed == 1:
        why = f"{request.users} users are more than the single-gpu tier's 50"
    else:
        why = f"{request.users} users of {request.model} need {result.gpus_needed} GPUs at peak"
    return TierMisfitError(
        OptionProblem(
            "--tier",
            f"{why} (p99 {p99_seconds(request):g} s on {instance_type_for(request)}: {command}); "
            f"tier {recommended} fits: run again with --tier {recommended}, or raise --p99 or choose a faster --gpu",
        ),
        fits,
    )


def _cost_lines(cost: StackCost) -> list[str]:
    if cost.monthly_always_on is None or cost.price_per_gpu_hour is None:
        return [f"Monthly GPU cost: unknown ({cost.source})."]
    from llmscale.sizing.cost import money

    assert cost.monthly_with_schedule is not None
    source = textwrap.wrap(f"({cost.source}).", width=COMMENT_WIDTH, initial_indent="  ", subsequent_indent="  ")
    return [
        f"Monthly GPU cost: {money(cost.monthly_always_on, cost.currency)} always on, "
        f"{money(cost.monthly_with_schedule, cost.currency)} with the night schedule below, at "
        f"{money(cost.price_per_gpu_hour, cost.currency, cents=True)}/GPU-hour",
        *source,
        "  GPU instances only: load balancers, NAT gateways, the EKS control plane, disks and traffic come on top.",
    ]


def _extra_steps(request: StackRequest) -> list[str]:
    steps = []
    if tls_secret(request):
        steps.append(
            f"kubectl -n llm create secret tls {TLS_SECRET} --cert=fullchain.pem --key=privkey.pem   "
            "(the gateway's HTTPS certificate)"
            if request.platform is Platform.KUBERNETES
            else f"kubectl -n llmscale create secret tls {TLS_SECRET} --cert=fullchain.pem --key=privkey.pem   "
            "(the gateway's HTTPS certificate, once the cluster exists)"
        )
    if request.tier is Tier.ENTERPRISE and request.platform is Platform.AWS:
        steps.append(
            f"the hosted zone {request.hosted_zone_id} must be public and hold {request.domain}: "
            "llmscale preflight checks it"
        )
    return steps


def plan_stack(request: StackRequest) -> ScaffoldPlan:
    """Size the request and decide its replicas; raises RequestError (or TierMisfitError) naming what to change."""
    problems = request_problems(request)
    if problems:
        raise RequestError(problems)
    environment = template_environment()
    defaults = PRESETS[request.tier]["modelDefaults"]
    draft = environment.get_template("stack.yaml.j2").render(
        template_context(
            request,
            sizing=_DraftSizing(),
            min_replicas=defaults["minReplicas"],
            max_replicas=defaults["maxReplicas"],
        )
    )
    try:
        config, region = _parse(draft, request.name, request.project_dir)
    except ConfigError as error:
        raise RequestError([OptionProblem("NAME", f"the stack would not validate: {error.lines()[0]}")]) from None
    try:
        result = size_for_stack(config, request.calibration, region=request.region)
    except SizingError as error:
        option = "--p99" if "SLO" in str(error) else "--gpu" if "GiB" in str(error) else "--model"
        raise RequestError([OptionProblem(option, str(error))]) from None
    command = size_command_line(result.inputs)
    if request.calibration_file:
        command += f" --calibration {request.calibration_file}"
    misfit = _misfit(request, result, command)
    if misfit is not None:
        raise misfit
    profile = config.models[0].model_copy(update={"gpus_per_replica": result.gpus_per_replica})
    config = config.model_copy(update={"models": [profile]})
    low, high, notes = _replicas(request, config, result)
    final = config.model_copy(
        update={"models": [profile.model_copy(update={"min_replicas": low, "max_replicas": high})]}
    )
    return ScaffoldPlan(
        request=request,
        sizing=result,
        size_command=command,
        instance_type=instance_type_for(request),
        min_replicas=low,
        max_replicas=high,
        replica_notes=tuple(notes),
        cost=stack_cost(final, region),
        config=final,
    )


class _DraftSizing:
    """The sizing fields the template reads, before the planner has run (the draft is parsed, not written)."""

    gpus_needed = replicas = gpus_per_replica = gpus_to_provision = 1
    estimated_p99_seconds = 0.0
    requests_per_second = 1.0
    source = type("Source", (), {"basis": "draft", "bandwidth_estimate": False})()
    range_low = range_high = None
    speed_band = (1.0, 1.0)
    serving = None


def render_stack(request: StackRequest) -> tuple[str, ScaffoldPlan]:
    """The stack file's text and the plan behind it; raises RequestError when it cannot be written as asked."""
    plan = plan_stack(request)
    text = (
        template_environment()
        .get_template("stack.yaml.j2")
        .render(
            template_context(
                request,
                sizing=plan.sizing,
                size_command=plan.size_command,
                replica_notes=list(plan.replica_notes),
                cost_lines=_cost_lines(plan.cost),
                extra_steps=_extra_steps(request),
                min_replicas=plan.min_replicas,
                max_replicas=plan.max_replicas,
            )
        )
    )
    try:
        written, _ = _parse(text, request.name, request.project_dir)
    except ConfigError as error:  # the decisions above keep every key valid; this guards the template itself
        raise RequestError([OptionProblem("NAME", f"the stack would not validate: {error.lines()[0]}")]) from None
    assert written.models[0].max_replicas == plan.max_replicas
    return text, plan


def size_for_written_stack(text: str, name: str, project: Path | None = None) -> SizingResult:
    """The planner's answer for a stack file's text, as its policies compute it: from the measured results its
    `sizing.calibration` names (relative to `project`, default the working directory's), else built-in figures."""
    project = project or project_root()
    config, region = _parse(text, name, project)
    return size_for_stack(config, stack_calibration(config, project), region=region)


__all__ = [
    "ConfigError",
    "OptionProblem",
    "RequestError",
    "ScaffoldPlan",
    "StackRequest",
    "TierMisfitError",
    "answer_problem",
    "does_not_apply",
    "plan_stack",
    "project_files",
    "render_stack",
    "request_problems",
    "required_answers",
]
