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

import ipaddress
import math
import re
import sys
import textwrap
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from llmscale import __version__
from llmscale.aws.dns import endpoint_kind, validate_record_name
from llmscale.aws.eks import gpu_node_groups
from llmscale.commands.size import size_command_line
from llmscale.config.checks import PLATFORMS_BY_TIER
from llmscale.config.errors import ConfigError
from llmscale.config.loader import parse_values, read_stack_text
from llmscale.config.models import DOMAIN, ENDPOINT, ZONE_ID, Platform, Quantization, StackConfig, Tier
from llmscale.config.presets import PRESETS
from llmscale.config.regions import region_problem
from llmscale.paths import PROJECT_FILE, TEMPLATES
from llmscale.sizing import catalog
from llmscale.sizing.cost import StackCost, stack_cost
from llmscale.sizing.model_size import parameters_billions
from llmscale.sizing.planner import (
    SizingError,
    SizingResult,
    size_for_stack,
)

PROFILE_NAME = "chat"
SECRET_PLACEHOLDER = "v1:placeholder-set-with-pulumi-config-set-secret"
TLS_SECRET = "llmscale-tls"
MAX_REPLICAS = 100  # ModelProfile.maxReplicas' bound
ENTERPRISE_ZONES = 3
TIER_ORDER = (Tier.SINGLE_GPU, Tier.MULTI_GPU, Tier.ENTERPRISE)
COMMENT_WIDTH = 112

# A name `pulumi stack init` accepts that is also a valid EKS cluster name and leaves room in the IAM role names
# derived from it (64 characters at most): letters, digits, '-' and '_', starting and ending with one of the first two.
NEW_STACK_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,38}[A-Za-z0-9])?$")
# A Hugging Face model id (org/name) or a model in S3 (s3://bucket/prefix), as vLLM's `serve` takes it.
HF_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
S3_MODEL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$")


@dataclass(frozen=True)
class StackRequest:
    """What a consultant asks for: a name, a tier and platform, the load and the model, and where it runs."""

    name: str
    tier: Tier
    platform: Platform
    users: int
    model: str
    region: str | None = None
    gpu: str | None = None
    gpus_per_node: int | None = None
    quantization: Quantization | None = None
    p99_seconds: float | None = None
    allowed_cidrs: tuple[str, ...] = ()
    timezone: str = "UTC"
    environment: str | None = None
    standby_region: str | None = None
    hosted_zone_id: str | None = None
    domain: str | None = None
    primary_endpoint: str | None = None
    standby_endpoint: str | None = None
    kube_context: str | None = None
    price_per_gpu_hour: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OptionProblem:
    """Something wrong with one answer: the option that carries it and what would fix it (one line)."""

    option: str
    message: str

    def line(self) -> str:
        """`--option: message`."""
        return f"{self.option}: {self.message}"


class RequestError(Exception):
    """A request `new` cannot turn into a stack; `problems` name the options to change."""

    def __init__(self, problems: list[OptionProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem.line() for problem in problems))


class TierMisfitError(RequestError):
    """The load needs a bigger tier than the one asked for; `fits` lists the tiers that carry it."""

    def __init__(self, problem: OptionProblem, fits: tuple[Tier, ...]) -> None:
        super().__init__([problem])
        self.fits = fits


# --- one answer at a time ----------------------------------------------------------------------------------


def _pattern(value: str, pattern: str) -> bool:
    return re.match(pattern, value) is not None


