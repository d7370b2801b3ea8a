"""The typed stack configuration: one pydantic model per `llmscale:` key of a stack file.

Field aliases are the camelCase keys users write in `stacks/Pulumi.<stack>.yaml`; unknown keys are rejected
everywhere so a typo never silently falls back to a default.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from enum import StrEnum
from typing import Annotated

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

from llmscale import catalog, versions
from llmscale.config.credentials import extra_args_problem
from llmscale.config.regions import region_problem

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
    SNS_TOPIC_ARN: "must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:llm-alarms",
}
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


class Lane(StrEnum):
    """Traffic lane of a model profile: interactive traffic is scheduled above batch traffic."""

    INTERACTIVE = "interactive"
    BATCH = "batch"


class RoutingStrategy(StrEnum):
    """How the gateway spreads requests over the replicas of a profile."""

    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"
    STICKY = "sticky"


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

    image: Annotated[str | None, Field(pattern=IMAGE_REF)] = None
    model: Annotated[str | None, Field(min_length=1, pattern=MODEL_ID)] = None
    weight: Annotated[int, Field(ge=1, le=50)] = 10
    replicas: Annotated[int, Field(ge=1, le=10)] = 1

    _image_is_pinned = field_validator("image")(_pinned)

    @model_validator(mode="after")
    def _changes_something(self) -> CanaryConfig:
        if self.image is None and self.model is None:
            raise ValueError("image: a canary needs a new image or model (set image or model)")
        return self


class ModelProfile(ConfigModel):
    """One served model: the unit that gets its own vLLM server, scaling, route and alerts."""

    name: Annotated[str, Field(pattern=DNS_LABEL)]
    model: Annotated[str, Field(min_length=1, pattern=MODEL_ID)]
    lane: Lane = Lane.INTERACTIVE
    gpus_per_replica: Annotated[int, Field(ge=1, le=8)] = 1
    min_replicas: Annotated[int, Field(ge=0, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 1
    max_model_len: Annotated[int, Field(ge=256, le=1_048_576)] = 8192
    max_num_seqs: Annotated[int, Field(ge=1, le=4096)] = 64
    max_num_queued_reqs: Annotated[int | None, Field(ge=1, le=100_000)] = None
    gpu_memory_utilization: Annotated[float, Field(gt=0.1, le=0.98)] = 0.90
    quantization: Quantization | None = None
    image: Annotated[str | None, Field(pattern=IMAGE_REF)] = None
    extra_args: list[Annotated[str, Field(pattern=CLI_ARG)]] = []
    queue_depth_target: Annotated[int, Field(ge=1, le=1000)] = 5
    request_timeout_seconds: Annotated[int, Field(ge=30, le=7200)] = 600
    cpu: Annotated[float | None, Field(gt=0, le=256)] = None
    memory_gi: Annotated[int | None, Field(ge=4, le=4096)] = None
    canary: CanaryConfig | None = None

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

    instance_type: Annotated[str, Field(pattern=INSTANCE_TYPE)] = "g6e.xlarge"
    gpus_per_node: Annotated[int | None, Field(ge=1, le=16)] = None
    disk_gb: Annotated[int | None, Field(ge=50, le=16_384)] = None
    # None: the on-demand price of instanceType in the stack's region, from llmscale.prices.
    price_per_gpu_hour: Annotated[float | None, Field(ge=0)] = None

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

    p99_latency_seconds: Annotated[float, Field(gt=0, le=600)] = 2.0
    ttft_p95_seconds: Annotated[float | None, Field(gt=0, le=120)] = None
    availability: Annotated[float, Field(gt=0.5, lt=1)] = 0.995
    max_error_rate: Annotated[float, Field(gt=0, lt=1)] = 0.001

    @field_validator("availability", "max_error_rate", mode="before")
    @classmethod
    def _fraction_not_percent(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 < value <= 100:
            raise ValueError(f"is a fraction: write {value / 100:g} for {value:g} %")
        return value


class LoadConfig(ConfigModel):
    """The load the stack is sized for at its daily peak."""

    peak_concurrent_users: Annotated[int, Field(ge=1, le=1_000_000)] = 25
    prompt_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    output_tokens: Annotated[int, Field(ge=1, le=100_000)] = 250
    think_time_seconds: Annotated[float, Field(ge=0, le=3600)] = 10.0


class ScheduleConfig(ConfigModel):
    """Active hours: outside them GPU capacity falls to the off-hours minimum (the night schedule)."""

    enabled: bool = True
    timezone: str = "UTC"
    days: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    start: str = "08:00"
    end: str = "19:00"
    off_hours_min_replicas: Annotated[int, Field(ge=0, le=100)] = 0

    # Set only by `llmscale.schedules.with_lead_time`: the days the window ends on, kept from before it opened
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

    strategy: RoutingStrategy = RoutingStrategy.LEAST_LOADED
    session_header: Annotated[str, Field(pattern=HEADER_NAME)] = "x-session-id"


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

    allowed_cidrs: list[str] = []
    domain: Annotated[str | None, Field(pattern=DOMAIN)] = None
    hosted_zone_id: Annotated[str | None, Field(pattern=ZONE_ID)] = None
    tls: TlsMode = TlsMode.INTERNAL
    acme_email: Annotated[str | None, Field(pattern=EMAIL)] = None
    vpc_cidr: str = "10.42.0.0/16"
    subnet_id: Annotated[str | None, Field(pattern=SUBNET_ID)] = None
    availability_zone: Annotated[str | None, Field(pattern=AZ_NAME)] = None
    recover_on_failure: bool = True
    alarm_topic_arn: Annotated[
        str | None,
        Field(
            pattern=SNS_TOPIC_ARN,
            description=(
                "SNS topic, in the stack's region, that the instance's recovery alarms notify when they fire "
                "and when they clear (subscribe email, AWS Chatbot or PagerDuty to it); none by default"
            ),
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

    type: ModelCacheType = ModelCacheType.EMPTY_DIR
    size_gb: Annotated[int, Field(ge=10, le=65_536)] = 200
    storage_class: Annotated[str | None, Field(pattern=DNS_SUBDOMAIN)] = None
    host_path: Annotated[str, Field(pattern=ABS_PATH)] = "/var/lib/llmscale/models"


class AddonsConfig(ConfigModel):
    """Cluster add-ons llmscale installs; turn one off when the cluster already runs it."""

    nvidia_device_plugin: bool = True
    keda: bool = True
    envoy_gateway: bool = True


class KubernetesConfig(ConfigModel):
    """The cluster the serving layer runs on and how GPU nodes are recognised."""

    kubeconfig: Annotated[str | None, Field(min_length=1)] = None
    context: Annotated[str | None, Field(min_length=1)] = None
    namespace: Annotated[str, Field(pattern=DNS_LABEL)] = "llmscale"
    addons: AddonsConfig = AddonsConfig()
    gpu_node_selector: dict[str, str] = {"nvidia.com/gpu.present": "true"}
    gpu_taint_key: Annotated[str, Field(pattern=LABEL_KEY)] = "nvidia.com/gpu"
    model_cache: ModelCacheConfig = ModelCacheConfig()
    prometheus_url: Annotated[str, Field(pattern=HTTP_URL)] = (
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    )
    gateway_namespace: Annotated[str, Field(pattern=DNS_LABEL)] = "envoy-gateway-system"
    monitoring_namespace: Annotated[str, Field(pattern=DNS_LABEL)] = "monitoring"
    topology_spread: bool = False


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
            description="Platform aws: the Route 53 hosted zone of `hostname`. The load balancer then serves HTTPS "
            "on 443 with a DNS-validated ACM certificate; without it the load balancer is internal to the VPC.",
        ),
    ] = None
    tls_secret_name: Annotated[
        str | None,
        Field(
            pattern=DNS_SUBDOMAIN,
            description="Platform kubernetes: a kubernetes.io/tls Secret in the stack's namespace; model routes are "
            "then served on HTTPS (443) only.",
        ),
    ] = None
    tls_terminated_upstream: bool = Field(
        default=False,
        description="Platform kubernetes: TLS is terminated in front of the gateway (your own load balancer or "
        "ingress), so plain HTTP inside the cluster is intended.",
    )
    service_type: GatewayServiceType = Field(
        default=GatewayServiceType.LOAD_BALANCER,
        description="Platform kubernetes: the type of the Envoy proxies' Service (ClusterIP when you bring your own "
        "ingress). On platform aws llmscale fronts the proxies with its own Network Load Balancer.",
    )
    replicas: Annotated[
        int,
        Field(ge=1, le=20, description="Envoy proxy replicas, spread over zones, with a disruption budget."),
    ] = 2
    rate_limit_requests_per_minute: Annotated[int | None, Field(ge=1, le=1_000_000)] = None
    max_parallel_requests: Annotated[int | None, Field(ge=1, le=1_000_000)] = None


class AutoscalingConfig(ConfigModel):
    """How fast replicas follow the queue: slow down-scaling, because a cold start takes minutes."""

    polling_interval_seconds: Annotated[int, Field(ge=5, le=300)] = 15
    scale_up_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    scale_down_stabilization_seconds: Annotated[int, Field(ge=0, le=7200)] = 600
    cooldown_seconds: Annotated[int, Field(ge=0, le=7200)] = 300


class MonitoringConfig(ConfigModel):
    """Metrics, alerts and dashboards: what to install, how long to keep data, where the runbook lives."""

    install_stack: bool = True
    install_dcgm_exporter: bool = True
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 15
    storage_gb: Annotated[int, Field(ge=5, le=65_536)] = 50
    storage_class: Annotated[str | None, Field(pattern=DNS_SUBDOMAIN)] = None
    runbook_url: Annotated[str, Field(min_length=1, pattern=NO_SPACE)] = "docs/runbook.md"


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
    zones: list[Annotated[str, Field(pattern=AZ_NAME)]] = []
    zone_count: Annotated[int, Field(ge=1, le=6)] = 2
    vpc_cidr: str = "10.60.0.0/16"
    admin_principal_arns: list[Annotated[str, Field(pattern=IAM_PRINCIPAL_ARN)]] = []
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
    system_instance_type: Annotated[str, Field(pattern=INSTANCE_TYPE)] = "m7i.large"
    system_nodes: Annotated[int, Field(ge=1, le=10)] = 2
    gpu_ami_type: GpuAmiType = GpuAmiType.AL2023_NVIDIA
    gpu_disk_gb: Annotated[int | None, Field(ge=50, le=16_384)] = None
    headroom_nodes: Annotated[int, Field(ge=0, le=50)] = 1
    scale_up_lead_minutes: Annotated[int, Field(ge=0, le=240)] = 30

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

    hosted_zone_id: Annotated[str, Field(pattern=ZONE_ID)]
    record_name: Annotated[str, Field(pattern=DOMAIN)]
    standby_region: str | None = None
    standby_endpoint: Annotated[str | None, Field(pattern=ENDPOINT)] = None
    primary_endpoint: Annotated[str | None, Field(pattern=ENDPOINT)] = None
    standby_min_replicas: Annotated[int, Field(ge=1, le=100)] = 1

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

    tier: Tier
    platform: Platform
    models: Annotated[list[ModelProfile], Field(min_length=1, max_length=16)]
    gpu: GpuConfig = GpuConfig()
    slo: SloConfig = SloConfig()
    load: LoadConfig = LoadConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    routing: RoutingConfig = RoutingConfig()
    host: HostConfig = HostConfig()
    kubernetes: KubernetesConfig = KubernetesConfig()
    gateway: GatewayConfig = GatewayConfig()
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    eks: EksConfig = EksConfig()
    failover: FailoverConfig | None = None
    environment: Annotated[str, Field(pattern=ENVIRONMENT)] = "production"
    api_keys: SecretStr | None = None
    hf_token: SecretStr | None = None
    grafana_admin_password: SecretStr | None = None
    slack_webhook_url: SecretStr | None = None
    pagerduty_routing_key: SecretStr | None = None

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
