"""The typed stack configuration: one pydantic model per `llmscale:` key of a stack file.

Field aliases are the camelCase keys users write in `stacks/Pulumi.<stack>.yaml`; unknown keys are rejected
everywhere so a typo never silently falls back to a default.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from llmscale import versions
from llmscale.config.adapters import AdapterConfig
from llmscale.config.credentials import extra_args_problem
from llmscale.config.regions import region_problem
from llmscale.sizing import catalog

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
NO_SPACE = r"^\S+$"
IMAGE_REF = r"^[^\s:@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
CLI_ARG = r"^--[a-z0-9][a-z0-9-]*(=.*)?$|^[^-].*$"
INSTANCE_TYPE = r"^[a-z0-9]+\.[a-z0-9-]+$"
HEADER_NAME = r"^[A-Za-z0-9-]+$"
DOMAIN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ZONE_ID = r"^Z[A-Z0-9]{5,31}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"
AZ_NAME = r"^[a-z]{2}-[a-z]+-\d[a-z]$"
ENVIRONMENT = r"^(production|staging|development)$"
MODEL_ID = r"^[^-\s]\S*$"
K8S_VERSION = r"^1\.\d{2}$"
AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
ENDPOINT = r"^(([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|\d{1,3}(\.\d{1,3}){3})$"
IAM_PRINCIPAL_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
ABS_PATH = r"^/[^\s]*$"
LABEL_KEY = r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
HTTP_URL = r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$"
RUNBOOK_URL = r"^https?://[^\s/#]+(/[^\s#]*)?$"
SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$"

PATTERN_HINTS: dict[str, str] = {
    DNS_LABEL: "must be a lowercase DNS label: a-z, 0-9 and '-', starting with a letter, at most 32 characters",
    NO_SPACE: "must be a non-empty value without spaces",
    AWS_REGION: "must be an AWS region such as eu-central-1",
    ENDPOINT: "must be a host name such as llm-standby.example.com or an IPv4 address",
    K8S_VERSION: "must be a Kubernetes minor version such as 1.35",
    IAM_PRINCIPAL_ARN: "must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admins",
    MODEL_ID: "must be a model id without spaces, not starting with '-' (a Hugging Face id such as org/model)",
    IMAGE_REF: "must be an image reference such as vllm/vllm-openai:v0.33.0",
    CLI_ARG: "must be a vLLM flag such as --enable-chunked-prefill or --flag=value",
    INSTANCE_TYPE: "must be an EC2 instance type such as g6e.xlarge (or FAMILY.SIZE for your own nodes)",
    HEADER_NAME: "must be an HTTP header name such as x-session-id",
    DOMAIN: "must be a lowercase DNS name such as llm.example.com",
    ZONE_ID: "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
    EMAIL: "must be an email address",
    SUBNET_ID: "must be a subnet id such as subnet-0123456789abcdef0",
    AZ_NAME: "must be an availability zone name such as eu-west-1a",
    ENVIRONMENT: "must be production, staging or development",
    DNS_SUBDOMAIN: "must be a lowercase DNS name (a-z, 0-9, '-' and '.')",
    ABS_PATH: "must be an absolute path such as /var/lib/llmscale/models",
    LABEL_KEY: "must be a Kubernetes label key such as nvidia.com/gpu",
    HTTP_URL: "must be an http(s) URL such as http://prometheus.monitoring.svc:9090",
    RUNBOOK_URL: "must be an absolute http(s) URL without a #fragment, such as https://wiki.example.com/llm-runbook "
    "(each alert links to it with # and its name in lower case)",
    SNS_TOPIC_ARN: "must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:llm-alarms",
}
# Where the project lives (pyproject.toml [project.urls] Repository; a test keeps the two equal), and the runbook
# alerts link to by default: docs/runbook.md there, one section per alert.
REPOSITORY_URL = "https://github.com/llmscale/llmscale"
DEFAULT_RUNBOOK_URL = f"{REPOSITORY_URL}/blob/main/docs/runbook.md"
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigModel(BaseModel):
    """Base of every config model: camelCase keys, unknown keys rejected, values immutable once parsed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class Tier(StrEnum):
    """The deployment tier: decides the presets and which components are built."""

    SINGLE_GPU = "single-gpu"
    MULTI_GPU = "multi-gpu"
    ENTERPRISE = "enterprise"


class Platform(StrEnum):
    """Where the tier runs: AWS (llmscale builds everything), an existing Kubernetes cluster, or an existing host."""

    AWS = "aws"
    KUBERNETES = "kubernetes"
    HOST = "host"


def scope(*, tiers: tuple[Tier, ...] = (), platforms: tuple[Platform, ...] = ()) -> dict[str, Any]:
    """Where a key is used, as a field's `json_schema_extra`: the configuration reference (docs/configuration.md)
    prints it. It documents and does not validate; the cross-key checks (`llmscale.config.checks`) do that.
    """
    return {
        **({"tiers": [str(tier) for tier in tiers]} if tiers else {}),
        **({"platforms": [str(platform) for platform in platforms]} if platforms else {}),
    }


CLUSTER_TIERS = (Tier.MULTI_GPU, Tier.ENTERPRISE)


class Lane(StrEnum):
    """Traffic lane of a model profile: interactive traffic is scheduled above batch traffic."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


class RoutingStrategy(StrEnum):
    """How the gateway spreads requests over the replicas of a profile."""

    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"
    STICKY = "sticky"
    CACHE_AWARE = "cache-aware"


class Quantization(StrEnum):
    """Weight quantization schemes passed to vLLM's `--quantization`."""

    AWQ = "awq"
    GPTQ = "gptq"
    FP8 = "fp8"
    BITSANDBYTES = "bitsandbytes"
    COMPRESSED_TENSORS = "compressed-tensors"


PositiveInt = Annotated[int, Field(ge=1)]


def _pinned(image: str | None) -> str | None:
    if image is None:
        return image
    tag = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
        raise ValueError("must be pinned to a version tag or digest (for example vllm/vllm-openai:v0.33.0)")
    return image