def answer_problem(key: str, value: Any, request: StackRequest | None = None) -> str | None:
    """Why one answer cannot be used (a message for its option), or None. Never echoes the value.

    `key` is a StackRequest field; `request` gives the other answers where a check needs them.
    """
    if key == "name":
        if not NEW_STACK_NAME.match(str(value)):
            return (
                "must be a stack name of letters, digits, '-' and '_', starting and ending with a letter or digit, "
                "at most 40 characters (for example acme-prod)"
            )
    elif key == "model":
        text = str(value)
        if not (HF_MODEL_ID.match(text) or S3_MODEL.match(text)):
            return (
                "must be a Hugging Face model id such as meta-llama/Llama-3.1-8B-Instruct (organisation/name), "
                "or an s3://bucket/prefix holding the weights"
            )
        if parameters_billions(text) is None:
            return (
                "the planner reads a model's size from its name (8B in Llama-3.1-8B-Instruct) and this name has "
                "none; pick a model whose name gives its size"
            )
    elif key == "users":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
            return "must be a whole number of concurrent users from 1 to 1000000"
    elif key in ("region", "standby_region"):
        problem = region_problem(str(value))
        if problem:
            return problem
        if key == "standby_region" and request is not None and value == request.region:
            return "is the primary region (--region); the standby runs in another one"
    elif key == "timezone":
        try:
            zoneinfo.ZoneInfo(str(value))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return "unknown time zone; use an IANA name such as Europe/Berlin"
    elif key == "allowed_cidrs":
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                return "must be networks in CIDR notation with host bits 0, such as 203.0.113.0/24"
    elif key == "p99_seconds":
        if not 0 < float(value) <= 600:
            return "must be a latency in seconds, more than 0 and at most 600"
    elif key == "hosted_zone_id":
        if not _pattern(str(value), ZONE_ID):
            return "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"
    elif key == "domain":
        if not _pattern(str(value), DOMAIN):
            return "must be a lowercase DNS name such as llm.example.com (the name clients use)"
        try:
            validate_record_name(str(value))
        except ValueError:
            return "must be a fully qualified DNS name such as llm.example.com"
    elif key in ("primary_endpoint", "standby_endpoint"):
        if not _pattern(str(value), ENDPOINT):
            return "must be a host name such as llm-standby.example.com or an IPv4 address, without scheme or port"
        try:
            endpoint_kind(str(value))
        except ValueError:
            return "must be a public host name or IPv4 address: Route 53 health checkers probe it from the internet"
    elif key == "gpu":
        if catalog.instance_type_for(str(value)) is None and not re.match(r"^[a-z0-9]+\.[a-z0-9-]+$", str(value)):
            return (
                f"must be a GPU ({', '.join(catalog.ACCELERATORS)}) or an EC2 instance type such as g6e.xlarge "
                "(or FAMILY.SIZE of your own nodes, with --gpus-per-node)"
            )
    elif key == "gpus_per_node":
        if not isinstance(value, int) or not 1 <= value <= 16:
            return "must be a whole number of GPUs from 1 to 16"
    elif key == "kube_context":
        if not str(value).strip() or any(char.isspace() or not char.isprintable() for char in str(value)):
            return "must be a kubeconfig context name without spaces"
    elif key == "price_per_gpu_hour" and not float(value) >= 0:
        return "must be a price of 0 or more"
    return None


OPTIONS = {
    "name": "NAME",
    "tier": "--tier",
    "platform": "--platform",
    "users": "--users",
    "model": "--model",
    "region": "--region",
    "gpu": "--gpu",
    "gpus_per_node": "--gpus-per-node",
    "p99_seconds": "--p99",
    "allowed_cidrs": "--allowed-cidr",
    "timezone": "--timezone",
    "standby_region": "--standby-region",
    "hosted_zone_id": "--hosted-zone-id",
    "domain": "--domain",
    "primary_endpoint": "--primary-endpoint",
    "standby_endpoint": "--standby-endpoint",
    "kube_context": "--kube-context",
    "price_per_gpu_hour": "--price-per-gpu-hour",
}


def required_answers(tier: Tier, platform: Platform) -> tuple[str, ...]:
    """The request fields a (tier, platform) needs besides name, tier, platform, users and model."""
    needed: list[str] = []
    if platform is Platform.AWS:
        needed.append("region")
    if platform is Platform.AWS:
        needed.append("allowed_cidrs")
    if tier is Tier.ENTERPRISE and platform is Platform.AWS:
        needed += ["standby_region", "hosted_zone_id", "domain"]
    if tier is Tier.ENTERPRISE and platform is Platform.KUBERNETES:
        needed += ["hosted_zone_id", "domain", "primary_endpoint", "standby_endpoint"]
    return tuple(needed)


def _names_its_endpoint(tier: Tier, platform: Platform) -> bool:
    """Whether a DNS name and hosted zone mean something for (tier, platform)."""
    return (tier is Tier.ENTERPRISE and platform is not Platform.HOST) or (
        tier is Tier.MULTI_GPU and platform is Platform.AWS
    )


