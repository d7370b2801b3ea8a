"""What `llmscale new` is asked for, and every check of the answers before anything is sized.

A `StackRequest` holds the answers; `answer_problem` checks one answer on its own (so a prompt can ask again
at once), `request_problems` checks them together, naming the option that carries each problem
(`OptionProblem`). `llmscale.config.scaffold` sizes and renders a request that passes.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmscale.aws.dns import endpoint_kind, validate_record_name
from llmscale.config.checks import PLATFORMS_BY_TIER
from llmscale.config.models import DOMAIN, ENDPOINT, ZONE_ID, Platform, Quantization, Tier
from llmscale.config.presets import PRESETS
from llmscale.config.regions import region_problem
from llmscale.sizing import catalog
from llmscale.sizing.measurements import CalibrationPoint
from llmscale.sizing.model_size import parameters_billions

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
    # `vllm bench serve` results (`llmscale loadtest`) the stack is sized from instead of the built-in figures.
    calibration: tuple[CalibrationPoint, ...] = ()
    calibration_file: str | None = None  # as given on the command line, for the `llmscale size` command shown
    # The same results as the stack's `sizing.calibration` names them, relative to its project directory.
    calibration_key: str | None = None
    # The Pulumi project the stack is written into: relative paths in the stack are read from it.
    project_dir: Path | None = None


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