class CanaryConfig(ConfigModel):
    """A second version of a profile that takes a share of its traffic (a new image or model)."""

    image: Annotated[
        str | None,
        Field(
            pattern=IMAGE_REF,
            description="The canary's vLLM image, pinned to a version tag or digest; none: the profile's image. "
            "A canary sets image, model or both.",
        ),
    ] = None
    model: Annotated[
        str | None,
        Field(
            min_length=1,
            pattern=MODEL_ID,
            description="The model the canary serves (written as the profile's `model`); none: the profile's model.",
        ),
    ] = None
    weight: Annotated[
        int,
        Field(
            ge=1,
            le=50,
            description="Percent of the profile's requests routed to the canary (a weighted backend of the profile's "
            "route); the rest go to the stable replicas.",
        ),
    ] = 10
    replicas: Annotated[
        int,
        Field(
            ge=1,
            le=10,
            description="Replicas of the canary, on top of the profile's own; they count in the GPU maximum, the "
            "node pool bounds and the monthly cost.",
        ),
    ] = 1

    _image_is_pinned = field_validator("image")(_pinned)

    @model_validator(mode="after")
    def _changes_something(self) -> CanaryConfig:
        if self.image is None and self.model is None:
            raise ValueError("image: a canary needs a new image or model (set image or model)")
        return self