def does_not_apply(key: str, tier: Tier, platform: Platform) -> str | None:
    """Why an answer does not apply to (tier, platform), or None when it does."""
    scopes = {
        "region": (platform is Platform.AWS, "only platform aws runs in an AWS region"),
        "allowed_cidrs": (
            platform is Platform.AWS,
            "only platform aws has a host or a Kubernetes API for llmscale to open to these networks",
        ),
        "standby_region": (
            tier is Tier.ENTERPRISE and platform is Platform.AWS,
            "only the enterprise tier on platform aws builds a standby region",
        ),
        "hosted_zone_id": (
            _names_its_endpoint(tier, platform),
            "only the enterprise tier (failover) and multi-gpu on aws (its load balancer's name) use a DNS name",
        ),
        "domain": (
            _names_its_endpoint(tier, platform),
            "only the enterprise tier (failover) and multi-gpu on aws (its load balancer's name) use a DNS name",
        ),
        "primary_endpoint": (
            tier is Tier.ENTERPRISE and platform is Platform.KUBERNETES,
            "only the enterprise tier on platform kubernetes names its primary's address",
        ),
        "standby_endpoint": (
            tier is Tier.ENTERPRISE and platform is Platform.KUBERNETES,
            "only the enterprise tier on platform kubernetes names a standby elsewhere",
        ),
        "kube_context": (platform is Platform.KUBERNETES, "only platform kubernetes uses an existing cluster"),
        "gpus_per_node": (platform is Platform.KUBERNETES, "only your own nodes (platform kubernetes) need it"),
    }
    applies, why = scopes.get(key, (True, ""))
    return None if applies else why


def request_problems(request: StackRequest) -> list[OptionProblem]:
    """Every problem with a complete request, one per option, before anything is sized."""
    problems: list[OptionProblem] = []
    if request.platform not in PLATFORMS_BY_TIER[request.tier]:
        allowed = ", ".join(PLATFORMS_BY_TIER[request.tier])
        problems.append(OptionProblem("--platform", f"does not fit tier {request.tier} (use {allowed})"))
        return problems
    for key in ("name", "users", "model", "timezone"):
        message = answer_problem(key, getattr(request, key), request)
        if message:
            problems.append(OptionProblem(OPTIONS[key], message))
    for key in (
        "region",
        "gpu",
        "gpus_per_node",
        "p99_seconds",
        "allowed_cidrs",
        "standby_region",
        "hosted_zone_id",
        "domain",
        "primary_endpoint",
        "standby_endpoint",
        "kube_context",
        "price_per_gpu_hour",
    ):
        value = getattr(request, key)
        if value is None or value == ():
            if key in required_answers(request.tier, request.platform):
                problems.append(OptionProblem(OPTIONS[key], f"required for tier {request.tier} on {request.platform}"))
            continue
        why_not = does_not_apply(key, request.tier, request.platform)
        if why_not:
            problems.append(OptionProblem(OPTIONS[key], why_not))
            continue
        message = answer_problem(key, value, request)
        if message:
            problems.append(OptionProblem(OPTIONS[key], message))
    if request.gpu and not problems:
        instance_type = instance_type_for(request)
        if catalog.lookup(instance_type) is None and request.gpus_per_node is None:
            problems.append(
                OptionProblem(
                    "--gpus-per-node",
                    "required with a node type llmscale does not know (platform kubernetes), or use an EC2 type or GPU",
                )
            )
        elif catalog.lookup(instance_type) is not None and request.gpus_per_node is not None:
            problems.append(
                OptionProblem("--gpus-per-node", f"{instance_type} is catalogued: llmscale knows its GPUs; remove it")
            )
        elif catalog.lookup(instance_type) is None and request.platform is not Platform.KUBERNETES:
            problems.append(OptionProblem("--gpu", "must be a catalogued EC2 instance type or a GPU on this platform"))
    return problems


# --- sizing --------------------------------------------------------------------------------------------------


def instance_type_for(request: StackRequest) -> str:
    """The node type: the tier's preset, or what --gpu names (a GPU becomes the preset's size of its family)."""
    preset: str = PRESETS[request.tier]["gpu"]["instanceType"]
    if request.gpu is None:
        return preset
    wanted = catalog.accelerator(request.gpu)
    preset_gpu = catalog.lookup(preset)
    if wanted is not None and preset_gpu is not None and preset_gpu.gpu_model == wanted:
        return preset
    return catalog.instance_type_for(request.gpu, preset.split(".", 1)[1]) or request.gpu