class ModelProfile(ConfigModel):
    """One served model: the unit that gets its own vLLM server, scaling, route and alerts."""

    name: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The profile's name: the model name clients send, the path prefix of its route "
            "(`/<name>/v1`), and the name of its Deployment, Service, autoscaler and alerts (`model_name` label).",
        ),
    ]
    model: Annotated[
        str,
        Field(
            min_length=1,
            pattern=MODEL_ID,
            description="What vLLM serves: a Hugging Face id (`org/name`), an `s3://bucket/prefix/` URI, or "
            "`store://org/name/` for a path in the stack's own model store (multi-gpu and enterprise on platform "
            "aws; each region reads its own replica). The capacity planner reads the size from the name (`8B`).",
        ),
    ]
    lane: Lane = Field(
        default=Lane.INTERACTIVE,
        description="Traffic lane: interactive replicas get a higher priority class than batch replicas, so under "
        "GPU pressure the scheduler keeps interactive traffic served; the planner sizes the interactive profiles.",
    )
    gpus_per_replica: Annotated[
        int,
        Field(
            ge=1,
            le=8,
            description="GPUs of one vLLM replica (its tensor-parallel size); a replica stays on one node, so it "
            "must fit the node's GPUs.",
        ),
    ] = 1
    min_replicas: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Replicas kept during active hours (the autoscaler's cron floor); outside them the floor is "
            "`schedule.offHoursMinReplicas`.",
        ),
    ] = 1
    max_replicas: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Replicas the autoscaler may add at peak; with the GPUs per replica it bounds the GPU node "
            "pool and the monthly cost. At least minReplicas; 1 on the single-gpu tier.",
        ),
    ] = 1
    max_model_len: Annotated[
        int,
        Field(
            ge=256,
            le=1_048_576,
            description="Longest context, in tokens (prompt plus answer), vLLM accepts (`--max-model-len`); at "
            "least `load.promptTokens + load.outputTokens`. Longer contexts take KV-cache memory.",
        ),
    ] = 8192
    max_num_seqs: Annotated[
        int,
        Field(
            ge=1,
            le=4096,
            description="Requests one replica runs at once (vLLM's `--max-num-seqs`, its batch limit); more "
            "throughput, slower streams.",
        ),
    ] = 64
    max_num_queued_reqs: Annotated[
        int | None,
        Field(
            ge=1,
            le=100_000,
            description="Requests one replica admits in flight, running plus waiting, before it answers HTTP 503 "
            "(vLLM's `--max-num-queued-reqs`): backpressure instead of an unbounded queue. None: 3 × maxNumSeqs.",
        ),
    ] = None
    gpu_memory_utilization: Annotated[
        float,
        Field(
            gt=0.1,
            le=0.98,
            description="Fraction of each GPU's memory vLLM may use for weights and KV cache "
            "(`--gpu-memory-utilization`); the rest is left for the CUDA context and other processes.",
        ),
    ] = 0.90
    quantization: Quantization | None = Field(
        default=None,
        description="The quantization of the model's weights, passed to vLLM's `--quantization`; none: as the "
        "checkpoint says (BF16/FP16 for the planner).",
    )
    image: Annotated[
        str | None,
        Field(
            pattern=IMAGE_REF,
            description="The vLLM image, pinned to a version tag or digest (`latest` is refused); none: the image "
            "llmscale pins in llmscale/versions.py, whose metric names the alerts and dashboards use.",
        ),
    ] = None
    extra_args: list[Annotated[str, Field(pattern=CLI_ARG)]] = Field(
        default=[],
        description="Further vLLM flags, after the ones llmscale sets from the profile's keys (those may not be "
        "repeated here). Credentials are refused: use the secret settings.",
    )
    queue_depth_target: Annotated[
        int,
        Field(
            ge=1,
            le=1000,
            description="Requests waiting per replica that the autoscaler aims for (KEDA's Prometheus trigger on "
            "`vllm:num_requests_waiting`): above it, replicas are added.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 5
    request_timeout_seconds: Annotated[
        int,
        Field(
            ge=30,
            le=7200,
            description="Longest request, in seconds, the gateway lets run (Envoy's 15 s default would cut long "
            "generations off); also how long a stopping vLLM drains requests in flight (`--shutdown-timeout`).",
        ),
    ] = 600
    cpu: Annotated[
        float | None,
        Field(
            gt=0,
            le=256,
            description="CPU cores requested per replica (no CPU limit: throttling costs latency); none: the "
            "replica's share of the GPU node's vCPUs, less room for the node's daemons.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    memory_gi: Annotated[
        int | None,
        Field(
            ge=4,
            le=4096,
            description="Memory per replica in GiB, requested and limit; none: the replica's share of the GPU "
            "node's memory, less room for the node's daemons.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    canary: CanaryConfig | None = Field(
        default=None,
        description="A canary: a new image or model that takes a share of the profile's traffic; none by default.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    adapters: list[AdapterConfig] = Field(
        default=[],
        description="LoRA adapters served by the profile's replicas beside the base model (llmscale/config/"
        "adapters.py); a client selects one by its name in the OpenAI `model` field. None by default.",
    )

    _image_is_pinned = field_validator("image")(_pinned)

    @field_validator("extra_args")
    @classmethod
    def _no_credentials(cls, args: list[str]) -> list[str]:
        """Credentials never ride on the vLLM command line: it shows in plan output, manifests and user data."""
        problem = extra_args_problem(args)
        if problem is not None:
            raise ValueError(problem)
        return args

    @model_validator(mode="after")
    def _replica_bounds(self) -> ModelProfile:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"maxReplicas: must be >= minReplicas ({self.min_replicas}), got {self.max_replicas}")
        if self.max_num_queued_reqs is not None and self.max_num_queued_reqs < self.max_num_seqs:
            raise ValueError(
                f"maxNumQueuedReqs: counts running and waiting requests, so it must be >= maxNumSeqs "
                f"({self.max_num_seqs})"
            )
        return self

    @property
    def queue_limit(self) -> int:
        """Requests vLLM admits in flight (running or waiting) before answering 503.

        As stated, or the running batch plus a queue twice its size: enough to keep the GPU busy, short
        enough that a client retrying elsewhere beats waiting here.
        """
        return self.max_num_queued_reqs if self.max_num_queued_reqs is not None else 3 * self.max_num_seqs


class GpuConfig(ConfigModel):
    """The GPU machines: instance type, GPUs per node when the type is not catalogued, and disk."""

    instance_type: Annotated[
        str,
        Field(
            pattern=INSTANCE_TYPE,
            description="The GPU machine: an EC2 instance type on platform aws (the single host, or the GPU node "
            "groups), or your own node type's name on an existing cluster or server (then give gpusPerNode).",
        ),
    ] = "g6e.xlarge"
    gpus_per_node: Annotated[
        int | None,
        Field(
            ge=1,
            le=16,
            description="GPUs on one machine of instanceType; needed only for a type llmscale's catalogue does not "
            "know, and overrides the catalogue otherwise.",
        ),
    ] = None
    disk_gb: Annotated[
        int | None,
        Field(
            ge=50,
            le=16_384,
            description="Root disk of a GPU machine in GB (encrypted gp3; on EKS unless eks.gpuDiskGb says "
            "otherwise); none: sized for the model, the AMI and the images plus two copies of the weights, at "
            "least 150.",
        ),
    ] = None
    # None: the on-demand price of instanceType in the stack's region, from llmscale.sizing.prices.
    price_per_gpu_hour: Annotated[
        float | None,
        Field(
            ge=0,
            description="Your price of one GPU for one hour, in USD, for the monthly cost figures; none: the "
            "on-demand price of instanceType split over its GPUs (llmscale/sizing/prices.py; us-east-1's rate where no "
            "regional figure is known).",
        ),
    ] = None

    @model_validator(mode="after")
    def _known_or_stated(self) -> GpuConfig:
        if self.gpus_per_node is None and catalog.lookup(self.instance_type) is None:
            raise ValueError(
                "instanceType: is not in llmscale's catalogue; set gpusPerNode to the number of GPUs it has"
            )
        return self

    @property
    def gpus(self) -> int:
        """GPUs on one node of this type."""
        if self.gpus_per_node is not None:
            return self.gpus_per_node
        known = catalog.lookup(self.instance_type)
        assert known is not None  # guaranteed by _known_or_stated
        return known.gpus


class SloConfig(ConfigModel):
    """The service level the stack promises; alerts, dashboards and policies are derived from it."""

    p99_latency_seconds: Annotated[
        float,
        Field(
            gt=0,
            le=600,
            description="The 99th percentile of end-to-end request latency, in seconds, the stack promises: the "
            "capacity planner sizes for it and the LlmscaleLatencyP99OverSlo alert fires above it. Put it on one "
            "of vLLM's histogram bucket boundaries (1, 2.5, 5, 10, 15, 20, 30 s …).",
        ),
    ] = 2.0
    ttft_p95_seconds: Annotated[
        float | None,
        Field(
            gt=0,
            le=120,
            description="The 95th percentile of time to first token, in seconds: the planner sizes for it and the "
            "dashboard draws it as a line; none: no TTFT target.",
        ),
    ] = None
    availability: Annotated[
        float,
        Field(
            gt=0.5,
            lt=1,
            description="Share of requests that succeed, as a fraction (0.999, not 99.9): the error budget the "
            "burn-rate alerts (LlmscaleErrorBudgetBurnFast/Slow) watch.",
        ),
    ] = 0.995
    max_error_rate: Annotated[
        float,
        Field(
            gt=0,
            lt=1,
            description="Share of failed, aborted or rejected (HTTP 503) requests, as a fraction, above which "
            "LlmscaleErrorRateHigh fires.",
        ),
    ] = 0.001

    @field_validator("availability", "max_error_rate", mode="before")
    @classmethod
    def _fraction_not_percent(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
            raise ValueError(f"is a fraction: write {value / 100:g} for {value:g} %")
        return value


class LoadConfig(ConfigModel):
    """The load the stack is sized for at its daily peak."""

    peak_concurrent_users: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Users active at the daily peak, each sending a request, reading the answer and thinking: "
            "what the capacity planner and the gpu-headroom policy size the GPUs for.",
        ),
    ] = 25
    prompt_tokens: Annotated[
        int,
        Field(ge=1, le=1_000_000, description="Prompt tokens per request (context included) at the peak."),
    ] = 1000
    output_tokens: Annotated[
        int,
        Field(
            ge=1,
            le=100_000,
            description="Tokens per answer: give the long answers (p90–p99), not the mean, since the p99 "
            "latency is set by them.",
        ),
    ] = 250
    think_time_seconds: Annotated[
        float,
        Field(
            ge=0,
            le=3600,
            description="Seconds a user reads and types between getting an answer and sending the next request.",
        ),
    ] = 10.0


class ScheduleConfig(ConfigModel):
    """Active hours: outside them GPU capacity falls to the off-hours minimum (the night schedule)."""

    enabled: bool = Field(
        default=True,
        description="Scale down outside active hours: the single host on AWS is stopped and started by EventBridge "
        "Scheduler; on Kubernetes each profile falls to offHoursMinReplicas and idle GPU nodes go. false: "
        "capacity stays up around the clock.",
    )
    timezone: str = Field(
        default="UTC",
        description="The IANA time zone the start and end times are in (Europe/Berlin); daylight saving is followed.",
    )
    days: list[str] = Field(
        default=["mon", "tue", "wed", "thu", "fri"],
        description="The days the active window starts on: `mon` … `sun`, each at most once.",
    )
    start: str = Field(default="08:00", description="Start of the active window, 24-hour `HH:MM`.")
    end: str = Field(
        default="19:00",
        description="End of the active window, 24-hour `HH:MM`; earlier than start means the window ends the next day.",
    )
    off_hours_min_replicas: Annotated[
        int,
        Field(
            ge=0,
            le=100,
            description="Replicas each profile keeps outside active hours (capped at its minReplicas); 0 lets its "
            "GPU nodes go at night.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 0
    warm_up_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=240,
            description="Minutes before the active window that capacity starts (the host's start, the cron floor "
            "on an existing cluster), so models are loaded when users arrive. On the EKS cluster llmscale builds, "
            "GPU nodes must start first: eks.scaleUpLeadMinutes applies there instead.",
        ),
    ] = 15

    # Set only by `llmscale.serving.schedules.with_lead_time`: the days the window ends on, kept from before it opened
    # early (a window stretched to a day or more can no longer tell them from its start and end).
    _end_days: tuple[str, ...] | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/Berlin") from None
        return timezone

    @field_validator("days")
    @classmethod
    def _known_days(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError("must name at least one day (mon..sun)")
        lowered = [day.lower() for day in days]
        unknown = [str(index) for index, day in enumerate(lowered) if day not in DAYS]
        if unknown:
            raise ValueError(f"entry {', '.join(unknown)} is not a day; use mon, tue, wed, thu, fri, sat, sun")
        if len(set(lowered)) != len(lowered):
            raise ValueError("names a day twice")
        return sorted(lowered, key=DAYS.index)

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("must be a 24-hour time HH:MM, for example 08:00")
        return value

    @model_validator(mode="after")
    def _non_empty_window(self) -> ScheduleConfig:
        if self.start == self.end:
            raise ValueError(f"end: equals start ({self.start}), so the active window would be empty")
        return self

    @property
    def crosses_midnight(self) -> bool:
        """True when the active window ends on the next day (e.g. 20:00–06:00)."""
        return self.end < self.start


class RoutingConfig(ConfigModel):
    """How the gateway balances requests over replicas."""

    strategy: RoutingStrategy = Field(
        default=RoutingStrategy.LEAST_LOADED,
        description="How the gateway picks a replica: `round-robin`, `least-loaded` (fewest requests in flight) "
        "or `sticky` (a consistent hash of sessionHeader, so a session's requests reuse one replica's prefix "
        "cache), or `cache-aware` (an endpoint picker scores each replica's queue, KV-cache use and cached prompt "
        "prefixes; Kubernetes tiers only, see docs/routing.md).",
    )
    session_header: Annotated[
        str,
        Field(pattern=HEADER_NAME, description="The request header that names a session, for strategy `sticky`."),
    ] = "x-session-id"
    endpoint_picker_replicas: Annotated[
        int | None,
        Field(
            ge=1,
            le=5,
            description="Replicas of each profile's endpoint picker with strategy `cache-aware` (one leads, the "
            "others stand by). Default: 2 on enterprise, 1 otherwise.",
        ),
    ] = None

    def picker_replicas(self, tier: Tier) -> int:
        """The endpoint picker replicas of a profile: as stated, else two where the tier promises availability."""
        if self.endpoint_picker_replicas is not None:
            return self.endpoint_picker_replicas
        return 2 if tier is Tier.ENTERPRISE else 1


def _valid_cidrs(cidrs: list[str]) -> list[str]:
    bad = []
    for index, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            bad.append(str(index))
    if bad:
        raise ValueError(
            f"entry {', '.join(bad)} is not a network in CIDR notation (for example 203.0.113.0/24, host bits 0)"
        )
    return cidrs


def _vpc_network(cidr: str, smallest_prefix: int, why: str) -> str:
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ValueError("must be an IPv4 network such as 10.60.0.0/16") from None
    if not 16 <= network.prefixlen <= smallest_prefix:
        raise ValueError(f"must be between /16 and /{smallest_prefix} ({why})")
    return cidr


class TlsMode(StrEnum):
    """Certificates for the single host: a public ACME certificate or Caddy's internal CA."""

    ACME = "acme"
    INTERNAL = "internal"


class HostConfig(ConfigModel):
    """What the single-GPU host needs: who may reach it, its name, its network."""

    allowed_cidrs: list[str] = Field(
        default=[],
        description="Networks (CIDR) allowed to reach HTTPS (443) on the host; nothing else is open (no SSH: use SSM "
        "Session Manager). Required on platform aws; `tls: acme` needs 0.0.0.0/0 for the ACME validators.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    domain: Annotated[
        str | None,
        Field(
            pattern=DOMAIN,
            description="The host's DNS name: the name Caddy serves and, with hostedZoneId, the A record llmscale "
            "writes; none: clients use the address and Caddy's internal certificate.",
        ),
    ] = None
    hosted_zone_id: Annotated[
        str | None,
        Field(
            pattern=ZONE_ID,
            description="The Route 53 hosted zone of domain, where llmscale writes the host's A record (checked by "
            "`llmscale preflight`); none: you point the name at the Elastic IP yourself.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    tls: TlsMode = Field(
        default=TlsMode.INTERNAL,
        description="The certificate Caddy serves: `internal` (Caddy's own CA; clients must trust it or skip "
        "verification) or `acme` (a public certificate for domain, which needs port 443 open to the internet).",
    )
    acme_email: Annotated[
        str | None,
        Field(
            pattern=EMAIL,
            description="The contact address Caddy gives the ACME certificate authority (expiry notices); optional.",
        ),
    ] = None
    vpc_cidr: str = Field(
        default="10.42.0.0/16",
        description="The address range of the VPC llmscale builds for the host (a /16 to /24; the host's subnet is "
        "its first /24). Unused with subnetId.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    subnet_id: Annotated[
        str | None,
        Field(
            pattern=SUBNET_ID,
            description="An existing public subnet (routed to an internet gateway: the host's Elastic IP answers "
            "there) to put the host in, instead of a VPC of its own; its zone must offer gpu.instanceType.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    availability_zone: Annotated[
        str | None,
        Field(
            pattern=AZ_NAME,
            description="The zone of the host's subnet; none: the first zone (by name) of the region that offers "
            "gpu.instanceType, looked up at deploy time. Unused with subnetId.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    recover_on_failure: bool = Field(
        default=True,
        description="CloudWatch alarms that reboot the instance on a failed instance status check and move it to "
        "healthy hardware (stop and start) on a failed system check.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    alarm_topic_arn: Annotated[
        str | None,
        Field(
            pattern=SNS_TOPIC_ARN,
            description=(
                "SNS topic, in the stack's region, that the instance's recovery alarms notify when they fire "
                "and when they clear (subscribe email, AWS Chatbot or PagerDuty to it); none by default"
            ),
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None

    _allowed_cidrs = field_validator("allowed_cidrs")(_valid_cidrs)

    _vpc_cidr = field_validator("vpc_cidr")(
        lambda cidr: _vpc_network(cidr, 24, "an AWS VPC limit with room for a /26 subnet")
    )

    @model_validator(mode="after")
    def _tls_needs_public_name(self) -> HostConfig:
        if self.tls is TlsMode.ACME:
            if self.domain is None:
                raise ValueError("domain: tls acme needs a domain; set host.domain or use tls: internal")
            if "0.0.0.0/0" not in self.allowed_cidrs:
                raise ValueError(
                    "allowedCidrs: tls acme needs port 443 reachable by the ACME validators; add "
                    "0.0.0.0/0 or use tls: internal"
                )
        if self.hosted_zone_id is not None and self.domain is None:
            raise ValueError("domain: hostedZoneId is set, so a domain is needed for the DNS record")
        return self


class ModelCacheType(StrEnum):
    """Where vLLM keeps downloaded weights on Kubernetes."""

    EMPTY_DIR = "emptyDir"
    HOST_PATH = "hostPath"
    PVC = "pvc"


class ModelCacheConfig(ConfigModel):
    """The model cache of vLLM pods: per pod (emptyDir), per node (hostPath) or shared (a ReadWriteMany claim)."""

    type: ModelCacheType = Field(
        default=ModelCacheType.EMPTY_DIR,
        description="Where downloaded weights live: `emptyDir` (per pod, gone with it), `hostPath` (per node, kept "
        "across restarts; the namespace then enforces the privileged Pod Security level) or `pvc` (one "
        "ReadWriteMany claim shared by every replica).",
    )
    size_gb: Annotated[
        int,
        Field(
            ge=10,
            le=65_536,
            description="Size of the cache in GiB: the emptyDir's size limit, or the claim's request for `pvc`.",
        ),
    ] = 200
    storage_class: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="The StorageClass of the `pvc` claim; it must give ReadWriteMany volumes (EFS on AWS, where "
            "it is required); none: the cluster's default class.",
        ),
    ] = None
    host_path: Annotated[
        str,
        Field(pattern=ABS_PATH, description="The node directory of the `hostPath` cache, handed to vLLM's user."),
    ] = "/var/lib/llmscale/models"
    stream_weights: bool = Field(
        default=False,
        description="Stream `store://` and `s3://` weights from S3 into GPU memory with the Run:ai model streamer "
        "(`--load-format runai_streamer`) instead of copying them into this cache first (an init container, "
        "`aws s3 sync`). Off by default: that the pinned vLLM image ships `runai-model-streamer[s3]` is not "
        "verified at its tag (docs/model-loading.md).",
    )


class AddonsConfig(ConfigModel):
    """Cluster add-ons llmscale installs; turn one off when the cluster already runs it."""

    nvidia_device_plugin: bool = Field(
        default=True,
        description="Install NVIDIA's device plugin, which advertises `nvidia.com/gpu` on GPU nodes (the GPU "
        "Operator and Bottlerocket bring their own).",
    )
    keda: bool = Field(default=True, description="Install KEDA, which scales each profile on its queue depth.")
    envoy_gateway: bool = Field(
        default=True,
        description="Install Envoy Gateway, the controller of the inference gateway (Gateway API).",
    )
    ai_gateway: bool = Field(
        default=True,
        description="Install the Envoy AI Gateway when routing is `cache-aware`: it lets Envoy Gateway send a "
        "route to an InferencePool. Off when the cluster already runs it (v1.1.0 or later).",
    )


class KubernetesConfig(ConfigModel):
    """The cluster the serving layer runs on and how GPU nodes are recognised."""

    kubeconfig: Annotated[
        str | None,
        Field(
            min_length=1,
            description="Path to a kubeconfig file, or its contents, for the existing cluster; none: $KUBECONFIG or "
            "~/.kube/config, as kubectl.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    context: Annotated[
        str | None,
        Field(
            min_length=1,
            description="The kubeconfig context of the cluster; none: the current context. `llmscale render`'s "
            "addons.sh refuses any other context.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    namespace: Annotated[
        str,
        Field(pattern=DNS_LABEL, description="The namespace llmscale puts every serving object in (never default)."),
    ] = "llmscale"
    addons: AddonsConfig = Field(
        default=AddonsConfig(),
        description="Cluster add-ons llmscale installs as pinned Helm releases; turn off those the cluster runs.",
    )
    gpu_node_selector: dict[str, str] = Field(
        default={"nvidia.com/gpu.present": "true"},
        description="Node labels that mark GPU nodes: vLLM, the device plugin and dcgm-exporter run only there "
        "(the default label is one NVIDIA's device plugin chart selects on; llmscale puts it on the EKS GPU nodes).",
    )
    gpu_taint_key: Annotated[
        str,
        Field(
            pattern=LABEL_KEY,
            description="Key of the NoSchedule taint on GPU nodes, which vLLM and the GPU daemons tolerate, so "
            "that nothing else lands on a GPU.",
        ),
    ] = "nvidia.com/gpu"
    model_cache: ModelCacheConfig = Field(
        default=ModelCacheConfig(), description="Where vLLM keeps downloaded model weights."
    )
    prometheus_url: Annotated[
        str,
        Field(
            pattern=HTTP_URL,
            description="The Prometheus KEDA asks for the queue depth of each profile; the default is the one "
            "kube-prometheus-stack installs (monitoring.installStack).",
        ),
    ] = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    gateway_namespace: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The namespace of Envoy Gateway and its proxies: the only one, with monitoring, allowed to "
            "reach vLLM.",
        ),
    ] = "envoy-gateway-system"
    monitoring_namespace: Annotated[
        str,
        Field(
            pattern=DNS_LABEL,
            description="The namespace of kube-prometheus-stack, dcgm-exporter and the dashboard; with the gateway's, "
            "the only one allowed to reach vLLM (to scrape it).",
        ),
    ] = "monitoring"
    topology_spread: bool = Field(
        default=False,
        description="Spread each profile's replicas evenly over zones (a hard constraint), so losing a zone "
        "leaves most of them; replicas always spread over nodes where they can.",
    )


class GatewayServiceType(StrEnum):
    """How the gateway's Envoy proxies are reached on an existing cluster (platform kubernetes)."""

    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    CLUSTER_IP = "ClusterIP"


class GatewayConfig(ConfigModel):
    """The inference gateway's public side: host name, TLS, data-plane replicas and per-key rate limits."""

    hostname: Annotated[
        str | None,
        Field(
            pattern=DOMAIN,
            description="The DNS name clients use. On platform aws with `hostedZoneId`, llmscale writes the record "
            "and gets a TLS certificate for it.",
        ),
    ] = None
    hosted_zone_id: Annotated[
        str | None,
        Field(
            pattern=ZONE_ID,
            description="The Route 53 hosted zone of `hostname`. The load balancer then serves HTTPS "
            "on 443 with a DNS-validated ACM certificate; without it the load balancer is internal to the VPC.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = None
    tls_secret_name: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="A kubernetes.io/tls Secret in the stack's namespace; model routes are "
            "then served on HTTPS (443) only.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    tls_terminated_upstream: bool = Field(
        default=False,
        description="TLS is terminated in front of the gateway (your own load balancer or "
        "ingress), so plain HTTP inside the cluster is intended.",
        json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
    )
    service_type: GatewayServiceType = Field(
        default=GatewayServiceType.LOAD_BALANCER,
        description="The type of the Envoy proxies' Service (ClusterIP when you bring your own "
        "ingress). On platform aws llmscale fronts the proxies with its own Network Load Balancer.",
        json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
    )
    replicas: Annotated[
        int,
        Field(ge=1, le=20, description="Envoy proxy replicas, spread over zones, with a disruption budget."),
    ] = 2
    rate_limit_requests_per_minute: Annotated[
        int | None,
        Field(
            ge=1,
            le=1_000_000,
            description="Requests per minute each API key may send to a profile, counted by each Envoy replica "
            "(a local limit); beyond it the gateway answers HTTP 429. None: no limit (the enterprise preset sets "
            "one).",
        ),
    ] = None
    max_parallel_requests: Annotated[
        int | None,
        Field(
            ge=1,
            le=1_000_000,
            description="Requests in flight the gateway lets through to one profile (Envoy's circuit breaker); "
            "beyond it, HTTP 503 at once. None: what the profile's replicas admit at their maximum (maxReplicas × "
            "the in-flight limit of a replica), so nothing queues unseen in Envoy.",
        ),
    ] = None


class AutoscalingConfig(ConfigModel):
    """How fast replicas follow the queue: slow down-scaling, because a cold start takes minutes."""

    polling_interval_seconds: Annotated[
        int,
        Field(ge=5, le=300, description="Seconds between KEDA's looks at each profile's queue depth."),
    ] = 15
    # Both windows are at most an hour: the API server rejects a longer one in the HPA KEDA creates
    # (kubernetes pkg/apis/autoscaling/validation/validation.go, MaxStabilizationWindowSeconds = 3600; the KEDA
    # v2.20 ScaledObject CRD says so in horizontalPodAutoscalerConfig.behavior but does not enforce it).
    scale_up_stabilization_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Seconds the autoscaler waits for a higher replica count to hold before adding replicas "
            "(the HPA's scale-up stabilization window); 0 adds them at once.",
        ),
    ] = 0
    # An hour by default. Queue-depth scaling has no steady state near saturation: the queue trigger asks for
    # replicas only once every seat is busy, the in-flight trigger for as few as can hold every request in one
    # full batch, so replicas go up on a queue, arrive after a cold start (node, image, weights: 7-8 minutes on
    # EKS) and, once they have emptied it, come down again towards the size that queues. `llmscale simulate`
    # (built-in day, seeds 0-4, means) with a 10-minute window: the enterprise example reverses 3-6 times an hour
    # (`scale-flapping`), new 300- and 600-user enterprise stacks 4-6. Holding the hour's highest recommendation
    # stretches the cycle beyond the hour: 1-2 reversals an hour on every seed (30 and 45 minutes still give 3-4
    # on some), for 3-10 % more GPU-hours (enterprise example 250 -> 266, 300 users 84.5 -> 92.5, 600 users 205 ->
    # 219, multi-gpu example 25.9 -> 26.8) and fewer SLO-violation minutes (enterprise example 409 -> 247).
    scale_down_stabilization_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Seconds a lower replica count must hold before replicas are removed (the HPA's scale-down "
            "stabilization window, at most an hour): long, because bringing a replica back takes minutes of node "
            "start and model loading, and a queue-driven autoscaler otherwise adds and removes replicas in a "
            "cycle.",
        ),
    ] = 3600
    cooldown_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=7200,
            description="Seconds after the last active trigger before KEDA scales a profile whose floor is zero "
            "down to zero (KEDA's cooldownPeriod).",
        ),
    ] = 300


class MonitoringConfig(ConfigModel):
    """Metrics, alerts and dashboards: what to install, how long to keep data, where the runbook lives."""

    install_stack: bool = Field(
        default=True,
        description="Install kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager, Grafana, "
        "kube-state-metrics); false when the cluster runs its own, which must then pick up llmscale's "
        "PrometheusRule, PodMonitors and dashboard ConfigMap.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    install_dcgm_exporter: bool = Field(
        default=True,
        description="Install dcgm-exporter, whose GPU metrics the GPU alerts and dashboard panels read; false when "
        "the cluster runs it already.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    retention_days: Annotated[
        int,
        Field(ge=1, le=3650, description="Days Prometheus keeps metrics (on the single host and on Kubernetes)."),
    ] = 15
    storage_gb: Annotated[
        int,
        Field(
            ge=5,
            le=65_536,
            description="Size of Prometheus's volume in GiB.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = 50
    storage_class: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="The StorageClass of Prometheus's volume; none: on platform aws the encrypted gp3 class "
            "llmscale creates (EKS has no default class), elsewhere the cluster's default.",
            json_schema_extra=scope(tiers=CLUSTER_TIERS),
        ),
    ] = None
    runbook_url: Annotated[
        str,
        Field(
            min_length=1,
            pattern=RUNBOOK_URL,
            description="The runbook page every alert links to (its `runbook_url` annotation, clickable from a "
            "pager), with the alert's section as anchor. The default is docs/runbook.md in llmscale's repository; "
            "point it at your own copy to add your team's steps.",
        ),
    ] = DEFAULT_RUNBOOK_URL


class GpuAmiType(StrEnum):
    """EKS-optimised NVIDIA AMIs for managed GPU node groups."""

    AL2023_NVIDIA = "AL2023_x86_64_NVIDIA"
    BOTTLEROCKET_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"


MIN_EKS_ZONES = 2


class EksConfig(ConfigModel):
    """The EKS cluster llmscale builds on platform aws for the multi-gpu and enterprise tiers."""

    kubernetes_version: Annotated[
        str,
        Field(
            pattern=K8S_VERSION,
            description="The cluster's Kubernetes minor version: one of those llmscale pins a cluster autoscaler "
            "for (llmscale.versions.EKS_RELEASES).",
        ),
    ] = versions.DEFAULT_KUBERNETES_VERSION
    zones: list[Annotated[str, Field(pattern=AZ_NAME)]] = Field(
        default=[],
        description="The availability zones of the cluster's subnets and GPU nodes, at least 2 (3 on enterprise); "
        "empty: the first zoneCount zones, by name, that offer gpu.instanceType, looked up at deploy time.",
    )
    zone_count: Annotated[
        int,
        Field(
            ge=1,
            le=6,
            description="How many zones to span when zones is empty: at least 2 (EKS needs subnets in two zones), "
            "at least 3 on enterprise, where each zone gets its own GPU node group and NAT gateway.",
        ),
    ] = 2
    vpc_cidr: str = Field(
        default="10.60.0.0/16",
        description="The address range of the cluster's VPC, a /16 to /20: each zone gets a public and a large "
        "private subnet (pods take VPC addresses).",
    )
    admin_principal_arns: list[Annotated[str, Field(pattern=IAM_PRINCIPAL_ARN)]] = Field(
        default=[],
        description="IAM roles or users made cluster admins through EKS access entries, besides the principal "
        "that runs `pulumi up`.",
    )
    endpoint_public_access: bool = Field(
        default=True,
        description="Serve the Kubernetes API on a public endpoint, reachable from publicAccessCidrs only. false: "
        "private endpoint only; `pulumi up` and kubectl must then run from a network that reaches the VPC "
        "(privateAccessCidrs, see docs/security.md).",
    )
    public_access_cidrs: list[str] = Field(
        default=[],
        description="IPv4 networks allowed to reach the public Kubernetes API endpoint: the CI runners that run "
        "`pulumi up` and the administrators' networks. Required while endpointPublicAccess is true.",
    )
    public_endpoint_open_to_internet: bool = Field(
        default=False,
        description="The stack intends its Kubernetes API to be reachable from the whole internet (0.0.0.0/0 in "
        "publicAccessCidrs); without it the eks-endpoint-access policy refuses such a stack.",
    )
    private_access_cidrs: list[str] = Field(
        default=[],
        description="IPv4 networks outside the VPC that reach the private endpoint through a VPN, Direct Connect "
        "or peering (for example a CI runner's VPC): allowed to port 443 of the cluster security group.",
    )
    system_instance_type: Annotated[
        str,
        Field(
            pattern=INSTANCE_TYPE,
            description="The EC2 type of the CPU node group that runs the add-ons (CoreDNS, KEDA, Envoy Gateway, "
            "Prometheus, the autoscaler), so they never take a GPU node.",
        ),
    ] = "m7i.large"
    system_nodes: Annotated[
        int,
        Field(ge=1, le=10, description="Nodes of the CPU system group (it may grow by 2 beyond them)."),
    ] = 2
    gpu_ami_type: GpuAmiType = Field(
        default=GpuAmiType.AL2023_NVIDIA,
        description="The EKS-optimised NVIDIA AMI of the GPU nodes: Amazon Linux 2023 or Bottlerocket (which "
        "brings its own device plugin).",
    )
    gpu_disk_gb: Annotated[
        int | None,
        Field(
            ge=50,
            le=16_384,
            description="Root disk of a GPU node in GB; none: gpu.diskGb, else sized for the largest profile's "
            "weights (images plus two copies).",
        ),
    ] = None
    headroom_nodes: Annotated[
        int,
        Field(
            ge=0,
            le=50,
            description="Spare GPU nodes the node groups may grow to beyond every profile at maxReplicas (N+2 on "
            "enterprise), for a failed node or a rollout's surge.",
        ),
    ] = 1
    scale_up_lead_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=240,
            description="Minutes before the active window that the autoscaler's cron floor opens, so GPU nodes "
            "start and models load before users arrive.",
        ),
    ] = 30

    _public_access_cidrs = field_validator("public_access_cidrs", "private_access_cidrs")(_valid_cidrs)

    _vpc_cidr = field_validator("vpc_cidr")(
        lambda cidr: _vpc_network(cidr, 20, "each zone needs a large private subnet for pods")
    )

    @model_validator(mode="after")
    def _zones_match(self) -> EksConfig:
        if self.zones and len(self.zones) != len(set(self.zones)):
            raise ValueError("zones: names a zone twice")
        # EKS refuses a cluster whose subnets are not in at least two availability zones (EKS User Guide,
        # "VPC and subnet requirements").
        if self.zones and len(self.zones) < MIN_EKS_ZONES:
            raise ValueError(f"zones: EKS needs subnets in at least {MIN_EKS_ZONES} availability zones; name more")
        if not self.zones and self.zone_count < MIN_EKS_ZONES:
            raise ValueError(f"zoneCount: EKS needs subnets in at least {MIN_EKS_ZONES} availability zones")
        return self

    @model_validator(mode="after")
    def _endpoint_access(self) -> EksConfig:
        # The cluster is IPv4: EKS answers on IPv4 for an IPv4 cluster (EKS API VpcConfigRequest,
        # "The endpoint domain name and IP address family depends on the value of the ipFamily"), and the
        # private endpoint's interfaces are in IPv4 subnets.
        for key, cidrs in (("publicAccessCidrs", self.public_access_cidrs),
                           ("privateAccessCidrs", self.private_access_cidrs)):  # fmt: skip
            ipv6 = [str(index) for index, cidr in enumerate(cidrs) if ipaddress.ip_network(cidr).version == 6]
            if ipv6:
                raise ValueError(
                    f"{key}: entry {', '.join(ipv6)} is IPv6; the cluster's API endpoint answers on IPv4 only"
                )
        if not self.endpoint_public_access and self.public_access_cidrs:
            raise ValueError("publicAccessCidrs: only used with endpointPublicAccess true; remove it")
        if self.public_endpoint_open_to_internet and not self.open_to_internet:
            raise ValueError("publicEndpointOpenToInternet: publicAccessCidrs has no 0.0.0.0/0; remove it")
        return self

    @property
    def open_to_internet(self) -> bool:
        """True when the public API endpoint accepts the whole internet."""
        return self.endpoint_public_access and any(
            ipaddress.ip_network(cidr).prefixlen == 0 for cidr in self.public_access_cidrs
        )

    @property
    def zone_total(self) -> int:
        """Zones the cluster spans: the listed ones, else `zoneCount`."""
        return len(self.zones) or self.zone_count