def p99_seconds(request: StackRequest) -> float:
    """The p99 latency SLO: as asked, else the tier's preset."""
    return request.p99_seconds or PRESETS[request.tier]["slo"]["p99LatencySeconds"]


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


def _tls_secret(request: StackRequest) -> str | None:
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


def _context(request: StackRequest, **decided: Any) -> dict[str, Any]:
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
        "tls_secret": _tls_secret(request),
        "public_name": _public_name(request),
        "failover": _failover(request),
        "secret_placeholder": SECRET_PLACEHOLDER,
        "size_command": "",
        "replica_notes": [],
        "cost_lines": [],
        "extra_steps": [],
        "sizing": None,
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


def _environment() -> jinja2.Environment:
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


def _parse(text: str, name: str) -> tuple[StackConfig, str | None]:
    source = f"stacks/Pulumi.{name}.yaml"
    values, secret_keys, _ = read_stack_text(text, source)
    return parse_values(values, secret_keys, source)


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
    if _tls_secret(request):
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
    environment = _environment()
    defaults = PRESETS[request.tier]["modelDefaults"]
    draft = environment.get_template("stack.yaml.j2").render(
        _context(
            request,
            sizing=_DraftSizing(),
            min_replicas=defaults["minReplicas"],
            max_replicas=defaults["maxReplicas"],
        )
    )
    try:
        config, region = _parse(draft, request.name)
    except ConfigError as error:
        raise RequestError([OptionProblem("NAME", f"the stack would not validate: {error.lines()[0]}")]) from None
    try:
        result = size_for_stack(config, region=request.region)
    except SizingError as error:
        option = "--p99" if "SLO" in str(error) else "--gpu" if "GiB" in str(error) else "--model"
        raise RequestError([OptionProblem(option, str(error))]) from None
    command = size_command_line(result.inputs)
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


def render_stack(request: StackRequest) -> tuple[str, ScaffoldPlan]:
    """The stack file's text and the plan behind it; raises RequestError when it cannot be written as asked."""
    plan = plan_stack(request)
    text = (
        _environment()
        .get_template("stack.yaml.j2")
        .render(
            _context(
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
        written, _ = _parse(text, request.name)
    except ConfigError as error:  # the decisions above keep every key valid; this guards the template itself
        raise RequestError([OptionProblem("NAME", f"the stack would not validate: {error.lines()[0]}")]) from None
    assert written.models[0].max_replicas == plan.max_replicas
    return text, plan


def size_for_written_stack(text: str, name: str) -> SizingResult:
    """The planner's answer for a stack file's text, as the policies compute it (used by tests and `new`)."""
    config, region = _parse(text, name)
    return size_for_stack(config, region=region)


# --- the Pulumi project around the stacks --------------------------------------------------------------------


def project_files(project_dir: Path, stacks_dir: Path) -> dict[Path, str]:
    """Pulumi.yaml, the program's entry point and the policy pack, for a directory that has no Pulumi project.

    The project runs the llmscale that wrote it: the Python environment it is installed in becomes the
    project's virtualenv (or `.venv` with a requirements file when llmscale runs outside one).
    """
    in_venv = sys.prefix != sys.base_prefix
    virtualenv = sys.prefix if in_venv else ".venv"
    try:
        stacks = stacks_dir.resolve().relative_to(project_dir.resolve()).as_posix()
    except ValueError:
        stacks = str(stacks_dir.resolve())
    values = {
        "version": __version__,
        "virtualenv": virtualenv,
        "in_venv": in_venv,
        "stacks_dir": stacks,
    }
    environment = _environment()
    files = {
        project_dir / PROJECT_FILE: environment.get_template("Pulumi.yaml.j2").render(values),
        project_dir / "__main__.py": environment.get_template("__main__.py.j2").render(values),
        project_dir / "policies" / "PulumiPolicy.yaml": environment.get_template("PulumiPolicy.yaml.j2").render(
            {**values, "virtualenv": virtualenv if in_venv else "../.venv"}
        ),
        project_dir / "policies" / "__main__.py": environment.get_template("policy_pack.py.j2").render(values),
    }
    if not in_venv:
        files[project_dir / "requirements.txt"] = environment.get_template("requirements.txt.j2").render(values)
    return files


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