class FailoverConfig(ConfigModel):
    """DNS failover: the public name clients use, and the standby it fails over to.

    The standby is either built by this stack in `standbyRegion` (enterprise on aws: a warm copy with a smaller
    minimum), or an endpoint that exists elsewhere (`standbyEndpoint`: another stack's output, an on-prem
    facility), given as a host name or an IPv4 address. On platform kubernetes the primary's own public address
    is not built here either: `primaryEndpoint` names it (the address the cluster's gateway answers on).
    """

    hosted_zone_id: Annotated[
        str,
        Field(
            pattern=ZONE_ID,
            description="The public Route 53 hosted zone that holds recordName (a private zone would answer only "
            "inside its VPCs).",
        ),
    ]
    record_name: Annotated[
        str,
        Field(
            pattern=DOMAIN,
            description="The name clients use: PRIMARY and SECONDARY failover records, each behind a Route 53 health "
            "check on /health. On platform aws the load balancers' certificates are issued for it.",
        ),
    ]
    standby_region: str | None = Field(
        default=None,
        description="The AWS region where this stack builds a warm standby: the same cluster with "
        "standbyMinReplicas per profile and a replica of the model store. Give it or standbyEndpoint.",
        json_schema_extra=scope(platforms=(Platform.AWS,)),
    )
    standby_endpoint: Annotated[
        str | None,
        Field(
            pattern=ENDPOINT,
            description="A standby that exists elsewhere (another stack's load balancer, a facility), as a public "
            "host name or IPv4 address. Give it or standbyRegion.",
        ),
    ] = None
    primary_endpoint: Annotated[
        str | None,
        Field(
            pattern=ENDPOINT,
            description="The public host name or IPv4 address the existing cluster's gateway answers on, which the "
            "primary health check probes; required on platform kubernetes.",
            json_schema_extra=scope(platforms=(Platform.KUBERNETES,)),
        ),
    ] = None
    standby_min_replicas: Annotated[
        int,
        Field(
            ge=1,
            le=100,
            description="Replicas each profile keeps in the standby region (capped at its maxReplicas) while the "
            "primary serves; the autoscaler grows them after a failover.",
            json_schema_extra=scope(platforms=(Platform.AWS,)),
        ),
    ] = 1

    @field_validator("standby_region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        problem = None if region is None else region_problem(region)
        if problem:
            raise ValueError(problem)
        return region

    @model_validator(mode="after")
    def _one_standby(self) -> FailoverConfig:
        if (self.standby_region is None) == (self.standby_endpoint is None):
            raise ValueError("standbyRegion: give exactly one of standbyRegion (built here) or standbyEndpoint")
        return self


class StackConfig(ConfigModel):
    """The whole `llmscale:` namespace of one stack, after tier presets are applied."""

    tier: Tier = Field(
        description="`single-gpu` (one GPU host), `multi-gpu` (a Kubernetes GPU pool) or `enterprise` (multi-gpu "
        "over three zones with DNS failover to a standby): decides the presets and what gets built."
    )
    platform: Platform = Field(
        description="Where the tier runs: `aws` (llmscale builds the host or the EKS cluster), `kubernetes` (an "
        "existing cluster, multi-gpu and enterprise) or `host` (an existing server, single-gpu)."
    )
    models: Annotated[
        list[ModelProfile],
        Field(
            min_length=1,
            max_length=16,
            description="The model profiles: each gets its own vLLM server, scaling, route and alerts (one on the "
            "single-gpu tier). The tier preset fills in the replica and batch keys each profile leaves out.",
        ),
    ]
    gpu: GpuConfig = Field(default=GpuConfig(), description="The GPU machines and what they cost.")
    slo: SloConfig = Field(
        default=SloConfig(),
        description="The service level: sizing, alerts, dashboards and policies follow it. The slo-declared "
        "policy wants a multi-gpu or enterprise stack to state it.",
    )
    load: LoadConfig = Field(
        default=LoadConfig(),
        description="The peak load the GPUs are sized for (with slo, by the gpu-headroom policy and `llmscale new`).",
    )
    schedule: ScheduleConfig = Field(
        default=ScheduleConfig(), description="The night schedule: active hours, and capacity outside them."
    )
    routing: RoutingConfig = Field(
        default=RoutingConfig(),
        description="How the gateway balances requests over a profile's replicas.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    host: HostConfig = Field(
        default=HostConfig(),
        description="The single GPU host: who may reach it, its name and certificate, its network and recovery.",
        json_schema_extra=scope(tiers=(Tier.SINGLE_GPU,)),
    )
    kubernetes: KubernetesConfig = Field(
        default=KubernetesConfig(),
        description="The cluster the serving layer runs on (built by llmscale on platform aws, or existing).",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    gateway: GatewayConfig = Field(
        default=GatewayConfig(),
        description="The inference gateway (Envoy Gateway): public name, TLS, proxies and per-key limits.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    autoscaling: AutoscalingConfig = Field(
        default=AutoscalingConfig(),
        description="How fast replicas follow the queue (KEDA and the HPA it drives).",
        json_schema_extra=scope(tiers=CLUSTER_TIERS),
    )
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(),
        description="Metrics, alerts and dashboards: what to install, retention, and the runbook alerts link to.",
    )
    eks: EksConfig = Field(
        default=EksConfig(),
        description="The EKS cluster llmscale builds, with its VPC and node groups.",
        json_schema_extra=scope(tiers=CLUSTER_TIERS, platforms=(Platform.AWS,)),
    )
    failover: FailoverConfig | None = Field(
        default=None,
        description="DNS failover between the primary and a standby (required by the dns-failover policy on the "
        "enterprise tier); none: no failover.",
        json_schema_extra=scope(tiers=(Tier.ENTERPRISE,)),
    )
    environment: Annotated[
        str,
        Field(
            pattern=ENVIRONMENT,
            description="`production`, `staging` or `development`: the night-schedule policy asks every stack "
            "that is not production to scale its GPUs down at night.",
        ),
    ] = "production"
    api_keys: SecretStr | None = Field(
        default=None,
        description="Secret. The API keys clients send as `Authorization: Bearer <key>`: a JSON object "
        '`{"client": "key"}` (the client name shows in logs and usage metrics, never the key) or one key. Required '
        "except on platform host, whose keys are files on the server.",
    )
    hf_token: SecretStr | None = Field(
        default=None,
        description="Secret. The Hugging Face token vLLM downloads gated models with; checked before vLLM starts "
        "on the single host.",
    )
    grafana_admin_password: SecretStr | None = Field(
        default=None,
        description="Secret. Grafana's admin password; none: generated (on the host at first start, on Kubernetes "
        "by the chart).",
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None,
        description="Secret. The Slack incoming webhook Alertmanager sends warnings (and, without PagerDuty, "
        "critical alerts) to.",
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="Secret. The PagerDuty Events v2 routing key Alertmanager sends critical alerts to."
    )

    _declared: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def declared_keys(self) -> frozenset[str]:
        """The `llmscale:` keys the stack file states itself, before tier presets: what the stack declared."""
        return self._declared

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: list[ModelProfile]) -> list[ModelProfile]:
        names = [profile.name for profile in models]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"profile name(s) used twice: {', '.join(duplicates)}")
        return models
